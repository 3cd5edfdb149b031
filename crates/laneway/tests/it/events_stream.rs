//! `GET /events/stream` (spec §8): Server-Sent Events as they commit, filtered, resumable,
//! scoped to the key's workspace, exactly once under concurrent writers and across processes
//! on PostgreSQL; and event retention.

use std::collections::HashSet;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use laneway_core::events::NewEvent;
use laneway_store::repo::events::{self as event_repo, Position};
use laneway_store::Db;
use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use crate::backend_test;
use crate::support::{drop_pg_database, fresh_pg_database, Backend, TestApp};

/// Longest wait for anything the test expects; a failure, never a hang.
const PATIENCE: Duration = Duration::from_secs(10);

/// One SSE message.
#[derive(Debug, Clone)]
struct Msg {
    id: String,
    event: String,
    data: Value,
}

enum Next {
    Msg(Msg),
    End,
    Timeout,
}

/// An open event stream, parsed as the SSE format says: blocks separated by a blank line,
/// `field: value` lines, `:` comments (the keep-alive) ignored.
struct Stream {
    resp: reqwest::Response,
    buf: Vec<u8>,
}

impl Stream {
    async fn open(app: &TestApp, token: &str, query: &str, last_event_id: Option<&str>) -> Stream {
        // No overall timeout on this client: the body never ends by itself.
        let mut rb = reqwest::Client::new()
            .get(app.url(&format!("/events/stream{query}")))
            .bearer_auth(token);
        if let Some(id) = last_event_id {
            rb = rb.header("Last-Event-ID", id);
        }
        let resp = tokio::time::timeout(PATIENCE, rb.send())
            .await
            .expect("stream answered in time")
            .expect("stream request");
        assert_eq!(resp.status().as_u16(), 200, "stream refused");
        let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        assert!(resp.headers().contains_key("x-request-id"));
        Stream { resp, buf: vec![] }
    }

    async fn next_within(&mut self, within: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            while let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buf.drain(..end + 2).collect();
                if let Some(msg) = parse_block(&String::from_utf8_lossy(&block)) {
                    return Next::Msg(msg);
                }
            }
            match tokio::time::timeout_at(deadline, self.resp.chunk()).await {
                Err(_) => return Next::Timeout,
                Ok(Ok(Some(bytes))) => self.buf.extend_from_slice(&bytes),
                Ok(Ok(None)) => return Next::End,
                Ok(Err(e)) => panic!("stream broke: {e}"),
            }
        }
    }

    async fn next(&mut self) -> Msg {
        match self.next_within(PATIENCE).await {
            Next::Msg(m) => m,
            Next::End => panic!("stream ended early"),
            Next::Timeout => panic!("no event within {PATIENCE:?}"),
        }
    }

    async fn take(&mut self, n: usize) -> Vec<Msg> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.next().await);
        }
        out
    }
}

fn parse_block(block: &str) -> Option<Msg> {
    let (mut id, mut event, mut data) = (None, None, Vec::new());
    for line in block.lines() {
        if line.starts_with(':') || line.is_empty() {
            continue;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => id = Some(value.to_string()),
            "event" => event = Some(value.to_string()),
            "data" => data.push(value.to_string()),
            other => panic!("unexpected SSE field '{other}' in {block:?}"),
        }
    }
    if data.is_empty() {
        return None;
    }
    let data: Value = serde_json::from_str(&data.join("\n")).expect("data is JSON");
    Some(Msg {
        id: id.expect("every event has an id"),
        event: event.expect("every event has a name"),
        data,
    })
}

/// Stored events of the workspace, oldest first, as `GET /events` shows them.
async fn stored(app: &TestApp) -> Vec<Value> {
    let r = app.get("/events?per_page=100", 200).await;
    let mut v = r.data().as_array().expect("events").clone();
    v.reverse();
    v
}

/// A lead created through the API; returns its id.
async fn lead(app: &TestApp, token: &str, title: &str) -> String {
    let r = app
        .expect(
            app.req_as(token, Method::POST, "/records").json(
                &json!({"type": "lead", "title": title, "pipeline": "main-sales", "stage": "new"}),
            ),
            201,
        )
        .await;
    r.data()["id"].as_str().expect("id").to_string()
}

