//! The webhook management API (spec webhooks.md): registration in the Kanvo, Kanbert and
//! Kanman forms, validation, SSRF refusal at registration, uniqueness and the per-workspace
//! limit, secrets shown only once, ETags, PATCH, both delete forms, listing (filter, sort,
//! offset and cursor pages, workspace isolation), the admin scope, delivery filtering by scope
//! and `filter`, and the delivery history's errors. Run on both backends.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_test;
use crate::receiver::{Hit, Receiver, Reply};
use crate::records::board;
use crate::support::{Backend, Resp, TestApp};
use crate::webhooks::{eventually, fast, hook, webhook_test};

/// A public address (example.com's old one) that needs no DNS; nothing is ever sent to it in
/// these tests (no event is created after a webhook pointing there).
const PUBLIC: &str = "https://93.184.216.34";

fn public(path: &str) -> String {
    format!("{PUBLIC}{path}")
}

fn sid(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

/// Asserts a 400 whose `details.field` is `field`; returns the message.
fn assert_field(r: &Resp, field: &str) -> String {
    assert_eq!(
        r.status.as_u16(),
        400,
        "expected 400 for {field}: {}",
        r.text
    );
    r.error_code();
    assert_eq!(
        r.body["details"]["field"], field,
        "details.field should be '{field}': {}",
        r.text
    );
    r.body["error"].as_str().unwrap().to_string()
}

/// `POST /webhooks` expecting 400 naming `field`; returns the message.
async fn create_err(app: &TestApp, body: Value, field: &str) -> String {
    let r = app.post("/webhooks", body.clone(), 400).await;
    let msg = assert_field(&r, field);
    assert!(!msg.is_empty(), "empty message for {body}");
    msg
}

async fn create(app: &TestApp, body: Value) -> Value {
    app.post("/webhooks", body, 201).await.data().clone()
}

/// `GET path` with query pairs, as `token`, expecting `status`.
async fn get_q(app: &TestApp, token: &str, path: &str, q: &[(&str, &str)], status: u16) -> Resp {
    app.expect(app.req_as(token, Method::GET, path).query(q), status)
        .await
}

fn ids_of(r: &Resp) -> Vec<String> {
    r.data()
        .as_array()
        .unwrap_or_else(|| panic!("data is not a list: {}", r.text))
        .iter()
        .map(sid)
        .collect()
}

/// Every request the receiver gets until it has been quiet for `quiet`.
async fn drain(rx: &Receiver, quiet: Duration) -> Vec<Hit> {
    let mut v = Vec::new();
    while let Some(h) = rx.next_within(quiet).await {
        v.push(h);
    }
    v
}

// ---- 1. create --------------------------------------------------------------------------------

backend_test!(create_in_every_form, |app| async move {
    // Kanvo: a list of canonical names; duplicates (also through aliases) collapse.
    let w = create(
        app,
        json!({"url": public("/kanvo"),
               "events": ["record.created", "record.updated", "record.created", "record:create"]}),
    )
    .await;
    assert!(sid(&w).starts_with("wh_"), "{w}");
    assert_eq!(w["events"], json!(["record.created", "record.updated"]));
    assert_eq!(w["event"], Value::Null, "two events: no single `event`");
    assert_eq!(
        w["name"], "93.184.216.34",
        "the default name is the URL's host"
    );
    assert_eq!(w["url"], public("/kanvo"));
    assert_eq!(w["is_active"], true);
    assert_eq!(w["ordering"], "none");
    assert_eq!(w["failure_count"], 0);
    for k in [
        "pipeline_id",
        "record_id",
        "project_id",
        "client_id",
        "filter",
        "rate_limit",
        "disabled_reason",
        "last_triggered_at",
        "last_status",
    ] {
        assert!(w.get(k).is_some(), "missing {k}: {w}");
        assert_eq!(w[k], Value::Null, "{k}: {w}");
    }
    assert!(w["created_at"].is_string() && w["updated_at"].is_string());
    let secret = w["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(w["signature_secret_key"], secret);

    // Kanbert: one `event` in colon form, with `project_id` / `client_id` scoping.
    let b = board(app).await;
    let lead = app.lead("Scoped client").await;
    let lead_id = sid(&lead);
    for (i, (colon, dot)) in [
        ("contact:create", "contact.created"),
        ("task:update", "task.updated"),
        ("comment:create", "comment.created"),
    ]
    .into_iter()
    .enumerate()
    {
        let w = create(
            app,
            json!({"url": public(&format!("/kanbert/{i}")), "event": colon,
                   "project_id": b.pipeline_id, "client_id": lead_id}),
        )
        .await;
        assert_eq!(w["events"], json!([dot]), "{colon}");
        assert_eq!(w["event"], dot, "{colon}");
        assert_eq!(w["project_id"], b.pipeline_id.as_str());
        assert_eq!(w["pipeline_id"], b.pipeline_id.as_str());
        assert_eq!(w["client_id"], lead_id.as_str());
        assert_eq!(w["record_id"], lead_id.as_str());
        assert_eq!(w["signature_secret_key"], w["secret"]);
        let g = app.get(&format!("/webhooks/{}", sid(&w)), 200).await;
        assert_eq!(g.data()["event"], dot);
        assert_eq!(g.data()["events"], json!([dot]));
        assert_eq!(g.data()["client_id"], lead_id.as_str());
    }

    // Kanman: a name and a custom secret; board/project/task.moved names stored canonically.
    let custom = "kanman-secret-0123456789";
    let w = create(
        app,
        json!({"url": public("/kanman"), "name": "  Kanman hook  ", "secret": custom,
               "events": ["board.*", "project.updated", "task.moved", "board.created"]}),
    )
    .await;
    assert_eq!(w["name"], "Kanman hook", "the name is trimmed");
    assert_eq!(w["secret"], custom);
    assert_eq!(w["signature_secret_key"], custom);
    assert_eq!(
        w["events"],
        json!([
            "pipeline.*",
            "stage.updated",
            "record.moved",
            "pipeline.created"
        ])
    );

    // Wildcards; both ends of the secret's length range.
    let w = create(
        app,
        json!({"url": public("/star"), "events": ["*", "record.*"], "secret": "s".repeat(16)}),
    )
    .await;
    assert_eq!(w["events"], json!(["*", "record.*"]));
    assert_eq!(w["secret"], "s".repeat(16));
    let w = create(
        app,
        json!({"url": public("/long-secret"), "events": ["record.*"], "secret": "t".repeat(128),
               "name": "n".repeat(100)}),
    )
    .await;
    assert_eq!(w["event"], "record.*");
    assert_eq!(w["name"], "n".repeat(100));

    // Inactive from the start; the other options.
    let w = create(
        app,
        json!({"url": public("/paused"), "events": ["task.created"], "is_active": false,
               "ordering": "per_resource", "rate_limit": 7,
               "filter": {"field": "title", "op": "contains", "value": "VIP"}}),
    )
    .await;
    assert_eq!(w["is_active"], false);
    assert_eq!(w["disabled_reason"], Value::Null);
    assert_eq!(w["ordering"], "per_resource");
    assert_eq!(w["rate_limit"], 7);
    let f = w["filter"].as_str().expect("the filter is stored as text");
    assert!(f.contains("title") && f.contains("VIP"), "{f}");
    let g = app.get(&format!("/webhooks/{}", sid(&w)), 200).await;
    assert_eq!(g.data()["is_active"], false);
    assert_eq!(g.data()["filter"], f);

    // A URL of exactly 2048 characters is allowed.
    let base = public("/");
    let url = format!("{base}{}", "a".repeat(2048 - base.len()));
    assert_eq!(url.len(), 2048);
    create(app, json!({"url": url, "events": ["ping"]})).await;

    // A custom https port is fine, and the default name is still the bare host.
    let w = create(
        app,
        json!({"url": "https://93.184.216.34:8443/port", "events": ["ping"]}),
    )
    .await;
    assert_eq!(w["name"], "93.184.216.34");

    let list = app.get("/webhooks", 200).await;
    assert_eq!(list.body["meta"]["total"], 10);
});

// ---- 2. validation -----------------------------------------------------------------------------

backend_test!(create_validation_names_the_field, |app| async move {
    let url = public("/v");
    let ev = json!(["record.created"]);

    create_err(app, json!({"events": ev}), "url").await;
    create_err(app, json!({"url": url}), "events").await;
    create_err(app, json!({"url": url, "events": []}), "events").await;
    let msg = create_err(
        app,
        json!({"url": url, "events": ["record.exploded"]}),
        "events",
    )
    .await;
    assert!(msg.contains("record.exploded"), "{msg}");
    for valid in ["record.created", "task.completed", "record.*", "*", "ping"] {
        assert!(msg.contains(valid), "the message lists {valid}: {msg}");
    }
    let r = app
        .post(
            "/webhooks",
            json!({"url": url, "events": ["record.created", "nope"]}),
            400,
        )
        .await;
    assert!(r.body["details"]["valid"]
        .as_array()
        .unwrap()
        .contains(&json!("record.created")));
    create_err(app, json!({"url": url, "event": "nope:create"}), "event").await;
    create_err(app, json!({"url": url, "event": "record:explode"}), "event").await;
    create_err(
        app,
        json!({"url": url, "events": ev, "event": "record.created"}),
        "events",
    )
    .await;
    create_err(
        app,
        json!({"url": url, "events": "record.created"}),
        "events",
    )
    .await;

    // Secrets: 16 to 128 characters; a whsec_ one must be base64 after the prefix.
    for bad in ["s".repeat(15), "s".repeat(129), String::new()] {
        create_err(
            app,
            json!({"url": url, "events": ev, "secret": bad}),
            "secret",
        )
        .await;
    }
    create_err(
        app,
        json!({"url": url, "events": ev, "secret": "whsec_!!not*base64*at*all!!"}),
        "secret",
    )
    .await;
    create_err(
        app,
        json!({"url": url, "events": ev, "secret": "has a space in it!!"}),
        "secret",
    )
    .await;

    // Names: 1 to 100 characters after trimming.
    for bad in ["n".repeat(101), String::new(), "   ".into()] {
        create_err(app, json!({"url": url, "events": ev, "name": bad}), "name").await;
    }

    // URLs.
    let long = format!("{}{}", public("/"), "a".repeat(2048));
    let msg = create_err(app, json!({"url": long, "events": ev}), "url").await;
    assert!(msg.contains("2048"), "{msg}");
    for bad in [
        "not a url",
        "/relative/path",
        "ftp://93.184.216.34/x",
        "",
        "https://user:pw@93.184.216.34/x",
    ] {
        create_err(app, json!({"url": bad, "events": ev}), "url").await;
    }

    // Unknown fields and wrong types.
    create_err(
        app,
        json!({"url": url, "events": ev, "colour": "red"}),
        "colour",
    )
    .await;
    create_err(
        app,
        json!({"url": url, "events": ev, "ordering": "sometimes"}),
        "ordering",
    )
    .await;
    create_err(
        app,
        json!({"url": url, "events": ev, "rate_limit": 0}),
        "rate_limit",
    )
    .await;
    create_err(
        app,
        json!({"url": url, "events": ev, "rate_limit": -1}),
        "rate_limit",
    )
    .await;
    create_err(
        app,
        json!({"url": url, "events": ev, "rate_limit": 10_001}),
        "rate_limit",
    )
    .await;

    // Filters: syntax errors with their position, unknown fields with a suggestion, and
    // subscriptions without a filterable resource.
    let msg = create_err(
        app,
        json!({"url": url, "events": ev, "filter": "title eq"}),
        "filter",
    )
    .await;
    assert!(msg.contains("at 1:"), "the position is given: {msg}");
    let msg = create_err(
        app,
        json!({"url": url, "events": ev, "filter": "title eq \"a\" and (amount"}),
        "filter",
    )
    .await;
    assert!(msg.contains("at 1:"), "the position is given: {msg}");
    let msg = create_err(
        app,
        json!({"url": url, "events": ev, "filter": "titel eq \"x\""}),
        "filter",
    )
    .await;
    assert!(msg.contains("titel"), "{msg}");
    assert!(msg.contains("did you mean 'title'"), "{msg}");
    create_err(
        app,
        json!({"url": url, "events": ["form.submitted"], "filter": "title eq \"x\""}),
        "filter",
    )
    .await;
    create_err(
        app,
        json!({"url": url, "events": ev, "filter": 5}),
        "filter",
    )
    .await;
    create_err(
        app,
        json!({"url": url, "events": ev, "filter": {"field": "titel", "op": "eq", "value": 1}}),
        "filter",
    )
    .await;

    // Scopes that do not exist, and two different values for one scope.
    let b = board(app).await;
    let ghost = uuid::Uuid::now_v7().to_string();
    create_err(
        app,
        json!({"url": url, "events": ev, "pipeline_id": ghost}),
        "pipeline_id",
    )
    .await;
    create_err(
        app,
        json!({"url": url, "events": ev, "project_id": ghost}),
        "pipeline_id",
    )
    .await;
    create_err(
        app,
        json!({"url": url, "events": ev, "record_id": ghost}),
        "record_id",
    )
    .await;
    create_err(
        app,
        json!({"url": url, "events": ev, "client_id": ghost}),
        "record_id",
    )
    .await;
    create_err(
        app,
        json!({"url": url, "events": ev, "pipeline_id": b.pipeline_id, "project_id": ghost}),
        "pipeline_id",
    )
    .await;
    create_err(
        app,
        json!({"url": url, "events": ev, "pipeline_id": "not-a-uuid"}),
        "pipeline_id",
    )
    .await;
    // A stage id is not a pipeline id.
    create_err(
        app,
        json!({"url": url, "events": ev, "pipeline_id": b.new}),
        "pipeline_id",
    )
    .await;

    // Nothing was stored by any of those.
    assert_eq!(app.get("/webhooks", 200).await.body["meta"]["total"], 0);

    // The same scope twice under both names is fine.
    let w = create(
        app,
        json!({"url": url, "events": ev, "pipeline_id": b.pipeline_id, "project_id": b.pipeline_id}),
    )
    .await;
    assert_eq!(w["pipeline_id"], b.pipeline_id.as_str());
});

// ---- 3. SSRF at registration -------------------------------------------------------------------

backend_test!(private_targets_are_refused_by_default, |app| async move {
    for bad in [
        "http://93.184.216.34/x",
        "https://127.0.0.1/",
        "https://127.0.0.1:8443/hook",
        "https://127.1/",
        "https://2130706433/",
        "https://0x7f000001/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:10.0.0.8]/",
        "https://[64:ff9b::a9fe:a9fe]/",
        "https://[fd00::1]/",
        "https://[fe80::1]/",
        "https://169.254.169.254/latest/meta-data",
        "https://100.100.100.200/",
        "https://10.0.0.8/",
        "https://172.16.0.1/",
        "https://192.168.1.1/",
        "https://100.64.0.1/",
        "https://0.0.0.0/",
        "https://localhost/",
        "https://LOCALHOST./",
        "https://api.localhost/",
        "https://metadata.google.internal/computeMetadata/v1/",
    ] {
        let r = app
            .post("/webhooks", json!({"url": bad, "events": ["*"]}), 400)
            .await;
        assert_field(&r, "url");
    }
    assert_eq!(app.get("/webhooks", 200).await.body["meta"]["total"], 0);

    // A PATCH to a private target is refused the same way.
    let w = create(app, json!({"url": public("/ok"), "events": ["*"]})).await;
    let id = sid(&w);
    for bad in [
        "https://10.0.0.8/",
        "http://93.184.216.34/x",
        "https://[::1]/",
    ] {
        let r = app
            .patch(&format!("/webhooks/{id}"), json!({"url": bad}), 400)
            .await;
        assert_field(&r, "url");
    }
    let g = app.get(&format!("/webhooks/{id}"), 200).await;
    assert_eq!(g.data()["url"], public("/ok"));
});

// ---- 4. uniqueness and the limit ---------------------------------------------------------------

backend_test!(urls_are_unique_per_workspace, |app| async move {
    let a = create(app, json!({"url": public("/a"), "events": ["*"]})).await;
    let r = app
        .post(
            "/webhooks",
            json!({"url": public("/a"), "events": ["record.created"], "name": "again"}),
            409,
        )
        .await;
    assert_eq!(r.error_code(), "conflict");
    assert_eq!(r.body["details"]["field"], "url");
    let b = create(app, json!({"url": public("/b"), "events": ["*"]})).await;
    let r = app
        .patch(
            &format!("/webhooks/{}", sid(&b)),
            json!({"url": public("/a")}),
            409,
        )
        .await;
    assert_eq!(r.error_code(), "conflict");
    assert_eq!(r.body["details"]["field"], "url");
    assert_eq!(
        app.get(&format!("/webhooks/{}", sid(&b)), 200).await.data()["url"],
        public("/b")
    );
    // Setting a webhook's own URL again is no conflict.
    app.patch(
        &format!("/webhooks/{}", sid(&a)),
        json!({"url": public("/a")}),
        200,
    )
    .await;
    // Once the first is gone its URL is free.
    app.delete(&format!("/webhooks/{}", sid(&a)), 204).await;
    app.patch(
        &format!("/webhooks/{}", sid(&b)),
        json!({"url": public("/a")}),
        200,
    )
    .await;
    create(app, json!({"url": public("/b"), "events": ["*"]})).await;
    // Another workspace may use the same URL.
    let other = app.other_workspace().await;
    let r = app
        .expect(
            app.req_as(&other, Method::POST, "/webhooks")
                .json(&json!({"url": public("/a"), "events": ["*"]})),
            201,
        )
        .await;
    assert_eq!(r.data()["url"], public("/a"));
});

webhook_test!(
    workspace_webhook_limit,
    |c: &mut laneway_server::ServerConfig| {
        c.webhooks.max_webhooks = 2;
    },
    |app| async move {
        let first = create(app, json!({"url": public("/1"), "events": ["*"]})).await;
        create(app, json!({"url": public("/2"), "events": ["*"]})).await;
        let r = app
            .post(
                "/webhooks",
                json!({"url": public("/3"), "events": ["*"]}),
                403,
            )
            .await;
        assert_eq!(r.error_code(), "limit_exceeded");
        assert_eq!(r.body["details"]["limit"], 2);
        // Inactive webhooks count too.
        app.patch(
            &format!("/webhooks/{}", sid(&first)),
            json!({"is_active": false}),
            200,
        )
        .await;
        app.post(
            "/webhooks",
            json!({"url": public("/3"), "events": ["*"]}),
            403,
        )
        .await;
        assert_eq!(app.get("/webhooks", 200).await.body["meta"]["total"], 2);
        // The limit is per workspace.
        let other = app.other_workspace().await;
        app.expect(
            app.req_as(&other, Method::POST, "/webhooks")
                .json(&json!({"url": public("/3"), "events": ["*"]})),
            201,
        )
        .await;
        // Deleting one makes room.
        app.delete(&format!("/webhooks/{}", sid(&first)), 204).await;
        create(app, json!({"url": public("/3"), "events": ["*"]})).await;
    }
);

// ---- 5. the secret is shown twice only ---------------------------------------------------------

backend_test!(secret_only_in_create_and_rotate, |app| async move {
    let custom = "custom-signing-secret-42-xyz";
    let w = create(
        app,
        json!({"url": public("/s"), "events": ["*"], "secret": custom}),
    )
    .await;
    assert_eq!(w["secret"], custom);
    let id = sid(&w);
    let path = format!("/webhooks/{id}");

    let no_secret = |r: &Resp, secret: &str, what: &str| {
        assert!(
            !r.text.contains(secret),
            "{what} shows the secret: {}",
            r.text
        );
        assert!(
            !r.text.contains("\"secret\"") && !r.text.contains("signature_secret_key"),
            "{what} has a secret field: {}",
            r.text
        );
    };
    no_secret(&app.get(&path, 200).await, custom, "GET one");
    no_secret(&app.get("/webhooks", 200).await, custom, "list");
    no_secret(
        &app.get("/webhooks?page[size]=10", 200).await,
        custom,
        "cursor list",
    );
    no_secret(
        &app.patch(&path, json!({"name": "renamed"}), 200).await,
        custom,
        "PATCH",
    );
    no_secret(
        &app.patch(&path, json!({"is_active": false}), 200).await,
        custom,
        "PATCH is_active",
    );
    // The secret cannot be set through PATCH, nor filtered on in a list.
    let r = app
        .patch(&path, json!({"secret": "x".repeat(20)}), 400)
        .await;
    assert_field(&r, "secret");
    let r = app
        .get(&format!("/webhooks?filter=secret eq \"{custom}\""), 400)
        .await;
    assert_eq!(r.error_code(), "invalid_filter");
    let r = app.get("/webhooks?sort=secret", 400).await;
    assert_eq!(r.error_code(), "invalid_sort");

    let r = app
        .post(&format!("{path}/rotate-secret"), json!({}), 200)
        .await;
    let new = r.data()["secret"].as_str().unwrap().to_string();
    assert!(new.starts_with("whsec_"), "{new}");
    assert_ne!(new, custom);
    assert_eq!(r.data()["signature_secret_key"], new.as_str());
    assert!(r.data()["previous_secret_expires_at"].is_string());
    assert_eq!(r.data()["id"], id.as_str());
    assert!(
        !r.text.contains(custom),
        "the old secret is not shown again"
    );
    for (r, what) in [
        (app.get(&path, 200).await, "GET one after rotation"),
        (app.get("/webhooks", 200).await, "list after rotation"),
        (
            app.patch(&path, json!({"name": "again"}), 200).await,
            "PATCH after rotation",
        ),
    ] {
        no_secret(&r, &new, what);
        no_secret(&r, custom, what);
    }
    // Rotating twice gives yet another secret; unknown webhooks are 404.
    let r2 = app
        .post(&format!("{path}/rotate-secret"), json!({}), 200)
        .await;
    assert_ne!(r2.data()["secret"], new.as_str());
    app.post("/webhooks/wh_nope/rotate-secret", json!({}), 404)
        .await;
});

// ---- 6. GET one, ETags, PATCH -------------------------------------------------------------------

backend_test!(get_etag_and_if_match, |app| async move {
    let w = create(app, json!({"url": public("/e"), "events": ["*"]})).await;
    let id = sid(&w);
    let path = format!("/webhooks/{id}");
    let g = app.get(&path, 200).await;
    let tag = g.header("etag").expect("ETag on GET one").to_string();
    assert!(tag.starts_with('"'), "{tag}");
    let mut expected = w.clone();
    let obj = expected.as_object_mut().unwrap();
    obj.remove("secret");
    obj.remove("signature_secret_key");
    assert_eq!(g.data(), &expected, "GET one shows what create showed");
    // Unchanged: the same tag.
    assert_eq!(app.get(&path, 200).await.header("etag"), Some(tag.as_str()));

    // A matching If-Match passes, and the answer carries the new tag.
    let r = app
        .expect(
            app.req(Method::PATCH, &path)
                .header("If-Match", &tag)
                .json(&json!({"name": "first"})),
            200,
        )
        .await;
    let tag2 = r.header("etag").expect("ETag on PATCH").to_string();
    assert_ne!(tag2, tag);
    assert_eq!(
        app.get(&path, 200).await.header("etag"),
        Some(tag2.as_str()),
        "the PATCH answer's tag is the resource's tag"
    );
    // The old tag is stale now.
    let r = app
        .expect(
            app.req(Method::PATCH, &path)
                .header("If-Match", &tag)
                .json(&json!({"name": "second"})),
            412,
        )
        .await;
    assert_eq!(r.error_code(), "precondition_failed");
    let r = app
        .expect(app.req(Method::DELETE, &path).header("If-Match", &tag), 412)
        .await;
    assert_eq!(r.error_code(), "precondition_failed");
    let r = app
        .expect(
            app.req(Method::DELETE, &format!("/webhooks?id={id}"))
                .header("If-Match", &tag),
            412,
        )
        .await;
    assert_eq!(r.error_code(), "precondition_failed");
    assert_eq!(app.get(&path, 200).await.data()["name"], "first");
    // The current tag (and `*`) pass.
    app.expect(
        app.req(Method::PATCH, &path)
            .header("If-Match", "*")
            .json(&json!({"name": "third"})),
        200,
    )
    .await;
    let tag3 = app
        .get(&path, 200)
        .await
        .header("etag")
        .unwrap()
        .to_string();
    app.expect(
        app.req(Method::DELETE, &path).header("If-Match", &tag3),
        204,
    )
    .await;
    app.get(&path, 404).await;
    // Unknown and malformed ids.
    let r = app.get("/webhooks/wh_doesnotexist", 404).await;
    assert_eq!(r.error_code(), "not_found");
    app.get(&format!("/webhooks/{}", uuid::Uuid::now_v7()), 404)
        .await;
    app.patch("/webhooks/wh_doesnotexist", json!({"name": "x"}), 404)
        .await;
});

backend_test!(patch_every_field, |app| async move {
    let b = board(app).await;
    let lead = sid(&app.lead("Patch scope").await);
    let w = create(
        app,
        json!({"url": public("/p1"), "events": ["record.created"]}),
    )
    .await;
    let id = sid(&w);
    let path = format!("/webhooks/{id}");
    assert_eq!(w["name"], "93.184.216.34");

    // url: a default name follows the host.
    let r = app
        .patch(&path, json!({"url": "https://93.184.216.35/p2"}), 200)
        .await;
    assert_eq!(r.data()["url"], "https://93.184.216.35/p2");
    assert_eq!(r.data()["name"], "93.184.216.35");
    // name, trimmed; a chosen name stays when the URL changes.
    let r = app.patch(&path, json!({"name": " Ops "}), 200).await;
    assert_eq!(r.data()["name"], "Ops");
    let r = app.patch(&path, json!({"url": public("/p3")}), 200).await;
    assert_eq!(r.data()["name"], "Ops");
    assert_eq!(r.data()["url"], public("/p3"));
    assert_ne!(r.data()["updated_at"], w["updated_at"]);

    // events, in every form.
    let r = app
        .patch(
            &path,
            json!({"events": ["task:create", "board.*", "task:create"]}),
            200,
        )
        .await;
    assert_eq!(r.data()["events"], json!(["task.created", "pipeline.*"]));
    assert_eq!(r.data()["event"], Value::Null);
    let r = app
        .patch(&path, json!({"event": "contact:update"}), 200)
        .await;
    assert_eq!(r.data()["events"], json!(["contact.updated"]));
    assert_eq!(r.data()["event"], "contact.updated");
    let r = app.patch(&path, json!({"events": ["*"]}), 200).await;
    assert_eq!(r.data()["events"], json!(["*"]));

    // filter: set, checked, cleared.
    let r = app
        .patch(
            &path,
            json!({"events": ["record.created"], "filter": "data.amount gt 500"}),
            200,
        )
        .await;
    let f = r.data()["filter"].as_str().unwrap().to_string();
    assert!(f.contains("data.amount"), "{f}");
    let r = app
        .patch(&path, json!({"filter": "titel eq \"x\""}), 400)
        .await;
    let msg = assert_field(&r, "filter");
    assert!(msg.contains("did you mean 'title'"), "{msg}");
    // A subscription change that leaves the kept filter without a resource is refused.
    let r = app
        .patch(&path, json!({"events": ["note.created"]}), 400)
        .await;
    assert_field(&r, "filter");
    assert_eq!(app.get(&path, 200).await.data()["filter"], f.as_str());
    let r = app.patch(&path, json!({"filter": null}), 200).await;
    assert_eq!(r.data()["filter"], Value::Null);
    let r = app
        .patch(&path, json!({"events": ["note.created"]}), 200)
        .await;
    assert_eq!(r.data()["events"], json!(["note.created"]));
    app.patch(&path, json!({"events": ["record.*"]}), 200).await;

    // scope: set under either name, cleared by null.
    let r = app
        .patch(&path, json!({"pipeline_id": b.pipeline_id}), 200)
        .await;
    assert_eq!(r.data()["pipeline_id"], b.pipeline_id.as_str());
    assert_eq!(r.data()["project_id"], b.pipeline_id.as_str());
    let r = app.patch(&path, json!({"client_id": lead}), 200).await;
    assert_eq!(r.data()["record_id"], lead.as_str());
    assert_eq!(r.data()["client_id"], lead.as_str());
    assert_eq!(r.data()["pipeline_id"], b.pipeline_id.as_str(), "untouched");
    let r = app.patch(&path, json!({"project_id": null}), 200).await;
    assert_eq!(r.data()["pipeline_id"], Value::Null);
    assert_eq!(r.data()["project_id"], Value::Null);
    assert_eq!(r.data()["record_id"], lead.as_str());
    let r = app.patch(&path, json!({"record_id": null}), 200).await;
    assert_eq!(r.data()["record_id"], Value::Null);
    assert_eq!(r.data()["client_id"], Value::Null);
    let ghost = uuid::Uuid::now_v7().to_string();
    assert_field(
        &app.patch(&path, json!({"pipeline_id": ghost}), 400).await,
        "pipeline_id",
    );
    assert_field(
        &app.patch(&path, json!({"record_id": ghost}), 400).await,
        "record_id",
    );
    assert_field(
        &app.patch(
            &path,
            json!({"pipeline_id": b.pipeline_id, "project_id": ghost}),
            400,
        )
        .await,
        "pipeline_id",
    );

    // ordering and rate_limit.
    let r = app
        .patch(
            &path,
            json!({"ordering": "per_resource", "rate_limit": 5}),
            200,
        )
        .await;
    assert_eq!(r.data()["ordering"], "per_resource");
    assert_eq!(r.data()["rate_limit"], 5);
    let r = app.patch(&path, json!({"name": "still"}), 200).await;
    assert_eq!(r.data()["rate_limit"], 5, "untouched fields stay");
    assert_eq!(r.data()["ordering"], "per_resource");
    let r = app
        .patch(&path, json!({"ordering": "none", "rate_limit": null}), 200)
        .await;
    assert_eq!(r.data()["ordering"], "none");
    assert_eq!(r.data()["rate_limit"], Value::Null);
    assert_field(
        &app.patch(&path, json!({"rate_limit": 0}), 400).await,
        "rate_limit",
    );
    assert_field(
        &app.patch(&path, json!({"ordering": "random"}), 400).await,
        "ordering",
    );

    // Other validation.
    for bad in ["", "   ", &"n".repeat(101)] {
        assert_field(&app.patch(&path, json!({"name": bad}), 400).await, "name");
    }
    assert_field(
        &app.patch(&path, json!({"events": []}), 400).await,
        "events",
    );
    assert_field(
        &app.patch(&path, json!({"events": ["nope"]}), 400).await,
        "events",
    );
    assert_field(
        &app.patch(&path, json!({"events": ["*"], "event": "ping"}), 400)
            .await,
        "events",
    );
    assert_field(
        &app.patch(&path, json!({"url": "not a url"}), 400).await,
        "url",
    );
    assert_field(
        &app.patch(&path, json!({"colour": "red"}), 400).await,
        "colour",
    );

    // is_active false, then true; none of the failed PATCHes changed anything.
    let r = app.patch(&path, json!({"is_active": false}), 200).await;
    assert_eq!(r.data()["is_active"], false);
    assert_eq!(r.data()["disabled_reason"], Value::Null);
    let r = app.patch(&path, json!({"is_active": true}), 200).await;
    assert_eq!(r.data()["is_active"], true);
    let g = app.get(&path, 200).await;
    assert_eq!(g.data()["is_active"], true);
    assert_eq!(g.data()["name"], "still");
    assert_eq!(g.data()["events"], json!(["record.*"]));
    assert_eq!(g.data()["url"], public("/p3"));
    assert_eq!(g.data()["filter"], Value::Null);
    // An empty PATCH is a no-op that answers the webhook.
    let r = app.patch(&path, json!({}), 200).await;
    assert_eq!(r.data()["id"], id.as_str());
});

webhook_test!(
    reenabling_resets_failure_count,
    |c: &mut laneway_server::ServerConfig| {
        fast(c);
        c.webhooks.retry_schedule = vec![Duration::ZERO];
        c.webhooks.disable_after = 100;
    },
    |app| async move {
        let rx = Receiver::start().await;
        rx.by_default(Reply::status(500));
        let (id, _) = hook(app, &rx, json!(["record.created"])).await;
        let path = format!("/webhooks/{id}");
        app.post("/records", json!({"type": "lead", "title": "Fails"}), 201)
            .await;
        rx.next().await;
        eventually(app, &format!("{path}/deliveries?status=failed"), |d| {
            d.as_array().unwrap().len() == 1
        })
        .await;
        let w = eventually(app, &path, |w| w["failure_count"].as_u64() > Some(0)).await;
        assert_eq!(w["failure_count"], 1);
        assert_eq!(w["last_status"], 500);
        assert_eq!(w["is_active"], true, "far from the threshold");

        // Pausing keeps the count; enabling again starts the streak over.
        let r = app.patch(&path, json!({"is_active": false}), 200).await;
        assert_eq!(r.data()["is_active"], false);
        assert_eq!(r.data()["failure_count"], 1);
        let r = app.patch(&path, json!({"is_active": true}), 200).await;
        assert_eq!(r.data()["is_active"], true);
        assert_eq!(r.data()["failure_count"], 0);
        assert_eq!(r.data()["disabled_reason"], Value::Null);
        let g = app.get(&path, 200).await;
        assert_eq!(g.data()["failure_count"], 0);

        // `is_active: true` on an active webhook with a streak resets it as well.
        app.post("/records", json!({"type": "lead", "title": "Again"}), 201)
            .await;
        rx.next().await;
        eventually(app, &path, |w| w["failure_count"] == 1).await;
        let r = app.patch(&path, json!({"is_active": true}), 200).await;
        assert_eq!(r.data()["failure_count"], 0);
        assert_eq!(app.get(&path, 200).await.data()["failure_count"], 0);
        rx.quiet_for(Duration::from_millis(300)).await;
    }
);

// ---- 7. delete ----------------------------------------------------------------------------------

backend_test!(delete_in_both_forms, |app| async move {
    let a = sid(&create(app, json!({"url": public("/d1"), "events": ["*"]})).await);
    let b = sid(&create(app, json!({"url": public("/d2"), "events": ["*"]})).await);

    let r = app.delete(&format!("/webhooks/{a}"), 204).await;
    assert!(r.text.is_empty(), "204 has no body: {:?}", r.text);
    app.get(&format!("/webhooks/{a}"), 404).await;
    app.get(&format!("/webhooks/{a}/deliveries"), 404).await;
    let r = app.delete(&format!("/webhooks/{a}"), 404).await;
    assert_eq!(r.error_code(), "not_found");
    app.delete(&format!("/webhooks?id={a}"), 404).await;

    let r = app.delete(&format!("/webhooks?id={b}"), 200).await;
    assert_eq!(r.body["success"], true);
    assert_eq!(r.data(), &json!({"deleted": true, "id": b}));
    app.get(&format!("/webhooks/{b}"), 404).await;
    app.delete(&format!("/webhooks?id={b}"), 404).await;
    app.delete(&format!("/webhooks/{b}"), 404).await;

    let r = app.delete("/webhooks", 400).await;
    assert_field(&r, "id");
    let r = app.delete("/webhooks?id=", 400).await;
    assert_field(&r, "id");
    app.delete("/webhooks?id=wh_unknown", 404).await;
    app.delete("/webhooks/wh_unknown", 404).await;
    assert_eq!(app.get("/webhooks", 200).await.body["meta"]["total"], 0);
});

// ---- 8. list ------------------------------------------------------------------------------------

webhook_test!(list_filter_sort_and_pages, fast, |app| async move {
    let rx = Receiver::start().await;
    // (path, name, active), created in this order.
    let specs = [
        ("/one", "delta", true),
        ("/two-b", "alpha", false),
        ("/three", "echo", true),
        ("/four-B", "charlie", false),
        ("/five", "bravo", true),
    ];
    let mut ids = Vec::new();
    for (p, name, active) in specs {
        let w = create(
            app,
            json!({"url": format!("{}{p}", rx.url), "name": name,
                   "events": ["ping"], "is_active": active}),
        )
        .await;
        ids.push(sid(&w));
    }

    // Offset mode.
    let r = app.get("/webhooks", 200).await;
    assert_eq!(
        r.body["meta"],
        json!({"total": 5, "page": 1, "per_page": 50})
    );
    let all = ids_of(&r);
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(all, expected, "newest first by default");
    let r = app.get("/webhooks?per_page=2&page=3", 200).await;
    assert_eq!(r.body["meta"]["total"], 5);
    assert_eq!(ids_of(&r), [all[4].clone()]);
    app.get("/webhooks?per_page=0", 400).await;

    // Cursor mode: 2 + 2 + 1, every webhook once, in the same order.
    let mut walked = Vec::new();
    let mut q: Vec<(String, String)> = vec![("page[size]".into(), "2".into())];
    let mut pages = 0;
    loop {
        let r = app
            .expect(app.req(Method::GET, "/webhooks").query(&q), 200)
            .await;
        pages += 1;
        assert_eq!(r.body["meta"]["path"], "/api/v1/webhooks");
        assert_eq!(r.body["meta"]["per_page"], 2);
        let got = ids_of(&r);
        assert!(got.len() <= 2);
        walked.extend(got);
        match r.body["meta"]["next_cursor"].as_str() {
            Some(c) => {
                q = vec![
                    ("page[size]".into(), "2".into()),
                    ("page[cursor]".into(), c.to_string()),
                ];
            }
            None => break,
        }
        assert!(pages < 10, "the walk does not end");
    }
    assert_eq!(walked, all);
    assert_eq!(pages, 3);
    // A cursor is bound to its sort; garbage is a 400.
    let r = app.get("/webhooks?page[size]=2", 200).await;
    let c = r.body["meta"]["next_cursor"].as_str().unwrap().to_string();
    get_q(
        app,
        &app.token,
        "/webhooks",
        &[("page[size]", "2"), ("page[cursor]", &c), ("sort", "name")],
        400,
    )
    .await;
    get_q(
        app,
        &app.token,
        "/webhooks",
        &[("page[cursor]", "garbage!!")],
        400,
    )
    .await;

    // Filters.
    let tok = app.token.clone();
    let r = get_q(
        app,
        &tok,
        "/webhooks",
        &[("filter", "is_active eq false")],
        200,
    )
    .await;
    let mut got = ids_of(&r);
    got.sort();
    let mut want = vec![ids[1].clone(), ids[3].clone()];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(r.body["meta"]["total"], 2);
    let r = get_q(
        app,
        &tok,
        "/webhooks",
        &[("filter", "url contains \"b\"")],
        200,
    )
    .await;
    let mut got = ids_of(&r);
    got.sort();
    assert_eq!(got, want, "contains is case-insensitive");
    let r = get_q(
        app,
        &tok,
        "/webhooks",
        &[("filter", "is_active eq true and name startswith \"e\"")],
        200,
    )
    .await;
    assert_eq!(ids_of(&r), [ids[2].clone()]);
    let r = get_q(
        app,
        &tok,
        "/webhooks",
        &[(
            "filter",
            r#"{"field": "name", "op": "in", "value": ["alpha", "bravo"]}"#,
        )],
        200,
    )
    .await;
    assert_eq!(r.body["meta"]["total"], 2);
    let r = get_q(app, &tok, "/webhooks", &[("filter", "nmae eq \"x\"")], 400).await;
    assert_eq!(r.error_code(), "invalid_filter");
    assert!(r.text.contains("did you mean 'name'"), "{}", r.text);

    // Sorts.
    let r = get_q(app, &tok, "/webhooks", &[("sort", "name")], 200).await;
    let names: Vec<String> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["alpha", "bravo", "charlie", "delta", "echo"]);
    let r = get_q(app, &tok, "/webhooks", &[("sort", "-name")], 200).await;
    assert_eq!(r.data()[0]["name"], "echo");
    let r = get_q(app, &tok, "/webhooks", &[("sort", "is_active,name")], 200).await;
    let names: Vec<&str> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "charlie", "bravo", "delta", "echo"]);
    // last_triggered_at: a test send sets it; NULLs first descending, last ascending.
    app.post(&format!("/webhooks/{}/test", ids[2]), json!({}), 200)
        .await;
    rx.next().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    app.post(&format!("/webhooks/{}/test", ids[0]), json!({}), 200)
        .await;
    rx.next().await;
    let w0 = app.get(&format!("/webhooks/{}", ids[0]), 200).await;
    assert!(w0.data()["last_triggered_at"].is_string(), "{}", w0.text);
    let r = get_q(
        app,
        &tok,
        "/webhooks",
        &[("sort", "-last_triggered_at")],
        200,
    )
    .await;
    let got = ids_of(&r);
    assert_eq!(got.len(), 5);
    assert_eq!(&got[3..], [ids[0].clone(), ids[2].clone()], "{}", r.text);
    let r = get_q(
        app,
        &tok,
        "/webhooks",
        &[("sort", "last_triggered_at")],
        200,
    )
    .await;
    let got = ids_of(&r);
    assert_eq!(&got[..2], [ids[2].clone(), ids[0].clone()], "{}", r.text);
    // Cursor pages over a nullable sort still see every webhook once.
    let mut walked = Vec::new();
    let mut q: Vec<(String, String)> = vec![
        ("page[size]".into(), "2".into()),
        ("sort".into(), "-last_triggered_at".into()),
    ];
    for _ in 0..10 {
        let r = app
            .expect(app.req(Method::GET, "/webhooks").query(&q), 200)
            .await;
        walked.extend(ids_of(&r));
        match r.body["meta"]["next_cursor"].as_str() {
            Some(c) => {
                q.truncate(2);
                q.push(("page[cursor]".into(), c.to_string()));
            }
            None => break,
        }
    }
    let full = ids_of(
        &get_q(
            app,
            &tok,
            "/webhooks",
            &[("sort", "-last_triggered_at")],
            200,
        )
        .await,
    );
    assert_eq!(walked, full);
    // Unknown and unsortable fields.
    for bad in ["colour", "-secret", "failure_count", "url,bogus"] {
        let r = get_q(app, &tok, "/webhooks", &[("sort", bad)], 400).await;
        assert_eq!(r.error_code(), "invalid_sort", "{bad}");
    }
    let r = get_q(app, &tok, "/webhooks", &[("sort", "colour")], 400).await;
    assert!(
        r.text.contains("name"),
        "lists the allowed fields: {}",
        r.text
    );

    // Another workspace sees none of them.
    let other = app.other_workspace().await;
    let r = get_q(app, &other, "/webhooks", &[], 200).await;
    assert_eq!(r.body["meta"]["total"], 0);
    assert_eq!(r.data(), &json!([]));
    let id = &ids[0];
    for (m, p) in [
        (Method::GET, format!("/webhooks/{id}")),
        (Method::PATCH, format!("/webhooks/{id}")),
        (Method::DELETE, format!("/webhooks/{id}")),
        (Method::DELETE, format!("/webhooks?id={id}")),
        (Method::POST, format!("/webhooks/{id}/rotate-secret")),
        (Method::POST, format!("/webhooks/{id}/test")),
        (Method::GET, format!("/webhooks/{id}/deliveries")),
    ] {
        let body = if m == Method::PATCH {
            json!({"name": "taken over"})
        } else {
            json!({})
        };
        let r = app
            .send(app.req_as(&other, m.clone(), &p).json(&body))
            .await;
        assert_eq!(
            r.status.as_u16(),
            404,
            "{m} {p} from another workspace: {}",
            r.text
        );
    }
    rx.quiet_for(Duration::from_millis(200)).await;
    let g = app.get(&format!("/webhooks/{id}"), 200).await;
    assert_eq!(g.data()["name"], "delta");
    assert_eq!(app.get("/webhooks", 200).await.body["meta"]["total"], 5);
});

