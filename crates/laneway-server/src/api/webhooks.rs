//! `/webhooks`: registration and management, delivery history, test sends, redelivery and
//! recovery (spec webhooks.md, admin scope). The engine that sends is `crate::webhooks`.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use laneway_core::filter::{self, ResourceFields};
use laneway_core::ids::new_webhook_id;
use laneway_core::time::{now, parse_ts, Timestamp};
use laneway_core::webhook::{
    canonical_pattern, valid_patterns, Delivery, DeliveryStatus, Ordering, Webhook,
};
use laneway_core::webhook_sig::{generate_secret, SECRET_PREFIX};
use laneway_store::repo::webhooks::{self as repo, NewDelivery, NewWebhook, WebhookRow};
use laneway_store::repo::{records, schema};
use laneway_store::{Session, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use super::etag::{check_if_match, with_etag};
use super::openapi::PageQuery;
use super::{created, deleted, ok, Deleted, Envelope, PageEnvelope};
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::extract::{nullable, Json, Params, PathId};
use crate::state::AppState;
use crate::webhooks::ssrf::check_url;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/webhooks",
            get(list_webhooks)
                .post(create_webhook)
                .delete(delete_webhook_by_query),
        )
        .route(
            "/webhooks/{id}",
            get(get_webhook)
                .patch(update_webhook)
                .delete(delete_webhook),
        )
        .route("/webhooks/{id}/rotate-secret", post(rotate_secret))
        .route("/webhooks/{id}/test", post(test_webhook))
        .route("/webhooks/{id}/deliveries", get(list_deliveries))
        .route("/webhooks/{id}/deliveries/{delivery_id}", get(get_delivery))
        .route(
            "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
            post(redeliver),
        )
        .route("/webhooks/{id}/recover", post(recover))
}

/// `POST /webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// Absolute `https://` URL, at most 2048 characters, unique in the workspace: a host name
    /// or IPv4 address without credentials, an optional port, then any path, query and
    /// fragment, read as browsers read URLs. The host must resolve to public addresses
    /// (unless the server runs with `--allow-private-webhook-targets`, which also allows
    /// `http://`). The pattern leaves out IPv6 and internationalised hosts, also accepted.
    #[schema(
        max_length = 2048,
        pattern = r"^[\u0001-\u0020]*[Hh][Tt][Tt][Pp][Ss]:[/\\]*(?:(?:(?:[A-WYZa-wyz0-9_-][A-Za-z0-9_-]*|[Xx](?:[A-MO-Za-mo-z0-9_-][A-Za-z0-9_-]*|[Nn](?:[A-Za-z0-9_][A-Za-z0-9_-]*|-(?:[A-Za-z0-9_][A-Za-z0-9_-]*)?)?)?)\.)*(?:[A-WYZa-wyz_-][A-Za-z0-9_-]*|[Xx](?:[A-MO-Za-mo-z0-9_-][A-Za-z0-9_-]*|[Nn](?:[A-Za-z0-9_][A-Za-z0-9_-]*|-(?:[A-Za-z0-9_][A-Za-z0-9_-]*)?)?)?)\.?|(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})(?::0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])?)?(?:[/?#\\][^\u0000]*)?[\u0001-\u0020]*$"
    )]
    url: String,
    /// 1-100 event names: a canonical name (`record.created`, ...), `*`, `<entity>.*`, a Kanbert
    /// colon form (`task:create`) or a Kanman name (`board.*`, `task.moved`); surrounding
    /// whitespace is ignored. Either `events` or `event` is required, not both.
    #[serde(default)]
    #[schema(
        min_items = 1,
        max_items = 100,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:pipeline\.stage_changed|contract\.created|pipeline\.created|pipeline\.deleted|pipeline\.updated|webhook\.disabled|comment\.created|company\.created|company\.deleted|company\.updated|contact\.created|contact\.deleted|contact\.updated|contract\.signed|contract:create|pipeline:create|pipeline:delete|pipeline:update|project\.created|project\.deleted|project\.updated|comment:create|company:create|company:delete|company:update|contact:create|contact:delete|contact:update|form\.submitted|project:create|project:delete|project:update|record\.created|record\.deleted|record\.updated|task\.completed|board\.created|board\.deleted|board\.updated|contract:sign|record:create|record:delete|record:update|stage\.created|stage\.deleted|stage\.updated|task:complete|board:create|board:delete|board:update|note\.created|note\.deleted|note\.updated|record\.moved|stage:create|stage:delete|stage:update|task\.created|task\.deleted|task\.updated|form:submit|note:create|note:delete|note:update|record:move|task:create|task:delete|task:update|contract\.\*|contract:\*|pipeline\.\*|pipeline:\*|task\.moved|comment\.\*|comment:\*|company\.\*|company:\*|contact\.\*|contact:\*|project\.\*|project:\*|task:move|webhook\.\*|webhook:\*|record\.\*|record:\*|board\.\*|board:\*|stage\.\*|stage:\*|form\.\*|form:\*|note\.\*|note:\*|ping\.\*|ping:\*|task\.\*|task:\*|ping|\*)[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    events: Option<Vec<String>>,
    /// One event name instead of `events` (Kanbert form), as in `events`.
    #[serde(default)]
    #[schema(
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:pipeline\.stage_changed|contract\.created|pipeline\.created|pipeline\.deleted|pipeline\.updated|webhook\.disabled|comment\.created|company\.created|company\.deleted|company\.updated|contact\.created|contact\.deleted|contact\.updated|contract\.signed|contract:create|pipeline:create|pipeline:delete|pipeline:update|project\.created|project\.deleted|project\.updated|comment:create|company:create|company:delete|company:update|contact:create|contact:delete|contact:update|form\.submitted|project:create|project:delete|project:update|record\.created|record\.deleted|record\.updated|task\.completed|board\.created|board\.deleted|board\.updated|contract:sign|record:create|record:delete|record:update|stage\.created|stage\.deleted|stage\.updated|task:complete|board:create|board:delete|board:update|note\.created|note\.deleted|note\.updated|record\.moved|stage:create|stage:delete|stage:update|task\.created|task\.deleted|task\.updated|form:submit|note:create|note:delete|note:update|record:move|task:create|task:delete|task:update|contract\.\*|contract:\*|pipeline\.\*|pipeline:\*|task\.moved|comment\.\*|comment:\*|company\.\*|company:\*|contact\.\*|contact:\*|project\.\*|project:\*|task:move|webhook\.\*|webhook:\*|record\.\*|record:\*|board\.\*|board:\*|stage\.\*|stage:\*|form\.\*|form:\*|note\.\*|note:\*|ping\.\*|ping:\*|task\.\*|task:\*|ping|\*)[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    event: Option<String>,
    /// 1–100 characters once surrounding whitespace is trimmed; default: the URL's host.
    #[serde(default)]
    #[schema(
        min_length = 1,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,98}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    name: Option<String>,
    /// A custom signing secret, 16–128 characters without whitespace or control characters;
    /// one starting with `whsec_` must continue in standard, padded base64. Default: a
    /// generated `whsec_...`.
    #[serde(default)]
    #[schema(
        min_length = 16,
        max_length = 128,
        pattern = r"^(?:[^w\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]{15,127}|w[^h\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]{14,126}|wh[^s\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]{13,125}|whs[^e\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]{12,124}|whse[^c\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]{11,123}|whsec[^_\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]{10,122}|whsec_(?:[A-Za-z0-9+/]{4}){2,29}(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=|[A-Za-z0-9+/][AQgw]==))$"
    )]
    secret: Option<String>,
    #[serde(default)]
    is_active: Option<bool>,
    /// Only events about this pipeline's records, stages and the tasks on its records (UUID).
    #[serde(default)]
    pipeline_id: Option<Uuid>,
    /// Only events about this record and its tasks (UUID).
    #[serde(default)]
    record_id: Option<Uuid>,
    /// `pipeline_id` under its Kanbert name; if both are given they must be equal.
    #[serde(default)]
    project_id: Option<Uuid>,
    /// `record_id` under its Kanbert name; if both are given they must be equal.
    #[serde(default)]
    client_id: Option<Uuid>,
    /// A filters.md expression (string or JSON form) over the event's resource.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    filter: Option<Value>,
    #[serde(default)]
    ordering: Option<Ordering>,
    /// Deliveries per second at most, 1-10000; absent or `null`: no limit.
    #[serde(default, deserialize_with = "crate::extract::whole")]
    #[schema(minimum = 1, maximum = 10000)]
    rate_limit: Option<u32>,
}

