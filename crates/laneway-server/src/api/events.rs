//! `GET /events`: the workspace's stored events, newest first (the outbox, readable), and
//! `GET /events/stream`: the same events as Server-Sent Events, as they commit.

use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use laneway_core::events::Event;
use laneway_store::repo::events::{self, EventQuery, Position};
use laneway_store::repo::keys;
use laneway_store::{Db, Session, StoreError, StoreResult};
use serde_json::json;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::openapi::PageQuery;
use super::records::not_found_as;
use super::{path_uuid, with_etag, Envelope, PageEnvelope};
use crate::auth::Reader;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Params, PathId};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events", get(list_events))
        .route("/events/stream", get(stream_events))
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
    let f = EventQuery {
        names: event_names(&q, ["event", "events"])?,
        ..Default::default()
    };
    let reg = events::registry();
    let ctx = super::listing::ctx(&state, &auth);
    let req = super::listing::ListRequest::parse(
        &q,
        "/api/v1/events",
        &reg,
        &ctx,
        "-timestamp",
        &state.cursor_key,
    )?;
    let mut s = state.db.read().await?;
    let page = events::list(&mut s, auth.ws(), &f, &reg, &ctx, &req.spec).await?;
    Ok(req.respond(page))
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

/// Events read per query of the stream.
const STREAM_BATCH: u64 = 500;
/// A comment line this often keeps proxies and clients from timing an idle stream out.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often a stream checks that its key is still valid (a revoked key's stream ends).
const KEY_RECHECK: Duration = Duration::from_secs(30);
/// First and longest wait before reading again after a database error.
const ERROR_BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));
/// First and longest wait before looking again at events held back by an older transaction.
const UNSETTLED_RETRY: (Duration, Duration) =
    (Duration::from_millis(5), Duration::from_millis(500));

