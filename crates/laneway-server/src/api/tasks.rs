//! `/records/tasks`: to-dos, standalone or on a record (spec §6).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use laneway_core::events::{self, NewEvent};
use laneway_core::ids::new_id;
use laneway_core::model::Task;
use laneway_core::time::{now, parse_date};
use laneway_store::repo::tasks::TaskQuery;
use laneway_store::repo::{events as event_repo, records, tasks};
use laneway_store::{Session, StoreError};
use serde::Deserialize;
use serde_json::json;
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

use super::openapi::PageQuery;
use super::records::not_found_as;
use super::records::service::check_assignee;
use super::{
    bounded_text, check_if_match, deleted, path_uuid, required_text, to_value, with_etag, Deleted,
    Envelope, PageEnvelope,
};
use crate::auth::{Reader, Writer};
use crate::error::{ApiError, ApiResult};
use crate::extract::{nullable, Json, Params, PathId};
use crate::state::AppState;

const MAX_TITLE: usize = 1000;
const MAX_NOTES: usize = 100_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/records/tasks", get(list_tasks).post(create_task))
        .route(
            "/records/tasks/{id}",
            get(get_task).patch(update_task).delete(delete_task),
        )
}

/// `POST /records/tasks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TaskIn {
    /// 1-1000 characters once surrounding whitespace is trimmed (it is stored trimmed).
    #[schema(
        min_length = 1,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,998}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    title: String,
    /// The record the task is on (a live record of the workspace); omit for a standalone task.
    /// A UUID: hyphenated, or the simple, braced or `urn:uuid:` form.
    #[serde(default)]
    record_id: Option<Uuid>,
    /// A member of the workspace (UUID).
    #[serde(default)]
    assignee_id: Option<Uuid>,
    /// `YYYY-MM-DD` (a year of four digits, optionally signed), or an RFC 3339 instant whose
    /// UTC date is kept; surrounding whitespace is ignored.
    #[serde(default)]
    #[schema(
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[+-]?(?:[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)|(?:(?:000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)|0001-(?:01-(?:0[2-9]|[12][0-9]|3[01])|(?:0[2-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[3-9]|1[0-2])-(?:29|30)|(?:0[3578]|1[02])-31)|9999-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|10)-31)|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29)[\u0001-\u007f](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])|0001-01-01[\u0001-\u007f](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?(?:[Zz]|[+-]00:00|-(?:[01][0-9]|2[0-3]):[0-5][0-9])|9999-12-31[\u0001-\u007f](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?(?:[Zz]|[+-]00:00|\+(?:[01][0-9]|2[0-3]):[0-5][0-9]))[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    due_date: Option<String>,
    /// At most 100000 characters.
    #[serde(default)]
    #[schema(max_length = 100000)]
    notes: Option<String>,
    /// Default `false`; `true` also fires `task.completed`.
    #[serde(default)]
    completed: Option<bool>,
}

/// `PATCH /records/tasks/:id`: only the fields present change; `null` clears a field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TaskPatch {
    /// 1-1000 characters once surrounding whitespace is trimmed; not `null`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, min_length = 1, pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,998}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$")]
    title: Option<Option<String>>,
    /// `true` completes the task (firing `task.completed`), `false` reopens it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = bool)]
    completed: Option<Option<bool>>,
    /// A member of the workspace (UUID); `null` unassigns.
    #[serde(default, deserialize_with = "nullable")]
    assignee_id: Option<Option<Uuid>>,
    /// A live record of the workspace (UUID); `null` detaches the task from its record.
    #[serde(default, deserialize_with = "nullable")]
    record_id: Option<Option<Uuid>>,
    /// `YYYY-MM-DD` or an RFC 3339 instant, as in `POST`; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:[+-]?(?:[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)|(?:(?:000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)|0001-(?:01-(?:0[2-9]|[12][0-9]|3[01])|(?:0[2-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[3-9]|1[0-2])-(?:29|30)|(?:0[3578]|1[02])-31)|9999-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|10)-31)|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29)[\u0001-\u007f](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])|0001-01-01[\u0001-\u007f](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?(?:[Zz]|[+-]00:00|-(?:[01][0-9]|2[0-3]):[0-5][0-9])|9999-12-31[\u0001-\u007f](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?(?:[Zz]|[+-]00:00|\+(?:[01][0-9]|2[0-3]):[0-5][0-9]))[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$")]
    due_date: Option<Option<String>>,
    /// At most 100000 characters; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, max_length = 100000)]
    notes: Option<Option<String>>,
}

