//! Laneway's domain: ids, times, validated slugs, card positions, diffs, events and the
//! resource types the API returns. No HTTP and no SQL here.

pub mod diff;
pub mod error;
pub mod events;
pub mod fields;
pub mod filter;
pub mod ids;
pub mod model;
pub mod position;
pub mod slug;
pub mod time;
pub mod webhook;
pub mod webhook_sig;

pub use error::DomainError;
