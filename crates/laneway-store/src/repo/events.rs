//! The event outbox and audit trail.

use laneway_core::events::{Event, NewEvent};
use laneway_core::ids::new_id;
use laneway_core::time::Timestamp;
use sea_query::{
    Alias, Condition, Expr, Func, JoinType, Order, Query, SelectStatement, SimpleExpr,
};
use uuid::Uuid;

use super::count_of;
use crate::listing::{Ctx, Field, Kind, ListSpec, Listed, Registry};
use crate::row::Count;
use crate::tables::Events as E;
use crate::{Backend, FromRow, Row, Session, StoreResult};

impl FromRow for Event {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(Event {
            id: r.uuid("id")?,
            event: r.string("event")?,
            workspace_id: r.string("workspace_id")?,
            timestamp: r.ts("created_at")?,
            data: r.json("data")?,
        })
    }
}

fn select(ws: &str) -> SelectStatement {
    Query::select()
        .columns([E::Id, E::Event, E::WorkspaceId, E::CreatedAt, E::Data])
        .from(E::Table)
        .and_where(Expr::col(E::WorkspaceId).eq(ws))
        .to_owned()
}

/// Writes events in one multi-row insert, in the caller's transaction. Returns them as stored.
pub async fn insert(
    s: &mut Session,
    ws: &str,
    events: Vec<NewEvent>,
    at: Timestamp,
) -> StoreResult<Vec<Event>> {
    if events.is_empty() {
        return Ok(vec![]);
    }
    let mut q = Query::insert()
        .into_table(E::Table)
        .columns([
            E::Id,
            E::WorkspaceId,
            E::Event,
            E::ResourceType,
            E::ResourceId,
            E::CreatedAt,
            E::Data,
            E::Scoped,
            E::ScopeRecordId,
            E::ScopePipelineId,
        ])
        .to_owned();
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let id = new_id();
        let scope = scope_of(s, e.resource_type, &e.resource_id, &e.data).await?;
        q.values_panic([
            id.into(),
            ws.into(),
            e.event.clone().into(),
            e.resource_type.into(),
            e.resource_id.clone().into(),
            s.ts(at).into(),
            e.data.clone().into(),
            true.into(),
            scope.record.into(),
            scope.pipeline.into(),
        ]);
        out.push(Event {
            id,
            event: e.event,
            workspace_id: ws.to_string(),
            timestamp: at,
            data: e.data,
        });
    }
    s.execute(&q).await?;
    s.note_events_written(out.len());
    Ok(out)
}

/// Simple list parameters of `GET /events`.
#[derive(Debug, Default, Clone)]
pub struct EventQuery {
    /// Exact event names to include (empty: all).
    pub names: Vec<String>,
    pub resource: Option<(String, String)>,
}

/// The filterable and sortable fields of events. `timestamp` is the stored `created_at`.
pub fn registry() -> Registry {
    let mut r = Registry::new(
        "events",
        vec![
            Field::col("id", Kind::Id),
            Field::col("event", Kind::Text),
            Field::col("timestamp", Kind::Datetime).column("created_at"),
            Field::col("resource_type", Kind::Text).unsortable(),
            Field::col("resource_id", Kind::Text).unsortable(),
        ],
    );
    // `data.<key>` reads the resource the event carries (e.g. `data.stage_id`).
    r.data = Some("data");
    r
}

/// Events of a workspace narrowed by the simple list parameters.
pub fn base(ws: &str, f: &EventQuery) -> SelectStatement {
    let mut q = select(ws);
    if !f.names.is_empty() {
        q.and_where(Expr::col(E::Event).is_in(f.names.iter().cloned()));
    }
    if let Some((kind, id)) = &f.resource {
        q.and_where(Expr::col(E::ResourceType).eq(kind.as_str()))
            .and_where(Expr::col(E::ResourceId).eq(id.as_str()));
    }
    q
}

/// Events, newest first by default (ids are time-ordered, so events of one write keep their
/// order).
pub async fn list(
    s: &mut Session,
    ws: &str,
    f: &EventQuery,
    reg: &Registry,
    ctx: &Ctx,
    spec: &ListSpec,
) -> StoreResult<Listed<Event>> {
    crate::listing::run(s, base(ws, f), reg, ctx, spec).await
}