fn check_due(s: &str) -> ApiResult<Date> {
    parse_date(s.trim()).ok_or_else(|| {
        ApiError::invalid(
            "due_date",
            format!("'due_date' must be a date like 2026-06-30, got '{s}'"),
        )
    })
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

/// List tasks
#[utoipa::path(
    get,
    path = "/records/tasks",
    tag = "tasks",
    security(("bearer" = ["read"])),
    params(
        PageQuery,
        ("record_id" = Option<String>, Query, description = "Only tasks on this record (UUID)"),
        ("assignee_id" = Option<String>, Query, description = "Only tasks assigned to this member (UUID)"),
        ("completed" = Option<bool>, Query, description = "`true` or `false` (also `1`/`0`)"),
    ),
    responses((status = 200, description = "The tasks", body = PageEnvelope<Task>))
)]
async fn list_tasks(State(state): State<AppState>, auth: Reader, q: Params) -> ApiResult<Response> {
    let f = TaskQuery {
        record_id: q.uuid("record_id")?,
        assignee_id: q.uuid("assignee_id")?,
        completed: q.bool("completed")?,
    };
    let reg = tasks::registry();
    let ctx = super::listing::ctx(&state, &auth);
    let req = super::listing::ListRequest::parse(
        &q,
        "/api/v1/records/tasks",
        &reg,
        &ctx,
        "-created_at",
        &state.cursor_key,
    )?;
    let mut s = state.db.read().await?;
    let page = tasks::list(&mut s, auth.ws(), &f, &reg, &ctx, &req.spec).await?;
    Ok(req.respond(page))
}

/// Get a task
#[utoipa::path(
    get,
    path = "/records/tasks/{id}",
    tag = "tasks",
    security(("bearer" = ["read"])),
    params(("id" = String, Path, description = "Task id (UUID)")),
    responses((status = 200, description = "The task", body = Envelope<Task>))
)]
async fn get_task(
    State(state): State<AppState>,
    auth: Reader,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Task")?;
    let mut s = state.db.read().await?;
    let t = tasks::get(&mut s, auth.ws(), id)
        .await
        .map_err(|e| not_found_as(e, "Task", id))?;
    Ok(with_etag(&t, StatusCode::OK))
}

/// Create a task
#[utoipa::path(
    post,
    path = "/records/tasks",
    tag = "tasks",
    security(("bearer" = ["write"])),
    request_body = TaskIn,
    responses((status = 201, description = "The new task", body = Envelope<Task>))
)]
async fn create_task(
    State(state): State<AppState>,
    auth: Writer,
    Json(body): Json<TaskIn>,
) -> ApiResult<Response> {
    let ws = auth.ws().to_string();
    let title = required_text("title", &body.title, MAX_TITLE)?;
    let due_date = body.due_date.as_deref().map(check_due).transpose()?;
    let notes = body
        .notes
        .map(|v| bounded_text("notes", v, MAX_NOTES))
        .transpose()?;
    let mut s = state.db.write().await?;
    if let Some(r) = body.record_id {
        check_record(&mut s, &ws, r).await?;
    }
    if let Some(a) = body.assignee_id {
        check_assignee(&mut s, &ws, a).await?;
    }
    let at = now();
    let completed = body.completed.unwrap_or(false);
    let t = Task {
        id: new_id(),
        title,
        record_id: body.record_id,
        assignee_id: body.assignee_id,
        due_date,
        notes,
        completed,
        completed_at: completed.then_some(at),
        created_at: at,
        updated_at: at,
        deleted_at: None,
    };
    tasks::insert(&mut s, &ws, &t).await?;
    let mut evs = vec![NewEvent::new(
        events::TASK_CREATED,
        "task",
        t.id.to_string(),
        to_value(&t),
    )];
    if completed {
        evs.push(NewEvent::new(
            events::TASK_COMPLETED,
            "task",
            t.id.to_string(),
            to_value(&t),
        ));
    }
    event_repo::insert(&mut s, &ws, evs, at).await?;
    s.commit().await?;
    Ok(with_etag(&t, StatusCode::CREATED))
}

