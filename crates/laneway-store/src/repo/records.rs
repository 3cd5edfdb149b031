use laneway_core::model::{ObjectTypeRef, Record};
use sea_query::{Alias, Expr, LockType, Order, Query, SelectStatement};
use uuid::Uuid;

use super::{count_of, like_contains, search_text};
use crate::listing::{Ctx, Field, Kind, ListSpec, Listed, Registry};
use crate::row::Count;
use crate::tables::{ObjectTypes as OT, Records as R};
use crate::{FromRow, Row, Session, StoreError, StoreResult};

impl FromRow for Record {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(Record {
            id: r.uuid("id")?,
            title: r.string("title")?,
            object_type_id: r.uuid("object_type_id")?,
            pipeline_id: r.uuid_opt("pipeline_id")?,
            stage_id: r.uuid_opt("stage_id")?,
            assignee_id: r.uuid_opt("assignee_id")?,
            position: r.string_opt("position")?,
            data: r.json("data")?,
            created_at: r.ts("created_at")?,
            updated_at: r.ts("updated_at")?,
            deleted_at: r.ts_opt("deleted_at")?,
            object_types: ObjectTypeRef {
                name: r.string("ot_name")?,
                slug: r.string("ot_slug")?,
                icon: r.string_opt("ot_icon")?,
            },
        })
    }
}

/// Live records of a workspace, joined with their object type.
fn select(ws: &str) -> SelectStatement {
    Query::select()
        .columns([
            (R::Table, R::Id),
            (R::Table, R::Title),
            (R::Table, R::ObjectTypeId),
            (R::Table, R::PipelineId),
            (R::Table, R::StageId),
            (R::Table, R::AssigneeId),
            (R::Table, R::Position),
            (R::Table, R::Data),
            (R::Table, R::CreatedAt),
            (R::Table, R::UpdatedAt),
            (R::Table, R::DeletedAt),
        ])
        .expr_as(Expr::col((OT::Table, OT::Name)), Alias::new("ot_name"))
        .expr_as(Expr::col((OT::Table, OT::Slug)), Alias::new("ot_slug"))
        .expr_as(Expr::col((OT::Table, OT::Icon)), Alias::new("ot_icon"))
        .from(R::Table)
        .inner_join(
            OT::Table,
            Expr::col((OT::Table, OT::Id)).equals((R::Table, R::ObjectTypeId)),
        )
        .and_where(Expr::col((R::Table, R::WorkspaceId)).eq(ws))
        .and_where(Expr::col((R::Table, R::DeletedAt)).is_null())
        .to_owned()
}

/// The simple list parameters of `GET /records`.
#[derive(Debug, Default, Clone)]
pub struct RecordQuery {
    pub object_type_id: Option<Uuid>,
    pub search: Option<String>,
    pub assignee_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
    pub pipeline_id: Option<Uuid>,
}

