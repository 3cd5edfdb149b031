//! Laneway's HTTP server: the REST API under `/api/v1`, its extractors and error type.

pub mod api;
/// Input checks shared with the CLI.
pub mod api_checks {
    pub use crate::api::members_checks::{check_email, check_name};
}
pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod error;
pub mod extract;
pub mod state;

use std::sync::Arc;

use anyhow::Context;
use laneway_store::{redact_url, Db};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::ServerConfig;
pub use state::AppState;

/// A connected, migrated and bootstrapped server, ready to serve.
pub struct Prepared {
    pub state: AppState,
    /// The admin token created by first-start bootstrap (printed once by `serve`).
    pub bootstrap_token: Option<String>,
}

/// Connects to the database, applies migrations and runs first-start bootstrap.
pub async fn prepare(config: ServerConfig) -> anyhow::Result<Prepared> {
    let db = Db::connect(&config.database_url, &config.db)
        .await
        .with_context(|| {
            format!(
                "cannot connect to database {}",
                redact_url(&config.database_url)
            )
        })?;
    db.migrate()
        .await
        .context("cannot apply database migrations")?;
    let bootstrap_token = bootstrap::first_start(&db)
        .await
        .context("first-start bootstrap failed")?;
    Ok(Prepared {
        state: AppState {
            db,
            limiter: api::ratelimit::Limiter::new(config.rate_limit),
            config: Arc::new(config),
        },
        bootstrap_token,
    })
}

/// Serves the API on `listener` until `shutdown` is cancelled, then drains in-flight requests
/// (bounded by the configured grace period) and returns.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let grace = state.config.shutdown_grace;
    tokio::spawn(maintenance(state.clone(), shutdown.clone()));
    let app = api::app(state.clone());
    let signal = shutdown.clone();
    let server =
        axum::serve(listener, app).with_graceful_shutdown(async move { signal.cancelled().await });
    let mut handle = tokio::spawn(async move { server.await });
    tokio::select! {
        joined = &mut handle => {
            joined.context("server task failed")?.context("server error")?;
        }
        _ = shutdown.cancelled() => {
            match tokio::time::timeout(grace, handle).await {
                Ok(joined) => joined.context("server task failed")?.context("server error")?,
                Err(_) => tracing::warn!(?grace, "in-flight requests did not finish within the grace period"),
            }
        }
    }
    state.db.close().await;
    Ok(())
}

/// Housekeeping until shutdown: idle rate-limit buckets every minute, expired idempotency
/// entries every hour.
async fn maintenance(state: AppState, shutdown: CancellationToken) {
    let db = state.db.clone();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        state.limiter.shrink();
        n += 1;
        if n % 60 != 1 {
            continue;
        }
        let cutoff = laneway_core::time::now() - time::Duration::hours(24);
        let result = async {
            let mut s = db.write().await?;
            let n = laneway_store::repo::idempotency::purge(&mut s, cutoff).await?;
            s.commit().await?;
            Ok::<u64, laneway_store::StoreError>(n)
        }
        .await;
        match result {
            Ok(n) if n > 0 => tracing::debug!(purged = n, "expired idempotency keys removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "idempotency purge failed"),
        }
    }
}
