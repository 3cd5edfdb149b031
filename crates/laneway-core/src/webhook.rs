//! Webhooks as the API shows them, the event names they subscribe to and the retry schedule
//! (spec webhooks.md). Signing lives in [`crate::webhook_sig`].

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::events;
use crate::time::{serde_ts, Timestamp};

/// A webhook as every response shows it. The secret is not part of it: it appears only in the
/// answers to create and rotate-secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Webhook {
    /// `wh_...`
    pub id: String,
    pub name: String,
    pub url: String,
    /// Canonical event names, `*` or `<entity>.*`.
    pub events: Vec<String>,
    /// The single subscribed event when there is exactly one (Kanbert clients read `event`).
    pub event: Option<String>,
    /// Only events about records of this pipeline (and its stages, and tasks on its records).
    pub pipeline_id: Option<Uuid>,
    /// Only events about this record (and tasks on it).
    pub record_id: Option<Uuid>,
    /// `pipeline_id` under its Kanbert name.
    pub project_id: Option<Uuid>,
    /// `record_id` under its Kanbert name.
    pub client_id: Option<Uuid>,
    /// A filters.md expression evaluated against each event's resource.
    pub filter: Option<String>,
    /// `none` or `per_resource`.
    pub ordering: Ordering,
    /// At most this many deliveries per second.
    pub rate_limit: Option<u32>,
    pub is_active: bool,
    /// Why the server disabled it (`null` while active or when disabled by a user).
    pub disabled_reason: Option<String>,
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_triggered_at: Option<Timestamp>,
    /// HTTP status of the last attempt (`null` when it got no response).
    pub last_status: Option<u16>,
    /// Consecutive failed attempts; any success resets it.
    pub failure_count: u32,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

/// Whether deliveries about one resource wait for each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Ordering {
    #[default]
    None,
    PerResource,
}

impl Ordering {
    pub fn as_str(self) -> &'static str {
        match self {
            Ordering::None => "none",
            Ordering::PerResource => "per_resource",
        }
    }
    pub fn parse(s: &str) -> Option<Ordering> {
        match s {
            "none" => Some(Ordering::None),
            "per_resource" => Some(Ordering::PerResource),
            _ => None,
        }
    }
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    InFlight,
    Succeeded,
    Failed,
    Paused,
    QuotaExceeded,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 6] = [
        DeliveryStatus::Pending,
        DeliveryStatus::InFlight,
        DeliveryStatus::Succeeded,
        DeliveryStatus::Failed,
        DeliveryStatus::Paused,
        DeliveryStatus::QuotaExceeded,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::InFlight => "in_flight",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Paused => "paused",
            DeliveryStatus::QuotaExceeded => "quota_exceeded",
        }
    }
    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
    /// No attempt will be made without a user asking (redeliver, recover).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeliveryStatus::Succeeded | DeliveryStatus::Failed | DeliveryStatus::QuotaExceeded
        )
    }
}

/// One event sent (or to be sent) to one webhook.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    /// Also the `X-Laneway-Delivery` and `webhook-id` header: the same on every attempt.
    pub id: Uuid,
    pub webhook_id: String,
    /// The event's id (the body's `id`).
    pub event_id: Uuid,
    pub event: String,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due (pending) or the current one's claim expires (in flight).
    #[serde(with = "serde_ts::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<Timestamp>,
    /// HTTP status of the last attempt.
    pub last_status: Option<u16>,
    /// How long the last attempt took, in milliseconds, until the response (or the error).
    pub last_duration_ms: Option<u64>,
    pub last_error: Option<String>,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// The exact body sent (detail view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub payload: Option<Value>,
    /// Every attempt, oldest first (detail view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_log: Option<Vec<Attempt>>,
}

