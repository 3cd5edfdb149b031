//! Prometheus metrics, off by default: `laneway serve --metrics-listen 127.0.0.1:9184` serves
//! `GET /metrics` (the Prometheus text format) on that address only, never beside the API, so
//! it is reachable exactly where the operator binds it and needs no key.
//!
//! Values are recorded through the `metrics` facade wherever the work happens (the store times
//! its pool acquires and counts the events it commits; the webhook engine its fan-out and
//! attempts; the event stream its clients) and rendered by `metrics-exporter-prometheus`.
//! Without `--metrics-listen` no recorder is installed, the facade's calls are no-ops and the
//! HTTP layer is not added. Gauges of stored state (deliveries by status, pool connections) are
//! read when Prometheus scrapes.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use laneway_core::webhook::DeliveryStatus;
use laneway_store::db_metrics as store;
use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

pub const HTTP_REQUESTS: &str = "laneway_http_requests_total";
pub const HTTP_DURATION: &str = "laneway_http_request_duration_seconds";
pub const DB_CONNECTIONS: &str = "laneway_db_connections";
pub const DB_CONNECTIONS_MAX: &str = "laneway_db_connections_max";
pub const DELIVERIES: &str = "laneway_webhook_deliveries_total";
pub const DELIVERIES_BY_STATUS: &str = "laneway_webhook_deliveries";
pub const ATTEMPT_DURATION: &str = "laneway_webhook_attempt_duration_seconds";
pub const DELIVERY_LATENCY: &str = "laneway_webhook_delivery_latency_seconds";
pub const FANOUT_LAG: &str = "laneway_webhook_fanout_lag_seconds";
pub const WORKERS_RUNNING: &str = "laneway_webhook_workers_running";
pub const STREAM_CLIENTS: &str = "laneway_event_stream_clients";
pub const BUILD_INFO: &str = "laneway_build_info";

/// Latency buckets (seconds) of every histogram but the delivery latency.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Delivery latency includes retries, which wait minutes to a day.
const DELIVERY_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0,
    3600.0, 21600.0, 86400.0,
];

/// How often histograms are drained when Prometheus does not scrape (their samples are kept
/// until then).
const UPKEEP: Duration = Duration::from_secs(5);
/// The longest a scrape waits for the database before answering without its gauges.
const SCRAPE_DB_TIMEOUT: Duration = Duration::from_secs(2);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's Prometheus recorder (once; later calls return the same handle).
pub fn install() -> anyhow::Result<PrometheusHandle> {
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets(BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(DELIVERY_LATENCY.into()), DELIVERY_BUCKETS)
        })
        .context("invalid histogram buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    describe();
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(HANDLE.get_or_init(|| handle).clone())
}

fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method, route template (`unmatched` for no route) and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request (to the response head; an event stream counts until it starts)"
    );
    describe_gauge!(
        DB_CONNECTIONS,
        "Open database connections by pool and state (in_use, idle)"
    );
    describe_gauge!(DB_CONNECTIONS_MAX, "The most connections a pool opens");
    describe_histogram!(
        store::DB_ACQUIRE_SECONDS,
        Unit::Seconds,
        "Time waited for a database connection (the SQLite writer: for the write lock), by pool"
    );
    describe_gauge!(
        store::DB_ACQUIRE_WAITING,
        "Tasks waiting for a database connection now, by pool; `sqlite_write` is the SQLite writer's queue"
    );
    describe_counter!(store::EVENTS_WRITTEN, "Events committed to the event log");
    describe_counter!(
        DELIVERIES,
        "Webhook delivery attempts recorded, by outcome: delivered, retrying, failed (no retry left), gone (410 disabled the webhook); test sends are not counted"
    );
    describe_gauge!(
        DELIVERIES_BY_STATUS,
        "Webhook deliveries stored, by status (pending, in_flight, paused, failed, succeeded, quota_exceeded)"
    );
    describe_histogram!(
        ATTEMPT_DURATION,
        Unit::Seconds,
        "Duration of one webhook HTTP attempt, to the receiver's answer or the error"
    );
    describe_histogram!(
        DELIVERY_LATENCY,
        Unit::Seconds,
        "From a delivery's creation at fan-out to the receiver's 2xx, retries included"
    );
    describe_histogram!(
        FANOUT_LAG,
        Unit::Seconds,
        "From an event's commit to its fan-out into webhook deliveries"
    );
    describe_gauge!(
        WORKERS_RUNNING,
        "Webhook engine loops running in this process (fan-out, dispatch, finish: 3 when healthy)"
    );
    describe_gauge!(STREAM_CLIENTS, "Event-stream (SSE) clients connected");
    describe_gauge!(BUILD_INFO, "Always 1, labelled with the running version");
}

