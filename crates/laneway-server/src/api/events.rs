//! `GET /events`: the workspace's stored events, newest first (the outbox, readable).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use laneway_core::events::Event;
use laneway_store::repo::events::{self, EventQuery};

use super::openapi::PageQuery;
use super::records::not_found_as;
use super::{page, path_uuid, with_etag, Envelope, PageEnvelope};
use crate::auth::Reader;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Params, PathId};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events", get(list_events))
        .route("/events/{id}", get(get_event))
}

/// List events
///
/// The workspace's stored events, newest first. `?event=record.created,task.completed`
/// narrows to those names.
#[utoipa::path(
    get,
    path = "/events",
    tag = "events",
    security(("bearer" = ["read"])),
    params(
        PageQuery,
        ("event" = Option<String>, Query, description = "Comma-separated event names to keep, e.g. `record.created,task.completed` (alias: `events`)"),
    ),
    responses((status = 200, description = "Events, newest first", body = PageEnvelope<Event>))
)]
async fn list_events(
    State(state): State<AppState>,
    auth: Reader,
    q: Params,
) -> ApiResult<Response> {
    let p = q.page()?;
    let mut f = EventQuery::default();
    if let Some(names) = q.string("event").or_else(|| q.string("events")) {
        for n in names.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if !laneway_core::events::ALL.contains(&n) {
                return Err(ApiError::bad_request(
                    "invalid_parameter",
                    format!(
                        "Unknown event name '{n}'; valid names: {}",
                        laneway_core::events::ALL.join(", ")
                    ),
                ));
            }
            f.names.push(n.to_string());
        }
    }
    let mut s = state.db.read().await?;
    let (items, total) = events::list(&mut s, auth.ws(), &f, p.window()).await?;
    Ok(page(items, total, p))
}

/// Get an event
#[utoipa::path(
    get,
    path = "/events/{id}",
    tag = "events",
    security(("bearer" = ["read"])),
    params(("id" = String, Path, description = "Event id (UUID)")),
    responses((status = 200, description = "The event", body = Envelope<Event>))
)]
async fn get_event(
    State(state): State<AppState>,
    auth: Reader,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let id = path_uuid(&id, "Event")?;
    let mut s = state.db.read().await?;
    let e = events::get(&mut s, auth.ws(), id)
        .await
        .map_err(|e| not_found_as(e, "Event", id))?;
    Ok(with_etag(&e, StatusCode::OK))
}
