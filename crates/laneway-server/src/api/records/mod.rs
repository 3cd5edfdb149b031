//! `/records`: the central objects (leads, jobs, estimates, ... on boards), spec §5.

mod dto;
pub mod service;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use laneway_core::events::Event;
use laneway_core::ids::new_id;
use laneway_core::model::Record;
use laneway_core::time::now;
use laneway_store::repo::events::EventQuery;
use laneway_store::repo::records::RecordQuery;
use laneway_store::repo::{events as event_repo, records, schema};
use serde_json::Value;

use self::dto::{RecordIn, RecordPatch};
use self::service::*;
use super::listing::{self, ListRequest};
use super::openapi::PageQuery;
use super::{
    check_if_match, deleted, path_uuid, to_value, with_etag, Deleted, Envelope, PageEnvelope,
};
use crate::auth::{Reader, Writer};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Params, PathId};
use crate::state::AppState;
use laneway_store::listing::Kind;
use std::collections::BTreeMap;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/records", get(list_records).post(create_record))
        .route(
            "/records/{id}",
            get(get_record).patch(update_record).delete(delete_record),
        )
        .route("/records/{id}/activity", get(list_record_activity))
}

async fn object_type_id(
    s: &mut laneway_store::Session,
    ws: &str,
    slug: &str,
    field: &str,
) -> ApiResult<laneway_core::model::ObjectType> {
    schema::find_object_type_by_slug(s, ws, slug)
        .await?
        .ok_or_else(|| ApiError::invalid(field, format!("Object type '{slug}' not found")))
}

/// List records
#[utoipa::path(
    get,
    path = "/records",
    tag = "records",
    security(("bearer" = ["read"])),
    params(
        PageQuery,
        ("type" = Option<String>, Query, description = "Only records of this object type (slug, e.g. `lead`); an unknown slug is a 400"),
        ("search" = Option<String>, Query, description = "Only records whose title contains this text (case-insensitive)"),
        ("assignee_id" = Option<String>, Query, description = "Only records assigned to this member (UUID)"),
        ("pipeline_id" = Option<String>, Query, description = "Only records on this pipeline (UUID)"),
        ("stage_id" = Option<String>, Query, description = "Only records in this stage (UUID)"),
    ),
    responses((status = 200, description = "The records", body = PageEnvelope<Record>))
)]
async fn list_records(
    State(state): State<AppState>,
    auth: Reader,
    q: Params,
) -> ApiResult<Response> {
    let mut s = state.db.read().await?;
    let mut f = RecordQuery {
        search: q.string("search"),
        assignee_id: q.uuid("assignee_id")?,
        stage_id: q.uuid("stage_id")?,
        pipeline_id: q.uuid("pipeline_id")?,
        ..Default::default()
    };
    let types = schema::list_object_types(&mut s, auth.ws()).await?;
    let mut of_type = None;
    if let Some(slug) = q.string("type") {
        let ot = object_type_id(&mut s, auth.ws(), &slug, "type").await?;
        f.object_type_id = Some(ot.id);
        of_type = Some(ot.id);
    }
    // `data.<key>` takes its declared type: the listed type's, or the one every object type
    // that declares the key agrees on.
    let mut declared: BTreeMap<String, Option<Kind>> = BTreeMap::new();
    for ot in types.iter().filter(|t| of_type.is_none_or(|id| id == t.id)) {
        for fd in &ot.fields {
            let kind = Kind::of_field_type(to_value(&fd.kind).as_str().unwrap_or("text"));
            declared
                .entry(fd.key.clone())
                .and_modify(|k| {
                    if k.as_ref() != Some(&kind) {
                        *k = None
                    }
                })
                .or_insert(Some(kind));
        }
    }
    let declared = declared
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
    let reg = records::registry(declared);
    let ctx = listing::ctx(&state, &auth);
    let req = ListRequest::parse(
        &q,
        "/api/v1/records",
        &reg,
        &ctx,
        "-created_at",
        &state.cursor_key,
    )?;
    let page = records::list(&mut s, auth.ws(), &f, &reg, &ctx, &req.spec).await?;
    Ok(req.respond(page))
}

/// Get a record
#[utoipa::path(
    get,
    path = "/records/{id}",
    tag = "records",
    security(("bearer" = ["read"])),
    params(("id" = String, Path, description = "Record id (UUID)")),
    responses((status = 200, description = "The record", body = Envelope<Record>))
)]
async fn get_record(
    State(state): State<AppState>,
    auth: Reader,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Record")?;
    let mut s = state.db.read().await?;
    let r = records::get(&mut s, auth.ws(), id)
        .await
        .map_err(|e| not_found_as(e, "Record", id))?;
    Ok(with_etag(&r, StatusCode::OK))
}

pub(crate) fn not_found_as(
    e: laneway_store::StoreError,
    what: &str,
    id: impl std::fmt::Display,
) -> ApiError {
    match e {
        laneway_store::StoreError::NotFound => {
            ApiError::not_found(format!("{what} '{id}' not found"))
        }
        other => other.into(),
    }
}

