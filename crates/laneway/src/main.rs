//! The `laneway` command: serve, migrate, and operator commands for workspaces, members and
//! keys.

mod config;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use laneway_core::model::{Role, Scope};
use laneway_server::{bootstrap, ServerConfig};
use laneway_store::repo::{keys, members, workspaces};
use laneway_store::{redact_url, Db, DbOptions, StoreError};
use tokio_util::sync::CancellationToken;

use crate::config::{pick, secs, FileConfig, DEFAULT_DATABASE_URL, DEFAULT_LISTEN};

#[derive(Parser, Debug)]
#[command(
    name = "laneway",
    version,
    about = "Self-hosted CRM and kanban work-management server"
)]
struct Cli {
    /// Database URL: sqlite://path (default ./laneway.db) or postgres://user:pass@host/db
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// TOML config file (flags beat env, env beats file)
    #[arg(long, env = "LANEWAY_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Log format on stderr
    #[arg(long, env = "LANEWAY_LOG_FORMAT", global = true, value_enum)]
    log_format: Option<LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the API (runs migrations; bootstraps an empty database)
    Serve(ServeArgs),
    /// Apply database migrations and exit
    Migrate,
    /// Manage workspaces
    #[command(subcommand)]
    Workspace(WorkspaceCmd),
    /// Manage members
    #[command(subcommand)]
    Member(MemberCmd),
    /// Manage API keys
    #[command(subcommand)]
    Key(KeyCmd),
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = "LANEWAY_LISTEN")]
    listen: Option<String>,
    /// Largest request body in bytes (default 1048576)
    #[arg(long, env = "LANEWAY_BODY_LIMIT")]
    body_limit: Option<usize>,
    /// Database pool size (default 8)
    #[arg(long, env = "LANEWAY_DB_MAX_CONNECTIONS")]
    db_max_connections: Option<u32>,
    /// Seconds a request waits for a database connection before answering 503 (default 5)
    #[arg(long, env = "LANEWAY_DB_ACQUIRE_TIMEOUT_SECS")]
    db_acquire_timeout_secs: Option<u64>,
    /// Seconds to wait for in-flight requests on shutdown (default 30)
    #[arg(long, env = "LANEWAY_SHUTDOWN_GRACE_SECS")]
    shutdown_grace_secs: Option<u64>,
    /// Requests per second per API key, burst twice that; 0 disables (default 100)
    #[arg(long, env = "LANEWAY_RATE_LIMIT")]
    rate_limit: Option<u32>,
    /// Delete events older than this many days (hourly); 0 keeps them forever (default 0)
    #[arg(long, env = "LANEWAY_EVENT_RETENTION_DAYS")]
    event_retention_days: Option<u32>,
    /// How long one webhook attempt may take, e.g. 10s or 500ms (default 10s)
    #[arg(long, env = "LANEWAY_WEBHOOK_TIMEOUT")]
    webhook_timeout: Option<String>,
    /// Waits before each webhook attempt, comma-separated (default 0s,5s,5m,30m,2h,5h,10h,10h)
    #[arg(long, env = "LANEWAY_WEBHOOK_RETRY_SCHEDULE")]
    webhook_retry_schedule: Option<String>,
    /// Consecutive failed attempts that disable a webhook (default 5)
    #[arg(long, env = "LANEWAY_WEBHOOK_DISABLE_AFTER")]
    webhook_disable_after: Option<u32>,
    /// Deliveries in flight per webhook (default 10)
    #[arg(long, env = "LANEWAY_WEBHOOK_CONCURRENCY")]
    webhook_concurrency: Option<u32>,
    /// Finished deliveries kept per webhook (default 100)
    #[arg(long, env = "LANEWAY_WEBHOOK_HISTORY")]
    webhook_history: Option<u64>,
    /// The address people reach this server at, e.g. https://crm.example.com: the base of
    /// links the API hands out (contract signing links); default: the request's Host
    #[arg(long, env = "LANEWAY_PUBLIC_URL")]
    public_url: Option<String>,
    /// Reverse proxies whose X-Forwarded-For is believed: comma-separated CIDRs or addresses
    /// (e.g. 127.0.0.1,10.0.0.0/8); default none
    #[arg(long, env = "LANEWAY_TRUSTED_PROXIES")]
    trusted_proxies: Option<String>,
    /// Serve Prometheus metrics at GET /metrics on this address (e.g. 127.0.0.1:9184), apart
    /// from the API; default off
    #[arg(long, env = "LANEWAY_METRICS_LISTEN")]
    metrics_listen: Option<String>,
    /// Allow webhooks to http://, private, loopback and link-local addresses
    #[arg(long, env = "LANEWAY_ALLOW_PRIVATE_WEBHOOK_TARGETS", num_args = 0..=1, default_missing_value = "true")]
    allow_private_webhook_targets: Option<bool>,
    /// Webhooks per workspace (default 20)
    #[arg(long, env = "LANEWAY_MAX_WEBHOOKS")]
    max_webhooks: Option<u32>,
    /// Webhook deliveries per workspace per month; 0 is unlimited (default 0)
    #[arg(long, env = "LANEWAY_MAX_DELIVERIES_PER_MONTH")]
    max_deliveries_per_month: Option<u64>,
}

