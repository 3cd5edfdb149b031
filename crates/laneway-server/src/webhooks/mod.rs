//! The webhook delivery engine (spec webhooks.md, "Delivery").
//!
//! Three loops per server process:
//! - **fan-out** ([`fanout`]): woken by every commit that wrote events (in this process, or on
//!   PostgreSQL in any, through `LISTEN/NOTIFY`), turns new events into delivery rows;
//! - **dispatch**: claims due deliveries under a lease and sends each in its own task;
//! - **finish**: records attempts in batches (one transaction for many results) and decides
//!   retries, failures and auto-disable.
//!
//! Nothing is held only in memory: a process that dies loses its leases, and another process
//! (or itself, restarted) sends those deliveries again once the leases expire. That is the
//! at-least-once guarantee; `X-Laneway-Delivery` lets receivers drop the rare duplicate.

pub mod fanout;
pub mod send;
pub mod ssrf;

use std::sync::Arc;
use std::time::Duration;

use laneway_core::events::{Event, NewEvent};
use laneway_core::time::{now, Timestamp};
use laneway_core::webhook::{honour_retry_after, retry_wait};
use laneway_store::repo::webhooks::{self as repo, Claimed, Outcome};
use laneway_store::{Db, StoreResult};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::WebhookConfig;
use send::{Attempted, Sender};

/// Sends in flight per process, across webhooks.
const MAX_SENDS: usize = 512;
/// Deliveries claimed per claim transaction.
const CLAIM_BATCH: u64 = 200;
/// Attempt results recorded per transaction.
const FINISH_BATCH: usize = 200;

/// What handlers share with the engine.
pub struct Runtime {
    pub config: WebhookConfig,
    pub sender: Sender,
    /// Pokes the dispatcher: new deliveries, freed capacity.
    pub wake: Notify,
    /// When each webhook's history was last trimmed, and which trims were put off.
    pruned: std::sync::Mutex<Pruned>,
    /// Which of the engine's loops are running, for `GET /readyz`.
    pub workers: Workers,
}

/// Liveness of the engine's three loops: each flag is set when its loop is spawned and cleared
/// when the loop's future is dropped, whether it returned, failed or panicked.
#[derive(Default)]
pub struct Workers {
    flags: [std::sync::atomic::AtomicBool; 3],
}

/// The engine's loops, by name.
pub const WORKER_NAMES: [&str; 3] = ["fanout", "dispatch", "finish"];

impl Workers {
    /// Marks every loop as running; called just before the engine is spawned, so a probe
    /// between the spawn and the loops' first poll does not see them as dead.
    pub fn starting(&self) {
        for f in &self.flags {
            f.store(true, std::sync::atomic::Ordering::Release);
        }
    }

    /// The names of the loops that are not running.
    pub fn stopped(&self) -> Vec<&'static str> {
        self.flags
            .iter()
            .zip(WORKER_NAMES)
            .filter(|(f, _)| !f.load(std::sync::atomic::Ordering::Acquire))
            .map(|(_, n)| n)
            .collect()
    }

    fn guard(rt: &Arc<Runtime>, i: usize) -> WorkerGuard {
        rt.workers.flags[i].store(true, std::sync::atomic::Ordering::Release);
        WorkerGuard(rt.clone(), i)
    }
}

/// Clears its loop's flag when dropped.
struct WorkerGuard(Arc<Runtime>, usize);

impl Drop for WorkerGuard {
    fn drop(&mut self) {
        self.0.workers.flags[self.1].store(false, std::sync::atomic::Ordering::Release);
    }
}

/// Runs `fut` with loop `i`'s flag set while it lives.
async fn watched<F: std::future::Future<Output = ()>>(rt: Arc<Runtime>, i: usize, fut: F) {
    let _guard = Workers::guard(&rt, i);
    fut.await
}

#[derive(Default)]
struct Pruned {
    last: std::collections::HashMap<String, std::time::Instant>,
    put_off: std::collections::HashSet<String>,
}

