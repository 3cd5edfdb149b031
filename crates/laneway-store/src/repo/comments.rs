//! Comments on records and tasks (spec §7).

use laneway_core::model::Comment;
use sea_query::{Expr, Query, SelectStatement};
use uuid::Uuid;

use crate::listing::{Ctx, Field, Kind, ListSpec, Listed, Registry};
use crate::tables::Comments as C;
use crate::{FromRow, Row, Session, StoreResult};

impl FromRow for Comment {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(Comment {
            id: r.uuid("id")?,
            body: r.string("body")?,
            author_id: r.uuid_opt("author_id")?,
            record_id: r.uuid_opt("record_id")?,
            task_id: r.uuid_opt("task_id")?,
            created_at: r.ts("created_at")?,
            updated_at: r.ts("updated_at")?,
            deleted_at: r.ts_opt("deleted_at")?,
        })
    }
}

fn select(ws: &str) -> SelectStatement {
    Query::select()
        .columns([
            C::Id,
            C::Body,
            C::AuthorId,
            C::RecordId,
            C::TaskId,
            C::CreatedAt,
            C::UpdatedAt,
            C::DeletedAt,
        ])
        .from(C::Table)
        .and_where(Expr::col(C::WorkspaceId).eq(ws))
        .and_where(Expr::col(C::DeletedAt).is_null())
        .to_owned()
}

/// What the comments are on.
#[derive(Debug, Clone, Copy)]
pub enum On {
    Record(Uuid),
    Task(Uuid),
}

/// The filterable and sortable fields of comments.
pub fn registry() -> Registry {
    Registry::new(
        "comments",
        vec![
            Field::col("id", Kind::Id),
            Field::col("body", Kind::Text).unsortable(),
            Field::col("author_id", Kind::Id).nullable(),
            Field::col("created_at", Kind::Datetime),
            Field::col("updated_at", Kind::Datetime),
            Field::rel("author.email", "author_id", "members", "email", None, true),
            Field::rel("author.name", "author_id", "members", "name", None, true),
        ],
    )
}

/// The live comments on one record or task.
pub fn base(ws: &str, on: On) -> SelectStatement {
    let mut q = select(ws);
    match on {
        On::Record(r) => q.and_where(Expr::col(C::RecordId).eq(r)),
        On::Task(t) => q.and_where(Expr::col(C::TaskId).eq(t)),
    };
    q
}

pub async fn list(
    s: &mut Session,
    ws: &str,
    on: On,
    reg: &Registry,
    ctx: &Ctx,
    spec: &ListSpec,
) -> StoreResult<Listed<Comment>> {
    crate::listing::run(s, base(ws, on), reg, ctx, spec).await
}

pub async fn get(s: &mut Session, ws: &str, on: On, id: Uuid) -> StoreResult<Comment> {
    s.fetch_one(&base(ws, on).and_where(Expr::col(C::Id).eq(id)).to_owned())
        .await
}

pub async fn insert(s: &mut Session, ws: &str, c: &Comment) -> StoreResult<()> {
    let q = Query::insert()
        .into_table(C::Table)
        .columns([
            C::Id,
            C::WorkspaceId,
            C::RecordId,
            C::TaskId,
            C::Body,
            C::AuthorId,
            C::CreatedAt,
            C::UpdatedAt,
        ])
        .values_panic([
            c.id.into(),
            ws.into(),
            c.record_id.into(),
            c.task_id.into(),
            c.body.clone().into(),
            c.author_id.into(),
            s.ts(c.created_at).into(),
            s.ts(c.updated_at).into(),
        ])
        .to_owned();
    s.execute(&q).await?;
    Ok(())
}
