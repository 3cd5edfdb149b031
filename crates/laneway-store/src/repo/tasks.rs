use laneway_core::model::Task;
use sea_query::{Expr, LockType, Query, SelectStatement};
use uuid::Uuid;

use crate::listing::{Ctx, Field, Kind, ListSpec, Listed, Registry};
use crate::tables::Tasks as T;
use crate::{FromRow, Row, Session, StoreError, StoreResult};

impl FromRow for Task {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(Task {
            id: r.uuid("id")?,
            title: r.string("title")?,
            record_id: r.uuid_opt("record_id")?,
            assignee_id: r.uuid_opt("assignee_id")?,
            due_date: r.date_opt("due_date")?,
            notes: r.string_opt("notes")?,
            completed: r.bool("completed")?,
            completed_at: r.ts_opt("completed_at")?,
            created_at: r.ts("created_at")?,
            updated_at: r.ts("updated_at")?,
            deleted_at: r.ts_opt("deleted_at")?,
        })
    }
}

fn select(ws: &str) -> SelectStatement {
    Query::select()
        .columns([
            T::Id,
            T::Title,
            T::RecordId,
            T::AssigneeId,
            T::DueDate,
            T::Notes,
            T::Completed,
            T::CompletedAt,
            T::CreatedAt,
            T::UpdatedAt,
            T::DeletedAt,
        ])
        .from(T::Table)
        .and_where(Expr::col(T::WorkspaceId).eq(ws))
        .and_where(Expr::col(T::DeletedAt).is_null())
        .to_owned()
}

/// The simple list parameters of `GET /records/tasks`.
#[derive(Debug, Default, Clone)]
pub struct TaskQuery {
    pub record_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub completed: Option<bool>,
}

/// The filterable and sortable fields of tasks.
pub fn registry() -> Registry {
    Registry::new(
        "tasks",
        vec![
            Field::col("id", Kind::Id),
            Field::col("title", Kind::Text),
            Field::col("notes", Kind::Text).nullable(),
            Field::col("record_id", Kind::Id).nullable(),
            Field::col("assignee_id", Kind::Id).nullable(),
            Field::col("due_date", Kind::Date).nullable(),
            Field::col("completed", Kind::Bool),
            Field::col("completed_at", Kind::Datetime).nullable(),
            Field::col("created_at", Kind::Datetime),
            Field::col("updated_at", Kind::Datetime),
            Field::rel(
                "record.title",
                "record_id",
                "records",
                "title",
                Some("title_search"),
                true,
            ),
            Field::rel(
                "assignee.email",
                "assignee_id",
                "members",
                "email",
                None,
                true,
            ),
            Field::rel(
                "assignee.name",
                "assignee_id",
                "members",
                "name",
                None,
                true,
            ),
        ],
    )
}

/// Live tasks of a workspace narrowed by the simple list parameters.
pub fn base(ws: &str, f: &TaskQuery) -> SelectStatement {
    let mut q = select(ws);
    if let Some(r) = f.record_id {
        q.and_where(Expr::col(T::RecordId).eq(r));
    }
    if let Some(a) = f.assignee_id {
        q.and_where(Expr::col(T::AssigneeId).eq(a));
    }
    if let Some(c) = f.completed {
        q.and_where(Expr::col(T::Completed).eq(c));
    }
    q
}

pub async fn list(
    s: &mut Session,
    ws: &str,
    f: &TaskQuery,
    reg: &Registry,
    ctx: &Ctx,
    spec: &ListSpec,
) -> StoreResult<Listed<Task>> {
    crate::listing::run(s, base(ws, f), reg, ctx, spec).await
}

pub async fn get(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<Task> {
    s.fetch_one(&select(ws).and_where(Expr::col(T::Id).eq(id)).to_owned())
        .await
}

pub async fn get_for_update(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<Task> {
    let q = select(ws)
        .and_where(Expr::col(T::Id).eq(id))
        .lock(LockType::Update)
        .to_owned();
    s.fetch_one(&q).await
}

pub async fn list_assigned(s: &mut Session, ws: &str, member: Uuid) -> StoreResult<Vec<Task>> {
    let q = select(ws)
        .and_where(Expr::col(T::AssigneeId).eq(member))
        .lock(LockType::Update)
        .to_owned();
    s.fetch_all(&q).await
}

pub async fn insert(s: &mut Session, ws: &str, t: &Task) -> StoreResult<()> {
    let q = Query::insert()
        .into_table(T::Table)
        .columns([
            T::Id,
            T::WorkspaceId,
            T::RecordId,
            T::AssigneeId,
            T::Title,
            T::Notes,
            T::DueDate,
            T::Completed,
            T::CompletedAt,
            T::CreatedAt,
            T::UpdatedAt,
        ])
        .values_panic([
            t.id.into(),
            ws.into(),
            t.record_id.into(),
            t.assignee_id.into(),
            t.title.clone().into(),
            t.notes.clone().into(),
            t.due_date.into(),
            t.completed.into(),
            s.ts_opt(t.completed_at).into(),
            s.ts(t.created_at).into(),
            s.ts(t.updated_at).into(),
        ])
        .to_owned();
    s.execute(&q).await?;
    Ok(())
}

pub async fn update(s: &mut Session, ws: &str, t: &Task) -> StoreResult<()> {
    let q = Query::update()
        .table(T::Table)
        .values([
            (T::Title, t.title.clone().into()),
            (T::RecordId, t.record_id.into()),
            (T::AssigneeId, t.assignee_id.into()),
            (T::Notes, t.notes.clone().into()),
            (T::DueDate, t.due_date.into()),
            (T::Completed, t.completed.into()),
            (T::CompletedAt, s.ts_opt(t.completed_at).into()),
            (T::UpdatedAt, s.ts(t.updated_at).into()),
            (T::DeletedAt, s.ts_opt(t.deleted_at).into()),
        ])
        .and_where(Expr::col(T::WorkspaceId).eq(ws))
        .and_where(Expr::col(T::Id).eq(t.id))
        .and_where(Expr::col(T::DeletedAt).is_null())
        .to_owned();
    match s.execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}
