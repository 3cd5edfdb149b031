//! A real webhook receiver on a port-0 socket: records every request (headers and the raw
//! body) and answers with scripted replies. Signatures are checked here with our own HMAC code,
//! independent of the server's signing module.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Header names lower-case.
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
}

impl Hit {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no header {name} in {:?}", self.headers))
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
    pub fn event(&self) -> String {
        self.json()["event"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
    pub fn delivery(&self) -> String {
        self.header("x-laneway-delivery").to_string()
    }
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: String::new(),
            delay: Duration::ZERO,
        }
    }
    pub fn ok() -> Reply {
        Reply::status(200)
    }
    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn body(mut self, b: impl Into<String>) -> Reply {
        self.body = b.into();
        self
    }
    pub fn delay(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
}

#[derive(Default)]
struct Script {
    queue: VecDeque<Reply>,
    default: Option<Reply>,
}

pub struct Receiver {
    pub url: String,
    hits: tokio::sync::Mutex<mpsc::UnboundedReceiver<Hit>>,
    script: Arc<Mutex<Script>>,
    stop: CancellationToken,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        let (tx, rx) = mpsc::unbounded_channel::<Hit>();
        let script = Arc::new(Mutex::new(Script::default()));
        let sc = script.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            let sc = sc.clone();
            async move {
                let hit = Hit {
                    headers: headers
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.as_str().to_ascii_lowercase(),
                                String::from_utf8_lossy(v.as_bytes()).into_owned(),
                            )
                        })
                        .collect(),
                    body: String::from_utf8_lossy(&body).into_owned(),
                    at: Instant::now(),
                };
                let reply = {
                    let mut s = sc.lock().unwrap();
                    s.queue
                        .pop_front()
                        .or_else(|| s.default.clone())
                        .unwrap_or_else(Reply::ok)
                };
                if !reply.delay.is_zero() {
                    tokio::time::sleep(reply.delay).await;
                }
                let _ = tx.send(hit);
                let mut resp: Response =
                    (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
                for (k, v) in reply.headers {
                    resp.headers_mut().insert(
                        axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                        v.parse().unwrap(),
                    );
                }
                resp
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let s2 = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { s2.cancelled().await })
                .await;
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            hits: tokio::sync::Mutex::new(rx),
            script,
            stop,
        }
    }

    /// Answers the next requests with these, in order, then with the default.
    pub fn then(&self, replies: impl IntoIterator<Item = Reply>) {
        self.script.lock().unwrap().queue.extend(replies);
    }

    /// The answer once the script is used up (200 unless set).
    pub fn by_default(&self, r: Reply) {
        self.script.lock().unwrap().default = Some(r);
    }

    /// The next request, waiting at most `within`.
    pub async fn next_within(&self, within: Duration) -> Option<Hit> {
        let mut rx = self.hits.lock().await;
        tokio::time::timeout(within, rx.recv()).await.ok().flatten()
    }

    /// The next request (panics after 20 s).
    pub async fn next(&self) -> Hit {
        self.next_within(Duration::from_secs(20))
            .await
            .expect("the receiver got no request within 20 s")
    }

    /// The next `n` requests.
    pub async fn take(&self, n: usize) -> Vec<Hit> {
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            match self.next_within(Duration::from_secs(30)).await {
                Some(h) => v.push(h),
                None => panic!(
                    "the receiver got {i} of {n} requests within the time allowed: {:?}",
                    v.iter().map(|h: &Hit| h.event()).collect::<Vec<_>>()
                ),
            }
        }
        v
    }

    /// Asserts nothing arrives for `d`.
    pub async fn quiet_for(&self, d: Duration) {
        if let Some(h) = self.next_within(d).await {
            panic!("unexpected request: {} {}", h.event(), h.body);
        }
    }
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut m = HmacSha256::new_from_slice(key).expect("any key length");
    m.update(msg);
    m.finalize().into_bytes().to_vec()
}

/// `sha256=` + hex HMAC(secret, "{ts}.{body}"), computed here.
pub fn laneway_sig(secret: &str, ts: &str, body: &str) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac(secret.as_bytes(), format!("{ts}.{body}").as_bytes()))
    )
}

/// `v1,` + base64 HMAC(key, "{id}.{ts}.{body}"), key from `whsec_` base64 or the raw secret.
pub fn standard_sig(secret: &str, id: &str, ts: &str, body: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|k| b64.decode(k).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec());
    format!(
        "v1,{}",
        b64.encode(hmac(&key, format!("{id}.{ts}.{body}").as_bytes()))
    )
}

/// Checks both signature forms of a hit against `secret` (the newest one), within 5 s.
pub fn assert_signed(hit: &Hit, secret: &str) {
    let ts = hit.header("x-laneway-timestamp");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let t: i64 = ts.parse().expect("numeric timestamp");
    assert!((now - t).abs() <= 5, "timestamp {t} vs now {now}");
    assert_eq!(
        hit.header("x-laneway-signature"),
        laneway_sig(secret, ts, &hit.body),
        "X-Laneway-Signature"
    );
    let id = hit.header("webhook-id");
    assert_eq!(id, hit.delivery(), "webhook-id is the delivery id");
    assert_eq!(hit.header("webhook-timestamp"), ts);
    let expected = standard_sig(secret, id, ts, &hit.body);
    let sigs: Vec<&str> = hit.header("webhook-signature").split(' ').collect();
    assert!(
        sigs.contains(&expected.as_str()),
        "webhook-signature {sigs:?} lacks {expected}"
    );
}
