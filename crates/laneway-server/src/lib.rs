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
pub mod health;
pub mod metrics;
pub mod state;
pub mod webhooks;

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
    // The key that signs pagination cursors, shared by every process on this database.
    let cursor_key = laneway_store::repo::settings::get_or_init(&db, "cursor_key", || {
        hex::encode(rand::random::<[u8; 32]>())
    })
    .await
    .context("cannot read the cursor key")?;
    Ok(Prepared {
        state: AppState {
            cursor_key: Arc::new(cursor_key.into_bytes()),
            db,
            limiter: api::ratelimit::Limiter::new(config.rate_limit),
            webhooks: Arc::new(
                webhooks::Runtime::new(config.webhooks.clone())
                    .context("cannot set up the webhook sender")?,
            ),
            config: Arc::new(config),
            shutdown: CancellationToken::new(),
        },
        bootstrap_token,
    })
}

/// Serves the API on `listener` until `shutdown` is cancelled, then drains in-flight requests
/// (bounded by the configured grace period) and returns. Event streams end at once on
/// `shutdown` (clients resume with `Last-Event-ID`), so they never hold up the drain.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    // Also cancelled when the server ends on its own (or fails), to stop the background tasks.
    let stop = shutdown.child_token();
    let _stop_on_exit = stop.clone().drop_guard();
    let state = AppState {
        shutdown: stop.clone(),
        ..state
    };
    let grace = state.config.shutdown_grace;
    tokio::spawn(maintenance(state.clone(), stop.clone()));
    let wakeups = {
        let db = state.db.clone();
        let stop = stop.clone();
        tokio::spawn(async move { db.run_event_wakeups(stop).await })
    };
    let engine = state.config.webhooks.engine.then(|| {
        state.webhooks.workers.starting();
        tokio::spawn(webhooks::run(
            state.db.clone(),
            state.webhooks.clone(),
            stop.clone(),
            grace,
        ))
    });
    let app = api::app(state.clone());
    let signal = shutdown.clone();
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move { signal.cancelled().await });
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
    // The listener holds a connection of its own; let it go before closing the pools.
    stop.cancel();
    if tokio::time::timeout(std::time::Duration::from_secs(5), wakeups)
        .await
        .is_err()
    {
        tracing::warn!("event wake-up task did not stop in time");
    }
    if let Some(engine) = engine {
        if tokio::time::timeout(grace + std::time::Duration::from_secs(15), engine)
            .await
            .is_err()
        {
            tracing::warn!("webhook engine did not stop in time");
        }
    }
    state.db.close().await;
    Ok(())
}

/// Housekeeping until shutdown: idle rate-limit buckets every minute; expired idempotency
/// entries and, with a retention set, old events every hour (and at start).
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
        api::shrink_submission_limits();
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
        let days = state.config.event_retention_days;
        if days > 0 {
            // Retention keeps what the webhook fan-out has not read; let it catch up first
            // (at start it may still be working through events that came in while stopped).
            webhooks::fanout::catch_up(
                &db,
                &state.config.webhooks,
                std::time::Duration::from_secs(30),
            )
            .await;
            match purge_events(&db, days, &shutdown).await {
                Ok(n) if n > 0 => tracing::info!(purged = n, days, "events past retention removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "event retention purge failed"),
            }
        }
    }
}

/// Events deleted per statement: each batch is its own short transaction, so a large purge
/// lets other writers in between (SQLite has one writer at a time).
const PURGE_BATCH: u64 = 1000;

/// Deletes events older than `days` days, in batches, until none is left or shutdown.
pub async fn purge_events(
    db: &Db,
    days: u32,
    shutdown: &CancellationToken,
) -> Result<u64, laneway_store::StoreError> {
    let cutoff = laneway_core::time::now() - time::Duration::days(i64::from(days));
    purge_events_before(db, cutoff, shutdown).await
}

/// Deletes events stored before `cutoff` (and already read by the webhook fan-out), in
/// batches, until none is left or shutdown.
pub async fn purge_events_before(
    db: &Db,
    cutoff: laneway_core::time::Timestamp,
    shutdown: &CancellationToken,
) -> Result<u64, laneway_store::StoreError> {
    let mut total = 0;
    while !shutdown.is_cancelled() {
        let mut s = db.write().await?;
        let n = laneway_store::repo::events::purge_before(&mut s, cutoff, PURGE_BATCH).await?;
        s.commit().await?;
        total += n;
        if n < PURGE_BATCH {
            break;
        }
        // Let queued writers in before the next batch.
        tokio::task::yield_now().await;
    }
    Ok(total)
}
