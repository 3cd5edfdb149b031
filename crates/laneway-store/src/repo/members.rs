use laneway_core::model::{Member, Role};
use laneway_core::time::Timestamp;
use sea_query::{Expr, Order, Query, SelectStatement};
use uuid::Uuid;

use super::count_of;
use crate::listing::{Ctx, Field, Kind, ListSpec, Listed, Registry};
use crate::row::Count;
use crate::tables::Members as M;
use crate::{FromRow, Row, Session, StoreError, StoreResult};

impl FromRow for Member {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        let role = r.string("role")?;
        Ok(Member {
            id: r.uuid("id")?,
            name: r.string("name")?,
            email: r.string("email")?,
            role: Role::parse(&role).ok_or_else(|| StoreError::Decode(format!("role '{role}'")))?,
            created_at: r.ts("created_at")?,
            updated_at: r.ts("updated_at")?,
        })
    }
}

fn select(ws: &str) -> SelectStatement {
    Query::select()
        .columns([
            M::Id,
            M::Name,
            M::Email,
            M::Role,
            M::CreatedAt,
            M::UpdatedAt,
        ])
        .from(M::Table)
        .and_where(Expr::col(M::WorkspaceId).eq(ws))
        .and_where(Expr::col(M::DeletedAt).is_null())
        .to_owned()
}

pub async fn insert(
    s: &mut Session,
    ws: &str,
    m: &Member,
    password_hash: Option<&str>,
) -> StoreResult<()> {
    let q = Query::insert()
        .into_table(M::Table)
        .columns([
            M::Id,
            M::WorkspaceId,
            M::Name,
            M::Email,
            M::Role,
            M::PasswordHash,
            M::CreatedAt,
            M::UpdatedAt,
        ])
        .values_panic([
            m.id.into(),
            ws.into(),
            m.name.clone().into(),
            m.email.clone().into(),
            m.role.as_str().into(),
            password_hash.map(str::to_string).into(),
            s.ts(m.created_at).into(),
            s.ts(m.updated_at).into(),
        ])
        .to_owned();
    s.execute(&q).await?;
    Ok(())
}

pub async fn get(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<Member> {
    let q = select(ws).and_where(Expr::col(M::Id).eq(id)).to_owned();
    s.fetch_one(&q).await
}

pub async fn exists(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<bool> {
    match get(s, ws, id).await {
        Ok(_) => Ok(true),
        Err(StoreError::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The filterable and sortable fields of members.
pub fn registry() -> Registry {
    Registry::new(
        "members",
        vec![
            Field::col("id", Kind::Id),
            Field::col("name", Kind::Text),
            Field::col("email", Kind::Text),
            Field::col("role", Kind::Enum(vec!["owner", "admin", "member"])),
            Field::col("created_at", Kind::Datetime),
            Field::col("updated_at", Kind::Datetime),
        ],
    )
}

pub async fn list(
    s: &mut Session,
    ws: &str,
    reg: &Registry,
    ctx: &Ctx,
    spec: &ListSpec,
) -> StoreResult<Listed<Member>> {
    crate::listing::run(s, select(ws), reg, ctx, spec).await
}

pub async fn update(s: &mut Session, ws: &str, m: &Member) -> StoreResult<()> {
    let q = Query::update()
        .table(M::Table)
        .values([
            (M::Name, m.name.clone().into()),
            (M::Email, m.email.clone().into()),
            (M::Role, m.role.as_str().into()),
            (M::UpdatedAt, s.ts(m.updated_at).into()),
        ])
        .and_where(Expr::col(M::WorkspaceId).eq(ws))
        .and_where(Expr::col(M::Id).eq(m.id))
        .and_where(Expr::col(M::DeletedAt).is_null())
        .to_owned();
    match s.execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub async fn soft_delete(s: &mut Session, ws: &str, id: Uuid, at: Timestamp) -> StoreResult<()> {
    let q = Query::update()
        .table(M::Table)
        .values([
            (M::DeletedAt, s.ts(at).into()),
            (M::UpdatedAt, s.ts(at).into()),
        ])
        .and_where(Expr::col(M::WorkspaceId).eq(ws))
        .and_where(Expr::col(M::Id).eq(id))
        .and_where(Expr::col(M::DeletedAt).is_null())
        .to_owned();
    match s.execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub async fn count_role(s: &mut Session, ws: &str, role: Role) -> StoreResult<i64> {
    let q = select(ws)
        .and_where(Expr::col(M::Role).eq(role.as_str()))
        .to_owned();
    Ok(s.fetch_one::<Count, _>(&count_of(&q)).await?.0)
}

/// The first owner of a workspace (the bootstrap member), if any.
pub async fn first_owner(s: &mut Session, ws: &str) -> StoreResult<Option<Member>> {
    let q = select(ws)
        .and_where(Expr::col(M::Role).eq(Role::Owner.as_str()))
        .order_by(M::CreatedAt, Order::Asc)
        .limit(1)
        .to_owned();
    s.fetch_optional(&q).await
}
