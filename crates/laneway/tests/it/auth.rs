//! Authentication, scopes and workspace isolation (spec §2 "Auth", §3 `GET /me`).

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_test;
use crate::support::{Resp, TestApp};

fn assert_unauthorized(r: &Resp, what: &str) {
    assert_eq!(r.status.as_u16(), 401, "{what}: body {}", r.text);
    assert_eq!(r.error_code(), "unauthorized", "{what}");
    assert!(
        r.header("x-request-id").is_some(),
        "{what}: no X-Request-Id"
    );
    assert!(
        r.body.get("data").is_none(),
        "{what}: an error carries no data"
    );
}

fn assert_forbidden(r: &Resp, what: &str) {
    assert_eq!(r.status.as_u16(), 403, "{what}: body {}", r.text);
    assert_eq!(r.error_code(), "forbidden", "{what}");
}

fn assert_not_found(r: &Resp, what: &str) {
    assert_eq!(r.status.as_u16(), 404, "{what}: body {}", r.text);
    assert_eq!(r.error_code(), "not_found", "{what}");
}

/// Sends a JSON body as `token`.
async fn send_as(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> Resp {
    app.send(app.req_as(token, method, path).json(&body)).await
}

async fn get_as(app: &TestApp, token: &str, path: &str) -> Resp {
    app.send(app.req_as(token, Method::GET, path)).await
}

async fn delete_as(app: &TestApp, token: &str, path: &str) -> Resp {
    app.send(app.req_as(token, Method::DELETE, path)).await
}

backend_test!(missing_and_malformed_headers_are_401, |app| async move {
    // No header at all, on a read and on a write route.
    let r = app.send(app.client.get(app.url("/me"))).await;
    assert_unauthorized(&r, "no header");
    let r = app
        .send(
            app.client
                .post(app.url("/records"))
                .json(&json!({"type": "lead"})),
        )
        .await;
    assert_unauthorized(&r, "no header on POST");

    let malformed = [
        "Basic x".to_string(),
        format!("Basic {}", app.token),
        "Bearer".to_string(),
        "Bearer ".to_string(),
        "Bearer    ".to_string(),
        app.token.clone(),
        format!("Token {}", app.token),
        "Bearer not-a-laneway-key".to_string(),
        format!("Bearer {}", "lw_live_".to_string() + &"a".repeat(500)),
    ];
    for h in &malformed {
        let r = app
            .send(app.client.get(app.url("/me")).header("Authorization", h))
            .await;
        assert_unauthorized(&r, &format!("header {h:?}"));
    }
    // Non-ASCII bytes in the header value.
    let r = app
        .send(app.client.get(app.url("/me")).header(
            "Authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer lw_live_\xff\xfe").unwrap(),
        ))
        .await;
    assert_unauthorized(&r, "non-ascii header");

    // No record was created by the unauthenticated POST.
    let list = app.get("/records", 200).await;
    assert_eq!(list.body["meta"]["total"], 0);
    // The scheme is case-insensitive: a correct key still works in lowercase 'bearer'.
    let ok = app
        .send(
            app.client
                .get(app.url("/me"))
                .header("Authorization", format!("bearer {}", app.token)),
        )
        .await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.text);
});

backend_test!(unknown_and_revoked_keys_are_401, |app| async move {
    // Well-formed but unknown: same prefix and length as a real one.
    let unknown = format!("lw_live_{}", "Z".repeat(40));
    let r = get_as(app, &unknown, "/me").await;
    assert_unauthorized(&r, "unknown key");
    // A real key with one character changed.
    let mut altered = app.token.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == 'a' { 'b' } else { 'a' });
    let r = get_as(app, &altered, "/me").await;
    assert_unauthorized(&r, "altered key");

    let created = app
        .post(
            "/keys",
            json!({"name": "short-lived", "scope": "write"}),
            201,
        )
        .await;
    let token = created.data()["token"].as_str().unwrap().to_string();
    let id = created.data()["id"].as_str().unwrap().to_string();
    let r = get_as(app, &token, "/me").await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    app.delete(&format!("/keys/{id}"), 200).await;
    for (m, p) in [
        (Method::GET, "/me"),
        (Method::GET, "/records"),
        (Method::POST, "/records"),
    ] {
        let r = send_as(app, &token, m.clone(), p, json!({"type": "lead"})).await;
        assert_unauthorized(&r, &format!("revoked key {m} {p}"));
    }
    assert_eq!(app.get("/records", 200).await.body["meta"]["total"], 0);
});

