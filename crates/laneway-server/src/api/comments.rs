//! Comments on records and on tasks (spec §7): `/records/:id/comments` and
//! `/records/tasks/:id/comments`.
//!
//! Comments are a conversation: oldest first, and immutable once posted. The event vocabulary
//! has `comment.created` only, so an edit or a deletion could not reach a webhook; rather than
//! allow changes that integrations never hear of, the API offers none.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use laneway_core::events::{self, NewEvent};
use laneway_core::ids::new_id;
use laneway_core::model::Comment;
use laneway_core::time::now;
use laneway_store::repo::comments::{self, On};
use laneway_store::repo::{events as event_repo, records, tasks};
use laneway_store::Session;
use serde::Deserialize;
use utoipa::ToSchema;

use super::openapi::PageQuery;
use super::records::not_found_as;
use super::{path_uuid, to_value, with_etag, Envelope, PageEnvelope};
use crate::auth::{Reader, Writer};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Params, PathId, PathIds};
use crate::state::AppState;

const MAX_BODY: usize = 20_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/records/{id}/comments",
            get(list_record_comments).post(create_record_comment),
        )
        .route(
            "/records/{id}/comments/{comment_id}",
            get(get_record_comment),
        )
        .route(
            "/records/tasks/{id}/comments",
            get(list_task_comments).post(create_task_comment),
        )
        .route(
            "/records/tasks/{id}/comments/{comment_id}",
            get(get_task_comment),
        )
}

/// `POST .../comments`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CommentIn {
    /// At most 20000 characters, kept as sent, and not blank (at least one character that is
    /// not whitespace).
    #[schema(
        min_length = 1,
        max_length = 20000,
        pattern = r"^[^\u0000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000]*$"
    )]
    body: String,
}

fn check_body(b: &str) -> ApiResult<String> {
    if b.trim().is_empty() {
        return Err(ApiError::invalid("body", "'body' must not be empty"));
    }
    if b.chars().count() > MAX_BODY {
        return Err(ApiError::invalid(
            "body",
            format!("'body' is longer than {MAX_BODY} characters"),
        ));
    }
    Ok(b.to_string())
}

/// The record or task must be live (a 404 names it otherwise).
async fn check_parent(s: &mut Session, ws: &str, on: On) -> ApiResult<()> {
    match on {
        On::Record(id) => records::get(s, ws, id)
            .await
            .map(|_| ())
            .map_err(|e| not_found_as(e, "Record", id)),
        On::Task(id) => tasks::get(s, ws, id)
            .await
            .map(|_| ())
            .map_err(|e| not_found_as(e, "Task", id)),
    }
}

fn parent(raw: &str, task: bool) -> ApiResult<On> {
    Ok(if task {
        On::Task(path_uuid(raw, "Task")?)
    } else {
        On::Record(path_uuid(raw, "Record")?)
    })
}

fn list_path(on: On) -> String {
    match on {
        On::Record(id) => format!("/api/v1/records/{id}/comments"),
        On::Task(id) => format!("/api/v1/records/tasks/{id}/comments"),
    }
}

async fn list(state: AppState, auth: Reader, on: On, q: Params) -> ApiResult<Response> {
    let reg = comments::registry();
    let ctx = super::listing::ctx(&state, &auth);
    let req = super::listing::ListRequest::parse(
        &q,
        &list_path(on),
        &reg,
        &ctx,
        "created_at",
        &state.cursor_key,
    )?;
    let mut s = state.db.read().await?;
    check_parent(&mut s, auth.ws(), on).await?;
    let page = comments::list(&mut s, auth.ws(), on, &reg, &ctx, &req.spec).await?;
    Ok(req.respond(page))
}

async fn get_one(state: AppState, auth: Reader, on: On, raw: &str) -> ApiResult<Response> {
    let id = path_uuid(raw, "Comment")?;
    let mut s = state.db.read().await?;
    check_parent(&mut s, auth.ws(), on).await?;
    let c = comments::get(&mut s, auth.ws(), on, id)
        .await
        .map_err(|e| not_found_as(e, "Comment", id))?;
    Ok(with_etag(&c, StatusCode::OK))
}

