//! Webhook delivery benchmark (run by `bench/webhooks.sh`): a `laneway serve` process (the
//! release binary), M webhooks on a fast local receiver, N record writes; reports deliveries
//! per second and the latency from the event's commit (its `timestamp`) to receipt.
//!
//! Two phases: a burst (N writes as fast as 8 clients go: throughput, and latency including
//! the queue) and a trickle (writes paced at 20/s: latency of one delivery on a quiet server).
//!
//!   webhook_bench <laneway binary> <database url> [N] [M]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[derive(Default)]
struct Seen {
    latencies_ms: Vec<f64>,
    first: Option<Instant>,
    last: Option<Instant>,
}

fn now_ms() -> f64 {
    let t = time::OffsetDateTime::now_utc();
    (t.unix_timestamp_nanos() / 1_000) as f64 / 1000.0
}

fn ts_ms(s: &str) -> f64 {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .expect("timestamp");
    (t.unix_timestamp_nanos() / 1_000) as f64 / 1000.0
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bin = args.get(1).expect("binary path").clone();
    let db = args.get(2).expect("database url").clone();
    let n: usize = args.get(3).map_or(2000, |s| s.parse().unwrap());
    let m: usize = args.get(4).map_or(5, |s| s.parse().unwrap());

    // The receiver: answers 200 at once and notes when each delivery arrived.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s2 = seen.clone();
    let app = axum::Router::new().fallback(move |body: Bytes| {
        let seen = s2.clone();
        async move {
            let at = now_ms();
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if let Some(ts) = v["timestamp"].as_str() {
                let mut s = seen.lock().unwrap();
                s.latencies_ms.push(at - ts_ms(ts));
                let now = Instant::now();
                s.first.get_or_insert(now);
                s.last = Some(now);
            }
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let raddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut child = Command::new(&bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--database-url",
            &db,
            "--rate-limit",
            "0",
            "--allow-private-webhook-targets",
            "--webhook-concurrency",
            "32",
        ])
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn laneway");
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = err.next_line().await.unwrap().expect("server exited");
        if let Ok(v) = serde_json::from_str::<Value>(&line) {
            if v["fields"]["message"] == "Laneway listening" {
                break v["fields"]["addr"].as_str().unwrap().to_string();
            }
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = err.next_line().await {} });
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let token = out.next_line().await.unwrap().expect("bootstrap key");
    let base = format!("http://{addr}/api/v1");
    let client = reqwest::Client::new();
    for i in 0..m {
        let r = client
            .post(format!("{base}/webhooks"))
            .bearer_auth(&token)
            .json(&json!({"url": format!("http://{raddr}/hook/{i}"), "events": ["record.created"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
    }

    let phase = |name: &'static str, writes: usize, pace: Option<Duration>| {
        let client = client.clone();
        let base = base.clone();
        let token = token.clone();
        let seen = seen.clone();
        async move {
            *seen.lock().unwrap() = Seen::default();
            let start = Instant::now();
            let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let clients = if pace.is_some() { 1 } else { 8 };
            let mut tasks = Vec::new();
            for _ in 0..clients {
                let (client, base, token, next) =
                    (client.clone(), base.clone(), token.clone(), next.clone());
                tasks.push(tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= writes {
                            break;
                        }
                        let r = client
                            .post(format!("{base}/records"))
                            .bearer_auth(&token)
                            .json(&json!({"type": "lead", "title": format!("Bench {i}")}))
                            .send()
                            .await
                            .unwrap();
                        assert_eq!(r.status().as_u16(), 201);
                        if let Some(p) = pace {
                            tokio::time::sleep(p).await;
                        }
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let wrote = start.elapsed();
            let want = writes * m;
            let deadline = Instant::now() + Duration::from_secs(300);
            while seen.lock().unwrap().latencies_ms.len() < want {
                assert!(Instant::now() < deadline, "deliveries did not all arrive");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let mut s = seen.lock().unwrap();
            let span = s.last.unwrap() - s.first.unwrap();
            let n = s.latencies_ms.len();
            let total = start.elapsed();
            println!(
                "{name}: {writes} writes x {m} webhooks = {n} deliveries; writes took {:.2} s; all delivered after {:.2} s; {:.0} deliveries/s (first to last receipt); commit-to-receipt p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                wrote.as_secs_f64(),
                total.as_secs_f64(),
                n as f64 / span.as_secs_f64().max(0.001),
                pct(&mut s.latencies_ms, 0.50),
                pct(&mut s.latencies_ms, 0.99),
                pct(&mut s.latencies_ms, 1.0),
            );
        }
    };
    phase("burst", n, None).await;
    phase("trickle", 200, Some(Duration::from_millis(50))).await;
    let _ = child.kill().await;
}