// ---- 9. the admin scope -------------------------------------------------------------------------

backend_test!(every_route_needs_admin, |app| async move {
    let w = create(app, json!({"url": public("/admin"), "events": ["*"]})).await;
    let id = sid(&w);
    let d = uuid::Uuid::now_v7();
    let routes: Vec<(Method, String, Value)> = vec![
        (Method::GET, "/webhooks".into(), json!(null)),
        (
            Method::POST,
            "/webhooks".into(),
            json!({"url": public("/x"), "events": ["*"]}),
        ),
        (Method::DELETE, format!("/webhooks?id={id}"), json!(null)),
        (Method::GET, format!("/webhooks/{id}"), json!(null)),
        (
            Method::PATCH,
            format!("/webhooks/{id}"),
            json!({"name": "x"}),
        ),
        (Method::DELETE, format!("/webhooks/{id}"), json!(null)),
        (
            Method::POST,
            format!("/webhooks/{id}/rotate-secret"),
            json!({}),
        ),
        (Method::POST, format!("/webhooks/{id}/test"), json!({})),
        (
            Method::GET,
            format!("/webhooks/{id}/deliveries"),
            json!(null),
        ),
        (
            Method::GET,
            format!("/webhooks/{id}/deliveries/{d}"),
            json!(null),
        ),
        (
            Method::POST,
            format!("/webhooks/{id}/deliveries/{d}/redeliver"),
            json!({}),
        ),
        (
            Method::POST,
            format!("/webhooks/{id}/recover"),
            json!({"since": "2000-01-01T00:00:00Z"}),
        ),
    ];
    for scope in ["read", "write"] {
        let token = app.key(scope).await;
        for (m, p, body) in &routes {
            let mut rb = app.req_as(&token, m.clone(), p);
            if !body.is_null() {
                rb = rb.json(body);
            }
            let r = app.send(rb).await;
            assert_eq!(r.status.as_u16(), 403, "{scope} key on {m} {p}: {}", r.text);
            assert_eq!(r.error_code(), "forbidden", "{m} {p}");
        }
    }
    // Nothing changed.
    let g = app.get(&format!("/webhooks/{id}"), 200).await;
    assert_eq!(g.data()["name"], w["name"]);
    assert_eq!(app.get("/webhooks", 200).await.body["meta"]["total"], 1);
    // An admin key that is not the bootstrap one works.
    let admin = app.key("admin").await;
    app.expect(app.req_as(&admin, Method::GET, "/webhooks"), 200)
        .await;
});