/// `task.updated` with `changes`, and `task.completed` when it went from open to done.
pub fn updated_events(old: &Task, new: &Task) -> Vec<NewEvent> {
    let new_v = to_value(new);
    let changes = laneway_core::diff::changes(&to_value(old), &new_v);
    if changes.is_empty() {
        return vec![];
    }
    let mut data = new_v.clone();
    if let Some(o) = data.as_object_mut() {
        o.insert("changes".into(), json!(changes));
    }
    let mut out = vec![NewEvent::new(
        events::TASK_UPDATED,
        "task",
        new.id.to_string(),
        data,
    )];
    if new.completed && !old.completed {
        out.push(NewEvent::new(
            events::TASK_COMPLETED,
            "task",
            new.id.to_string(),
            new_v,
        ));
    }
    out
}

/// Writes a changed task and its events; a no-op change writes nothing.
pub async fn write_update(s: &mut Session, ws: &str, old: &Task, mut new: Task) -> ApiResult<Task> {
    new.updated_at = old.updated_at;
    if updated_events(old, &new).is_empty() {
        return Ok(new);
    }
    new.updated_at = now();
    let evs = updated_events(old, &new);
    tasks::update(s, ws, &new).await?;
    event_repo::insert(s, ws, evs, new.updated_at).await?;
    Ok(new)
}

/// Update a task
#[utoipa::path(
    patch,
    path = "/records/tasks/{id}",
    tag = "tasks",
    security(("bearer" = ["write"])),
    params(("id" = String, Path, description = "Task id (UUID)")),
    request_body = TaskPatch,
    responses((status = 200, description = "The task after the change", body = Envelope<Task>))
)]
async fn update_task(
    State(state): State<AppState>,
    auth: Writer,
    PathId(id): PathId,
    headers: HeaderMap,
    Json(body): Json<TaskPatch>,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Task")?;
    let ws = auth.ws().to_string();
    let mut s = state.db.write().await?;
    let old = tasks::get_for_update(&mut s, &ws, id)
        .await
        .map_err(|e| not_found_as(e, "Task", id))?;
    check_if_match(&headers, &old)?;
    let mut new = old.clone();
    match body.title {
        Some(Some(t)) => new.title = required_text("title", &t, MAX_TITLE)?,
        Some(None) => return Err(ApiError::invalid("title", "'title' cannot be null")),
        None => {}
    }
    match body.completed {
        Some(Some(c)) => {
            if c && !old.completed {
                new.completed_at = Some(now());
            } else if !c {
                new.completed_at = None;
            }
            new.completed = c;
        }
        Some(None) => {
            return Err(ApiError::invalid(
                "completed",
                "'completed' must be true or false",
            ))
        }
        None => {}
    }
    match body.assignee_id {
        Some(Some(a)) => {
            check_assignee(&mut s, &ws, a).await?;
            new.assignee_id = Some(a);
        }
        Some(None) => new.assignee_id = None,
        None => {}
    }
    match body.record_id {
        Some(Some(r)) => {
            check_record(&mut s, &ws, r).await?;
            new.record_id = Some(r);
        }
        Some(None) => new.record_id = None,
        None => {}
    }
    match body.due_date {
        Some(Some(d)) => new.due_date = Some(check_due(&d)?),
        Some(None) => new.due_date = None,
        None => {}
    }
    if let Some(n) = body.notes {
        new.notes = n.map(|v| bounded_text("notes", v, MAX_NOTES)).transpose()?;
    }
    let new = write_update(&mut s, &ws, &old, new).await?;
    s.commit().await?;
    Ok(with_etag(&new, StatusCode::OK))
}

/// Delete a task
#[utoipa::path(
    delete,
    path = "/records/tasks/{id}",
    tag = "tasks",
    security(("bearer" = ["write"])),
    params(("id" = String, Path, description = "Task id (UUID)")),
    responses((status = 200, description = "Deleted", body = Envelope<Deleted<String>>))
)]
async fn delete_task(
    State(state): State<AppState>,
    auth: Writer,
    PathId(id): PathId,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Task")?;
    let ws = auth.ws().to_string();
    let mut s = state.db.write().await?;
    let old = tasks::get_for_update(&mut s, &ws, id)
        .await
        .map_err(|e| not_found_as(e, "Task", id))?;
    check_if_match(&headers, &old)?;
    let at = now();
    let mut gone = old;
    gone.deleted_at = Some(at);
    gone.updated_at = at;
    tasks::update(&mut s, &ws, &gone).await?;
    event_repo::insert(
        &mut s,
        &ws,
        vec![NewEvent::new(
            events::TASK_DELETED,
            "task",
            id.to_string(),
            to_value(&gone),
        )],
        at,
    )
    .await?;
    s.commit().await?;
    Ok(deleted(id))
}
