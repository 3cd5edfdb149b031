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
    pub webhooks: WebhookConfig,
    /// The address people reach this server at (`https://crm.example.com`), for links sent
    /// out of the API such as contract signing links; unset, the request's `Host` is used.
    pub public_url: Option<String>,
    /// Peers whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed (reverse proxies);
    /// empty by default, so no peer, private or not, can choose the client address.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Count and time HTTP requests for `GET /metrics` (set when `--metrics-listen` is given;
    /// the recorder itself is installed by [`crate::metrics::install`]).
    pub metrics: bool,
}

/// Reads a `--trusted-proxies` list: comma-separated CIDRs or single addresses
/// (`10.0.0.0/8, 192.168.1.7, ::1`).
pub fn parse_trusted_proxies(raw: &str) -> Result<Vec<ipnet::IpNet>, String> {
    raw.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    format!("'{p}' is not an IP address or CIDR (e.g. 10.0.0.0/8 or 127.0.0.1)")
                })
        })
        .collect()
}

impl ServerConfig {
    /// Whether `ip` is one of the trusted proxies.
    pub fn is_trusted_proxy(&self, ip: std::net::IpAddr) -> bool {
        let ip = match ip {
            std::net::IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4),
            v4 => v4,
        };
        self.trusted_proxies.iter().any(|n| n.contains(&ip))
    }
}

/// The delivery engine's settings (spec webhooks.md, "Server settings").
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// How long one attempt may take.
    pub timeout: Duration,
    /// The wait before each attempt; the first entry is the initial attempt's.
    pub retry_schedule: Vec<Duration>,
    /// Consecutive failed attempts that disable a webhook.
    pub disable_after: u32,
    /// Deliveries of one webhook in flight at once, across every process.
    pub concurrency: u32,
    /// Lets webhooks target http://, private, loopback and link-local addresses.
    pub allow_private_targets: bool,
    /// Finished deliveries kept per webhook.
    pub history: u64,
    /// Webhooks per workspace.
    pub max_webhooks: u32,
    /// Deliveries per workspace per calendar month (UTC); 0 is unlimited.
    pub max_deliveries_per_month: u64,
    /// Run the delivery engine in this process (tests of the API alone turn it off).
    pub engine: bool,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            retry_schedule: laneway_core::webhook::parse_schedule(
                laneway_core::webhook::DEFAULT_SCHEDULE,
            )
            .unwrap_or_default(),
            disable_after: 5,
            concurrency: 10,
            allow_private_targets: false,
            history: 100,
            max_webhooks: 20,
            max_deliveries_per_month: 0,
            engine: true,
        }
    }
}

impl WebhookConfig {
    /// How long a claim on a delivery lasts: an attempt plus room to record it. A process that
    /// dies mid-delivery holds its deliveries this long at most.
    pub fn lease(&self) -> Duration {
        self.timeout + Duration::from_secs(15)
    }
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
            webhooks: WebhookConfig::default(),
            public_url: None,
            trusted_proxies: Vec::new(),
            metrics: false,
        }
    }
}
