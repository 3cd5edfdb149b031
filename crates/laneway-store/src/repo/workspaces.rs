use laneway_core::model::Workspace;
use sea_query::{Expr, Query};

use super::count_of;
use crate::row::Count;
use crate::tables::Workspaces as W;
use crate::{FromRow, Row, Session, StoreResult};

impl FromRow for Workspace {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(Workspace {
            id: r.string("id")?,
            name: r.string("name")?,
            time_zone: r.string("time_zone")?,
            created_at: r.ts("created_at")?,
        })
    }
}

pub async fn insert(s: &mut Session, w: &Workspace) -> StoreResult<()> {
    let q = Query::insert()
        .into_table(W::Table)
        .columns([W::Id, W::Name, W::TimeZone, W::CreatedAt, W::UpdatedAt])
        .values_panic([
            w.id.clone().into(),
            w.name.clone().into(),
            w.time_zone.clone().into(),
            s.ts(w.created_at).into(),
            s.ts(w.created_at).into(),
        ])
        .to_owned();
    s.execute(&q).await?;
    Ok(())
}

pub async fn get(s: &mut Session, id: &str) -> StoreResult<Workspace> {
    let q = Query::select()
        .columns([W::Id, W::Name, W::TimeZone, W::CreatedAt])
        .from(W::Table)
        .and_where(Expr::col(W::Id).eq(id))
        .to_owned();
    s.fetch_one(&q).await
}

pub async fn count(s: &mut Session) -> StoreResult<i64> {
    let q = Query::select().from(W::Table).to_owned();
    Ok(s.fetch_one::<Count, _>(&count_of(&q)).await?.0)
}

/// Changes a workspace's name and time zone.
pub async fn update(
    s: &mut Session,
    id: &str,
    name: &str,
    time_zone: &str,
    at: laneway_core::time::Timestamp,
) -> StoreResult<()> {
    let q = Query::update()
        .table(W::Table)
        .value(W::Name, name)
        .value(W::TimeZone, time_zone)
        .value(W::UpdatedAt, s.ts(at))
        .and_where(Expr::col(W::Id).eq(id))
        .to_owned();
    if s.execute(&q).await? == 0 {
        return Err(crate::StoreError::NotFound);
    }
    Ok(())
}
