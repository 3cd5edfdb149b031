//! Connection pools, sessions and statement execution for both backends.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
use sea_query_binder::{SqlxBinder, SqlxValues};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgConnection, PgPool, Postgres, Sqlite, SqliteConnection, SqlitePool, Transaction};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::error::{StoreError, StoreResult};
use crate::notify::Notifier;
use crate::row::{FromRow, Row};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Pool sizing and timeouts.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Connections of the read pool (SQLite) or the whole pool (PostgreSQL).
    pub max_connections: u32,
    /// How long a request waits for a free connection before it fails with 503.
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// The `pool` label of the database metrics.
pub const POOL_SQLITE_READ: &str = "sqlite_read";
/// SQLite's one writer: its acquire waits are the writer's queue.
pub const POOL_SQLITE_WRITE: &str = "sqlite_write";
pub const POOL_POSTGRES: &str = "postgres";

/// Metric names of the store (described and exported by the server's metrics module).
pub const DB_ACQUIRE_SECONDS: &str = "laneway_db_acquire_seconds";
pub const DB_ACQUIRE_WAITING: &str = "laneway_db_acquire_waiting";
pub const EVENTS_WRITTEN: &str = "laneway_events_written_total";

/// One pool's connections at a moment.
#[derive(Debug, Clone, Copy)]
pub struct PoolStats {
    pub pool: &'static str,
    /// Open connections, idle or in use.
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// Awaits a connection (or a transaction's start), counted as waiting meanwhile and timed in
/// `laneway_db_acquire_seconds` (no-ops when no metrics recorder is installed).
async fn timed<T>(pool: &'static str, acquire: impl std::future::Future<Output = T>) -> T {
    let waiting = metrics::gauge!(DB_ACQUIRE_WAITING, "pool" => pool);
    waiting.increment(1.0);
    // Decremented even when the request is cancelled mid-wait.
    struct Done(metrics::Gauge);
    impl Drop for Done {
        fn drop(&mut self) {
            self.0.decrement(1.0);
        }
    }
    let _done = Done(waiting);
    let start = std::time::Instant::now();
    let out = acquire.await;
    metrics::histogram!(DB_ACQUIRE_SECONDS, "pool" => pool).record(start.elapsed().as_secs_f64());
    out
}

#[derive(Clone, Debug)]
enum Pools {
    /// SQLite allows one writer: writes go through a one-connection pool, so they queue in
    /// process instead of spinning on the file lock, and open with `BEGIN IMMEDIATE` so a
    /// read-then-write transaction never fails on lock upgrade.
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// The database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pools: Pools,
    notifier: Arc<Notifier>,
}

/// Hides the password of a database URL for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!(
                    "{}{}:****{}",
                    &url[..scheme_end + 3],
                    &creds[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Db {
    /// Connects to `sqlite://path` (created if missing) or `postgres://...`.
    pub async fn connect(url: &str, opts: &DbOptions) -> StoreResult<Db> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect = PgConnectOptions::from_str(url)?;
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections.max(1))
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(connect)
                .await?;
            Ok(Db {
                pools: Pools::Postgres(pool),
                notifier: Notifier::new(),
            })
        } else if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(opts.acquire_timeout.max(Duration::from_secs(30)))
                .connect_with(connect.clone())
                .await?;
            let read = SqlitePoolOptions::new()
                .max_connections(opts.max_connections.max(1))
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(connect.read_only(false))
                .await?;
            Ok(Db {
                pools: Pools::Sqlite { read, write },
                notifier: Notifier::new(),
            })
        } else {
            Err(StoreError::Other(sqlx::Error::Configuration(
                format!(
                    "unsupported database URL '{}': use sqlite://path or postgres://...",
                    redact_url(url)
                )
                .into(),
            )))
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Applies pending migrations. Safe to run from several processes at once: sqlx takes an
    /// advisory lock on PostgreSQL, and SQLite serialises writers.
    pub async fn migrate(&self) -> StoreResult<()> {
        match &self.pools {
            Pools::Sqlite { write, .. } => SQLITE_MIGRATIONS.run(write).await?,
            Pools::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Migration versions of a backend, for the check that both sets match.
    pub fn migration_versions(backend: Backend) -> Vec<i64> {
        let m = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        m.iter().map(|m| m.version).collect()
    }

    /// A connection for reads outside a transaction.
    pub async fn read(&self) -> StoreResult<Session> {
        let inner = match &self.pools {
            Pools::Sqlite { read, .. } => {
                Inner::SqliteConn(timed(POOL_SQLITE_READ, read.acquire()).await?)
            }
            Pools::Postgres(pool) => Inner::PgConn(timed(POOL_POSTGRES, pool.acquire()).await?),
        };
        Ok(self.session(inner))
    }

    /// A write transaction. Dropped without [`Session::commit`], it rolls back.
    pub async fn write(&self) -> StoreResult<Session> {
        let inner = match &self.pools {
            Pools::Sqlite { write, .. } => Inner::SqliteTx(
                timed(POOL_SQLITE_WRITE, write.begin_with("BEGIN IMMEDIATE")).await?,
            ),
            Pools::Postgres(pool) => Inner::PgTx(timed(POOL_POSTGRES, pool.begin()).await?),
        };
        Ok(self.session(inner))
    }

    fn session(&self, inner: Inner) -> Session {
        Session {
            inner,
            notifier: self.notifier.clone(),
            events_written: 0,
        }
    }

    /// Connections of each pool now, for the metrics scrape.
    pub fn pool_stats(&self) -> Vec<PoolStats> {
        fn of<D: sqlx::Database>(name: &'static str, p: &sqlx::Pool<D>) -> PoolStats {
            let size = p.size();
            let idle = u32::try_from(p.num_idle()).unwrap_or(size).min(size);
            PoolStats {
                pool: name,
                size,
                idle,
                max: p.options().get_max_connections(),
            }
        }
        match &self.pools {
            Pools::Sqlite { read, write } => {
                vec![of(POOL_SQLITE_READ, read), of(POOL_SQLITE_WRITE, write)]
            }
            Pools::Postgres(pool) => vec![of(POOL_POSTGRES, pool)],
        }
    }

    /// Wake-ups for readers of the event log: the value changes whenever new events may have
    /// committed — after a commit of this process that wrote events, on a notification from
    /// another process (PostgreSQL), and at least every [`crate::notify::FALLBACK_POLL`] while
    /// [`Db::run_event_wakeups`] runs. Mark the value seen (`borrow_and_update`) *before*
    /// reading, then read everything after your position, then await `changed()`: a commit
    /// that lands during the read then wakes you again, so none is missed.
    pub fn events_changed(&self) -> watch::Receiver<u64> {
        self.notifier.subscribe()
    }

    /// Runs the sources of wake-ups that need a task until `stop`: the fallback poll, and on
    /// PostgreSQL the `LISTEN laneway_events` connection (reconnecting with backoff) and the
    /// `NOTIFY` sent after local commits so other processes' readers wake at once. The server
    /// runs one per process; commands that only write do not need it.
    pub async fn run_event_wakeups(&self, stop: CancellationToken) {
        let pg = match &self.pools {
            Pools::Postgres(pool) => Some((pool.clone(), (*pool.connect_options()).clone())),
            Pools::Sqlite { .. } => None,
        };
        self.notifier.clone().run(pg, stop).await;
    }

    /// Closes the pools (waits for connections in use to be returned).
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { read, write } => {
                read.close().await;
                write.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }
}

/// Kinds of server-wide serialisation (see [`Session::lock_global`]).
#[derive(Debug, Clone, Copy)]
#[repr(i64)]
pub enum GlobalLock {
    /// Claiming webhook deliveries (per-webhook concurrency and rate limits hold across
    /// processes).
    WebhookClaim = 7_361_748,
}

/// Kinds of per-workspace serialisation (see [`Session::lock_workspace`]).
#[derive(Debug, Clone, Copy)]
#[repr(i32)]
pub enum WorkspaceLock {
    /// Member roles and deletions (the last-owner rule).
    Members = 1,
    /// The stage lists of pipelines (contiguous positions).
    Stages = 2,
    /// Webhook creation (the per-workspace `max_webhooks` limit).
    Webhooks = 3,
}

enum Inner {
    SqliteConn(PoolConnection<Sqlite>),
    SqliteTx(Transaction<'static, Sqlite>),
    PgConn(PoolConnection<Postgres>),
    PgTx(Transaction<'static, Postgres>),
}

enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Pg(&'a mut PgConnection),
}

/// One connection, in a transaction for writes. All repository functions take a session.
pub struct Session {
    inner: Inner,
    notifier: Arc<Notifier>,
    /// Counted by the event insert, so the commit wakes readers of the event log (and counts
    /// them in `laneway_events_written_total`).
    events_written: u64,
}

impl Session {
    pub fn backend(&self) -> Backend {
        match self.inner {
            Inner::SqliteConn(_) | Inner::SqliteTx(_) => Backend::Sqlite,
            Inner::PgConn(_) | Inner::PgTx(_) => Backend::Postgres,
        }
    }

    fn conn(&mut self) -> Conn<'_> {
        match &mut self.inner {
            Inner::SqliteConn(c) => Conn::Sqlite(c),
            Inner::SqliteTx(t) => Conn::Sqlite(t),
            Inner::PgConn(c) => Conn::Pg(c),
            Inner::PgTx(t) => Conn::Pg(t),
        }
    }

    /// Commits a write transaction (a no-op for a read session). Wakes readers of the event
    /// log if it wrote events.
    pub async fn commit(self) -> StoreResult<()> {
        match self.inner {
            Inner::SqliteTx(t) => t.commit().await?,
            Inner::PgTx(t) => t.commit().await?,
            Inner::SqliteConn(_) | Inner::PgConn(_) => {}
        }
        if self.events_written > 0 {
            metrics::counter!(EVENTS_WRITTEN).increment(self.events_written);
            self.notifier.committed();
        }
        Ok(())
    }

    /// Notes that this transaction wrote `n` events (see [`Session::commit`]).
    pub(crate) fn note_events_written(&mut self, n: usize) {
        self.events_written += n as u64;
    }

    /// A timestamp as a bind value: fixed-width text on SQLite, `timestamptz` on PostgreSQL.
    pub fn ts(&self, t: OffsetDateTime) -> sea_query::Value {
        match self.backend() {
            Backend::Sqlite => laneway_core::time::format_ts(t).into(),
            Backend::Postgres => t.into(),
        }
    }

    /// An optional timestamp as a bind value.
    pub fn ts_opt(&self, t: Option<OffsetDateTime>) -> sea_query::Value {
        match (self.backend(), t) {
            (_, Some(t)) => self.ts(t),
            (Backend::Sqlite, None) => sea_query::Value::String(None),
            (Backend::Postgres, None) => sea_query::Value::TimeDateTimeWithTimeZone(None),
        }
    }

    fn build<S: SqlxBinder>(&self, stmt: &S) -> (String, SqlxValues) {
        match self.backend() {
            Backend::Sqlite => stmt.build_sqlx(SqliteQueryBuilder),
            Backend::Postgres => stmt.build_sqlx(PostgresQueryBuilder),
        }
    }

    /// Runs a statement and decodes every row.
    pub async fn fetch_all<T: FromRow, S: SqlxBinder>(&mut self, stmt: &S) -> StoreResult<Vec<T>> {
        let (sql, values) = self.build(stmt);
        match self.conn() {
            Conn::Sqlite(c) => {
                let rows = sqlx::query_with(&sql, values).fetch_all(c).await?;
                rows.iter().map(|r| T::from_row(r as &dyn Row)).collect()
            }
            Conn::Pg(c) => {
                let rows = sqlx::query_with(&sql, values).fetch_all(c).await?;
                rows.iter().map(|r| T::from_row(r as &dyn Row)).collect()
            }
        }
    }

    /// Runs a statement and decodes the first row, if any.
    pub async fn fetch_optional<T: FromRow, S: SqlxBinder>(
        &mut self,
        stmt: &S,
    ) -> StoreResult<Option<T>> {
        let (sql, values) = self.build(stmt);
        match self.conn() {
            Conn::Sqlite(c) => {
                let row = sqlx::query_with(&sql, values).fetch_optional(c).await?;
                row.as_ref().map(|r| T::from_row(r as &dyn Row)).transpose()
            }
            Conn::Pg(c) => {
                let row = sqlx::query_with(&sql, values).fetch_optional(c).await?;
                row.as_ref().map(|r| T::from_row(r as &dyn Row)).transpose()
            }
        }
    }

    /// Like [`Session::fetch_optional`] but a missing row is [`StoreError::NotFound`].
    pub async fn fetch_one<T: FromRow, S: SqlxBinder>(&mut self, stmt: &S) -> StoreResult<T> {
        self.fetch_optional(stmt).await?.ok_or(StoreError::NotFound)
    }

    /// Runs a statement and returns the number of rows it touched.
    pub async fn execute<S: SqlxBinder>(&mut self, stmt: &S) -> StoreResult<u64> {
        let (sql, values) = self.build(stmt);
        Ok(match self.conn() {
            Conn::Sqlite(c) => sqlx::query_with(&sql, values)
                .execute(c)
                .await?
                .rows_affected(),
            Conn::Pg(c) => sqlx::query_with(&sql, values)
                .execute(c)
                .await?
                .rows_affected(),
        })
    }

    /// Takes a transaction-scoped lock that serialises first-start bootstrap across processes
    /// (PostgreSQL advisory lock; on SQLite `BEGIN IMMEDIATE` already holds the write lock).
    pub async fn lock_bootstrap(&mut self) -> StoreResult<()> {
        if let Conn::Pg(c) = self.conn() {
            sqlx::query("SELECT pg_advisory_xact_lock(7361746)")
                .execute(c)
                .await?;
        }
        Ok(())
    }

    /// Serialises a kind of change within one workspace until the transaction ends
    /// (PostgreSQL advisory lock on the workspace; SQLite's write transaction already excludes
    /// other writers). `what` names the kind, so unrelated changes do not wait on each other.
    pub async fn lock_workspace(&mut self, ws: &str, what: WorkspaceLock) -> StoreResult<()> {
        if let Conn::Pg(c) = self.conn() {
            sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                .bind(what as i32)
                .bind(ws)
                .execute(c)
                .await?;
        }
        Ok(())
    }

    /// Serialises one kind of server-wide work across processes until the transaction ends
    /// (PostgreSQL advisory lock; SQLite's write transaction already excludes other writers).
    pub async fn lock_global(&mut self, what: GlobalLock) -> StoreResult<()> {
        if let Conn::Pg(c) = self.conn() {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(what as i64)
                .execute(c)
                .await?;
        }
        Ok(())
    }

    /// Versions of this binary's migrations that the database has not applied successfully
    /// (empty when it is up to date). One small query, cheap enough for a readiness probe.
    pub async fn pending_migrations(&mut self) -> StoreResult<Vec<i64>> {
        let backend = self.backend();
        let applied: Vec<i64> = match self.conn() {
            Conn::Sqlite(c) => {
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                    .fetch_all(c)
                    .await?
            }
            Conn::Pg(c) => {
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                    .fetch_all(c)
                    .await?
            }
        };
        Ok(Db::migration_versions(backend)
            .into_iter()
            .filter(|v| !applied.contains(v))
            .collect())
    }

    /// Cheap liveness probe.
    pub async fn ping(&mut self) -> StoreResult<()> {
        match self.conn() {
            Conn::Sqlite(c) => {
                sqlx::query("SELECT 1").execute(c).await?;
            }
            Conn::Pg(c) => {
                sqlx::query("SELECT 1").execute(c).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://bob:secret@db:5432/x"),
            "postgres://bob:****@db:5432/x"
        );
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
        assert_eq!(redact_url("sqlite://./laneway.db"), "sqlite://./laneway.db");
    }

    #[test]
    fn both_backends_have_the_same_migration_versions() {
        assert_eq!(
            Db::migration_versions(Backend::Sqlite),
            Db::migration_versions(Backend::Postgres)
        );
        assert!(!Db::migration_versions(Backend::Sqlite).is_empty());
    }
}
