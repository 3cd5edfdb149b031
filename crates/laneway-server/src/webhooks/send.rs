//! One HTTP attempt of a delivery: the signed request and what came back.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use laneway_core::time::{now, Timestamp};
use laneway_core::webhook_sig::signature_headers;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::ssrf::{forbidden_ip, resolver};

/// The first bytes of a response body that are kept.
pub const BODY_KEPT: usize = 1024;

/// What one attempt produced.
#[derive(Debug, Clone)]
pub struct Attempted {
    pub started_at: Timestamp,
    pub duration_ms: u64,
    pub status: Option<u16>,
    /// Why it failed without a response, or a short description of a non-2xx answer.
    pub error: Option<String>,
    pub headers: Option<Value>,
    pub body: Option<String>,
    /// A 429/503's `Retry-After`.
    pub retry_after: Option<Duration>,
}

impl Attempted {
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Sends deliveries: no redirects, no proxies, a guarded resolver, a per-attempt timeout.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
    timeout: Duration,
}

impl Sender {
    pub fn new(timeout: Duration, allow_private: bool) -> anyhow::Result<Sender> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(30))
            .dns_resolver(resolver(allow_private))
            .user_agent(concat!("Laneway-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Sender {
            client,
            allow_private,
            timeout,
        })
    }

    /// POSTs `payload` to `url`, signed with `secrets` (newest first).
    pub async fn send(
        &self,
        url: &str,
        event: &str,
        delivery_id: Uuid,
        payload: &str,
        secrets: &[String],
    ) -> Attempted {
        let started_at = now();
        let clock = Instant::now();
        let failed = |error: String| Attempted {
            started_at,
            duration_ms: clock.elapsed().as_millis() as u64,
            status: None,
            error: Some(error),
            headers: None,
            body: None,
            retry_after: None,
        };
        let parsed = match reqwest::Url::parse(url) {
            Ok(u) => u,
            Err(e) => return failed(format!("invalid URL: {e}")),
        };
        if !self.allow_private {
            if parsed.scheme() != "https" {
                return failed("refused: only https:// targets are allowed".into());
            }
            let ip = match parsed.host() {
                Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
                _ => None,
            };
            if let Some(why) = ip.and_then(forbidden_ip) {
                return failed(format!("refused: the target is {why}"));
            }
        }
        let ts = started_at.unix_timestamp();
        let secret_refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let id = delivery_id.to_string();
        let mut req = self
            .client
            .post(parsed)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Laneway-Event", event)
            .header("X-Laneway-Delivery", &id);
        if !secret_refs.is_empty() {
            for (name, value) in signature_headers(&secret_refs, &id, ts, payload.as_bytes()) {
                req = req.header(name, value);
            }
        }
        let resp = match req.body(payload.to_string()).send().await {
            Ok(r) => r,
            Err(e) => return failed(describe(&e, self.timeout)),
        };
        let status = resp.status().as_u16();
        let mut headers = Map::new();
        for (name, value) in resp.headers() {
            let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match headers.get_mut(name.as_str()) {
                Some(Value::String(old)) => {
                    old.push_str(", ");
                    old.push_str(&v);
                }
                _ => {
                    headers.insert(name.as_str().to_string(), Value::String(v));
                }
            }
        }
        let retry_after = if status == 429 || status == 503 {
            resp.headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after)
        } else {
            None
        };
        let mut resp = resp;
        let mut body: Vec<u8> = Vec::new();
        let mut body_error = None;
        while body.len() < BODY_KEPT {
            match resp.chunk().await {
                Ok(Some(c)) => body.extend_from_slice(&c),
                Ok(None) => break,
                Err(e) => {
                    body_error = Some(describe(&e, self.timeout));
                    break;
                }
            }
        }
        body.truncate(BODY_KEPT);
        let body = String::from_utf8_lossy(&body).into_owned();
        let success = (200..300).contains(&status);
        let error = if success {
            None
        } else if (300..400).contains(&status) {
            Some(format!("HTTP {status}: redirects are not followed"))
        } else {
            Some(body_error.unwrap_or_else(|| format!("HTTP {status}")))
        };
        Attempted {
            started_at,
            duration_ms: clock.elapsed().as_millis() as u64,
            status: Some(status),
            error,
            headers: Some(Value::Object(headers)),
            body: Some(body),
            retry_after,
        }
    }
}

/// A transport error as a sentence, with its causes (never the URL, which may hold a token).
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("timed out after {} ms", timeout.as_millis());
    }
    let kind = if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the response failed"
    } else if e.is_request() {
        "sending the request failed"
    } else {
        "request failed"
    };
    let mut causes = Vec::new();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let text = s.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        src = s.source();
    }
    if causes.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {}", causes.join(": "))
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn retry_after() {
        use super::parse_retry_after;
        use std::time::Duration;
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