pub async fn get(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<Event> {
    s.fetch_one(&select(ws).and_where(Expr::col(E::Id).eq(id)).to_owned())
        .await
}

/// Number of events of a workspace (tests and the outbox's health).
pub async fn count(s: &mut Session, ws: &str) -> StoreResult<i64> {
    Ok(s.fetch_one::<Count, _>(&count_of(&select(ws))).await?.0)
}

/// A place in the commit-ordered event log: resuming after it yields exactly the events that
/// committed later, each once (see [`read_after`]). Opaque to clients, who see it through
/// [`Position::encode`] (the SSE `id:`) and hand it back through [`Position::decode`].
///
/// On PostgreSQL it is the writing transaction's id and the event's `seq`; on SQLite (one writer,
/// so `seq` order is commit order) `tx` is always 0 and only `seq` counts. A position never
/// needs its event to still exist, so a resume point removed by retention works as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Position {
    tx: i64,
    seq: i64,
}

impl Position {
    /// Before every event.
    pub const START: Position = Position { tx: 0, seq: 0 };

    /// `<tx>-<seq>`, both decimal.
    pub fn encode(&self) -> String {
        format!("{}-{}", self.tx, self.seq)
    }

    /// The inverse of [`Position::encode`]; `None` for anything it cannot have produced.
    pub fn decode(s: &str) -> Option<Position> {
        fn number(s: &str) -> Option<i64> {
            // At most 18 digits: always an i64, and what the API document's pattern says.
            if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        }
        let (tx, seq) = s.split_once('-')?;
        Some(Position {
            tx: number(tx)?,
            seq: number(seq)?,
        })
    }
}

impl Position {
    /// A position from its parts, as stored by a reader that persists where it is.
    pub fn from_parts(tx: i64, seq: i64) -> Position {
        Position { tx, seq }
    }
    /// The parts, for storing (see [`Position::from_parts`]).
    pub fn parts(&self) -> (i64, i64) {
        (self.tx, self.seq)
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.encode())
    }
}

/// An event and its position, as [`read_after`] returns them.
struct Positioned(Position, Event);

impl FromRow for Positioned {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(Positioned(
            Position {
                tx: r.i64("tx_n")?,
                seq: r.i64("seq")?,
            },
            Event::from_row(r)?,
        ))
    }
}