/// Create a record
///
/// Places the record on a board with `stage_id`, or `pipeline` (+ `stage`); with neither it
/// is on no board. `data` is checked against the object type's fields.
#[utoipa::path(
    post,
    path = "/records",
    tag = "records",
    security(("bearer" = ["write"])),
    request_body = RecordIn,
    responses((status = 201, description = "The new record", body = Envelope<Record>))
)]
async fn create_record(
    State(state): State<AppState>,
    auth: Writer,
    Json(body): Json<RecordIn>,
) -> ApiResult<Response> {
    let ws = auth.ws().to_string();
    let title = match body.title {
        Some(t) if !t.trim().is_empty() => t,
        _ => "Untitled".to_string(),
    };
    check_title(&title)?;
    let data = match body.data {
        None => serde_json::Map::new(),
        Some(v) => check_data_object(v)?,
    };
    if body.stage_id.is_some() && (body.pipeline.is_some() || body.stage.is_some()) {
        return Err(ApiError::invalid(
            "stage_id",
            "Use either 'stage_id' or 'pipeline' (+ 'stage'), not both",
        ));
    }
    if body.stage.is_some() && body.pipeline.is_none() {
        return Err(ApiError::invalid(
            "stage",
            "'stage' needs 'pipeline' (or use 'stage_id')",
        ));
    }

    // Look-ups run inside the write transaction: on SQLite it is the one writer, so nothing can
    // remove the object type, the assignee or the stage between the check and the insert; on
    // PostgreSQL the stage is locked below and foreign keys refuse anything removed meanwhile.
    let mut s = state.db.write().await?;
    let ot = object_type_id(&mut s, &ws, &body.kind, "type").await?;
    check_data(&mut s, &ws, &ot.fields, &data).await?;
    if let Some(a) = body.assignee_id {
        check_assignee(&mut s, &ws, a).await?;
    }
    let place = match (body.stage_id, body.pipeline.as_deref()) {
        (Some(id), _) => Some(resolve_stage_id(&mut s, &ws, id).await?),
        (None, Some(p)) => {
            let pipelines = schema::list_pipelines(&mut s, &ws).await?;
            Some(resolve_named(&pipelines, p, body.stage.as_deref())?)
        }
        (None, None) => None,
    };
    let position = match place {
        Some(pl) => Some(position_in(&mut s, &ws, pl.stage_id, body.position).await?),
        None if body.position.is_some() => {
            return Err(ApiError::invalid(
                "position",
                "'position' needs a stage: pass 'stage_id' or 'pipeline'",
            ))
        }
        None => None,
    };
    let at = now();
    let r = Record {
        id: new_id(),
        title,
        object_type_id: ot.id,
        pipeline_id: place.map(|p| p.pipeline_id),
        stage_id: place.map(|p| p.stage_id),
        assignee_id: body.assignee_id,
        position,
        data: Value::Object(data),
        created_at: at,
        updated_at: at,
        deleted_at: None,
        object_types: laneway_core::model::ObjectTypeRef {
            name: ot.name,
            slug: ot.slug,
            icon: ot.icon,
        },
    };
    records::insert(&mut s, &ws, &r).await?;
    event_repo::insert(&mut s, &ws, created_events(&r), at).await?;
    s.commit().await?;
    Ok(with_etag(&r, StatusCode::CREATED))
}