backend_test!(read_key_reads_but_cannot_write, |app| async move {
    let read = app.key("read").await;
    let lead = app.lead("Readable").await;
    let id = lead["id"].as_str().unwrap();
    let task = app
        .post(
            "/records/tasks",
            json!({"title": "t", "record_id": id}),
            201,
        )
        .await;
    let tid = task.data()["id"].as_str().unwrap();

    for path in [
        "/me".to_string(),
        "/records".to_string(),
        format!("/records/{id}"),
        format!("/records/{id}/activity"),
        "/records/tasks".to_string(),
        format!("/records/tasks/{tid}"),
        "/schema".to_string(),
        "/members".to_string(),
        "/events".to_string(),
    ] {
        let r = get_as(app, &read, &path).await;
        assert_eq!(r.status.as_u16(), 200, "GET {path}: {}", r.text);
        assert_eq!(r.body["success"], true);
    }

    let r = send_as(
        app,
        &read,
        Method::POST,
        "/records",
        json!({"type": "lead"}),
    )
    .await;
    assert_forbidden(&r, "read POST /records");
    let r = send_as(
        app,
        &read,
        Method::PATCH,
        &format!("/records/{id}"),
        json!({"title": "Hijacked"}),
    )
    .await;
    assert_forbidden(&r, "read PATCH /records/:id");
    let r = delete_as(app, &read, &format!("/records/{id}")).await;
    assert_forbidden(&r, "read DELETE /records/:id");
    let r = send_as(
        app,
        &read,
        Method::POST,
        "/records/tasks",
        json!({"title": "x"}),
    )
    .await;
    assert_forbidden(&r, "read POST /records/tasks");
    let r = send_as(
        app,
        &read,
        Method::PATCH,
        &format!("/records/tasks/{tid}"),
        json!({"completed": true}),
    )
    .await;
    assert_forbidden(&r, "read PATCH task");
    let r = delete_as(app, &read, &format!("/records/tasks/{tid}")).await;
    assert_forbidden(&r, "read DELETE task");
    // Admin-only routes are forbidden too (not hidden as 404).
    let r = get_as(app, &read, "/keys").await;
    assert_forbidden(&r, "read GET /keys");

    // Nothing changed.
    let g = app.get(&format!("/records/{id}"), 200).await;
    assert_eq!(g.data()["title"], "Readable");
    assert_eq!(app.get("/records", 200).await.body["meta"]["total"], 1);
    let t = app.get(&format!("/records/tasks/{tid}"), 200).await;
    assert_eq!(t.data()["completed"], false);
    // The 403s stored no events: only record.created, stage_changed and task.created.
    let names: Vec<String> = app.events().await.into_iter().map(|e| e.0).collect();
    assert_eq!(
        names,
        ["record.created", "pipeline.stage_changed", "task.created"]
    );
});