/// Reads until the `record.created` of `record_id`, asserting nothing else comes first: the
/// way to show "nothing more arrived" without waiting on a timeout.
async fn next_is_created(stream: &mut Stream, record_id: &str) {
    let m = stream.next().await;
    assert_eq!(
        (m.event.as_str(), m.data["data"]["id"].as_str()),
        ("record.created", Some(record_id)),
        "unexpected event before the sentinel: {m:?}"
    );
}

async fn workspace_id(app: &TestApp) -> String {
    app.get("/me", 200).await.data()["workspace"]["id"]
        .as_str()
        .expect("workspace id")
        .to_string()
}

backend_test!(
    stream_delivers_new_events_in_commit_order,
    |app| async move {
        lead(app, &app.token, "Before connecting").await;
        let before = stored(app).await.len();

        let mut stream = Stream::open(app, &app.token, "", None).await;
        assert_eq!(
            stream.resp.headers()["cache-control"].to_str().unwrap(),
            "no-cache"
        );
        let id = lead(app, &app.token, "First").await;
        app.patch(
            &format!("/records/{id}"),
            json!({"stage": "contacted"}),
            200,
        )
        .await;
        app.post(
            "/records/tasks",
            json!({"title": "Call", "record_id": id}),
            201,
        )
        .await;
        app.delete(&format!("/records/{id}"), 200).await;

        let expected: Vec<Value> = stored(app).await.split_off(before);
        assert!(expected.len() >= 6, "{expected:?}");
        let got = stream.take(expected.len()).await;
        let ids: HashSet<&str> = got.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids.len(), got.len(), "message ids are unique");
        for (m, e) in got.iter().zip(&expected) {
            assert_eq!(&m.data, e, "the stored event, as GET /events shows it");
            assert_eq!(m.event, e["event"].as_str().unwrap());
            assert!(!m.id.is_empty());
        }
        // Nothing else: the next message is the sentinel's.
        let sentinel = lead(app, &app.token, "Sentinel").await;
        next_is_created(&mut stream, &sentinel).await;
    }
);

backend_test!(stream_filters_by_event_name, |app| async move {
    let mut stream = Stream::open(
        app,
        &app.token,
        "?events=record.created,task.completed",
        None,
    )
    .await;
    let mut alias = Stream::open(app, &app.token, "?event=task.completed", None).await;
    let id = lead(app, &app.token, "Filtered").await;
    app.patch(&format!("/records/{id}"), json!({"title": "Renamed"}), 200)
        .await;
    let task = app
        .post(
            "/records/tasks",
            json!({"title": "Do it", "record_id": id}),
            201,
        )
        .await;
    let task_id = task.data()["id"].as_str().unwrap().to_string();
    app.patch(
        &format!("/records/tasks/{task_id}"),
        json!({"completed": true}),
        200,
    )
    .await;

    let got = stream.take(2).await;
    let names: Vec<&str> = got.iter().map(|m| m.event.as_str()).collect();
    assert_eq!(names, ["record.created", "task.completed"]);
    assert_eq!(got[0].data["data"]["id"], json!(id));
    assert_eq!(got[1].data["data"]["id"], json!(task_id));
    let m = alias.next().await;
    assert_eq!(m.event, "task.completed");
    assert_eq!(
        m.id, got[1].id,
        "one position per event, whatever the filter"
    );

    let sentinel = lead(app, &app.token, "Sentinel").await;
    next_is_created(&mut stream, &sentinel).await;

    // Unknown names: the 400 of GET /events' `event` parameter.
    for q in ["?events=record.created,nope", "?event=record.exploded"] {
        let r = app
            .expect(app.req(Method::GET, &format!("/events/stream{q}")), 400)
            .await;
        assert_eq!(r.error_code(), "invalid_parameter");
        assert!(r.body["error"]
            .as_str()
            .unwrap()
            .contains("Unknown event name"));
    }
});

