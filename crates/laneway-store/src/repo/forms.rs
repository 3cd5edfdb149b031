//! Public forms whose submissions become records (spec §7).

use laneway_core::model::{FieldDef, Form};
use sea_query::{Alias, Expr, LockType, Query, SelectStatement};
use uuid::Uuid;

use crate::listing::{Ctx, Field, Kind, ListSpec, Listed, Registry};
use crate::tables::Forms as F;
use crate::{FromRow, Row, Session, StoreError, StoreResult};

/// Where a form's submissions are posted, under `/api/v1`.
pub fn submit_path(id: Uuid) -> String {
    format!("/api/v1/public/forms/{id}/submit")
}

impl FromRow for Form {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        let fields: Vec<FieldDef> = serde_json::from_value(r.json("fields")?)
            .map_err(|e| StoreError::Decode(format!("form fields: {e}")))?;
        let id = r.uuid("id")?;
        Ok(Form {
            id,
            name: r.string("name")?,
            object_type: r.string_opt("object_type")?.unwrap_or_default(),
            object_type_id: r.uuid("object_type_id")?,
            pipeline_id: r.uuid_opt("pipeline_id")?,
            stage_id: r.uuid_opt("stage_id")?,
            fields,
            title_field: r.string_opt("title_field")?,
            submit_path: submit_path(id),
            created_at: r.ts("created_at")?,
            updated_at: r.ts("updated_at")?,
            deleted_at: r.ts_opt("deleted_at")?,
        })
    }
}

fn select() -> SelectStatement {
    Query::select()
        .columns([
            F::Id,
            F::Name,
            F::ObjectTypeId,
            F::PipelineId,
            F::StageId,
            F::Fields,
            F::TitleField,
            F::CreatedAt,
            F::UpdatedAt,
            F::DeletedAt,
        ])
        .expr_as(
            Expr::cust(
                r#"(SELECT "object_types"."slug" FROM "object_types" WHERE "object_types"."id" = "forms"."object_type_id")"#,
            ),
            Alias::new("object_type"),
        )
        .from(F::Table)
        .and_where(Expr::col((F::Table, F::DeletedAt)).is_null())
        .to_owned()
}

fn in_ws(ws: &str) -> SelectStatement {
    select()
        .and_where(Expr::col((F::Table, F::WorkspaceId)).eq(ws))
        .to_owned()
}

/// The filterable and sortable fields of forms.
pub fn registry() -> Registry {
    Registry::new(
        "forms",
        vec![
            Field::col("id", Kind::Id),
            Field::col("name", Kind::Text),
            Field::col("object_type_id", Kind::Id),
            Field::col("pipeline_id", Kind::Id).nullable(),
            Field::col("stage_id", Kind::Id).nullable(),
            Field::col("created_at", Kind::Datetime),
            Field::col("updated_at", Kind::Datetime),
            Field::rel(
                "object_type.slug",
                "object_type_id",
                "object_types",
                "slug",
                None,
                false,
            ),
            Field::rel(
                "pipeline.slug",
                "pipeline_id",
                "pipelines",
                "slug",
                None,
                false,
            ),
        ],
    )
}

pub async fn list(
    s: &mut Session,
    ws: &str,
    reg: &Registry,
    ctx: &Ctx,
    spec: &ListSpec,
) -> StoreResult<Listed<Form>> {
    crate::listing::run(s, in_ws(ws), reg, ctx, spec).await
}

pub async fn get(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<Form> {
    s.fetch_one(
        &in_ws(ws)
            .and_where(Expr::col((F::Table, F::Id)).eq(id))
            .to_owned(),
    )
    .await
}

/// The live forms of a workspace that fill one object type, oldest first.
pub async fn of_object_type(
    s: &mut Session,
    ws: &str,
    object_type_id: Uuid,
) -> StoreResult<Vec<Form>> {
    let q = in_ws(ws)
        .and_where(Expr::col((F::Table, F::ObjectTypeId)).eq(object_type_id))
        .and_where(Expr::col((F::Table, F::DeletedAt)).is_null())
        .order_by((F::Table, F::CreatedAt), sea_query::Order::Asc)
        .order_by((F::Table, F::Id), sea_query::Order::Asc)
        .to_owned();
    s.fetch_all(&q).await
}

pub async fn get_for_update(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<Form> {
    let q = in_ws(ws)
        .and_where(Expr::col((F::Table, F::Id)).eq(id))
        .lock_with_tables(LockType::Update, [F::Table])
        .to_owned();
    s.fetch_one(&q).await
}

/// A live form by id alone (the public submit endpoint), with its workspace.
pub async fn public(s: &mut Session, id: Uuid) -> StoreResult<(String, Form)> {
    let q = select()
        .column((F::Table, F::WorkspaceId))
        .and_where(Expr::col((F::Table, F::Id)).eq(id))
        .to_owned();
    let r: WithWs = s.fetch_one(&q).await?;
    Ok((r.0, r.1))
}

struct WithWs(String, Form);

impl FromRow for WithWs {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(WithWs(r.string("workspace_id")?, Form::from_row(r)?))
    }
}

fn fields_json(fields: &[FieldDef]) -> sea_query::Value {
    serde_json::to_value(fields)
        .unwrap_or_else(|_| serde_json::Value::Array(vec![]))
        .into()
}

pub async fn insert(s: &mut Session, ws: &str, f: &Form) -> StoreResult<()> {
    let q = Query::insert()
        .into_table(F::Table)
        .columns([
            F::Id,
            F::WorkspaceId,
            F::Name,
            F::ObjectTypeId,
            F::PipelineId,
            F::StageId,
            F::Fields,
            F::TitleField,
            F::CreatedAt,
            F::UpdatedAt,
        ])
        .values_panic([
            f.id.into(),
            ws.into(),
            f.name.clone().into(),
            f.object_type_id.into(),
            f.pipeline_id.into(),
            f.stage_id.into(),
            fields_json(&f.fields).into(),
            f.title_field.clone().into(),
            s.ts(f.created_at).into(),
            s.ts(f.updated_at).into(),
        ])
        .to_owned();
    s.execute(&q).await?;
    Ok(())
}

pub async fn update(s: &mut Session, ws: &str, f: &Form) -> StoreResult<()> {
    let q = Query::update()
        .table(F::Table)
        .values([
            (F::Name, f.name.clone().into()),
            (F::ObjectTypeId, f.object_type_id.into()),
            (F::PipelineId, f.pipeline_id.into()),
            (F::StageId, f.stage_id.into()),
            (F::Fields, fields_json(&f.fields).into()),
            (F::TitleField, f.title_field.clone().into()),
            (F::UpdatedAt, s.ts(f.updated_at).into()),
            (F::DeletedAt, s.ts_opt(f.deleted_at).into()),
        ])
        .and_where(Expr::col(F::WorkspaceId).eq(ws))
        .and_where(Expr::col(F::Id).eq(f.id))
        .and_where(Expr::col(F::DeletedAt).is_null())
        .to_owned();
    match s.execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}