async fn create(state: AppState, auth: Writer, on: On, body: CommentIn) -> ApiResult<Response> {
    let ws = auth.ws().to_string();
    let text = check_body(&body.body)?;
    let mut s = state.db.write().await?;
    // Lock the parent so a concurrent deletion cannot leave a comment on a deleted item.
    match on {
        On::Record(id) => records::get_for_update(&mut s, &ws, id)
            .await
            .map(|_| ())
            .map_err(|e| not_found_as(e, "Record", id))?,
        On::Task(id) => tasks::get_for_update(&mut s, &ws, id)
            .await
            .map(|_| ())
            .map_err(|e| not_found_as(e, "Task", id))?,
    }
    let at = now();
    let (record_id, task_id) = match on {
        On::Record(r) => (Some(r), None),
        On::Task(t) => (None, Some(t)),
    };
    let c = Comment {
        id: new_id(),
        body: text,
        author_id: Some(auth.member_id),
        record_id,
        task_id,
        created_at: at,
        updated_at: at,
        deleted_at: None,
    };
    comments::insert(&mut s, &ws, &c).await?;
    let ev = NewEvent::new(
        events::COMMENT_CREATED,
        "comment",
        c.id.to_string(),
        to_value(&c),
    );
    event_repo::insert(&mut s, &ws, vec![ev], at).await?;
    s.commit().await?;
    Ok(with_etag(&c, StatusCode::CREATED))
}

/// List a record's comments
///
/// Oldest first by default (a conversation); `filter`, `sort` and both pagination modes apply.
#[utoipa::path(
    get,
    path = "/records/{id}/comments",
    tag = "comments",
    security(("bearer" = ["read"])),
    params(("id" = String, Path, description = "Record id (UUID)"), PageQuery),
    responses((status = 200, description = "The comments", body = PageEnvelope<Comment>))
)]
async fn list_record_comments(
    State(state): State<AppState>,
    auth: Reader,
    PathId(id): PathId,
    q: Params,
) -> ApiResult<Response> {
    let on = parent(&id, false)?;
    list(state, auth, on, q).await
}

/// Comment on a record
///
/// The author is the member of the calling key. Fires `comment.created`.
#[utoipa::path(
    post,
    path = "/records/{id}/comments",
    tag = "comments",
    security(("bearer" = ["write"])),
    params(("id" = String, Path, description = "Record id (UUID)")),
    request_body = CommentIn,
    responses((status = 201, description = "The new comment", body = Envelope<Comment>))
)]
async fn create_record_comment(
    State(state): State<AppState>,
    auth: Writer,
    PathId(id): PathId,
    Json(body): Json<CommentIn>,
) -> ApiResult<Response> {
    let on = parent(&id, false)?;
    create(state, auth, on, body).await
}

/// Get a comment on a record
#[utoipa::path(
    get,
    path = "/records/{id}/comments/{comment_id}",
    tag = "comments",
    security(("bearer" = ["read"])),
    params(
        ("id" = String, Path, description = "Record id (UUID)"),
        ("comment_id" = String, Path, description = "Comment id (UUID)"),
    ),
    responses((status = 200, description = "The comment", body = Envelope<Comment>))
)]
async fn get_record_comment(
    State(state): State<AppState>,
    auth: Reader,
    PathIds(id, comment_id): PathIds,
) -> ApiResult<Response> {
    let on = parent(&id, false)?;
    get_one(state, auth, on, &comment_id).await
}

/// List a task's comments
///
/// Oldest first by default (a conversation); `filter`, `sort` and both pagination modes apply.
#[utoipa::path(
    get,
    path = "/records/tasks/{id}/comments",
    tag = "comments",
    security(("bearer" = ["read"])),
    params(("id" = String, Path, description = "Task id (UUID)"), PageQuery),
    responses((status = 200, description = "The comments", body = PageEnvelope<Comment>))
)]
async fn list_task_comments(
    State(state): State<AppState>,
    auth: Reader,
    PathId(id): PathId,
    q: Params,
) -> ApiResult<Response> {
    let on = parent(&id, true)?;
    list(state, auth, on, q).await
}

/// Comment on a task
///
/// The author is the member of the calling key. Fires `comment.created`.
#[utoipa::path(
    post,
    path = "/records/tasks/{id}/comments",
    tag = "comments",
    security(("bearer" = ["write"])),
    params(("id" = String, Path, description = "Task id (UUID)")),
    request_body = CommentIn,
    responses((status = 201, description = "The new comment", body = Envelope<Comment>))
)]
async fn create_task_comment(
    State(state): State<AppState>,
    auth: Writer,
    PathId(id): PathId,
    Json(body): Json<CommentIn>,
) -> ApiResult<Response> {
    let on = parent(&id, true)?;
    create(state, auth, on, body).await
}

/// Get a comment on a task
#[utoipa::path(
    get,
    path = "/records/tasks/{id}/comments/{comment_id}",
    tag = "comments",
    security(("bearer" = ["read"])),
    params(
        ("id" = String, Path, description = "Task id (UUID)"),
        ("comment_id" = String, Path, description = "Comment id (UUID)"),
    ),
    responses((status = 200, description = "The comment", body = Envelope<Comment>))
)]
async fn get_task_comment(
    State(state): State<AppState>,
    auth: Reader,
    PathIds(id, comment_id): PathIds,
) -> ApiResult<Response> {
    let on = parent(&id, true)?;
    get_one(state, auth, on, &comment_id).await
}