/// `PATCH /webhooks/:id`: only the fields given change; `null` clears the nullable ones.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    /// As in `POST /webhooks`.
    #[serde(default)]
    #[schema(
        max_length = 2048,
        pattern = r"^[\u0001-\u0020]*[Hh][Tt][Tt][Pp][Ss]:[/\\]*(?:(?:(?:[A-WYZa-wyz0-9_-][A-Za-z0-9_-]*|[Xx](?:[A-MO-Za-mo-z0-9_-][A-Za-z0-9_-]*|[Nn](?:[A-Za-z0-9_][A-Za-z0-9_-]*|-(?:[A-Za-z0-9_][A-Za-z0-9_-]*)?)?)?)\.)*(?:[A-WYZa-wyz_-][A-Za-z0-9_-]*|[Xx](?:[A-MO-Za-mo-z0-9_-][A-Za-z0-9_-]*|[Nn](?:[A-Za-z0-9_][A-Za-z0-9_-]*|-(?:[A-Za-z0-9_][A-Za-z0-9_-]*)?)?)?)\.?|(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3})(?::0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])?)?(?:[/?#\\][^\u0000]*)?[\u0001-\u0020]*$"
    )]
    url: Option<String>,
    /// 1-100 event names: a canonical name (`record.created`, ...), `*`, `<entity>.*`, a Kanbert
    /// colon form (`task:create`) or a Kanman name (`board.*`, `task.moved`); surrounding
    /// whitespace is ignored. Not together with `event`.
    #[serde(default)]
    #[schema(
        min_items = 1,
        max_items = 100,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:pipeline\.stage_changed|contract\.created|pipeline\.created|pipeline\.deleted|pipeline\.updated|webhook\.disabled|comment\.created|company\.created|company\.deleted|company\.updated|contact\.created|contact\.deleted|contact\.updated|contract\.signed|contract:create|pipeline:create|pipeline:delete|pipeline:update|project\.created|project\.deleted|project\.updated|comment:create|company:create|company:delete|company:update|contact:create|contact:delete|contact:update|form\.submitted|project:create|project:delete|project:update|record\.created|record\.deleted|record\.updated|task\.completed|board\.created|board\.deleted|board\.updated|contract:sign|record:create|record:delete|record:update|stage\.created|stage\.deleted|stage\.updated|task:complete|board:create|board:delete|board:update|note\.created|note\.deleted|note\.updated|record\.moved|stage:create|stage:delete|stage:update|task\.created|task\.deleted|task\.updated|form:submit|note:create|note:delete|note:update|record:move|task:create|task:delete|task:update|contract\.\*|contract:\*|pipeline\.\*|pipeline:\*|task\.moved|comment\.\*|comment:\*|company\.\*|company:\*|contact\.\*|contact:\*|project\.\*|project:\*|task:move|webhook\.\*|webhook:\*|record\.\*|record:\*|board\.\*|board:\*|stage\.\*|stage:\*|form\.\*|form:\*|note\.\*|note:\*|ping\.\*|ping:\*|task\.\*|task:\*|ping|\*)[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    events: Option<Vec<String>>,
    /// One event name instead of `events`.
    #[serde(default)]
    #[schema(
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*(?:pipeline\.stage_changed|contract\.created|pipeline\.created|pipeline\.deleted|pipeline\.updated|webhook\.disabled|comment\.created|company\.created|company\.deleted|company\.updated|contact\.created|contact\.deleted|contact\.updated|contract\.signed|contract:create|pipeline:create|pipeline:delete|pipeline:update|project\.created|project\.deleted|project\.updated|comment:create|company:create|company:delete|company:update|contact:create|contact:delete|contact:update|form\.submitted|project:create|project:delete|project:update|record\.created|record\.deleted|record\.updated|task\.completed|board\.created|board\.deleted|board\.updated|contract:sign|record:create|record:delete|record:update|stage\.created|stage\.deleted|stage\.updated|task:complete|board:create|board:delete|board:update|note\.created|note\.deleted|note\.updated|record\.moved|stage:create|stage:delete|stage:update|task\.created|task\.deleted|task\.updated|form:submit|note:create|note:delete|note:update|record:move|task:create|task:delete|task:update|contract\.\*|contract:\*|pipeline\.\*|pipeline:\*|task\.moved|comment\.\*|comment:\*|company\.\*|company:\*|contact\.\*|contact:\*|project\.\*|project:\*|task:move|webhook\.\*|webhook:\*|record\.\*|record:\*|board\.\*|board:\*|stage\.\*|stage:\*|form\.\*|form:\*|note\.\*|note:\*|ping\.\*|ping:\*|task\.\*|task:\*|ping|\*)[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    event: Option<String>,
    /// 1–100 characters once surrounding whitespace is trimmed.
    #[serde(default)]
    #[schema(
        min_length = 1,
        pattern = r"^[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\u0000]{0,98}[^\u0000\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    name: Option<String>,
    /// `true` re-enables a disabled webhook (resets `failure_count`; paused deliveries are
    /// sent); `false` pauses it.
    #[serde(default)]
    is_active: Option<bool>,
    /// A UUID, as in `POST /webhooks`; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    pipeline_id: Option<Option<Uuid>>,
    /// A UUID, as in `POST /webhooks`; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    record_id: Option<Option<Uuid>>,
    /// A UUID, as in `POST /webhooks`; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    project_id: Option<Option<Uuid>>,
    /// A UUID, as in `POST /webhooks`; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    client_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Object>)]
    filter: Option<Option<Value>>,
    #[serde(default)]
    ordering: Option<Ordering>,
    /// 1-10000 deliveries per second; `null` removes the limit.
    #[serde(default, deserialize_with = "crate::extract::whole_nullable")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 10000)]
    rate_limit: Option<Option<u32>>,
}

/// A webhook with its signing secret: the answer to create and rotate-secret only.
#[derive(Serialize, ToSchema)]
struct WithSecret {
    #[serde(flatten)]
    hook: Webhook,
    /// The signing secret. Shown only here; store it now.
    secret: String,
    /// The same secret under the Kanbert name.
    signature_secret_key: String,
    /// Rotation: when the previous secret stops signing.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    previous_secret_expires_at: Option<String>,
}

fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Webhook '{id}' not found"))
}