backend_test!(
    write_key_writes_content_but_not_schema_members_keys,
    |app| async move {
        let write = app.key("write").await;
        // Content writes succeed.
        let r = send_as(
            app,
            &write,
            Method::POST,
            "/records",
            json!({"type": "lead", "title": "W", "pipeline": "main-sales"}),
        )
        .await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.text);
        let id = r.data()["id"].as_str().unwrap().to_string();
        let r = send_as(
            app,
            &write,
            Method::PATCH,
            &format!("/records/{id}"),
            json!({"title": "W2"}),
        )
        .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text);
        assert_eq!(r.data()["title"], "W2");
        let r = send_as(
            app,
            &write,
            Method::POST,
            "/records/tasks",
            json!({"title": "call", "record_id": id}),
        )
        .await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.text);
        let tid = r.data()["id"].as_str().unwrap().to_string();
        let r = send_as(
            app,
            &write,
            Method::PATCH,
            &format!("/records/tasks/{tid}"),
            json!({"completed": true}),
        )
        .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text);
        let r = delete_as(app, &write, &format!("/records/tasks/{tid}")).await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text);
        let r = delete_as(app, &write, &format!("/records/{id}")).await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text);

        // Schema, members and keys need admin.
        let schema = app.get("/schema", 200).await;
        let lead_type = schema.data()["object_types"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let pipeline = schema.data()["pipelines"][0].clone();
        let pid = pipeline["id"].as_str().unwrap().to_string();
        let sid = pipeline["stages"][0]["id"].as_str().unwrap().to_string();
        let me = app.get("/me", 200).await;
        let owner = me.data()["member"]["id"].as_str().unwrap().to_string();
        let key_id = me.data()["key_id"].as_str().unwrap().to_string();

        let attempts: Vec<(Method, String, Value)> = vec![
            (
                Method::POST,
                "/schema/object-types".into(),
                json!({"name": "Boat"}),
            ),
            (
                Method::PATCH,
                format!("/schema/object-types/{lead_type}"),
                json!({"name": "Prospect"}),
            ),
            (
                Method::DELETE,
                format!("/schema/object-types/{lead_type}"),
                json!({}),
            ),
            (
                Method::POST,
                "/schema/pipelines".into(),
                json!({"name": "Hiring", "stages": [{"name": "Applied"}]}),
            ),
            (
                Method::PATCH,
                format!("/schema/pipelines/{pid}"),
                json!({"name": "Renamed"}),
            ),
            (
                Method::DELETE,
                format!("/schema/pipelines/{pid}"),
                json!({}),
            ),
            (
                Method::POST,
                format!("/schema/pipelines/{pid}/stages"),
                json!({"name": "Lost"}),
            ),
            (
                Method::PATCH,
                format!("/schema/stages/{sid}"),
                json!({"name": "Fresh"}),
            ),
            (Method::DELETE, format!("/schema/stages/{sid}"), json!({})),
            (
                Method::POST,
                "/members".into(),
                json!({"name": "Eve", "email": "eve@example.com"}),
            ),
            (
                Method::PATCH,
                format!("/members/{owner}"),
                json!({"name": "Mallory"}),
            ),
            (Method::DELETE, format!("/members/{owner}"), json!({})),
            (Method::GET, "/keys".into(), json!({})),
            (Method::GET, format!("/keys/{key_id}"), json!({})),
            (
                Method::POST,
                "/keys".into(),
                json!({"name": "escalate", "scope": "admin"}),
            ),
            (Method::DELETE, format!("/keys/{key_id}"), json!({})),
        ];
        for (m, p, body) in attempts {
            let rb = app.req_as(&write, m.clone(), &p);
            let rb = if m == Method::GET || m == Method::DELETE {
                rb
            } else {
                rb.json(&body)
            };
            let r = app.send(rb).await;
            assert_forbidden(&r, &format!("write {m} {p}"));
        }

        // None of it happened.
        let after = app.get("/schema", 200).await;
        assert_eq!(after.data(), schema.data());
        assert_eq!(app.get("/members", 200).await.body["meta"]["total"], 1);
        let keys = app.get("/keys", 200).await;
        assert_eq!(keys.body["meta"]["total"], 2, "bootstrap key + write key");
        assert!(keys
            .data()
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["revoked_at"].is_null()));
        // The write key can still read.
        let r = get_as(app, &write, "/schema").await;
        assert_eq!(r.status.as_u16(), 200);
    }
);

backend_test!(admin_key_can_do_everything, |app| async move {
    let admin = app.key("admin").await;
    let r = send_as(
        app,
        &admin,
        Method::POST,
        "/schema/object-types",
        json!({"name": "Boat"}),
    )
    .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let r = send_as(
        app,
        &admin,
        Method::POST,
        "/schema/pipelines",
        json!({"name": "Hiring", "stages": [{"name": "Applied"}]}),
    )
    .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let r = send_as(
        app,
        &admin,
        Method::POST,
        "/members",
        json!({"name": "Ann", "email": "ann@example.com"}),
    )
    .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let r = send_as(app, &admin, Method::POST, "/keys", json!({"scope": "read"})).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let kid = r.data()["id"].as_str().unwrap().to_string();
    let r = get_as(app, &admin, "/keys").await;
    assert_eq!(r.status.as_u16(), 200);
    let r = delete_as(app, &admin, &format!("/keys/{kid}")).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let r = send_as(
        app,
        &admin,
        Method::POST,
        "/records",
        json!({"type": "boat", "pipeline": "hiring"}),
    )
    .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let rid = r.data()["id"].as_str().unwrap().to_string();
    let r = delete_as(app, &admin, &format!("/records/{rid}")).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let me = get_as(app, &admin, "/me").await;
    assert_eq!(me.data()["scope"], "admin");
});

