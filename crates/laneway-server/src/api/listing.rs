//! `filter`, `sort` and both pagination modes for every list endpoint (`filters.md`).
//!
//! A handler builds its [`Registry`], calls [`ListRequest::parse`] with the query string, runs
//! the store's list with the resulting spec and answers with [`ListRequest::respond`]. Offset
//! mode answers `meta: {total, page, per_page}`; cursor mode (chosen by `page[size]` or
//! `page[cursor]`) answers `links` and `meta: {path, per_page, next_cursor, next_cursor_url,
//! prev_cursor, prev_cursor_url}`.
//!
//! Cursors are opaque to clients: base64url JSON of the boundary row's sort values, the
//! direction and a fingerprint of the request (path, sort, filter and the endpoint's simple
//! parameters), followed by an HMAC-SHA256 tag under the server's cursor key. A cursor reused
//! with another sort or filter, or altered in any way, is a 400.

use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use laneway_core::filter::{self, FilterError};
use laneway_store::listing::{self, Ctx, ListSpec, Listed, Paging, Registry, Sort};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{PageParams, Params};
use crate::state::AppState;

/// What special filter values resolve against for this caller. Every workspace uses UTC until
/// workspaces can set their time zone.
pub fn ctx(state: &AppState, auth: &Auth) -> Ctx {
    Ctx {
        backend: state.db.backend(),
        workspace: auth.ws().to_string(),
        me: Some(auth.member_id),
        now: laneway_core::time::now(),
        zone: auth.zone.clone(),
    }
}

/// Items per page in cursor mode, unless `page[size]` says otherwise.
pub const DEFAULT_CURSOR_SIZE: u64 = 30;
pub const MAX_PAGE_SIZE: u64 = 100;

/// Parameters that belong to paging and are not part of what a cursor is bound to.
const PAGING_PARAMS: [&str; 4] = ["page", "per_page", "page[size]", "page[cursor]"];

#[derive(Debug)]
enum Mode {
    Offset(PageParams),
    Cursor {
        size: u64,
        /// The direction the incoming cursor pointed, if one was given.
        from: Option<Dir>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    Next,
    Prev,
}

/// A parsed list request, ready to run and to answer.
#[derive(Debug)]
pub struct ListRequest {
    pub spec: ListSpec,
    mode: Mode,
    fingerprint: String,
    path: String,
    pairs: Vec<(String, String)>,
    /// Signs the cursors of the answer.
    cursor_key: Vec<u8>,
}

fn filter_error(e: FilterError, param: &str) -> ApiError {
    ApiError::bad_request("invalid_filter", e.to_string())
        .with_details(json!({ "parameter": param }))
}

fn param_error(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_parameter", message).with_details(json!({ "parameter": param }))
}

impl ListRequest {
    /// Reads `filter`, `sort` and the paging parameters. `path` is the request path (for
    /// `meta.path` and the cursor URLs); `default_sort` applies when `sort` is absent.
    pub fn parse(
        q: &Params,
        path: &str,
        reg: &Registry,
        ctx: &Ctx,
        default_sort: &str,
        cursor_key: &[u8],
    ) -> ApiResult<ListRequest> {
        let parsed = match q.get("filter").map(str::trim).filter(|s| !s.is_empty()) {
            Some(raw) => Some(filter::parse(raw).map_err(|e| filter_error(e, "filter"))?),
            None => None,
        };
        let compiled = match &parsed {
            Some(e) => Some(listing::compile(reg, e, ctx).map_err(|e| filter_error(e, "filter"))?),
            None => None,
        };
        let sort = Sort::parse(reg, q.get("sort"), default_sort).map_err(|e| {
            // The message and hint alone: a sort error is not a `filter:` one.
            let message = match &e.hint {
                Some(h) => format!("{} ({h})", e.message),
                None => e.message.clone(),
            };
            ApiError::bad_request("invalid_sort", message)
                .with_details(json!({ "parameter": "sort" }))
        })?;

        let pairs = q.pairs().to_vec();
        let mut bound: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| !PAGING_PARAMS.contains(&k.as_str()) && k != "filter" && k != "sort")
            .cloned()
            .collect();
        bound.sort();
        let mut h = Sha256::new();
        h.update(path.as_bytes());
        h.update(b"\n");
        h.update(sort.canonical().as_bytes());
        h.update(b"\n");
        if let Some(e) = &parsed {
            h.update(filter::to_string(e).as_bytes());
        }
        for (k, v) in &bound {
            h.update(b"\n");
            h.update(k.as_bytes());
            h.update(b"=");
            h.update(v.as_bytes());
        }
        let fingerprint = hex::encode(&h.finalize()[..12]);

