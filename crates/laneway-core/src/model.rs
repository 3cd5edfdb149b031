//! The resources as the API returns them. Field order here is the order clients see.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::time::{serde_date_opt, serde_ts, Timestamp};

#[derive(Debug, Clone, Serialize)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub time_zone: String,
    #[serde(with = "serde_ts")]
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Member {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// What a key may do. Ordered: each scope includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Write,
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

/// An API key as listed: never the token or its hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub scope: Scope,
    pub member_id: Uuid,
    /// The first characters of the token, enough to recognise it (`lw_live_ab12…`).
    pub prefix: String,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
}

/// A declared custom field of an object type (spec §4, typed fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// The key of the value in a record's `data`: a lowercase ASCII letter, then lowercase
    /// letters, digits and `_` (at most 64 characters); unique among the fields.
    #[schema(min_length = 1, max_length = 64, pattern = "^[a-z][a-z0-9_]*$")]
    pub key: String,
    /// Display label.
    #[serde(default)]
    pub label: Option<String>,
    #[serde(rename = "type")]
    pub kind: FieldType,
    #[serde(default)]
    pub required: bool,
    /// The allowed values of a `select` or `multi_select` field: required (at least one) for
    /// those types, not allowed for the others.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1)]
    pub options: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Number,
    Boolean,
    Date,
    Datetime,
    Email,
    Phone,
    Url,
    Select,
    MultiSelect,
    Member,
    Record,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObjectType {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub icon: Option<String>,
    pub fields: Vec<FieldDef>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Stage {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub position: i64,
    /// Not shown inside `GET /schema` (the stage sits in its pipeline there) but present in
    /// stage events and stage endpoints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Pipeline {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub stages: Vec<Stage>,
}

/// The `object_types` object embedded in every record, as the Kanvo reference shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObjectTypeRef {
    pub name: String,
    pub slug: String,
    pub icon: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Record {
    pub id: Uuid,
    pub title: String,
    pub object_type_id: Uuid,
    /// The board the record is on; `null` when it is on none.
    pub pipeline_id: Option<Uuid>,
    /// The record's column (stage) on its board.
    pub stage_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    /// Fractional-index key of the card inside its stage; cards sort by it as text.
    pub position: Option<String>,
    /// Custom field values, keyed by the object type's field keys.
    #[schema(value_type = Object)]
    pub data: Value,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[serde(with = "serde_ts::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<Timestamp>,
    pub object_types: ObjectTypeRef,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Task {
    pub id: Uuid,
    pub title: String,
    /// The record the task is on; `null` for a standalone task.
    pub record_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    /// `YYYY-MM-DD`.
    #[serde(with = "serde_date_opt")]
    pub due_date: Option<Date>,
    pub notes: Option<String>,
    pub completed: bool,
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<Timestamp>,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[serde(with = "serde_ts::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<Timestamp>,
}

/// A note on a record, on a pipeline (a board), or on the workspace when both are `null`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Note {
    pub id: Uuid,
    pub title: String,
    pub body: String,
    pub record_id: Option<Uuid>,
    pub pipeline_id: Option<Uuid>,
    /// The member whose key wrote the note.
    pub author_id: Option<Uuid>,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[serde(with = "serde_ts::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<Timestamp>,
}

/// A comment on a record or on a task (exactly one of `record_id`, `task_id` is set).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Comment {
    pub id: Uuid,
    pub body: String,
    /// The member whose key wrote the comment.
    pub author_id: Option<Uuid>,
    pub record_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[serde(with = "serde_ts::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<Timestamp>,
}

/// Where a contract is in its life: `draft` → `sent` → `signed`, or `void`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContractStatus {
    Draft,
    Sent,
    Signed,
    Void,
}

impl ContractStatus {
    pub const ALL: [&'static str; 4] = ["draft", "sent", "signed", "void"];

    pub fn as_str(self) -> &'static str {
        match self {
            ContractStatus::Draft => "draft",
            ContractStatus::Sent => "sent",
            ContractStatus::Signed => "signed",
            ContractStatus::Void => "void",
        }
    }
    pub fn parse(s: &str) -> Option<ContractStatus> {
        match s {
            "draft" => Some(ContractStatus::Draft),
            "sent" => Some(ContractStatus::Sent),
            "signed" => Some(ContractStatus::Signed),
            "void" => Some(ContractStatus::Void),
            _ => None,
        }
    }
}

/// A contract on a record, signed through a one-time public link.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contract {
    pub id: Uuid,
    pub record_id: Uuid,
    pub title: String,
    pub body: String,
    pub status: ContractStatus,
    /// The name the signer typed; `null` until signed.
    pub signer_name: Option<String>,
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub signed_at: Option<Timestamp>,
    /// When the signing link was last issued.
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<Timestamp>,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[serde(with = "serde_ts::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<Timestamp>,
}

/// A public form: each submission becomes a record of `object_type` (on a board when the form
/// names a pipeline), with the submitted values as its `data`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Form {
    pub id: Uuid,
    pub name: String,
    /// The slug of the object type submissions become.
    pub object_type: String,
    pub object_type_id: Uuid,
    /// The board new records go on (its first stage unless `stage_id` says otherwise).
    pub pipeline_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
    /// What the form asks, in order; each value lands in the record's `data` under its key.
    pub fields: Vec<FieldDef>,
    /// The key of the field whose answer becomes the record's title (else `name` or `title`
    /// when the form has such a field, else "<form name> submission").
    pub title_field: Option<String>,
    /// Where the public posts submissions (no key needed), relative to the server.
    pub submit_path: String,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    #[serde(with = "serde_ts::option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deleted_at: Option<Timestamp>,
}