backend_test!(get_me_describes_the_caller, |app| async move {
    let me = app.get("/me", 200).await;
    let d = me.data();
    assert_eq!(me.body["success"], true);
    assert_eq!(d["scope"], "admin");
    let m = &d["member"];
    assert!(laneway_core::ids::parse_uuid(m["id"].as_str().unwrap()).is_some());
    assert_eq!(m["role"], "owner");
    assert_eq!(m["email"], "owner@laneway.local");
    assert!(m["name"].is_string());
    let ws = &d["workspace"];
    assert!(ws["id"].as_str().unwrap().starts_with("ws_"), "{ws}");
    assert_eq!(ws["name"], "Default");
    assert_eq!(ws["time_zone"], "UTC");
    assert_eq!(
        ws.as_object().unwrap().len(),
        3,
        "exactly id, name, time_zone: {ws}"
    );

    // A read key of another member reports that member and its scope.
    let ann = app
        .post(
            "/members",
            json!({"name": "Ann", "email": "ann@example.com"}),
            201,
        )
        .await;
    let ann_id = ann.data()["id"].as_str().unwrap().to_string();
    let k = app
        .post("/keys", json!({"scope": "read", "member_id": ann_id}), 201)
        .await;
    let token = k.data()["token"].as_str().unwrap();
    let r = get_as(app, token, "/me").await;
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(r.data()["scope"], "read");
    assert_eq!(r.data()["member"]["id"], ann_id.as_str());
    assert_eq!(r.data()["member"]["role"], "member");
    assert_eq!(r.data()["workspace"], *ws);

    // Another workspace's key sees its own workspace.
    let other = app.other_workspace().await;
    let r = get_as(app, &other, "/me").await;
    assert_eq!(r.status.as_u16(), 200);
    assert_ne!(r.data()["workspace"]["id"], ws["id"]);
    assert_eq!(r.data()["workspace"]["name"], "Other");
});