fn missing(e: StoreError, id: &str) -> ApiError {
    match e {
        StoreError::NotFound => not_found(id),
        e => e.into(),
    }
}

/// Reads `events` / `event` into canonical patterns (deduplicated, in the order given).
fn read_events(events: Option<Vec<String>>, event: Option<String>) -> ApiResult<Vec<String>> {
    let (field, raw) = match (events, event) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "events",
                "give either 'events' (a list) or 'event' (one name), not both",
            ))
        }
        (Some(list), None) => ("events", list),
        (None, Some(one)) => ("event", vec![one]),
        (None, None) => {
            return Err(ApiError::invalid(
                "events",
                "'events' is required: a non-empty list of event names",
            ))
        }
    };
    if raw.is_empty() {
        return Err(ApiError::invalid(
            field,
            "'events' must name at least one event",
        ));
    }
    if raw.len() > 100 {
        return Err(ApiError::invalid(field, "'events' holds at most 100 names"));
    }
    let mut out: Vec<String> = Vec::new();
    for name in raw {
        let Some(c) = canonical_pattern(&name) else {
            return Err(ApiError::invalid(
                field,
                format!(
                    "unknown event '{}'; valid names: {}",
                    name.chars().take(100).collect::<String>(),
                    valid_patterns().join(", ")
                ),
            )
            .with_details(json!({"field": field, "value": name, "valid": valid_patterns()})));
        };
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

/// The resources whose events a subscription can receive, for checking its filter.
fn filterable_resources(events: &[String]) -> Vec<&'static ResourceFields> {
    let mut out: Vec<&'static ResourceFields> = Vec::new();
    let mut add = |r: &str| {
        if let Some(f) = filter::resource_fields(r) {
            if !out.iter().any(|x| std::ptr::eq(*x, f)) {
                out.push(f);
            }
        }
    };
    for e in events {
        if e == "*" {
            for r in [
                "record", "task", "pipeline", "stage", "note", "comment", "contract",
            ] {
                add(r);
            }
            continue;
        }
        let entity = e.split('.').next().unwrap_or("");
        match (entity, e.as_str()) {
            ("record" | "contact" | "company", _) | (_, "pipeline.stage_changed") => add("record"),
            ("pipeline", "pipeline.*") => {
                add("pipeline");
                add("record");
            }
            ("pipeline", _) => add("pipeline"),
            ("task", _) => add("task"),
            ("stage", _) => add("stage"),
            ("note", _) => add("note"),
            ("comment", _) => add("comment"),
            ("contract", _) => add("contract"),
            _ => {}
        }
    }
    out
}

