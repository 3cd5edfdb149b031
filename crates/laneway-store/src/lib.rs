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

pub use db::{redact_url, Backend, Db, DbOptions, GlobalLock, Session, WorkspaceLock};
pub use error::{StoreError, StoreResult};
pub use row::{FromRow, Row};
