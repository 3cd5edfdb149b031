//! `/schema`: object types, pipelines and stages (spec §4). Reading needs `read`; changing
//! needs `admin`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use laneway_core::events::{self, NewEvent};
use laneway_core::fields::validate_defs;
use laneway_core::ids::new_id;
use laneway_core::model::{FieldDef, ObjectType, Pipeline, Stage};
use laneway_core::slug::slug_or_default;
use laneway_core::time::now;
use laneway_store::repo::{events as event_repo, records, schema};
use laneway_store::{Session, StoreError, WorkspaceLock};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::records::not_found_as;
use super::{check_if_match, deleted, ok, path_uuid, to_value, with_etag, Deleted, Envelope};
use crate::auth::{Admin, Reader};
use crate::error::{ApiError, ApiResult};
use crate::extract::{nullable, Json, Params, PathId};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schema", get(get_schema))
        .route(
            "/schema/object-types",
            get(list_object_types).post(create_object_type),
        )
        .route(
            "/schema/object-types/{id}",
            get(get_object_type)
                .patch(update_object_type)
                .delete(delete_object_type),
        )
        .route(
            "/schema/pipelines",
            get(list_pipelines).post(create_pipeline),
        )
        .route(
            "/schema/pipelines/{id}",
            get(get_pipeline)
                .patch(update_pipeline)
                .delete(delete_pipeline),
        )
        .route("/schema/pipelines/{id}/stages", post(create_stage))
        .route(
            "/schema/stages/{id}",
            get(get_stage).patch(update_stage).delete(delete_stage),
        )
}

fn check_name(name: &str, field: &str) -> ApiResult<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 100 {
        return Err(ApiError::invalid(
            field,
            format!("'{field}' must be 1-100 characters"),
        ));
    }
    Ok(n.to_string())
}

fn slug_taken(e: StoreError, what: &str, slug: &str) -> ApiError {
    match e {
        StoreError::Conflict(_) => {
            ApiError::conflict(format!("{what} with slug '{slug}' already exists"))
        }
        other => other.into(),
    }
}

/// Pipelines as the schema shows them: stages without their (implied) pipeline id.
fn schema_view(mut p: Pipeline) -> Pipeline {
    for s in &mut p.stages {
        s.pipeline_id = None;
    }
    p
}

/// `GET /schema`: the whole schema at once.
#[derive(Serialize, ToSchema)]
struct SchemaOut {
    object_types: Vec<ObjectType>,
    /// Their stages are shown without `pipeline_id`.
    pipelines: Vec<Pipeline>,
}

/// Get the whole schema
///
/// Object types and pipelines with their stages, in one answer.
#[utoipa::path(
    get,
    path = "/schema",
    tag = "schema",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "Every object type and pipeline (with its stages)", body = Envelope<SchemaOut>))
)]
async fn get_schema(State(state): State<AppState>, auth: Reader) -> ApiResult<Response> {
    let mut s = state.db.read().await?;
    let object_types = schema::list_object_types(&mut s, auth.ws()).await?;
    let pipelines: Vec<Pipeline> = schema::list_pipelines(&mut s, auth.ws())
        .await?
        .into_iter()
        .map(schema_view)
        .collect();
    Ok(ok(SchemaOut {
        object_types,
        pipelines,
    }))
}

// ---- object types ------------------------------------------------------------------------

/// `POST /schema/object-types`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ObjectTypeIn {
    /// 1-100 characters once surrounding whitespace is trimmed (it is stored trimmed).
    #[schema(
        min_length = 1,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,98}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    name: String,
    /// Unique in the workspace; default: derived from `name` (which then needs an ASCII
    /// letter or digit, or a common accented Latin letter such as `é`).
    /// 1-64 lowercase ASCII letters and digits in runs joined by single dashes (`main-sales`).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
    )]
    slug: Option<String>,
    /// At most 32 characters (an emoji or icon name); blank means none.
    #[serde(default)]
    #[schema(max_length = 32)]
    icon: Option<String>,
    /// The typed custom fields of records of this type: at most 200, with distinct keys.
    #[serde(default)]
    #[schema(max_items = 200)]
    fields: Option<Vec<FieldDef>>,
}

