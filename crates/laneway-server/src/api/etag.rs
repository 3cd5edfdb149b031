//! Entity tags: every single-resource GET returns one; PATCH and DELETE honour `If-Match`.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// A strong tag over the resource's JSON: it changes exactly when the representation does.
pub fn etag_of<T: Serialize>(v: &T) -> String {
    // Through `Value` (sorted keys), so the tag of a stored response body (an idempotent
    // replay) equals the tag the resource had when it was sent.
    let bytes = serde_json::to_value(v)
        .and_then(|v| serde_json::to_vec(&v))
        .unwrap_or_default();
    format!("\"{}\"", &hex::encode(Sha256::digest(&bytes))[..32])
}

/// `{"success": true, "data": v}` with its `ETag`.
pub fn with_etag<T: Serialize>(v: &T, status: StatusCode) -> Response {
    let tag = etag_of(v);
    let mut resp = match status {
        StatusCode::CREATED => super::created(v),
        _ => super::ok(v),
    };
    if let Ok(h) = HeaderValue::from_str(&tag) {
        resp.headers_mut().insert(header::ETAG, h);
    }
    resp
}

/// Fails with 412 when `If-Match` is present and names none of the current tag (or `*`).
pub fn check_if_match<T: Serialize>(headers: &HeaderMap, current: &T) -> Result<(), ApiError> {
    let Some(raw) = headers.get(header::IF_MATCH) else {
        return Ok(());
    };
    let raw = raw.to_str().unwrap_or("");
    let tag = etag_of(current);
    let matches = raw.split(',').map(str::trim).any(|t| {
        let t = t.strip_prefix("W/").unwrap_or(t);
        t == "*" || t == tag
    });
    if matches {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            "If-Match does not match the current version of this resource; fetch it again",
        ))
    }
}
