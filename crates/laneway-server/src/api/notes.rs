//! `/notes`: notes on a record, on a pipeline (a board) or on the workspace (spec §7).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use laneway_core::events::{self, NewEvent};
use laneway_core::ids::new_id;
use laneway_core::model::Note;
use laneway_core::time::now;
use laneway_store::repo::notes::NoteQuery;
use laneway_store::repo::{events as event_repo, notes, records, schema};
use laneway_store::{Session, StoreError, WorkspaceLock};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::openapi::PageQuery;
use super::records::not_found_as;
use super::{
    bounded_text, check_if_match, deleted, path_uuid, required_text, to_value, with_etag, Deleted,
    Envelope, PageEnvelope,
};
use crate::auth::{Reader, Writer};
use crate::error::{ApiError, ApiResult};
use crate::extract::{nullable, Json, Params, PathId};
use crate::state::AppState;

const MAX_TITLE: usize = 1000;
/// Notes are documents (meeting minutes, site surveys), so they get room.
const MAX_BODY: usize = 200_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notes", get(list_notes).post(create_note))
        .route(
            "/notes/{id}",
            get(get_note).patch(update_note).delete(delete_note),
        )
}

/// `POST /notes`. At most one of `record_id` and `pipeline_id`; neither makes a workspace note.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NoteIn {
    /// 1-1000 characters once surrounding whitespace is trimmed (it is stored trimmed);
    /// default `Untitled`.
    #[serde(default)]
    #[schema(
        min_length = 1,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,998}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    title: Option<String>,
    /// At most 200000 characters; default empty.
    #[serde(default)]
    #[schema(max_length = 200000)]
    body: Option<String>,
    /// The record the note is on (a live record of the workspace; UUID).
    #[serde(default)]
    record_id: Option<Uuid>,
    /// The pipeline (board) the note is on (UUID).
    #[serde(default)]
    pipeline_id: Option<Uuid>,
}

/// `PATCH /notes/:id`: only the fields present change. Setting `record_id` or `pipeline_id`
/// moves the note there (clearing the other); `null` detaches it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NotePatch {
    /// 1-1000 characters once surrounding whitespace is trimmed; not `null`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, min_length = 1, pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,998}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$")]
    title: Option<Option<String>>,
    /// At most 200000 characters; not `null`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, max_length = 200000)]
    body: Option<Option<String>>,
    /// A live record of the workspace (UUID); `null` detaches the note from it.
    #[serde(default, deserialize_with = "nullable")]
    record_id: Option<Option<Uuid>>,
    /// A pipeline of the workspace (UUID); `null` detaches the note from it.
    #[serde(default, deserialize_with = "nullable")]
    pipeline_id: Option<Option<Uuid>>,
}

async fn check_record(s: &mut Session, ws: &str, id: Uuid) -> ApiResult<()> {
    match records::get(s, ws, id).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(ApiError::invalid(
            "record_id",
            format!("'record_id': record '{id}' not found"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The pipeline must exist until the note commits: take the stage-list lock that a pipeline's
/// deletion takes, so a note is never left on a pipeline deleted at the same moment.
async fn check_pipeline(s: &mut Session, ws: &str, id: Uuid) -> ApiResult<()> {
    s.lock_workspace(ws, WorkspaceLock::Stages).await?;
    match schema::get_pipeline(s, ws, id).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => Err(ApiError::invalid(
            "pipeline_id",
            format!("'pipeline_id': pipeline '{id}' not found"),
        )),
        Err(e) => Err(e.into()),
    }
}

fn both_places() -> ApiError {
    ApiError::invalid(
        "pipeline_id",
        "A note is on a record or on a pipeline, not both: send 'record_id' or 'pipeline_id'",
    )
}

/// List notes
#[utoipa::path(
    get,
    path = "/notes",
    tag = "notes",
    security(("bearer" = ["read"])),
    params(
        PageQuery,
        ("record_id" = Option<String>, Query, description = "Only notes on this record (UUID)"),
        ("pipeline_id" = Option<String>, Query, description = "Only notes on this pipeline (UUID)"),
    ),
    responses((status = 200, description = "The notes, newest first", body = PageEnvelope<Note>))
)]
async fn list_notes(State(state): State<AppState>, auth: Reader, q: Params) -> ApiResult<Response> {
    let f = NoteQuery {
        record_id: q.uuid("record_id")?,
        pipeline_id: q.uuid("pipeline_id")?,
    };
    let reg = notes::registry();
    let ctx = super::listing::ctx(&state, &auth);
    let req = super::listing::ListRequest::parse(
        &q,
        "/api/v1/notes",
        &reg,
        &ctx,
        "-created_at",
        &state.cursor_key,
    )?;
    let mut s = state.db.read().await?;
    let page = notes::list(&mut s, auth.ws(), &f, &reg, &ctx, &req.spec).await?;
    Ok(req.respond(page))
}

/// Get a note
#[utoipa::path(
    get,
    path = "/notes/{id}",
    tag = "notes",
    security(("bearer" = ["read"])),
    params(("id" = String, Path, description = "Note id (UUID)")),
    responses((status = 200, description = "The note", body = Envelope<Note>))
)]
async fn get_note(
    State(state): State<AppState>,
    auth: Reader,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Note")?;
    let mut s = state.db.read().await?;
    let n = notes::get(&mut s, auth.ws(), id)
        .await
        .map_err(|e| not_found_as(e, "Note", id))?;
    Ok(with_etag(&n, StatusCode::OK))
}

