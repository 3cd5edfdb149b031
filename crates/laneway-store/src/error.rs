//! Storage failures, with the source kept for the log.

/// What the storage layer reports. Unique violations become [`StoreError::Conflict`] on both
/// backends (via `DatabaseError::kind`), so callers can answer 409 without parsing messages.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// A foreign key points at a row that no longer exists (removed by a concurrent write).
    #[error("dangling reference: {0}")]
    Reference(String),
    /// The database cannot be reached (connection refused, pool exhausted, server gone).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Other(#[source] sqlx::Error),
    #[error("corrupt row: {0}")]
    Decode(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.kind() == sqlx::error::ErrorKind::UniqueViolation => {
                StoreError::Conflict(db.message().to_string())
            }
            sqlx::Error::Database(db)
                if db.kind() == sqlx::error::ErrorKind::ForeignKeyViolation =>
            {
                StoreError::Reference(db.message().to_string())
            }
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e),
            sqlx::Error::Database(db) if is_unavailable_code(db.code().as_deref()) => {
                StoreError::Unavailable(e)
            }
            _ => StoreError::Other(e),
        }
    }
}

/// PostgreSQL's "the server is going away / not accepting" classes (57P01 admin shutdown,
/// 57P03 cannot connect now, 08xxx connection exceptions) and SQLite's BUSY (5) after the busy
/// timeout: all mean "try again later", not "your request is wrong".
fn is_unavailable_code(code: Option<&str>) -> bool {
    match code {
        Some(c) => c.starts_with("08") || c == "57P01" || c == "57P03" || c == "5" || c == "517",
        None => false,
    }
}