/// Parses and checks a filter against the subscribed events' resources; returns its
/// canonical text.
fn read_filter(raw: &Value, events: &[String]) -> ApiResult<String> {
    let expr = match raw {
        Value::String(s) => filter::parse_str(s),
        Value::Object(_) | Value::Array(_) => filter::parse_json(&raw.to_string()),
        _ => {
            return Err(ApiError::invalid(
                "filter",
                "'filter' must be a filter expression (a string) or its JSON form (an object)",
            ))
        }
    }
    .map_err(|e| ApiError::invalid("filter", format!("'filter': {e}")))?;
    let resources = filterable_resources(events);
    if resources.is_empty() {
        return Err(ApiError::invalid(
            "filter",
            "'filter' applies to record, task, pipeline, stage, note, comment and contract events, and this webhook subscribes to none",
        ));
    }
    filter::check(&expr, &resources)
        .map_err(|e| ApiError::invalid("filter", format!("'filter': {e}")))?;
    Ok(filter::to_string(&expr))
}

fn read_name(name: Option<String>, url: &reqwest::Url) -> ApiResult<String> {
    let name = match name {
        Some(n) => n.trim().to_string(),
        None => url.host_str().unwrap_or("webhook").to_string(),
    };
    let n = name.chars().count();
    if n == 0 || n > 100 {
        return Err(ApiError::invalid(
            "name",
            "'name' must be 1 to 100 characters",
        ));
    }
    Ok(name)
}

fn read_secret(secret: Option<String>) -> ApiResult<String> {
    let Some(s) = secret else {
        return Ok(generate_secret());
    };
    let n = s.chars().count();
    if !(16..=128).contains(&n) {
        return Err(ApiError::invalid(
            "secret",
            "'secret' must be 16 to 128 characters",
        ));
    }
    if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ApiError::invalid(
            "secret",
            "'secret' must not contain spaces or control characters",
        ));
    }
    if let Some(rest) = s.strip_prefix(SECRET_PREFIX) {
        use base64::Engine;
        if base64::engine::general_purpose::STANDARD
            .decode(rest)
            .is_err()
        {
            return Err(ApiError::invalid(
                "secret",
                "a 'secret' starting with whsec_ must continue in base64 (Standard Webhooks); use another prefix for a free-form secret",
            ));
        }
    }
    Ok(s)
}

fn read_rate_limit(v: Option<u32>) -> ApiResult<Option<u32>> {
    match v {
        Some(0) => Err(ApiError::invalid(
            "rate_limit",
            "'rate_limit' must be at least 1 delivery per second (omit it for no limit)",
        )),
        Some(n) if n > 10_000 => Err(ApiError::invalid(
            "rate_limit",
            "'rate_limit' must be at most 10000 per second",
        )),
        v => Ok(v),
    }
}

/// One of two aliases (`pipeline_id` / `project_id`); both given and different is an error.
fn alias<T: PartialEq>(a: Option<T>, b: Option<T>, names: (&str, &str)) -> ApiResult<Option<T>> {
    match (a, b) {
        (Some(x), Some(y)) if x != y => Err(ApiError::invalid(
            names.0,
            format!(
                "'{}' and '{}' name the same scope; give one",
                names.0, names.1
            ),
        )),
        (Some(x), _) => Ok(Some(x)),
        (None, y) => Ok(y),
    }
}

async fn check_scope(
    s: &mut Session,
    ws: &str,
    pipeline: Option<Uuid>,
    record: Option<Uuid>,
) -> ApiResult<()> {
    if let Some(p) = pipeline {
        match schema::get_pipeline(s, ws, p).await {
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                return Err(ApiError::invalid(
                    "pipeline_id",
                    format!("'pipeline_id': pipeline '{p}' not found"),
                ))
            }
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(r) = record {
        if !records::exists_any(s, ws, r).await? {
            return Err(ApiError::invalid(
                "record_id",
                format!("'record_id': record '{r}' not found"),
            ));
        }
    }
    Ok(())
}

async fn checked_url(state: &AppState, raw: &str) -> ApiResult<reqwest::Url> {
    check_url(raw, state.config.webhooks.allow_private_targets)
        .await
        .map_err(|p| ApiError::invalid("url", p.0))
}

/// List webhooks
///
/// Filterable and sortable by `url`, `is_active`, `created_at`, `name`, `last_triggered_at`
/// (and filterable by `failure_count`, `last_status`, `ordering`, `disabled_reason`).
#[utoipa::path(
    get,
    path = "/webhooks",
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    params(PageQuery),
    responses((status = 200, description = "The workspace's webhooks", body = PageEnvelope<Webhook>))
)]
async fn list_webhooks(
    State(state): State<AppState>,
    auth: Admin,
    q: Params,
) -> ApiResult<Response> {
    let reg = repo::registry();
    let ctx = super::listing::ctx(&state, &auth);
    let req = super::listing::ListRequest::parse(
        &q,
        "/api/v1/webhooks",
        &reg,
        &ctx,
        "-created_at",
        &state.cursor_key,
    )?;
    let mut s = state.db.read().await?;
    let page = repo::list(&mut s, auth.ws(), &reg, &ctx, &req.spec).await?;
    Ok(req.respond(page))
}

