//! The REST API under `/api/v1`: one module per resource, merged here, plus the layers every
//! request goes through (request id, tracing, body limit, panic guard) and JSON fallbacks.

mod comments;
mod contracts;
mod etag;
mod events;
mod forms;
mod idempotency;
mod keys;
pub mod listing;
mod me;
mod members;
pub(crate) mod notes;
pub mod openapi;
pub mod ratelimit;
pub mod members_checks {
    pub use super::members::{check_email, check_name};
}
mod records;
mod schema;
mod tasks;
mod webhooks;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde::Serialize;
use serde_json::Value;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::extract::PageParams;
use crate::state::AppState;

pub use etag::{check_if_match, with_etag};
pub use forms::shrink_submission_limits;
pub use keys::issue_key;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let body_limit = state.config.body_limit;
    let metrics = state.config.metrics;
    let api = Router::new()
        .merge(me::router())
        .merge(members::router())
        .merge(keys::router())
        .merge(schema::router())
        .merge(tasks::router())
        .merge(notes::router())
        .merge(comments::router())
        .merge(contracts::router())
        .merge(forms::router())
        .merge(records::router())
        .merge(events::router())
        .merge(webhooks::router())
        .merge(openapi::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    // Outermost first at run time: rate limit, then idempotency, then the handler.
    let api = api
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.limiter.clone(),
            ratelimit::layer,
        ));
    let mut app = Router::new()
        .merge(crate::health::router())
        .nest("/api/v1", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    if metrics {
        // Inside the request-id, trace and panic layers below, after routing: the matched
        // route template is known.
        app = app.layer(axum::middleware::from_fn(crate::metrics::track));
    }
    app.layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| {
                            let id = req
                                .extensions()
                                .get::<RequestId>()
                                .and_then(|id| id.header_value().to_str().ok())
                                .unwrap_or("-")
                                .to_string();
                            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
                        })
                        .on_response(LogResponse),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CatchPanicLayer::custom(|_| ApiError::internal().into_response()))
                .layer(DefaultBodyLimit::max(body_limit)),
        )
}

/// The access line of each response: info, or debug for the health probes
/// ([`crate::health::QuietLog`]), which load balancers poll every second.
#[derive(Clone, Copy)]
struct LogResponse;

impl<B> tower_http::trace::OnResponse<B> for LogResponse {
    fn on_response(
        self,
        response: &axum::http::Response<B>,
        latency: std::time::Duration,
        span: &tracing::Span,
    ) {
        let level = match response.extensions().get::<crate::health::QuietLog>() {
            Some(_) => Level::DEBUG,
            None => Level::INFO,
        };
        DefaultOnResponse::new()
            .level(level)
            .latency_unit(tower_http::LatencyUnit::Micros)
            .on_response(response, latency, span)
    }
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "Method not allowed on this route",
    )
}

/// The success envelope. A struct, not a `json!` map, so keys keep this order.
#[derive(Serialize, ToSchema)]
#[schema(description = "`{\"success\": true, \"data\": ...}`")]
struct Envelope<T> {
    /// Always `true`.
    success: bool,
    data: T,
}

#[derive(Serialize, ToSchema)]
struct PageMeta {
    /// How many items match, over all pages.
    total: i64,
    /// This page's number, from 1.
    page: u64,
    /// Items per page (default 50, at most 100).
    per_page: u64,
}

/// An offset-paginated list.
#[derive(Serialize, ToSchema)]
struct PageEnvelope<T> {
    /// Always `true`.
    success: bool,
    data: Vec<T>,
    meta: PageMeta,
}

/// The answer to a DELETE.
#[derive(Serialize, ToSchema)]
struct Deleted<I> {
    /// Always `true`.
    deleted: bool,
    /// The id of the deleted resource.
    id: I,
}

/// `{"success": true, "data": ...}` with 200.
pub fn ok<T: Serialize>(data: T) -> Response {
    (
        StatusCode::OK,
        axum::Json(Envelope {
            success: true,
            data,
        }),
    )
        .into_response()
}

/// `{"success": true, "data": ...}` with 201.
pub fn created<T: Serialize>(data: T) -> Response {
    (
        StatusCode::CREATED,
        axum::Json(Envelope {
            success: true,
            data,
        }),
    )
        .into_response()
}

/// An offset-paginated list: `{"success": true, "data": [...], "meta": {total, page, per_page}}`.
pub fn page<T: Serialize>(data: Vec<T>, total: i64, p: PageParams) -> Response {
    axum::Json(PageEnvelope {
        success: true,
        data,
        meta: PageMeta {
            total,
            page: p.page,
            per_page: p.per_page,
        },
    })
    .into_response()
}

/// `{"deleted": true, "id": ..}`, the Kanvo delete answer.
pub fn deleted<I: Serialize>(id: I) -> Response {
    ok(Deleted { deleted: true, id })
}

/// A trimmed text field that must not be blank and holds at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(ApiError::invalid(
            field,
            format!("'{field}' must not be empty"),
        ));
    }
    bounded_text(field, v.to_string(), max)
}

/// A text field kept as sent, of at most `max` characters.
pub fn bounded_text(field: &str, value: String, max: usize) -> Result<String, ApiError> {
    if value.chars().count() > max {
        return Err(ApiError::invalid(
            field,
            format!("'{field}' is longer than {max} characters"),
        ));
    }
    Ok(value)
}

/// A resource as JSON, for events and diffs.
pub fn to_value<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A path id that must be a UUID; anything else cannot exist, so it is a 404.
pub fn path_uuid(raw: &str, resource: &'static str) -> Result<uuid::Uuid, ApiError> {
    laneway_core::ids::parse_uuid(raw)
        .ok_or_else(|| ApiError::not_found(format!("{resource} '{raw}' not found")))
}
