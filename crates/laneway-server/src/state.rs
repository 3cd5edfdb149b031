//! Shared state of every handler.

use std::sync::Arc;

use laneway_store::Db;
use tokio_util::sync::CancellationToken;

use crate::api::ratelimit::Limiter;
use crate::config::ServerConfig;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<ServerConfig>,
    pub limiter: Limiter,
    /// Signs pagination cursors (`api::listing`); the same on every process of a database.
    pub cursor_key: Arc<Vec<u8>>,
    /// Cancelled when the server shuts down: responses that never end on their own (the event
    /// stream) end on it, so they do not hold up the drain of in-flight requests.
    pub shutdown: CancellationToken,
    /// The webhook sender and the dispatcher's wake-up (`webhooks`).
    pub webhooks: Arc<crate::webhooks::Runtime>,
}