backend_test!(workspaces_are_isolated, |app| async move {
    // Workspace A (the app's own) has one of everything.
    let lead = app.lead("A secret").await;
    let rid = lead["id"].as_str().unwrap().to_string();
    let task = app
        .post(
            "/records/tasks",
            json!({"title": "A task", "record_id": rid}),
            201,
        )
        .await;
    let tid = task.data()["id"].as_str().unwrap().to_string();
    let member = app
        .post(
            "/members",
            json!({"name": "A member", "email": "a@example.com"}),
            201,
        )
        .await;
    let mid = member.data()["id"].as_str().unwrap().to_string();
    let key = app.post("/keys", json!({"scope": "read"}), 201).await;
    let kid = key.data()["id"].as_str().unwrap().to_string();
    let ot = app
        .post("/schema/object-types", json!({"name": "Secret Thing"}), 201)
        .await;
    let otid = ot.data()["id"].as_str().unwrap().to_string();
    let p = app
        .post(
            "/schema/pipelines",
            json!({"name": "A Board", "stages": [{"name": "One"}, {"name": "Two"}]}),
            201,
        )
        .await;
    let pid = p.data()["id"].as_str().unwrap().to_string();
    let sid = p.data()["stages"][0]["id"].as_str().unwrap().to_string();
    let eid = app.get("/events", 200).await.data()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let b = app.other_workspace().await;

    // GET of every A id is a 404 for B.
    for path in [
        format!("/records/{rid}"),
        format!("/records/{rid}/activity"),
        format!("/records/tasks/{tid}"),
        format!("/members/{mid}"),
        format!("/keys/{kid}"),
        format!("/schema/object-types/{otid}"),
        format!("/schema/pipelines/{pid}"),
        format!("/schema/stages/{sid}"),
        format!("/events/{eid}"),
    ] {
        let r = get_as(app, &b, &path).await;
        assert_not_found(&r, &format!("B GET {path}"));
    }
    // PATCH of every patchable A id is a 404 for B.
    for (path, body) in [
        (format!("/records/{rid}"), json!({"title": "pwned"})),
        (format!("/records/tasks/{tid}"), json!({"title": "pwned"})),
        (format!("/members/{mid}"), json!({"name": "pwned"})),
        (
            format!("/schema/object-types/{otid}"),
            json!({"name": "pwned"}),
        ),
        (format!("/schema/pipelines/{pid}"), json!({"name": "pwned"})),
        (format!("/schema/stages/{sid}"), json!({"name": "pwned"})),
    ] {
        let r = send_as(app, &b, Method::PATCH, &path, body).await;
        assert_not_found(&r, &format!("B PATCH {path}"));
    }
    // POST under an A pipeline is a 404 too.
    let r = send_as(
        app,
        &b,
        Method::POST,
        &format!("/schema/pipelines/{pid}/stages"),
        json!({"name": "pwned"}),
    )
    .await;
    assert_not_found(&r, "B POST stage into A's pipeline");
    // References to A ids in B's bodies are unknown (400), not accepted.
    let r = send_as(
        app,
        &b,
        Method::POST,
        "/records",
        json!({"type": "lead", "stage_id": sid}),
    )
    .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    let r = send_as(
        app,
        &b,
        Method::POST,
        "/records",
        json!({"type": "lead", "assignee_id": mid}),
    )
    .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    let r = send_as(
        app,
        &b,
        Method::POST,
        "/records",
        json!({"type": "secret-thing"}),
    )
    .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    let r = send_as(
        app,
        &b,
        Method::POST,
        "/records/tasks",
        json!({"title": "x", "record_id": rid}),
    )
    .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);

    // DELETE of every A id is a 404 for B.
    for path in [
        format!("/records/tasks/{tid}"),
        format!("/records/{rid}"),
        format!("/members/{mid}"),
        format!("/keys/{kid}"),
        format!("/schema/stages/{sid}"),
        format!("/schema/pipelines/{pid}"),
        format!("/schema/object-types/{otid}"),
    ] {
        let r = delete_as(app, &b, &path).await;
        assert_not_found(&r, &format!("B DELETE {path}"));
    }

    // B's lists don't show A's items.
    let r = get_as(app, &b, "/records").await;
    assert_eq!(r.body["meta"]["total"], 0, "{}", r.text);
    let r = get_as(app, &b, "/records/tasks").await;
    assert_eq!(r.body["meta"]["total"], 0, "{}", r.text);
    let r = get_as(app, &b, "/events").await;
    assert_eq!(r.body["meta"]["total"], 0, "{}", r.text);
    let r = get_as(app, &b, "/members").await;
    let emails: Vec<&str> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["other@example.com"]);
    let r = get_as(app, &b, "/keys").await;
    assert_eq!(r.body["meta"]["total"], 1, "only B's own key: {}", r.text);
    assert!(!r.text.contains(&kid));
    let r = get_as(app, &b, "/schema").await;
    assert!(!r.text.contains(&otid) && !r.text.contains(&pid) && !r.text.contains(&sid));
    assert!(!r.text.contains("secret-thing") && !r.text.contains("a-board"));
    assert_eq!(r.data()["object_types"].as_array().unwrap().len(), 6);

    // A's things are untouched.
    let g = app.get(&format!("/records/{rid}"), 200).await;
    assert_eq!(g.data(), &lead);
    let t = app.get(&format!("/records/tasks/{tid}"), 200).await;
    assert_eq!(t.data()["title"], "A task");
    let m = app.get(&format!("/members/{mid}"), 200).await;
    assert_eq!(m.data()["name"], "A member");
    let k = app.get(&format!("/keys/{kid}"), 200).await;
    assert!(k.data()["revoked_at"].is_null());
    let o = app.get(&format!("/schema/object-types/{otid}"), 200).await;
    assert_eq!(o.data()["name"], "Secret Thing");
    let pp = app.get(&format!("/schema/pipelines/{pid}"), 200).await;
    assert_eq!(pp.data()["name"], "A Board");
    assert_eq!(pp.data()["stages"].as_array().unwrap().len(), 2);
    let st = app.get(&format!("/schema/stages/{sid}"), 200).await;
    assert_eq!(st.data()["name"], "One");
    let token = key.data()["token"].as_str().unwrap();
    assert_eq!(get_as(app, token, "/me").await.status.as_u16(), 200);
});
