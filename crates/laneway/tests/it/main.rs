//! Integration tests: the real server over HTTP, on SQLite and (when configured) PostgreSQL.

mod support;

mod auth;
mod backends;
mod cli;
mod contracts;
mod conventions;
mod events;
mod events_stream;
mod filters;
mod forms;
mod health;
mod idempotency;
mod kanvo;
mod members_keys;
mod metrics;
mod notes_comments;
mod openapi;
mod ratelimit;
mod receiver;
mod records;
mod schema;
mod tasks;
mod webhooks;
mod webhooks_api;
mod webhooks_lists;
mod webhooks_notes;
mod webhooks_procs;
mod workspace_tz;

pub use support::{Backend, TestApp};