/// Stream events
///
/// A Server-Sent Events stream (`text/event-stream`) of the workspace's events as they commit,
/// oldest first, each once. Every message has `id:` (an opaque position), `event:` (the event
/// name) and `data:` (the stored event as compact JSON: `id`, `event`, `workspace_id`,
/// `timestamp`, `data`); a comment line every 15 s keeps the connection alive.
///
/// Without `Last-Event-ID` the stream starts at the current end (only new events). To resume,
/// send the `id:` of the last message received in the `Last-Event-ID` header (browsers'
/// `EventSource` does so when it reconnects) or in `?last_event_id=`: the stream continues with
/// exactly the events after it. Events removed by retention since then are skipped. The stream
/// ends when the server shuts down or the key is revoked; clients reconnect and resume. Works
/// across several server processes on one PostgreSQL database.
#[utoipa::path(
    get,
    path = "/events/stream",
    tag = "events",
    security(("bearer" = ["read"])),
    params(
        ("events" = Option<String>, Query, description = "Comma-separated event names to keep, e.g. `record.created,task.completed` (alias: `event`)"),
        ("last_event_id" = Option<String>, Query, pattern = r"^([0-9]{1,18}-[0-9]{1,18})?$", description = "Resume after this message `id:` (for clients that cannot set headers; the header wins)"),
        ("Last-Event-ID" = Option<String>, Header, pattern = r"^([0-9]{1,18}-[0-9]{1,18})?$", description = "Resume after this message `id:` (`<tx>-<seq>`, as the stream sent it); empty starts with new events"),
    ),
    responses(
        (status = 200, description = "An endless `text/event-stream`: `id:` position, `event:` name, `data:` the event as JSON", content_type = "text/event-stream", body = String),
        (status = 400, description = "An unknown event name, or a `Last-Event-ID` this stream did not send", body = crate::error::ErrorBody),
    )
)]
async fn stream_events(
    State(state): State<AppState>,
    auth: Reader,
    q: Params,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let names = event_names(&q, ["events", "event"])?;
    let resume = resume_point(&headers, &q)?;
    let wake = state.db.events_changed();
    let mut s = state.db.read().await?;
    let head = events::head(&mut s, Some(auth.ws())).await?;
    drop(s);
    let (after, skip) = match resume {
        Some(p) if p <= head.position => (p, HashSet::new()),
        // Without a resume point, or past the end (a position this database did not send:
        // another server's, a restored backup), start at the end: only new events.
        _ => (head.position, head.committed.into_iter().collect()),
    };
    let tail = Tail {
        db: state.db.clone(),
        ws: auth.ws().to_string(),
        key_id: auth.key_id.clone(),
        names,
        after,
        skip,
        buf: VecDeque::new(),
        wake,
        stop: state.shutdown.clone(),
        key_checked: Instant::now(),
        _client: crate::metrics::StreamClient::connect(),
    };
    let stream = futures_util::stream::unfold(tail, Tail::next);
    let mut resp = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    // Reverse proxies (nginx) would otherwise buffer the stream.
    resp.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

/// The event names of `?event=` / `?events=` (comma-separated; the first of `params` present
/// wins), each checked against the canonical names: a 400 naming the parameter otherwise.
fn event_names(q: &Params, params: [&'static str; 2]) -> ApiResult<Vec<String>> {
    let Some((param, raw)) = params.into_iter().find_map(|p| q.string(p).map(|v| (p, v))) else {
        return Ok(vec![]);
    };
    let mut names = vec![];
    for n in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if !laneway_core::events::ALL.contains(&n) {
            return Err(ApiError::bad_request(
                "invalid_parameter",
                format!(
                    "Unknown event name '{n}'; valid names: {}",
                    laneway_core::events::ALL.join(", ")
                ),
            )
            .with_details(json!({ "parameter": param })));
        }
        if !names.iter().any(|m| m == n) {
            names.push(n.to_string());
        }
    }
    Ok(names)
}

/// The `Last-Event-ID` header, else `?last_event_id=`; empty counts as absent.
fn resume_point(headers: &HeaderMap, q: &Params) -> ApiResult<Option<Position>> {
    let bad = |shown: &str| {
        let shown: String = shown.chars().take(64).collect();
        ApiError::bad_request(
            "invalid_parameter",
            format!(
                "Invalid Last-Event-ID '{shown}': send the id: of the last event this stream \
                 sent, or omit it to start with new events"
            ),
        )
        .with_details(json!({ "parameter": "Last-Event-ID" }))
    };
    // An empty header is no header: the query parameter may still say where to resume.
    let raw = match headers.get("last-event-id").filter(|v| !v.is_empty()) {
        Some(v) => v.to_str().map_err(|_| bad("(not text)"))?.to_string(),
        None => q.get("last_event_id").unwrap_or("").to_string(),
    };
    if raw.is_empty() {
        return Ok(None);
    }
    Position::decode(&raw).map(Some).ok_or_else(|| bad(&raw))
}

/// One client's place in the log, and what it needs to follow it.
struct Tail {
    db: Db,
    ws: String,
    key_id: String,
    names: Vec<String>,
    /// The position of the last event handed to the client.
    after: Position,
    /// Events past the start that had committed before the client connected (see
    /// [`events::Head`]): not new, so not sent.
    skip: HashSet<Position>,
    buf: VecDeque<(Position, Event)>,
    wake: watch::Receiver<u64>,
    stop: CancellationToken,
    key_checked: Instant,
    /// Counts this stream in `laneway_event_stream_clients` until it ends.
    _client: crate::metrics::StreamClient,
}

/// What one look at the log found.
enum Look {
    Events(Vec<(Position, Event)>),
    /// Nothing readable yet, but events held back by an older running transaction.
    Unsettled,
    Nothing,
    KeyRevoked,
}

impl Tail {
    /// The next message, or `None` to end the stream (shutdown, key revoked).
    async fn next(mut self) -> Option<(Result<SseEvent, Infallible>, Tail)> {
        loop {
            if self.stop.is_cancelled() {
                return None;
            }
            if let Some((pos, e)) = self.buf.pop_front() {
                self.after = pos;
                if !self.skip.is_empty() && self.skip.remove(&pos) {
                    continue;
                }
                if let Some(msg) = message(pos, &e) {
                    return Some((Ok(msg), self));
                }
                continue;
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    /// Waits until events are readable and buffers them; false to end the stream. Database
    /// errors do not end it: they are logged and the read retried with backoff (the stream's
    /// keep-alives go on meanwhile), so a short outage only delays events.
    async fn fill(&mut self) -> bool {
        let mut unsettled_wait = UNSETTLED_RETRY.0;
        let mut error_wait = ERROR_BACKOFF.0;
        loop {
            // Seen before reading: a commit during the read wakes the wait below.
            self.wake.borrow_and_update();
            let wait = match self.look().await {
                Ok(Look::Events(batch)) => {
                    self.buf.extend(batch);
                    return true;
                }
                Ok(Look::KeyRevoked) => return false,
                Ok(Look::Nothing) => {
                    unsettled_wait = UNSETTLED_RETRY.0;
                    error_wait = ERROR_BACKOFF.0;
                    None
                }
                Ok(Look::Unsettled) => {
                    error_wait = ERROR_BACKOFF.0;
                    let d = unsettled_wait;
                    unsettled_wait = (unsettled_wait * 2).min(UNSETTLED_RETRY.1);
                    Some(d)
                }
                Err(e) => {
                    tracing::warn!(error = %e, workspace = %self.ws, retry_in = ?error_wait, "event stream cannot read events");
                    let d = error_wait;
                    error_wait = (error_wait * 2).min(ERROR_BACKOFF.1);
                    Some(d)
                }
            };
            let recheck = self.key_checked + KEY_RECHECK;
            let until = wait.map_or(recheck, |d| (Instant::now() + d).min(recheck));
            tokio::select! {
                _ = self.stop.cancelled() => return false,
                changed = self.wake.changed() => {
                    if changed.is_err() {
                        // The notifier is gone (the database is closing): poll instead.
                        tokio::time::sleep_until(until).await;
                    }
                }
                _ = tokio::time::sleep_until(until) => {}
            }
        }
    }

    async fn look(&mut self) -> StoreResult<Look> {
        let mut s = self.db.read().await?;
        if self.key_checked.elapsed() >= KEY_RECHECK {
            if !key_valid(&mut s, &self.ws, &self.key_id).await? {
                return Ok(Look::KeyRevoked);
            }
            self.key_checked = Instant::now();
        }
        let (ws, after) = (Some(self.ws.as_str()), Some(self.after));
        let batch = events::read_after(&mut s, ws, after, &self.names, STREAM_BATCH).await?;
        if !batch.is_empty() {
            return Ok(Look::Events(batch));
        }
        Ok(
            if events::unsettled(&mut s, ws, after, &self.names).await? {
                Look::Unsettled
            } else {
                Look::Nothing
            },
        )
    }
}

async fn key_valid(s: &mut Session, ws: &str, key_id: &str) -> StoreResult<bool> {
    match keys::get(s, ws, key_id).await {
        Ok(k) => Ok(k.revoked_at.is_none()),
        Err(StoreError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// One SSE message: `id:` position, `event:` name, `data:` the event as compact JSON.
fn message(pos: Position, e: &Event) -> Option<SseEvent> {
    let data = match serde_json::to_string(e) {
        Ok(d) => d,
        Err(err) => {
            tracing::error!(error = %err, event = %e.id, "cannot serialise event for the stream");
            return None;
        }
    };
    let mut msg = SseEvent::default().id(pos.encode());
    // Names come from our own list, but a line break would corrupt the stream (and panic).
    if !e.event.contains(['\r', '\n']) {
        msg = msg.event(&e.event);
    }
    Some(msg.data(data))
}