/// `PATCH /schema/object-types/{id}`: only the fields present change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ObjectTypePatch {
    /// 1-100 characters once surrounding whitespace is trimmed.
    #[serde(default)]
    #[schema(
        min_length = 1,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,98}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    name: Option<String>,
    /// Unique in the workspace.
    /// 1-64 lowercase ASCII letters and digits in runs joined by single dashes (`main-sales`).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
    )]
    slug: Option<String>,
    /// At most 32 characters; blank or `null` removes the icon.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 32)]
    icon: Option<Option<String>>,
    /// Replaces the whole list of field declarations: at most 200, with distinct keys.
    #[serde(default)]
    #[schema(max_items = 200)]
    fields: Option<Vec<FieldDef>>,
}

fn check_icon(icon: Option<String>) -> ApiResult<Option<String>> {
    match icon {
        Some(i) if i.chars().count() > 32 => Err(ApiError::invalid(
            "icon",
            "'icon' must be at most 32 characters",
        )),
        Some(i) if i.trim().is_empty() => Ok(None),
        other => Ok(other),
    }
}

/// List object types
#[utoipa::path(
    get,
    path = "/schema/object-types",
    tag = "schema",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "Every object type", body = Envelope<Vec<ObjectType>>))
)]
async fn list_object_types(State(state): State<AppState>, auth: Reader) -> ApiResult<Response> {
    let mut s = state.db.read().await?;
    Ok(ok(schema::list_object_types(&mut s, auth.ws()).await?))
}

/// Get an object type
#[utoipa::path(
    get,
    path = "/schema/object-types/{id}",
    tag = "schema",
    security(("bearer" = ["read"])),
    params(("id" = String, Path, description = "Object type id (UUID)")),
    responses((status = 200, description = "The object type", body = Envelope<ObjectType>))
)]
async fn get_object_type(
    State(state): State<AppState>,
    auth: Reader,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Object type")?;
    let mut s = state.db.read().await?;
    let t = schema::get_object_type(&mut s, auth.ws(), id)
        .await
        .map_err(|e| not_found_as(e, "Object type", id))?;
    Ok(with_etag(&t, StatusCode::OK))
}

/// Create an object type
#[utoipa::path(
    post,
    path = "/schema/object-types",
    tag = "schema",
    security(("bearer" = ["admin"])),
    request_body = ObjectTypeIn,
    responses(
        (status = 201, description = "The new object type", body = Envelope<ObjectType>),
        (status = 409, description = "An object type with this slug already exists", body = crate::error::ErrorBody),
    )
)]
async fn create_object_type(
    State(state): State<AppState>,
    auth: Admin,
    Json(body): Json<ObjectTypeIn>,
) -> ApiResult<Response> {
    let name = check_name(&body.name, "name")?;
    let slug = slug_or_default("slug", body.slug.as_deref(), &name)?;
    let fields = body.fields.unwrap_or_default();
    validate_defs(&fields)?;
    let t = ObjectType {
        id: new_id(),
        name,
        slug,
        icon: check_icon(body.icon)?,
        fields,
    };
    let mut s = state.db.write().await?;
    schema::insert_object_type(&mut s, auth.ws(), &t, now())
        .await
        .map_err(|e| slug_taken(e, "An object type", &t.slug))?;
    s.commit().await?;
    Ok(with_etag(&t, StatusCode::CREATED))
}