/// Register a webhook
///
/// The answer carries the signing secret (`secret`, and `signature_secret_key` for Kanbert
/// clients): the only time it is shown.
#[utoipa::path(
    post,
    path = "/webhooks",
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    request_body = WebhookIn,
    responses((status = 201, description = "The new webhook and its secret", body = Envelope<WithSecret>))
)]
async fn create_webhook(
    State(state): State<AppState>,
    auth: Admin,
    Json(body): Json<WebhookIn>,
) -> ApiResult<Response> {
    let url = checked_url(&state, &body.url).await?;
    let events = read_events(body.events, body.event)?;
    let name = read_name(body.name, &url)?;
    let secret = read_secret(body.secret)?;
    let filter = body
        .filter
        .as_ref()
        .filter(|f| !f.is_null())
        .map(|f| read_filter(f, &events))
        .transpose()?;
    let rate_limit = read_rate_limit(body.rate_limit)?;
    let pipeline_id = alias(
        body.pipeline_id,
        body.project_id,
        ("pipeline_id", "project_id"),
    )?;
    let record_id = alias(body.record_id, body.client_id, ("record_id", "client_id"))?;
    let at = now();
    let hook = Webhook {
        id: new_webhook_id(),
        name,
        // Stored normalised (scheme and host lower-case, default port dropped), so the same
        // endpoint written two ways is one URL for uniqueness.
        url: url.to_string(),
        event: (events.len() == 1).then(|| events[0].clone()),
        events,
        pipeline_id,
        record_id,
        project_id: pipeline_id,
        client_id: record_id,
        filter,
        ordering: body.ordering.unwrap_or_default(),
        rate_limit,
        is_active: body.is_active.unwrap_or(true),
        disabled_reason: None,
        last_triggered_at: None,
        last_status: None,
        failure_count: 0,
        created_at: at,
        updated_at: at,
    };
    let mut s = state.db.write().await?;
    // Creates in one workspace take turns, so simultaneous ones cannot pass the limit together.
    s.lock_workspace(auth.ws(), laneway_store::WorkspaceLock::Webhooks)
        .await?;
    let max = state.config.webhooks.max_webhooks;
    if repo::count(&mut s, auth.ws()).await? >= i64::from(max) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "limit_exceeded",
            format!("This workspace already has the maximum of {max} webhooks; delete one first"),
        )
        .with_details(json!({"limit": max})));
    }
    if repo::url_taken(&mut s, auth.ws(), &hook.url, None).await? {
        return Err(ApiError::conflict(format!(
            "A webhook with url '{}' already exists in this workspace",
            hook.url
        ))
        .with_details(json!({"field": "url"})));
    }
    check_scope(&mut s, auth.ws(), pipeline_id, record_id).await?;
    repo::insert(
        &mut s,
        NewWebhook {
            hook: &hook,
            workspace_id: auth.ws(),
            secret: &secret,
        },
    )
    .await
    .map_err(|e| unique_url(e, &hook.url))?;
    s.commit().await.map_err(|e| unique_url(e, &hook.url))?;
    Ok(created(WithSecret {
        hook,
        signature_secret_key: secret.clone(),
        secret,
        previous_secret_expires_at: None,
    }))
}

/// A unique-index violation on the URL (two registrations racing) is the same 409.
fn unique_url(e: StoreError, url: &str) -> ApiError {
    match e {
        StoreError::Conflict(_) => ApiError::conflict(format!(
            "A webhook with url '{url}' already exists in this workspace"
        ))
        .with_details(json!({"field": "url"})),
        e => e.into(),
    }
}

/// Get a webhook
#[utoipa::path(
    get,
    path = "/webhooks/{id}",
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Webhook id (`wh_...`)")),
    responses((status = 200, description = "The webhook", body = Envelope<Webhook>))
)]
async fn get_webhook(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let mut s = state.db.read().await?;
    let row = repo::get(&mut s, auth.ws(), &id)
        .await
        .map_err(|e| missing(e, &id))?;
    Ok(with_etag(&row.hook, StatusCode::OK))
}

