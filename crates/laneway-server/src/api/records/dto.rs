//! Request bodies of `/records`.

use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::extract::nullable;

/// `POST /records`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordIn {
    /// Object type slug (`lead`, `job`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// Display name; defaults to `Untitled`.
    #[serde(default)]
    pub title: Option<String>,
    /// Free-form custom fields; must be an object.
    #[serde(default, deserialize_with = "nullable")]
    pub data: Option<Option<Value>>,
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    /// Direct stage id; use this or `pipeline` (+ `stage`), not both.
    #[serde(default)]
    pub stage_id: Option<Uuid>,
    /// Pipeline name, slug or id.
    #[serde(default)]
    pub pipeline: Option<String>,
    /// Stage name, slug or id within `pipeline`.
    #[serde(default)]
    pub stage: Option<String>,
    /// Fractional-index position inside the stage; default: after the last card.
    #[serde(default)]
    pub position: Option<String>,
}

/// `PATCH /records/:id`: only the fields present change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordPatch {
    #[serde(default, deserialize_with = "nullable")]
    pub title: Option<Option<String>>,
    /// Replaces the whole data object.
    #[serde(default, deserialize_with = "nullable")]
    pub data: Option<Option<Value>>,
    /// `null` unassigns.
    #[serde(default, deserialize_with = "nullable")]
    pub assignee_id: Option<Option<Uuid>>,
    /// Moves to this stage; `null` takes the record off its board.
    #[serde(default, deserialize_with = "nullable")]
    pub stage_id: Option<Option<Uuid>>,
    #[serde(default)]
    pub pipeline: Option<String>,
    #[serde(default)]
    pub stage: Option<String>,
    #[serde(default)]
    pub position: Option<String>,
}
