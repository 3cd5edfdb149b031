//! Contracts on records, and their one-time signing links (spec §7).

use laneway_core::model::{Contract, ContractStatus};
use laneway_core::time::Timestamp;
use sea_query::{Expr, LockType, Query, SelectStatement};
use uuid::Uuid;

use crate::listing::{Ctx, Field, Kind, ListSpec, Listed, Registry};
use crate::tables::Contracts as C;
use crate::{FromRow, Row, Session, StoreError, StoreResult};

impl FromRow for Contract {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        let status = r.string("status")?;
        Ok(Contract {
            id: r.uuid("id")?,
            record_id: r.uuid("record_id")?,
            title: r.string("title")?,
            body: r.string("body")?,
            status: ContractStatus::parse(&status)
                .ok_or_else(|| StoreError::Decode(format!("contract status '{status}'")))?,
            signer_name: r.string_opt("signer_name")?,
            signed_at: r.ts_opt("signed_at")?,
            sent_at: r.ts_opt("sent_at")?,
            created_at: r.ts("created_at")?,
            updated_at: r.ts("updated_at")?,
            deleted_at: r.ts_opt("deleted_at")?,
        })
    }
}

/// A contract found by its signing link, with the workspace it belongs to.
pub struct Signable {
    pub workspace_id: String,
    pub contract: Contract,
    pub expires_at: Option<Timestamp>,
}

impl FromRow for Signable {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(Signable {
            workspace_id: r.string("workspace_id")?,
            contract: Contract::from_row(r)?,
            expires_at: r.ts_opt("sign_token_expires_at")?,
        })
    }
}

const COLUMNS: [C; 11] = [
    C::Id,
    C::RecordId,
    C::Title,
    C::Body,
    C::Status,
    C::SignerName,
    C::SignedAt,
    C::SentAt,
    C::CreatedAt,
    C::UpdatedAt,
    C::DeletedAt,
];

fn select(ws: &str) -> SelectStatement {
    Query::select()
        .columns(COLUMNS)
        .from(C::Table)
        .and_where(Expr::col(C::WorkspaceId).eq(ws))
        .and_where(Expr::col(C::DeletedAt).is_null())
        .to_owned()
}

/// The simple list parameters of `GET /contracts`.
#[derive(Debug, Default, Clone)]
pub struct ContractQuery {
    pub record_id: Option<Uuid>,
    pub status: Option<ContractStatus>,
}

/// The filterable and sortable fields of contracts.
pub fn registry() -> Registry {
    Registry::new(
        "contracts",
        vec![
            Field::col("id", Kind::Id),
            Field::col("record_id", Kind::Id),
            Field::col("title", Kind::Text),
            Field::col("body", Kind::Text).unsortable(),
            Field::col("status", Kind::Enum(ContractStatus::ALL.to_vec())),
            Field::col("signer_name", Kind::Text).nullable(),
            Field::col("signed_at", Kind::Datetime).nullable(),
            Field::col("sent_at", Kind::Datetime).nullable(),
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
        ],
    )
}

pub fn base(ws: &str, f: &ContractQuery) -> SelectStatement {
    let mut q = select(ws);
    if let Some(r) = f.record_id {
        q.and_where(Expr::col(C::RecordId).eq(r));
    }
    if let Some(st) = f.status {
        q.and_where(Expr::col(C::Status).eq(st.as_str()));
    }
    q
}

pub async fn list(
    s: &mut Session,
    ws: &str,
    f: &ContractQuery,
    reg: &Registry,
    ctx: &Ctx,
    spec: &ListSpec,
) -> StoreResult<Listed<Contract>> {
    crate::listing::run(s, base(ws, f), reg, ctx, spec).await
}

pub async fn get(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<Contract> {
    s.fetch_one(&select(ws).and_where(Expr::col(C::Id).eq(id)).to_owned())
        .await
}

pub async fn get_for_update(s: &mut Session, ws: &str, id: Uuid) -> StoreResult<Contract> {
    let q = select(ws)
        .and_where(Expr::col(C::Id).eq(id))
        .lock(LockType::Update)
        .to_owned();
    s.fetch_one(&q).await
}

/// The live contract whose current signing link has this token hash (locked when `lock`).
pub async fn by_token(s: &mut Session, token_hash: &str, lock: bool) -> StoreResult<Signable> {
    let mut q = Query::select()
        .columns(COLUMNS)
        .columns([C::WorkspaceId, C::SignTokenExpiresAt])
        .from(C::Table)
        .and_where(Expr::col(C::SignTokenHash).eq(token_hash))
        .and_where(Expr::col(C::DeletedAt).is_null())
        .to_owned();
    if lock {
        q.lock(LockType::Update);
    }
    s.fetch_one(&q).await
}

pub async fn insert(s: &mut Session, ws: &str, c: &Contract) -> StoreResult<()> {
    let q = Query::insert()
        .into_table(C::Table)
        .columns([
            C::Id,
            C::WorkspaceId,
            C::RecordId,
            C::Title,
            C::Body,
            C::Status,
            C::CreatedAt,
            C::UpdatedAt,
        ])
        .values_panic([
            c.id.into(),
            ws.into(),
            c.record_id.into(),
            c.title.clone().into(),
            c.body.clone().into(),
            c.status.as_str().into(),
            s.ts(c.created_at).into(),
            s.ts(c.updated_at).into(),
        ])
        .to_owned();
    s.execute(&q).await?;
    Ok(())
}

/// What becomes of the signing link in an update.
pub enum Link {
    Keep,
    Clear,
    Set { hash: String, expires_at: Timestamp },
}

pub async fn update(s: &mut Session, ws: &str, c: &Contract, link: Link) -> StoreResult<()> {
    let mut q = Query::update();
    q.table(C::Table)
        .values([
            (C::Title, c.title.clone().into()),
            (C::Body, c.body.clone().into()),
            (C::Status, c.status.as_str().into()),
            (C::SignerName, c.signer_name.clone().into()),
            (C::SignedAt, s.ts_opt(c.signed_at).into()),
            (C::SentAt, s.ts_opt(c.sent_at).into()),
            (C::UpdatedAt, s.ts(c.updated_at).into()),
            (C::DeletedAt, s.ts_opt(c.deleted_at).into()),
        ])
        .and_where(Expr::col(C::WorkspaceId).eq(ws))
        .and_where(Expr::col(C::Id).eq(c.id))
        .and_where(Expr::col(C::DeletedAt).is_null());
    match link {
        Link::Keep => {}
        Link::Clear => {
            q.values([
                (C::SignTokenHash, Option::<String>::None.into()),
                (C::SignTokenExpiresAt, s.ts_opt(None).into()),
            ]);
        }
        Link::Set { hash, expires_at } => {
            q.values([
                (C::SignTokenHash, hash.into()),
                (C::SignTokenExpiresAt, s.ts(expires_at).into()),
            ]);
        }
    }
    match s.execute(&q).await? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}
