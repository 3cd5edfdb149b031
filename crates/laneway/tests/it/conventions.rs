//! API conventions shared by every route (spec §2): request ids, JSON errors, body rules,
//! pagination, ETags, path ids, and that no input produces a 5xx.

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_test;
use crate::support::{Resp, TestApp};

/// Sends and asserts a JSON error envelope with this status; returns the response.
async fn expect_error(app: &TestApp, rb: reqwest::RequestBuilder, status: u16) -> Resp {
    let r = app.send(rb).await;
    assert_eq!(r.status.as_u16(), status, "body: {}", r.text);
    assert!(r.header("x-request-id").is_some(), "missing X-Request-Id");
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "error is not JSON: {:?}",
        r.header("content-type")
    );
    r.error_code();
    r
}

/// Sends raw bytes as a POST body with the given content type (or none).
fn raw_post(app: &TestApp, path: &str, ct: Option<&str>, body: Vec<u8>) -> reqwest::RequestBuilder {
    let rb = app.req(Method::POST, path).body(body);
    match ct {
        Some(c) => rb.header("Content-Type", c),
        None => rb,
    }
}

/// Asserts a response is not a server error and is a JSON envelope.
fn assert_no_5xx(r: &Resp, what: &str) {
    assert!(
        r.status.as_u16() < 500,
        "{what}: got {} {}",
        r.status,
        r.text
    );
    assert!(
        r.header("x-request-id").is_some(),
        "{what}: no X-Request-Id"
    );
    assert!(
        r.body["success"].is_boolean(),
        "{what}: not an envelope: {} {}",
        r.status,
        &r.text[..r.text.len().min(300)]
    );
}

backend_test!(every_response_has_a_request_id, |app| async move {
    let mut seen = std::collections::HashSet::new();
    let cases = vec![
        app.req(Method::GET, "/me"),
        app.req(Method::GET, "/records"),
        app.client.get(app.url("/me")),
        app.req(Method::GET, &format!("/records/{}", uuid::Uuid::now_v7())),
        app.req(Method::GET, "/no/such/route"),
        app.client.get(format!(
            "{}/outside-the-api",
            app.base.trim_end_matches("/api/v1")
        )),
        app.req(Method::PUT, "/records"),
        app.req(Method::POST, "/records")
            .json(&json!({"type": "nope"})),
        raw_post(app, "/records", Some("application/json"), b"{".to_vec()),
    ];
    for rb in cases {
        let r = app.send(rb).await;
        let id = r
            .header("x-request-id")
            .unwrap_or_else(|| panic!("no X-Request-Id on {} {}", r.status, r.text))
            .to_string();
        assert!(!id.is_empty());
        assert!(seen.insert(id), "request ids are unique");
    }
    // A caller's own request id is kept.
    let r = app
        .send(
            app.req(Method::GET, "/me")
                .header("X-Request-Id", "trace-abc-123"),
        )
        .await;
    assert_eq!(r.header("x-request-id"), Some("trace-abc-123"));
});

backend_test!(unknown_routes_and_methods_are_json, |app| async move {
    for path in ["/nope", "/records/x/y/z", "/schemas", "/"] {
        let r = expect_error(app, app.req(Method::GET, path), 404).await;
        assert_eq!(r.error_code(), "not_found", "{path}");
    }
    // Outside /api/v1 too (without a key).
    let r = expect_error(
        app,
        app.client.get(format!(
            "{}/api/v2/records",
            app.base.trim_end_matches("/api/v1")
        )),
        404,
    )
    .await;
    assert_eq!(r.error_code(), "not_found");

    for (m, path) in [
        (Method::PUT, "/records"),
        (Method::DELETE, "/records"),
        (Method::PATCH, "/records"),
        (Method::POST, "/me"),
        (Method::PUT, "/schema"),
        (Method::PATCH, "/keys"),
    ] {
        let r = expect_error(app, app.req(m.clone(), path).json(&json!({})), 405).await;
        assert_eq!(r.error_code(), "method_not_allowed", "{m} {path}");
    }
    let id = app.lead("x").await["id"].as_str().unwrap().to_string();
    expect_error(
        app,
        app.req(Method::PUT, &format!("/records/{id}"))
            .json(&json!({})),
        405,
    )
    .await;
    expect_error(
        app,
        app.req(Method::POST, &format!("/records/{id}"))
            .json(&json!({})),
        405,
    )
    .await;
    // Nothing changed through the refused method.
    assert_eq!(app.get("/records", 200).await.body["meta"]["total"], 1);
});