// ---- 10. delivery filtering by scope and filter -------------------------------------------------

webhook_test!(pipeline_scope_filters_deliveries, fast, |app| async move {
    let b = board(app).await;
    let loose = app
        .post("/records", json!({"type": "lead", "title": "Loose"}), 201)
        .await
        .data()
        .clone();
    assert_eq!(loose["pipeline_id"], Value::Null, "a record on no pipeline");
    let rx = Receiver::start().await;
    let w = create(
        app,
        json!({"url": rx.url, "events": ["record.created", "task.created"],
               "pipeline_id": b.pipeline_id}),
    )
    .await;
    let id = sid(&w);

    app.post("/records", json!({"type": "lead", "title": "Loose 2"}), 201)
        .await;
    let on = app.lead("On board").await;
    app.post(
        "/records/tasks",
        json!({"title": "Task on loose", "record_id": sid(&loose)}),
        201,
    )
    .await;
    app.post("/records/tasks", json!({"title": "Task alone"}), 201)
        .await;
    app.post(
        "/records/tasks",
        json!({"title": "Task on board", "record_id": sid(&on)}),
        201,
    )
    .await;

    let hits = rx.take(2).await;
    rx.quiet_for(Duration::from_millis(500)).await;
    let mut got: Vec<(String, String)> = hits
        .iter()
        .map(|h| {
            (
                h.event(),
                h.json()["data"]["title"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("record.created".to_string(), "On board".to_string()),
            ("task.created".to_string(), "Task on board".to_string()),
        ]
    );
    let ds = eventually(app, &format!("/webhooks/{id}/deliveries"), |d| {
        d.as_array()
            .unwrap()
            .iter()
            .all(|x| x["status"] == "succeeded")
    })
    .await;
    assert_eq!(ds.as_array().unwrap().len(), 2);
});

webhook_test!(record_scope_filters_deliveries, fast, |app| async move {
    let r1 = sid(&app.lead("Mine").await);
    let r2 = sid(&app.lead("Theirs").await);
    let rx = Receiver::start().await;
    // The Kanbert name of the scope.
    let w = create(
        app,
        json!({"url": rx.url, "events": ["record.*", "task.*"], "client_id": r1}),
    )
    .await;
    assert_eq!(w["record_id"], r1.as_str());

    app.patch(&format!("/records/{r2}"), json!({"title": "Theirs 2"}), 200)
        .await;
    app.patch(&format!("/records/{r1}"), json!({"title": "Mine 2"}), 200)
        .await;
    app.post(
        "/records/tasks",
        json!({"title": "Not mine", "record_id": r2}),
        201,
    )
    .await;
    app.post("/records/tasks", json!({"title": "Nobody's"}), 201)
        .await;
    let t = app
        .post(
            "/records/tasks",
            json!({"title": "My task", "record_id": r1}),
            201,
        )
        .await;
    let tid = sid(t.data());
    app.patch(
        &format!("/records/tasks/{tid}"),
        json!({"title": "My task 2"}),
        200,
    )
    .await;

    let mut hits = rx.take(3).await;
    hits.extend(drain(&rx, Duration::from_millis(500)).await);
    let mut seen: Vec<String> = Vec::new();
    for h in &hits {
        let body = h.json();
        let data = &body["data"];
        let about = if h.event().starts_with("task.") {
            data["record_id"].clone()
        } else {
            data["id"].clone()
        };
        assert_eq!(
            about,
            r1.as_str(),
            "only events about the record: {}",
            h.body
        );
        seen.push(h.event());
    }
    for e in ["record.updated", "task.created", "task.updated"] {
        assert!(seen.iter().any(|s| s == e), "{e} delivered: {seen:?}");
    }
});

webhook_test!(
    filter_expression_filters_deliveries,
    fast,
    |app| async move {
        let rx = Receiver::start().await;
        let w = create(
            app,
            json!({"url": rx.url, "events": ["record.created"],
               "filter": "object_type.slug eq \"lead\" and data.amount gt 500"}),
        )
        .await;
        let id = sid(&w);
        for (ty, title, data) in [
            ("lead", "big lead", json!({"amount": 1000})),
            ("lead", "small lead", json!({"amount": 100})),
            ("job", "big job", json!({"amount": 1000})),
            ("lead", "no amount", json!({})),
            ("lead", "text amount", json!({"amount": "lots"})),
            ("lead", "edge lead", json!({"amount": 500})),
            ("lead", "just over", json!({"amount": 500.5})),
        ] {
            app.post(
                "/records",
                json!({"type": ty, "title": title, "data": data}),
                201,
            )
            .await;
        }
        let hits = rx.take(2).await;
        rx.quiet_for(Duration::from_millis(500)).await;
        let mut titles: Vec<String> = hits
            .iter()
            .map(|h| h.json()["data"]["title"].as_str().unwrap().to_string())
            .collect();
        titles.sort();
        assert_eq!(titles, ["big lead", "just over"]);
        assert!(hits.iter().all(|h| h.event() == "record.created"));

        // Changing the filter applies to later events.
        app.patch(
            &format!("/webhooks/{id}"),
            json!({"filter": "title contains \"VIP\""}),
            200,
        )
        .await;
        for t in ["VIP customer", "ordinary"] {
            app.post("/records", json!({"type": "job", "title": t}), 201)
                .await;
        }
        let h = rx.next().await;
        assert_eq!(h.json()["data"]["title"], "VIP customer");
        rx.quiet_for(Duration::from_millis(500)).await;
        let list = app.get(&format!("/webhooks/{id}/deliveries"), 200).await;
        assert_eq!(list.body["meta"]["total"], 3);
    }
);

// ---- 11. the delivery history's parameters and errors ------------------------------------------

webhook_test!(deliveries_list_and_errors, fast, |app| async move {
    let rx = Receiver::start().await;
    let (id, _) = hook(app, &rx, json!(["record.*"])).await;
    let rec = sid(&app
        .post("/records", json!({"type": "lead", "title": "D"}), 201)
        .await
        .data()
        .clone());
    app.patch(&format!("/records/{rec}"), json!({"title": "D2"}), 200)
        .await;
    rx.take(2).await;
    let base = format!("/webhooks/{id}/deliveries");
    eventually(app, &format!("{base}?status=succeeded"), |d| {
        d.as_array().unwrap().len() == 2
    })
    .await;
    let tok = app.token.clone();
    let r = get_q(app, &tok, &base, &[("status", "failed")], 200).await;
    assert_eq!(r.data(), &json!([]));
    assert_eq!(r.body["meta"]["total"], 0);
    let r = get_q(app, &tok, &base, &[("status", "bogus")], 400).await;
    assert_eq!(r.error_code(), "invalid_parameter");
    assert!(
        r.text.contains("succeeded"),
        "lists the statuses: {}",
        r.text
    );
    let r = get_q(
        app,
        &tok,
        &base,
        &[("filter", "event eq \"record.created\"")],
        200,
    )
    .await;
    let ds = r.data().as_array().unwrap().clone();
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0]["event"], "record.created");
    assert_eq!(ds[0]["webhook_id"], id.as_str());
    let created = ds[0]["id"].as_str().unwrap().to_string();
    let r = get_q(
        app,
        &tok,
        &base,
        &[
            ("filter", "status eq \"succeeded\""),
            ("status", "succeeded"),
        ],
        200,
    )
    .await;
    assert_eq!(r.body["meta"]["total"], 2);
    // Newest first.
    let r = app.get(&base, 200).await;
    let events: Vec<&str> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["record.updated", "record.created"]);
    let r = get_q(app, &tok, &base, &[("filter", "colour eq 1")], 400).await;
    assert_eq!(r.error_code(), "invalid_filter");
    let r = get_q(app, &tok, &base, &[("sort", "colour")], 400).await;
    assert_eq!(r.error_code(), "invalid_sort");
    let r = get_q(app, &tok, &base, &[("page[size]", "1")], 200).await;
    assert_eq!(r.data().as_array().unwrap().len(), 1);
    assert!(r.body["meta"]["next_cursor"].is_string());

    // One delivery; unknown and malformed ids.
    let one = app.get(&format!("{base}/{created}"), 200).await;
    assert_eq!(one.data()["event"], "record.created");
    assert!(one.data()["payload"].is_object());
    let ghost = uuid::Uuid::now_v7();
    let r = app.get(&format!("{base}/{ghost}"), 404).await;
    assert_eq!(r.error_code(), "not_found");
    app.get(&format!("{base}/not-a-uuid"), 404).await;
    app.get(&format!("{base}/12345"), 404).await;
    let r = app
        .post(&format!("{base}/{ghost}/redeliver"), json!({}), 404)
        .await;
    assert_eq!(r.error_code(), "not_found");
    app.post(&format!("{base}/not-a-uuid/redeliver"), json!({}), 404)
        .await;
    // A delivery id of another webhook is not found under this one.
    let rx2 = Receiver::start().await;
    let (other, _) = hook(app, &rx2, json!(["ping"])).await;
    app.get(&format!("/webhooks/{other}/deliveries/{created}"), 404)
        .await;
    app.post(
        &format!("/webhooks/{other}/deliveries/{created}/redeliver"),
        json!({}),
        404,
    )
    .await;
    // Unknown webhooks.
    app.get("/webhooks/wh_nope/deliveries", 404).await;
    app.get(&format!("/webhooks/wh_nope/deliveries/{created}"), 404)
        .await;
    app.post(
        "/webhooks/wh_nope/recover",
        json!({"since": "2000-01-01T00:00:00Z"}),
        404,
    )
    .await;
    app.post("/webhooks/wh_nope/test", json!({}), 404).await;

    // Recover: `since` must be an RFC 3339 time.
    let rec_path = format!("/webhooks/{id}/recover");
    for bad in ["yesterday", "2026-13-01T00:00:00Z", "", "1700000000"] {
        let r = app.post(&rec_path, json!({"since": bad}), 400).await;
        assert_field(&r, "since");
    }
    let r = app.post(&rec_path, json!({}), 400).await;
    assert_eq!(r.body["details"]["field"], "since");
    let r = app
        .post(&rec_path, json!({"since": "2000-01-01T00:00:00Z"}), 200)
        .await;
    assert_eq!(r.data()["recovered"], 0, "nothing failed");

    // A deleted webhook's history is gone with it.
    app.delete(&format!("/webhooks/{id}"), 204).await;
    app.get(&base, 404).await;
    app.get(&format!("{base}/{created}"), 404).await;
    app.post(&format!("{base}/{created}/redeliver"), json!({}), 404)
        .await;
    rx.quiet_for(Duration::from_millis(200)).await;
});

