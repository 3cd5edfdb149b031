//! Stored first responses of `Idempotency-Key` requests.

use laneway_core::time::Timestamp;
use sea_query::{Expr, Query};

use crate::tables::IdempotencyKeys as I;
use crate::{FromRow, Row, Session, StoreResult};

#[derive(Debug, Clone)]
pub struct Stored {
    pub request_hash: String,
    pub status: i64,
    pub body: String,
    pub created_at: Timestamp,
}

impl FromRow for Stored {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(Stored {
            request_hash: r.string("request_hash")?,
            status: r.i64("status")?,
            body: r.string("body")?,
            created_at: r.ts("created_at")?,
        })
    }
}

pub async fn get(
    s: &mut Session,
    ws: &str,
    key: &str,
    since: Timestamp,
) -> StoreResult<Option<Stored>> {
    let q = Query::select()
        .columns([I::RequestHash, I::Status, I::Body, I::CreatedAt])
        .from(I::Table)
        .and_where(Expr::col(I::WorkspaceId).eq(ws))
        .and_where(Expr::col(I::IdemKey).eq(key))
        .and_where(Expr::col(I::CreatedAt).gte(s.ts(since)))
        .to_owned();
    s.fetch_optional(&q).await
}

/// Stores a first response, replacing an expired one under the same key.
pub async fn put(s: &mut Session, ws: &str, key: &str, v: &Stored) -> StoreResult<()> {
    let del = Query::delete()
        .from_table(I::Table)
        .and_where(Expr::col(I::WorkspaceId).eq(ws))
        .and_where(Expr::col(I::IdemKey).eq(key))
        .to_owned();
    s.execute(&del).await?;
    let q = Query::insert()
        .into_table(I::Table)
        .columns([
            I::WorkspaceId,
            I::IdemKey,
            I::RequestHash,
            I::Status,
            I::Body,
            I::CreatedAt,
        ])
        .values_panic([
            ws.into(),
            key.into(),
            v.request_hash.clone().into(),
            v.status.into(),
            v.body.clone().into(),
            s.ts(v.created_at).into(),
        ])
        .to_owned();
    s.execute(&q).await?;
    Ok(())
}

/// Drops entries older than `before`.
pub async fn purge(s: &mut Session, before: Timestamp) -> StoreResult<u64> {
    let q = Query::delete()
        .from_table(I::Table)
        .and_where(Expr::col(I::CreatedAt).lt(s.ts(before)))
        .to_owned();
    s.execute(&q).await
}
