//! Stored first responses of `Idempotency-Key` requests.
//!
//! A request first *claims* its key (a row with status 0 = in progress, committed at once, so
//! a concurrent duplicate sees it), then *completes* it with the response, or *releases* it
//! when the response is not worth replaying.

use laneway_core::time::Timestamp;
use sea_query::{Expr, Query};

use crate::tables::IdempotencyKeys as I;
use crate::{FromRow, Row, Session, StoreError, StoreResult};

#[derive(Debug, Clone)]
pub struct Stored {
    pub request_hash: String,
    /// 0 while the first request is still running.
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

/// What a claim found.
#[derive(Debug)]
pub enum Claim {
    /// The key is ours: run the request.
    Fresh,
    /// A live entry exists (finished, or still running).
    Existing(Stored),
}

async fn get(s: &mut Session, ws: &str, key: &str) -> StoreResult<Option<Stored>> {
    let q = Query::select()
        .columns([I::RequestHash, I::Status, I::Body, I::CreatedAt])
        .from(I::Table)
        .and_where(Expr::col(I::WorkspaceId).eq(ws))
        .and_where(Expr::col(I::IdemKey).eq(key))
        .to_owned();
    s.fetch_optional(&q).await
}

async fn delete(s: &mut Session, ws: &str, key: &str) -> StoreResult<()> {
    let q = Query::delete()
        .from_table(I::Table)
        .and_where(Expr::col(I::WorkspaceId).eq(ws))
        .and_where(Expr::col(I::IdemKey).eq(key))
        .to_owned();
    s.execute(&q).await?;
    Ok(())
}

/// Claims `key` unless a finished entry younger than `expired_before` or an in-progress one
/// younger than `abandoned_before` holds it. Call in its own write transaction.
pub async fn claim(
    s: &mut Session,
    ws: &str,
    key: &str,
    request_hash: &str,
    now: Timestamp,
    expired_before: Timestamp,
    abandoned_before: Timestamp,
) -> StoreResult<Claim> {
    if let Some(found) = get(s, ws, key).await? {
        let live = if found.status == 0 {
            found.created_at >= abandoned_before
        } else {
            found.created_at >= expired_before
        };
        if live {
            return Ok(Claim::Existing(found));
        }
        delete(s, ws, key).await?;
    }
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
            request_hash.into(),
            0i64.into(),
            "".into(),
            s.ts(now).into(),
        ])
        .to_owned();
    match s.execute(&q).await {
        Ok(_) => Ok(Claim::Fresh),
        // Another process claimed it between our read and insert (PostgreSQL).
        Err(StoreError::Conflict(_)) => Ok(Claim::Existing(Stored {
            request_hash: request_hash.to_string(),
            status: 0,
            body: String::new(),
            created_at: now,
        })),
        Err(e) => Err(e),
    }
}

/// Records the response of a claimed key.
pub async fn complete(
    s: &mut Session,
    ws: &str,
    key: &str,
    status: i64,
    body: &str,
) -> StoreResult<()> {
    let q = Query::update()
        .table(I::Table)
        .values([(I::Status, status.into()), (I::Body, body.into())])
        .and_where(Expr::col(I::WorkspaceId).eq(ws))
        .and_where(Expr::col(I::IdemKey).eq(key))
        .to_owned();
    s.execute(&q).await?;
    Ok(())
}

/// Gives a claimed key up (the request failed; the client may retry with it).
pub async fn release(s: &mut Session, ws: &str, key: &str) -> StoreResult<()> {
    delete(s, ws, key).await
}

/// Drops entries older than `before`.
pub async fn purge(s: &mut Session, before: Timestamp) -> StoreResult<u64> {
    let q = Query::delete()
        .from_table(I::Table)
        .and_where(Expr::col(I::CreatedAt).lt(s.ts(before)))
        .to_owned();
    s.execute(&q).await
}
