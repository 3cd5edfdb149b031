//! Object types, pipelines and stages.

use laneway_core::model::{FieldDef, ObjectType, Pipeline, Stage};
use laneway_core::time::Timestamp;
use sea_query::{Expr, Order, Query, SelectStatement};
use uuid::Uuid;

use super::count_of;
use crate::row::Count;
use crate::tables::{ObjectTypes as OT, Pipelines as P, Records as R, Stages as S};
use crate::{FromRow, Row, Session, StoreError, StoreResult};

impl FromRow for ObjectType {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        let fields: Vec<FieldDef> = serde_json::from_value(r.json("fields")?)
            .map_err(|e| StoreError::Decode(format!("fields: {e}")))?;
        Ok(ObjectType {
            id: r.uuid("id")?,
            name: r.string("name")?,
            slug: r.string("slug")?,
            icon: r.string_opt("icon")?,
            fields,
        })
    }
}

impl FromRow for Stage {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(Stage {
            id: r.uuid("id")?,
            name: r.string("name")?,
            slug: r.string("slug")?,
            position: r.i64("position")?,
            pipeline_id: Some(r.uuid("pipeline_id")?),
        })
    }
}

struct PipelineRow {
    id: Uuid,
    name: String,
    slug: String,
}

impl FromRow for PipelineRow {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(PipelineRow {
            id: r.uuid("id")?,
            name: r.string("name")?,
            slug: r.string("slug")?,
        })
    }
}

fn fields_json(fields: &[FieldDef]) -> sea_query::Value {
    serde_json::to_value(fields)
        .unwrap_or_else(|_| serde_json::Value::Array(vec![]))
        .into()
}

// ---- object types ------------------------------------------------------------------------

fn select_object_types(ws: &str) -> SelectStatement {
    Query::select()
        .columns([OT::Id, OT::Name, OT::Slug, OT::Icon, OT::Fields])
        .from(OT::Table)
        .and_where(Expr::col(OT::WorkspaceId).eq(ws))
        .and_where(Expr::col(OT::DeletedAt).is_null())
        .to_owned()
}

pub async fn list_object_types(s: &mut Session, ws: &str) -> StoreResult<Vec<ObjectType>> {
    let q = select_object_types(ws)
        .order_by(OT::CreatedAt, Order::Asc)
        .order_by(OT::Id, Order::Asc)
        .to_owned();
    s.fetch_all(&q).await
}

