use laneway_core::model::{ApiKey, Scope};
use laneway_core::time::Timestamp;
use sea_query::{Expr, Query, SelectStatement};
use uuid::Uuid;

use super::count_of;
use crate::listing::{Ctx, Field, Kind, ListSpec, Listed, Registry};
use crate::row::Count;
use crate::tables::{ApiKeys as K, Members as M, Workspaces as W};
use crate::{FromRow, Row, Session, StoreError, StoreResult};

fn scope_of(r: &dyn Row) -> StoreResult<Scope> {
    let s = r.string("scope")?;
    Scope::parse(&s).ok_or_else(|| StoreError::Decode(format!("scope '{s}'")))
}

impl FromRow for ApiKey {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(ApiKey {
            id: r.string("id")?,
            name: r.string("name")?,
            scope: scope_of(r)?,
            member_id: r.uuid("member_id")?,
            prefix: r.string("prefix")?,
            created_at: r.ts("created_at")?,
            last_used_at: r.ts_opt("last_used_at")?,
            revoked_at: r.ts_opt("revoked_at")?,
        })
    }
}

/// What authentication needs to know about a presented key.
#[derive(Debug, Clone)]
pub struct KeyAuth {
    pub key_id: String,
    pub token_hash: String,
    pub workspace_id: String,
    pub member_id: Uuid,
    pub scope: Scope,
    pub last_used_at: Option<Timestamp>,
    /// The workspace's time zone (IANA name).
    pub time_zone: String,
}

impl FromRow for KeyAuth {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(KeyAuth {
            key_id: r.string("id")?,
            token_hash: r.string("token_hash")?,
            workspace_id: r.string("workspace_id")?,
            member_id: r.uuid("member_id")?,
            scope: scope_of(r)?,
            last_used_at: r.ts_opt("last_used_at")?,
            time_zone: r.string("time_zone")?,
        })
    }
}

fn select(ws: &str) -> SelectStatement {
    Query::select()
        .columns([
            K::Id,
            K::Name,
            K::Scope,
            K::MemberId,
            K::Prefix,
            K::CreatedAt,
            K::LastUsedAt,
            K::RevokedAt,
        ])
        .from(K::Table)
        .and_where(Expr::col(K::WorkspaceId).eq(ws))
        .to_owned()
}

pub struct NewKey<'a> {
    pub key: &'a ApiKey,
    pub workspace_id: &'a str,
    pub token_hash: &'a str,
}

pub async fn insert(s: &mut Session, k: NewKey<'_>) -> StoreResult<()> {
    let q = Query::insert()
        .into_table(K::Table)
        .columns([
            K::Id,
            K::WorkspaceId,
            K::MemberId,
            K::Name,
            K::Scope,
            K::TokenHash,
            K::Prefix,
            K::CreatedAt,
        ])
        .values_panic([
            k.key.id.clone().into(),
            k.workspace_id.into(),
            k.key.member_id.into(),
            k.key.name.clone().into(),
            k.key.scope.as_str().into(),
            k.token_hash.into(),
            k.key.prefix.clone().into(),
            s.ts(k.key.created_at).into(),
        ])
        .to_owned();
    s.execute(&q).await?;
    Ok(())
}

/// Finds a live key by the hash of its token: not revoked, member not deleted.
pub async fn find_by_hash(s: &mut Session, token_hash: &str) -> StoreResult<Option<KeyAuth>> {
    let q = Query::select()
        .columns([
            (K::Table, K::Id),
            (K::Table, K::TokenHash),
            (K::Table, K::WorkspaceId),
            (K::Table, K::MemberId),
            (K::Table, K::Scope),
            (K::Table, K::LastUsedAt),
        ])
        .column((W::Table, W::TimeZone))
        .from(K::Table)
        .inner_join(
            M::Table,
            Expr::col((M::Table, M::Id)).equals((K::Table, K::MemberId)),
        )
        .inner_join(
            W::Table,
            Expr::col((W::Table, W::Id)).equals((K::Table, K::WorkspaceId)),
        )
        .and_where(Expr::col((K::Table, K::TokenHash)).eq(token_hash))
        .and_where(Expr::col((K::Table, K::RevokedAt)).is_null())
        .and_where(Expr::col((M::Table, M::DeletedAt)).is_null())
        .to_owned();
    s.fetch_optional(&q).await
}

pub async fn get(s: &mut Session, ws: &str, id: &str) -> StoreResult<ApiKey> {
    let q = select(ws).and_where(Expr::col(K::Id).eq(id)).to_owned();
    s.fetch_one(&q).await
}

/// The filterable and sortable fields of API keys.
pub fn registry() -> Registry {
    let mut r = Registry::new(
        "api_keys",
        vec![
            Field::col("id", Kind::Text),
            Field::col("name", Kind::Text),
            Field::col("scope", Kind::Enum(vec!["read", "write", "admin"])),
            Field::col("member_id", Kind::Id),
            Field::col("prefix", Kind::Text),
            Field::col("created_at", Kind::Datetime),
            Field::col("last_used_at", Kind::Datetime).nullable(),
            Field::col("revoked_at", Kind::Datetime).nullable(),
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
) -> StoreResult<Listed<ApiKey>> {
    crate::listing::run(s, select(ws), reg, ctx, spec).await
}

/// Revokes a key of a workspace (`ws = None`: any workspace, for the operator's CLI).
/// Revoking twice keeps the first time. Returns whether the key exists.
pub async fn revoke(
    s: &mut Session,
    ws: Option<&str>,
    id: &str,
    at: Timestamp,
) -> StoreResult<bool> {
    let mut q = Query::update()
        .table(K::Table)
        .value(K::RevokedAt, s.ts(at))
        .and_where(Expr::col(K::Id).eq(id))
        .and_where(Expr::col(K::RevokedAt).is_null())
        .to_owned();
    if let Some(ws) = ws {
        q.and_where(Expr::col(K::WorkspaceId).eq(ws));
    }
    if s.execute(&q).await? > 0 {
        return Ok(true);
    }
    let mut q = Query::select()
        .column(K::Id)
        .from(K::Table)
        .and_where(Expr::col(K::Id).eq(id))
        .to_owned();
    if let Some(ws) = ws {
        q.and_where(Expr::col(K::WorkspaceId).eq(ws));
    }
    Ok(s.fetch_optional::<Count, _>(&count_of(&q))
        .await?
        .is_some_and(|c| c.0 > 0))
}

/// Revokes every live key of a member (when the member is deleted).
pub async fn revoke_for_member(
    s: &mut Session,
    ws: &str,
    member: Uuid,
    at: Timestamp,
) -> StoreResult<u64> {
    let q = Query::update()
        .table(K::Table)
        .value(K::RevokedAt, s.ts(at))
        .and_where(Expr::col(K::WorkspaceId).eq(ws))
        .and_where(Expr::col(K::MemberId).eq(member))
        .and_where(Expr::col(K::RevokedAt).is_null())
        .to_owned();
    s.execute(&q).await
}

pub async fn touch(s: &mut Session, id: &str, at: Timestamp) -> StoreResult<()> {
    let q = Query::update()
        .table(K::Table)
        .value(K::LastUsedAt, s.ts(at))
        .and_where(Expr::col(K::Id).eq(id))
        .to_owned();
    s.execute(&q).await?;
    Ok(())
}