        let cursor_mode = q.has("page[size]") || q.has("page[cursor]");
        let (mode, paging) = if cursor_mode {
            if let Some(p) = ["page", "per_page"].into_iter().find(|p| q.has(p)) {
                return Err(param_error(
                    p,
                    format!("'{p}' belongs to offset pagination and cannot be combined with page[size] or page[cursor]"),
                ));
            }
            let size = match q.get("page[size]") {
                None => DEFAULT_CURSOR_SIZE,
                Some(raw) => match raw.trim().parse::<i64>() {
                    Ok(n) if n > 0 => (n as u64).min(MAX_PAGE_SIZE),
                    _ => {
                        return Err(param_error(
                            "page[size]",
                            format!(
                            "Query parameter 'page[size]' must be a positive integer, got '{raw}'"
                        ),
                        ))
                    }
                },
            };
            let (from, after) = match q.get("page[cursor]").map(str::trim) {
                None | Some("") => (None, None),
                Some(raw) => {
                    let c = decode_cursor(raw, cursor_key, &fingerprint)?;
                    let after = sort
                        .after(reg, ctx, &c.keys, c.dir == Dir::Prev)
                        .map_err(|_| bad_cursor())?;
                    (Some(c.dir), Some(after))
                }
            };
            (
                Mode::Cursor { size, from },
                Paging::Cursor {
                    size,
                    after,
                    backward: from == Some(Dir::Prev),
                },
            )
        } else {
            let p = q.page()?;
            let w = p.window();
            (
                Mode::Offset(p),
                Paging::Offset {
                    offset: w.offset,
                    limit: w.limit,
                },
            )
        };
        Ok(ListRequest {
            spec: ListSpec {
                filter: compiled,
                sort,
                paging,
            },
            mode,
            fingerprint,
            path: path.to_string(),
            pairs,
            cursor_key: cursor_key.to_vec(),
        })
    }

    /// The answer for a page the store returned for this request.
    pub fn respond<T: Serialize>(&self, page: Listed<T>) -> Response {
        match &self.mode {
            Mode::Offset(p) => super::page(page.items, page.total.unwrap_or(0), *p),
            Mode::Cursor { size, from } => {
                let boundary = |item: Option<&T>| -> Option<Vec<Value>> {
                    let v = serde_json::to_value(item?).ok()?;
                    Some(self.spec.sort.boundary(&v))
                };
                let first = boundary(page.items.first());
                let last = boundary(page.items.last());
                // Reading forward, `more` says whether a next page exists; reading backward,
                // whether a previous one does. The other side exists when we came from it.
                let (has_next, has_prev) = match from {
                    None => (page.more, false),
                    Some(Dir::Next) => (page.more, true),
                    Some(Dir::Prev) => (true, page.more),
                };
                let next = last
                    .filter(|_| has_next)
                    .map(|k| encode_cursor(Dir::Next, &k, &self.fingerprint, &self.cursor_key));
                let prev = first
                    .filter(|_| has_prev)
                    .map(|k| encode_cursor(Dir::Prev, &k, &self.fingerprint, &self.cursor_key));
                let next_url = next.as_deref().map(|c| self.url(c));
                let prev_url = prev.as_deref().map(|c| self.url(c));
                let links: Vec<&String> = [&next_url, &prev_url].into_iter().flatten().collect();
                axum::Json(CursorEnvelope {
                    success: true,
                    data: page.items,
                    links: links.into_iter().cloned().collect(),
                    meta: CursorMeta {
                        path: self.path.clone(),
                        per_page: *size,
                        next_cursor: next,
                        next_cursor_url: next_url,
                        prev_cursor: prev,
                        prev_cursor_url: prev_url,
                    },
                })
                .into_response()
            }
        }
    }

