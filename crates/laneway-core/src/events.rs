//! Event names and the stored event shape (spec §8).

use serde::Serialize;
use serde_json::Value;

use crate::time::{serde_ts, Timestamp};

pub const RECORD_CREATED: &str = "record.created";
pub const RECORD_UPDATED: &str = "record.updated";
pub const RECORD_DELETED: &str = "record.deleted";
pub const RECORD_MOVED: &str = "record.moved";
pub const STAGE_CHANGED: &str = "pipeline.stage_changed";
pub const TASK_CREATED: &str = "task.created";
pub const TASK_UPDATED: &str = "task.updated";
pub const TASK_DELETED: &str = "task.deleted";
pub const TASK_COMPLETED: &str = "task.completed";
pub const PIPELINE_CREATED: &str = "pipeline.created";
pub const PIPELINE_UPDATED: &str = "pipeline.updated";
pub const PIPELINE_DELETED: &str = "pipeline.deleted";
pub const STAGE_CREATED: &str = "stage.created";
pub const STAGE_UPDATED: &str = "stage.updated";
pub const STAGE_DELETED: &str = "stage.deleted";
pub const NOTE_CREATED: &str = "note.created";
pub const NOTE_UPDATED: &str = "note.updated";
pub const NOTE_DELETED: &str = "note.deleted";
pub const COMMENT_CREATED: &str = "comment.created";
pub const CONTRACT_CREATED: &str = "contract.created";
pub const CONTRACT_SIGNED: &str = "contract.signed";
pub const FORM_SUBMITTED: &str = "form.submitted";

/// Every canonical event name, in the order of spec §8.
pub const ALL: &[&str] = &[
    "record.created",
    "record.updated",
    "record.deleted",
    "pipeline.stage_changed",
    "task.created",
    "task.updated",
    "task.deleted",
    "task.completed",
    "contact.created",
    "contact.updated",
    "contact.deleted",
    "company.created",
    "company.updated",
    "company.deleted",
    "note.created",
    "note.updated",
    "note.deleted",
    "comment.created",
    "contract.created",
    "contract.signed",
    "form.submitted",
    "pipeline.created",
    "pipeline.updated",
    "pipeline.deleted",
    "stage.created",
    "stage.updated",
    "stage.deleted",
    "record.moved",
    "webhook.disabled",
    "ping",
];

/// Records of these built-in types also fire `<type>.created|updated|deleted`.
pub const ALIASED_RECORD_TYPES: &[&str] = &["contact", "company"];

/// An event about to be written to the outbox, inside the transaction of its change.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event: String,
    /// `record`, `task`, `pipeline`, `stage`, ... — lets the audit trail find a resource's events.
    pub resource_type: &'static str,
    pub resource_id: String,
    pub data: Value,
}

impl NewEvent {
    pub fn new(
        event: impl Into<String>,
        resource_type: &'static str,
        resource_id: impl Into<String>,
        data: Value,
    ) -> Self {
        Self {
            event: event.into(),
            resource_type,
            resource_id: resource_id.into(),
            data,
        }
    }
}

/// A stored event, as `GET /events` and webhook bodies show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Event {
    pub id: uuid::Uuid,
    /// The event name, e.g. `record.created`.
    pub event: String,
    pub workspace_id: String,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: Timestamp,
    /// The resource after the change (with `changes` on updates).
    #[schema(value_type = Object)]
    pub data: Value,
}