backend_test!(content_type_rules, |app| async move {
    let body = br#"{"type": "lead", "title": "x"}"#.to_vec();
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "json",
    ] {
        let r = expect_error(app, raw_post(app, "/records", Some(ct), body.clone()), 415).await;
        assert_eq!(r.error_code(), "unsupported_media_type", "{ct}");
    }
    // Missing content type with a body → 415.
    let r = expect_error(app, raw_post(app, "/records", None, body.clone()), 415).await;
    assert_eq!(r.error_code(), "unsupported_media_type");
    // Also on PATCH.
    let id = app.lead("x").await["id"].as_str().unwrap().to_string();
    expect_error(
        app,
        app.req(Method::PATCH, &format!("/records/{id}"))
            .header("Content-Type", "text/plain")
            .body(r#"{"title": "y"}"#),
        415,
    )
    .await;
    // Variants of JSON are accepted.
    for ct in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.api+json",
    ] {
        let r = app
            .send(raw_post(app, "/records", Some(ct), body.clone()))
            .await;
        assert_eq!(r.status.as_u16(), 201, "{ct}: {}", r.text);
    }
    // Empty body with no content type → 400.
    expect_error(app, raw_post(app, "/records", None, vec![]), 400).await;
    expect_error(
        app,
        raw_post(app, "/records", Some("application/json"), vec![]),
        400,
    )
    .await;
    // Only the three accepted posts plus the lead exist.
    assert_eq!(app.get("/records", 200).await.body["meta"]["total"], 4);
});