/// One HTTP request of a delivery and what came back.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attempt {
    pub id: Uuid,
    /// 1 for the first attempt.
    pub attempt: u32,
    #[serde(with = "serde_ts")]
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    pub duration_ms: u64,
    /// `null` when no response came (timeout, connection or TLS error, refused address).
    pub status_code: Option<u16>,
    pub error: Option<String>,
    /// Response headers, names lower-case.
    #[schema(value_type = Option<Object>)]
    pub response_headers: Option<Value>,
    /// The first 1 KiB of the response body (lossy UTF-8).
    pub response_body: Option<String>,
}

/// Kanman names accepted for subscriptions, with their canonical equivalents.
const KANMAN: &[(&str, &str)] = &[
    ("board.created", "pipeline.created"),
    ("board.updated", "pipeline.updated"),
    ("board.deleted", "pipeline.deleted"),
    ("board.*", "pipeline.*"),
    ("project.created", "stage.created"),
    ("project.updated", "stage.updated"),
    ("project.deleted", "stage.deleted"),
    ("project.*", "stage.*"),
    ("task.moved", "record.moved"),
];

/// The entities of the canonical names (`record`, `task`, ...), each once.
fn entities() -> Vec<&'static str> {
    let mut v: Vec<&str> = Vec::new();
    for name in events::ALL {
        let e = name.split('.').next().unwrap_or(name);
        if !v.contains(&e) {
            v.push(e);
        }
    }
    v
}

/// Reads one subscription name into its canonical form: a canonical event name, `*`, or
/// `<entity>.*`; the Kanbert colon forms (`task:create` → `task.created`) and the Kanman names
/// (`board.*` → `pipeline.*`, `task.moved` → `record.moved`) are accepted. `None` if unknown.
pub fn canonical_pattern(raw: &str) -> Option<String> {
    let s = raw.trim();
    if s == "*" {
        return Some("*".into());
    }
    if let Some((_, canon)) = KANMAN.iter().find(|(k, _)| *k == s) {
        return Some((*canon).to_string());
    }
    if events::ALL.contains(&s) {
        return Some(s.to_string());
    }
    if let Some(entity) = s.strip_suffix(".*") {
        return entities().contains(&entity).then(|| s.to_string());
    }
    if let Some((entity, verb)) = s.split_once(':') {
        let past = match verb {
            "*" => return canonical_pattern(&format!("{entity}.*")),
            "create" => "created",
            "update" => "updated",
            "delete" => "deleted",
            "complete" => "completed",
            "sign" => "signed",
            "submit" => "submitted",
            "move" => "moved",
            _ => return None,
        };
        let name = format!("{entity}.{past}");
        return canonical_pattern(&name);
    }
    None
}

/// Every name a subscription may use, for error messages.
pub fn valid_patterns() -> Vec<String> {
    let mut v = vec!["*".to_string()];
    v.extend(entities().into_iter().map(|e| format!("{e}.*")));
    v.extend(events::ALL.iter().map(|s| s.to_string()));
    v
}

/// Whether an event name matches one of the (canonical) subscription patterns.
pub fn subscribed(patterns: &[String], event: &str) -> bool {
    patterns.iter().any(|p| {
        p == "*"
            || p == event
            || p.strip_suffix(".*")
                .is_some_and(|e| event.split('.').next() == Some(e))
    })
}

/// The default retry schedule: the wait before each attempt, the first being the initial one.
pub const DEFAULT_SCHEDULE: &str = "0s,5s,5m,30m,2h,5h,10h,10h";

/// Reads a duration such as `500ms`, `5s`, `5m`, `2h`, `1d` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let ms = match unit {
        "ms" => n,
        "" | "s" => n.checked_mul(1000)?,
        "m" => n.checked_mul(60_000)?,
        "h" => n.checked_mul(3_600_000)?,
        "d" => n.checked_mul(86_400_000)?,
        _ => return None,
    };
    Some(Duration::from_millis(ms))
}