/// Update an object type
#[utoipa::path(
    patch,
    path = "/schema/object-types/{id}",
    tag = "schema",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Object type id (UUID)")),
    request_body = ObjectTypePatch,
    responses(
        (status = 200, description = "The object type after the change, and the forms it leaves behind", body = ObjectTypeChanged),
        (status = 409, description = "An object type with this slug already exists", body = crate::error::ErrorBody),
    )
)]
async fn update_object_type(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
    headers: HeaderMap,
    Json(body): Json<ObjectTypePatch>,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Object type")?;
    let mut s = state.db.write().await?;
    let old = schema::get_object_type(&mut s, auth.ws(), id)
        .await
        .map_err(|e| not_found_as(e, "Object type", id))?;
    check_if_match(&headers, &old)?;
    let mut t = old.clone();
    if let Some(n) = body.name {
        t.name = check_name(&n, "name")?;
    }
    if let Some(slug) = body.slug {
        t.slug = slug_or_default("slug", Some(&slug), &t.name)?;
    }
    if let Some(icon) = body.icon {
        t.icon = check_icon(icon)?;
    }
    if let Some(fields) = body.fields {
        validate_defs(&fields)?;
        t.fields = fields;
    }
    schema::update_object_type(&mut s, auth.ws(), &t, now())
        .await
        .map_err(|e| slug_taken(e, "An object type", &t.slug))?;
    // Which of the type's public forms the change leaves behind (they answer 409
    // `form_out_of_date` until updated), so the admin learns it here, not from a visitor.
    let mut affected = Vec::new();
    for f in laneway_store::repo::forms::of_object_type(&mut s, auth.ws(), t.id).await? {
        if let Err(e) =
            laneway_core::fields::check_form_fields(&f.fields, &t, f.title_field.as_deref())
        {
            affected.push(AffectedForm {
                id: f.id,
                name: f.name,
                problem: e.to_string(),
            });
        }
    }
    s.commit().await?;
    let mut resp = axum::Json(ObjectTypeChanged {
        success: true,
        data: &t,
        affected_forms: affected,
    })
    .into_response();
    if let Ok(tag) = axum::http::HeaderValue::from_str(&super::etag::etag_of(&t)) {
        resp.headers_mut().insert(axum::http::header::ETAG, tag);
    }
    Ok(resp)
}

/// The answer to `PATCH /schema/object-types/{id}`: the type, and the forms it no longer fits.
#[derive(Serialize, ToSchema)]
struct ObjectTypeChanged<'a> {
    /// Always `true`.
    success: bool,
    #[schema(value_type = ObjectType)]
    data: &'a ObjectType,
    /// The type's live public forms that no longer fit it after this change: they answer
    /// submissions with `409 form_out_of_date` until they are updated. Empty when none.
    affected_forms: Vec<AffectedForm>,
}

/// A form left behind by a change of its object type.
#[derive(Serialize, ToSchema)]
struct AffectedForm {
    id: uuid::Uuid,
    name: String,
    /// What no longer fits, e.g. `Object type 'lead' requires 'phone': ...`.
    problem: String,
}

/// Delete an object type
///
/// Refused while records of the type exist.
#[utoipa::path(
    delete,
    path = "/schema/object-types/{id}",
    tag = "schema",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Object type id (UUID)")),
    responses(
        (status = 200, description = "Deleted", body = Envelope<Deleted<String>>),
        (status = 409, description = "Records of this type still exist", body = crate::error::ErrorBody),
    )
)]
async fn delete_object_type(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Object type")?;
    let mut s = state.db.write().await?;
    let t = schema::get_object_type(&mut s, auth.ws(), id)
        .await
        .map_err(|e| not_found_as(e, "Object type", id))?;
    check_if_match(&headers, &t)?;
    let n = schema::count_records_of_type(&mut s, auth.ws(), id).await?;
    if n > 0 {
        return Err(ApiError::conflict(format!(
            "Object type '{}' is used by {n} record(s); delete or retype them first",
            t.slug
        )));
    }
    schema::delete_object_type(&mut s, auth.ws(), id, now()).await?;
    s.commit().await?;
    Ok(deleted(id))
}

// ---- pipelines ---------------------------------------------------------------------------

/// A stage to create: in `POST /schema/pipelines/{id}/stages`, or listed in a new pipeline.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StageIn {
    /// 1-100 characters once surrounding whitespace is trimmed (it is stored trimmed).
    #[schema(
        min_length = 1,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,98}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    name: String,
    /// Unique in its pipeline; default: derived from `name` (which then needs an ASCII
    /// letter or digit, or a common accented Latin letter such as `é`).
    /// 1-64 lowercase ASCII letters and digits in runs joined by single dashes (`main-sales`).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
    )]
    slug: Option<String>,
    /// 0-based index among the pipeline's stages (a larger one means last); default: last.
    /// Not allowed inside `POST /schema/pipelines`, where the list order is the stage order.
    #[serde(default, deserialize_with = "crate::extract::whole")]
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    position: Option<i64>,
}