backend_test!(malformed_and_mistyped_bodies_are_400, |app| async move {
    let json_ct = Some("application/json");
    for raw in [
        &b"{"[..],
        b"{\"type\": \"lead\",}",
        b"{'type': 'lead'}",
        b"{\"type\": \"lead\"} trailing",
        b"nul",
        b"{\"type\": \"lead\", \"title\": \"unterminated}",
    ] {
        let r = expect_error(app, raw_post(app, "/records", json_ct, raw.to_vec()), 400).await;
        assert_eq!(
            r.error_code(),
            "invalid_json",
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
    // Valid JSON that is not an object.
    for raw in [
        &b"[]"[..],
        b"[{\"type\": \"lead\"}]",
        b"42",
        b"\"lead\"",
        b"null",
        b"true",
    ] {
        let r = expect_error(app, raw_post(app, "/records", json_ct, raw.to_vec()), 400).await;
        assert_ne!(
            r.error_code(),
            "invalid_json",
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
    // Wrong field types name the field.
    for (body, field) in [
        (json!({"type": 5}), "type"),
        (json!({"type": "lead", "title": 5}), "title"),
        (json!({"type": "lead", "title": ["a"]}), "title"),
        (
            json!({"type": "lead", "assignee_id": "not-a-uuid"}),
            "assignee_id",
        ),
        (json!({"type": "lead", "assignee_id": 7}), "assignee_id"),
        (json!({"type": "lead", "data": "text"}), "data"),
        (json!({"type": "lead", "data": [1]}), "data"),
    ] {
        let r = app.post("/records", body.clone(), 400).await;
        assert_eq!(r.body["details"]["field"], field, "{body}: {}", r.text);
        assert!(
            r.body["error"].as_str().unwrap().contains(field),
            "message names {field}: {}",
            r.text
        );
    }
    // Missing required field.
    let r = app.post("/records", json!({"title": "x"}), 400).await;
    assert_eq!(r.body["details"]["field"], "type");
    // Unknown fields are named in details.field.
    for (path, body, field) in [
        (
            "/records",
            json!({"type": "lead", "colour": "red"}),
            "colour",
        ),
        (
            "/records/tasks",
            json!({"title": "t", "priority": 1}),
            "priority",
        ),
        (
            "/schema/object-types",
            json!({"name": "X", "plural": "Xs"}),
            "plural",
        ),
        (
            "/members",
            json!({"name": "X", "email": "x@example.com", "admin": true}),
            "admin",
        ),
    ] {
        let r = app.post(path, body.clone(), 400).await;
        assert_eq!(
            r.body["details"]["field"], field,
            "{path} {body}: {}",
            r.text
        );
        assert!(r.body["error"].as_str().unwrap().contains(field));
    }
    // PATCH too.
    let id = app.lead("x").await["id"].as_str().unwrap().to_string();
    let r = app
        .patch(&format!("/records/{id}"), json!({"titel": "typo"}), 400)
        .await;
    assert_eq!(r.body["details"]["field"], "titel");
    let r = app
        .patch(&format!("/records/{id}"), json!({"title": 1}), 400)
        .await;
    assert_eq!(r.body["details"]["field"], "title");
    assert_eq!(
        app.get(&format!("/records/{id}"), 200).await.data()["title"],
        "x"
    );
    assert_eq!(app.get("/records", 200).await.body["meta"]["total"], 1);
});

backend_test!(oversized_bodies_are_413, |app| async move {
    let big = "x".repeat(1024 * 1024 + 10);
    let body = serde_json::to_vec(&json!({"type": "lead", "title": "big", "data": {"blob": big}}))
        .unwrap();
    let r = expect_error(
        app,
        raw_post(app, "/records", Some("application/json"), body),
        413,
    )
    .await;
    assert_eq!(r.error_code(), "payload_too_large");
    // Just under the limit is accepted as far as size goes (it fails later on the title).
    let under = "y".repeat(1024 * 1024 - 100);
    let body = serde_json::to_vec(&json!({"type": "lead", "title": under})).unwrap();
    assert!(body.len() < 1024 * 1024);
    let r = app
        .send(raw_post(app, "/records", Some("application/json"), body))
        .await;
    assert_eq!(
        r.status.as_u16(),
        400,
        "{}",
        &r.text[..r.text.len().min(300)]
    );
    assert_eq!(r.body["details"]["field"], "title");
    assert_eq!(app.get("/records", 200).await.body["meta"]["total"], 0);
    // The server still answers normally afterwards.
    app.get("/me", 200).await;
});

backend_test!(pagination_parameters, |app| async move {
    for i in 0..3 {
        app.post(
            "/records",
            json!({"type": "lead", "title": format!("R{i}")}),
            201,
        )
        .await;
    }
    for list in ["/records", "/records/tasks", "/members", "/events", "/keys"] {
        for bad in [
            "page=0",
            "per_page=0",
            "page=-1",
            "per_page=-5",
            "page=abc",
            "per_page=ten",
            "page=1.5",
            "per_page=1.5",
            "page=",
            "page=99999999999999999999999",
            "per_page=1e3",
        ] {
            let sep = if list.contains('?') { '&' } else { '?' };
            let r =
                expect_error(app, app.req(Method::GET, &format!("{list}{sep}{bad}")), 400).await;
            assert_eq!(r.error_code(), "invalid_parameter", "{list}?{bad}");
            let param = bad.split('=').next().unwrap();
            assert_eq!(r.body["details"]["parameter"], param, "{list}?{bad}");
        }
        let r = app.get(&format!("{list}?per_page=1000"), 200).await;
        assert_eq!(r.body["meta"]["per_page"], 100, "{list}");
        assert_eq!(r.body["meta"]["page"], 1, "{list}");
        let r = app.get(&format!("{list}?per_page=100&page=2"), 200).await;
        assert_eq!(r.body["meta"]["page"], 2);
        assert_eq!(r.data(), &json!([]), "{list}");
    }
    let r = app.get("/records?per_page=2", 200).await;
    assert_eq!(
        r.body["meta"],
        json!({"total": 3, "page": 1, "per_page": 2})
    );
    assert_eq!(r.data().as_array().unwrap().len(), 2);
    let r = app.get("/records?per_page=2&page=2", 200).await;
    assert_eq!(r.data().as_array().unwrap().len(), 1);
    let r = app.get("/records", 200).await;
    assert_eq!(r.body["meta"]["per_page"], 50, "default per_page");
    // A very large page is just empty.
    let r = app.get("/records?page=1000000000&per_page=100", 200).await;
    assert_eq!(r.data(), &json!([]));
    assert_eq!(r.body["meta"]["total"], 3);
});

backend_test!(etags_and_if_match, |app| async move {
    let lead = app.lead("Tagged").await;
    let id = lead["id"].as_str().unwrap().to_string();
    let g = app.get(&format!("/records/{id}"), 200).await;
    let tag = g.header("etag").expect("ETag").to_string();
    assert!(tag.starts_with('"') && tag.ends_with('"'), "{tag}");
    // Stable while unchanged.
    let g2 = app.get(&format!("/records/{id}"), 200).await;
    assert_eq!(g2.header("etag"), Some(tag.as_str()));

    // Current tag → ok, and the tag changes.
    let r = app
        .expect(
            app.req(Method::PATCH, &format!("/records/{id}"))
                .header("If-Match", &tag)
                .json(&json!({"title": "Tagged 2"})),
            200,
        )
        .await;
    let tag2 = r.header("etag").expect("ETag on PATCH").to_string();
    assert_ne!(tag2, tag);
    assert_eq!(
        app.get(&format!("/records/{id}"), 200).await.header("etag"),
        Some(tag2.as_str())
    );
    // The old tag is now stale → 412, nothing changes.
    let r = expect_error(
        app,
        app.req(Method::PATCH, &format!("/records/{id}"))
            .header("If-Match", &tag)
            .json(&json!({"title": "Lost update"})),
        412,
    )
    .await;
    assert_eq!(r.error_code(), "precondition_failed");
    expect_error(
        app,
        app.req(Method::DELETE, &format!("/records/{id}"))
            .header("If-Match", &tag),
        412,
    )
    .await;
    assert_eq!(
        app.get(&format!("/records/{id}"), 200).await.data()["title"],
        "Tagged 2"
    );
    // A list with the current tag matches; garbage does not.
    app.expect(
        app.req(Method::PATCH, &format!("/records/{id}"))
            .header("If-Match", format!("\"nope\", {tag2}"))
            .json(&json!({"title": "Tagged 3"})),
        200,
    )
    .await;
    expect_error(
        app,
        app.req(Method::PATCH, &format!("/records/{id}"))
            .header("If-Match", "\"0123456789abcdef\"")
            .json(&json!({"title": "x"})),
        412,
    )
    .await;
    // A value that is not `*` or entity tags is a malformed header, not a stale version.
    let e = expect_error(
        app,
        app.req(Method::PATCH, &format!("/records/{id}"))
            .header("If-Match", "garbage")
            .json(&json!({"title": "x"})),
        400,
    )
    .await;
    assert_eq!(e.body["details"]["parameter"], "If-Match", "{}", e.text);
    // `*` always matches.
    app.expect(
        app.req(Method::PATCH, &format!("/records/{id}"))
            .header("If-Match", "*")
            .json(&json!({"title": "Star"})),
        200,
    )
    .await;

    // Other single-resource GETs carry an ETag, and If-Match applies to their writes.
    let me = app.get("/me", 200).await;
    let owner = me.data()["member"]["id"].as_str().unwrap().to_string();
    let key_id = me.data()["key_id"].as_str().unwrap().to_string();
    let schema = app.get("/schema", 200).await;
    let ot = schema.data()["object_types"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pid = schema.data()["pipelines"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let sid = schema.data()["pipelines"][0]["stages"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let task = app.post("/records/tasks", json!({"title": "T"}), 201).await;
    assert!(task.header("etag").is_some(), "create answers with an ETag");
    let tid = task.data()["id"].as_str().unwrap().to_string();
    for path in [
        format!("/members/{owner}"),
        format!("/keys/{key_id}"),
        format!("/schema/object-types/{ot}"),
        format!("/schema/pipelines/{pid}"),
        format!("/schema/stages/{sid}"),
        format!("/records/tasks/{tid}"),
    ] {
        let g = app.get(&path, 200).await;
        assert!(g.header("etag").is_some(), "no ETag on GET {path}");
    }
    for (path, body) in [
        (format!("/members/{owner}"), json!({"name": "Stale"})),
        (
            format!("/schema/object-types/{ot}"),
            json!({"name": "Stale"}),
        ),
        (format!("/schema/pipelines/{pid}"), json!({"name": "Stale"})),
        (format!("/schema/stages/{sid}"), json!({"name": "Stale"})),
        (format!("/records/tasks/{tid}"), json!({"title": "Stale"})),
    ] {
        expect_error(
            app,
            app.req(Method::PATCH, &path)
                .header("If-Match", "\"stale\"")
                .json(&body),
            412,
        )
        .await;
        let tag = app
            .get(&path, 200)
            .await
            .header("etag")
            .unwrap()
            .to_string();
        app.expect(
            app.req(Method::PATCH, &path)
                .header("If-Match", tag)
                .json(&body),
            200,
        )
        .await;
    }

    // DELETE honours If-Match on every resource that has one.
    let ann = app
        .post(
            "/members",
            json!({"name": "Ann", "email": "ann@example.com"}),
            201,
        )
        .await;
    let key = app.post("/keys", json!({"scope": "read"}), 201).await;
    let boat = app
        .post("/schema/object-types", json!({"name": "Boat"}), 201)
        .await;
    let board = app
        .post(
            "/schema/pipelines",
            json!({"name": "Board", "stages": [{"name": "A"}, {"name": "B"}]}),
            201,
        )
        .await;
    let rec = app.lead("Doomed").await;
    for path in [
        format!("/records/{}", rec["id"].as_str().unwrap()),
        format!("/records/tasks/{tid}"),
        format!("/members/{}", ann.data()["id"].as_str().unwrap()),
        format!("/keys/{}", key.data()["id"].as_str().unwrap()),
        format!(
            "/schema/object-types/{}",
            boat.data()["id"].as_str().unwrap()
        ),
        format!(
            "/schema/stages/{}",
            board.data()["stages"][1]["id"].as_str().unwrap()
        ),
        format!("/schema/pipelines/{}", board.data()["id"].as_str().unwrap()),
    ] {
        let r = expect_error(
            app,
            app.req(Method::DELETE, &path)
                .header("If-Match", "\"stale\""),
            412,
        )
        .await;
        assert_eq!(r.error_code(), "precondition_failed", "DELETE {path}");
        let g = app.get(&path, 200).await;
        assert!(g.data()["revoked_at"].is_null(), "{path} untouched");
        let tag = g.header("etag").unwrap().to_string();
        app.expect(app.req(Method::DELETE, &path).header("If-Match", tag), 200)
            .await;
    }
    let token = key.data()["token"].as_str().unwrap();
    let r = app.send(app.req_as(token, Method::GET, "/me")).await;
    assert_eq!(
        r.status.as_u16(),
        401,
        "the key was revoked by the matching DELETE"
    );
});

backend_test!(garbage_path_ids_are_404, |app| async move {
    let long = "a".repeat(5000);
    let ids = [
        "not-a-uuid",
        "0",
        "-1",
        "00000000-0000-0000-0000-000000000000",
        "01a209de-804473b2-b96e-4308f7e2edac",
        "ffffffff-ffff-ffff-ffff-ffffffffffffff",
        "%00",
        "%FF%FE",
        "%2e%2e",
        "%2F",
        "..%2F..%2Fetc%2Fpasswd",
        "'%20OR%201=1--",
        "%F0%9F%98%80",
        "%C3%28",
        &long,
    ];
    let prefixes = [
        "/records/",
        "/records/tasks/",
        "/members/",
        "/keys/",
        "/events/",
        "/schema/object-types/",
        "/schema/pipelines/",
        "/schema/stages/",
    ];
    for p in prefixes {
        for id in ids {
            let path = format!("{p}{id}");
            let r = app.send(app.req(Method::GET, &path)).await;
            assert_eq!(
                r.status.as_u16(),
                404,
                "GET {}: {}",
                &path[..path.len().min(80)],
                r.text
            );
            assert_eq!(r.error_code(), "not_found");
            assert!(r.header("x-request-id").is_some());
            let r = app.send(app.req(Method::DELETE, &path)).await;
            assert_eq!(
                r.status.as_u16() / 100,
                4,
                "DELETE {}: {}",
                &path[..path.len().min(80)],
                r.text
            );
        }
    }
    // Activity and stage creation under garbage parents.
    for path in [
        "/records/nope/activity".to_string(),
        format!("/records/{}/activity", uuid::Uuid::now_v7()),
    ] {
        let r = app.send(app.req(Method::GET, &path)).await;
        assert_eq!(r.status.as_u16(), 404, "{path}");
    }
    let r = app
        .send(
            app.req(Method::POST, "/schema/pipelines/%FF/stages")
                .json(&json!({"name": "x"})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 404, "{}", r.text);
});

backend_test!(malformed_inputs_never_5xx, |app| async move {
    let json_ct = Some("application/json");
    let deep_array = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_obj = format!(
        "{{\"type\": \"lead\", \"data\": {}1{}}}",
        "{\"a\":".repeat(10_000),
        "}".repeat(10_000)
    );
    // Nesting within serde_json's limit is still fine to store or refuse, never a 500.
    let nested_ok = format!(
        "{{\"type\": \"lead\", \"data\": {}1{}}}",
        "{\"a\":".repeat(120),
        "}".repeat(120)
    );
    let mut raws: Vec<Vec<u8>> = vec![
        deep_array.into_bytes(),
        deep_obj.into_bytes(),
        nested_ok.into_bytes(),
        br#"{"type": "lead", "data": {"n": 1e400}}"#.to_vec(),
        br#"{"type": "lead", "data": {"n": -1e400}}"#.to_vec(),
        br#"{"type": "lead", "data": {"n": 123456789012345678901234567890}}"#.to_vec(),
        br#"{"type": "lead", "data": {"n": 18446744073709551616}}"#.to_vec(),
        br#"{"type": "lead", "data": {"n": -9223372036854775809}}"#.to_vec(),
        br#"{"type": "lead", "data": {"n": 1.7976931348623157e308}}"#.to_vec(),
        br#"{"type": "lead", "data": {"n": 5e-324, "z": -0.0}}"#.to_vec(),
        br#"{"type": "lead", "title": 1e400}"#.to_vec(),
        b"{\"type\": \"lead\", \"title\": \"\xff\xfe\"}".to_vec(),
        b"{\"type\": \"lead\", \"title\": \"\xc3\x28\"}".to_vec(),
        b"\xef\xbb\xbf{\"type\": \"lead\"}".to_vec(),
        br#"{"type": "lead", "title": "a\u0000b"}"#.to_vec(),
        br#"{"type": "lead", "data": {"k": "nul\u0000inside"}}"#.to_vec(),
        br#"{"type": "lead", "data": {"nul\u0000key": 1}}"#.to_vec(),
        br#"{"type": "le\u0000ad"}"#.to_vec(),
        br#"{"type": "lead", "title": "\ud800"}"#.to_vec(),
        br#"{"type": "lead", "title": "\udc00\ud800"}"#.to_vec(),
        r#"{"type": "lead", "title": "😀🚀 emoji ✓", "data": {"🔑": "🗝️"}}"#
            .as_bytes()
            .to_vec(),
        r#"{"type": "😀"}"#.as_bytes().to_vec(),
        r#"{"type": "lead", "pipeline": "😀", "stage": "\u0000"}"#
            .as_bytes()
            .to_vec(),
        br#"{"type": "lead", "stage_id": "\u0000"}"#.to_vec(),
        br#"{"type": "lead", "position": "\u0000"}"#.to_vec(),
        br#"{"type": "lead", "type": "job"}"#.to_vec(),
        b"\x00\x00\x00".to_vec(),
        vec![0xff; 64],
    ];
    raws.push(format!(r#"{{"type": "{}"}}"#, "x".repeat(100_000)).into_bytes());
    raws.push(format!(r#"{{"type": "lead", "title": "{}"}}"#, "é".repeat(2000)).into_bytes());
    for raw in &raws {
        let r = app
            .send(raw_post(app, "/records", json_ct, raw.clone()))
            .await;
        assert_no_5xx(&r, &String::from_utf8_lossy(&raw[..raw.len().min(80)]));
    }

    // The same kind of junk through other write routes.
    let lead = app.lead("target").await;
    let id = lead["id"].as_str().unwrap().to_string();
    let nul_bodies = [
        json!({"title": "nul\u{0}title"}),
        json!({"data": {"x": "\u{0}"}}),
        json!({"position": "\u{0}"}),
        json!({"stage": "\u{0}"}),
    ];
    for b in &nul_bodies {
        let r = app
            .send(app.req(Method::PATCH, &format!("/records/{id}")).json(b))
            .await;
        assert_no_5xx(&r, &format!("PATCH record {b}"));
    }
    let other_writes: Vec<(Method, &str, Value)> = vec![
        (
            Method::POST,
            "/records/tasks",
            json!({"title": "t\u{0}", "notes": "\u{0}"}),
        ),
        (
            Method::POST,
            "/records/tasks",
            json!({"title": "t", "due_date": "\u{0}"}),
        ),
        (
            Method::POST,
            "/members",
            json!({"name": "N\u{0}", "email": "n\u{0}@example.com"}),
        ),
        (
            Method::POST,
            "/members",
            json!({"name": "😀", "email": "😀@example.com"}),
        ),
        (
            Method::POST,
            "/keys",
            json!({"scope": "read", "name": "k\u{0}"}),
        ),
        (
            Method::POST,
            "/schema/object-types",
            json!({"name": "T\u{0}", "icon": "\u{0}"}),
        ),
        (
            Method::POST,
            "/schema/object-types",
            json!({"name": "T", "slug": "t\u{0}"}),
        ),
        (
            Method::POST,
            "/schema/object-types",
            json!({"name": "F", "fields": [{"key": "a", "type": "text", "label": "\u{0}"}]}),
        ),
        (
            Method::POST,
            "/schema/pipelines",
            json!({"name": "P\u{0}", "stages": [{"name": "\u{0}S"}]}),
        ),
        (
            Method::POST,
            "/schema/pipelines",
            json!({"name": "P", "stages": [{"name": "S", "position": 9e18}]}),
        ),
    ];
    for (m, path, b) in other_writes {
        let r = app.send(app.req(m.clone(), path).json(&b)).await;
        assert_no_5xx(&r, &format!("{m} {path} {b}"));
    }
    let pid = app.get("/schema", 200).await.data()["pipelines"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for pos in [json!(i64::MAX), json!(i64::MIN), json!(1e300), json!(-1)] {
        let r = app
            .send(
                app.req(Method::POST, &format!("/schema/pipelines/{pid}/stages"))
                    .json(&json!({"name": format!("S{pos}"), "position": pos})),
            )
            .await;
        assert_no_5xx(&r, &format!("stage position {pos}"));
    }

    // Junk in query strings.
    for q in [
        "/records?search=%00",
        "/records?search=a%00b",
        "/records?search=%FF%FE",
        "/records?search=%25%5F%5C",
        "/records?search=😀",
        "/records?type=%00",
        "/records?type=😀",
        "/records?assignee_id=%00",
        "/records?assignee_id=nope",
        "/records?stage_id=%FF",
        "/records/tasks?completed=maybe",
        "/records/tasks?record_id=%00",
        "/records/tasks?due_date=%00",
        "/events?event=%00",
        "/events?event=record.created%00",
        "/records?page=%00",
        "/records?per_page=%FF",
        "/records?%00=%00",
        "/records?&&&==&=",
        "/records?filter=%00",
        "/records?sort=%00",
    ] {
        let r = app.send(app.req(Method::GET, q)).await;
        assert_no_5xx(&r, q);
    }
    // Junk in headers.
    for (name, value) in [
        ("If-Match", &b"\xff\xfe"[..]),
        ("Content-Type", b"application/json; charset=\xff"),
        ("Idempotency-Key", b"\xff"),
    ] {
        let r = app
            .send(
                app.req(Method::PATCH, &format!("/records/{id}"))
                    .header(
                        name,
                        reqwest::header::HeaderValue::from_bytes(value).unwrap(),
                    )
                    .header("Content-Type", "application/json")
                    .body(r#"{"title": "h"}"#),
            )
            .await;
        assert_no_5xx(&r, name);
    }
    // Whatever was accepted reads back: lists, single GETs and events never fail on a
    // stored row (a number at the edge of f64 once poisoned every later list).
    let all = app.get("/records?per_page=100", 200).await;
    for r in all.data().as_array().unwrap() {
        app.get(&format!("/records/{}", r["id"].as_str().unwrap()), 200)
            .await;
    }
    app.get("/events?per_page=100", 200).await;
    app.get("/records/tasks?per_page=100", 200).await;
    app.get("/members?per_page=100", 200).await;
    app.get("/schema", 200).await;
    // The f64 edge is refused up front, naming the field; 1e308 itself is fine.
    let r = app
        .post(
            "/records",
            json!({"type": "lead", "data": {"n": f64::MAX}}),
            400,
        )
        .await;
    assert_eq!(r.body["details"]["field"], "data.n");
    let r = app
        .post(
            "/records",
            json!({"type": "lead", "data": {"n": 1e308, "m": -1e308}}),
            201,
        )
        .await;
    let big = r.data()["id"].as_str().unwrap();
    let g = app.get(&format!("/records/{big}"), 200).await;
    assert_eq!(g.data()["data"]["n"], 1e308);
    // NUL is refused naming the field.
    let r = app
        .post(
            "/records",
            json!({"type": "lead", "data": {"k": ["ok", "x\u{0}y"]}}),
            400,
        )
        .await;
    assert_eq!(r.body["details"]["field"], "data.k[1]");

    // Emoji round-trip exactly.
    let r = app
        .post(
            "/records",
            json!({"type": "lead", "title": "Café 😀 ✓ 中文", "data": {"🔑": "🗝️", "n": 1.5}}),
            201,
        )
        .await;
    let eid = r.data()["id"].as_str().unwrap();
    let g = app.get(&format!("/records/{eid}"), 200).await;
    assert_eq!(g.data()["title"], "Café 😀 ✓ 中文");
    assert_eq!(g.data()["data"]["🔑"], "🗝️");
    let s = app.get("/records?search=中文", 200).await;
    assert_eq!(s.body["meta"]["total"], 1, "{}", s.text);
    // And the server is healthy.
    app.get("/me", 200).await;
});