/// Reads a comma-separated retry schedule (at least one entry, at most 50).
pub fn parse_schedule(s: &str) -> Result<Vec<Duration>, String> {
    let v: Option<Vec<Duration>> = s.split(',').map(parse_duration).collect();
    match v {
        Some(v) if !v.is_empty() && v.len() <= 50 => Ok(v),
        Some(_) => Err("a retry schedule has 1 to 50 entries".into()),
        None => Err(format!(
            "'{s}' is not a comma-separated list of durations such as {DEFAULT_SCHEDULE}"
        )),
    }
}

/// The wait after the `tries`-th failed attempt of a series (1-based), with ±20 % jitter so
/// the retries of many deliveries that failed together spread out; `None` once the schedule
/// is exhausted. `jitter` is a number in `[0, 1)`.
pub fn retry_wait(schedule: &[Duration], tries: u32, jitter: f64) -> Option<Duration> {
    let base = *schedule.get(tries as usize)?;
    let factor = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    Some(base.mul_f64(factor))
}

/// The wait honouring a `Retry-After` of a 429 or 503: at least the scheduled wait, at most an
/// hour more.
pub fn honour_retry_after(scheduled: Duration, retry_after: Option<Duration>) -> Duration {
    match retry_after {
        Some(ra) => ra.clamp(scheduled, scheduled + Duration::from_secs(3600)),
        None => scheduled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_names() {
        assert_eq!(
            canonical_pattern("task:create").as_deref(),
            Some("task.created")
        );
        assert_eq!(
            canonical_pattern("contact:update").as_deref(),
            Some("contact.updated")
        );
        assert_eq!(
            canonical_pattern("comment:create").as_deref(),
            Some("comment.created")
        );
        assert_eq!(
            canonical_pattern("company:delete").as_deref(),
            Some("company.deleted")
        );
        assert_eq!(canonical_pattern("board.*").as_deref(), Some("pipeline.*"));
        assert_eq!(
            canonical_pattern("project.updated").as_deref(),
            Some("stage.updated")
        );
        assert_eq!(
            canonical_pattern("task.moved").as_deref(),
            Some("record.moved")
        );
        assert_eq!(canonical_pattern("record.*").as_deref(), Some("record.*"));
        assert_eq!(canonical_pattern("*").as_deref(), Some("*"));
        assert_eq!(canonical_pattern("ping").as_deref(), Some("ping"));
        assert_eq!(canonical_pattern("comment:update"), None);
        assert_eq!(canonical_pattern("nope.*"), None);
        assert_eq!(canonical_pattern("record.created.x"), None);
        assert_eq!(canonical_pattern(""), None);
    }

    #[test]
    fn matching() {
        let p = vec!["record.*".to_string(), "task.completed".to_string()];
        assert!(subscribed(&p, "record.moved"));
        assert!(subscribed(&p, "task.completed"));
        assert!(!subscribed(&p, "task.created"));
        assert!(!subscribed(&p, "recordx.created"));
        assert!(subscribed(&["*".to_string()], "stage.deleted"));
    }

    #[test]
    fn schedules() {
        let s = parse_schedule(DEFAULT_SCHEDULE).unwrap();
        assert_eq!(s.len(), 8);
        assert_eq!(s[3], Duration::from_secs(1800));
        assert_eq!(retry_wait(&s, 1, 0.5), Some(Duration::from_secs(5)));
        assert_eq!(retry_wait(&s, 8, 0.5), None);
        let w = retry_wait(&s, 2, 0.0).unwrap();
        assert_eq!(w, Duration::from_secs(240));
        assert!(parse_schedule("5s,x").is_err());
        assert!(parse_schedule("").is_err());
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        let five = Duration::from_secs(5);
        assert_eq!(honour_retry_after(five, Some(Duration::from_secs(1))), five);
        assert_eq!(
            honour_retry_after(five, Some(Duration::from_secs(99_999))),
            Duration::from_secs(3605)
        );
        assert_eq!(
            honour_retry_after(five, Some(Duration::from_secs(60))),
            Duration::from_secs(60)
        );
    }
}
