//! Laneway as a library: the server and storage crates, for embedding and for tests.

pub use laneway_core as core;
pub use laneway_server as server;
pub use laneway_store as store;