/// Update a webhook
///
/// `is_active: true` re-enables a disabled webhook: `failure_count` and `disabled_reason` are
/// cleared and its paused deliveries are sent. `is_active: false` pauses it: deliveries are
/// kept as `paused` until it is enabled again.
#[utoipa::path(
    patch,
    path = "/webhooks/{id}",
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Webhook id (`wh_...`)")),
    request_body = WebhookPatch,
    responses(
        (status = 200, description = "The webhook as it now is", body = Envelope<Webhook>),
        (status = 409, description = "Another webhook of the workspace has this URL", body = crate::error::ErrorBody),
    )
)]
async fn update_webhook(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
    headers: HeaderMap,
    Json(body): Json<WebhookPatch>,
) -> ApiResult<Response> {
    let url = match &body.url {
        Some(u) => Some(checked_url(&state, u).await?),
        None => None,
    };
    let events = match (body.events, body.event) {
        (None, None) => None,
        (e, one) => Some(read_events(e, one)?),
    };
    let rate_limit = body.rate_limit.map(read_rate_limit).transpose()?;
    let pipeline = alias(
        body.pipeline_id,
        body.project_id,
        ("pipeline_id", "project_id"),
    )?;
    let record = alias(body.record_id, body.client_id, ("record_id", "client_id"))?;

    let mut s = state.db.write().await?;
    let row = repo::get(&mut s, auth.ws(), &id)
        .await
        .map_err(|e| missing(e, &id))?;
    check_if_match(&headers, &row.hook)?;
    let mut h = row.hook.clone();
    if let Some(parsed) = &url {
        let raw = &parsed.to_string();
        if body.name.is_none() && h.name == row_host(&h.url) {
            // A name that was the default follows the URL's host.
            h.name = parsed.host_str().unwrap_or("webhook").to_string();
        }
        if *raw != h.url && repo::url_taken(&mut s, auth.ws(), raw, Some(&id)).await? {
            return Err(ApiError::conflict(format!(
                "A webhook with url '{raw}' already exists in this workspace"
            ))
            .with_details(json!({"field": "url"})));
        }
        h.url = raw.clone();
    }
    if let Some(n) = body.name {
        let n = n.trim().to_string();
        let c = n.chars().count();
        if c == 0 || c > 100 {
            return Err(ApiError::invalid(
                "name",
                "'name' must be 1 to 100 characters",
            ));
        }
        h.name = n;
    }
    if let Some(ev) = events {
        h.event = (ev.len() == 1).then(|| ev[0].clone());
        h.events = ev;
    }
    match body.filter {
        Some(Some(f)) if !f.is_null() => h.filter = Some(read_filter(&f, &h.events)?),
        Some(_) => h.filter = None,
        None => {
            // The subscription changed: the kept filter must still make sense for it.
            if let Some(f) = &h.filter {
                read_filter(&Value::String(f.clone()), &h.events)?;
            }
        }
    }
    if let Some(p) = pipeline {
        h.pipeline_id = p;
        h.project_id = p;
    }
    if let Some(r) = record {
        h.record_id = r;
        h.client_id = r;
    }
    check_scope(&mut s, auth.ws(), pipeline.flatten(), record.flatten()).await?;
    if let Some(o) = body.ordering {
        h.ordering = o;
    }
    if let Some(r) = rate_limit {
        h.rate_limit = r;
    }
    let at = now();
    let mut resumed = false;
    if let Some(active) = body.is_active {
        if active {
            // Re-enabling (or confirming): the failure streak starts over.
            if !h.is_active || h.failure_count > 0 {
                h.failure_count = 0;
            }
            if !h.is_active {
                resumed = true;
            }
            h.disabled_reason = None;
        } else if h.is_active {
            h.disabled_reason = None;
        }
        h.is_active = active;
    }
    h.updated_at = at;
    repo::update(&mut s, auth.ws(), &h)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => unique_url(e, &h.url),
            e => missing(e, &id),
        })?;
    if row.hook.is_active && !h.is_active {
        repo::move_deliveries(
            &mut s,
            &id,
            &[DeliveryStatus::Pending],
            DeliveryStatus::Paused,
            at,
        )
        .await?;
    }
    if resumed {
        repo::move_deliveries(
            &mut s,
            &id,
            &[DeliveryStatus::Paused],
            DeliveryStatus::Pending,
            at,
        )
        .await?;
    }
    s.commit().await.map_err(|e| unique_url(e, &h.url))?;
    if resumed {
        state.webhooks.wake.notify_one();
    }
    Ok(with_etag(&h, StatusCode::OK))
}

fn row_host(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default()
}

/// Delete a webhook
///
/// Its delivery history goes with it. Answers 204 No Content.
#[utoipa::path(
    delete,
    path = "/webhooks/{id}",
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Webhook id (`wh_...`)")),
    responses((status = 204, description = "Deleted"))
)]
async fn delete_webhook(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
    headers: HeaderMap,
) -> ApiResult<Response> {
    remove(&state, auth.ws(), &id, &headers).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Delete a webhook (Kanvo form)
///
/// `DELETE /webhooks?id=wh_...`, answering `{"success": true, "data": {"deleted": true, "id"}}`.
#[utoipa::path(
    delete,
    path = "/webhooks",
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    params(("id" = String, Query, min_length = 1, description = "Webhook id (`wh_...`)")),
    responses(
        (status = 200, description = "Deleted", body = Envelope<Deleted<String>>),
        (status = 404, description = "No such webhook in the caller's workspace", body = crate::error::ErrorBody),
    )
)]
async fn delete_webhook_by_query(
    State(state): State<AppState>,
    auth: Admin,
    q: Params,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let Some(id) = q.string("id").filter(|s| !s.is_empty()) else {
        return Err(ApiError::invalid(
            "id",
            "'id' is required: DELETE /webhooks?id=wh_... (or DELETE /webhooks/wh_...)",
        ));
    };
    remove(&state, auth.ws(), &id, &headers).await?;
    Ok(deleted(id))
}

async fn remove(state: &AppState, ws: &str, id: &str, headers: &HeaderMap) -> ApiResult<()> {
    let mut s = state.db.write().await?;
    let row = repo::get(&mut s, ws, id)
        .await
        .map_err(|e| missing(e, id))?;
    check_if_match(headers, &row.hook)?;
    if !repo::delete(&mut s, ws, id).await? {
        return Err(not_found(id));
    }
    s.commit().await?;
    Ok(())
}

/// How long the previous secret keeps signing after a rotation.
const ROTATION_WINDOW: time::Duration = time::Duration::hours(24);

