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
    /// Object type slug (`lead`, `job`, ...): the exact slug of an object type of the workspace.
    #[serde(rename = "type")]
    #[schema(max_length = 64, pattern = r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
    pub kind: String,
    /// Display name, kept as sent: at most 1000 characters. Blank (only whitespace, of any
    /// length) or absent becomes `Untitled`.
    #[serde(default)]
    #[schema(
        pattern = r"^(?:[^\u0000]{0,1000}|[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*)$"
    )]
    pub title: Option<String>,
    /// Custom fields: an object (not `null`), checked against the object type's declared fields.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Object)]
    pub data: Option<Option<Value>>,
    /// A member of the workspace (UUID).
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    /// Direct stage id (UUID); use this or `pipeline` (+ `stage`), not both.
    #[serde(default)]
    pub stage_id: Option<Uuid>,
    /// Pipeline name, slug or id.
    #[serde(default)]
    pub pipeline: Option<String>,
    /// Stage name, slug or id within `pipeline`.
    #[serde(default)]
    pub stage: Option<String>,
    /// Fractional-index position inside the stage (base-62 key such as `a0` or `a0V`, at most
    /// 128 characters; needs a stage); default: after the last card.
    #[serde(default)]
    #[schema(
        max_length = 128,
        pattern = r"^(?:a[0-9A-Za-z]|b[0-9A-Za-z]{2}|c[0-9A-Za-z]{3}|d[0-9A-Za-z]{4}|e[0-9A-Za-z]{5}|f[0-9A-Za-z]{6}|g[0-9A-Za-z]{7}|h[0-9A-Za-z]{8}|i[0-9A-Za-z]{9}|j[0-9A-Za-z]{10}|k[0-9A-Za-z]{11}|l[0-9A-Za-z]{12}|m[0-9A-Za-z]{13}|n[0-9A-Za-z]{14}|o[0-9A-Za-z]{15}|p[0-9A-Za-z]{16}|q[0-9A-Za-z]{17}|r[0-9A-Za-z]{18}|s[0-9A-Za-z]{19}|t[0-9A-Za-z]{20}|u[0-9A-Za-z]{21}|v[0-9A-Za-z]{22}|w[0-9A-Za-z]{23}|x[0-9A-Za-z]{24}|y[0-9A-Za-z]{25}|z[0-9A-Za-z]{26}|Z[0-9A-Za-z]|Y[0-9A-Za-z]{2}|X[0-9A-Za-z]{3}|W[0-9A-Za-z]{4}|V[0-9A-Za-z]{5}|U[0-9A-Za-z]{6}|T[0-9A-Za-z]{7}|S[0-9A-Za-z]{8}|R[0-9A-Za-z]{9}|Q[0-9A-Za-z]{10}|P[0-9A-Za-z]{11}|O[0-9A-Za-z]{12}|N[0-9A-Za-z]{13}|M[0-9A-Za-z]{14}|L[0-9A-Za-z]{15}|K[0-9A-Za-z]{16}|J[0-9A-Za-z]{17}|I[0-9A-Za-z]{18}|H[0-9A-Za-z]{19}|G[0-9A-Za-z]{20}|F[0-9A-Za-z]{21}|E[0-9A-Za-z]{22}|D[0-9A-Za-z]{23}|C[0-9A-Za-z]{24}|B[0-9A-Za-z]{25}|A(?:[1-9A-Za-z][0-9A-Za-z]{25}|0[1-9A-Za-z][0-9A-Za-z]{24}|00[1-9A-Za-z][0-9A-Za-z]{23}|000[1-9A-Za-z][0-9A-Za-z]{22}|0{4}[1-9A-Za-z][0-9A-Za-z]{21}|0{5}[1-9A-Za-z][0-9A-Za-z]{20}|0{6}[1-9A-Za-z][0-9A-Za-z]{19}|0{7}[1-9A-Za-z][0-9A-Za-z]{18}|0{8}[1-9A-Za-z][0-9A-Za-z]{17}|0{9}[1-9A-Za-z][0-9A-Za-z]{16}|0{10}[1-9A-Za-z][0-9A-Za-z]{15}|0{11}[1-9A-Za-z][0-9A-Za-z]{14}|0{12}[1-9A-Za-z][0-9A-Za-z]{13}|0{13}[1-9A-Za-z][0-9A-Za-z]{12}|0{14}[1-9A-Za-z][0-9A-Za-z]{11}|0{15}[1-9A-Za-z][0-9A-Za-z]{10}|0{16}[1-9A-Za-z][0-9A-Za-z]{9}|0{17}[1-9A-Za-z][0-9A-Za-z]{8}|0{18}[1-9A-Za-z][0-9A-Za-z]{7}|0{19}[1-9A-Za-z][0-9A-Za-z]{6}|0{20}[1-9A-Za-z][0-9A-Za-z]{5}|0{21}[1-9A-Za-z][0-9A-Za-z]{4}|0{22}[1-9A-Za-z][0-9A-Za-z]{3}|0{23}[1-9A-Za-z][0-9A-Za-z]{2}|0{24}[1-9A-Za-z][0-9A-Za-z]|0{25}[1-9A-Za-z]))(?:[0-9A-Za-z]*[1-9A-Za-z])?$"
    )]
    pub position: Option<String>,
}