backend_test!(
    stream_resumes_after_last_event_id_exactly,
    |app| async move {
        let mut stream = Stream::open(app, &app.token, "", None).await;
        let a = lead(app, &app.token, "A").await;
        let seen = stream.take(2).await; // record.created + pipeline.stage_changed
        assert_eq!(seen[0].data["data"]["id"], json!(a));
        let last = seen[1].id.clone();
        drop(stream);

        // Missed while disconnected.
        let before = stored(app).await.len();
        let b = lead(app, &app.token, "B").await;
        app.patch(&format!("/records/{b}"), json!({"stage": "won"}), 200)
            .await;
        let missed: Vec<Value> = stored(app).await.split_off(before);

        let mut resumed = Stream::open(app, &app.token, "", Some(&last)).await;
        let got = resumed.take(missed.len()).await;
        let got_data: Vec<&Value> = got.iter().map(|m| &m.data).collect();
        let missed_refs: Vec<&Value> = missed.iter().collect();
        assert_eq!(got_data, missed_refs, "exactly the missed events, in order");
        let sentinel = lead(app, &app.token, "Sentinel").await;
        next_is_created(&mut resumed, &sentinel).await;

        // The query parameter works too (EventSource cannot set headers on the first connect),
        // and the header wins over it (EventSource reconnects with the original URL).
        let mut by_query =
            Stream::open(app, &app.token, &format!("?last_event_id={last}"), None).await;
        assert_eq!(by_query.next().await.data, missed[0]);
        let mut header_wins = Stream::open(
            app,
            &app.token,
            "?last_event_id=garbage",
            Some(&got.last().unwrap().id),
        )
        .await;
        next_is_created(&mut header_wins, &sentinel).await;

        // Something this stream never sent: 400 naming Last-Event-ID.
        for bad in ["garbage", "12", "1-2-3", "-1-5", "0-x"] {
            let r = app
                .expect(
                    app.req(Method::GET, "/events/stream")
                        .header("Last-Event-ID", bad),
                    400,
                )
                .await;
            assert_eq!(r.error_code(), "invalid_parameter");
            assert!(
                r.body["error"].as_str().unwrap().contains("Last-Event-ID"),
                "{}",
                r.text
            );
            assert_eq!(r.body["details"]["parameter"], "Last-Event-ID");
        }
        let r = app
            .expect(
                app.req(Method::GET, "/events/stream?last_event_id=nope"),
                400,
            )
            .await;
        assert_eq!(r.body["details"]["parameter"], "Last-Event-ID");
    }
);

backend_test!(
    resume_point_removed_by_retention_still_resumes,
    |app| async move {
        let mut stream = Stream::open(app, &app.token, "?events=record.created", None).await;
        let a = lead(app, &app.token, "A").await;
        let m = stream.next().await;
        drop(stream);
        let b = lead(app, &app.token, "B").await;

        // The event the client last saw is gone (as retention would remove it).
        let db = Db::connect(&app.database_url, &Default::default())
            .await
            .unwrap();
        // Retention keeps what the webhook fan-out has not read yet: let it catch up.
        assert!(
            laneway_server::webhooks::fanout::catch_up(
                &db,
                &Default::default(),
                std::time::Duration::from_secs(10)
            )
            .await
        );
        let mut s = db.write().await.unwrap();
        let ws = workspace_id(app).await;
        let old = event_repo::get(&mut s, &ws, m.data["id"].as_str().unwrap().parse().unwrap())
            .await
            .unwrap();
        assert_eq!(old.data["id"], json!(a));
        let gone = event_repo::purge_before(&mut s, laneway_core::time::now(), 1)
            .await
            .unwrap();
        assert_eq!(gone, 1);
        s.commit().await.unwrap();
        db.close().await;

        let mut resumed =
            Stream::open(app, &app.token, "?events=record.created", Some(&m.id)).await;
        next_is_created(&mut resumed, &b).await;
    }
);

backend_test!(stream_shows_only_the_keys_workspace, |app| async move {
    let other = app.other_workspace().await;
    let reader = app.key("read").await;
    let mut mine = Stream::open(app, &reader, "", None).await;
    let mut theirs = Stream::open(app, &other, "", None).await;

    let a = lead(app, &app.token, "Ours").await;
    let m = mine.next().await;
    assert_eq!(m.data["data"]["id"], json!(a));
    let ws = workspace_id(app).await;
    assert_eq!(m.data["workspace_id"], json!(ws));

    // The other workspace's first event is its own, not ours.
    let b = lead(app, &other, "Theirs").await;
    next_is_created(&mut theirs, &b).await;
    assert_ne!(theirs_ws(app, &other).await, ws);

    // No key, no stream.
    let r = app
        .send(app.client.request(Method::GET, app.url("/events/stream")))
        .await;
    assert_eq!(r.status.as_u16(), 401);
});

