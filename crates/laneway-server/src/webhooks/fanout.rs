//! Fan-out: committed events become deliveries, once per (webhook, event).
//!
//! One transaction reads the next events after the stored position, creates a delivery for
//! every webhook that matched when each event committed, and moves the position on. On
//! PostgreSQL the position row is locked (`FOR UPDATE SKIP LOCKED`), so one process fans out at
//! a time and the others skip; the unique (webhook, event) index makes a repeated fan-out
//! harmless anyway.

use std::collections::HashMap;

use laneway_core::filter::{self, EvalCtx};
use laneway_core::ids::new_id;
use laneway_core::time::Zone;
use laneway_core::time::{now, Timestamp};
use laneway_core::webhook::{subscribed, DeliveryStatus};
use laneway_store::repo::events::LogEntry;
use laneway_store::repo::webhooks::{self as repo, NewDelivery, WebhookRow};
use laneway_store::{Db, Session, StoreResult};
use time::{Date, Month};

use crate::config::WebhookConfig;

/// Events read per fan-out transaction.
pub const BATCH: u64 = 500;

/// What one fan-out pass did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Pass {
    /// Events read.
    pub events: usize,
    /// Deliveries created.
    pub created: u64,
    /// Another process holds the fan-out.
    pub busy: bool,
}

/// Fans out the next batch of events.
pub async fn pass(db: &Db, cfg: &WebhookConfig) -> StoreResult<Pass> {
    let mut s = db.write().await?;
    let Some(pos) = repo::fanout_position(&mut s).await? else {
        return Ok(Pass {
            busy: true,
            ..Pass::default()
        });
    };
    let entries = laneway_store::repo::events::read_log(&mut s, Some(pos), BATCH).await?;
    let Some(last) = entries.last().map(|e| e.position) else {
        return Ok(Pass::default());
    };
    let at = now();
    let mut hooks: HashMap<String, Vec<Prepared>> = HashMap::new();
    let mut used: HashMap<String, i64> = HashMap::new();
    let mut zones: HashMap<String, Zone> = HashMap::new();
    let mut rows = Vec::new();
    for e in &entries {
        let ws = e.event.workspace_id.clone();
        if !hooks.contains_key(&ws) {
            let list = repo::all_of(&mut s, &ws).await?;
            if list.iter().any(|h| h.hook.filter.is_some()) {
                let tz = laneway_store::repo::workspaces::get(&mut s, &ws)
                    .await
                    .ok()
                    .and_then(|w| Zone::named(&w.time_zone))
                    .unwrap_or_else(Zone::utc);
                zones.insert(ws.clone(), tz);
            }
            hooks.insert(ws.clone(), list.into_iter().map(Prepared::new).collect());
        }
        let candidates = &hooks[&ws];
        if candidates.is_empty() {
            continue;
        }
        let payload = super::payload(&e.event);
        for h in candidates {
            if h.row.hook.created_at > e.event.timestamp
                || !subscribed(&h.row.hook.events, &e.event.event)
            {
                continue;
            }
            let zone = zones.get(&ws).cloned().unwrap_or_else(Zone::utc);
            if !in_scope(&mut s, h, e).await? || !h.passes(e, &zone) {
                continue;
            }
            let mut status = if h.row.hook.is_active {
                DeliveryStatus::Pending
            } else {
                DeliveryStatus::Paused
            };
            if cfg.max_deliveries_per_month > 0 {
                let n = match used.get(&ws) {
                    Some(n) => *n,
                    None => repo::deliveries_since(&mut s, &ws, month_start(at)).await?,
                };
                if n >= cfg.max_deliveries_per_month as i64 {
                    status = DeliveryStatus::QuotaExceeded;
                }
                used.insert(ws.clone(), n + 1);
            }
            rows.push(NewDelivery {
                id: new_id(),
                workspace_id: ws.clone(),
                webhook_id: h.row.hook.id.clone(),
                event_id: e.event.id,
                event: e.event.event.clone(),
                resource_key: format!("{}:{}", e.resource_type, e.resource_id),
                payload: payload.clone(),
                status,
                due_at: at,
                created_at: at,
                attempts: 0,
                lease_token: None,
            });
        }
    }
    let created = repo::insert_deliveries(&mut s, &rows).await?;
    repo::set_fanout_position(&mut s, last).await?;
    s.commit().await?;
    let fanned = now();
    let lag = metrics::histogram!(crate::metrics::FANOUT_LAG);
    for e in &entries {
        lag.record(secs_between(e.event.timestamp, fanned));
    }
    Ok(Pass {
        events: entries.len(),
        created,
        busy: false,
    })
}