// ---- races and equivalent URLs -----------------------------------------------------------------

/// Sends all the creates at once; returns (status, body text) of each.
async fn create_all_at_once(app: &TestApp, bodies: Vec<Value>) -> Vec<(u16, Value)> {
    let mut set = tokio::task::JoinSet::new();
    for b in bodies {
        let rb = app.req(Method::POST, "/webhooks").json(&b);
        set.spawn(async move {
            let r = rb.send().await.expect("request sent");
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            (status, body)
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.expect("task"));
    }
    out
}

/// Rounds of 8 simultaneous creates against a limit of 2; every round must end with at most 2
/// webhooks and as many 201s as webhooks.
async fn limit_holds_under_concurrency(app: &TestApp) {
    for round in 0..6 {
        let bodies = (0..8)
            .map(|i| json!({"url": public(&format!("/race/{round}/{i}")), "events": ["*"]}))
            .collect();
        let answers = create_all_at_once(app, bodies).await;
        let codes: Vec<u16> = answers.iter().map(|(c, _)| *c).collect();
        assert!(
            codes.iter().all(|c| *c == 201 || *c == 403),
            "round {round}: only 201 or 403: {answers:?}"
        );
        let list = app.get("/webhooks?per_page=100", 200).await;
        let total = list.body["meta"]["total"].as_u64().unwrap();
        assert_eq!(
            codes.iter().filter(|c| **c == 201).count() as u64,
            total,
            "round {round}: {codes:?}"
        );
        assert!(
            total <= 2,
            "round {round}: the limit of 2 holds under concurrency: {total} webhooks, {codes:?}"
        );
        for id in ids_of(&list) {
            app.delete(&format!("/webhooks/{id}"), 204).await;
        }
    }
}

fn limit_of_two(c: &mut laneway_server::ServerConfig) {
    c.webhooks.max_webhooks = 2;
}

mod concurrent_creates_respect_the_limit {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let app = TestApp::spawn_with(Backend::Sqlite, limit_of_two)
            .await
            .unwrap();
        limit_holds_under_concurrency(&app).await;
        app.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(app) = TestApp::spawn_with(Backend::Postgres, limit_of_two).await else {
            return;
        };
        limit_holds_under_concurrency(&app).await;
        app.stop().await;
    }
}