/// Trims the histories whose trim [`record`] put off.
async fn trim_put_off(db: &Db, rt: &Runtime) -> StoreResult<()> {
    let hooks: Vec<String> = {
        let mut p = rt.pruned.lock().unwrap_or_else(|e| e.into_inner());
        let hooks: Vec<String> = p.put_off.drain().collect();
        let at = std::time::Instant::now();
        for h in &hooks {
            p.last.insert(h.clone(), at);
        }
        hooks
    };
    if hooks.is_empty() {
        return Ok(());
    }
    let mut s = db.write().await?;
    for h in &hooks {
        repo::prune_history(&mut s, h, rt.config.history).await?;
    }
    s.commit().await
}

/// How often one webhook's delivery history is trimmed at most.
const PRUNE_EVERY: Duration = Duration::from_secs(2);

impl Runtime {
    pub fn new(config: WebhookConfig) -> anyhow::Result<Runtime> {
        Ok(Runtime {
            sender: Sender::new(config.timeout, config.allow_private_targets)?,
            config,
            wake: Notify::new(),
            pruned: Default::default(),
            workers: Workers::default(),
        })
    }

    /// The retry time after attempt `tries` (1-based within its series) failed, or `None`
    /// once the schedule is exhausted.
    pub fn retry_at(&self, tries: u32, a: &Attempted, at: Timestamp) -> Option<Timestamp> {
        let wait = retry_wait(&self.config.retry_schedule, tries, rand::random::<f64>())?;
        let wait = honour_retry_after(wait, a.retry_after);
        Some(at + wait)
    }
}

/// The body of every delivery: `{"id", "event", "workspace_id", "timestamp", "data"}`, compact,
/// keys in that order. Whole-valued floats are written as integers, so a receiver that
/// re-serialises the parsed body with JavaScript's `JSON.stringify` gets the same bytes.
pub fn payload(e: &Event) -> String {
    #[derive(Serialize)]
    struct Body<'a> {
        id: uuid::Uuid,
        event: &'a str,
        workspace_id: &'a str,
        #[serde(with = "laneway_core::time::serde_ts")]
        timestamp: Timestamp,
        data: Value,
    }
    let body = Body {
        id: e.id,
        event: &e.event,
        workspace_id: &e.workspace_id,
        timestamp: e.timestamp,
        data: js_numbers(e.data.clone()),
    };
    serde_json::to_string(&body).unwrap_or_else(|_| "{}".into())
}

fn js_numbers(v: Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(0.0);
            if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                Value::from(f as i64)
            } else {
                Value::Number(n)
            }
        }
        Value::Array(a) => Value::Array(a.into_iter().map(js_numbers).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, js_numbers(v))).collect()),
        other => other,
    }
}

/// Runs the engine until `stop`; returns once the loops ended and the sends in flight were
/// recorded (or `grace` passed: their leases then expire and they are sent again).
pub async fn run(db: Db, rt: Arc<Runtime>, stop: CancellationToken, grace: Duration) {
    let (tx, rx) = mpsc::channel::<Outcome>(4096);
    let sends = TaskTracker::new();
    let fan = tokio::spawn(watched(
        rt.clone(),
        0,
        fanout_loop(db.clone(), rt.clone(), stop.clone()),
    ));
    let disp = tokio::spawn(watched(
        rt.clone(),
        1,
        dispatch_loop(db.clone(), rt.clone(), stop.clone(), tx, sends.clone()),
    ));
    let fin = tokio::spawn(watched(
        rt.clone(),
        2,
        finish_loop(db.clone(), rt.clone(), rx),
    ));
    let _ = fan.await;
    let _ = disp.await;
    sends.close();
    if tokio::time::timeout(grace, sends.wait()).await.is_err() {
        tracing::warn!("webhook sends still in flight at shutdown; their leases will expire");
    }
    // Every sender is gone with the dispatcher and the send tasks: the finisher drains and ends.
    let _ = tokio::time::timeout(Duration::from_secs(10), fin).await;
}

async fn backoff(stop: &CancellationToken, attempt: &mut u32) {
    let ms = 100u64 << (*attempt).min(6);
    *attempt += 1;
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
    }
}