/// `POST /schema/pipelines`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PipelineIn {
    /// 1-100 characters once surrounding whitespace is trimmed (it is stored trimmed).
    #[schema(
        min_length = 1,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,98}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    name: String,
    /// Unique in the workspace; default: derived from `name` (which then needs an ASCII
    /// letter or digit, or a common accented Latin letter such as `é`).
    /// 1-64 lowercase ASCII letters and digits in runs joined by single dashes (`main-sales`).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
    )]
    slug: Option<String>,
    /// The board's columns, in order (at most 100, with distinct slugs); without `position`.
    #[serde(default)]
    #[schema(schema_with = new_pipeline_stages)]
    stages: Vec<StageIn>,
}

/// `PipelineIn.stages`: at most 100 `StageIn`s, none with a `position` (the list order is the
/// stage order; `null` counts as absent).
fn new_pipeline_stages() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{AllOfBuilder, ArrayBuilder, ObjectBuilder, Type};
    use utoipa::openapi::Ref;
    ArrayBuilder::new()
        .items(
            AllOfBuilder::new()
                .item(Ref::from_schema_name("StageIn"))
                .item(
                    ObjectBuilder::new().property(
                        "position",
                        ObjectBuilder::new()
                            .schema_type(Type::Null)
                            .description(Some(
                                "Not allowed here: the list order is the stage order.",
                            )),
                    ),
                ),
        )
        .max_items(Some(100))
        .description(Some(
            "The board's columns, in order (at most 100, with distinct slugs); without `position`.",
        ))
        .build()
}

/// `PATCH /schema/pipelines/{id}`: only the fields present change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PipelinePatch {
    /// 1-100 characters once surrounding whitespace is trimmed.
    #[serde(default)]
    #[schema(
        min_length = 1,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,98}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    name: Option<String>,
    /// Unique in the workspace.
    /// 1-64 lowercase ASCII letters and digits in runs joined by single dashes (`main-sales`).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
    )]
    slug: Option<String>,
}

/// `PATCH /schema/stages/{id}`: only the fields present change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct StagePatch {
    /// 1-100 characters once surrounding whitespace is trimmed.
    #[serde(default)]
    #[schema(
        min_length = 1,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,98}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    name: Option<String>,
    /// Unique in its pipeline.
    /// 1-64 lowercase ASCII letters and digits in runs joined by single dashes (`main-sales`).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
    )]
    slug: Option<String>,
    /// Moves the stage to this 0-based index (a larger one means last); the others are
    /// renumbered.
    #[serde(default, deserialize_with = "crate::extract::whole")]
    #[schema(minimum = 0, maximum = 9223372036854775807_i64)]
    position: Option<i64>,
}

fn pipeline_event(name: &str, p: &Pipeline, extra: Option<serde_json::Value>) -> NewEvent {
    let mut data = to_value(p);
    if let (Some(o), Some(serde_json::Value::Object(e))) = (data.as_object_mut(), extra) {
        o.extend(e);
    }
    NewEvent::new(name, "pipeline", p.id.to_string(), data)
}

fn stage_event(name: &str, st: &Stage, extra: Option<serde_json::Value>) -> NewEvent {
    let mut data = to_value(st);
    if let (Some(o), Some(serde_json::Value::Object(e))) = (data.as_object_mut(), extra) {
        o.extend(e);
    }
    NewEvent::new(name, "stage", st.id.to_string(), data)
}

/// List pipelines
#[utoipa::path(
    get,
    path = "/schema/pipelines",
    tag = "schema",
    security(("bearer" = ["read"])),
    responses((status = 200, description = "Every pipeline, with its stages", body = Envelope<Vec<Pipeline>>))
)]
async fn list_pipelines(State(state): State<AppState>, auth: Reader) -> ApiResult<Response> {
    let mut s = state.db.read().await?;
    Ok(ok(schema::list_pipelines(&mut s, auth.ws()).await?))
}

async fn load_pipeline(s: &mut Session, ws: &str, id: Uuid) -> ApiResult<Pipeline> {
    schema::get_pipeline(s, ws, id)
        .await
        .map_err(|e| not_found_as(e, "Pipeline", id))
}