#[derive(Subcommand, Debug)]
enum WorkspaceCmd {
    /// Create a workspace (with the demo schema); prints its id
    Create {
        #[arg(long)]
        name: String,
    },
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum RoleArg {
    Owner,
    Admin,
    Member,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
enum ScopeArg {
    Read,
    Write,
    Admin,
}

#[derive(Subcommand, Debug)]
enum MemberCmd {
    /// Create a member; prints its id
    Create {
        #[arg(long)]
        workspace: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum, default_value = "member")]
        role: RoleArg,
        /// Read a dashboard password from standard input
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Subcommand, Debug)]
enum KeyCmd {
    /// Create an API key; prints the token once
    Create {
        #[arg(long)]
        workspace: String,
        /// Member the key acts as (default: the workspace's first owner)
        #[arg(long)]
        member: Option<uuid::Uuid>,
        #[arg(long, value_enum)]
        scope: ScopeArg,
        #[arg(long)]
        name: Option<String>,
    },
    /// Revoke an API key by id
    Revoke { id: String },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let file = match FileConfig::load(cli.config.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(1);
        }
    };
    init_logging(&cli, &file);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli, file)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn init_logging(cli: &Cli, file: &FileConfig) {
    use tracing_subscriber::EnvFilter;
    let default = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let json = match cli.log_format {
        Some(f) => f == LogFormat::Json,
        None => file.log_format.as_deref() == Some("json"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn database_url(cli: &Cli, file: &FileConfig) -> String {
    pick(
        cli.database_url.clone(),
        file.database_url.clone(),
        DEFAULT_DATABASE_URL.to_string(),
    )
}

async fn open(cli: &Cli, file: &FileConfig) -> anyhow::Result<Db> {
    let url = database_url(cli, file);
    let db = Db::connect(&url, &DbOptions::default())
        .await
        .map_err(|e| {
            anyhow!(
                "cannot connect to database {}: {}",
                redact_url(&url),
                short(&e)
            )
        })?;
    db.migrate()
        .await
        .context("cannot apply database migrations")?;
    Ok(db)
}

/// The first line of a storage error, without the password-bearing URL sqlx may quote.
fn short(e: &StoreError) -> String {
    e.to_string().lines().next().unwrap_or("").to_string()
}

async fn run(cli: Cli, file: FileConfig) -> anyhow::Result<()> {
    match &cli.command {
        Command::Serve(args) => serve(&cli, &file, args).await,
        Command::Migrate => {
            let db = open(&cli, &file).await?;
            db.close().await;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Workspace(WorkspaceCmd::Create { name }) => {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 100 {
                bail!("--name must be 1-100 characters");
            }
            let db = open(&cli, &file).await?;
            let mut s = db.write().await?;
            let ws = bootstrap::create_workspace(&mut s, name).await?;
            s.commit().await?;
            println!("{}", ws.id);
            Ok(())
        }
        Command::Member(MemberCmd::Create {
            workspace,
            email,
            name,
            role,
            password_stdin,
        }) => {
            let email =
                laneway_server::api_checks::check_email(email).map_err(|e| anyhow!(e.message))?;
            let name =
                laneway_server::api_checks::check_name(name).map_err(|e| anyhow!(e.message))?;
            let hash = if *password_stdin {
                Some(hash_password(&read_password()?)?)
            } else {
                None
            };
            let role = match role {
                RoleArg::Owner => Role::Owner,
                RoleArg::Admin => Role::Admin,
                RoleArg::Member => Role::Member,
            };
            let db = open(&cli, &file).await?;
            let mut s = db.write().await?;
            ensure_workspace(&mut s, workspace).await?;
            let m =
                bootstrap::create_member(&mut s, workspace, &name, &email, role, hash.as_deref())
                    .await
                    .map_err(|e| match e {
                        StoreError::Conflict(_) => {
                            anyhow!("a member with email '{email}' already exists in {workspace}")
                        }
                        other => other.into(),
                    })?;
            s.commit().await?;
            println!("{}", m.id);
            Ok(())
        }
        Command::Key(KeyCmd::Create {
            workspace,
            member,
            scope,
            name,
        }) => {
            let scope = match scope {
                ScopeArg::Read => Scope::Read,
                ScopeArg::Write => Scope::Write,
                ScopeArg::Admin => Scope::Admin,
            };
            let db = open(&cli, &file).await?;
            let mut s = db.write().await?;
            ensure_workspace(&mut s, workspace).await?;
            let member_id = match member {
                Some(m) => {
                    if !members::exists(&mut s, workspace, *m).await? {
                        bail!("member {m} not found in workspace {workspace}");
                    }
                    *m
                }
                None => {
                    members::first_owner(&mut s, workspace)
                        .await?
                        .ok_or_else(|| {
                            anyhow!("workspace {workspace} has no owner; pass --member")
                        })?
                        .id
                }
            };
            let name = name
                .clone()
                .unwrap_or_else(|| format!("{} key", scope.as_str()));
            let (_, token) =
                laneway_server::api::issue_key(&mut s, workspace, member_id, name, scope).await?;
            s.commit().await?;
            println!("{token}");
            Ok(())
        }
        Command::Key(KeyCmd::Revoke { id }) => {
            let db = open(&cli, &file).await?;
            let mut s = db.write().await?;
            if !keys::revoke(&mut s, None, id, laneway_core::time::now()).await? {
                bail!("API key {id} not found");
            }
            s.commit().await?;
            eprintln!("revoked {id}");
            Ok(())
        }
    }
}

async fn ensure_workspace(s: &mut laneway_store::Session, id: &str) -> anyhow::Result<()> {
    match workspaces::get(s, id).await {
        Ok(_) => Ok(()),
        Err(StoreError::NotFound) => bail!("workspace {id} not found"),
        Err(e) => Err(e.into()),
    }
}

fn read_password() -> anyhow::Result<String> {
    let mut buf = String::new();
    std::io::stdin()
        .read_to_string(&mut buf)
        .context("cannot read password from stdin")?;
    let pw = buf.trim_end_matches(['\r', '\n']).to_string();
    if pw.chars().count() < 8 {
        bail!("password must be at least 8 characters");
    }
    Ok(pw)
}

fn hash_password(pw: &str) -> anyhow::Result<String> {
    use argon2::password_hash::{rand_core::OsRng, SaltString};
    use argon2::{Argon2, PasswordHasher};
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pw.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow!("cannot hash password: {e}"))
}

async fn serve(cli: &Cli, file: &FileConfig, args: &ServeArgs) -> anyhow::Result<()> {
    let listen = pick(
        args.listen.clone(),
        file.listen.clone(),
        DEFAULT_LISTEN.to_string(),
    );
    let addr = config::parse_listen(&listen)?;
    let mut cfg = ServerConfig::new(database_url(cli, file));
    cfg.body_limit = pick(args.body_limit, file.body_limit, cfg.body_limit);
    cfg.db = DbOptions {
        max_connections: pick(
            args.db_max_connections,
            file.db_max_connections,
            cfg.db.max_connections,
        ),
        acquire_timeout: secs(pick(
            args.db_acquire_timeout_secs,
            file.db_acquire_timeout_secs,
            cfg.db.acquire_timeout.as_secs(),
        )),
    };
    cfg.shutdown_grace = secs(pick(
        args.shutdown_grace_secs,
        file.shutdown_grace_secs,
        cfg.shutdown_grace.as_secs(),
    ));
    cfg.rate_limit = pick(args.rate_limit, file.rate_limit, cfg.rate_limit);
    cfg.event_retention_days = pick(
        args.event_retention_days,
        file.event_retention_days,
        cfg.event_retention_days,
    );
    if let Some(u) = args.public_url.clone().or(file.public_url.clone()) {
        let parsed = url::Url::parse(u.trim())
            .ok()
            .filter(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some())
            .ok_or_else(|| {
                anyhow!("invalid public URL '{u}': expected e.g. https://crm.example.com")
            })?;
        cfg.public_url = Some(parsed.as_str().trim_end_matches('/').to_string());
    }
    if let Some(p) = args
        .trusted_proxies
        .clone()
        .or(file.trusted_proxies.clone())
    {
        cfg.trusted_proxies = laneway_server::config::parse_trusted_proxies(&p)
            .map_err(|e| anyhow!("invalid trusted proxies: {e}"))?;
    }
    let metrics_addr = match args.metrics_listen.clone().or(file.metrics_listen.clone()) {
        Some(m) => Some(config::parse_listen(&m).context("invalid metrics listen address")?),
        None => None,
    };
    cfg.metrics = metrics_addr.is_some();
    let w = &mut cfg.webhooks;
    if let Some(t) = args
        .webhook_timeout
        .clone()
        .or(file.webhook_timeout.clone())
    {
        w.timeout = laneway_core::webhook::parse_duration(&t)
            .filter(|d| !d.is_zero())
            .ok_or_else(|| anyhow!("invalid webhook timeout '{t}': expected e.g. 10s or 500ms"))?;
    }
    if let Some(t) = args
        .webhook_retry_schedule
        .clone()
        .or(file.webhook_retry_schedule.clone())
    {
        w.retry_schedule = laneway_core::webhook::parse_schedule(&t)
            .map_err(|e| anyhow!("invalid webhook retry schedule: {e}"))?;
    }
    w.disable_after = pick(
        args.webhook_disable_after,
        file.webhook_disable_after,
        w.disable_after,
    )
    .max(1);
    w.concurrency = pick(
        args.webhook_concurrency,
        file.webhook_concurrency,
        w.concurrency,
    )
    .max(1);
    w.history = pick(args.webhook_history, file.webhook_history, w.history).max(1);
    w.allow_private_targets = pick(
        args.allow_private_webhook_targets,
        file.allow_private_webhook_targets,
        w.allow_private_targets,
    );
    w.max_webhooks = pick(args.max_webhooks, file.max_webhooks, w.max_webhooks);
    w.max_deliveries_per_month = pick(
        args.max_deliveries_per_month,
        file.max_deliveries_per_month,
        w.max_deliveries_per_month,
    );
    let url = cfg.database_url.clone();
    let prepared = laneway_server::prepare(cfg)
        .await
        .map_err(|e| anyhow!("{}", first_line(&e, &url)))?;
    if let Some(token) = &prepared.bootstrap_token {
        eprintln!(
            "Laneway first start: created workspace \"Default\" (owner {}) and the admin API key below.\nIt is shown only this once; store it now.",
            bootstrap::OWNER_EMAIL
        );
        println!("{token}");
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    // Signal handlers before the address is announced: a SIGTERM right after start must drain
    // and exit 0, not kill the process with the default action.
    let shutdown = CancellationToken::new();
    tokio::spawn(wait_for_signal(shutdown_signals(), shutdown.clone()));
    let metrics = match metrics_addr {
        Some(addr) => {
            let handle = laneway_server::metrics::install()?;
            let metrics_listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for metrics on {addr}"))?;
            tracing::info!(addr = %metrics_listener.local_addr()?, "metrics listening (GET /metrics)");
            Some(tokio::spawn(laneway_server::metrics::serve(
                handle,
                prepared.state.clone(),
                metrics_listener,
                shutdown.clone(),
            )))
        }
        None => None,
    };
    tracing::info!(addr = %listener.local_addr()?, database = %redact_url(&url), "Laneway listening");
    let served = laneway_server::serve(prepared.state, listener, shutdown.clone()).await;
    if let Some(m) = metrics {
        shutdown.cancel();
        match m.await {
            Ok(Err(e)) => tracing::warn!(error = %e, "metrics server failed"),
            Err(e) => tracing::warn!(error = %e, "metrics server task failed"),
            Ok(Ok(())) => {}
        }
    }
    served?;
    tracing::info!("shut down cleanly");
    Ok(())
}

/// One line, with the database password redacted wherever it might appear.
fn first_line(e: &anyhow::Error, url: &str) -> String {
    let msg = format!("{e:#}");
    let msg = msg.lines().next().unwrap_or("").to_string();
    msg.replace(url, &redact_url(url))
}

/// SIGTERM or SIGINT (Ctrl-C). The handlers are installed when this is called, not when the
/// future is first polled.
fn shutdown_signals() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            async fn recv(s: Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                _ = recv(term) => {},
                _ = recv(int) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn wait_for_signal(signals: impl std::future::Future<Output = ()>, token: CancellationToken) {
    signals.await;
    tracing::info!("shutdown signal received; draining in-flight requests");
    token.cancel();
}