/// Seconds from `a` to `b`, 0 when the clock went back.
pub(crate) fn secs_between(a: Timestamp, b: Timestamp) -> f64 {
    (b - a).as_seconds_f64().max(0.0)
}

/// The first instant of the UTC month of `t` (the quota's period).
fn month_start(t: Timestamp) -> Timestamp {
    let d = Date::from_calendar_date(t.year(), t.month(), 1)
        .unwrap_or_else(|_| Date::from_calendar_date(1970, Month::January, 1).expect("valid"));
    d.midnight().assume_utc()
}

/// A webhook with its filter parsed once per pass.
struct Prepared {
    row: WebhookRow,
    /// `Err` when a stored filter no longer parses: nothing matches it (never happens for a
    /// filter checked at registration by this version).
    filter: Option<Result<filter::Expr, ()>>,
}

impl Prepared {
    fn new(row: WebhookRow) -> Prepared {
        let filter = row
            .hook
            .filter
            .as_deref()
            .map(|f| filter::parse_str(f).map_err(|_| ()));
        Prepared { row, filter }
    }

    fn passes(&self, e: &LogEntry, zone: &Zone) -> bool {
        match &self.filter {
            None => true,
            Some(Err(())) => false,
            Some(Ok(expr)) => {
                let Some(fields) = filter::resource_fields(&e.resource_type) else {
                    return false;
                };
                let ctx = EvalCtx {
                    now: e.event.timestamp,
                    zone: zone.clone(),
                    me: None,
                };
                filter::matches(expr, fields, &e.event.data, &ctx)
            }
        }
    }
}

/// The `pipeline_id` / `record_id` scope (Kanbert's project / client scoping), as it was
/// when the event was written (resolved now for events of older versions).
async fn in_scope(s: &mut Session, h: &Prepared, e: &LogEntry) -> StoreResult<bool> {
    if h.row.hook.record_id.is_none() && h.row.hook.pipeline_id.is_none() {
        return Ok(true);
    }
    let scope = match e.scope {
        Some(sc) => sc,
        None => {
            laneway_store::repo::events::scope_of(
                s,
                &e.resource_type,
                &e.resource_id,
                &e.event.data,
            )
            .await?
        }
    };
    if let Some(record) = h.row.hook.record_id {
        if scope.record != Some(record) {
            return Ok(false);
        }
    }
    if let Some(pipeline) = h.row.hook.pipeline_id {
        if scope.pipeline != Some(pipeline) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Fans out until every settled event is read (tools and tests; the engine does this on its
/// own). Gives up after `within`, returning whether it caught up.
pub async fn catch_up(db: &Db, cfg: &WebhookConfig, within: std::time::Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        match pass(db, cfg).await {
            Ok(p) if p.events == 0 && !p.busy && !pending(db).await => return true,
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "fan-out pass failed"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    false
}

/// Whether events after the fan-out position remain: readable now, or (PostgreSQL) committed
/// behind an older transaction still running.
async fn pending(db: &Db) -> bool {
    let Ok(mut s) = db.read().await else {
        return true;
    };
    let Ok(Some(pos)) = repo::peek_fanout_position(&mut s).await else {
        return true;
    };
    // Events the last pass could not read yet may have settled since: check both, or an
    // event held back during the pass and released just after would count as fanned out.
    let readable = laneway_store::repo::events::read_log(&mut s, Some(pos), 1)
        .await
        .map_or(true, |v| !v.is_empty());
    readable
        || laneway_store::repo::events::unsettled(&mut s, None, Some(pos), &[])
            .await
            .unwrap_or(true)
}
