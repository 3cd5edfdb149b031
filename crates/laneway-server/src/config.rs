//! Server settings, built by the binary from flags, environment and config file.

use std::time::Duration;

use laneway_store::DbOptions;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `sqlite://path` or `postgres://...`.
    pub database_url: String,
    pub db: DbOptions,
    /// Largest accepted request body in bytes (default 1 MiB).
    pub body_limit: usize,
    /// How long shutdown waits for in-flight requests before giving up.
    pub shutdown_grace: Duration,
    /// Requests per second per API key (burst: twice that); 0 turns limiting off.
    pub rate_limit: u32,
    /// Events older than this many days are deleted (hourly, in batches); 0 keeps them forever.
    pub event_retention_days: u32,
}

impl ServerConfig {
    pub fn new(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            db: DbOptions::default(),
            body_limit: 1024 * 1024,
            shutdown_grace: Duration::from_secs(30),
            rate_limit: 100,
            event_retention_days: 0,
        }
    }
}
