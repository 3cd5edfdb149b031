//! The webhook engine against real local receivers: signatures (checked by the receiver's own
//! HMAC code), payloads, retries, auto-disable, 410, rotation, history, redelivery, recovery,
//! test sends. Run on both backends.

use std::time::Duration;

use serde_json::{json, Value};

use crate::receiver::{assert_signed, laneway_sig, Receiver, Reply};
use crate::support::{Backend, TestApp};

/// Fast retries for tests: the schedule's waits are short, the timeout 2 s.
pub fn fast(cfg: &mut laneway_server::ServerConfig) {
    cfg.webhooks.allow_private_targets = true;
    cfg.webhooks.timeout = Duration::from_secs(2);
    cfg.webhooks.retry_schedule = vec![
        Duration::ZERO,
        Duration::from_millis(100),
        Duration::from_millis(200),
        Duration::from_millis(300),
        Duration::from_millis(300),
        Duration::from_millis(300),
    ];
}

/// Runs a body on both backends with webhook settings adjusted by `$adjust`.
macro_rules! webhook_test {
    ($name:ident, $adjust:expr, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: &$crate::support::TestApp) {
                $body.await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = TestApp::spawn_with(Backend::Sqlite, $adjust).await.unwrap();
                run(&app).await;
                app.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) = TestApp::spawn_with(Backend::Postgres, $adjust).await else {
                    return;
                };
                run(&app).await;
                app.stop().await;
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use webhook_test;

/// Registers a webhook for `events` at the receiver; returns (id, secret).
pub async fn hook(app: &TestApp, rx: &Receiver, events: Value) -> (String, String) {
    let r = app
        .post("/webhooks", json!({"url": rx.url, "events": events}), 201)
        .await;
    (
        r.data()["id"].as_str().unwrap().to_string(),
        r.data()["secret"].as_str().unwrap().to_string(),
    )
}

/// Polls `GET path` until `pred` holds on its data (10 s at most).
pub async fn eventually(app: &TestApp, path: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let start = std::time::Instant::now();
    loop {
        let r = app.get(path, 200).await;
        if pred(r.data()) {
            return r.data().clone();
        }
        if start.elapsed() > Duration::from_secs(15) {
            panic!("{path} never reached the expected state: {}", r.data());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

webhook_test!(delivers_signed_record_events, fast, |app| async move {
    let rx = Receiver::start().await;
    // The Kanvo reference's curl body.
    let r = app
        .post(
            "/webhooks",
            json!({"url": rx.url, "events": ["record.created", "record.updated", "pipeline.stage_changed"]}),
            201,
        )
        .await;
    let id = r.data()["id"].as_str().unwrap().to_string();
    let secret = r.data()["secret"].as_str().unwrap().to_string();
    assert!(id.starts_with("wh_"));
    assert!(secret.starts_with("whsec_"));
    assert_eq!(r.data()["signature_secret_key"], secret.as_str());

    let lead = app.lead("Smith Residence").await;
    let lead_id = lead["id"].as_str().unwrap();
    let hits = rx.take(2).await;
    let mut names: Vec<String> = hits.iter().map(|h| h.event()).collect();
    names.sort();
    assert_eq!(names, ["pipeline.stage_changed", "record.created"]);
    for h in &hits {
        assert_signed(h, &secret);
        assert_eq!(h.header("content-type"), "application/json");
        assert!(h.header("user-agent").starts_with("Laneway-Webhooks/"));
        assert_eq!(h.header("x-laneway-event"), h.event());
        uuid::Uuid::parse_str(&h.delivery()).expect("delivery id is a UUID");
        // Compact JSON, keys in the spec's order.
        assert!(h.body.starts_with("{\"id\":\""), "{}", h.body);
        let order: Vec<usize> = [
            "\"id\":",
            "\"event\":",
            "\"workspace_id\":",
            "\"timestamp\":",
            "\"data\":",
        ]
        .iter()
        .map(|k| {
            h.body
                .find(k)
                .unwrap_or_else(|| panic!("{k} in {}", h.body))
        })
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "key order {order:?}");
        assert!(!h.body.contains("\": ") && !h.body.contains("\", \""));
        let body = h.json();
        assert_eq!(body["data"]["id"], lead_id);
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    // The Kanman guide's JavaScript check (it re-serialises the parsed body) accepts it.
    kanman_js_accepts(&hits[0], &secret);

    app.patch(
        &format!("/records/{lead_id}"),
        json!({"title": "Smith Home"}),
        200,
    )
    .await;
    let h = rx.next().await;
    assert_eq!(h.event(), "record.updated");
    assert_signed(&h, &secret);
    assert_eq!(
        h.json()["data"]["changes"]["title"],
        json!({"old": "Smith Residence", "new": "Smith Home"})
    );

    let w = eventually(app, &format!("/webhooks/{id}"), |w| w["last_status"] == 200).await;
    assert_eq!(w["failure_count"], 0);
    assert!(w["last_triggered_at"].is_string());
    assert!(w.get("secret").is_none(), "the secret is never shown again");
    let list = app.get(&format!("/webhooks/{id}/deliveries"), 200).await;
    let ds = list.data().as_array().unwrap().clone();
    assert_eq!(ds.len(), 3);
    assert!(ds.iter().all(|d| d["status"] == "succeeded"), "{ds:?}");
    let d = app
        .get(
            &format!(
                "/webhooks/{id}/deliveries/{}",
                ds[0]["id"].as_str().unwrap()
            ),
            200,
        )
        .await;
    let attempts = d.data()["attempt_log"].as_array().unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["status_code"], 200);
    assert_eq!(d.data()["payload"]["event"], "record.updated");
});

/// Runs the Kanman guide's verification snippet in node over the parsed body.
fn kanman_js_accepts(hit: &crate::receiver::Hit, secret: &str) {
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("NOTE: node is not installed; the Kanman snippet check was skipped");
        return;
    }
    let script = r#"
const crypto = require('crypto');
function verifySignature(payload, signature, secret, timestamp) {
  const expectedSignature = crypto
    .createHmac('sha256', secret)
    .update(`${timestamp}.${JSON.stringify(payload)}`)
    .digest('hex');
  return `sha256=${expectedSignature}` === signature;
}
const [body, sig, secret, ts] = process.argv.slice(1);
process.exit(verifySignature(JSON.parse(body), sig, secret, ts) ? 0 : 1);
"#;
    let out = std::process::Command::new("node")
        .arg("-e")
        .arg(script)
        .arg(&hit.body)
        .arg(hit.header("x-laneway-signature"))
        .arg(secret)
        .arg(hit.header("x-laneway-timestamp"))
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "the Kanman snippet rejected {}: {}",
        hit.body,
        String::from_utf8_lossy(&out.stderr)
    );
}

webhook_test!(retries_with_the_same_delivery_id, fast, |app| async move {
    let rx = Receiver::start().await;
    let big = "x".repeat(5000);
    rx.then([
        Reply::status(500).body(big.clone()),
        Reply::status(503).header("Retry-After", "0"),
        Reply::ok(),
    ]);
    let (id, secret) = hook(app, &rx, json!(["record.created"])).await;
    app.post(
        "/records",
        json!({"type": "lead", "title": "Retry me"}),
        201,
    )
    .await;
    let hits = rx.take(3).await;
    let ids: Vec<String> = hits.iter().map(|h| h.delivery()).collect();
    assert!(ids.iter().all(|d| *d == ids[0]), "one delivery id: {ids:?}");
    for h in &hits {
        assert_signed(h, &secret);
    }
    assert!(hits[2].at - hits[1].at >= Duration::from_millis(150));
    let d = eventually(app, &format!("/webhooks/{id}/deliveries/{}", ids[0]), |d| {
        d["status"] == "succeeded"
    })
    .await;
    assert_eq!(d["attempts"], 3);
    let log = d["attempt_log"].as_array().unwrap();
    let codes: Vec<Value> = log.iter().map(|a| a["status_code"].clone()).collect();
    assert_eq!(codes, [json!(500), json!(503), json!(200)]);
    assert_eq!(log[0]["response_body"].as_str().unwrap().len(), 1024);
    assert_eq!(log[0]["error"], "HTTP 500");
    assert!(log[1]["response_headers"]["retry-after"] == "0");
    let w = app.get(&format!("/webhooks/{id}"), 200).await;
    assert_eq!(w.data()["failure_count"], 0, "a success resets the streak");
});

webhook_test!(
    disables_after_consecutive_failures_and_loses_nothing,
    |c: &mut laneway_server::ServerConfig| {
        fast(c);
        c.webhooks.disable_after = 3;
    },
    |app| async move {
        let watcher = Receiver::start().await;
        let (_, _) = hook(app, &watcher, json!(["webhook.disabled"])).await;
        let rx = Receiver::start().await;
        rx.by_default(Reply::status(500));
        let (id, secret) = hook(app, &rx, json!(["record.*"])).await;
        app.post("/records", json!({"type": "lead", "title": "First"}), 201)
            .await;
        rx.take(3).await;
        let w = eventually(app, &format!("/webhooks/{id}"), |w| w["is_active"] == false).await;
        assert_eq!(w["failure_count"], 3);
        assert!(w["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("3 consecutive"));
        // Operators hear of it through webhook.disabled.
        let note = watcher.next().await;
        assert_eq!(note.event(), "webhook.disabled");
        assert_eq!(note.json()["data"]["id"], id.as_str());
        // While disabled nothing is sent, but nothing is dropped.
        for i in 0..3 {
            app.post(
                "/records",
                json!({"type": "lead", "title": format!("Later {i}")}),
                201,
            )
            .await;
        }
        rx.quiet_for(Duration::from_millis(700)).await;
        let paused = eventually(
            app,
            &format!("/webhooks/{id}/deliveries?status=paused"),
            |d| d.as_array().unwrap().len() == 4,
        )
        .await;
        assert_eq!(paused.as_array().unwrap().len(), 4);
        rx.by_default(Reply::ok());
        let w = app
            .patch(&format!("/webhooks/{id}"), json!({"is_active": true}), 200)
            .await;
        assert_eq!(w.data()["failure_count"], 0);
        assert_eq!(w.data()["disabled_reason"], Value::Null);
        let hits = rx.take(4).await;
        let mut titles: Vec<String> = hits
            .iter()
            .map(|h| {
                assert_signed(h, &secret);
                h.json()["data"]["title"].as_str().unwrap().to_string()
            })
            .collect();
        titles.sort();
        assert_eq!(titles, ["First", "Later 0", "Later 1", "Later 2"]);
    }
);

webhook_test!(gone_disables_at_once, fast, |app| async move {
    let rx = Receiver::start().await;
    rx.by_default(Reply::status(410));
    let (id, _) = hook(app, &rx, json!(["record.created"])).await;
    app.post("/records", json!({"type": "lead", "title": "Gone"}), 201)
        .await;
    rx.next().await;
    let w = eventually(app, &format!("/webhooks/{id}"), |w| w["is_active"] == false).await;
    assert!(w["disabled_reason"].as_str().unwrap().contains("410"));
    assert_eq!(w["last_status"], 410);
    rx.quiet_for(Duration::from_millis(500)).await;
});

webhook_test!(rotation_signs_with_both_secrets, fast, |app| async move {
    let rx = Receiver::start().await;
    let (id, old) = hook(app, &rx, json!(["record.created"])).await;
    let r = app
        .post(&format!("/webhooks/{id}/rotate-secret"), json!({}), 200)
        .await;
    let new = r.data()["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert!(r.data()["previous_secret_expires_at"].is_string());
    app.post("/records", json!({"type": "lead", "title": "Rotated"}), 201)
        .await;
    let h = rx.next().await;
    assert_signed(&h, &new);
    assert_signed_previous(&h, &old);
    assert_eq!(h.header("webhook-signature").split(' ').count(), 2);
});

fn assert_signed_previous(h: &crate::receiver::Hit, old: &str) {
    let ts = h.header("x-laneway-timestamp");
    assert_eq!(
        h.header("x-laneway-signature-previous"),
        laneway_sig(old, ts, &h.body)
    );
    let expected = crate::receiver::standard_sig(old, h.header("webhook-id"), ts, &h.body);
    assert!(h.header("webhook-signature").contains(&expected));
}

webhook_test!(
    redeliver_recover_and_test_ping,
    |c: &mut laneway_server::ServerConfig| {
        fast(c);
        c.webhooks.retry_schedule = vec![Duration::ZERO];
    },
    |app| async move {
        let rx = Receiver::start().await;
        rx.by_default(Reply::status(500));
        let (id, secret) = hook(app, &rx, json!(["record.created"])).await;
        for t in ["A", "B"] {
            app.post("/records", json!({"type": "lead", "title": t}), 201)
                .await;
        }
        rx.take(2).await;
        let failed = eventually(
            app,
            &format!("/webhooks/{id}/deliveries?status=failed"),
            |d| d.as_array().unwrap().len() == 2,
        )
        .await;
        let first = failed[0]["id"].as_str().unwrap().to_string();
        rx.by_default(Reply::ok());
        let r = app
            .post(
                &format!("/webhooks/{id}/deliveries/{first}/redeliver"),
                json!({}),
                200,
            )
            .await;
        assert_eq!(r.data()["id"], first.as_str());
        let h = rx.next().await;
        assert_eq!(h.delivery(), first, "a redelivery keeps its delivery id");
        assert_signed(&h, &secret);
        eventually(app, &format!("/webhooks/{id}/deliveries/{first}"), |d| {
            d["status"] == "succeeded"
        })
        .await;
        let r = app
            .post(
                &format!("/webhooks/{id}/recover"),
                json!({"since": "2000-01-01T00:00:00Z"}),
                200,
            )
            .await;
        assert_eq!(r.data()["recovered"], 1);
        let h = rx.next().await;
        assert_eq!(h.delivery(), failed[1]["id"].as_str().unwrap());

        // A test ping: one attempt, reported in the answer, not counted against the webhook.
        rx.then([Reply::status(500)]);
        let r = app
            .post(&format!("/webhooks/{id}/test"), json!({}), 200)
            .await;
        assert_eq!(r.data()["event"], "ping");
        assert_eq!(r.data()["status"], "failed");
        assert_eq!(r.data()["attempt_log"][0]["status_code"], 500);
        let h = rx.next().await;
        assert_eq!(h.event(), "ping");
        assert_signed(&h, &secret);
        let w = app.get(&format!("/webhooks/{id}"), 200).await;
        assert_eq!(w.data()["failure_count"], 0);
        let r = app
            .post(&format!("/webhooks/{id}/test"), json!({}), 200)
            .await;
        assert_eq!(r.data()["status"], "succeeded");
        rx.next().await;
    }
);

webhook_test!(
    history_keeps_the_newest,
    |c: &mut laneway_server::ServerConfig| {
        fast(c);
        c.webhooks.history = 3;
    },
    |app| async move {
        let rx = Receiver::start().await;
        let (id, _) = hook(app, &rx, json!(["record.created"])).await;
        for i in 0..6 {
            app.post(
                "/records",
                json!({"type": "lead", "title": format!("R{i}")}),
                201,
            )
            .await;
            rx.next().await;
        }
        let ds = eventually(app, &format!("/webhooks/{id}/deliveries"), |d| {
            d.as_array().unwrap().len() == 3
                && d.as_array()
                    .unwrap()
                    .iter()
                    .all(|x| x["status"] == "succeeded")
        })
        .await;
        let events = app
            .get(
                "/events?filter=event eq \"record.created\"&sort=-timestamp&per_page=3",
                200,
            )
            .await;
        let newest: Vec<&Value> = events
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["id"])
            .collect();
        let kept: Vec<&Value> = ds
            .as_array()
            .unwrap()
            .iter()
            .map(|d| &d["event_id"])
            .collect();
        assert_eq!(kept, newest);
    }
);

webhook_test!(
    per_resource_ordering_waits_for_the_previous,
    fast,
    |app| async move {
        let rx = Receiver::start().await;
        // The first delivery fails twice before it succeeds; the record's later events wait.
        rx.then([Reply::status(500), Reply::status(500)]);
        let r = app
        .post(
            "/webhooks",
            json!({"url": rx.url, "events": ["record.created", "record.updated"], "ordering": "per_resource"}),
            201,
        )
        .await;
        assert_eq!(r.data()["ordering"], "per_resource");
        let rec = app
            .post("/records", json!({"type": "lead", "title": "v0"}), 201)
            .await;
        let id = rec.data()["id"].as_str().unwrap().to_string();
        for i in 1..=3 {
            app.patch(
                &format!("/records/{id}"),
                json!({"title": format!("v{i}")}),
                200,
            )
            .await;
        }
        let hits = rx.take(6).await;
        let seq: Vec<String> = hits
            .iter()
            .map(|h| h.json()["data"]["title"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            seq,
            ["v0", "v0", "v0", "v1", "v2", "v3"],
            "commit order per record"
        );
    }
);

webhook_test!(rate_limit_spaces_deliveries, fast, |app| async move {
    let rx = Receiver::start().await;
    app.post(
        "/webhooks",
        json!({"url": rx.url, "events": ["record.created"], "rate_limit": 2}),
        201,
    )
    .await;
    for i in 0..6 {
        app.post(
            "/records",
            json!({"type": "lead", "title": format!("R{i}")}),
            201,
        )
        .await;
    }
    let hits = rx.take(6).await;
    // 2 per second: the 5th and 6th come at least two windows after the first.
    let span = hits[5].at - hits[0].at;
    assert!(
        span >= Duration::from_millis(1900),
        "6 deliveries in {span:?}"
    );
    for w in hits.windows(3) {
        assert!(
            w[2].at - w[0].at >= Duration::from_millis(900),
            "three deliveries within one second"
        );
    }
});

webhook_test!(
    monthly_quota_keeps_the_excess_for_later,
    |c: &mut laneway_server::ServerConfig| {
        fast(c);
        c.webhooks.max_deliveries_per_month = 2;
    },
    |app| async move {
        let rx = Receiver::start().await;
        let (id, _) = hook(app, &rx, json!(["record.created"])).await;
        for i in 0..3 {
            app.post(
                "/records",
                json!({"type": "lead", "title": format!("Q{i}")}),
                201,
            )
            .await;
        }
        rx.take(2).await;
        let over = eventually(
            app,
            &format!("/webhooks/{id}/deliveries?status=quota_exceeded"),
            |d| d.as_array().unwrap().len() == 1,
        )
        .await;
        rx.quiet_for(Duration::from_millis(500)).await;
        assert_eq!(over[0]["attempts"], 0);
        let r = app
            .post(
                &format!("/webhooks/{id}/recover"),
                json!({"since": "2000-01-01T00:00:00Z"}),
                200,
            )
            .await;
        assert_eq!(r.data()["recovered"], 1);
        let h = rx.next().await;
        assert_eq!(h.json()["data"]["title"], "Q2");
    }
);

/// A webhook registered where private targets are allowed is refused at delivery by a server
/// that does not allow them: the check is made again against the resolved address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivery_time_check_refuses_private_addresses() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(a) = TestApp::spawn_with(backend, |c| {
            fast(c);
            c.webhooks.engine = false;
        })
        .await
        else {
            continue;
        };
        let rx = Receiver::start().await;
        // This machine's own name (it resolves to a loopback or private address), over https
        // so the scheme passes: the refusal must come from the address the name resolves to.
        let host = std::process::Command::new("hostname")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into());
        let url = rx
            .url
            .replace("http://127.0.0.1", &format!("https://{host}"));
        let r = a
            .post(
                "/webhooks",
                json!({"url": url, "events": ["record.created"]}),
                201,
            )
            .await;
        let id = r.data()["id"].as_str().unwrap().to_string();
        let b = TestApp::start_at(backend, a.database_url.clone(), |c| {
            c.webhooks.retry_schedule = vec![Duration::ZERO];
        })
        .await;
        let rb = b
            .req_as(&a.token, reqwest::Method::POST, "/records")
            .json(&json!({"type": "lead", "title": "Rebound"}));
        b.expect(rb, 201).await;
        let path = format!("/webhooks/{id}/deliveries?status=failed");
        let start = std::time::Instant::now();
        let d = loop {
            let r = b
                .expect(b.req_as(&a.token, reqwest::Method::GET, &path), 200)
                .await;
            if let Some(d) = r.data().as_array().unwrap().first() {
                break d.clone();
            }
            assert!(start.elapsed() < Duration::from_secs(15), "never failed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let err = d["last_error"].as_str().unwrap();
        assert!(err.contains("private") || err.contains("local"), "{err}");
        rx.quiet_for(Duration::from_millis(300)).await;
        b.stop().await;
        a.stop().await;
    }
}

webhook_test!(
    retention_keeps_events_the_fan_out_has_not_read,
    |c: &mut laneway_server::ServerConfig| {
        fast(c);
        c.webhooks.engine = false;
    },
    |app| async move {
        let db = laneway_store::Db::connect(&app.database_url, &Default::default())
            .await
            .unwrap();
        app.lead("Old news").await;
        let never = tokio_util::sync::CancellationToken::new();
        // Everything is past a retention of "0 days ago", but nothing was fanned out yet.
        let n = laneway_server::purge_events_before(&db, laneway_core::time::now(), &never)
            .await
            .unwrap();
        assert_eq!(n, 0, "unread events are kept");
        assert!(
            laneway_server::webhooks::fanout::catch_up(
                &db,
                &Default::default(),
                Duration::from_secs(10)
            )
            .await
        );
        let n = laneway_server::purge_events_before(&db, laneway_core::time::now(), &never)
            .await
            .unwrap();
        assert!(n >= 1);
        db.close().await;
    }
);

webhook_test!(every_event_kind_arrives_as_stored, fast, |app| async move {
    let rx = Receiver::start().await;
    let before: std::collections::HashSet<String> = app
        .get("/events?per_page=100", 200)
        .await
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let (_, secret) = hook(app, &rx, json!(["*"])).await;
    // A script touching records, stages, pipelines and tasks.
    let lead = app.lead("Kinds").await;
    let id = lead["id"].as_str().unwrap().to_string();
    app.patch(
        &format!("/records/{id}"),
        json!({"stage": "contacted"}),
        200,
    )
    .await;
    let task = app
        .post(
            "/records/tasks",
            json!({"title": "Call", "record_id": id, "due_date": "2026-07-01"}),
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
    app.delete(&format!("/records/tasks/{task_id}"), 200).await;
    let p = app
        .post(
            "/schema/pipelines",
            json!({"name": "Jobs", "stages": [{"name": "Booked"}, {"name": "Done"}]}),
            201,
        )
        .await;
    let pid = p.data()["id"].as_str().unwrap().to_string();
    app.patch(
        &format!("/schema/pipelines/{pid}"),
        json!({"name": "Jobs 2"}),
        200,
    )
    .await;
    app.delete(&format!("/records/{id}"), 200).await;

    let stored: Vec<Value> = {
        let r = app.get("/events?per_page=100", 200).await;
        r.data()
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| !before.contains(e["id"].as_str().unwrap()))
            .cloned()
            .collect()
    };
    let hits = rx.take(stored.len()).await;
    let mut by_id = std::collections::HashMap::new();
    for h in &hits {
        assert_signed(h, &secret);
        by_id.insert(h.json()["id"].as_str().unwrap().to_string(), h.json());
    }
    let mut kinds = std::collections::BTreeSet::new();
    for e in &stored {
        let got = by_id
            .get(e["id"].as_str().unwrap())
            .unwrap_or_else(|| panic!("event {} was not delivered", e["event"]));
        // The body is the stored event: same name, workspace, time and data (with `changes`).
        assert_eq!(got, e, "delivery of {}", e["event"]);
        kinds.insert(e["event"].as_str().unwrap().to_string());
    }
    for k in [
        "record.created",
        "record.updated",
        "record.moved",
        "record.deleted",
        "pipeline.stage_changed",
        "task.created",
        "task.updated",
        "task.completed",
        "task.deleted",
        "pipeline.created",
        "pipeline.updated",
        "stage.created",
    ] {
        assert!(kinds.contains(k), "no {k} in {kinds:?}");
    }
    let changed = stored
        .iter()
        .find(|e| e["event"] == "record.updated")
        .unwrap();
    assert!(changed["data"]["changes"]["stage_id"].is_object());
});

webhook_test!(
    concurrency_is_bounded_per_webhook,
    |c: &mut laneway_server::ServerConfig| {
        fast(c);
        c.webhooks.concurrency = 2;
    },
    |app| async move {
        let rx = Receiver::start().await;
        rx.by_default(Reply::ok().delay(Duration::from_millis(300)));
        hook(app, &rx, json!(["record.created"])).await;
        for i in 0..6 {
            app.post(
                "/records",
                json!({"type": "lead", "title": format!("C{i}")}),
                201,
            )
            .await;
        }
        let mut hits = rx.take(6).await;
        hits.sort_by_key(|h| h.at);
        // Each request is answered after 300 ms; with two in flight at most, any three
        // arrivals span at least one answer.
        for w in hits.windows(3) {
            assert!(
                w[2].at - w[0].at >= Duration::from_millis(280),
                "three deliveries in flight at once"
            );
        }
    }
);