/// Get a pipeline
#[utoipa::path(
    get,
    path = "/schema/pipelines/{id}",
    tag = "schema",
    security(("bearer" = ["read"])),
    params(("id" = String, Path, description = "Pipeline id (UUID)")),
    responses((status = 200, description = "The pipeline, with its stages", body = Envelope<Pipeline>))
)]
async fn get_pipeline(
    State(state): State<AppState>,
    auth: Reader,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Pipeline")?;
    let mut s = state.db.read().await?;
    let p = load_pipeline(&mut s, auth.ws(), id).await?;
    Ok(with_etag(&p, StatusCode::OK))
}

/// Create a pipeline
#[utoipa::path(
    post,
    path = "/schema/pipelines",
    tag = "schema",
    security(("bearer" = ["admin"])),
    request_body = PipelineIn,
    responses(
        (status = 201, description = "The new pipeline, with its stages", body = Envelope<Pipeline>),
        (status = 409, description = "A pipeline with this slug already exists, or two stages share a slug", body = crate::error::ErrorBody),
    )
)]
async fn create_pipeline(
    State(state): State<AppState>,
    auth: Admin,
    Json(body): Json<PipelineIn>,
) -> ApiResult<Response> {
    let name = check_name(&body.name, "name")?;
    let slug = slug_or_default("slug", body.slug.as_deref(), &name)?;
    if body.stages.len() > 100 {
        return Err(ApiError::invalid(
            "stages",
            "At most 100 stages per pipeline",
        ));
    }
    let id = new_id();
    let mut stages: Vec<Stage> = Vec::with_capacity(body.stages.len());
    for (i, st) in body.stages.into_iter().enumerate() {
        if st.position.is_some() {
            return Err(ApiError::invalid(
                &format!("stages[{i}].position"),
                "Stages of a new pipeline take the order of the list; omit 'position'",
            ));
        }
        let sname = check_name(&st.name, &format!("stages[{i}].name"))?;
        let sslug = slug_or_default(&format!("stages[{i}].slug"), st.slug.as_deref(), &sname)?;
        if stages.iter().any(|s| s.slug == sslug) {
            return Err(ApiError::conflict(format!(
                "Two stages share the slug '{sslug}'"
            )));
        }
        stages.push(Stage {
            id: new_id(),
            name: sname,
            slug: sslug,
            position: i as i64,
            pipeline_id: Some(id),
        });
    }
    let p = Pipeline {
        id,
        name,
        slug,
        stages,
    };
    let at = now();
    let mut s = state.db.write().await?;
    schema::insert_pipeline(&mut s, auth.ws(), &p, at)
        .await
        .map_err(|e| slug_taken(e, "A pipeline", &p.slug))?;
    let mut evs = vec![pipeline_event(events::PIPELINE_CREATED, &p, None)];
    evs.extend(
        p.stages
            .iter()
            .map(|st| stage_event(events::STAGE_CREATED, st, None)),
    );
    event_repo::insert(&mut s, auth.ws(), evs, at).await?;
    s.commit().await?;
    Ok(with_etag(&p, StatusCode::CREATED))
}

/// Update a pipeline
#[utoipa::path(
    patch,
    path = "/schema/pipelines/{id}",
    tag = "schema",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Pipeline id (UUID)")),
    request_body = PipelinePatch,
    responses(
        (status = 200, description = "The pipeline after the change", body = Envelope<Pipeline>),
        (status = 409, description = "A pipeline with this slug already exists", body = crate::error::ErrorBody),
    )
)]
async fn update_pipeline(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
    headers: HeaderMap,
    Json(body): Json<PipelinePatch>,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Pipeline")?;
    let mut s = state.db.write().await?;
    let old = load_pipeline(&mut s, auth.ws(), id).await?;
    check_if_match(&headers, &old)?;
    let mut p = old.clone();
    if let Some(n) = body.name {
        p.name = check_name(&n, "name")?;
    }
    if let Some(slug) = body.slug {
        p.slug = slug_or_default("slug", Some(&slug), &p.name)?;
    }
    let changes = laneway_core::diff::changes(&to_value(&old), &to_value(&p));
    if !changes.is_empty() {
        let at = now();
        schema::update_pipeline(&mut s, auth.ws(), id, &p.name, &p.slug, at)
            .await
            .map_err(|e| slug_taken(e, "A pipeline", &p.slug))?;
        let ev = pipeline_event(
            events::PIPELINE_UPDATED,
            &p,
            Some(json!({"changes": changes})),
        );
        event_repo::insert(&mut s, auth.ws(), vec![ev], at).await?;
        s.commit().await?;
    }
    Ok(with_etag(&p, StatusCode::OK))
}

