//! Laneway as a library: the server and storage crates, for embedding and for tests.

pub use laneway_core as core;
/// Webhook signing and verification (`verify` for receivers): see README "Verifying webhooks".
pub use laneway_core::webhook_sig as webhooks;
pub use laneway_server as server;
pub use laneway_store as store;