async fn fanout_loop(db: Db, rt: Arc<Runtime>, stop: CancellationToken) {
    let mut changed = db.events_changed();
    let mut errors = 0;
    loop {
        changed.borrow_and_update();
        let mut retry_soon = false;
        loop {
            match fanout::pass(&db, &rt.config).await {
                Ok(p) => {
                    errors = 0;
                    if p.created > 0 {
                        rt.wake.notify_one();
                    }
                    if p.busy {
                        // Another process is fanning out; look again shortly in case it
                        // stops before reaching our events.
                        retry_soon = true;
                        break;
                    }
                    if (p.events as u64) < fanout::BATCH {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "webhook fan-out failed; retrying");
                    backoff(&stop, &mut errors).await;
                    retry_soon = true;
                    break;
                }
            }
            if stop.is_cancelled() {
                return;
            }
        }
        if !retry_soon {
            // PostgreSQL: events that committed behind an older, still open transaction are
            // not readable yet, and its end may wake no one.
            let mut s = match db.read().await {
                Ok(s) => s,
                Err(_) => continue,
            };
            if let Ok(Some(pos)) = current_position(&mut s).await {
                retry_soon = laneway_store::repo::events::unsettled(&mut s, None, Some(pos), &[])
                    .await
                    .unwrap_or(false);
            }
        }
        let wait = if retry_soon {
            Duration::from_millis(10)
        } else {
            Duration::from_secs(5)
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = changed.changed() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

async fn current_position(
    s: &mut laneway_store::Session,
) -> StoreResult<Option<laneway_store::repo::events::Position>> {
    // Read without locking: only to ask whether events are pending behind it.
    repo::peek_fanout_position(s).await
}

async fn dispatch_loop(
    db: Db,
    rt: Arc<Runtime>,
    stop: CancellationToken,
    results: mpsc::Sender<Outcome>,
    sends: TaskTracker,
) {
    let permits = Arc::new(Semaphore::new(MAX_SENDS));
    let mut errors = 0;
    loop {
        if stop.is_cancelled() {
            return;
        }
        // When the next delivery falls due (pending, or a dead process's lease running out).
        let at = now();
        let due = match db.read().await {
            Ok(mut s) => repo::next_due(&mut s).await.ok().flatten(),
            Err(_) => None,
        };
        let free = permits.available_permits() as u64;
        let mut progress = false;
        let mut throttled = false;
        if free > 0 && due.is_some_and(|t| t <= at) {
            let limit = free.min(CLAIM_BATCH);
            let lease_until = at + rt.config.lease();
            let claimed = async {
                let mut s = db.write().await?;
                let r = repo::claim(&mut s, at, lease_until, limit, rt.config.concurrency).await?;
                s.commit().await?;
                Ok::<_, laneway_store::StoreError>(r)
            }
            .await;
            match claimed {
                Ok(r) => {
                    errors = 0;
                    progress = !r.claimed.is_empty();
                    throttled = r.throttled;
                    for c in r.claimed {
                        let Ok(permit) = permits.clone().acquire_owned().await else {
                            return;
                        };
                        let rt = rt.clone();
                        let results = results.clone();
                        sends.spawn(async move {
                            let outcome = deliver(&rt, &c).await;
                            let _ = results.send(outcome).await;
                            drop(permit);
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "claiming webhook deliveries failed; retrying");
                    backoff(&stop, &mut errors).await;
                    continue;
                }
            }
        }
        if progress {
            continue;
        }
        // Nothing claimable now. Due deliveries that could not be claimed wait for a send to
        // finish (a free slot, the next of a resource) — which wakes us — or for a rate-limit
        // window; otherwise sleep until the next one falls due. At most a second, for other
        // processes' deliveries.
        let wait = if throttled {
            Duration::from_millis(100)
        } else {
            match due {
                Some(t) if t > at => {
                    let ms = (t - at).whole_milliseconds().clamp(1, 1000);
                    Duration::from_millis(ms as u64)
                }
                // Due but blocked (capacity, ordering, a used-up rate window).
                Some(_) => Duration::from_millis(250),
                None => Duration::from_secs(1),
            }
        };
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = rt.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Sends one claimed delivery and says what should be recorded.
pub async fn deliver(rt: &Runtime, c: &Claimed) -> Outcome {
    let a = rt
        .sender
        .send(&c.url, &c.event, c.id, &c.payload, &c.secrets)
        .await;
    let finished_at = now();
    let success = a.success();
    metrics::histogram!(crate::metrics::ATTEMPT_DURATION).record(a.duration_ms as f64 / 1000.0);
    if success {
        metrics::histogram!(crate::metrics::DELIVERY_LATENCY)
            .record(fanout::secs_between(c.created_at, finished_at));
    }
    let retry_at = if success {
        None
    } else {
        rt.retry_at(c.tries_before + 1, &a, finished_at)
    };
    Outcome {
        delivery_id: c.id,
        webhook_id: c.webhook_id.clone(),
        lease_token: c.lease_token,
        attempt: c.attempt,
        started_at: a.started_at,
        duration_ms: a.duration_ms,
        status_code: a.status,
        error: a.error.clone(),
        response_headers: a.headers.clone(),
        response_body: a.body.clone(),
        success,
        gone: a.status == Some(410),
        retry_at,
        counts: true,
        finished_at,
    }
}

async fn finish_loop(db: Db, rt: Arc<Runtime>, mut rx: mpsc::Receiver<Outcome>) {
    let mut batch: Vec<Outcome> = Vec::new();
    let mut errors = 0u32;
    loop {
        if batch.is_empty() {
            match tokio::time::timeout(PRUNE_EVERY, rx.recv()).await {
                Ok(Some(o)) => batch.push(o),
                Ok(None) => return,
                Err(_) => {
                    // Quiet: trim the histories whose trim was put off.
                    if let Err(e) = trim_put_off(&db, &rt).await {
                        tracing::warn!(error = %e, "trimming webhook delivery history failed");
                    }
                    continue;
                }
            }
        }
        while batch.len() < FINISH_BATCH {
            match rx.try_recv() {
                Ok(o) => batch.push(o),
                Err(_) => break,
            }
        }
        match record(&db, &rt, &batch).await {
            Ok(()) => {
                errors = 0;
                batch.clear();
                rt.wake.notify_one();
            }
            Err(e) => {
                // Keep the results and try again: an attempt that was made is recorded once
                // the database is back (or, if this process dies first, sent again).
                tracing::warn!(error = %e, n = batch.len(), "recording webhook attempts failed; retrying");
                let ms = 100u64 << errors.min(6);
                errors += 1;
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
        }
    }
}

/// Records attempt results in one transaction, with the `webhook.disabled` events of the
/// webhooks they disabled.
pub async fn record(db: &Db, rt: &Runtime, batch: &[Outcome]) -> StoreResult<()> {
    let mut s = db.write().await?;
    let mut events = Vec::new();
    for d in repo::finish(&mut s, batch, rt.config.disable_after).await? {
        tracing::warn!(
            webhook = %d.hook.id,
            reason = d.hook.disabled_reason.as_deref().unwrap_or(""),
            "webhook disabled"
        );
        events.push((d.workspace_id.clone(), disabled_event(&d.hook)));
    }
    for (ws, e) in events {
        laneway_store::repo::events::insert(&mut s, &ws, vec![e], now()).await?;
    }
    // Keep each webhook's history to its newest finished deliveries: trimmed at most every
    // couple of seconds per webhook, not on every batch.
    let mut hooks: Vec<&str> = batch.iter().map(|o| o.webhook_id.as_str()).collect();
    hooks.sort_unstable();
    hooks.dedup();
    let due: Vec<&str> = {
        let mut p = rt.pruned.lock().unwrap_or_else(|e| e.into_inner());
        let at = std::time::Instant::now();
        if p.last.len() > 10_000 {
            p.last.clear();
        }
        let mut due = Vec::new();
        for h in hooks {
            match p.last.get(h) {
                Some(t) if at.duration_since(*t) < PRUNE_EVERY => {
                    p.put_off.insert(h.to_string());
                }
                _ => {
                    p.last.insert(h.to_string(), at);
                    p.put_off.remove(h);
                    due.push(h);
                }
            }
        }
        due
    };
    for h in due {
        repo::prune_history(&mut s, h, rt.config.history).await?;
    }
    s.commit().await?;
    for o in batch.iter().filter(|o| o.counts) {
        let outcome = crate::metrics::delivery_outcome(o.success, o.gone, o.retry_at.is_some());
        metrics::counter!(crate::metrics::DELIVERIES, "outcome" => outcome).increment(1);
    }
    Ok(())
}

fn disabled_event(h: &laneway_core::webhook::Webhook) -> NewEvent {
    NewEvent::new(
        "webhook.disabled",
        "webhook",
        h.id.clone(),
        serde_json::to_value(h).unwrap_or(Value::Null),
    )
}