    /// This request's path and query with `page[cursor]` set to `cursor`.
    fn url(&self, cursor: &str) -> String {
        let mut out = url_encode_pairs(
            self.pairs
                .iter()
                .filter(|(k, _)| k != "page[cursor]")
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .chain([("page[cursor]", cursor)]),
        );
        out.insert(0, '?');
        out.insert_str(0, &self.path);
        out
    }
}

fn url_encode_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    fn enc(s: &str, out: &mut String) {
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(b as char)
                }
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in pairs.enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(k, &mut out);
        out.push('=');
        enc(v, &mut out);
    }
    out
}

/// A cursor-paginated list.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CursorEnvelope<T> {
    /// Always `true`.
    pub success: bool,
    pub data: Vec<T>,
    /// The next and previous page URLs, those that exist, in that order.
    pub links: Vec<String>,
    pub meta: CursorMeta,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CursorMeta {
    /// The list's path.
    pub path: String,
    /// Items per page (`page[size]`, default 30, at most 100).
    pub per_page: u64,
    /// Pass as `page[cursor]` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    pub next_cursor_url: Option<String>,
    /// Pass as `page[cursor]` for the previous page; `null` on the first page.
    pub prev_cursor: Option<String>,
    pub prev_cursor_url: Option<String>,
}

struct Cursor {
    dir: Dir,
    keys: Vec<Value>,
}

fn bad_cursor() -> ApiError {
    param_error(
        "page[cursor]",
        "Query parameter 'page[cursor]' is not a valid cursor; use next_cursor or prev_cursor from a previous page",
    )
}

fn tag(payload: &str, key: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(payload.as_bytes());
    mac.finalize().into_bytes()[..16].to_vec()
}

fn encode_cursor(dir: Dir, keys: &[Value], fingerprint: &str, key: &[u8]) -> String {
    let body = json!({
        "d": if dir == Dir::Next { "n" } else { "p" },
        "f": fingerprint,
        "k": keys,
    });
    let payload = B64.encode(body.to_string());
    let t = B64.encode(tag(&payload, key));
    format!("{payload}.{t}")
}

fn decode_cursor(raw: &str, key: &[u8], fingerprint: &str) -> ApiResult<Cursor> {
    let (payload, t) = raw.split_once('.').ok_or_else(bad_cursor)?;
    let t = B64.decode(t).map_err(|_| bad_cursor())?;
    if t.len() != 16 {
        return Err(bad_cursor());
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(payload.as_bytes());
    // Constant-time comparison of the (truncated) tag.
    mac.verify_truncated_left(&t).map_err(|_| bad_cursor())?;
    let body: Value = B64
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(bad_cursor)?;
    if body.get("f").and_then(Value::as_str) != Some(fingerprint) {
        return Err(param_error(
            "page[cursor]",
            "This page[cursor] belongs to another filter, sort or list; start again without page[cursor]",
        ));
    }
    let dir = match body.get("d").and_then(Value::as_str) {
        Some("n") => Dir::Next,
        Some("p") => Dir::Prev,
        _ => return Err(bad_cursor()),
    };
    let keys = body
        .get("k")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(bad_cursor)?;
    Ok(Cursor { dir, keys })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_tampering() {
        let key = b"k".repeat(32);
        let c = encode_cursor(
            Dir::Next,
            &[json!("2024-01-01T00:00:00.000Z"), json!("x")],
            "fp",
            &key,
        );
        let d = decode_cursor(&c, &key, "fp").ok().unwrap();
        assert_eq!(d.dir, Dir::Next);
        assert_eq!(d.keys.len(), 2);
        assert!(decode_cursor(&c, &key, "other").is_err());
        assert!(decode_cursor(&c, b"another key", "fp").is_err());
        let (p, t) = c.split_once('.').unwrap();
        let mut bytes = B64.decode(p).unwrap();
        bytes[5] ^= 1;
        let forged = format!("{}.{t}", B64.encode(bytes));
        assert!(decode_cursor(&forged, &key, "fp").is_err());
        for garbage in ["", ".", "abc", "abc.def", "%%%", "a.b.c"] {
            assert!(decode_cursor(garbage, &key, "fp").is_err(), "{garbage}");
        }
    }
}