/// Rotate a webhook's secret
///
/// Returns the new secret, once. For 24 hours both secrets sign every delivery: the new one in
/// `X-Laneway-Signature` and the old one in `X-Laneway-Signature-Previous`, and both in
/// `webhook-signature`.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/rotate-secret",
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Webhook id (`wh_...`)")),
    responses((status = 200, description = "The webhook and its new secret", body = Envelope<WithSecret>))
)]
async fn rotate_secret(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let mut s = state.db.write().await?;
    let row = repo::get(&mut s, auth.ws(), &id)
        .await
        .map_err(|e| missing(e, &id))?;
    let secret = generate_secret();
    let at = now();
    let until = at + ROTATION_WINDOW;
    repo::rotate_secret(&mut s, auth.ws(), &id, &secret, &row.secret, until, at)
        .await
        .map_err(|e| missing(e, &id))?;
    s.commit().await?;
    let mut hook = row.hook;
    hook.updated_at = at;
    Ok(ok(WithSecret {
        hook,
        signature_secret_key: secret.clone(),
        secret,
        previous_secret_expires_at: Some(laneway_core::time::format_ts(until)),
    }))
}

/// Send a test event
///
/// Sends a `ping` event to the webhook now (also while it is disabled, to check a fixed
/// endpoint before re-enabling it) and returns the delivery with its attempt. A test is one
/// attempt: it is not retried and does not count towards `failure_count`.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/test",
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Webhook id (`wh_...`)")),
    responses((status = 200, description = "The test delivery and its outcome", body = Envelope<Delivery>))
)]
async fn test_webhook(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
) -> ApiResult<Response> {
    let row: WebhookRow = {
        let mut s = state.db.read().await?;
        repo::get(&mut s, auth.ws(), &id)
            .await
            .map_err(|e| missing(e, &id))?
    };
    let at = now();
    let event = laneway_core::events::Event {
        id: laneway_core::ids::new_id(),
        event: "ping".into(),
        workspace_id: auth.ws().to_string(),
        timestamp: at,
        data: json!({"webhook_id": id, "message": "Test event from Laneway"}),
    };
    let payload = crate::webhooks::payload(&event);
    let delivery_id = laneway_core::ids::new_id();
    let token = laneway_core::ids::new_id();
    let lease_until = at + state.config.webhooks.lease();
    {
        let mut s = state.db.write().await?;
        repo::insert_deliveries(
            &mut s,
            &[NewDelivery {
                id: delivery_id,
                workspace_id: auth.ws().to_string(),
                webhook_id: id.clone(),
                event_id: event.id,
                event: "ping".into(),
                resource_key: format!("webhook:{id}"),
                payload: payload.clone(),
                status: DeliveryStatus::InFlight,
                due_at: lease_until,
                created_at: at,
                attempts: 1,
                lease_token: Some(token),
            }],
        )
        .await?;
        s.commit().await?;
    }
    let claimed = repo::Claimed {
        id: delivery_id,
        webhook_id: id.clone(),
        workspace_id: auth.ws().to_string(),
        event: "ping".into(),
        payload,
        attempt: 1,
        tries_before: 0,
        url: row.hook.url.clone(),
        secrets: row.signing_secrets(at),
        lease_token: token,
        created_at: at,
    };
    let mut outcome = crate::webhooks::deliver(&state.webhooks, &claimed).await;
    outcome.counts = false;
    outcome.retry_at = None;
    crate::webhooks::record(&state.db, &state.webhooks, &[outcome]).await?;
    let mut s = state.db.read().await?;
    let d = repo::get_delivery(&mut s, auth.ws(), &id, delivery_id).await?;
    Ok(ok(d))
}

async fn webhook_exists(state: &AppState, ws: &str, id: &str) -> ApiResult<WebhookRow> {
    let mut s = state.db.read().await?;
    repo::get(&mut s, ws, id).await.map_err(|e| missing(e, id))
}

/// List a webhook's deliveries
///
/// Newest first; the last 100 finished deliveries are kept per webhook (configurable), and
/// unfinished ones until they finish. Filterable by `status`, `event`, `created_at`,
/// `attempts`, `last_status`.
#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries",
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Webhook id (`wh_...`)"), PageQuery),
    responses((status = 200, description = "Deliveries, newest first", body = PageEnvelope<Delivery>))
)]
async fn list_deliveries(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
    q: Params,
) -> ApiResult<Response> {
    webhook_exists(&state, auth.ws(), &id).await?;
    let reg = repo::delivery_registry();
    let ctx = super::listing::ctx(&state, &auth);
    let path = format!("/api/v1/webhooks/{id}/deliveries");
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut status: Option<DeliveryStatus> = None;
    for (k, v) in q.pairs() {
        if k == "status" {
            status = Some(DeliveryStatus::parse(v).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_parameter",
                    format!(
                        "'status' must be one of {}",
                        DeliveryStatus::ALL.map(|d| d.as_str()).join(", ")
                    ),
                )
                .with_details(json!({"parameter": "status"}))
            })?);
        }
        pairs.push((k.clone(), v.clone()));
    }
    let req = super::listing::ListRequest::parse(
        &Params::from_pairs(pairs),
        &path,
        &reg,
        &ctx,
        "-created_at",
        &state.cursor_key,
    )?;
    let mut s = state.db.read().await?;
    let page = repo::list_deliveries(&mut s, auth.ws(), &id, status, &reg, &ctx, &req.spec).await?;
    Ok(req.respond(page))
}

