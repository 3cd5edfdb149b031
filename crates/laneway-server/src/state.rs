//! Shared state of every handler.

use std::sync::Arc;

use laneway_store::Db;

use crate::api::ratelimit::Limiter;
use crate::config::ServerConfig;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<ServerConfig>,
    pub limiter: Limiter,
}