async fn theirs_ws(app: &TestApp, token: &str) -> String {
    app.expect(app.req_as(token, Method::GET, "/me"), 200)
        .await
        .data()["workspace"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

backend_test!(
    concurrent_writers_each_event_arrives_once,
    |app| async move {
        let mut stream = Stream::open(app, &app.token, "?events=record.created", None).await;
        let client = reqwest::Client::new();
        let mut writers = tokio::task::JoinSet::new();
        for i in 0..30 {
            let (client, url, token) = (client.clone(), app.url("/records"), app.token.clone());
            writers.spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"type": "lead", "title": format!("Concurrent {i}"), "pipeline": "main-sales", "stage": "new"}))
                .send()
                .await
                .expect("create");
            assert_eq!(r.status().as_u16(), 201);
            let v: Value = r.json().await.expect("json");
            v["data"]["id"].as_str().expect("id").to_string()
        });
        }
        let mut created = HashSet::new();
        while let Some(id) = writers.join_next().await {
            created.insert(id.expect("writer"));
        }
        assert_eq!(created.len(), 30);

        let got = stream.take(30).await;
        let streamed: HashSet<String> = got
            .iter()
            .map(|m| m.data["data"]["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(streamed, created, "every event once");
        let ids: HashSet<&str> = got.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids.len(), 30);
        let sentinel = lead(app, &app.token, "Sentinel").await;
        next_is_created(&mut stream, &sentinel).await;
    }
);