/// Update a record
///
/// Changes fields, moves the card between stages and boards, or reorders it.
#[utoipa::path(
    patch,
    path = "/records/{id}",
    tag = "records",
    security(("bearer" = ["write"])),
    params(("id" = String, Path, description = "Record id (UUID)")),
    request_body = RecordPatch,
    responses(
        (status = 200, description = "The record after the change", body = Envelope<Record>),
        (status = 409, description = "A stage or member this request refers to was changed or removed meanwhile", body = crate::error::ErrorBody),
    )
)]
async fn update_record(
    State(state): State<AppState>,
    auth: Writer,
    PathId(id): PathId,
    headers: HeaderMap,
    Json(body): Json<RecordPatch>,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Record")?;
    let ws = auth.ws().to_string();
    if body.stage_id.is_some() && (body.pipeline.is_some() || body.stage.is_some()) {
        return Err(ApiError::invalid(
            "stage_id",
            "Use either 'stage_id' or 'pipeline' (+ 'stage'), not both",
        ));
    }
    let mut s = state.db.write().await?;
    let old = records::get_for_update(&mut s, &ws, id)
        .await
        .map_err(|e| not_found_as(e, "Record", id))?;
    check_if_match(&headers, &old)?;
    let mut new = old.clone();

    match body.title {
        Some(Some(t)) => {
            check_title(&t)?;
            new.title = if t.trim().is_empty() {
                "Untitled".into()
            } else {
                t
            };
        }
        Some(None) => return Err(ApiError::invalid("title", "'title' cannot be null")),
        None => {}
    }
    if let Some(d) = body.data {
        let data = check_data_object(d)?;
        let ot = schema::get_object_type(&mut s, &ws, old.object_type_id).await;
        // A record whose type was deleted keeps its data unchecked.
        if let Ok(ot) = ot {
            check_data(&mut s, &ws, &ot.fields, &data).await?;
        }
        new.data = Value::Object(data);
    }
    match body.assignee_id {
        Some(Some(a)) => {
            check_assignee(&mut s, &ws, a).await?;
            new.assignee_id = Some(a);
        }
        Some(None) => new.assignee_id = None,
        None => {}
    }

    let place = match (
        body.stage_id,
        body.pipeline.as_deref(),
        body.stage.as_deref(),
    ) {
        (Some(Some(stage)), _, _) => Some(Some(resolve_stage_id(&mut s, &ws, stage).await?)),
        (Some(None), _, _) => Some(None),
        (None, Some(p), stage) => {
            let pipelines = schema::list_pipelines(&mut s, &ws).await?;
            let target = find_pipeline(&pipelines, p)?;
            if stage.is_none() && old.pipeline_id == Some(target.id) && old.stage_id.is_some() {
                None // already on this board: stay in the current stage
            } else {
                Some(Some(resolve_named(&pipelines, p, stage)?))
            }
        }
        (None, None, Some(stage)) => {
            let Some(pid) = old.pipeline_id else {
                return Err(ApiError::invalid(
                    "stage",
                    "'stage' needs 'pipeline': this record is not on a board",
                ));
            };
            let pipelines = schema::list_pipelines(&mut s, &ws).await?;
            Some(Some(resolve_named(
                &pipelines,
                &pid.to_string(),
                Some(stage),
            )?))
        }
        (None, None, None) => None,
    };
    match place {
        Some(Some(pl)) if Some(pl.stage_id) != old.stage_id => {
            new.pipeline_id = Some(pl.pipeline_id);
            new.stage_id = Some(pl.stage_id);
            new.position = Some(position_in(&mut s, &ws, pl.stage_id, body.position).await?);
        }
        Some(None) => {
            if body.position.is_some() {
                return Err(ApiError::invalid("position", "'position' needs a stage"));
            }
            new.pipeline_id = None;
            new.stage_id = None;
            new.position = None;
        }
        _ => {
            if let Some(p) = body.position {
                if new.stage_id.is_none() {
                    return Err(ApiError::invalid(
                        "position",
                        "'position' needs a stage: this record is not on a board",
                    ));
                }
                laneway_core::position::validate_position(&p)?;
                new.position = Some(p);
            }
        }
    }

    let new = write_update(&mut s, &ws, &old, new).await?;
    s.commit().await?;
    Ok(with_etag(&new, StatusCode::OK))
}

/// Delete a record
///
/// The record disappears from lists; its activity stays readable.
#[utoipa::path(
    delete,
    path = "/records/{id}",
    tag = "records",
    security(("bearer" = ["write"])),
    params(("id" = String, Path, description = "Record id (UUID)")),
    responses((status = 200, description = "Deleted", body = Envelope<Deleted<String>>))
)]
async fn delete_record(
    State(state): State<AppState>,
    auth: Writer,
    PathId(id): PathId,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Record")?;
    let ws = auth.ws().to_string();
    let mut s = state.db.write().await?;
    let old = records::get_for_update(&mut s, &ws, id)
        .await
        .map_err(|e| not_found_as(e, "Record", id))?;
    check_if_match(&headers, &old)?;
    let at = now();
    let mut gone = old.clone();
    gone.deleted_at = Some(at);
    gone.updated_at = at;
    records::update(&mut s, &ws, &gone).await?;
    event_repo::insert(&mut s, &ws, deleted_events(&gone), at).await?;
    s.commit().await?;
    Ok(deleted(id))
}

/// List a record's activity
///
/// The audit trail: every event about the record, newest first; kept after deletion.
#[utoipa::path(
    get,
    path = "/records/{id}/activity",
    tag = "records",
    security(("bearer" = ["read"])),
    params(("id" = String, Path, description = "Record id (UUID)"), PageQuery),
    responses((status = 200, description = "The record's events, newest first", body = PageEnvelope<Event>))
)]
async fn list_record_activity(
    State(state): State<AppState>,
    auth: Reader,
    PathId(id): PathId,
    q: Params,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Record")?;
    let reg = event_repo::registry();
    let ctx = listing::ctx(&state, &auth);
    let req = ListRequest::parse(
        &q,
        &format!("/api/v1/records/{id}/activity"),
        &reg,
        &ctx,
        "-timestamp",
        &state.cursor_key,
    )?;
    let mut s = state.db.read().await?;
    // A deleted record keeps its audit trail.
    if !records::exists_any(&mut s, auth.ws(), id).await? {
        return Err(ApiError::not_found(format!("Record '{id}' not found")));
    }
    let f = EventQuery {
        resource: Some(("record".into(), id.to_string())),
        ..Default::default()
    };
    let page = event_repo::list(&mut s, auth.ws(), &f, &reg, &ctx, &req.spec).await?;
    Ok(req.respond(page))
}