pub async fn get_object_type(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<ObjectType> {
    let q = select_object_types(ws)
        .and_where(Expr::col(OT::Id).eq(id))
        .to_owned();
    s.fetch_one(&q).await
}

pub async fn find_object_type_by_slug(
    s: &mut Session,
    ws: &str,
    slug: &str,
) -> StoreResult<Option<ObjectType>> {
    let q = select_object_types(ws)
        .and_where(Expr::col(OT::Slug).eq(slug))
        .to_owned();
    s.fetch_optional(&q).await
}

pub async fn insert_object_type(
    s: &mut Session,
    ws: &str,
    t: &ObjectType,
    at: Timestamp,
) -> StoreResult<()> {
    let q = Query::insert()
        .into_table(OT::Table)
        .columns([
            OT::Id,
            OT::WorkspaceId,
            OT::Name,
            OT::Slug,
            OT::Icon,
            OT::Fields,
            OT::CreatedAt,
            OT::UpdatedAt,
        ])
        .values_panic([
            t.id.into(),
            ws.into(),
            t.name.clone().into(),
            t.slug.clone().into(),
            t.icon.clone().into(),
            fields_json(&t.fields).into(),
            s.ts(at).into(),
            s.ts(at).into(),
        ])
        .to_owned();
    s.execute(&q).await?;
    Ok(())
}

pub async fn update_object_type(
    s: &mut Session,
    ws: &str,
    t: &ObjectType,
    at: Timestamp,
) -> StoreResult<()> {
    let q = Query::update()
        .table(OT::Table)
        .values([
            (OT::Name, t.name.clone().into()),
            (OT::Slug, t.slug.clone().into()),
            (OT::Icon, t.icon.clone().into()),
            (OT::Fields, fields_json(&t.fields).into()),
            (OT::UpdatedAt, s.ts(at).into()),
        ])
        .and_where(Expr::col(OT::WorkspaceId).eq(ws))
        .and_where(Expr::col(OT::Id).eq(t.id))
        .and_where(Expr::col(OT::DeletedAt).is_null())
        .to_owned();
    match s.execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub async fn delete_object_type(
    s: &mut Session,
    ws: &str,
    id: Uuid,
    at: Timestamp,
) -> StoreResult<()> {
    let q = Query::update()
        .table(OT::Table)
        .values([
            (OT::DeletedAt, s.ts(at).into()),
            (OT::UpdatedAt, s.ts(at).into()),
        ])
        .and_where(Expr::col(OT::WorkspaceId).eq(ws))
        .and_where(Expr::col(OT::Id).eq(id))
        .and_where(Expr::col(OT::DeletedAt).is_null())
        .to_owned();
    match s.execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

fn live_records(ws: &str) -> SelectStatement {
    Query::select()
        .from(R::Table)
        .and_where(Expr::col(R::WorkspaceId).eq(ws))
        .and_where(Expr::col(R::DeletedAt).is_null())
        .to_owned()
}

pub async fn count_records_of_type(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<i64> {
    let q = live_records(ws)
        .and_where(Expr::col(R::ObjectTypeId).eq(id))
        .to_owned();
    Ok(s.fetch_one::<Count, _>(&count_of(&q)).await?.0)
}

pub async fn count_records_in_pipeline(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<i64> {
    let q = live_records(ws)
        .and_where(Expr::col(R::PipelineId).eq(id))
        .to_owned();
    Ok(s.fetch_one::<Count, _>(&count_of(&q)).await?.0)
}

pub async fn count_records_in_stage(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<i64> {
    let q = live_records(ws)
        .and_where(Expr::col(R::StageId).eq(id))
        .to_owned();
    Ok(s.fetch_one::<Count, _>(&count_of(&q)).await?.0)
}

// ---- pipelines and stages ------------------------------------------------------------------

fn select_stages(ws: &str) -> SelectStatement {
    Query::select()
        .columns([S::Id, S::PipelineId, S::Name, S::Slug, S::Position])
        .from(S::Table)
        .and_where(Expr::col(S::WorkspaceId).eq(ws))
        .order_by(S::Position, Order::Asc)
        .order_by(S::Id, Order::Asc)
        .to_owned()
}

fn assemble(rows: Vec<PipelineRow>, stages: Vec<Stage>) -> Vec<Pipeline> {
    rows.into_iter()
        .map(|p| Pipeline {
            stages: stages
                .iter()
                .filter(|s| s.pipeline_id == Some(p.id))
                .cloned()
                .collect(),
            id: p.id,
            name: p.name,
            slug: p.slug,
        })
        .collect()
}

/// Every pipeline of the workspace with its stages in board order.
pub async fn list_pipelines(s: &mut Session, ws: &str) -> StoreResult<Vec<Pipeline>> {
    let q = Query::select()
        .columns([P::Id, P::Name, P::Slug])
        .from(P::Table)
        .and_where(Expr::col(P::WorkspaceId).eq(ws))
        .order_by(P::CreatedAt, Order::Asc)
        .order_by(P::Id, Order::Asc)
        .to_owned();
    let rows: Vec<PipelineRow> = s.fetch_all(&q).await?;
    let stages: Vec<Stage> = s.fetch_all(&select_stages(ws)).await?;
    Ok(assemble(rows, stages))
}

pub async fn get_pipeline(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<Pipeline> {
    let q = Query::select()
        .columns([P::Id, P::Name, P::Slug])
        .from(P::Table)
        .and_where(Expr::col(P::WorkspaceId).eq(ws))
        .and_where(Expr::col(P::Id).eq(id))
        .to_owned();
    let row: PipelineRow = s.fetch_one(&q).await?;
    let stages: Vec<Stage> = s
        .fetch_all(
            &select_stages(ws)
                .and_where(Expr::col(S::PipelineId).eq(id))
                .to_owned(),
        )
        .await?;
    Ok(assemble(vec![row], stages).remove(0))
}

pub async fn insert_pipeline(
    s: &mut Session,
    ws: &str,
    p: &Pipeline,
    at: Timestamp,
) -> StoreResult<()> {
    let q = Query::insert()
        .into_table(P::Table)
        .columns([
            P::Id,
            P::WorkspaceId,
            P::Name,
            P::Slug,
            P::CreatedAt,
            P::UpdatedAt,
        ])
        .values_panic([
            p.id.into(),
            ws.into(),
            p.name.clone().into(),
            p.slug.clone().into(),
            s.ts(at).into(),
            s.ts(at).into(),
        ])
        .to_owned();
    s.execute(&q).await?;
    for st in &p.stages {
        insert_stage(s, ws, p.id, st, at).await?;
    }
    Ok(())
}

pub async fn update_pipeline(
    s: &mut Session,
    ws: &str,
    id: Uuid,
    name: &str,
    slug: &str,
    at: Timestamp,
) -> StoreResult<()> {
    let q = Query::update()
        .table(P::Table)
        .values([
            (P::Name, name.into()),
            (P::Slug, slug.into()),
            (P::UpdatedAt, s.ts(at).into()),
        ])
        .and_where(Expr::col(P::WorkspaceId).eq(ws))
        .and_where(Expr::col(P::Id).eq(id))
        .to_owned();
    match s.execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Deletes a pipeline and (by cascade) its stages; soft-deleted records keep no stage.
pub async fn delete_pipeline(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<()> {
    let q = Query::delete()
        .from_table(P::Table)
        .and_where(Expr::col(P::WorkspaceId).eq(ws))
        .and_where(Expr::col(P::Id).eq(id))
        .to_owned();
    match s.execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Locks a stage's row until the transaction ends (PostgreSQL; SQLite's write transaction
/// already excludes other writers), so concurrent appends to one column see each other's
/// positions.
/// Returns whether the stage (still) exists.
pub async fn lock_stage(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<bool> {
    let q = Query::select()
        .column(S::Id)
        .from(S::Table)
        .and_where(Expr::col(S::WorkspaceId).eq(ws))
        .and_where(Expr::col(S::Id).eq(id))
        .lock(sea_query::LockType::Update)
        .to_owned();
    Ok(s.fetch_optional::<Present, _>(&q).await?.is_some())
}

/// A row that is there; its columns do not matter.
struct Present;

impl FromRow for Present {
    fn from_row(_: &dyn Row) -> StoreResult<Self> {
        Ok(Present)
    }
}

pub async fn get_stage(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<Stage> {
    s.fetch_one(
        &select_stages(ws)
            .and_where(Expr::col(S::Id).eq(id))
            .to_owned(),
    )
    .await
}

pub async fn insert_stage(
    s: &mut Session,
    ws: &str,
    pipeline: Uuid,
    st: &Stage,
    at: Timestamp,
) -> StoreResult<()> {
    let q = Query::insert()
        .into_table(S::Table)
        .columns([
            S::Id,
            S::WorkspaceId,
            S::PipelineId,
            S::Name,
            S::Slug,
            S::Position,
            S::CreatedAt,
            S::UpdatedAt,
        ])
        .values_panic([
            st.id.into(),
            ws.into(),
            pipeline.into(),
            st.name.clone().into(),
            st.slug.clone().into(),
            st.position.into(),
            s.ts(at).into(),
            s.ts(at).into(),
        ])
        .to_owned();
    s.execute(&q).await?;
    Ok(())
}

/// Writes a stage's name, slug and position.
pub async fn update_stage(s: &mut Session, ws: &str, st: &Stage, at: Timestamp) -> StoreResult<()> {
    let q = Query::update()
        .table(S::Table)
        .values([
            (S::Name, st.name.clone().into()),
            (S::Slug, st.slug.clone().into()),
            (S::Position, st.position.into()),
            (S::UpdatedAt, s.ts(at).into()),
        ])
        .and_where(Expr::col(S::WorkspaceId).eq(ws))
        .and_where(Expr::col(S::Id).eq(st.id))
        .to_owned();
    match s.execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

pub async fn delete_stage(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<()> {
    let q = Query::delete()
        .from_table(S::Table)
        .and_where(Expr::col(S::WorkspaceId).eq(ws))
        .and_where(Expr::col(S::Id).eq(id))
        .to_owned();
    match s.execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}
