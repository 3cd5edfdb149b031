//! Webhooks, their deliveries and attempts, and the fan-out position (spec webhooks.md).
//!
//! The delivery engine (laneway-server `webhooks`) drives these: the fan-out turns committed
//! events into delivery rows, the claim hands due deliveries to one process under a lease, and
//! the finish records an attempt and decides what comes next. Every step is one transaction.

use laneway_core::time::Timestamp;
use laneway_core::webhook::{Attempt, Delivery, DeliveryStatus, Ordering, Webhook};
use sea_query::{
    Alias, Cond, Expr, Func, LockBehavior, LockType, OnConflict, Order, Query, SelectStatement,
};
use serde_json::Value;
use uuid::Uuid;

use super::count_of;
use super::events::Position;
use crate::listing::{Ctx, Field, Kind, ListSpec, Listed, Registry};
use crate::row::Count;
use crate::tables::{
    WebhookAttempts as A, WebhookDeliveries as D, WebhookFanout as F, Webhooks as W,
};
use crate::{Backend, FromRow, GlobalLock, Row, Session, StoreError, StoreResult};

const WEBHOOK_COLUMNS: [W; 22] = [
    W::Id,
    W::WorkspaceId,
    W::Name,
    W::Url,
    W::Events,
    W::PipelineId,
    W::RecordId,
    W::Filter,
    W::Ordering,
    W::RateLimit,
    W::IsActive,
    W::DisabledReason,
    W::Secret,
    W::PreviousSecret,
    W::PreviousSecretUntil,
    W::LastTriggeredAt,
    W::LastStatus,
    W::FailureCount,
    W::RateWindowStart,
    W::RateWindowCount,
    W::CreatedAt,
    W::UpdatedAt,
];

fn u16_opt(v: Option<i64>) -> Option<u16> {
    v.and_then(|n| u16::try_from(n).ok())
}

impl FromRow for Webhook {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        let events: Vec<String> = serde_json::from_value(r.json("events")?)
            .map_err(|e| StoreError::Decode(format!("webhooks.events: {e}")))?;
        let ordering = r.string("ordering")?;
        let pipeline_id = r.uuid_opt("pipeline_id")?;
        let record_id = r.uuid_opt("record_id")?;
        Ok(Webhook {
            id: r.string("id")?,
            name: r.string("name")?,
            url: r.string("url")?,
            event: (events.len() == 1).then(|| events[0].clone()),
            events,
            pipeline_id,
            record_id,
            project_id: pipeline_id,
            client_id: record_id,
            filter: r.string_opt("filter")?,
            ordering: Ordering::parse(&ordering)
                .ok_or_else(|| StoreError::Decode(format!("ordering '{ordering}'")))?,
            rate_limit: r.i64_opt("rate_limit")?.and_then(|n| u32::try_from(n).ok()),
            is_active: r.bool("is_active")?,
            disabled_reason: r.string_opt("disabled_reason")?,
            last_triggered_at: r.ts_opt("last_triggered_at")?,
            last_status: u16_opt(r.i64_opt("last_status")?),
            failure_count: u32::try_from(r.i64("failure_count")?).unwrap_or(u32::MAX),
            created_at: r.ts("created_at")?,
            updated_at: r.ts("updated_at")?,
        })
    }
}

