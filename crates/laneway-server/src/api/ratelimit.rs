//! Per-key rate limiting (spec §2: 429 with `Retry-After`). Each API key gets a token bucket
//! of `rate_limit` requests per second with a burst of twice that; requests without a key are
//! not counted here (they are refused by authentication anyway).

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// The shared limiter; `None` when rate limiting is off.
#[derive(Clone, Default)]
pub struct Limiter(Option<Arc<DefaultKeyedRateLimiter<String>>>);

impl Limiter {
    pub fn new(per_second: u32) -> Limiter {
        match NonZeroU32::new(per_second) {
            None => Limiter(None),
            Some(rate) => {
                let burst = NonZeroU32::new(per_second.saturating_mul(2)).unwrap_or(rate);
                Limiter(Some(Arc::new(RateLimiter::keyed(
                    Quota::per_second(rate).allow_burst(burst),
                ))))
            }
        }
    }

    /// Forgets idle keys so random tokens cannot grow the table without bound.
    pub fn shrink(&self) {
        if let Some(l) = &self.0 {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

pub async fn layer(State(limiter): State<Limiter>, req: Request, next: Next) -> Response {
    let Some(l) = &limiter.0 else {
        return next.run(req).await;
    };
    let Some(auth) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return next.run(req).await;
    };
    // Bucket by a digest of the credential, never the credential itself.
    let key = crate::auth::hash_token(auth);
    match l.check_key(&key) {
        Ok(()) => next.run(req).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("Too many requests for this API key; retry in {secs} s"),
            );
            e.retry_after = Some(secs.max(1));
            let mut resp = e.into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
    }
}
