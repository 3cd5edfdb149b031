//! Laneway's one storage layer.
//!
//! Every query is written once as a sea-query statement and rendered for the backend in use;
//! rows are decoded through [`Row`], which hides the few representation differences (SQLite keeps
//! timestamps as fixed-width text, PostgreSQL as `timestamptz`). Nothing above this crate knows
//! which database it talks to.

mod db;
pub mod error;
pub mod listing;
pub mod notify;
pub mod repo;
mod row;
pub mod tables;

pub use db::{redact_url, Backend, Db, DbOptions, GlobalLock, PoolStats, Session, WorkspaceLock};
pub use error::{StoreError, StoreResult};
/// The store's metric names and `pool` labels (exported by the server's metrics module).
pub mod db_metrics {
    pub use crate::db::{
        DB_ACQUIRE_SECONDS, DB_ACQUIRE_WAITING, EVENTS_WRITTEN, POOL_POSTGRES, POOL_SQLITE_READ,
        POOL_SQLITE_WRITE,
    };
}
pub use row::{FromRow, Row};