/// Create a note
#[utoipa::path(
    post,
    path = "/notes",
    tag = "notes",
    security(("bearer" = ["write"])),
    request_body = NoteIn,
    responses((status = 201, description = "The new note", body = Envelope<Note>))
)]
async fn create_note(
    State(state): State<AppState>,
    auth: Writer,
    Json(body): Json<NoteIn>,
) -> ApiResult<Response> {
    let ws = auth.ws().to_string();
    let title = match body.title {
        Some(t) => required_text("title", &t, MAX_TITLE)?,
        None => "Untitled".to_string(),
    };
    let text = bounded_text("body", body.body.unwrap_or_default(), MAX_BODY)?;
    if body.record_id.is_some() && body.pipeline_id.is_some() {
        return Err(both_places());
    }
    let mut s = state.db.write().await?;
    if let Some(p) = body.pipeline_id {
        check_pipeline(&mut s, &ws, p).await?;
    }
    if let Some(r) = body.record_id {
        check_record(&mut s, &ws, r).await?;
    }
    let at = now();
    let n = Note {
        id: new_id(),
        title,
        body: text,
        record_id: body.record_id,
        pipeline_id: body.pipeline_id,
        author_id: Some(auth.member_id),
        created_at: at,
        updated_at: at,
        deleted_at: None,
    };
    notes::insert(&mut s, &ws, &n).await?;
    let ev = NewEvent::new(events::NOTE_CREATED, "note", n.id.to_string(), to_value(&n));
    event_repo::insert(&mut s, &ws, vec![ev], at).await?;
    s.commit().await?;
    Ok(with_etag(&n, StatusCode::CREATED))
}

/// Update a note
#[utoipa::path(
    patch,
    path = "/notes/{id}",
    tag = "notes",
    security(("bearer" = ["write"])),
    params(("id" = String, Path, description = "Note id (UUID)")),
    request_body = NotePatch,
    responses((status = 200, description = "The note after the change", body = Envelope<Note>))
)]
async fn update_note(
    State(state): State<AppState>,
    auth: Writer,
    PathId(id): PathId,
    headers: HeaderMap,
    Json(body): Json<NotePatch>,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Note")?;
    let ws = auth.ws().to_string();
    if matches!(body.record_id, Some(Some(_))) && matches!(body.pipeline_id, Some(Some(_))) {
        return Err(both_places());
    }
    let mut s = state.db.write().await?;
    if let Some(Some(p)) = body.pipeline_id {
        check_pipeline(&mut s, &ws, p).await?;
    }
    let old = notes::get_for_update(&mut s, &ws, id)
        .await
        .map_err(|e| not_found_as(e, "Note", id))?;
    check_if_match(&headers, &old)?;
    let mut new = old.clone();
    match body.title {
        Some(Some(t)) => new.title = required_text("title", &t, MAX_TITLE)?,
        Some(None) => return Err(ApiError::invalid("title", "'title' cannot be null")),
        None => {}
    }
    match body.body {
        Some(Some(b)) => new.body = bounded_text("body", b, MAX_BODY)?,
        Some(None) => return Err(ApiError::invalid("body", "'body' cannot be null")),
        None => {}
    }
    match body.record_id {
        Some(Some(r)) => {
            check_record(&mut s, &ws, r).await?;
            new.record_id = Some(r);
            new.pipeline_id = None;
        }
        Some(None) => new.record_id = None,
        None => {}
    }
    match body.pipeline_id {
        Some(Some(p)) => {
            new.pipeline_id = Some(p);
            new.record_id = None;
        }
        Some(None) => new.pipeline_id = None,
        None => {}
    }
    let changes = laneway_core::diff::changes(&to_value(&old), &to_value(&new));
    if !changes.is_empty() {
        new.updated_at = now();
        let mut data = to_value(&new);
        if let Some(o) = data.as_object_mut() {
            o.insert("changes".into(), json!(changes));
        }
        notes::update(&mut s, &ws, &new).await?;
        let ev = NewEvent::new(events::NOTE_UPDATED, "note", id.to_string(), data);
        event_repo::insert(&mut s, &ws, vec![ev], new.updated_at).await?;
        s.commit().await?;
    }
    Ok(with_etag(&new, StatusCode::OK))
}

/// Soft-deletes a note and records `note.deleted`.
pub async fn write_delete(s: &mut Session, ws: &str, old: Note) -> ApiResult<()> {
    let at = now();
    let mut gone = old;
    gone.deleted_at = Some(at);
    gone.updated_at = at;
    notes::update(s, ws, &gone).await?;
    let ev = NewEvent::new(
        events::NOTE_DELETED,
        "note",
        gone.id.to_string(),
        to_value(&gone),
    );
    event_repo::insert(s, ws, vec![ev], at).await?;
    Ok(())
}

/// Delete a note
#[utoipa::path(
    delete,
    path = "/notes/{id}",
    tag = "notes",
    security(("bearer" = ["write"])),
    params(("id" = String, Path, description = "Note id (UUID)")),
    responses((status = 200, description = "Deleted", body = Envelope<Deleted<String>>))
)]
async fn delete_note(
    State(state): State<AppState>,
    auth: Writer,
    PathId(id): PathId,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Note")?;
    let ws = auth.ws().to_string();
    let mut s = state.db.write().await?;
    let old = notes::get_for_update(&mut s, &ws, id)
        .await
        .map_err(|e| not_found_as(e, "Note", id))?;
    check_if_match(&headers, &old)?;
    write_delete(&mut s, &ws, old).await?;
    s.commit().await?;
    Ok(deleted(id))
}