/// The filterable and sortable fields of records; `data.<key>` typed by `declared`.
pub fn registry(declared: std::collections::BTreeMap<String, Kind>) -> Registry {
    Registry::new(
        "records",
        vec![
            Field::col("id", Kind::Id),
            Field::col("title", Kind::Text).searchable("title_search"),
            Field::col("object_type_id", Kind::Id),
            Field::col("pipeline_id", Kind::Id).nullable(),
            Field::col("stage_id", Kind::Id).nullable(),
            Field::col("assignee_id", Kind::Id).nullable(),
            Field::col("position", Kind::Text).nullable(),
            Field::col("created_at", Kind::Datetime),
            Field::col("updated_at", Kind::Datetime),
            Field::rel("stage.slug", "stage_id", "stages", "slug", None, false),
            Field::rel("stage.name", "stage_id", "stages", "name", None, false),
            Field::rel(
                "pipeline.slug",
                "pipeline_id",
                "pipelines",
                "slug",
                None,
                false,
            ),
            Field::rel(
                "pipeline.name",
                "pipeline_id",
                "pipelines",
                "name",
                None,
                false,
            ),
            Field::rel(
                "object_type.slug",
                "object_type_id",
                "object_types",
                "slug",
                None,
                true,
            ),
            Field::rel(
                "object_type.name",
                "object_type_id",
                "object_types",
                "name",
                None,
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
    .with_data("data", declared)
}

/// Live records of a workspace narrowed by the simple list parameters.
pub fn base(ws: &str, f: &RecordQuery) -> SelectStatement {
    let mut q = select(ws);
    if let Some(t) = f.object_type_id {
        q.and_where(Expr::col((R::Table, R::ObjectTypeId)).eq(t));
    }
    if let Some(a) = f.assignee_id {
        q.and_where(Expr::col((R::Table, R::AssigneeId)).eq(a));
    }
    if let Some(st) = f.stage_id {
        q.and_where(Expr::col((R::Table, R::StageId)).eq(st));
    }
    if let Some(p) = f.pipeline_id {
        q.and_where(Expr::col((R::Table, R::PipelineId)).eq(p));
    }
    if let Some(term) = f.search.as_deref().filter(|t| !t.is_empty()) {
        q.and_where(like_contains(
            Expr::col((R::Table, R::TitleSearch)).into(),
            term,
        ));
    }
    q
}

pub async fn list(
    s: &mut Session,
    ws: &str,
    f: &RecordQuery,
    reg: &Registry,
    ctx: &Ctx,
    spec: &ListSpec,
) -> StoreResult<Listed<Record>> {
    crate::listing::run(s, base(ws, f), reg, ctx, spec).await
}

pub async fn get(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<Record> {
    let q = select(ws)
        .and_where(Expr::col((R::Table, R::Id)).eq(id))
        .to_owned();
    s.fetch_one(&q).await
}

/// Whether a record exists in the workspace, deleted or not (its audit trail outlives it).
pub async fn exists_any(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<bool> {
    let q = Query::select()
        .column(R::Id)
        .from(R::Table)
        .and_where(Expr::col(R::WorkspaceId).eq(ws))
        .and_where(Expr::col(R::Id).eq(id))
        .to_owned();
    Ok(s.fetch_one::<Count, _>(&count_of(&q)).await?.0 > 0)
}

/// Reads a record for a change, locking its row on PostgreSQL until the transaction ends.
pub async fn get_for_update(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<Record> {
    let q = select(ws)
        .and_where(Expr::col((R::Table, R::Id)).eq(id))
        .lock_with_tables(LockType::Update, [R::Table])
        .to_owned();
    s.fetch_one(&q).await
}

/// Live records of a stage in board order.
pub async fn list_in_stage(s: &mut Session, ws: &str, stage: Uuid) -> StoreResult<Vec<Record>> {
    let q = select(ws)
        .and_where(Expr::col((R::Table, R::StageId)).eq(stage))
        .order_by((R::Table, R::Position), Order::Asc)
        .order_by((R::Table, R::Id), Order::Asc)
        .to_owned();
    s.fetch_all(&q).await
}

/// Live records assigned to a member.
pub async fn list_assigned(s: &mut Session, ws: &str, member: Uuid) -> StoreResult<Vec<Record>> {
    let q = select(ws)
        .and_where(Expr::col((R::Table, R::AssigneeId)).eq(member))
        .lock_with_tables(LockType::Update, [R::Table])
        .to_owned();
    s.fetch_all(&q).await
}

/// The greatest position in a stage, to append after it.
pub async fn last_position(s: &mut Session, ws: &str, stage: Uuid) -> StoreResult<Option<String>> {
    struct P(Option<String>);
    impl FromRow for P {
        fn from_row(r: &dyn Row) -> StoreResult<Self> {
            Ok(P(r.string_opt("position")?))
        }
    }
    let q = Query::select()
        .column(R::Position)
        .from(R::Table)
        .and_where(Expr::col(R::WorkspaceId).eq(ws))
        .and_where(Expr::col(R::StageId).eq(stage))
        .and_where(Expr::col(R::DeletedAt).is_null())
        .and_where(Expr::col(R::Position).is_not_null())
        .order_by(R::Position, Order::Desc)
        .limit(1)
        .to_owned();
    Ok(s.fetch_optional::<P, _>(&q).await?.and_then(|p| p.0))
}

pub async fn insert(s: &mut Session, ws: &str, r: &Record) -> StoreResult<()> {
    let q = Query::insert()
        .into_table(R::Table)
        .columns([
            R::Id,
            R::WorkspaceId,
            R::ObjectTypeId,
            R::PipelineId,
            R::StageId,
            R::AssigneeId,
            R::Title,
            R::TitleSearch,
            R::Data,
            R::Position,
            R::CreatedAt,
            R::UpdatedAt,
        ])
        .values_panic([
            r.id.into(),
            ws.into(),
            r.object_type_id.into(),
            r.pipeline_id.into(),
            r.stage_id.into(),
            r.assignee_id.into(),
            r.title.clone().into(),
            search_text(&r.title).into(),
            r.data.clone().into(),
            r.position.clone().into(),
            s.ts(r.created_at).into(),
            s.ts(r.updated_at).into(),
        ])
        .to_owned();
    s.execute(&q).await?;
    Ok(())
}

/// Writes every mutable column of a live record (and `deleted_at`, for soft deletes).
pub async fn update(s: &mut Session, ws: &str, r: &Record) -> StoreResult<()> {
    let q = Query::update()
        .table(R::Table)
        .values([
            (R::Title, r.title.clone().into()),
            (R::TitleSearch, search_text(&r.title).into()),
            (R::Data, r.data.clone().into()),
            (R::AssigneeId, r.assignee_id.into()),
            (R::PipelineId, r.pipeline_id.into()),
            (R::StageId, r.stage_id.into()),
            (R::Position, r.position.clone().into()),
            (R::UpdatedAt, s.ts(r.updated_at).into()),
            (R::DeletedAt, s.ts_opt(r.deleted_at).into()),
        ])
        .and_where(Expr::col(R::WorkspaceId).eq(ws))
        .and_where(Expr::col(R::Id).eq(r.id))
        .and_where(Expr::col(R::DeletedAt).is_null())
        .to_owned();
    match s.execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}
