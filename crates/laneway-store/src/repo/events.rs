//! The event outbox and audit trail.

use laneway_core::events::{Event, NewEvent};
use laneway_core::ids::new_id;
use laneway_core::time::Timestamp;
use sea_query::{Expr, Order, Query, SelectStatement};
use uuid::Uuid;

use super::{count_of, Page};
use crate::row::Count;
use crate::tables::Events as E;
use crate::{FromRow, Row, Session, StoreResult};

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
        ])
        .to_owned();
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let id = new_id();
        q.values_panic([
            id.into(),
            ws.into(),
            e.event.clone().into(),
            e.resource_type.into(),
            e.resource_id.clone().into(),
            s.ts(at).into(),
            e.data.clone().into(),
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
    Ok(out)
}

/// Simple list parameters of `GET /events`.
#[derive(Debug, Default, Clone)]
pub struct EventQuery {
    /// Exact event names to include (empty: all).
    pub names: Vec<String>,
    pub resource: Option<(String, String)>,
}

/// Events newest first.
pub async fn list(
    s: &mut Session,
    ws: &str,
    f: &EventQuery,
    page: Page,
) -> StoreResult<(Vec<Event>, i64)> {
    let mut q = select(ws);
    if !f.names.is_empty() {
        q.and_where(Expr::col(E::Event).is_in(f.names.iter().cloned()));
    }
    if let Some((kind, id)) = &f.resource {
        q.and_where(Expr::col(E::ResourceType).eq(kind.as_str()))
            .and_where(Expr::col(E::ResourceId).eq(id.as_str()));
    }
    let total = s.fetch_one::<Count, _>(&count_of(&q)).await?.0;
    q.order_by(E::Seq, Order::Desc)
        .limit(page.limit)
        .offset(page.offset);
    Ok((s.fetch_all(&q).await?, total))
}

pub async fn get(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<Event> {
    s.fetch_one(&select(ws).and_where(Expr::col(E::Id).eq(id)).to_owned())
        .await
}

/// Number of events of a workspace (tests and the outbox's health).
pub async fn count(s: &mut Session, ws: &str) -> StoreResult<i64> {
    Ok(s.fetch_one::<Count, _>(&count_of(&select(ws))).await?.0)
}
