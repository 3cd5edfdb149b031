//! Webhook delivery across real `laneway serve` processes: several processes on one
//! PostgreSQL database deliver every event once, and a process killed with SIGKILL in the
//! middle of a write burst (with deliveries in flight) loses nothing once restarted.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::cli::{serve_with, Served};
use crate::receiver::{Receiver, Reply};
use crate::support::{drop_pg_database, fresh_pg_database};

const FLAGS: &[&str] = &[
    "--allow-private-webhook-targets",
    "--webhook-timeout",
    "2s",
    "--webhook-retry-schedule",
    "0s,200ms,500ms,1s,1s,1s,1s,1s",
    "--rate-limit",
    "0",
];

async fn register(client: &reqwest::Client, s: &Served, token: &str, url: &str) -> String {
    let r = client
        .post(s.api("/webhooks"))
        .bearer_auth(token)
        .json(&json!({"url": url, "events": ["record.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let v: Value = r.json().await.unwrap();
    v["data"]["id"].as_str().unwrap().to_string()
}

/// Creates records through `s` until it stops answering or `stop` is set; returns the ids of
/// the acknowledged (201) writes.
async fn writer(
    client: reqwest::Client,
    api: String,
    token: String,
    n: usize,
    stop: Arc<Mutex<bool>>,
) -> Vec<String> {
    let mut acked = Vec::new();
    for i in 0..n {
        if *stop.lock().unwrap() {
            break;
        }
        let r = client
            .post(&api)
            .bearer_auth(&token)
            .json(&json!({"type": "lead", "title": format!("Burst {i}")}))
            .send()
            .await;
        match r {
            Ok(r) if r.status().as_u16() == 201 => {
                let v: Value = r.json().await.unwrap();
                acked.push(v["data"]["id"].as_str().unwrap().to_string());
            }
            Ok(r) => panic!("write failed with {}", r.status()),
            // The process is gone.
            Err(_) => break,
        }
    }
    acked
}

/// Reads deliveries until every record in `want` arrived (or `within` passed), then listens a
/// little longer for duplicates. Returns deliveries per record id and per delivery header.
async fn collect(
    rx: &Receiver,
    want: &HashSet<String>,
    within: Duration,
) -> (HashMap<String, usize>, usize) {
    let start = Instant::now();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut hits = 0;
    while !want.iter().all(|id| seen.contains_key(id)) {
        let left = within.saturating_sub(start.elapsed());
        let Some(h) = rx.next_within(left).await else {
            let missing: Vec<&String> = want.iter().filter(|id| !seen.contains_key(*id)).collect();
            panic!(
                "{} of {} acknowledged writes never reached the receiver within {within:?}: {missing:?}",
                missing.len(),
                want.len()
            );
        };
        hits += 1;
        let id = h.json()["data"]["id"].as_str().unwrap().to_string();
        *seen.entry(id).or_default() += 1;
    }
    while let Some(h) = rx.next_within(Duration::from_millis(1500)).await {
        hits += 1;
        let id = h.json()["data"]["id"].as_str().unwrap().to_string();
        *seen.entry(id).or_default() += 1;
    }
    (seen, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_processes_deliver_every_event_once() {
    let Some((url, name)) = fresh_pg_database().await else {
        return;
    };
    let mut a = serve_with(&url, FLAGS).await;
    let token = a.first_line().await.trim().to_string();
    let b = serve_with(&url, FLAGS).await;
    let c = serve_with(&url, FLAGS).await;
    let client = reqwest::Client::new();
    let rx = Receiver::start().await;
    rx.by_default(Reply::ok().delay(Duration::from_millis(10)));
    register(&client, &a, &token, &rx.url).await;

    let stop = Arc::new(Mutex::new(false));
    let mut tasks = Vec::new();
    for s in [&a, &b, &c] {
        for _ in 0..2 {
            tasks.push(tokio::spawn(writer(
                client.clone(),
                s.api("/records"),
                token.clone(),
                40,
                stop.clone(),
            )));
        }
    }
    let mut acked = HashSet::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert_eq!(acked.len(), 240);
    let (seen, hits) = collect(&rx, &acked, Duration::from_secs(60)).await;
    let dupes: Vec<(&String, &usize)> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dupes.is_empty(), "duplicates without any crash: {dupes:?}");
    assert_eq!(hits, 240);
    for s in [a, b, c] {
        let (_, status) = s.terminate().await;
        assert!(status.success());
    }
    drop_pg_database(&name).await;
}

async fn crash_mid_burst(url: &str) {
    let mut a = serve_with(url, FLAGS).await;
    let token = a.first_line().await.trim().to_string();
    let client = reqwest::Client::new();
    let rx = Receiver::start().await;
    // Slow answers, so deliveries are in flight when the process dies.
    rx.by_default(Reply::ok().delay(Duration::from_millis(100)));
    register(&client, &a, &token, &rx.url).await;

    let stop = Arc::new(Mutex::new(false));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(writer(
                client.clone(),
                a.api("/records"),
                token.clone(),
                100_000,
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    a.kill9().await;
    let mut acked = HashSet::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert!(acked.len() > 20, "the burst wrote {} records", acked.len());

    let b = serve_with(url, FLAGS).await;
    // Every acknowledged write's event arrives (in-flight ones once their lease expired).
    let (seen, hits) = collect(&rx, &acked, Duration::from_secs(90)).await;
    // And so does every committed one, acknowledged or not.
    let mut committed = HashSet::new();
    let mut next = Some(b.api("/events?filter=event%20eq%20%22record.created%22&page[size]=100"));
    while let Some(u) = next {
        let v: Value = client
            .get(&u)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for e in v["data"].as_array().unwrap() {
            committed.insert(e["data"]["id"].as_str().unwrap().to_string());
        }
        next = v["meta"]["next_cursor_url"].as_str().map(|u| {
            if u.starts_with('/') {
                format!("http://{}{u}", b.addr)
            } else {
                u.to_string()
            }
        });
    }
    assert!(committed.is_superset(&acked));
    let lost: Vec<&String> = committed
        .iter()
        .filter(|id| !seen.contains_key(*id))
        .collect();
    assert!(lost.is_empty(), "committed but never delivered: {lost:?}");
    let dupes = hits - seen.len();
    eprintln!(
        "crash test: {} acknowledged, {} committed, {} delivered, {dupes} duplicate(s) after the kill",
        acked.len(),
        committed.len(),
        seen.len()
    );
    let (_, status) = b.terminate().await;
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_mid_burst_loses_nothing_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("laneway.db").display());
    crash_mid_burst(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_mid_burst_loses_nothing_postgres() {
    let Some((url, name)) = fresh_pg_database().await else {
        return;
    };
    crash_mid_burst(&url).await;
    drop_pg_database(&name).await;
}
