//! Decoding rows once for both backends.

use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::Row as _;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};

/// Column access that is the same for SQLite and PostgreSQL rows.
pub trait Row {
    fn uuid(&self, col: &str) -> StoreResult<Uuid>;
    fn uuid_opt(&self, col: &str) -> StoreResult<Option<Uuid>>;
    fn string(&self, col: &str) -> StoreResult<String>;
    fn string_opt(&self, col: &str) -> StoreResult<Option<String>>;
    fn i64(&self, col: &str) -> StoreResult<i64>;
    fn i64_opt(&self, col: &str) -> StoreResult<Option<i64>>;
    fn bool(&self, col: &str) -> StoreResult<bool>;
    fn json(&self, col: &str) -> StoreResult<Value>;
    fn date_opt(&self, col: &str) -> StoreResult<Option<Date>>;
    fn ts(&self, col: &str) -> StoreResult<OffsetDateTime>;
    fn ts_opt(&self, col: &str) -> StoreResult<Option<OffsetDateTime>>;
}

/// A type built from one row.
pub trait FromRow: Sized {
    fn from_row(row: &dyn Row) -> StoreResult<Self>;
}

fn decode_err(col: &str, e: sqlx::Error) -> StoreError {
    StoreError::Decode(format!("{col}: {e}"))
}

macro_rules! common_columns {
    () => {
        fn uuid(&self, col: &str) -> StoreResult<Uuid> {
            self.try_get::<Uuid, _>(col).map_err(|e| decode_err(col, e))
        }
        fn uuid_opt(&self, col: &str) -> StoreResult<Option<Uuid>> {
            self.try_get::<Option<Uuid>, _>(col)
                .map_err(|e| decode_err(col, e))
        }
        fn string(&self, col: &str) -> StoreResult<String> {
            self.try_get::<String, _>(col)
                .map_err(|e| decode_err(col, e))
        }
        fn string_opt(&self, col: &str) -> StoreResult<Option<String>> {
            self.try_get::<Option<String>, _>(col)
                .map_err(|e| decode_err(col, e))
        }
        fn i64(&self, col: &str) -> StoreResult<i64> {
            self.try_get::<i64, _>(col).map_err(|e| decode_err(col, e))
        }
        fn i64_opt(&self, col: &str) -> StoreResult<Option<i64>> {
            self.try_get::<Option<i64>, _>(col)
                .map_err(|e| decode_err(col, e))
        }
        fn bool(&self, col: &str) -> StoreResult<bool> {
            self.try_get::<bool, _>(col).map_err(|e| decode_err(col, e))
        }
        fn json(&self, col: &str) -> StoreResult<Value> {
            self.try_get::<sqlx::types::Json<Value>, _>(col)
                .map(|j| j.0)
                .map_err(|e| decode_err(col, e))
        }
        fn date_opt(&self, col: &str) -> StoreResult<Option<Date>> {
            self.try_get::<Option<Date>, _>(col)
                .map_err(|e| decode_err(col, e))
        }
    };
}

impl Row for SqliteRow {
    common_columns!();

    fn ts(&self, col: &str) -> StoreResult<OffsetDateTime> {
        let s = self.string(col)?;
        laneway_core::time::parse_ts(&s)
            .ok_or_else(|| StoreError::Decode(format!("{col}: bad timestamp '{s}'")))
    }
    fn ts_opt(&self, col: &str) -> StoreResult<Option<OffsetDateTime>> {
        match self.string_opt(col)? {
            Some(s) => laneway_core::time::parse_ts(&s)
                .map(Some)
                .ok_or_else(|| StoreError::Decode(format!("{col}: bad timestamp '{s}'"))),
            None => Ok(None),
        }
    }
}

impl Row for PgRow {
    common_columns!();

    fn ts(&self, col: &str) -> StoreResult<OffsetDateTime> {
        self.try_get::<OffsetDateTime, _>(col)
            .map_err(|e| decode_err(col, e))
    }
    fn ts_opt(&self, col: &str) -> StoreResult<Option<OffsetDateTime>> {
        self.try_get::<Option<OffsetDateTime>, _>(col)
            .map_err(|e| decode_err(col, e))
    }
}

/// A single count.
pub struct Count(pub i64);

impl FromRow for Count {
    fn from_row(row: &dyn Row) -> StoreResult<Self> {
        Ok(Count(row.i64("n")?))
    }
}