/// Delete a pipeline
///
/// Deletes the pipeline and its stages; refused while it holds records.
#[utoipa::path(
    delete,
    path = "/schema/pipelines/{id}",
    tag = "schema",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Pipeline id (UUID)")),
    responses(
        (status = 200, description = "Deleted, with its stages", body = Envelope<Deleted<String>>),
        (status = 409, description = "The pipeline still holds records", body = crate::error::ErrorBody),
    )
)]
async fn delete_pipeline(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Pipeline")?;
    let mut s = state.db.write().await?;
    lock_stage_lists(&mut s, auth.ws()).await?;
    let p = load_pipeline(&mut s, auth.ws(), id).await?;
    check_if_match(&headers, &p)?;
    // As for a stage: lock the columns before counting, so a card being placed concurrently
    // is either counted or finds the pipeline gone (see `delete_stage`).
    for st in &p.stages {
        schema::lock_stage(&mut s, auth.ws(), st.id).await?;
    }
    let n = schema::count_records_in_pipeline(&mut s, auth.ws(), id).await?;
    if n > 0 {
        return Err(ApiError::conflict(format!(
            "Pipeline '{}' holds {n} record(s); move or delete them first",
            p.slug
        )));
    }
    // The board's notes go with it (each with its `note.deleted`).
    for n in laneway_store::repo::notes::of_pipeline_for_update(&mut s, auth.ws(), id).await? {
        super::notes::write_delete(&mut s, auth.ws(), n).await?;
    }
    let at = now();
    schema::delete_pipeline(&mut s, auth.ws(), id).await?;
    let mut data = to_value(&p);
    if let Some(o) = data.as_object_mut() {
        o.insert(
            "deleted_at".into(),
            json!(laneway_core::time::format_ts(at)),
        );
    }
    let ev = NewEvent::new(events::PIPELINE_DELETED, "pipeline", id.to_string(), data);
    event_repo::insert(&mut s, auth.ws(), vec![ev], at).await?;
    s.commit().await?;
    Ok(deleted(id))
}

// ---- stages ------------------------------------------------------------------------------

/// Serialises changes to a pipeline's stage list: stage positions are renumbered 0..n from
/// what a transaction read, so two concurrent inserts, moves or deletes (or a stage insert
/// racing its pipeline's deletion) must not interleave. SQLite's write transactions are
/// already serial; on PostgreSQL this takes the workspace's transaction-scoped stage lock.
/// Call it before reading the pipeline or stage: under READ COMMITTED every later statement
/// then sees whatever the previous holder committed.
async fn lock_stage_lists(s: &mut Session, ws: &str) -> ApiResult<()> {
    s.lock_workspace(ws, WorkspaceLock::Stages).await?;
    Ok(())
}

/// Renumbers a pipeline's stages 0..n in the given order, writing only those that moved, and
/// returns a `stage.updated` event for each moved stage other than `except` (the stage the
/// request itself changes, whose event the caller writes), so subscribers that mirror a board's
/// column order see every position change.
async fn renumber(
    s: &mut Session,
    ws: &str,
    stages: &mut [Stage],
    at: laneway_core::time::Timestamp,
    except: Option<Uuid>,
) -> ApiResult<Vec<NewEvent>> {
    let mut evs = Vec::new();
    for (i, st) in stages.iter_mut().enumerate() {
        if st.position != i as i64 {
            let old = st.position;
            st.position = i as i64;
            schema::update_stage(s, ws, st, at).await?;
            if Some(st.id) != except {
                evs.push(moved_stage_event(st, old));
            }
        }
    }
    Ok(evs)
}

fn moved_stage_event(st: &Stage, old_position: i64) -> NewEvent {
    stage_event(
        events::STAGE_UPDATED,
        st,
        Some(json!({"changes": {"position": {"old": old_position, "new": st.position}}})),
    )
}

fn clamp_position(pos: Option<i64>, len: usize, field: &str) -> ApiResult<usize> {
    match pos {
        None => Ok(len),
        Some(p) if p < 0 => Err(ApiError::invalid(field, "'position' must be 0 or greater")),
        Some(p) => Ok((p as usize).min(len)),
    }
}

