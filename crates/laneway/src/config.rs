//! Settings layered as the spec says: command-line flags beat environment variables, which
//! beat the TOML config file, which beats the defaults.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://./laneway.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The config file. Unknown keys are an error, so a typo does not silently do nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database_url: Option<String>,
    pub listen: Option<String>,
    pub log_format: Option<String>,
    pub body_limit: Option<usize>,
    pub db_max_connections: Option<u32>,
    pub db_acquire_timeout_secs: Option<u64>,
    pub shutdown_grace_secs: Option<u64>,
    pub rate_limit: Option<u32>,
    pub event_retention_days: Option<u32>,
    pub webhook_timeout: Option<String>,
    pub webhook_retry_schedule: Option<String>,
    pub webhook_disable_after: Option<u32>,
    pub webhook_concurrency: Option<u32>,
    pub webhook_history: Option<u64>,
    pub allow_private_webhook_targets: Option<bool>,
    pub max_webhooks: Option<u32>,
    pub max_deliveries_per_month: Option<u64>,
    pub public_url: Option<String>,
    pub trusted_proxies: Option<String>,
    pub metrics_listen: Option<String>,
}

impl FileConfig {
    pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
    }
}

/// First of flag-or-env (clap merges those two), file, default.
pub fn pick<T>(cli: Option<T>, file: Option<T>, default: T) -> T {
    cli.or(file).unwrap_or(default)
}

pub fn parse_listen(s: &str) -> anyhow::Result<SocketAddr> {
    match s.parse() {
        Ok(a) => Ok(a),
        Err(_) => bail!("invalid listen address '{s}': expected host:port such as 127.0.0.1:8080"),
    }
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