/// Counts and times every request, labelled by the route template that matched. A
/// `Router::layer`, so it runs after routing (the template is known) and outside the rate
/// limiter (429s count under their route).
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str())
        // axum's catch-all of a nested router's fallback: no route of ours.
        .filter(|r| !r.contains("__private__"))
        .unwrap_or("unmatched")
        .to_string();
    let resp = next.run(req).await;
    let labels = [
        ("method", method.to_string()),
        ("route", route),
        ("status", resp.status().as_u16().to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_DURATION, &labels).record(start.elapsed().as_secs_f64());
    resp
}

/// Methods outside the standard set share one label, so a client cannot make new series.
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Held by each event-stream response while it is open.
pub struct StreamClient(metrics::Gauge);

impl StreamClient {
    pub fn connect() -> StreamClient {
        let g = metrics::gauge!(STREAM_CLIENTS);
        g.increment(1.0);
        StreamClient(g)
    }
}

impl Drop for StreamClient {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// The outcome label of a recorded webhook attempt.
pub fn delivery_outcome(success: bool, gone: bool, retrying: bool) -> &'static str {
    match (success, gone, retrying) {
        (true, _, _) => "delivered",
        (false, true, _) => "gone",
        (false, false, true) => "retrying",
        (false, false, false) => "failed",
    }
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    state: AppState,
}

/// The metrics listener's routes: `GET /metrics`.
pub fn router(handle: PrometheusHandle, state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found: GET /metrics\n") })
        .with_state(Scrape { handle, state })
}

async fn scrape(State(sc): State<Scrape>) -> Response {
    refresh_gauges(&sc.state).await;
    sc.handle.run_upkeep();
    let mut resp = sc.handle.render().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Sets the gauges read from the pools and the database. A database that does not answer in
/// time leaves the delivery gauges at their last values (and says so in the log).
async fn refresh_gauges(state: &AppState) {
    for p in state.db.pool_stats() {
        metrics::gauge!(DB_CONNECTIONS, "pool" => p.pool, "state" => "in_use")
            .set(f64::from(p.size - p.idle));
        metrics::gauge!(DB_CONNECTIONS, "pool" => p.pool, "state" => "idle").set(f64::from(p.idle));
        metrics::gauge!(DB_CONNECTIONS_MAX, "pool" => p.pool).set(f64::from(p.max));
    }
    let running = if state.config.webhooks.engine {
        3 - state.webhooks.workers.stopped().len()
    } else {
        0
    };
    metrics::gauge!(WORKERS_RUNNING).set(running as f64);
    let counted = tokio::time::timeout(SCRAPE_DB_TIMEOUT, async {
        let mut s = state.db.read().await?;
        laneway_store::repo::webhooks::count_by_status(&mut s).await
    })
    .await;
    match counted {
        Ok(Ok(counts)) => {
            for st in DeliveryStatus::ALL {
                let n = counts.iter().find(|(s, _)| *s == st).map_or(0, |(_, n)| *n);
                metrics::gauge!(DELIVERIES_BY_STATUS, "status" => st.as_str()).set(n as f64);
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "metrics: cannot count webhook deliveries"),
        Err(_) => tracing::warn!("metrics: counting webhook deliveries timed out"),
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown`, draining histograms every few seconds
/// even when nobody scrapes.
pub async fn serve(
    handle: PrometheusHandle,
    state: AppState,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let upkeep = {
        let handle = handle.clone();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(UPKEEP);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tick.tick() => handle.run_upkeep(),
                }
            }
        })
    };
    let app = router(handle, state);
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .context("metrics server error");
    upkeep.abort();
    result
}