/// `/webhooks/{id}/deliveries/{delivery_id}` path parameters.
struct DeliveryPath(String, Uuid);

impl<S: Send + Sync> FromRequestParts<S> for DeliveryPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let (id, delivery) =
            axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::not_found("No resource with this id"))?
                .0;
        let d = super::path_uuid(&delivery, "Delivery")?;
        Ok(DeliveryPath(id, d))
    }
}

/// Get a delivery
///
/// With the exact payload sent and every attempt: status code, time taken, error, response
/// headers and the first 1 KiB of the response body.
#[utoipa::path(
    get,
    path = "/webhooks/{id}/deliveries/{delivery_id}",
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    params(
        ("id" = String, Path, description = "Webhook id (`wh_...`)"),
        ("delivery_id" = Uuid, Path, description = "Delivery id"),
    ),
    responses((status = 200, description = "The delivery", body = Envelope<Delivery>))
)]
async fn get_delivery(
    State(state): State<AppState>,
    auth: Admin,
    DeliveryPath(id, delivery): DeliveryPath,
) -> ApiResult<Response> {
    webhook_exists(&state, auth.ws(), &id).await?;
    let mut s = state.db.read().await?;
    let d = repo::get_delivery(&mut s, auth.ws(), &id, delivery)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ApiError::not_found(format!("Delivery '{delivery}' not found")),
            e => e.into(),
        })?;
    Ok(ok(d))
}

/// Redeliver
///
/// Queues the delivery again, with the same delivery id and a fresh retry schedule (`paused`
/// while the webhook is disabled). 409 while it is in flight.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/deliveries/{delivery_id}/redeliver",
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    params(
        ("id" = String, Path, description = "Webhook id (`wh_...`)"),
        ("delivery_id" = Uuid, Path, description = "Delivery id"),
    ),
    responses((status = 200, description = "The queued delivery", body = Envelope<Delivery>))
)]
async fn redeliver(
    State(state): State<AppState>,
    auth: Admin,
    DeliveryPath(id, delivery): DeliveryPath,
) -> ApiResult<Response> {
    let mut s = state.db.write().await?;
    let row = repo::get(&mut s, auth.ws(), &id)
        .await
        .map_err(|e| missing(e, &id))?;
    let at = now();
    if !repo::requeue(&mut s, auth.ws(), &id, delivery, row.hook.is_active, at).await? {
        return match repo::get_delivery(&mut s, auth.ws(), &id, delivery).await {
            Ok(_) => Err(ApiError::conflict(format!(
                "Delivery '{delivery}' is being sent right now; redeliver it once the attempt finished"
            ))),
            Err(StoreError::NotFound) => Err(ApiError::not_found(format!(
                "Delivery '{delivery}' not found"
            ))),
            Err(e) => Err(e.into()),
        };
    }
    let d = repo::get_delivery(&mut s, auth.ws(), &id, delivery).await?;
    s.commit().await?;
    state.webhooks.wake.notify_one();
    Ok(ok(d))
}

/// `POST /webhooks/:id/recover`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverIn {
    /// RFC 3339 time (`2026-03-14T18:30:00Z`; any one ASCII character may separate the date
    /// and the time, and the instant must fall in the years 1-9999 UTC): failed deliveries
    /// created at or after it are queued again.
    #[schema(
        pattern = r"^(?:(?:(?:000[2-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)|0001-(?:01-(?:0[2-9]|[12][0-9]|3[01])|(?:0[2-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[3-9]|1[0-2])-(?:29|30)|(?:0[3578]|1[02])-31)|9999-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|10)-31)|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29)[\u0001-\u007f](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])|0001-01-01[\u0001-\u007f](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?(?:[Zz]|[+-]00:00|-(?:[01][0-9]|2[0-3]):[0-5][0-9])|9999-12-31[\u0001-\u007f](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?(?:[Zz]|[+-]00:00|\+(?:[01][0-9]|2[0-3]):[0-5][0-9]))$"
    )]
    since: String,
}

/// How many deliveries a recover queued.
#[derive(Debug, Serialize, ToSchema)]
struct Recovered {
    recovered: u64,
    #[schema(value_type = String, format = DateTime)]
    since: String,
}

/// Recover failed deliveries
///
/// Queues again every `failed` (and `quota_exceeded`) delivery of the webhook created since
/// `since`, each with a fresh retry schedule.
#[utoipa::path(
    post,
    path = "/webhooks/{id}/recover",
    tag = "webhooks",
    security(("bearer" = ["admin"])),
    params(("id" = String, Path, description = "Webhook id (`wh_...`)")),
    request_body = RecoverIn,
    responses((status = 200, description = "How many were queued", body = Envelope<Recovered>))
)]
async fn recover(
    State(state): State<AppState>,
    auth: Admin,
    PathId(id): PathId,
    Json(body): Json<RecoverIn>,
) -> ApiResult<Response> {
    let since: Timestamp = parse_ts(&body.since).ok_or_else(|| {
        ApiError::invalid(
            "since",
            "'since' must be an RFC 3339 time such as 2026-03-14T18:30:00Z",
        )
    })?;
    let mut s = state.db.write().await?;
    let row = repo::get(&mut s, auth.ws(), &id)
        .await
        .map_err(|e| missing(e, &id))?;
    let n = repo::recover(&mut s, auth.ws(), &id, since, row.hook.is_active, now()).await?;
    s.commit().await?;
    if n > 0 {
        state.webhooks.wake.notify_one();
    }
    Ok(ok(Recovered {
        recovered: n,
        since: laneway_core::time::format_ts(since),
    }))
}