backend_test!(concurrent_creates_of_one_url, |app| async move {
    let bodies = (0..6)
        .map(|i| json!({"url": public("/same"), "events": ["*"], "name": format!("n{i}")}))
        .collect();
    let answers = create_all_at_once(app, bodies).await;
    let mut codes: Vec<u16> = answers.iter().map(|(c, _)| *c).collect();
    codes.sort();
    assert_eq!(codes, [201, 409, 409, 409, 409, 409], "{answers:?}");
    for (_, b) in answers.iter().filter(|(c, _)| *c == 409) {
        assert_eq!(b["code"], "conflict", "{b}");
        assert_eq!(b["details"]["field"], "url", "{b}");
    }
    assert_eq!(app.get("/webhooks", 200).await.body["meta"]["total"], 1);
});

// Registering an endpoint again under an equivalent spelling of its URL (padded, upper-case
// scheme or host, explicit default port, dot segments) is the same URL: 409 (or 400 for the
// padded ones), on create and on PATCH.
backend_test!(equivalent_urls_are_duplicates, |app| async move {
    create(app, json!({"url": public("/a"), "events": ["*"]})).await;
    let b = sid(&create(app, json!({"url": public("/b"), "events": ["*"]})).await);
    let variants = [
        (" https://93.184.216.34/a", &[400u16, 409][..]),
        ("https://93.184.216.34/a ", &[400, 409][..]),
        ("HTTPS://93.184.216.34/a", &[409][..]),
        ("https://93.184.216.34:443/a", &[409][..]),
        ("https://93.184.216.34/./a", &[409][..]),
        ("https://93.184.216.34/x/../a", &[409][..]),
    ];
    for (v, codes) in variants {
        let r = app
            .send(
                app.req(Method::POST, "/webhooks")
                    .json(&json!({"url": v, "events": ["*"]})),
            )
            .await;
        assert!(
            codes.contains(&r.status.as_u16()),
            "create {v:?} is the same endpoint as {}: got {} {}",
            public("/a"),
            r.status,
            r.text
        );
        let r = app
            .send(
                app.req(Method::PATCH, &format!("/webhooks/{b}"))
                    .json(&json!({"url": v})),
            )
            .await;
        assert!(
            codes.contains(&r.status.as_u16()),
            "PATCH to {v:?} is the same endpoint as {}: got {} {}",
            public("/a"),
            r.status,
            r.text
        );
    }
    let r = app.get("/webhooks", 200).await;
    assert_eq!(r.body["meta"]["total"], 2, "{}", r.text);
    let urls: Vec<&str> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["url"].as_str().unwrap())
        .collect();
    assert!(urls.contains(&public("/b").as_str()), "{urls:?}");
    // An equivalent spelling of a webhook's own URL is no conflict with itself.
    app.patch(
        &format!("/webhooks/{b}"),
        json!({"url": "HTTPS://93.184.216.34:443/b"}),
        200,
    )
    .await;
});

webhook_test!(
    created_inactive_keeps_deliveries_paused,
    fast,
    |app| async move {
        let rx = Receiver::start().await;
        let w = create(
            app,
            json!({"url": rx.url, "events": ["record.created"], "is_active": false}),
        )
        .await;
        let id = sid(&w);
        app.post(
            "/records",
            json!({"type": "lead", "title": "While off"}),
            201,
        )
        .await;
        eventually(
            app,
            &format!("/webhooks/{id}/deliveries?status=paused"),
            |d| d.as_array().unwrap().len() == 1,
        )
        .await;
        rx.quiet_for(Duration::from_millis(300)).await;
        app.patch(&format!("/webhooks/{id}"), json!({"is_active": true}), 200)
            .await;
        let h = rx.next().await;
        assert_eq!(h.json()["data"]["title"], "While off");
        eventually(
            app,
            &format!("/webhooks/{id}/deliveries?status=succeeded"),
            |d| d.as_array().unwrap().len() == 1,
        )
        .await;
        rx.quiet_for(Duration::from_millis(300)).await;
    }
);