/// Shutdown ends open streams at once, so they do not hold up the drain.
async fn shutdown_ends_streams(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| {
        c.shutdown_grace = Duration::from_secs(20);
    })
    .await
    else {
        return;
    };
    let mut stream = Stream::open(&app, &app.token, "", None).await;
    let started = std::time::Instant::now();
    app.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "shutdown waited for the stream: {:?}",
        started.elapsed()
    );
    assert!(matches!(stream.next_within(PATIENCE).await, Next::End));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_streams_sqlite() {
    shutdown_ends_streams(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_streams_postgres() {
    shutdown_ends_streams(Backend::Postgres).await;
}

/// Two processes on one PostgreSQL database: a stream on one sees writes through the other at
/// once (through LISTEN/NOTIFY; the fallback poll would also get there, later).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stream_sees_writes_of_another_process() {
    let Some(app) = TestApp::spawn_postgres().await else {
        return;
    };
    let other = crate::cli::serve(&app.database_url).await;
    let mut stream = Stream::open(&app, &app.token, "?events=record.created", None).await;
    let client = reqwest::Client::new();
    for i in 0..3 {
        let started = std::time::Instant::now();
        let r = client
            .post(other.api("/records"))
            .bearer_auth(&app.token)
            .json(&json!({"type": "lead", "title": format!("Via the other process {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let v: Value = r.json().await.unwrap();
        let m = stream.next().await;
        assert_eq!(m.data["data"]["id"], v["data"]["id"]);
        eprintln!("cross-process event arrived after {:?}", started.elapsed());
    }
    // And the other way round: a stream on the other process sees this one's writes.
    let mut there = reqwest::Client::new()
        .get(other.api("/events/stream?events=record.created"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(there.status().as_u16(), 200);
    let id = lead(&app, &app.token, "Back").await;
    let got = tokio::time::timeout(PATIENCE, async {
        let mut buf = String::new();
        while let Ok(Some(chunk)) = there.chunk().await {
            buf.push_str(&String::from_utf8_lossy(&chunk));
            if buf.contains(&id) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(got, Ok(true), "the other process streamed this one's write");
    drop(there);
    let _ = other.terminate().await;
    app.stop().await;
}

/// The core guarantee on PostgreSQL, where `seq` order is not commit order: an event whose
/// transaction commits late never lands behind a reader's position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_late_commit_is_never_skipped() {
    let Some((url, name)) = fresh_pg_database().await else {
        return;
    };
    let db = Db::connect(&url, &Default::default()).await.unwrap();
    db.migrate().await.unwrap();
    let mut s = db.write().await.unwrap();
    let ws = laneway_server::bootstrap::create_workspace(&mut s, "W")
        .await
        .unwrap()
        .id;
    s.commit().await.unwrap();
    let ev = |n: &str| vec![NewEvent::new("ping", "test", n, json!({"n": n}))];
    let now = laneway_core::time::now();
    let read = |after: Option<Position>| {
        let (db, ws) = (db.clone(), ws.clone());
        async move {
            let mut s = db.read().await.unwrap();
            event_repo::read_after(&mut s, Some(&ws), after, &[], 100)
                .await
                .unwrap()
        }
    };
    // Other tests' transactions on this server hold the horizon back for moments, so what is
    // expected to become readable is waited for.
    let read_n = |after: Option<Position>, n: usize| {
        let read = &read;
        async move {
            tokio::time::timeout(PATIENCE, async {
                loop {
                    let got = read(after).await;
                    if got.len() >= n {
                        return got;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
            .await
            .expect("events became readable")
        }
    };
    let names = |v: &[(Position, laneway_core::events::Event)]| -> Vec<String> {
        v.iter()
            .map(|(_, e)| e.data["n"].as_str().unwrap().to_string())
            .collect()
    };
    let head = || async {
        let mut s = db.read().await.unwrap();
        event_repo::head(&mut s, Some(&ws)).await.unwrap()
    };

    let mut s = db.write().await.unwrap();
    event_repo::insert(&mut s, &ws, ev("first"), now)
        .await
        .unwrap();
    s.commit().await.unwrap();
    let got = read_n(None, 1).await;
    assert_eq!(names(&got), ["first"]);
    let pos = got[0].0;
    let head_before = head().await;

    // A takes the lower seq but commits after B.
    let mut a = db.write().await.unwrap();
    event_repo::insert(&mut a, &ws, ev("a"), now).await.unwrap();
    let mut b = db.write().await.unwrap();
    event_repo::insert(&mut b, &ws, ev("b"), now).await.unwrap();
    b.commit().await.unwrap();
    assert!(read(Some(pos)).await.is_empty(), "b waits for a");
    {
        let mut s = db.read().await.unwrap();
        let unsettled = event_repo::unsettled(&mut s, Some(&ws), Some(pos), &[]).await;
        assert!(unsettled.unwrap());
    }
    // A reader starting now: b has committed already, a has not.
    let head_between = head().await;
    assert!(!head_between.committed.is_empty());
    a.commit().await.unwrap();

    let got = read_n(Some(pos), 2).await;
    assert_eq!(names(&got), ["a", "b"]);
    assert!(got[0].0 < got[1].0);
    assert!(read(Some(got[1].0)).await.is_empty());
    // From a head: what committed after it, nothing that committed before.
    let new_since = |h: &event_repo::Head, v: Vec<(Position, laneway_core::events::Event)>| {
        v.into_iter()
            .filter(|(p, _)| !h.committed.contains(p))
            .collect::<Vec<_>>()
    };
    let from_before = read_n(Some(head_before.position), 2).await;
    assert_eq!(names(&new_since(&head_before, from_before)), ["a", "b"]);
    let from_between = read_n(Some(head_between.position), 1).await;
    assert_eq!(names(&new_since(&head_between, from_between)), ["a"]);
    // Positions survive their text form.
    assert_eq!(Position::decode(&got[0].0.encode()), Some(got[0].0));
    {
        let mut s = db.read().await.unwrap();
        let id = got[1].1.id;
        assert_eq!(
            event_repo::position_of(&mut s, &ws, id).await.unwrap(),
            Some(got[1].0)
        );
    }
    db.close().await;
    drop_pg_database(&name).await;
}

backend_test!(
    retention_purges_only_old_events_in_batches,
    |app| async move {
        let ws = workspace_id(app).await;
        let db = Db::connect(&app.database_url, &Default::default())
            .await
            .unwrap();
        let old = laneway_core::time::now() - time::Duration::days(10);
        let mut s = db.write().await.unwrap();
        let evs = (0..5)
            .map(|i| NewEvent::new("ping", "test", format!("old-{i}"), json!({"old": i})))
            .collect();
        event_repo::insert(&mut s, &ws, evs, old).await.unwrap();
        s.commit().await.unwrap();
        lead(app, &app.token, "Recent").await;
        let recent: Vec<Value> = stored(app)
            .await
            .into_iter()
            .filter(|e| e["event"] != "ping")
            .collect();
        assert_eq!(stored(app).await.len(), 5 + recent.len());

        assert!(
            laneway_server::webhooks::fanout::catch_up(
                &db,
                &Default::default(),
                std::time::Duration::from_secs(10)
            )
            .await
        );
        // One batch at a time: the oldest first, never a recent one.
        let cutoff = laneway_core::time::now() - time::Duration::days(1);
        let mut s = db.write().await.unwrap();
        assert_eq!(
            event_repo::purge_before(&mut s, cutoff, 2).await.unwrap(),
            2
        );
        s.commit().await.unwrap();
        assert_eq!(stored(app).await.len(), 3 + recent.len());

        // What the maintenance task runs: everything past retention, in batches.
        let n = laneway_server::purge_events(&db, 1, &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(n, 3);
        assert_eq!(stored(app).await, recent);
        assert_eq!(
            laneway_server::purge_events(&db, 1, &CancellationToken::new())
                .await
                .unwrap(),
            0
        );
        db.close().await;
    }
);

/// `laneway serve` purges events past `event_retention_days` at start (then hourly); the
/// setting is layered like every other (flag > env > file).
#[tokio::test]
async fn serve_applies_event_retention_from_flag_env_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("laneway.db").display());
    let db = Db::connect(&url, &Default::default()).await.unwrap();
    db.migrate().await.unwrap();
    let mut s = db.write().await.unwrap();
    let ws = laneway_server::bootstrap::create_workspace(&mut s, "W")
        .await
        .unwrap()
        .id;
    s.commit().await.unwrap();

    let cfg = dir.path().join("laneway.toml");
    // (config file, flags, environment): each sets 1 day where it wins.
    let cases: [Case; 3] = [
        ("event_retention_days = 1\n", &[], &[]),
        (
            "event_retention_days = 0\n",
            &[],
            &[("LANEWAY_EVENT_RETENTION_DAYS", "1")],
        ),
        (
            "event_retention_days = 0\n",
            &["--event-retention-days", "1"],
            &[("LANEWAY_EVENT_RETENTION_DAYS", "0")],
        ),
    ];
    for (file, flags, envs) in cases {
        std::fs::write(&cfg, file).unwrap();
        let old = laneway_core::time::now() - time::Duration::days(3);
        let mut s = db.write().await.unwrap();
        let ev = vec![NewEvent::new("ping", "test", "old", json!({}))];
        event_repo::insert(&mut s, &ws, ev, old).await.unwrap();
        event_repo::insert(
            &mut s,
            &ws,
            vec![NewEvent::new("ping", "test", "new", json!({}))],
            laneway_core::time::now(),
        )
        .await
        .unwrap();
        s.commit().await.unwrap();
        let before = count(&db, &ws).await;

        let mut child = serve_with(&url, &cfg, flags, envs).await;
        let purged = tokio::time::timeout(PATIENCE, async {
            loop {
                if count(&db, &ws).await == before - 1 {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await;
        let _ = child.kill().await;
        assert!(
            purged.is_ok(),
            "old event not purged with {file:?} {flags:?} {envs:?}"
        );
    }
    db.close().await;
}

type Case<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);

async fn count(db: &Db, ws: &str) -> i64 {
    let mut s = db.read().await.unwrap();
    event_repo::count(&mut s, ws).await.unwrap()
}

/// `laneway serve` with a config file, extra flags and environment; returns once it listens.
async fn serve_with(
    url: &str,
    cfg: &Path,
    flags: &[&str],
    envs: &[(&str, &str)],
) -> tokio::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_laneway"));
    cmd.args([
        "--config",
        cfg.to_str().unwrap(),
        "serve",
        "--listen",
        "127.0.0.1:0",
    ])
    .args(["--log-format", "json", "--database-url", url])
    .args(flags)
    .env_remove("DATABASE_URL")
    .env_remove("LANEWAY_CONFIG")
    .env_remove("LANEWAY_EVENT_RETENTION_DAYS")
    .env("RUST_LOG", "info")
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .kill_on_drop(true);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn laneway serve");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("Laneway listening") {
                return;
            }
        }
        panic!("laneway serve exited before listening");
    })
    .await
    .expect("server started in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    child
}

#[test]
fn positions_round_trip_and_reject_anything_else() {
    let p = Position::decode("12-345").expect("decodes");
    assert_eq!(p.encode(), "12-345");
    assert!(Position::START < p);
    for bad in [
        "",
        "1",
        "1-",
        "-1",
        "a-1",
        "1-b",
        "+1-2",
        "1-+2",
        "1-2-3",
        " 1-2",
        "99999999999999999999-1",
    ] {
        assert_eq!(Position::decode(bad), None, "{bad:?}");
    }
}
