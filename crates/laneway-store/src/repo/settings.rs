//! Server-wide settings shared by every process on the database.

use sea_query::{Expr, OnConflict, Query};

use crate::tables::Settings as S;
use crate::{Db, FromRow, Row, StoreResult};

struct Value(String);

impl FromRow for Value {
    fn from_row(r: &dyn Row) -> StoreResult<Self> {
        Ok(Value(r.string("value")?))
    }
}

/// The value of setting `name`, stored as `init()` the first time any process asks. Two
/// processes asking at once agree: the first insert wins and both read it back.
pub async fn get_or_init(
    db: &Db,
    name: &str,
    init: impl FnOnce() -> String,
) -> StoreResult<String> {
    let select = Query::select()
        .column(S::Value)
        .from(S::Table)
        .and_where(Expr::col(S::Name).eq(name))
        .to_owned();
    let mut r = db.read().await?;
    if let Some(v) = r.fetch_optional::<Value, _>(&select).await? {
        return Ok(v.0);
    }
    drop(r);
    let mut w = db.write().await?;
    let insert = Query::insert()
        .into_table(S::Table)
        .columns([S::Name, S::Value])
        .values_panic([name.into(), init().into()])
        .on_conflict(OnConflict::column(S::Name).do_nothing().to_owned())
        .to_owned();
    w.execute(&insert).await?;
    let v = w.fetch_one::<Value, _>(&select).await?;
    w.commit().await?;
    Ok(v.0)
}
