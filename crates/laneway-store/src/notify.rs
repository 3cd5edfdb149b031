//! Wake-ups for readers of the event log (the event stream, the webhook engine).
//!
//! Readers never trust a wake-up to carry data: it only says "new events may have committed;
//! read again from your position". So a spurious wake-up costs one query, and a missed one
//! only delays an event until the fallback poll, never loses it.
//!
//! Sources of wake-ups:
//! - a commit in this process that wrote events ([`crate::Session::commit`]);
//! - on PostgreSQL, a `NOTIFY laneway_events` from another process on the same database;
//! - a fallback poll every [`FALLBACK_POLL`], for anything missed (a process that crashed
//!   between its commit and its notification, a listener reconnecting, another process writing
//!   a SQLite file).
//!
//! Why the `NOTIFY` is sent after the commit, from a separate connection, and not inside the
//! writing transaction: a transaction that has queued a notification takes a cluster-wide lock
//! at commit and holds it until the commit is durable (PostgreSQL's `PreCommit_Notify`, to keep
//! the notification queue in commit order), which serialises every notifying commit and
//! defeats group commit. One coalesced `NOTIFY` per burst of local commits keeps writes
//! parallel; the fallback poll covers the rare notification lost to a crash.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The PostgreSQL channel of event wake-ups.
pub const CHANNEL: &str = "laneway_events";

/// How often readers are woken even without a notification.
pub const FALLBACK_POLL: Duration = Duration::from_secs(2);

/// Longest wait between attempts to (re)connect the listener or to send a notification.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(crate) struct Notifier {
    /// Bumped by every possible source of new events; what readers watch.
    changed: watch::Sender<u64>,
    /// Bumped by commits of this process only; what the PostgreSQL publisher watches (so a
    /// notification received from another process is not sent back out).
    local: watch::Sender<u64>,
    /// Payload of this process's notifications, so its own listener can ignore them.
    instance: String,
}

fn bump(tx: &watch::Sender<u64>) {
    tx.send_modify(|n| *n = n.wrapping_add(1));
}

impl Notifier {
    pub(crate) fn new() -> Arc<Notifier> {
        Arc::new(Notifier {
            changed: watch::channel(0).0,
            local: watch::channel(0).0,
            instance: uuid::Uuid::now_v7().simple().to_string(),
        })
    }

    /// A transaction of this process that wrote events has committed.
    pub(crate) fn committed(&self) {
        bump(&self.local);
        bump(&self.changed);
    }

    fn wake(&self) {
        bump(&self.changed);
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// The fallback poll, and on PostgreSQL the listener and the publisher, until `stop`.
    pub(crate) async fn run(
        self: Arc<Self>,
        pg: Option<(PgPool, PgConnectOptions)>,
        stop: CancellationToken,
    ) {
        let poll = {
            let this = self.clone();
            let stop = stop.clone();
            async move {
                let mut tick = tokio::time::interval(FALLBACK_POLL);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tick.tick() => this.wake(),
                    }
                }
            }
        };
        match pg {
            None => poll.await,
            Some((pool, options)) => {
                tokio::join!(
                    poll,
                    self.clone().listen(options, stop.clone()),
                    self.publish(pool, stop),
                );
            }
        }
    }

    /// Turns `NOTIFY laneway_events` from other processes into wake-ups. Uses a connection of
    /// its own (not one of the request pool) and reconnects with backoff.
    async fn listen(self: Arc<Self>, options: PgConnectOptions, stop: CancellationToken) {
        // A one-connection pool only to let PgListener reconnect; no idle or lifetime limits,
        // which would drop the subscription for nothing.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(Duration::from_secs(10))
            .connect_lazy_with(options);
        let mut backoff = Duration::from_millis(100);
        while !stop.is_cancelled() {
            let connect = async {
                let mut l = PgListener::connect_with(&pool).await?;
                l.ignore_pool_close_event(true);
                l.listen(CHANNEL).await?;
                Ok::<_, sqlx::Error>(l)
            };
            let mut listener = tokio::select! {
                _ = stop.cancelled() => break,
                l = connect => match l {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(error = %e, retry_in = ?backoff, "cannot listen for event notifications");
                        if sleep_or_stop(backoff, &stop).await {
                            break;
                        }
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                },
            };
            backoff = Duration::from_millis(100);
            // Whatever was notified while we were not listening is read now.
            self.wake();
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    n = listener.try_recv() => match n {
                        Ok(Some(n)) => {
                            if n.payload() != self.instance {
                                self.wake();
                            }
                        }
                        // The connection was lost and has been re-established (notifications
                        // in between are gone): read again.
                        Ok(None) => self.wake(),
                        Err(e) => {
                            tracing::warn!(error = %e, "event notification listener failed; reconnecting");
                            break;
                        }
                    },
                }
            }
            drop(listener);
            if sleep_or_stop(backoff, &stop).await {
                break;
            }
        }
        pool.close().await;
    }

    /// Sends one `NOTIFY laneway_events` per burst of local commits, after they committed.
    async fn publish(self: Arc<Self>, pool: PgPool, stop: CancellationToken) {
        let mut local = self.local.subscribe();
        let mut backoff = Duration::from_millis(50);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                r = local.changed() => if r.is_err() { return },
            }
            // Commits that land while this one is in flight coalesce into the next `changed`.
            local.borrow_and_update();
            let send = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(&self.instance)
                .execute(&pool);
            let sent = tokio::select! {
                _ = stop.cancelled() => return,
                r = send => r,
            };
            match sent {
                Ok(_) => backoff = Duration::from_millis(50),
                Err(e) => {
                    // Other processes see these events at their fallback poll at the latest.
                    tracing::debug!(error = %e, "cannot notify other processes of new events");
                    local.mark_changed();
                    if sleep_or_stop(backoff, &stop).await {
                        return;
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}

/// Sleeps for `d`; true if `stop` fired first.
async fn sleep_or_stop(d: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        _ = stop.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}