/// Get a stage
#[utoipa::path(
    get,
    path = "/schema/stages/{id}",
    tag = "schema",
    security(("bearer" = ["read"])),
    params(("id" = String, Path, description = "Stage id (UUID)")),
    responses((status = 200, description = "The stage", body = Envelope<Stage>))
)]
async fn get_stage(
    State(state): State<AppState>,
    auth: Reader,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Stage")?;
    let mut s = state.db.read().await?;
    let st = schema::get_stage(&mut s, auth.ws(), id)
        .await
        .map_err(|e| not_found_as(e, "Stage", id))?;
    Ok(with_etag(&st, StatusCode::OK))
}

/// Add a stage to a pipeline
///
/// Inserts the stage at `position` (default: last); later stages move one place right.
#[utoipa::path(
    post,
    path = "/schema/pipelines/{id}/stages",
    tag = "schema",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Pipeline id (UUID)")),
    request_body = StageIn,
    responses(
        (status = 201, description = "The new stage", body = Envelope<Stage>),
        (status = 409, description = "The pipeline already has 100 stages, or one with this slug", body = crate::error::ErrorBody),
    )
)]
async fn create_stage(
    State(state): State<AppState>,
    auth: Admin,
    PathId(pid): PathId,
    Json(body): Json<StageIn>,
) -> ApiResult<Response> {
    let pid = path_uuid(&pid, "Pipeline")?;
    let name = check_name(&body.name, "name")?;
    let slug = slug_or_default("slug", body.slug.as_deref(), &name)?;
    let ws = auth.ws().to_string();
    let mut s = state.db.write().await?;
    lock_stage_lists(&mut s, &ws).await?;
    let p = load_pipeline(&mut s, &ws, pid).await?;
    if p.stages.len() >= 100 {
        return Err(ApiError::conflict("A pipeline holds at most 100 stages"));
    }
    let at_index = clamp_position(body.position, p.stages.len(), "position")?;
    let at = now();
    let mut stage = Stage {
        id: new_id(),
        name,
        slug,
        position: at_index as i64,
        pipeline_id: Some(pid),
    };
    // Make room first so positions stay 0..n.
    let mut others = p.stages;
    let mut evs = Vec::new();
    for st in others.iter_mut().skip(at_index).rev() {
        st.position += 1;
        schema::update_stage(&mut s, &ws, st, at).await?;
        evs.push(moved_stage_event(st, st.position - 1));
    }
    evs.reverse();
    schema::insert_stage(&mut s, &ws, pid, &stage, at)
        .await
        .map_err(|e| slug_taken(e, "A stage of this pipeline", &stage.slug))?;
    stage.pipeline_id = Some(pid);
    evs.insert(0, stage_event(events::STAGE_CREATED, &stage, None));
    event_repo::insert(&mut s, &ws, evs, at).await?;
    s.commit().await?;
    Ok(with_etag(&stage, StatusCode::CREATED))
}

/// Update a stage
///
/// Renames the stage or moves it within its pipeline (the others are renumbered).
#[utoipa::path(
    patch,
    path = "/schema/stages/{id}",
    tag = "schema",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Stage id (UUID)")),
    request_body = StagePatch,
    responses(
        (status = 200, description = "The stage after the change", body = Envelope<Stage>),
        (status = 409, description = "Another stage of this pipeline has this slug", body = crate::error::ErrorBody),
    )
)]
async fn update_stage(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
    headers: HeaderMap,
    Json(body): Json<StagePatch>,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Stage")?;
    let ws = auth.ws().to_string();
    let mut s = state.db.write().await?;
    lock_stage_lists(&mut s, &ws).await?;
    let old = schema::get_stage(&mut s, &ws, id)
        .await
        .map_err(|e| not_found_as(e, "Stage", id))?;
    check_if_match(&headers, &old)?;
    let pid = old.pipeline_id.unwrap_or_default();
    let mut st = old.clone();
    if let Some(n) = body.name {
        st.name = check_name(&n, "name")?;
    }
    if let Some(slug) = body.slug {
        st.slug = slug_or_default("slug", Some(&slug), &st.name)?;
    }
    let at = now();
    let mut sibling_events = Vec::new();
    if let Some(pos) = body.position {
        let p = load_pipeline(&mut s, &ws, pid).await?;
        let mut order: Vec<Stage> = p.stages.into_iter().filter(|x| x.id != id).collect();
        let idx = clamp_position(Some(pos), order.len(), "position")?;
        order.insert(idx, st.clone());
        sibling_events = renumber(&mut s, &ws, &mut order, at, Some(id)).await?;
        st.position = idx as i64;
    }
    let changes = laneway_core::diff::changes(&to_value(&old), &to_value(&st));
    if !changes.is_empty() {
        schema::update_stage(&mut s, &ws, &st, at)
            .await
            .map_err(|e| slug_taken(e, "A stage of this pipeline", &st.slug))?;
        let ev = stage_event(
            events::STAGE_UPDATED,
            &st,
            Some(json!({"changes": changes})),
        );
        sibling_events.insert(0, ev);
        event_repo::insert(&mut s, &ws, sibling_events, at).await?;
        s.commit().await?;
    }
    Ok(with_etag(&st, StatusCode::OK))
}