/// `tx` as a bigint (sqlx has no xid8 decoder) under its own name, so `ORDER BY tx` still
/// means the indexed column.
fn tx_number(backend: Backend) -> SimpleExpr {
    match backend {
        Backend::Postgres => Expr::cust(r#"CAST(CAST("tx" AS text) AS bigint)"#),
        Backend::Sqlite => Expr::val(0i64).into(),
    }
}

/// PostgreSQL: the oldest transaction still running when the statement's snapshot was taken.
/// Every transaction below it has finished, so events below it can no longer appear.
const HORIZON: &str = "pg_snapshot_xmin(pg_current_snapshot())";

/// Events after `after` (from the start when `None`) in commit order, at most `limit`, of one
/// workspace or of all (`ws: None`), optionally only those named in `names`.
///
/// The guarantee every reader of the log relies on: a caller that resumes from the position of
/// the last event it got never misses an event and never gets one twice. On PostgreSQL this
/// holds because only events of finished transactions are read (`tx` below the snapshot's
/// xmin), in `(tx, seq)` order — `seq` order alone is not commit order. The price: an event is
/// readable only once every transaction older than the one that wrote it has ended, so a long
/// write transaction anywhere in the cluster delays (never loses) events; see [`unsettled`].
pub async fn read_after(
    s: &mut Session,
    ws: Option<&str>,
    after: Option<Position>,
    names: &[String],
    limit: u64,
) -> StoreResult<Vec<(Position, Event)>> {
    let backend = s.backend();
    let mut q = log_query(backend, ws, after, names);
    q.column(E::Seq)
        .expr_as(tx_number(backend), Alias::new("tx_n"))
        .columns([E::Id, E::Event, E::WorkspaceId, E::CreatedAt, E::Data])
        .limit(limit.max(1));
    match backend {
        Backend::Postgres => {
            q.and_where(Expr::cust(format!(r#""tx" < {HORIZON}"#)))
                .order_by(E::Tx, Order::Asc)
                .order_by(E::Seq, Order::Asc);
        }
        Backend::Sqlite => {
            q.order_by(E::Seq, Order::Asc);
        }
    }
    let rows: Vec<Positioned> = s.fetch_all(&q).await?;
    Ok(rows.into_iter().map(|Positioned(p, e)| (p, e)).collect())
}

/// The record and the pipeline an event is about, for webhook scopes (`record_id`,
/// `pipeline_id`): a record itself, the record a task, note, contract or comment (directly or
/// through its task) is on; the pipeline of a record or stage, a pipeline itself, the board a
/// note is on, or the pipeline of the record the resource is on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scope {
    pub record: Option<Uuid>,
    pub pipeline: Option<Uuid>,
}

fn uuid_at(v: &serde_json::Value, key: &str) -> Option<Uuid> {
    v.get(key)?.as_str()?.parse().ok()
}

/// Resolves an event's [`Scope`] from its resource (reading the database as the caller's
/// transaction sees it).
pub async fn scope_of(
    s: &mut Session,
    resource_type: &str,
    resource_id: &str,
    data: &serde_json::Value,
) -> StoreResult<Scope> {
    use super::webhooks::{record_pipeline, task_record};
    let id: Option<Uuid> = resource_id.parse().ok();
    let record = match resource_type {
        "record" => id,
        "task" | "note" | "contract" | "form" => uuid_at(data, "record_id"),
        "comment" => match (uuid_at(data, "record_id"), uuid_at(data, "task_id")) {
            (Some(r), _) => Some(r),
            (None, Some(t)) => task_record(s, t).await?,
            (None, None) => None,
        },
        _ => None,
    };
    let pipeline = match resource_type {
        "record" | "stage" => uuid_at(data, "pipeline_id"),
        "pipeline" => id,
        "note" => match uuid_at(data, "pipeline_id") {
            Some(p) => Some(p),
            None => match record {
                Some(r) => record_pipeline(s, r).await?,
                None => None,
            },
        },
        "task" | "contract" | "comment" | "form" => match record {
            Some(r) => record_pipeline(s, r).await?,
            None => None,
        },
        _ => None,
    };
    Ok(Scope { record, pipeline })
}

/// An event read from the log with its position and the resource it is about.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub position: Position,
    pub event: Event,
    pub resource_type: String,
    pub resource_id: String,
    /// Resolved when the event was written; `None` for events written by older versions.
    pub scope: Option<Scope>,
}

impl FromRow for LogEntry {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        let scope = if r.bool("scoped")? {
            Some(Scope {
                record: r.uuid_opt("scope_record_id")?,
                pipeline: r.uuid_opt("scope_pipeline_id")?,
            })
        } else {
            None
        };
        Ok(LogEntry {
            position: Position {
                tx: r.i64("tx_n")?,
                seq: r.i64("seq")?,
            },
            event: Event::from_row(r)?,
            resource_type: r.string("resource_type")?,
            resource_id: r.string("resource_id")?,
            scope,
        })
    }
}

/// [`read_after`] over every workspace, with each event's resource (the webhook fan-out).
pub async fn read_log(
    s: &mut Session,
    after: Option<Position>,
    limit: u64,
) -> StoreResult<Vec<LogEntry>> {
    let backend = s.backend();
    let mut q = log_query(backend, None, after, &[]);
    q.column(E::Seq)
        .expr_as(tx_number(backend), Alias::new("tx_n"))
        .columns([
            E::Id,
            E::Event,
            E::WorkspaceId,
            E::CreatedAt,
            E::Data,
            E::ResourceType,
            E::ResourceId,
            E::Scoped,
            E::ScopeRecordId,
            E::ScopePipelineId,
        ])
        .limit(limit.max(1));
    match backend {
        Backend::Postgres => {
            q.and_where(Expr::cust(format!(r#""tx" < {HORIZON}"#)))
                .order_by(E::Tx, Order::Asc)
                .order_by(E::Seq, Order::Asc);
        }
        Backend::Sqlite => {
            q.order_by(E::Seq, Order::Asc);
        }
    }
    s.fetch_all(&q).await
}

/// Whether events after `after` have committed but cannot be read yet because an older
/// transaction is still running (PostgreSQL; always false on SQLite). A reader that has drained
/// [`read_after`] and gets `true` should look again shortly rather than wait for a wake-up: the
/// transaction holding them back may write no events, and so wake no one when it ends.
pub async fn unsettled(
    s: &mut Session,
    ws: Option<&str>,
    after: Option<Position>,
    names: &[String],
) -> StoreResult<bool> {
    if s.backend() == Backend::Sqlite {
        return Ok(false);
    }
    let mut q = log_query(Backend::Postgres, ws, after, names);
    q.column(E::Seq)
        .and_where(Expr::cust(format!(r#""tx" >= {HORIZON}"#)))
        .limit(1);
    Ok(s.fetch_optional::<Seq, _>(&q).await?.is_some())
}

struct Seq;

impl FromRow for Seq {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        r.i64("seq").map(|_| Seq)
    }
}

/// The `FROM`/`WHERE` shared by [`read_after`] and [`unsettled`].
fn log_query(
    backend: Backend,
    ws: Option<&str>,
    after: Option<Position>,
    names: &[String],
) -> SelectStatement {
    let mut q = Query::select().from(E::Table).to_owned();
    if let Some(ws) = ws {
        q.and_where(Expr::col(E::WorkspaceId).eq(ws));
    }
    if !names.is_empty() {
        q.and_where(Expr::col(E::Event).is_in(names.iter().cloned()));
    }
    if let Some(p) = after {
        match backend {
            // A row comparison, which the (tx, seq) index serves as a range. (sea-query's
            // PostgreSQL placeholders are `$n`, numbered within this expression.)
            Backend::Postgres => q.and_where(Expr::cust_with_values(
                r#"("tx", "seq") > (CAST(CAST($1 AS text) AS xid8), $2)"#,
                [p.tx, p.seq],
            )),
            Backend::Sqlite => q.and_where(Expr::col(E::Seq).gt(p.seq)),
        };
    }
    q
}

struct PositionRow(Position);

impl FromRow for PositionRow {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(PositionRow(Position {
            tx: r.i64("tx_n")?,
            seq: r.i64("seq")?,
        }))
    }
}

/// The current end of the log (see [`head`]).
#[derive(Debug, Clone, Default)]
pub struct Head {
    /// Reading after this yields the events that commit from now on — and the `committed` ones.
    pub position: Position,
    /// Events after `position` that had already committed (PostgreSQL: ahead of an older
    /// transaction still running, so not yet readable). A reader starting at the head skips
    /// them to see only new events. Usually empty; at most [`HEAD_COMMITTED_MAX`], past which
    /// the rest would be delivered rather than skipped.
    pub committed: Vec<Position>,
}

/// Bound of [`Head::committed`].
pub const HEAD_COMMITTED_MAX: u64 = 10_000;

/// The end of the log now, for a reader that wants only what commits from now on, of one
/// workspace or of all (`ws: None`).
pub async fn head(s: &mut Session, ws: Option<&str>) -> StoreResult<Head> {
    match s.backend() {
        Backend::Sqlite => {
            let q = Query::select()
                .expr_as(Expr::val(0i64), Alias::new("tx_n"))
                .expr_as(
                    Func::coalesce([Func::max(Expr::col(E::Seq)).into(), Expr::val(0i64).into()]),
                    Alias::new("seq"),
                )
                .from(E::Table)
                .to_owned();
            Ok(Head {
                position: s.fetch_one::<PositionRow, _>(&q).await?.0,
                committed: vec![],
            })
        }
        Backend::Postgres => {
            // One statement, so the horizon and the committed events past it come from one
            // snapshot: everything below the horizon is settled and counts as seen; past it,
            // exactly the events this snapshot sees are the ones already committed.
            let horizon = Query::select()
                .expr_as(
                    Expr::cust(format!("CAST(CAST({HORIZON} AS text) AS bigint)")),
                    Alias::new("horizon"),
                )
                .to_owned();
            let mut on = Condition::all().add(Expr::cust(format!(r#""events"."tx" >= {HORIZON}"#)));
            if let Some(ws) = ws {
                on = on.add(Expr::col((E::Table, E::WorkspaceId)).eq(ws));
            }
            let q = Query::select()
                .column((Alias::new("h"), Alias::new("horizon")))
                .expr_as(
                    Expr::cust(r#"COALESCE(CAST(CAST("events"."tx" AS text) AS bigint), -1)"#),
                    Alias::new("tx_n"),
                )
                .expr_as(
                    Expr::cust(r#"COALESCE("events"."seq", -1)"#),
                    Alias::new("seq"),
                )
                .from_subquery(horizon, Alias::new("h"))
                .join(JoinType::LeftJoin, E::Table, on)
                .limit(HEAD_COMMITTED_MAX)
                .to_owned();
            let rows: Vec<HeadRow> = s.fetch_all(&q).await?;
            let horizon = rows.first().map_or(0, |r| r.horizon);
            Ok(Head {
                position: Position {
                    tx: horizon,
                    seq: 0,
                },
                committed: rows.into_iter().filter_map(|r| r.committed).collect(),
            })
        }
    }
}

struct HeadRow {
    horizon: i64,
    committed: Option<Position>,
}

impl FromRow for HeadRow {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        let (tx, seq) = (r.i64("tx_n")?, r.i64("seq")?);
        Ok(HeadRow {
            horizon: r.i64("horizon")?,
            committed: (seq >= 0).then_some(Position { tx, seq }),
        })
    }
}

/// The position of a stored event of the workspace (`None` if there is none with that id).
///
/// Resuming after it is exact when the event came from [`read_after`]. On PostgreSQL an event
/// seen elsewhere (e.g. in `GET /events`, which shows every committed event) may have committed
/// ahead of an older transaction still running, whose events would then sort before it.
pub async fn position_of(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<Option<Position>> {
    let q = Query::select()
        .column(E::Seq)
        .expr_as(tx_number(s.backend()), Alias::new("tx_n"))
        .from(E::Table)
        .and_where(Expr::col(E::WorkspaceId).eq(ws))
        .and_where(Expr::col(E::Id).eq(id))
        .to_owned();
    Ok(s.fetch_optional::<PositionRow, _>(&q).await?.map(|p| p.0))
}

/// Deletes up to `batch` of the oldest events (by `seq`, across workspaces) stored before
/// `before`; returns how many. Call it in a loop, one short transaction each, until it returns
/// less than `batch`, so a large purge never holds the (SQLite) writer for long.
///
/// Only the first `batch` events in `seq` order are looked at, so each statement is a short
/// index range, not a scan for old rows among new ones. Events are stored in time order (give
/// or take the clock skew between processes), so the old ones are that prefix; one stored out
/// of order is purged on a later run.
///
/// Events the webhook fan-out has not read yet are kept whatever their age, so a retention
/// shorter than an outage never drops a delivery.
pub async fn purge_before(s: &mut Session, before: Timestamp, batch: u64) -> StoreResult<u64> {
    let backend = s.backend();
    let mut oldest = Query::select()
        .column(E::Seq)
        .from(E::Table)
        .order_by(E::Seq, Order::Asc)
        .limit(batch.max(1))
        .to_owned();
    if let Some(fanned) = super::webhooks::peek_fanout_position(s).await? {
        let (tx, seq) = fanned.parts();
        match backend {
            Backend::Postgres => oldest.and_where(Expr::cust_with_values(
                r#"("tx", "seq") <= (CAST(CAST($1 AS text) AS xid8), $2)"#,
                [tx, seq],
            )),
            Backend::Sqlite => oldest.and_where(Expr::col(E::Seq).lte(seq)),
        };
    }
    let q = Query::delete()
        .from_table(E::Table)
        .and_where(Expr::col(E::Seq).in_subquery(oldest))
        .and_where(Expr::col(E::CreatedAt).lt(s.ts(before)))
        .to_owned();
    s.execute(&q).await
}
