//! Health probes for load balancers and orchestrators, outside `/api/v1` and without a key:
//! `GET /healthz` says the process answers (it touches nothing else); `GET /readyz` says this
//! process can serve: the database answers, this binary's migrations are all applied, the
//! webhook engine's loops are running and the server is not shutting down. A failing part is
//! named in the 503's body.

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Serialize;

use crate::state::AppState;

/// The longest a readiness probe waits for the database.
const DB_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        // Probed every second or so: their access lines are logged at debug, not info.
        .layer(axum::middleware::map_response(
            |mut r: axum::response::Response| async move {
                r.extensions_mut().insert(QuietLog);
                r
            },
        ))
}

/// Marks a response whose access line is logged at debug level (see `api::LogResponse`).
#[derive(Debug, Clone, Copy)]
pub struct QuietLog;

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

#[derive(Serialize)]
struct Readiness {
    /// `ready` or `not_ready`.
    status: &'static str,
    /// Each part, `ok` or what is wrong with it.
    checks: Checks,
    /// The parts that are not `ok`, in the order of `checks`.
    failing: Vec<&'static str>,
}

#[derive(Serialize)]
struct Checks {
    server: String,
    database: String,
    migrations: String,
    webhook_workers: String,
}

fn no_store(status: StatusCode, body: impl Serialize) -> Response {
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn healthz() -> Response {
    no_store(StatusCode::OK, Health { status: "ok" })
}

async fn readyz(State(state): State<AppState>) -> Response {
    const OK: &str = "ok";
    let server = if state.shutdown.is_cancelled() {
        "shutting down".to_string()
    } else {
        OK.to_string()
    };
    let (database, migrations) = match tokio::time::timeout(DB_TIMEOUT, async {
        let mut s = state.db.read().await?;
        s.ping().await?;
        s.pending_migrations().await
    })
    .await
    {
        Err(_) => (
            format!("no answer within {} s", DB_TIMEOUT.as_secs()),
            "unknown: the database did not answer".to_string(),
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database check failed");
            (
                match e {
                    laneway_store::StoreError::Unavailable(_) => "unavailable".to_string(),
                    _ => "query failed (see the server log)".to_string(),
                },
                "unknown: the database did not answer".to_string(),
            )
        }
        Ok(Ok(pending)) if pending.is_empty() => (OK.to_string(), OK.to_string()),
        Ok(Ok(pending)) => (
            OK.to_string(),
            format!(
                "not applied: {}",
                pending
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    };
    let webhook_workers = if !state.config.webhooks.engine {
        "disabled".to_string()
    } else {
        match state.webhooks.workers.stopped() {
            stopped if stopped.is_empty() => OK.to_string(),
            stopped => format!("not running: {}", stopped.join(", ")),
        }
    };
    let checks = Checks {
        server,
        database,
        migrations,
        webhook_workers,
    };
    let failing: Vec<&'static str> = [
        ("server", &checks.server),
        ("database", &checks.database),
        ("migrations", &checks.migrations),
        ("webhook_workers", &checks.webhook_workers),
    ]
    .into_iter()
    .filter(|(_, v)| v.as_str() != OK && v.as_str() != "disabled")
    .map(|(k, _)| k)
    .collect();
    let status = if failing.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    no_store(
        status,
        Readiness {
            status: if failing.is_empty() {
                "ready"
            } else {
                "not_ready"
            },
            checks,
            failing,
        },
    )
}