/// Delete a stage
///
/// A stage that holds records needs `?move_to=<stage id>`; its records move there.
#[utoipa::path(
    delete,
    path = "/schema/stages/{id}",
    tag = "schema",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Stage id (UUID)"),
        ("move_to" = Option<String>, Query, description = "Another stage (UUID) to move the stage's records to; needed when it holds any")),
    responses(
        (status = 200, description = "Deleted", body = Envelope<Deleted<String>>),
        (status = 409, description = "The stage holds records and no `move_to` was given", body = crate::error::ErrorBody),
    )
)]
async fn delete_stage(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
    headers: HeaderMap,
    q: Params,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Stage")?;
    let move_to = q.uuid("move_to")?;
    let ws = auth.ws().to_string();
    let mut s = state.db.write().await?;
    lock_stage_lists(&mut s, &ws).await?;
    let st = schema::get_stage(&mut s, &ws, id)
        .await
        .map_err(|e| not_found_as(e, "Stage", id))?;
    check_if_match(&headers, &st)?;
    // Lock the stage row before listing its cards: a record being placed in this stage
    // concurrently either committed already (and is listed, so moved or refused) or waits
    // for this deletion and then finds no stage, instead of losing its stage to ON DELETE
    // SET NULL after the listing missed it.
    schema::lock_stage(&mut s, &ws, id).await?;
    let cards = records::list_in_stage(&mut s, &ws, id).await?;
    match move_to {
        None if !cards.is_empty() => {
            return Err(ApiError::conflict(format!(
                "Stage '{}' holds {} record(s); pass ?move_to=<stage id> to move them",
                st.slug,
                cards.len()
            )))
        }
        Some(target) if target == id => {
            return Err(ApiError::invalid(
                "move_to",
                "'move_to' must be another stage",
            ));
        }
        Some(target) => {
            let place = super::records::service::resolve_stage_id(&mut s, &ws, target)
                .await
                .map_err(|e| {
                    // Only "no such stage" is the caller's fault; a database outage stays a 503.
                    if e.status == StatusCode::BAD_REQUEST {
                        ApiError::invalid(
                            "move_to",
                            format!("'move_to': stage '{target}' not found"),
                        )
                    } else {
                        e
                    }
                })?;
            for r in cards {
                let mut new = r.clone();
                new.pipeline_id = Some(place.pipeline_id);
                new.stage_id = Some(place.stage_id);
                new.position = Some(
                    super::records::service::position_in(&mut s, &ws, place.stage_id, None).await?,
                );
                super::records::service::write_update(&mut s, &ws, &r, new).await?;
            }
        }
        None => {}
    }
    let at = now();
    schema::delete_stage(&mut s, &ws, id).await?;
    let pid = st.pipeline_id.unwrap_or_default();
    let p = load_pipeline(&mut s, &ws, pid).await?;
    let mut rest = p.stages;
    let mut evs = renumber(&mut s, &ws, &mut rest, at, None).await?;
    let ev = stage_event(
        events::STAGE_DELETED,
        &st,
        Some(json!({"deleted_at": laneway_core::time::format_ts(at)})),
    );
    evs.insert(0, ev);
    event_repo::insert(&mut s, &ws, evs, at).await?;
    s.commit().await?;
    Ok(deleted(id))
}
