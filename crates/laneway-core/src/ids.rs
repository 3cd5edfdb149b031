//! Identifiers. Content ids are UUIDv7 (time-ordered, so inserts stay index-friendly);
//! workspaces, keys and webhooks carry a readable prefix so a stray id in a log says what it is.

use uuid::Uuid;

/// A new time-ordered content id.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

fn prefixed(prefix: &str) -> String {
    format!("{prefix}{}", Uuid::now_v7().simple())
}

/// A new workspace id, `ws_` + 32 hex digits.
pub fn new_workspace_id() -> String {
    prefixed("ws_")
}

/// A new API key id, `key_` + 32 hex digits.
pub fn new_key_id() -> String {
    prefixed("key_")
}

/// A new webhook id, `wh_` + 32 hex digits.
pub fn new_webhook_id() -> String {
    prefixed("wh_")
}

/// Parses a content id, accepting only the canonical textual forms `Uuid::parse_str` knows.
pub fn parse_uuid(s: &str) -> Option<Uuid> {
    Uuid::parse_str(s.trim()).ok()
}
