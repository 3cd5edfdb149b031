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

/// Buckets kept before idle ones are dropped outside the minute's housekeeping: a flood of
/// made-up tokens cannot grow the table past about this many between two sweeps.
const MAX_BUCKETS: usize = 50_000;
/// How often (in counted requests) the table's size is looked at.
const SIZE_CHECK_EVERY: u64 = 1024;

/// The shared limiter; `None` when rate limiting is off.
#[derive(Clone, Default)]
pub struct Limiter(Option<Arc<Inner>>);

struct Inner {
    buckets: DefaultKeyedRateLimiter<String>,
    max_buckets: usize,
    seen: std::sync::atomic::AtomicU64,
}

impl Limiter {
    pub fn new(per_second: u32) -> Limiter {
        Self::with_max_buckets(per_second, MAX_BUCKETS)
    }

    fn with_max_buckets(per_second: u32, max_buckets: usize) -> Limiter {
        match NonZeroU32::new(per_second) {
            None => Limiter(None),
            Some(rate) => {
                let burst = NonZeroU32::new(per_second.saturating_mul(2)).unwrap_or(rate);
                Limiter(Some(Arc::new(Inner {
                    buckets: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
                    max_buckets,
                    seen: Default::default(),
                })))
            }
        }
    }

    /// Forgets idle keys so random tokens cannot grow the table without bound.
    pub fn shrink(&self) {
        if let Some(l) = &self.0 {
            l.shrink();
        }
    }

    /// Buckets held now.
    pub fn buckets(&self) -> usize {
        self.0.as_ref().map_or(0, |l| l.buckets.len())
    }
}

impl Inner {
    /// Forgets idle keys: buckets that are full again, so forgetting them changes nothing.
    fn shrink(&self) {
        self.buckets.retain_recent();
        self.buckets.shrink_to_fit();
    }

    /// Counts a request of `key`, sweeping idle buckets when the table is past its cap.
    fn check(&self, key: String) -> Result<(), governor::NotUntil<governor::clock::QuantaInstant>> {
        let r = self.buckets.check_key(&key);
        let n = self.seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n.is_multiple_of(SIZE_CHECK_EVERY) && self.buckets.len() > self.max_buckets {
            self.shrink();
        }
        r
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
    match l.check(key) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_buckets_are_dropped_so_churning_keys_stay_bounded() {
        let l = Limiter::new(1000);
        let inner = l.0.clone().unwrap();
        for i in 0..3000 {
            assert!(inner.check(format!("key-{i}")).is_ok());
        }
        assert_eq!(l.buckets(), 3000);
        // One request costs a bucket 1 ms of its allowance; once refilled it is idle.
        std::thread::sleep(std::time::Duration::from_millis(20));
        l.shrink();
        assert_eq!(l.buckets(), 0);

        // Between sweeps, the size check drops idle buckets once past the cap.
        let l = Limiter::with_max_buckets(1000, 500);
        let inner = l.0.clone().unwrap();
        let mut most = 0;
        for round in 0..10 {
            for i in 0..SIZE_CHECK_EVERY {
                let _ = inner.check(format!("r{round}-{i}"));
            }
            most = most.max(l.buckets());
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // Never more than the cap plus one check interval of new keys.
        assert!(most <= 500 + SIZE_CHECK_EVERY as usize * 2, "{most}");
        assert!(
            l.buckets() < 10 * SIZE_CHECK_EVERY as usize,
            "{}",
            l.buckets()
        );

        // A busy key keeps its bucket (and its limit) through a sweep.
        let l = Limiter::new(1);
        let inner = l.0.clone().unwrap();
        assert!(inner.check("busy".into()).is_ok());
        assert!(inner.check("busy".into()).is_ok());
        assert!(inner.check("busy".into()).is_err());
        l.shrink();
        assert_eq!(l.buckets(), 1);
        assert!(inner.check("busy".into()).is_err());
    }
}