/// A webhook with what only the server sees: its workspace and secrets.
#[derive(Debug, Clone)]
pub struct WebhookRow {
    pub hook: Webhook,
    pub workspace_id: String,
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_secret_until`.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<Timestamp>,
}

impl FromRow for WebhookRow {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(WebhookRow {
            hook: Webhook::from_row(r)?,
            workspace_id: r.string("workspace_id")?,
            secret: r.string("secret")?,
            previous_secret: r.string_opt("previous_secret")?,
            previous_secret_until: r.ts_opt("previous_secret_until")?,
        })
    }
}

impl WebhookRow {
    /// The secrets that sign now, newest first.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<String> {
        let mut v = vec![self.secret.clone()];
        if let (Some(p), Some(until)) = (&self.previous_secret, self.previous_secret_until) {
            if until > now {
                v.push(p.clone());
            }
        }
        v
    }
}

fn select(ws: &str) -> SelectStatement {
    Query::select()
        .columns(WEBHOOK_COLUMNS)
        .from(W::Table)
        .and_where(Expr::col(W::WorkspaceId).eq(ws))
        .to_owned()
}

/// The filterable and sortable fields of webhooks.
pub fn registry() -> Registry {
    let mut r = Registry::new(
        "webhooks",
        vec![
            Field::col("id", Kind::Text),
            Field::col("name", Kind::Text),
            Field::col("url", Kind::Text),
            Field::col("is_active", Kind::Bool),
            Field::col("ordering", Kind::Enum(vec!["none", "per_resource"])).unsortable(),
            Field::col("failure_count", Kind::Number).unsortable(),
            Field::col("last_status", Kind::Number)
                .nullable()
                .unsortable(),
            Field::col("disabled_reason", Kind::Text)
                .nullable()
                .unsortable(),
            Field::col("created_at", Kind::Datetime),
            Field::col("updated_at", Kind::Datetime).unsortable(),
            Field::col("last_triggered_at", Kind::Datetime).nullable(),
        ],
    );
    r.id_text = true;
    r
}

pub async fn list(
    s: &mut Session,
    ws: &str,
    reg: &Registry,
    ctx: &Ctx,
    spec: &ListSpec,
) -> StoreResult<Listed<Webhook>> {
    crate::listing::run(s, select(ws), reg, ctx, spec).await
}

pub async fn get(s: &mut Session, ws: &str, id: &str) -> StoreResult<WebhookRow> {
    s.fetch_one(&select(ws).and_where(Expr::col(W::Id).eq(id)).to_owned())
        .await
}

/// Webhooks of a workspace (for the fan-out).
pub async fn all_of(s: &mut Session, ws: &str) -> StoreResult<Vec<WebhookRow>> {
    s.fetch_all(&select(ws).order_by(W::CreatedAt, Order::Asc).to_owned())
        .await
}

pub async fn count(s: &mut Session, ws: &str) -> StoreResult<i64> {
    Ok(s.fetch_one::<Count, _>(&count_of(&select(ws))).await?.0)
}

/// Whether another webhook of the workspace has this URL.
pub async fn url_taken(
    s: &mut Session,
    ws: &str,
    url: &str,
    except: Option<&str>,
) -> StoreResult<bool> {
    let mut q = select(ws).and_where(Expr::col(W::Url).eq(url)).to_owned();
    if let Some(id) = except {
        q.and_where(Expr::col(W::Id).ne(id));
    }
    Ok(s.fetch_one::<Count, _>(&count_of(&q)).await?.0 > 0)
}

/// Everything a new webhook is stored with.
pub struct NewWebhook<'a> {
    pub hook: &'a Webhook,
    pub workspace_id: &'a str,
    pub secret: &'a str,
}

fn events_json(events: &[String]) -> Value {
    Value::Array(events.iter().cloned().map(Value::String).collect())
}

pub async fn insert(s: &mut Session, n: NewWebhook<'_>) -> StoreResult<()> {
    let h = n.hook;
    let q = Query::insert()
        .into_table(W::Table)
        .columns([
            W::Id,
            W::WorkspaceId,
            W::Name,
            W::Url,
            W::Events,
            W::PipelineId,
            W::RecordId,
            W::Filter,
            W::Ordering,
            W::RateLimit,
            W::IsActive,
            W::Secret,
            W::FailureCount,
            W::CreatedAt,
            W::UpdatedAt,
        ])
        .values_panic([
            h.id.clone().into(),
            n.workspace_id.into(),
            h.name.clone().into(),
            h.url.clone().into(),
            events_json(&h.events).into(),
            h.pipeline_id.into(),
            h.record_id.into(),
            h.filter.clone().into(),
            h.ordering.as_str().into(),
            h.rate_limit.map(i64::from).into(),
            h.is_active.into(),
            n.secret.into(),
            0i64.into(),
            s.ts(h.created_at).into(),
            s.ts(h.updated_at).into(),
        ])
        .to_owned();
    s.execute(&q).await?;
    Ok(())
}

/// Stores the user-editable fields of `h` as they now are. Turning `is_active` on clears
/// `failure_count` and `disabled_reason`.
pub async fn update(s: &mut Session, ws: &str, h: &Webhook) -> StoreResult<()> {
    let q = Query::update()
        .table(W::Table)
        .value(W::Name, h.name.clone())
        .value(W::Url, h.url.clone())
        .value(W::Events, events_json(&h.events))
        .value(W::PipelineId, h.pipeline_id)
        .value(W::RecordId, h.record_id)
        .value(W::Filter, h.filter.clone())
        .value(W::Ordering, h.ordering.as_str())
        .value(W::RateLimit, h.rate_limit.map(i64::from))
        .value(W::IsActive, h.is_active)
        .value(W::DisabledReason, h.disabled_reason.clone())
        .value(W::FailureCount, i64::from(h.failure_count))
        .value(W::UpdatedAt, s.ts(h.updated_at))
        .and_where(Expr::col(W::WorkspaceId).eq(ws))
        .and_where(Expr::col(W::Id).eq(h.id.as_str()))
        .to_owned();
    if s.execute(&q).await? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Replaces the secret; the old one keeps signing until `until`.
pub async fn rotate_secret(
    s: &mut Session,
    ws: &str,
    id: &str,
    secret: &str,
    previous: &str,
    until: Timestamp,
    at: Timestamp,
) -> StoreResult<()> {
    let q = Query::update()
        .table(W::Table)
        .value(W::Secret, secret)
        .value(W::PreviousSecret, previous)
        .value(W::PreviousSecretUntil, s.ts(until))
        .value(W::UpdatedAt, s.ts(at))
        .and_where(Expr::col(W::WorkspaceId).eq(ws))
        .and_where(Expr::col(W::Id).eq(id))
        .to_owned();
    if s.execute(&q).await? == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn delete(s: &mut Session, ws: &str, id: &str) -> StoreResult<bool> {
    // Attempts go with their deliveries, deliveries with their webhook (ON DELETE CASCADE);
    // SQLite enforces that only with foreign keys on, so delete explicitly.
    let ids = Query::select()
        .column(D::Id)
        .from(D::Table)
        .and_where(Expr::col(D::WebhookId).eq(id))
        .and_where(Expr::col(D::WorkspaceId).eq(ws))
        .to_owned();
    s.execute(
        &Query::delete()
            .from_table(A::Table)
            .and_where(Expr::col(A::DeliveryId).in_subquery(ids))
            .to_owned(),
    )
    .await?;
    s.execute(
        &Query::delete()
            .from_table(D::Table)
            .and_where(Expr::col(D::WebhookId).eq(id))
            .and_where(Expr::col(D::WorkspaceId).eq(ws))
            .to_owned(),
    )
    .await?;
    let n = s
        .execute(
            &Query::delete()
                .from_table(W::Table)
                .and_where(Expr::col(W::WorkspaceId).eq(ws))
                .and_where(Expr::col(W::Id).eq(id))
                .to_owned(),
        )
        .await?;
    Ok(n > 0)
}

/// Sets the status of a webhook's deliveries in `from` to `to` (due `at`); returns how many.
pub async fn move_deliveries(
    s: &mut Session,
    webhook: &str,
    from: &[DeliveryStatus],
    to: DeliveryStatus,
    at: Timestamp,
) -> StoreResult<u64> {
    let q = Query::update()
        .table(D::Table)
        .value(D::Status, to.as_str())
        .value(D::DueAt, s.ts(at))
        .value(D::UpdatedAt, s.ts(at))
        .and_where(Expr::col(D::WebhookId).eq(webhook))
        .and_where(Expr::col(D::Status).is_in(from.iter().map(|d| d.as_str())))
        .to_owned();
    s.execute(&q).await
}

// ----- fan-out -----

/// Where the fan-out stands in the event log. On PostgreSQL the row stays locked until the
/// transaction ends, so one process fans out at a time; `None` when another process holds it.
pub async fn fanout_position(s: &mut Session) -> StoreResult<Option<Position>> {
    let mut q = Query::select()
        .columns([F::Tx, F::Seq])
        .from(F::Table)
        .and_where(Expr::col(F::Id).eq(1))
        .to_owned();
    if s.backend() == Backend::Postgres {
        q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    Ok(s.fetch_optional::<FanoutRow, _>(&q).await?.map(|r| r.0))
}

struct FanoutRow(Position);

impl FromRow for FanoutRow {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(FanoutRow(Position::from_parts(r.i64("tx")?, r.i64("seq")?)))
    }
}

pub async fn set_fanout_position(s: &mut Session, p: Position) -> StoreResult<()> {
    let (tx, seq) = p.parts();
    let q = Query::update()
        .table(F::Table)
        .value(F::Tx, tx)
        .value(F::Seq, seq)
        .and_where(Expr::col(F::Id).eq(1))
        .to_owned();
    s.execute(&q).await?;
    Ok(())
}

/// A delivery about to be created by the fan-out.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub id: Uuid,
    pub workspace_id: String,
    pub webhook_id: String,
    pub event_id: Uuid,
    pub event: String,
    /// `<resource_type>:<resource_id>`: deliveries with the same key keep their order for a
    /// webhook with `ordering: per_resource`.
    pub resource_key: String,
    /// The exact body to send.
    pub payload: String,
    pub status: DeliveryStatus,
    pub due_at: Timestamp,
    pub created_at: Timestamp,
    /// Attempts already made (1 for a test delivery created in flight).
    pub attempts: u32,
    pub lease_token: Option<Uuid>,
}

/// Creates deliveries, skipping any (webhook, event) pair that already has one. Returns how
/// many were created.
pub async fn insert_deliveries(s: &mut Session, rows: &[NewDelivery]) -> StoreResult<u64> {
    let mut n = 0;
    for chunk in rows.chunks(200) {
        let mut q = Query::insert()
            .into_table(D::Table)
            .columns([
                D::Id,
                D::WorkspaceId,
                D::WebhookId,
                D::EventId,
                D::Event,
                D::ResourceKey,
                D::Payload,
                D::Status,
                D::Attempts,
                D::DueAt,
                D::LeaseToken,
                D::CreatedAt,
                D::UpdatedAt,
            ])
            .on_conflict(
                OnConflict::columns([D::WebhookId, D::EventId])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        for d in chunk {
            q.values_panic([
                d.id.into(),
                d.workspace_id.clone().into(),
                d.webhook_id.clone().into(),
                d.event_id.into(),
                d.event.clone().into(),
                d.resource_key.clone().into(),
                d.payload.clone().into(),
                d.status.as_str().into(),
                i64::from(d.attempts).into(),
                s.ts(d.due_at).into(),
                d.lease_token.into(),
                s.ts(d.created_at).into(),
                s.ts(d.created_at).into(),
            ]);
        }
        n += s.execute(&q).await?;
    }
    Ok(n)
}

/// Deliveries a workspace created since `since` (the monthly quota).
pub async fn deliveries_since(s: &mut Session, ws: &str, since: Timestamp) -> StoreResult<i64> {
    let q = Query::select()
        .expr_as(Func::count(Expr::col(D::Seq)), Alias::new("n"))
        .from(D::Table)
        .and_where(Expr::col(D::WorkspaceId).eq(ws))
        .and_where(Expr::col(D::CreatedAt).gte(s.ts(since)))
        .to_owned();
    Ok(s.fetch_one::<Count, _>(&q).await?.0)
}

/// Deliveries of every workspace by status, for the metrics scrape (statuses without any are
/// left out).
pub async fn count_by_status(s: &mut Session) -> StoreResult<Vec<(DeliveryStatus, i64)>> {
    struct ByStatus(String, i64);
    impl FromRow for ByStatus {
        fn from_row(r: &dyn Row) -> StoreResult<Self> {
            Ok(ByStatus(r.string("status")?, r.i64("n")?))
        }
    }
    let q = Query::select()
        .column(D::Status)
        .expr_as(Func::count(Expr::col(D::Seq)), Alias::new("n"))
        .from(D::Table)
        .group_by_col(D::Status)
        .to_owned();
    let rows: Vec<ByStatus> = s.fetch_all(&q).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| DeliveryStatus::parse(&r.0).map(|st| (st, r.1)))
        .collect())
}

// ----- claims -----

/// A delivery handed to this process to send, with what sending needs.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub webhook_id: String,
    pub workspace_id: String,
    pub event: String,
    pub payload: String,
    /// The number of this attempt (1 for the first).
    pub attempt: u32,
    /// Attempts of the current series before this one (after a redeliver, a new series).
    pub tries_before: u32,
    pub url: String,
    pub secrets: Vec<String>,
    pub lease_token: Uuid,
    /// When the delivery was created (its event's fan-out), for the delivery latency metric.
    pub created_at: Timestamp,
}

struct Candidate {
    id: Uuid,
    webhook_id: String,
    workspace_id: String,
    event: String,
    payload: String,
    attempts: i64,
    series_start: i64,
    url: String,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<Timestamp>,
    rate_limit: Option<i64>,
    rate_window_start: Option<Timestamp>,
    rate_window_count: i64,
    created_at: Timestamp,
}

impl FromRow for Candidate {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(Candidate {
            id: r.uuid("id")?,
            webhook_id: r.string("webhook_id")?,
            workspace_id: r.string("workspace_id")?,
            event: r.string("event")?,
            payload: r.string("payload")?,
            attempts: r.i64("attempts")?,
            series_start: r.i64("series_start")?,
            url: r.string("url")?,
            secret: r.string("secret")?,
            previous_secret: r.string_opt("previous_secret")?,
            previous_secret_until: r.ts_opt("previous_secret_until")?,
            rate_limit: r.i64_opt("rate_limit")?,
            rate_window_start: r.ts_opt("rate_window_start")?,
            rate_window_count: r.i64("rate_window_count")?,
            created_at: r.ts("created_at")?,
        })
    }
}

struct InFlight(String, i64);

impl FromRow for InFlight {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(InFlight(r.string("webhook_id")?, r.i64("n")?))
    }
}

/// What a claim found.
#[derive(Debug, Default)]
pub struct ClaimResult {
    pub claimed: Vec<Claimed>,
    /// Due deliveries were left because their webhook's rate limit is used up for this second.
    pub throttled: bool,
}

/// Claims up to `limit` due deliveries of active webhooks — pending ones whose time has come
/// and in-flight ones whose lease expired (their process died) — leasing them until
/// `lease_until`. At most `concurrency` deliveries of one webhook are in flight at once, and a
/// webhook's `rate_limit` is kept, across every process (claims are serialised). With
/// `ordering: per_resource`, a delivery waits while an earlier one about the same resource is
/// unfinished.
pub async fn claim(
    s: &mut Session,
    now: Timestamp,
    lease_until: Timestamp,
    limit: u64,
    concurrency: u32,
) -> StoreResult<ClaimResult> {
    s.lock_global(GlobalLock::WebhookClaim).await?;
    let d = Alias::new("d");
    let w = Alias::new("w");
    let p = Alias::new("p");
    let live = [DeliveryStatus::Pending, DeliveryStatus::InFlight].map(|x| x.as_str());

    let busy_q = Query::select()
        .column(D::WebhookId)
        .expr_as(Func::count(Expr::col(D::Seq)), Alias::new("n"))
        .from(D::Table)
        .and_where(Expr::col(D::Status).eq(DeliveryStatus::InFlight.as_str()))
        .and_where(Expr::col(D::DueAt).gt(s.ts(now)))
        .group_by_col(D::WebhookId)
        .to_owned();
    let busy: Vec<InFlight> = s.fetch_all(&busy_q).await?;
    let full: Vec<String> = busy
        .iter()
        .filter(|b| b.1 >= i64::from(concurrency))
        .map(|b| b.0.clone())
        .collect();

    let earlier = Query::select()
        .expr(Expr::val(1))
        .from_as(D::Table, p.clone())
        .and_where(Expr::col((p.clone(), D::WebhookId)).equals((d.clone(), D::WebhookId)))
        .and_where(Expr::col((p.clone(), D::ResourceKey)).equals((d.clone(), D::ResourceKey)))
        .and_where(Expr::col((p.clone(), D::Seq)).lt(Expr::col((d.clone(), D::Seq))))
        .and_where(Expr::col((p.clone(), D::Status)).is_in([
            DeliveryStatus::Pending.as_str(),
            DeliveryStatus::InFlight.as_str(),
            DeliveryStatus::Paused.as_str(),
        ]))
        .to_owned();
    let window_start = now - time::Duration::seconds(1);
    let mut q = Query::select()
        .columns([
            (d.clone(), D::Id),
            (d.clone(), D::WebhookId),
            (d.clone(), D::WorkspaceId),
            (d.clone(), D::Event),
            (d.clone(), D::Payload),
            (d.clone(), D::Attempts),
            (d.clone(), D::SeriesStart),
            (d.clone(), D::CreatedAt),
        ])
        .columns([
            (w.clone(), W::Url),
            (w.clone(), W::Secret),
            (w.clone(), W::PreviousSecret),
            (w.clone(), W::PreviousSecretUntil),
            (w.clone(), W::RateLimit),
            (w.clone(), W::RateWindowStart),
            (w.clone(), W::RateWindowCount),
        ])
        .from_as(D::Table, d.clone())
        .and_where(Expr::col((d.clone(), D::Status)).is_in(live))
        .and_where(Expr::col((d.clone(), D::DueAt)).lte(s.ts(now)))
        .and_where(Expr::col((w.clone(), W::IsActive)).eq(true))
        .cond_where(
            Cond::any()
                .add(Expr::col((w.clone(), W::Ordering)).ne(Ordering::PerResource.as_str()))
                .add(Expr::exists(earlier).not()),
        )
        .cond_where(
            Cond::any()
                .add(Expr::col((w.clone(), W::RateLimit)).is_null())
                .add(Expr::col((w.clone(), W::RateWindowStart)).is_null())
                .add(Expr::col((w.clone(), W::RateWindowStart)).lte(s.ts(window_start)))
                .add(
                    Expr::col((w.clone(), W::RateWindowCount))
                        .lt(Expr::col((w.clone(), W::RateLimit))),
                ),
        )
        .order_by((d.clone(), D::DueAt), Order::Asc)
        .order_by((d.clone(), D::Seq), Order::Asc)
        .limit(limit.max(1) * 4)
        .to_owned();
    if !full.is_empty() {
        q.and_where(Expr::col((d.clone(), D::WebhookId)).is_not_in(full));
    }
    // `webhooks AS w`: sea-query's join takes a table, so alias it by hand.
    q = alias_join(q);
    let candidates: Vec<Candidate> = s.fetch_all(&q).await?;

    let mut in_flight: std::collections::HashMap<String, i64> =
        busy.into_iter().map(|b| (b.0, b.1)).collect();
    // Per rate-limited webhook: (window start, sent in the window, limit).
    let mut windows: std::collections::HashMap<String, (Timestamp, i64, i64)> = Default::default();
    let mut out = ClaimResult::default();
    let token = laneway_core::ids::new_id();
    for c in candidates {
        if out.claimed.len() as u64 >= limit {
            break;
        }
        let n = in_flight.entry(c.webhook_id.clone()).or_insert(0);
        if *n >= i64::from(concurrency) {
            continue;
        }
        if let Some(rl) = c.rate_limit {
            let w =
                windows
                    .entry(c.webhook_id.clone())
                    .or_insert_with(|| match c.rate_window_start {
                        Some(st) if st > window_start => (st, c.rate_window_count, rl),
                        _ => (now, 0, rl),
                    });
            if w.1 >= w.2 {
                out.throttled = true;
                continue;
            }
            w.1 += 1;
        }
        *n += 1;
        let mut secrets = vec![c.secret.clone()];
        if let (Some(p), Some(until)) = (&c.previous_secret, c.previous_secret_until) {
            if until > now {
                secrets.push(p.clone());
            }
        }
        out.claimed.push(Claimed {
            id: c.id,
            webhook_id: c.webhook_id,
            workspace_id: c.workspace_id,
            event: c.event,
            payload: c.payload,
            attempt: u32::try_from(c.attempts + 1).unwrap_or(u32::MAX),
            tries_before: u32::try_from((c.attempts - c.series_start).max(0)).unwrap_or(0),
            url: c.url,
            secrets,
            lease_token: token,
            created_at: c.created_at,
        });
    }
    for (id, (start, count, _)) in windows {
        let q = Query::update()
            .table(W::Table)
            .value(W::RateWindowStart, s.ts(start))
            .value(W::RateWindowCount, count)
            .and_where(Expr::col(W::Id).eq(id))
            .to_owned();
        s.execute(&q).await?;
    }
    if !out.claimed.is_empty() {
        let q = Query::update()
            .table(D::Table)
            .value(D::Status, DeliveryStatus::InFlight.as_str())
            .value(D::Attempts, Expr::col(D::Attempts).add(1))
            .value(D::DueAt, s.ts(lease_until))
            .value(D::LeaseToken, token)
            .value(D::UpdatedAt, s.ts(now))
            .and_where(Expr::col(D::Id).is_in(out.claimed.iter().map(|c| c.id)))
            .to_owned();
        s.execute(&q).await?;
    }
    Ok(out)
}

/// Rewrites `INNER JOIN "webhooks"` of the claim query as `INNER JOIN "webhooks" AS "w"`.
fn alias_join(mut q: SelectStatement) -> SelectStatement {
    q.join_as(
        sea_query::JoinType::InnerJoin,
        W::Table,
        Alias::new("w"),
        Expr::col((Alias::new("w"), W::Id)).equals((Alias::new("d"), D::WebhookId)),
    );
    q
}

/// When the next delivery of an active webhook falls due (pending or lease expiry).
pub async fn next_due(s: &mut Session) -> StoreResult<Option<Timestamp>> {
    let q = Query::select()
        .column(D::DueAt)
        .from(D::Table)
        .and_where(Expr::col(D::Status).is_in([
            DeliveryStatus::Pending.as_str(),
            DeliveryStatus::InFlight.as_str(),
        ]))
        .order_by(D::DueAt, Order::Asc)
        .limit(1)
        .to_owned();
    Ok(s.fetch_optional::<Due, _>(&q).await?.map(|d| d.0))
}

struct Due(Timestamp);

impl FromRow for Due {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(Due(r.ts("due_at")?))
    }
}

// ----- outcomes -----

/// The result of one attempt, to be recorded.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub delivery_id: Uuid,
    pub webhook_id: String,
    pub lease_token: Uuid,
    pub attempt: u32,
    pub started_at: Timestamp,
    pub duration_ms: u64,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub response_headers: Option<Value>,
    pub response_body: Option<String>,
    pub success: bool,
    /// 410 Gone: the receiver asks to be disabled.
    pub gone: bool,
    /// When to try again; `None` when the schedule is exhausted (or for a test send).
    pub retry_at: Option<Timestamp>,
    /// Counts towards `failure_count` and auto-disable (not for test sends).
    pub counts: bool,
    pub finished_at: Timestamp,
}

/// A webhook the finish disabled, for the `webhook.disabled` event.
#[derive(Debug, Clone)]
pub struct Disabled {
    pub workspace_id: String,
    pub hook: Webhook,
}

struct Health {
    failure_count: i64,
    is_active: bool,
}

impl FromRow for Health {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(Health {
            failure_count: r.i64("failure_count")?,
            is_active: r.bool("is_active")?,
        })
    }
}

/// Records attempts and moves their deliveries on (see [`finish_one`]), in as few statements
/// as the batch allows: one insert for every attempt, and for each webhook whose attempts all
/// succeeded one update of the webhook and one of its deliveries. Returns the webhooks this
/// disabled.
pub async fn finish(
    s: &mut Session,
    batch: &[Outcome],
    disable_after: u32,
) -> StoreResult<Vec<Disabled>> {
    insert_attempts(s, batch).await?;
    let mut by_hook: std::collections::BTreeMap<&str, Vec<&Outcome>> = Default::default();
    for o in batch {
        by_hook.entry(o.webhook_id.as_str()).or_default().push(o);
    }
    let mut disabled = Vec::new();
    for (hook, outcomes) in by_hook {
        if outcomes.iter().all(|o| o.success) {
            all_succeeded(s, hook, &outcomes).await?;
            continue;
        }
        for o in outcomes {
            if let Some(d) = finish_one(s, o, disable_after).await? {
                disabled.push(d);
            }
        }
    }
    Ok(disabled)
}

async fn insert_attempts(s: &mut Session, batch: &[Outcome]) -> StoreResult<()> {
    for chunk in batch.chunks(200) {
        let mut q = Query::insert()
            .into_table(A::Table)
            .columns([
                A::Id,
                A::DeliveryId,
                A::Attempt,
                A::StartedAt,
                A::DurationMs,
                A::StatusCode,
                A::Error,
                A::ResponseHeaders,
                A::ResponseBody,
            ])
            .to_owned();
        for o in chunk {
            q.values_panic([
                laneway_core::ids::new_id().into(),
                o.delivery_id.into(),
                i64::from(o.attempt).into(),
                s.ts(o.started_at).into(),
                i64::try_from(o.duration_ms).unwrap_or(i64::MAX).into(),
                o.status_code.map(i64::from).into(),
                o.error.clone().into(),
                o.response_headers.clone().into(),
                o.response_body.clone().into(),
            ]);
        }
        s.execute(&q).await?;
    }
    Ok(())
}

/// `CASE id WHEN .. THEN duration .. END`: each delivery's own last duration in one update.
fn durations_case(outcomes: &[&&Outcome]) -> sea_query::SimpleExpr {
    let mut case = sea_query::CaseStatement::new();
    for o in outcomes {
        case = case.case(Expr::col(D::Id).eq(o.delivery_id), duration_ms(o));
    }
    case.finally(Expr::col(D::LastDurationMs)).into()
}

/// The common case: every attempt of the batch for this webhook succeeded.
async fn all_succeeded(s: &mut Session, hook: &str, outcomes: &[&Outcome]) -> StoreResult<()> {
    let Some(last) = outcomes.iter().max_by_key(|o| o.started_at) else {
        return Ok(());
    };
    let q = Query::update()
        .table(W::Table)
        .value(W::LastTriggeredAt, s.ts(last.started_at))
        .value(W::LastStatus, last.status_code.map(i64::from))
        .value(W::FailureCount, 0i64)
        .and_where(Expr::col(W::Id).eq(hook))
        .to_owned();
    s.execute(&q).await?;
    let finished = outcomes
        .iter()
        .map(|o| o.finished_at)
        .max()
        .unwrap_or(last.finished_at);
    // One update per status code (200, 201, 204 ...: usually one for all).
    let mut codes: Vec<Option<u16>> = outcomes.iter().map(|o| o.status_code).collect();
    codes.sort_unstable();
    codes.dedup();
    for code in codes {
        let same: Vec<&&Outcome> = outcomes.iter().filter(|o| o.status_code == code).collect();
        for chunk in same.chunks(200) {
            let q = Query::update()
                .table(D::Table)
                .value(D::Status, DeliveryStatus::Succeeded.as_str())
                .value(D::DueAt, s.ts(finished))
                .value(D::LeaseToken, Option::<Uuid>::None)
                .value(D::LastStatusCode, code.map(i64::from))
                .value(D::LastDurationMs, durations_case(chunk))
                .value(D::LastError, Option::<String>::None)
                .value(D::UpdatedAt, s.ts(finished))
                .and_where(Expr::col(D::Id).is_in(chunk.iter().map(|o| o.delivery_id)))
                // Only deliveries still held by these claims (not taken over meanwhile).
                .and_where(Expr::col(D::LeaseToken).is_in(chunk.iter().map(|o| o.lease_token)))
                .to_owned();
            s.execute(&q).await?;
        }
    }
    Ok(())
}

/// Moves one delivery on after its attempt (already recorded): succeeded; pending again at
/// `retry_at`; failed when the schedule is exhausted; paused when its webhook is (or is now)
/// disabled. Disables the webhook at `disable_after` consecutive failures or on a 410, and
/// returns it then. A delivery whose lease was taken over by another process keeps the other
/// process's state.
async fn finish_one(
    s: &mut Session,
    o: &Outcome,
    disable_after: u32,
) -> StoreResult<Option<Disabled>> {
    let failure = if o.success {
        Expr::val(0i64).into()
    } else if o.counts {
        Expr::col(W::FailureCount).add(1)
    } else {
        Expr::col(W::FailureCount).into()
    };
    let q = Query::update()
        .table(W::Table)
        .value(W::LastTriggeredAt, s.ts(o.started_at))
        .value(W::LastStatus, o.status_code.map(i64::from))
        .value(W::FailureCount, failure)
        .and_where(Expr::col(W::Id).eq(o.webhook_id.as_str()))
        .returning(Query::returning().columns([W::FailureCount, W::IsActive]))
        .to_owned();
    let Some(health) = s.fetch_optional::<Health, _>(&q).await? else {
        // The webhook was deleted meanwhile, and its deliveries with it.
        return Ok(None);
    };
    let mut disabled = None;
    let mut active = health.is_active;
    if !o.success && o.counts && health.is_active {
        let reason = if o.gone {
            Some("the endpoint answered 410 Gone".to_string())
        } else if health.failure_count >= i64::from(disable_after) {
            Some(format!(
                "{} consecutive failed attempts",
                health.failure_count
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            let q = Query::update()
                .table(W::Table)
                .value(W::IsActive, false)
                .value(W::DisabledReason, reason)
                .value(W::UpdatedAt, s.ts(o.finished_at))
                .and_where(Expr::col(W::Id).eq(o.webhook_id.as_str()))
                .and_where(Expr::col(W::IsActive).eq(true))
                .to_owned();
            if s.execute(&q).await? > 0 {
                active = false;
                move_deliveries(
                    s,
                    &o.webhook_id,
                    &[DeliveryStatus::Pending],
                    DeliveryStatus::Paused,
                    o.finished_at,
                )
                .await?;
                let row: WebhookRow = s
                    .fetch_one(
                        &Query::select()
                            .columns(WEBHOOK_COLUMNS)
                            .from(W::Table)
                            .and_where(Expr::col(W::Id).eq(o.webhook_id.as_str()))
                            .to_owned(),
                    )
                    .await?;
                disabled = Some(Disabled {
                    workspace_id: row.workspace_id,
                    hook: row.hook,
                });
            }
        }
    }
    let (status, due) = if o.success {
        (DeliveryStatus::Succeeded, o.finished_at)
    } else if !active && o.counts {
        (DeliveryStatus::Paused, o.finished_at)
    } else {
        match o.retry_at {
            Some(t) if active => (DeliveryStatus::Pending, t),
            Some(_) => (DeliveryStatus::Paused, o.finished_at),
            None => (DeliveryStatus::Failed, o.finished_at),
        }
    };
    let q = Query::update()
        .table(D::Table)
        .value(D::Status, status.as_str())
        .value(D::DueAt, s.ts(due))
        .value(D::LeaseToken, Option::<Uuid>::None)
        .value(D::LastStatusCode, o.status_code.map(i64::from))
        .value(D::LastDurationMs, duration_ms(o))
        .value(D::LastError, o.error.clone())
        .value(D::UpdatedAt, s.ts(o.finished_at))
        .and_where(Expr::col(D::Id).eq(o.delivery_id))
        .and_where(Expr::col(D::LeaseToken).eq(o.lease_token))
        .to_owned();
    s.execute(&q).await?;
    Ok(disabled)
}

// ----- history -----

fn duration_ms(o: &Outcome) -> i64 {
    i64::try_from(o.duration_ms).unwrap_or(i64::MAX)
}

const DELIVERY_COLUMNS: [D; 12] = [
    D::Id,
    D::WebhookId,
    D::EventId,
    D::Event,
    D::Status,
    D::Attempts,
    D::DueAt,
    D::LastStatusCode,
    D::LastDurationMs,
    D::LastError,
    D::CreatedAt,
    D::UpdatedAt,
];

impl FromRow for Delivery {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        let status = r.string("status")?;
        let status = DeliveryStatus::parse(&status)
            .ok_or_else(|| StoreError::Decode(format!("delivery status '{status}'")))?;
        let due = r.ts("due_at")?;
        Ok(Delivery {
            id: r.uuid("id")?,
            webhook_id: r.string("webhook_id")?,
            event_id: r.uuid("event_id")?,
            event: r.string("event")?,
            status,
            attempts: u32::try_from(r.i64("attempts")?).unwrap_or(u32::MAX),
            next_attempt_at: matches!(status, DeliveryStatus::Pending | DeliveryStatus::InFlight)
                .then_some(due),
            last_status: u16_opt(r.i64_opt("last_status_code")?),
            last_duration_ms: r
                .i64_opt("last_duration_ms")?
                .map(|d| u64::try_from(d).unwrap_or(0)),
            last_error: r.string_opt("last_error")?,
            created_at: r.ts("created_at")?,
            updated_at: r.ts("updated_at")?,
            payload: None,
            attempt_log: None,
        })
    }
}

struct Payload(String);

impl FromRow for Payload {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(Payload(r.string("payload")?))
    }
}

impl FromRow for Attempt {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        let headers = match r.string_opt("response_headers_text")? {
            Some(t) => serde_json::from_str(&t).ok(),
            None => None,
        };
        Ok(Attempt {
            id: r.uuid("id")?,
            attempt: u32::try_from(r.i64("attempt")?).unwrap_or(u32::MAX),
            started_at: r.ts("started_at")?,
            duration_ms: u64::try_from(r.i64("duration_ms")?).unwrap_or(0),
            status_code: u16_opt(r.i64_opt("status_code")?),
            error: r.string_opt("error")?,
            response_headers: headers,
            response_body: r.string_opt("response_body")?,
        })
    }
}

fn deliveries_of(ws: &str, webhook: &str) -> SelectStatement {
    Query::select()
        .columns(DELIVERY_COLUMNS)
        .from(D::Table)
        .and_where(Expr::col(D::WorkspaceId).eq(ws))
        .and_where(Expr::col(D::WebhookId).eq(webhook))
        .to_owned()
}

/// The filterable and sortable fields of deliveries.
pub fn delivery_registry() -> Registry {
    Registry::new(
        "webhook_deliveries",
        vec![
            Field::col("id", Kind::Id),
            Field::col("event_id", Kind::Id).unsortable(),
            Field::col("event", Kind::Text),
            Field::col(
                "status",
                Kind::Enum(DeliveryStatus::ALL.iter().map(|d| d.as_str()).collect()),
            ),
            Field::col("attempts", Kind::Number),
            Field::col("last_status", Kind::Number)
                .column("last_status_code")
                .nullable()
                .unsortable(),
            Field::col("last_duration_ms", Kind::Number).nullable(),
            Field::col("created_at", Kind::Datetime),
            Field::col("updated_at", Kind::Datetime),
        ],
    )
}

pub async fn list_deliveries(
    s: &mut Session,
    ws: &str,
    webhook: &str,
    status: Option<DeliveryStatus>,
    reg: &Registry,
    ctx: &Ctx,
    spec: &ListSpec,
) -> StoreResult<Listed<Delivery>> {
    let mut q = deliveries_of(ws, webhook);
    if let Some(st) = status {
        q.and_where(Expr::col(D::Status).eq(st.as_str()));
    }
    crate::listing::run(s, q, reg, ctx, spec).await
}

/// One delivery with its payload and every attempt.
pub async fn get_delivery(
    s: &mut Session,
    ws: &str,
    webhook: &str,
    id: Uuid,
) -> StoreResult<Delivery> {
    let q = deliveries_of(ws, webhook)
        .and_where(Expr::col(D::Id).eq(id))
        .to_owned();
    let mut d: Delivery = s.fetch_one(&q).await?;
    let p: Payload = s
        .fetch_one(
            &Query::select()
                .column(D::Payload)
                .from(D::Table)
                .and_where(Expr::col(D::Id).eq(id))
                .to_owned(),
        )
        .await?;
    d.payload = serde_json::from_str(&p.0).ok();
    let headers_text = match s.backend() {
        Backend::Postgres => Expr::cust(r#"CAST("response_headers" AS text)"#),
        Backend::Sqlite => Expr::col(A::ResponseHeaders).into(),
    };
    let q = Query::select()
        .columns([
            A::Id,
            A::Attempt,
            A::StartedAt,
            A::DurationMs,
            A::StatusCode,
            A::Error,
            A::ResponseBody,
        ])
        .expr_as(headers_text, Alias::new("response_headers_text"))
        .from(A::Table)
        .and_where(Expr::col(A::DeliveryId).eq(id))
        .order_by(A::StartedAt, Order::Asc)
        .order_by(A::Attempt, Order::Asc)
        .to_owned();
    d.attempt_log = Some(s.fetch_all(&q).await?);
    Ok(d)
}

/// Queues a delivery again as a new series of attempts (pending, or paused while the webhook
/// is disabled). `false` when it is in flight right now.
pub async fn requeue(
    s: &mut Session,
    ws: &str,
    webhook: &str,
    id: Uuid,
    active: bool,
    at: Timestamp,
) -> StoreResult<bool> {
    let to = if active {
        DeliveryStatus::Pending
    } else {
        DeliveryStatus::Paused
    };
    let q = Query::update()
        .table(D::Table)
        .value(D::Status, to.as_str())
        .value(D::DueAt, s.ts(at))
        .value(D::SeriesStart, Expr::col(D::Attempts))
        .value(D::LeaseToken, Option::<Uuid>::None)
        .value(D::UpdatedAt, s.ts(at))
        .and_where(Expr::col(D::WorkspaceId).eq(ws))
        .and_where(Expr::col(D::WebhookId).eq(webhook))
        .and_where(Expr::col(D::Id).eq(id))
        .and_where(Expr::col(D::Status).ne(DeliveryStatus::InFlight.as_str()))
        .to_owned();
    Ok(s.execute(&q).await? > 0)
}

/// Queues again every failed (or over-quota) delivery of a webhook created since `since`.
pub async fn recover(
    s: &mut Session,
    ws: &str,
    webhook: &str,
    since: Timestamp,
    active: bool,
    at: Timestamp,
) -> StoreResult<u64> {
    let to = if active {
        DeliveryStatus::Pending
    } else {
        DeliveryStatus::Paused
    };
    let q = Query::update()
        .table(D::Table)
        .value(D::Status, to.as_str())
        .value(D::DueAt, s.ts(at))
        .value(D::SeriesStart, Expr::col(D::Attempts))
        .value(D::UpdatedAt, s.ts(at))
        .and_where(Expr::col(D::WorkspaceId).eq(ws))
        .and_where(Expr::col(D::WebhookId).eq(webhook))
        .and_where(Expr::col(D::CreatedAt).gte(s.ts(since)))
        .and_where(Expr::col(D::Status).is_in([
            DeliveryStatus::Failed.as_str(),
            DeliveryStatus::QuotaExceeded.as_str(),
        ]))
        .to_owned();
    s.execute(&q).await
}

/// Deletes the finished deliveries of a webhook (and their attempts) older than its newest
/// `keep`. Returns how many went.
pub async fn prune_history(s: &mut Session, webhook: &str, keep: u64) -> StoreResult<u64> {
    let cutoff = Query::select()
        .column(D::Seq)
        .from(D::Table)
        .and_where(Expr::col(D::WebhookId).eq(webhook))
        .order_by(D::Seq, Order::Desc)
        .limit(1)
        .offset(keep.saturating_sub(1))
        .to_owned();
    let Some(cut) = s.fetch_optional::<SeqRow, _>(&cutoff).await? else {
        return Ok(0);
    };
    let old = Query::select()
        .column(D::Id)
        .from(D::Table)
        .and_where(Expr::col(D::WebhookId).eq(webhook))
        .and_where(Expr::col(D::Seq).lt(cut.0))
        .and_where(Expr::col(D::Status).is_in([
            DeliveryStatus::Succeeded.as_str(),
            DeliveryStatus::Failed.as_str(),
            DeliveryStatus::QuotaExceeded.as_str(),
        ]))
        .to_owned();
    s.execute(
        &Query::delete()
            .from_table(A::Table)
            .and_where(Expr::col(A::DeliveryId).in_subquery(old.clone()))
            .to_owned(),
    )
    .await?;
    s.execute(
        &Query::delete()
            .from_table(D::Table)
            .and_where(Expr::col(D::Id).in_subquery(old))
            .to_owned(),
    )
    .await
}

struct SeqRow(i64);

impl FromRow for SeqRow {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(SeqRow(r.i64("seq")?))
    }
}

/// The pipeline a record is on (`None` when it is on none or does not exist).
pub async fn record_pipeline(s: &mut Session, record: Uuid) -> StoreResult<Option<Uuid>> {
    use crate::tables::Records as R;
    let q = Query::select()
        .column(R::PipelineId)
        .from(R::Table)
        .and_where(Expr::col(R::Id).eq(record))
        .to_owned();
    Ok(s.fetch_optional::<PipelineOf, _>(&q)
        .await?
        .and_then(|p| p.0))
}

/// The record a task is on (deleted tasks too: their events are still fanned out).
pub async fn task_record(s: &mut Session, task: Uuid) -> StoreResult<Option<Uuid>> {
    use crate::tables::Tasks as T;
    let q = Query::select()
        .expr_as(Expr::col(T::RecordId), sea_query::Alias::new("pipeline_id"))
        .from(T::Table)
        .and_where(Expr::col(T::Id).eq(task))
        .to_owned();
    Ok(s.fetch_optional::<PipelineOf, _>(&q)
        .await?
        .and_then(|p| p.0))
}

/// One optional id, read from a column aliased `pipeline_id`.
struct PipelineOf(Option<Uuid>);

impl FromRow for PipelineOf {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(PipelineOf(r.uuid_opt("pipeline_id")?))
    }
}

/// The fan-out position without locking it.
pub async fn peek_fanout_position(s: &mut Session) -> StoreResult<Option<Position>> {
    let q = Query::select()
        .columns([F::Tx, F::Seq])
        .from(F::Table)
        .and_where(Expr::col(F::Id).eq(1))
        .to_owned();
    Ok(s.fetch_optional::<FanoutRow, _>(&q).await?.map(|r| r.0))
}
