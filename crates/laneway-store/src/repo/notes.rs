//! Notes on records, pipelines (boards) or the workspace (spec §7).

use laneway_core::model::Note;
use sea_query::{Expr, LockType, Query, SelectStatement};
use uuid::Uuid;

use crate::listing::{Ctx, Field, Kind, ListSpec, Listed, Registry};
use crate::tables::Notes as N;
use crate::{FromRow, Row, Session, StoreError, StoreResult};

impl FromRow for Note {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(Note {
            id: r.uuid("id")?,
            title: r.string("title")?,
            body: r.string("body")?,
            record_id: r.uuid_opt("record_id")?,
            pipeline_id: r.uuid_opt("pipeline_id")?,
            author_id: r.uuid_opt("author_id")?,
            created_at: r.ts("created_at")?,
            updated_at: r.ts("updated_at")?,
            deleted_at: r.ts_opt("deleted_at")?,
        })
    }
}

fn select(ws: &str) -> SelectStatement {
    Query::select()
        .columns([
            N::Id,
            N::Title,
            N::Body,
            N::RecordId,
            N::PipelineId,
            N::AuthorId,
            N::CreatedAt,
            N::UpdatedAt,
            N::DeletedAt,
        ])
        .from(N::Table)
        .and_where(Expr::col(N::WorkspaceId).eq(ws))
        .and_where(Expr::col(N::DeletedAt).is_null())
        .to_owned()
}

/// The simple list parameters of `GET /notes`.
#[derive(Debug, Default, Clone)]
pub struct NoteQuery {
    pub record_id: Option<Uuid>,
    pub pipeline_id: Option<Uuid>,
}

/// The filterable and sortable fields of notes.
pub fn registry() -> Registry {
    Registry::new(
        "notes",
        vec![
            Field::col("id", Kind::Id),
            Field::col("title", Kind::Text),
            Field::col("body", Kind::Text).unsortable(),
            Field::col("record_id", Kind::Id).nullable(),
            Field::col("pipeline_id", Kind::Id).nullable(),
            Field::col("author_id", Kind::Id).nullable(),
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
            Field::rel("author.email", "author_id", "members", "email", None, true),
            Field::rel("author.name", "author_id", "members", "name", None, true),
        ],
    )
}

/// Live notes of a workspace narrowed by the simple list parameters.
pub fn base(ws: &str, f: &NoteQuery) -> SelectStatement {
    let mut q = select(ws);
    if let Some(r) = f.record_id {
        q.and_where(Expr::col(N::RecordId).eq(r));
    }
    if let Some(p) = f.pipeline_id {
        q.and_where(Expr::col(N::PipelineId).eq(p));
    }
    q
}

pub async fn list(
    s: &mut Session,
    ws: &str,
    f: &NoteQuery,
    reg: &Registry,
    ctx: &Ctx,
    spec: &ListSpec,
) -> StoreResult<Listed<Note>> {
    crate::listing::run(s, base(ws, f), reg, ctx, spec).await
}

pub async fn get(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<Note> {
    s.fetch_one(&select(ws).and_where(Expr::col(N::Id).eq(id)).to_owned())
        .await
}

pub async fn get_for_update(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<Note> {
    let q = select(ws)
        .and_where(Expr::col(N::Id).eq(id))
        .lock(LockType::Update)
        .to_owned();
    s.fetch_one(&q).await
}

/// The live notes of a pipeline, locked: they are deleted with it.
pub async fn of_pipeline_for_update(
    s: &mut Session,
    ws: &str,
    pipeline: Uuid,
) -> StoreResult<Vec<Note>> {
    let q = select(ws)
        .and_where(Expr::col(N::PipelineId).eq(pipeline))
        .lock(LockType::Update)
        .to_owned();
    s.fetch_all(&q).await
}

pub async fn insert(s: &mut Session, ws: &str, n: &Note) -> StoreResult<()> {
    let q = Query::insert()
        .into_table(N::Table)
        .columns([
            N::Id,
            N::WorkspaceId,
            N::Title,
            N::Body,
            N::RecordId,
            N::PipelineId,
            N::AuthorId,
            N::CreatedAt,
            N::UpdatedAt,
        ])
        .values_panic([
            n.id.into(),
            ws.into(),
            n.title.clone().into(),
            n.body.clone().into(),
            n.record_id.into(),
            n.pipeline_id.into(),
            n.author_id.into(),
            s.ts(n.created_at).into(),
            s.ts(n.updated_at).into(),
        ])
        .to_owned();
    s.execute(&q).await?;
    Ok(())
}

pub async fn update(s: &mut Session, ws: &str, n: &Note) -> StoreResult<()> {
    let q = Query::update()
        .table(N::Table)
        .values([
            (N::Title, n.title.clone().into()),
            (N::Body, n.body.clone().into()),
            (N::RecordId, n.record_id.into()),
            (N::PipelineId, n.pipeline_id.into()),
            (N::UpdatedAt, s.ts(n.updated_at).into()),
            (N::DeletedAt, s.ts_opt(n.deleted_at).into()),
        ])
        .and_where(Expr::col(N::WorkspaceId).eq(ws))
        .and_where(Expr::col(N::Id).eq(n.id))
        .and_where(Expr::col(N::DeletedAt).is_null())
        .to_owned();
    match s.execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}
