//! Request bodies of `/records`.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::extract::nullable;

/// `POST /records`.
#[derive(Debug, Deserialize, ToSchema)]
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
    #[schema(value_type = Object)]
    pub data: Option<Option<Value>>,
    /// A member of the workspace.
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordPatch {
    /// Blank becomes `Untitled`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String)]
    pub title: Option<Option<String>>,
    /// Replaces the whole data object.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Object)]
    pub data: Option<Option<Value>>,
    /// `null` unassigns.
    #[serde(default, deserialize_with = "nullable")]
    pub assignee_id: Option<Option<Uuid>>,
    /// Moves to this stage; `null` takes the record off its board.
    #[serde(default, deserialize_with = "nullable")]
    pub stage_id: Option<Option<Uuid>>,
    /// Moves to this pipeline (name, slug or id); with `stage`, or into its first stage
    /// unless the record is already on it. Not together with `stage_id`.
    #[serde(default)]
    pub pipeline: Option<String>,
    /// Stage name, slug or id within `pipeline` (or the record's current pipeline).
    #[serde(default)]
    pub stage: Option<String>,
    /// Fractional-index position inside the stage; default on a move: after the last card.
    #[serde(default)]
    pub position: Option<String>,
}