/// `PATCH /records/:id`: only the fields present change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordPatch {
    /// At most 1000 characters, kept as sent; blank becomes `Untitled`. Not `null`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, max_length = 1000)]
    pub title: Option<Option<String>>,
    /// Replaces the whole data object (not `null`).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Object)]
    pub data: Option<Option<Value>>,
    /// A member of the workspace (UUID); `null` unassigns.
    #[serde(default, deserialize_with = "nullable")]
    pub assignee_id: Option<Option<Uuid>>,
    /// Moves to this stage (UUID); `null` takes the record off its board.
    #[serde(default, deserialize_with = "nullable")]
    pub stage_id: Option<Option<Uuid>>,
    /// Moves to this pipeline (name, slug or id); with `stage`, or into its first stage
    /// unless the record is already on it. Not together with `stage_id`.
    #[serde(default)]
    pub pipeline: Option<String>,
    /// Stage name, slug or id within `pipeline` (or the record's current pipeline).
    #[serde(default)]
    pub stage: Option<String>,
    /// Fractional-index position inside the stage (base-62 key such as `a0V`, at most 128
    /// characters); default on a move: after the last card.
    #[serde(default)]
    #[schema(
        max_length = 128,
        pattern = r"^(?:a[0-9A-Za-z]|b[0-9A-Za-z]{2}|c[0-9A-Za-z]{3}|d[0-9A-Za-z]{4}|e[0-9A-Za-z]{5}|f[0-9A-Za-z]{6}|g[0-9A-Za-z]{7}|h[0-9A-Za-z]{8}|i[0-9A-Za-z]{9}|j[0-9A-Za-z]{10}|k[0-9A-Za-z]{11}|l[0-9A-Za-z]{12}|m[0-9A-Za-z]{13}|n[0-9A-Za-z]{14}|o[0-9A-Za-z]{15}|p[0-9A-Za-z]{16}|q[0-9A-Za-z]{17}|r[0-9A-Za-z]{18}|s[0-9A-Za-z]{19}|t[0-9A-Za-z]{20}|u[0-9A-Za-z]{21}|v[0-9A-Za-z]{22}|w[0-9A-Za-z]{23}|x[0-9A-Za-z]{24}|y[0-9A-Za-z]{25}|z[0-9A-Za-z]{26}|Z[0-9A-Za-z]|Y[0-9A-Za-z]{2}|X[0-9A-Za-z]{3}|W[0-9A-Za-z]{4}|V[0-9A-Za-z]{5}|U[0-9A-Za-z]{6}|T[0-9A-Za-z]{7}|S[0-9A-Za-z]{8}|R[0-9A-Za-z]{9}|Q[0-9A-Za-z]{10}|P[0-9A-Za-z]{11}|O[0-9A-Za-z]{12}|N[0-9A-Za-z]{13}|M[0-9A-Za-z]{14}|L[0-9A-Za-z]{15}|K[0-9A-Za-z]{16}|J[0-9A-Za-z]{17}|I[0-9A-Za-z]{18}|H[0-9A-Za-z]{19}|G[0-9A-Za-z]{20}|F[0-9A-Za-z]{21}|E[0-9A-Za-z]{22}|D[0-9A-Za-z]{23}|C[0-9A-Za-z]{24}|B[0-9A-Za-z]{25}|A(?:[1-9A-Za-z][0-9A-Za-z]{25}|0[1-9A-Za-z][0-9A-Za-z]{24}|00[1-9A-Za-z][0-9A-Za-z]{23}|000[1-9A-Za-z][0-9A-Za-z]{22}|0{4}[1-9A-Za-z][0-9A-Za-z]{21}|0{5}[1-9A-Za-z][0-9A-Za-z]{20}|0{6}[1-9A-Za-z][0-9A-Za-z]{19}|0{7}[1-9A-Za-z][0-9A-Za-z]{18}|0{8}[1-9A-Za-z][0-9A-Za-z]{17}|0{9}[1-9A-Za-z][0-9A-Za-z]{16}|0{10}[1-9A-Za-z][0-9A-Za-z]{15}|0{11}[1-9A-Za-z][0-9A-Za-z]{14}|0{12}[1-9A-Za-z][0-9A-Za-z]{13}|0{13}[1-9A-Za-z][0-9A-Za-z]{12}|0{14}[1-9A-Za-z][0-9A-Za-z]{11}|0{15}[1-9A-Za-z][0-9A-Za-z]{10}|0{16}[1-9A-Za-z][0-9A-Za-z]{9}|0{17}[1-9A-Za-z][0-9A-Za-z]{8}|0{18}[1-9A-Za-z][0-9A-Za-z]{7}|0{19}[1-9A-Za-z][0-9A-Za-z]{6}|0{20}[1-9A-Za-z][0-9A-Za-z]{5}|0{21}[1-9A-Za-z][0-9A-Za-z]{4}|0{22}[1-9A-Za-z][0-9A-Za-z]{3}|0{23}[1-9A-Za-z][0-9A-Za-z]{2}|0{24}[1-9A-Za-z][0-9A-Za-z]|0{25}[1-9A-Za-z]))(?:[0-9A-Za-z]*[1-9A-Za-z])?$"
    )]
    pub position: Option<String>,
}
