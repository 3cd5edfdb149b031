//! `Idempotency-Key` on POST (spec §2): the same key with the same body within 24 h returns
//! the first response (with `Idempotent-Replayed: true`); the same key with another body is a
//! 409. Only successful (2xx) responses are kept, so a request that failed validation can be
//! corrected and retried under its key. A duplicate arriving while the first is still running
//! gets a 409 rather than running twice.

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use laneway_core::time::now;
use laneway_store::repo::idempotency::{self, Claim};
use sha2::{Digest, Sha256};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;

const HEADER: &str = "idempotency-key";
const MAX_KEY_LEN: usize = 255;

pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !req.headers().contains_key(HEADER) {
        return next.run(req).await;
    }
    // The public endpoints (signing a contract, submitting a form) have no key to scope
    // replays to; they are safe to retry on their own (a link signs once) and ignore the header.
    let path = req.uri().path();
    if path.starts_with("/public/") || path.starts_with("/api/v1/public/") {
        return next.run(req).await;
    }
    match handle(state, req, next).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// 1-255 visible ASCII characters, spaces allowed inside: exactly the pattern the OpenAPI
/// document gives (`^[!-~]([ -~]*[!-~])?$`), so a key is never silently trimmed into another.
fn valid_key(k: &str) -> bool {
    let b = k.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_KEY_LEN
        && b.iter().all(|c| (b' '..=b'~').contains(c))
        && b[0] != b' '
        && b[b.len() - 1] != b' '
}

fn conflict(message: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "idempotency_conflict", message)
}

async fn handle(state: AppState, req: Request, next: Next) -> Result<Response, ApiError> {
    let (mut parts, body) = req.into_parts();
    // Authenticate first: keys are scoped to the caller's workspace, an unauthenticated
    // request must not learn anything from the store, and a missing or bad key is a 401
    // whatever else is wrong with the request.
    let auth = Auth::from_request_parts(&mut parts, &state).await?;
    let key = parts
        .headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|k| valid_key(k))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_parameter",
                format!("Idempotency-Key must be 1-{MAX_KEY_LEN} visible ASCII characters"),
            )
        })?
        .to_string();
    let bytes = to_bytes(body, state.config.body_limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Request body is larger than the limit (1 MiB by default)",
        )
    })?;
    let mut h = Sha256::new();
    h.update(parts.method.as_str());
    h.update([0]);
    h.update(parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or(""));
    h.update([0]);
    h.update(&bytes);
    let hash = hex::encode(h.finalize());

    let at = now();
    let mut s = state.db.write().await?;
    let claim = idempotency::claim(
        &mut s,
        auth.ws(),
        &key,
        &hash,
        at,
        at - time::Duration::hours(24),
        at - time::Duration::minutes(1),
    )
    .await?;
    s.commit().await?;
    match claim {
        Claim::Existing(found) if found.request_hash != hash => {
            return Err(conflict(
                "This Idempotency-Key was already used with a different request; use a new key",
            ))
        }
        Claim::Existing(found) if found.status == 0 => {
            return Err(conflict(
                "A request with this Idempotency-Key is still in progress; retry shortly",
            ))
        }
        Claim::Existing(found) => {
            let status = StatusCode::from_u16(found.status as u16).unwrap_or(StatusCode::OK);
            let found_body = found.body.clone();
            let mut resp = (status, found.body).into_response();
            let headers = resp.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
            // The first answer carried the resource's ETag; so does its replay.
            let data = serde_json::from_str::<serde_json::Value>(&found_body)
                .ok()
                .and_then(|v| v.get("data").cloned());
            if let Some(tag) = data.map(|d| super::etag::etag_of(&d)) {
                if let Ok(h) = HeaderValue::from_str(&tag) {
                    headers.insert(header::ETAG, h);
                }
            }
            return Ok(resp);
        }
        Claim::Fresh => {}
    }

    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let (rparts, rbody) = resp.into_parts();
    let rbytes = to_bytes(rbody, usize::MAX).await.unwrap_or_default();
    let outcome = async {
        let mut s = state.db.write().await?;
        if rparts.status.is_success() {
            let text = String::from_utf8_lossy(&rbytes);
            idempotency::complete(
                &mut s,
                auth.ws(),
                &key,
                i64::from(rparts.status.as_u16()),
                &text,
            )
            .await?;
        } else {
            idempotency::release(&mut s, auth.ws(), &key).await?;
        }
        s.commit().await
    }
    .await;
    if let Err(e) = outcome {
        // The write itself is done; failing to record it only weakens a later replay.
        tracing::warn!(error = %e, "could not record idempotent response");
    }
    Ok(Response::from_parts(rparts, Body::from(rbytes)))
}
