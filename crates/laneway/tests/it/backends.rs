//! PostgreSQL as a scale-out backend: the same answers as SQLite, several processes on one
//! database, and riding out a database outage. Each test skips (saying so) without
//! `LANEWAY_TEST_DATABASE_URL`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use sqlx::Connection;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use crate::cli::serve;
use crate::support::{drop_pg_database, fresh_pg_database, Backend, TestApp};

/// Replaces ids and timestamps by stable placeholders (numbered by first appearance), so two
/// runs of the same script compare equal exactly when they behave alike.
fn normalise(v: &Value, ids: &mut HashMap<String, String>) -> Value {
    match v {
        Value::String(s) => {
            let is_ts = s.len() == 24 && s.ends_with('Z') && s.as_bytes().get(10) == Some(&b'T');
            let is_id =
                uuid::Uuid::parse_str(s).is_ok() || s.starts_with("ws_") || s.starts_with("key_");
            if is_ts {
                Value::String("<timestamp>".into())
            } else if is_id || s.starts_with("lw_live_") {
                let n = ids.len();
                Value::String(
                    ids.entry(s.clone())
                        .or_insert_with(|| format!("<id {n}>"))
                        .clone(),
                )
            } else {
                v.clone()
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| normalise(x, ids)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), normalise(x, ids)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// One fixed script of requests; returns every response (status and body).
async fn script(app: &TestApp) -> Vec<Value> {
    let mut out = vec![];
    let mut push =
        |r: crate::support::Resp| out.push(json!({"status": r.status.as_u16(), "body": r.body}));
    let datas = [
        json!({}),
        json!({"n": 1, "f": 1.5, "neg": -42, "big": 9007199254740993u64, "exp": 1e20, "zero": 0.0}),
        json!({"nested": {"a": [1, {"b": null}], "c": {"d": "e"}}, "flag": true}),
        json!({"unicode": "Zürich – 東京 – 🚀", "quote": "\"\\", "nl": "a\nb"}),
    ];
    let titles = ["Über Gardens", "über lawn", "ÜBER-Care", "Plain %_ title"];
    for (i, (t, d)) in titles.iter().zip(datas.iter()).enumerate() {
        let stage = ["new", "contacted", "won", "new"][i];
        push(
            app.post(
                "/records",
                json!({"type": "lead", "title": t, "data": d, "pipeline": "main-sales", "stage": stage}),
                201,
            )
            .await,
        );
    }
    for q in ["über", "ÜBER", "%_", "_", "gardens", "nothing"] {
        let path = format!("/records?search={}", urlencode(q));
        push(app.get(&path, 200).await);
    }
    push(app.get("/records?per_page=2&page=2", 200).await);
    push(app.get("/records?type=lead", 200).await);
    let first = app.get("/records?per_page=1", 200).await;
    let id = first.data()[0]["id"].as_str().unwrap().to_string();
    push(
        app.patch(
            &format!("/records/{id}"),
            json!({"stage": "won", "data": {"x": [1, 2]}}),
            200,
        )
        .await,
    );
    push(
        app.post(
            "/records/tasks",
            json!({"title": "Call", "record_id": id, "due_date": "2026-07-01", "notes": "ünïcode"}),
            201,
        )
        .await,
    );
    push(app.get("/records/tasks?completed=false", 200).await);
    push(app.get(&format!("/records/{id}/activity"), 200).await);
    push(app.get("/schema", 200).await);
    push(app.get("/events?per_page=100", 200).await);
    push(app.post("/records", json!({"type": "nope"}), 400).await);
    push(
        app.post("/schema/pipelines", json!({"name": "Main Sales"}), 409)
            .await,
    );
    out
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_give_the_same_answers() {
    let Some(pg) = TestApp::spawn_postgres().await else {
        return;
    };
    let lite = TestApp::spawn(Backend::Sqlite).await;
    let a = script(&lite).await;
    let b = script(&pg).await;
    let (mut ids_a, mut ids_b) = (HashMap::new(), HashMap::new());
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        let (x, y) = (normalise(x, &mut ids_a), normalise(y, &mut ids_b));
        assert_eq!(x, y, "response {i} differs between SQLite and PostgreSQL");
    }
    assert_eq!(a.len(), b.len());
    // Timestamps carry milliseconds and Z on both.
    let ts = b[0]["body"]["data"]["created_at"].as_str().unwrap();
    assert_eq!(ts.len(), 24, "{ts}");
    lite.stop().await;
    pg.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_database_and_bootstrap_once() {
    let Some((url, name)) = fresh_pg_database().await else {
        return;
    };
    // Both start at the same moment on an empty database.
    let (a, b) = tokio::join!(serve(&url), serve(&url));
    let client = reqwest::Client::new();
    let (stdout_a, status_a) = a.terminate().await;
    let (stdout_b, status_b) = b.terminate().await;
    assert!(status_a.success() && status_b.success());
    let keys: Vec<&str> = stdout_a.lines().chain(stdout_b.lines()).collect();
    assert_eq!(keys.len(), 1, "exactly one process bootstrapped: {keys:?}");
    let token = keys[0].trim().to_string();

    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let (workspaces,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM workspaces")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let (keys_n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM api_keys")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let (pipelines,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM pipelines")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!((workspaces, keys_n, pipelines), (1, 1, 1));
    let _ = conn.close().await;

    // Writes through one process are read through the other.
    let (a, b) = tokio::join!(serve(&url), serve(&url));
    let created: Value = client
        .post(a.api("/records"))
        .bearer_auth(&token)
        .json(&json!({"type": "job", "title": "Cross-process", "pipeline": "main-sales"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["data"]["id"].as_str().expect("created").to_string();
    let got = client
        .get(b.api(&format!("/records/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status().as_u16(), 200);
    let got: Value = got.json().await.unwrap();
    assert_eq!(got["data"], created["data"]);
    let patched = client
        .patch(b.api(&format!("/records/{id}")))
        .bearer_auth(&token)
        .json(&json!({"stage": "won"}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status().as_u16(), 200);
    let events: Value = client
        .get(a.api("/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"record.created") && names.contains(&"pipeline.stage_changed"),
        "{names:?}"
    );
    let (out_a, _) = a.terminate().await;
    let (out_b, _) = b.terminate().await;
    assert_eq!(out_a + &out_b, "", "restarts print no key");
    drop_pg_database(&name).await;
}

/// A TCP proxy to PostgreSQL that the test can cut and restore.
struct Proxy {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    cut: Arc<Notify>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let cut = Arc::new(Notify::new());
        let (up2, cut2) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let cut = cut2.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.notified() => {}
                    }
                });
            }
        });
        Proxy { addr, up, cut }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cut.notify_waiters();
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_answers_503_and_recovers_by_itself() {
    let Some((url, name)) = fresh_pg_database().await else {
        return;
    };
    // Route the server's connections through the proxy: same database, another port.
    let parsed = url.strip_prefix("postgres://").unwrap();
    let (creds_host, db) = parsed.split_once('/').unwrap();
    let (creds, host) = match creds_host.rsplit_once('@') {
        Some((c, h)) => (format!("{c}@"), h.to_string()),
        None => (String::new(), creds_host.to_string()),
    };
    let proxy = Proxy::start(host).await;
    let via_proxy = format!("postgres://{creds}{}/{db}", proxy.addr);
    let app = TestApp::start_at(Backend::Postgres, via_proxy, |c| {
        c.db.acquire_timeout = Duration::from_secs(1);
    })
    .await;
    app.post("/records", json!({"type": "lead", "title": "Before"}), 201)
        .await;

    proxy.down();
    let r = app.send(app.req(Method::GET, "/records")).await;
    assert_eq!(r.status.as_u16(), 503, "{}", r.text);
    assert_eq!(r.error_code(), "service_unavailable");
    assert!(r.header("retry-after").is_some());
    let w = app
        .send(
            app.req(Method::POST, "/records")
                .json(&json!({"type": "lead"})),
        )
        .await;
    assert!(
        w.status.is_server_error() && w.status.as_u16() == 503,
        "{}",
        w.text
    );

    proxy.restore();
    let mut recovered = false;
    for _ in 0..20 {
        let r = app.send(app.req(Method::GET, "/records")).await;
        if r.status.as_u16() == 200 {
            assert_eq!(
                r.body["meta"]["total"], 1,
                "the failed write left nothing behind"
            );
            recovered = true;
            break;
        }
        assert_eq!(r.status.as_u16(), 503, "{}", r.text);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        recovered,
        "the server did not recover after the database came back"
    );
    app.post("/records", json!({"type": "lead", "title": "After"}), 201)
        .await;
    app.stop().await;
    drop_pg_database(&name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_migrations_on_one_database_are_safe() {
    let Some((url, name)) = fresh_pg_database().await else {
        return;
    };
    let run = |url: String| async move {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_laneway"))
            .args(["migrate", "--database-url", &url])
            .env_remove("DATABASE_URL")
            .output()
            .await
            .expect("migrate ran")
    };
    let (a, b, c) = tokio::join!(run(url.clone()), run(url.clone()), run(url.clone()));
    for out in [&a, &b, &c] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // And again on the migrated database: nothing to do, still fine.
    assert!(run(url.clone()).await.status.success());
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let (applied,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        applied as usize,
        laneway_store::Db::migration_versions(laneway_store::Backend::Postgres).len()
    );
    let _ = conn.close().await;
    drop_pg_database(&name).await;
}
