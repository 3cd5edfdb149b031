//! `/forms` and public submissions (spec §7).
//!
//! The admin API (create, read, list, update, delete, with the checks against the object type
//! a form fills), and the public `POST /public/forms/:id/submit`: answers checked and coerced,
//! the record it becomes (title, data, board), its events, the per-form, per-address rate
//! limit, scopes, workspace isolation, webhooks and the OpenAPI description.
//!
//! The submission rate limiter is process-wide (every test in this binary shares it), keyed by
//! form and client address: every test that submits uses forms of its own.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_test;
use crate::receiver::{assert_signed, Hit, Receiver};
use crate::records::{board, ids, is_timestamp, s};
use crate::support::{behind_local_proxy, Backend, Resp, TestApp};
use crate::webhooks::{fast, webhook_test};

// ---- helpers ---------------------------------------------------------------------------------

const FORM_KEYS: &[&str] = &[
    "created_at",
    "fields",
    "id",
    "name",
    "object_type",
    "object_type_id",
    "pipeline_id",
    "stage_id",
    "submit_path",
    "title_field",
    "updated_at",
];

fn keys_of(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// `POST /forms` as admin, expecting 201; returns the form.
async fn form(app: &TestApp, body: Value) -> Value {
    app.post("/forms", body, 201).await.data().clone()
}

/// A lead form asking `name` (required) and `email`; returns its id.
async fn lead_form(app: &TestApp, name: &str) -> String {
    s(&form(
        app,
        json!({
            "name": name,
            "object_type": "lead",
            "fields": [
                {"key": "name", "label": "Name", "type": "text", "required": true},
                {"key": "email", "label": "Email", "type": "email"},
            ],
        }),
    )
    .await["id"])
}

/// A lead form asking one field of every type a form may ask; returns its id.
async fn typed_form(app: &TestApp) -> String {
    s(&form(
        app,
        json!({
            "name": "Everything",
            "object_type": "lead",
            "fields": [
                {"key": "email", "type": "email", "required": true},
                {"key": "name", "type": "text", "required": true},
                {"key": "age", "type": "number"},
                {"key": "subscribed", "type": "boolean"},
                {"key": "plan", "type": "select", "options": ["free", "pro"]},
                {"key": "tags", "type": "multi_select", "options": ["a", "b", "c"]},
                {"key": "start", "type": "date"},
                {"key": "at", "type": "datetime"},
                {"key": "site", "type": "url"},
                {"key": "phone", "type": "phone"},
            ],
        }),
    )
    .await["id"])
}

fn submit_url(app: &TestApp, form: &str) -> String {
    app.url(&format!("/public/forms/{form}/submit"))
}

/// A public submission (no API key) of a JSON body, whatever the status.
async fn submit(app: &TestApp, form: &str, body: Value) -> Resp {
    let r = app
        .send(app.client.post(submit_url(app, form)).json(&body))
        .await;
    assert!(r.header("x-request-id").is_some(), "missing X-Request-Id");
    r
}

/// A public submission that must be accepted; returns its answer's `data`.
async fn submit_ok(app: &TestApp, form: &str, body: Value) -> Value {
    let r = submit(app, form, body).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    assert_eq!(r.body["success"], true, "{}", r.text);
    r.data().clone()
}

/// A 400 `validation_failed` whose `details.field` is `field`.
fn assert_field(r: &Resp, field: &str) {
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    assert_eq!(r.error_code(), "validation_failed", "{}", r.text);
    assert_eq!(r.body["details"]["field"], field, "{}", r.text);
}

/// A 400 whose `details.field` is `field` and whose message names it (quoted).
fn assert_names(r: &Resp, field: &str) {
    assert_field(r, field);
    let msg = r.body["error"].as_str().unwrap();
    assert!(
        msg.contains(&format!("'{field}'")),
        "error does not name '{field}': {}",
        r.text
    );
}

/// A 400 about the answer `key` of a submission: named as the form's key, not `data.key`.
fn assert_answer(r: &Resp, key: &str) {
    assert_names(r, key);
    let msg = r.body["error"].as_str().unwrap();
    assert!(
        !msg.contains("data."),
        "the answer is named as record data: {}",
        r.text
    );
}

fn assert_not_found(r: &Resp) {
    assert_eq!(r.status.as_u16(), 404, "{}", r.text);
    assert_eq!(r.error_code(), "not_found", "{}", r.text);
}

/// `GET /records/:id` as admin.
async fn record(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/records/{id}"), 200).await.data().clone()
}

/// The id of the object type `slug` (`GET /schema`).
async fn type_id(app: &TestApp, slug: &str) -> String {
    let r = app.get("/schema", 200).await;
    let t = r.data()["object_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == slug)
        .unwrap_or_else(|| panic!("no object type {slug}: {}", r.text))
        .clone();
    s(&t["id"])
}

/// A new pipeline with stages `stages`; returns (pipeline id, stage ids in order).
async fn pipeline(app: &TestApp, name: &str, stages: &[&str]) -> (String, Vec<String>) {
    let st: Vec<Value> = stages.iter().map(|n| json!({ "name": n })).collect();
    let p = app
        .post(
            "/schema/pipelines",
            json!({"name": name, "stages": st}),
            201,
        )
        .await;
    let ids = p.data()["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| s(&x["id"]))
        .collect();
    (s(&p.data()["id"]), ids)
}

/// The `form.submitted` events of the workspace (oldest first), as their data.
async fn submissions(app: &TestApp) -> Vec<Value> {
    app.events()
        .await
        .into_iter()
        .filter(|(n, _)| n == "form.submitted")
        .map(|(_, d)| d)
        .collect()
}

/// The names of the events about record `id`, sorted.
async fn record_event_names(app: &TestApp, id: &str) -> Vec<String> {
    let mut v: Vec<String> = app
        .events()
        .await
        .into_iter()
        .filter(|(n, d)| n != "form.submitted" && d["id"] == id)
        .map(|(n, _)| n)
        .collect();
    v.sort();
    v
}

/// Leads in the workspace, by id.
async fn lead_ids(app: &TestApp) -> BTreeSet<String> {
    let r = app.get("/records?type=lead&per_page=100", 200).await;
    ids(&r).into_iter().collect()
}

// ---- create and read -------------------------------------------------------------------------

backend_test!(create_and_get, |app| async move {
    let b = board(app).await;
    let lead = type_id(app, "lead").await;
    let fields = json!([
        {"key": "name", "label": "Your name", "type": "text", "required": true},
        {"key": "company", "label": "Company", "type": "text", "required": false},
        {"key": "size", "label": "Team size", "type": "select", "required": false, "options": ["1-10", "11-50"]},
    ]);
    let r = app
        .post(
            "/forms",
            json!({
                "name": "  Contact us  ",
                "object_type": "lead",
                "pipeline": "main-sales",
                "stage": "contacted",
                "fields": fields,
                "title_field": "company",
            }),
            201,
        )
        .await;
    assert!(r.header("etag").is_some(), "a created form has an ETag");
    let f = r.data().clone();
    assert_eq!(keys_of(&f), FORM_KEYS);
    let id = s(&f["id"]);
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(f["name"], "Contact us", "the name is trimmed");
    assert_eq!(f["object_type"], "lead");
    assert_eq!(f["object_type_id"], lead.as_str());
    assert_eq!(f["pipeline_id"], b.pipeline_id.as_str());
    assert_eq!(f["stage_id"], b.contacted.as_str());
    assert_eq!(f["fields"], fields);
    assert_eq!(f["title_field"], "company");
    assert_eq!(
        f["submit_path"],
        format!("/api/v1/public/forms/{id}/submit")
    );
    assert!(is_timestamp(&f["created_at"]), "{}", f["created_at"]);
    assert_eq!(f["created_at"], f["updated_at"]);

    let g = app.get(&format!("/forms/{id}"), 200).await;
    assert_eq!(g.data(), &f);
    assert_eq!(g.header("etag"), r.header("etag"));

    // The object type by id, the board by name and by id; the stage by name.
    let f2 = form(
        app,
        json!({
            "name": "By ids",
            "object_type": lead,
            "pipeline": "Main Sales",
            "stage": "Won",
            "fields": [{"key": "email", "type": "email"}],
        }),
    )
    .await;
    assert_eq!(f2["object_type"], "lead");
    assert_eq!(f2["object_type_id"], lead.as_str());
    assert_eq!(f2["pipeline_id"], b.pipeline_id.as_str());
    assert_eq!(f2["stage_id"], b.won.as_str());
    // Optional parts of a field default: no label, not required.
    assert_eq!(f2["fields"][0]["key"], "email");
    assert_eq!(f2["fields"][0]["type"], "email");
    assert_eq!(f2["fields"][0]["required"], false);
    assert!(f2["fields"][0]["label"].is_null(), "{}", f2["fields"]);
    assert!(f2["title_field"].is_null());

    // A pipeline alone: no stage kept (the first one is used at submission).
    let f3 = form(
        app,
        json!({
            "name": "Board only",
            "object_type": "contact",
            "pipeline": b.pipeline_id,
            "fields": [{"key": "name", "type": "text"}],
        }),
    )
    .await;
    assert_eq!(f3["object_type"], "contact");
    assert_eq!(f3["pipeline_id"], b.pipeline_id.as_str());
    assert!(f3["stage_id"].is_null());

    // No board at all.
    let f4 = form(
        app,
        json!({
            "name": "Loose",
            "object_type": "company",
            "fields": [{"key": "name", "type": "text"}],
        }),
    )
    .await;
    assert!(f4["pipeline_id"].is_null());
    assert!(f4["stage_id"].is_null());
    assert_eq!(app.get("/forms", 200).await.body["meta"]["total"], 4);
});

backend_test!(create_validation, |app| async move {
    let ok_fields = json!([{"key": "name", "type": "text"}]);
    let base = |extra: Value| {
        let mut b = json!({"name": "F", "object_type": "lead", "fields": ok_fields});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                b.as_object_mut().unwrap().remove(k);
            } else {
                b[k] = v.clone();
            }
        }
        b
    };
    let many: Vec<Value> = (0..51)
        .map(|i| json!({"key": format!("f{i}"), "type": "text"}))
        .collect();
    let cases: Vec<(Value, &str)> = vec![
        (base(json!({"name": ""})), "name"),
        (base(json!({"name": "   "})), "name"),
        (base(json!({"name": "x".repeat(201)})), "name"),
        (base(json!({"name": 5})), "name"),
        (base(json!({"name": null})), "name"),
        (base(json!({"object_type": "nope"})), "object_type"),
        (
            base(json!({"object_type": uuid::Uuid::now_v7().to_string()})),
            "object_type",
        ),
        (base(json!({"object_type": null})), "object_type"),
        (base(json!({"fields": []})), "fields"),
        (base(json!({"fields": many})), "fields"),
        (base(json!({"fields": null})), "fields"),
        (
            base(json!({"fields": [{"key": "owner", "type": "member"}]})),
            "fields[0].type",
        ),
        (
            base(
                json!({"fields": [{"key": "a", "type": "text"}, {"key": "deal", "type": "record"}]}),
            ),
            "fields[1].type",
        ),
        (
            base(json!({"fields": [{"key": "Email", "type": "email"}]})),
            "fields[0].key",
        ),
        (
            base(json!({"fields": [{"key": "a", "type": "text"}, {"key": "a", "type": "number"}]})),
            "fields[1].key",
        ),
        (
            base(json!({"fields": [{"key": "s", "type": "select"}]})),
            "fields[0].options",
        ),
        (
            base(json!({"fields": [{"key": "s", "type": "multi_select", "options": []}]})),
            "fields[0].options",
        ),
        (
            base(json!({"fields": [{"key": "t", "type": "text", "options": ["x"]}]})),
            "fields[0].options",
        ),
        (base(json!({"pipeline": "nope"})), "pipeline"),
        (base(json!({"stage": "new"})), "stage"),
        (
            base(json!({"pipeline": "main-sales", "stage": "nope"})),
            "stage",
        ),
        (base(json!({"title_field": "missing"})), "title_field"),
        (
            base(json!({"fields": [{"key": "n", "type": "number"}], "title_field": "n"})),
            "title_field",
        ),
        (
            base(json!({"fields": [{"key": "b", "type": "boolean"}], "title_field": "b"})),
            "title_field",
        ),
        (base(json!({"bogus": 1})), "bogus"),
    ];
    for (body, field) in cases {
        let r = app.send(app.req(Method::POST, "/forms").json(&body)).await;
        assert_eq!(r.status.as_u16(), 400, "{body}: {}", r.text);
        r.error_code();
        assert_eq!(r.body["details"]["field"], field, "{body}: {}", r.text);
    }
    // The messages say what is wrong.
    let r = app
        .post("/forms", base(json!({"object_type": "nope"})), 400)
        .await;
    assert!(
        r.body["error"].as_str().unwrap().contains("'nope'"),
        "{}",
        r.text
    );
    let r = app
        .post(
            "/forms",
            base(json!({"fields": [{"key": "c", "type": "colour"}]})),
            400,
        )
        .await;
    assert!(
        s(&r.body["details"]["field"]).starts_with("fields[0]"),
        "{}",
        r.text
    );
    let r = app
        .post(
            "/forms",
            base(json!({"fields": [{"key": "c", "type": "text", "placeholder": "x"}]})),
            400,
        )
        .await;
    assert!(
        s(&r.body["details"]["field"]).starts_with("fields[0]"),
        "{}",
        r.text
    );
    // Malformed bodies.
    for raw in ["", "[]", "{", "\"form\"", "null"] {
        let r = app
            .send(
                app.req(Method::POST, "/forms")
                    .header("content-type", "application/json")
                    .body(raw),
            )
            .await;
        assert_eq!(r.status.as_u16(), 400, "{raw:?}: {}", r.text);
        r.error_code();
    }
    // A stage must be on the named board.
    let (_, elsewhere) = pipeline(app, "Elsewhere", &["Only"]).await;
    let r = app
        .post(
            "/forms",
            base(json!({"pipeline": "main-sales", "stage": elsewhere[0]})),
            400,
        )
        .await;
    assert_field(&r, "stage");
    // Nothing was created; the limits themselves are allowed.
    assert_eq!(app.get("/forms", 200).await.body["meta"]["total"], 0);
    let fifty: Vec<Value> = (0..50)
        .map(|i| json!({"key": format!("f{i}"), "type": "text"}))
        .collect();
    let f = form(app, base(json!({"name": "x".repeat(200), "fields": fifty}))).await;
    assert_eq!(f["fields"].as_array().unwrap().len(), 50);
    for t in ["text", "email", "phone", "url"] {
        form(
            app,
            base(json!({"fields": [{"key": "t", "type": t}], "title_field": "t"})),
        )
        .await;
    }
    assert_eq!(app.get("/forms", 200).await.body["meta"]["total"], 5);
});

backend_test!(create_checks_the_object_type, |app| async move {
    app.post(
        "/schema/object-types",
        json!({
            "name": "Applicant",
            "fields": [
                {"key": "full_name", "type": "text", "required": true},
                {"key": "age", "type": "number"},
                {"key": "level", "type": "select", "options": ["junior", "senior"]},
            ],
        }),
        201,
    )
    .await;
    let body =
        |fields: Value| json!({"name": "Apply", "object_type": "applicant", "fields": fields});
    // The type's required field must be asked, and asked as required.
    let r = app
        .post(
            "/forms",
            body(json!([{"key": "age", "type": "number"}])),
            400,
        )
        .await;
    assert_field(&r, "fields");
    assert!(
        r.body["error"].as_str().unwrap().contains("full_name"),
        "{}",
        r.text
    );
    let r = app
        .post(
            "/forms",
            body(json!([{"key": "full_name", "type": "text"}])),
            400,
        )
        .await;
    assert_field(&r, "fields");
    assert!(
        r.body["error"].as_str().unwrap().contains("full_name"),
        "{}",
        r.text
    );
    // A declared key keeps its declared type.
    let r = app
        .post(
            "/forms",
            body(json!([
                {"key": "full_name", "type": "text", "required": true},
                {"key": "age", "type": "text"},
            ])),
            400,
        )
        .await;
    assert_field(&r, "fields[1].type");
    assert!(
        r.body["error"].as_str().unwrap().contains("number"),
        "{}",
        r.text
    );
    let r = app
        .post(
            "/forms",
            body(json!([
                {"key": "full_name", "type": "text", "required": true},
                {"key": "level", "type": "multi_select", "options": ["junior"]},
            ])),
            400,
        )
        .await;
    assert_field(&r, "fields[1].type");
    // Select options must be the type's.
    let r = app
        .post(
            "/forms",
            body(json!([
                {"key": "full_name", "type": "text", "required": true},
                {"key": "level", "type": "select", "options": ["junior", "principal"]},
            ])),
            400,
        )
        .await;
    assert_field(&r, "fields[1].options");
    assert!(
        r.body["error"].as_str().unwrap().contains("principal"),
        "{}",
        r.text
    );
    assert_eq!(app.get("/forms", 200).await.body["meta"]["total"], 0);

    // A subset of the options, the type's optional fields left out and keys it does not
    // declare are fine.
    let f = form(
        app,
        body(json!([
            {"key": "full_name", "type": "text", "required": true},
            {"key": "level", "type": "select", "options": ["senior"]},
            {"key": "motivation", "type": "text"},
        ])),
    )
    .await;
    assert_eq!(f["object_type"], "applicant");
    let fid = s(&f["id"]);
    let sub = submit_ok(
        app,
        &fid,
        json!({"full_name": "Ada", "level": "senior", "motivation": "Engines"}),
    )
    .await;
    let rec = record(app, &s(&sub["record_id"])).await;
    assert_eq!(rec["object_types"]["slug"], "applicant");
    assert_eq!(
        rec["data"],
        json!({"full_name": "Ada", "level": "senior", "motivation": "Engines"})
    );
    assert_eq!(rec["title"], "Apply submission");
    // The form's narrower options apply to answers.
    let r = submit(app, &fid, json!({"full_name": "Bob", "level": "junior"})).await;
    assert_answer(&r, "level");
});

// ---- list ------------------------------------------------------------------------------------

backend_test!(list_filter_sort_and_cursor, |app| async move {
    let b = board(app).await;
    let mut made = Vec::new();
    for (name, ot, on_board) in [
        ("Delta", "lead", true),
        ("alpha", "contact", false),
        ("Charlie", "lead", false),
        ("Bravo", "contact", true),
        ("Echo", "company", false),
    ] {
        let mut body = json!({
            "name": name,
            "object_type": ot,
            "fields": [{"key": "name", "type": "text"}],
        });
        if on_board {
            body["pipeline"] = json!("main-sales");
        }
        made.push(s(&form(app, body).await["id"]));
    }
    // Default: newest first, offset mode with meta.
    let r = app.get("/forms", 200).await;
    assert_eq!(r.body["meta"]["total"], 5);
    assert_eq!(r.body["meta"]["page"], 1);
    let mut newest: Vec<String> = made.clone();
    newest.reverse();
    assert_eq!(ids(&r), newest);
    for f in r.data().as_array().unwrap() {
        assert_eq!(keys_of(f), FORM_KEYS);
    }
    let r = app.get("/forms?per_page=2&page=2", 200).await;
    assert_eq!(ids(&r), newest[2..4].to_vec());
    assert_eq!(r.body["meta"]["total"], 5);

    let names = |r: &Resp| -> Vec<String> {
        r.data()
            .as_array()
            .unwrap()
            .iter()
            .map(|f| s(&f["name"]))
            .collect()
    };
    let q = |params: &[(&str, &str)]| app.expect(app.req(Method::GET, "/forms").query(params), 200);
    let r = q(&[
        ("filter", r#"object_type.slug eq "contact""#),
        ("sort", "name"),
    ])
    .await;
    // Text sorts compare bytes (the same on both backends): upper case first.
    assert_eq!(names(&r), ["Bravo", "alpha"]);
    let r = q(&[("filter", "pipeline_id isnull"), ("sort", "-created_at")]).await;
    assert_eq!(names(&r), ["Echo", "Charlie", "alpha"]);
    let r = q(&[
        ("filter", &format!(r#"pipeline_id eq "{}""#, b.pipeline_id)),
        ("sort", "created_at"),
    ])
    .await;
    assert_eq!(names(&r), ["Delta", "Bravo"]);
    let r = q(&[(
        "filter",
        r#"pipeline.slug eq "main-sales" and name contains "ELT""#,
    )])
    .await;
    assert_eq!(names(&r), ["Delta"]);
    let r = q(&[(
        "filter",
        r#"{"field": "name", "op": "startswith", "value": "ch"}"#,
    )])
    .await;
    assert_eq!(names(&r), ["Charlie"]);
    let r = q(&[("sort", "created_at")]).await;
    assert_eq!(ids(&r), made);

    // Cursor mode walks every form once, in order.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut params = vec![("page[size]".to_string(), "2".to_string())];
        if let Some(c) = &cursor {
            params.push(("page[cursor]".into(), c.clone()));
        }
        let r = app
            .expect(app.req(Method::GET, "/forms").query(&params), 200)
            .await;
        assert_eq!(r.body["meta"]["path"], "/api/v1/forms", "{}", r.text);
        assert!(r.body["meta"].get("total").is_none());
        seen.extend(ids(&r));
        match r.body["meta"]["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(seen.len() <= 10, "runaway cursor walk");
    }
    assert_eq!(seen, newest);

    // Bad parameters are 400s.
    for params in [
        [("filter", r#"titel eq "x""#)],
        [("sort", "colour")],
        [("page[cursor]", "garbage")],
        [("per_page", "0")],
    ] {
        let r = app
            .send(app.req(Method::GET, "/forms").query(&params))
            .await;
        assert_eq!(r.status.as_u16(), 400, "{params:?}: {}", r.text);
        r.error_code();
    }
    // Deleted forms are not listed.
    app.delete(&format!("/forms/{}", made[0]), 200).await;
    let r = app.get("/forms", 200).await;
    assert_eq!(r.body["meta"]["total"], 4);
    assert!(!ids(&r).contains(&made[0]));
});

// ---- update and delete -----------------------------------------------------------------------

backend_test!(patch_form, |app| async move {
    let b = board(app).await;
    let f = form(
        app,
        json!({
            "name": "Quote",
            "object_type": "lead",
            "pipeline": "main-sales",
            "stage": "contacted",
            "fields": [
                {"key": "name", "type": "text", "required": true},
                {"key": "company", "type": "text"},
            ],
            "title_field": "company",
        }),
    )
    .await;
    let id = s(&f["id"]);
    let path = format!("/forms/{id}");

    // Nothing changed: same form, same updated_at.
    let r = app.patch(&path, json!({}), 200).await;
    assert_eq!(r.data(), &f);
    let r = app.patch(&path, json!({"name": "Quote"}), 200).await;
    assert_eq!(r.data(), &f);

    tokio::time::sleep(Duration::from_millis(5)).await;
    let r = app
        .patch(&path, json!({"name": " Get a quote "}), 200)
        .await;
    let g = r.data().clone();
    assert_eq!(g["name"], "Get a quote");
    assert_eq!(g["created_at"], f["created_at"]);
    assert_ne!(g["updated_at"], f["updated_at"]);
    assert!(s(&g["updated_at"]) > s(&f["updated_at"]));
    assert_eq!(app.get(&path, 200).await.data(), &g);

    // Stage only: on the same board.
    let r = app.patch(&path, json!({"stage": "won"}), 200).await;
    assert_eq!(r.data()["pipeline_id"], b.pipeline_id.as_str());
    assert_eq!(r.data()["stage_id"], b.won.as_str());
    // `stage: null` keeps the board, first stage from then on.
    let r = app.patch(&path, json!({"stage": null}), 200).await;
    assert_eq!(r.data()["pipeline_id"], b.pipeline_id.as_str());
    assert!(r.data()["stage_id"].is_null());
    // Another board: its stage unless given.
    let (other, other_stages) = pipeline(app, "Hiring", &["Applied", "Interview"]).await;
    let r = app
        .patch(
            &path,
            json!({"pipeline": "hiring", "stage": "interview"}),
            200,
        )
        .await;
    assert_eq!(r.data()["pipeline_id"], other.as_str());
    assert_eq!(r.data()["stage_id"], other_stages[1].as_str());
    let r = app
        .patch(&path, json!({"pipeline": "Main Sales"}), 200)
        .await;
    assert_eq!(r.data()["pipeline_id"], b.pipeline_id.as_str());
    assert!(r.data()["stage_id"].is_null());
    // `pipeline: null` takes the form off boards.
    let r = app.patch(&path, json!({"pipeline": null}), 200).await;
    assert!(r.data()["pipeline_id"].is_null());
    assert!(r.data()["stage_id"].is_null());

    // Fields, title field and object type.
    let r = app.patch(&path, json!({"title_field": null}), 200).await;
    assert!(r.data()["title_field"].is_null());
    let r = app
        .patch(
            &path,
            json!({"fields": [{"key": "email", "type": "email", "required": true}], "title_field": "email"}),
            200,
        )
        .await;
    assert_eq!(
        r.data()["fields"],
        json!([{"key": "email", "label": null, "type": "email", "required": true}])
    );
    assert_eq!(r.data()["title_field"], "email");
    let contact = type_id(app, "contact").await;
    let r = app
        .patch(&path, json!({"object_type": "contact"}), 200)
        .await;
    assert_eq!(r.data()["object_type"], "contact");
    assert_eq!(r.data()["object_type_id"], contact.as_str());
    let before = app.get(&path, 200).await;
    let current = before.data().clone();

    // Refused changes leave the form as it was.
    let cases: Vec<(Value, &str)> = vec![
        (json!({"name": null}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"object_type": null}), "object_type"),
        (json!({"object_type": "nope"}), "object_type"),
        (json!({"fields": null}), "fields"),
        (json!({"fields": []}), "fields"),
        (
            json!({"fields": [{"key": "x", "type": "member"}]}),
            "fields[0].type",
        ),
        // The title field must stay a field of the form.
        (
            json!({"fields": [{"key": "name", "type": "text"}]}),
            "title_field",
        ),
        (json!({"title_field": "nope"}), "title_field"),
        (json!({"stage": "won"}), "stage"),
        (json!({"pipeline": "nope"}), "pipeline"),
        (json!({"pipeline": "main-sales", "stage": "nope"}), "stage"),
        (json!({"colour": "red"}), "colour"),
    ];
    for (body, field) in cases {
        let r = app.send(app.req(Method::PATCH, &path).json(&body)).await;
        assert_eq!(r.status.as_u16(), 400, "{body}: {}", r.text);
        r.error_code();
        assert_eq!(r.body["details"]["field"], field, "{body}: {}", r.text);
    }
    assert_eq!(app.get(&path, 200).await.data(), &current);

    // If-Match.
    let etag = before.header("etag").unwrap().to_string();
    let r = app
        .expect(
            app.req(Method::PATCH, &path)
                .header("if-match", "\"stale\"")
                .json(&json!({"name": "Stale"})),
            412,
        )
        .await;
    assert_eq!(r.error_code(), "precondition_failed");
    let r = app
        .expect(
            app.req(Method::PATCH, &path)
                .header("if-match", &etag)
                .json(&json!({"name": "Fresh"})),
            200,
        )
        .await;
    assert_eq!(r.data()["name"], "Fresh");
    // The old tag is stale now.
    app.expect(
        app.req(Method::PATCH, &path)
            .header("if-match", &etag)
            .json(&json!({"name": "Again"})),
        412,
    )
    .await;
    assert_eq!(app.get(&path, 200).await.data()["name"], "Fresh");

    // Unknown and malformed ids.
    let unknown = uuid::Uuid::now_v7();
    for p in [format!("/forms/{unknown}"), "/forms/not-an-id".to_string()] {
        let r = app.patch(&p, json!({"name": "x"}), 404).await;
        assert_not_found(&r);
        let r = app.get(&p, 404).await;
        assert_not_found(&r);
        let r = app.delete(&p, 404).await;
        assert_not_found(&r);
    }
});

backend_test!(patch_changes_what_submissions_do, |app| async move {
    let b = board(app).await;
    let id = lead_form(app, "Changing").await;
    let path = format!("/forms/{id}");
    let first = submit_ok(app, &id, json!({"name": "One"})).await;
    let r1 = record(app, &s(&first["record_id"])).await;
    assert!(r1["pipeline_id"].is_null());
    assert_eq!(r1["object_types"]["slug"], "lead");

    app.patch(
        &path,
        json!({
            "object_type": "company",
            "pipeline": "main-sales",
            "stage": "won",
            "fields": [{"key": "domain", "type": "url", "required": true}],
            "title_field": "domain",
        }),
        200,
    )
    .await;
    // The old fields are gone.
    let r = submit(app, &id, json!({"name": "Two"})).await;
    assert_answer(&r, "name");
    let second = submit_ok(app, &id, json!({"domain": "https://acme.example"})).await;
    let r2 = record(app, &s(&second["record_id"])).await;
    assert_eq!(r2["object_types"]["slug"], "company");
    assert_eq!(r2["title"], "https://acme.example");
    assert_eq!(r2["pipeline_id"], b.pipeline_id.as_str());
    assert_eq!(r2["stage_id"], b.won.as_str());
    let names = record_event_names(app, &s(&r2["id"])).await;
    assert_eq!(
        names,
        [
            "company.created",
            "pipeline.stage_changed",
            "record.created"
        ]
    );
    // The first record is untouched.
    assert_eq!(record(app, &s(&r1["id"])).await, r1);
});

backend_test!(delete_form, |app| async move {
    let id = lead_form(app, "Short-lived").await;
    let path = format!("/forms/{id}");
    let sub = submit_ok(app, &id, json!({"name": "Early bird"})).await;
    let rid = s(&sub["record_id"]);

    let g = app.get(&path, 200).await;
    app.expect(
        app.req(Method::DELETE, &path)
            .header("if-match", "\"stale\""),
        412,
    )
    .await;
    app.get(&path, 200).await;
    let r = app
        .expect(
            app.req(Method::DELETE, &path)
                .header("if-match", g.header("etag").unwrap()),
            200,
        )
        .await;
    assert_eq!(r.data(), &json!({"deleted": true, "id": id}));

    assert_not_found(&app.get(&path, 404).await);
    assert_not_found(&app.delete(&path, 404).await);
    assert_not_found(&app.patch(&path, json!({"name": "Back"}), 404).await);
    assert_eq!(app.get("/forms", 200).await.body["meta"]["total"], 0);
    // Its address stops taking submissions; what it created stays.
    let r = submit(app, &id, json!({"name": "Late"})).await;
    assert_not_found(&r);
    let rec = record(app, &rid).await;
    assert_eq!(rec["title"], "Early bird");
    assert_eq!(submissions(app).await.len(), 1);
    assert_eq!(lead_ids(app).await, BTreeSet::from([rid]));
});

// ---- submissions ------------------------------------------------------------------------------

backend_test!(submit_creates_a_record_with_events, |app| async move {
    let b = board(app).await;
    let f = form(
        app,
        json!({
            "name": "Website enquiry",
            "object_type": "lead",
            "pipeline": "main-sales",
            "stage": "contacted",
            "fields": [
                {"key": "name", "label": "Name", "type": "text", "required": true},
                {"key": "email", "label": "Email", "type": "email", "required": true},
                {"key": "budget", "type": "number"},
                {"key": "callback", "type": "boolean"},
                {"key": "interest", "type": "select", "options": ["kitchen", "bath"]},
                {"key": "message", "type": "text"},
            ],
        }),
    )
    .await;
    let fid = s(&f["id"]);
    let answers = json!({
        "name": "Ann Example",
        "email": "ann@example.com",
        "budget": 12000,
        "callback": true,
        "interest": "bath",
    });
    // No API key; an Idempotency-Key is ignored rather than demanding one.
    let r = app
        .send(
            app.client
                .post(submit_url(app, &fid))
                .header("idempotency-key", "form-1")
                .json(&answers),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let sub = r.data().clone();
    assert_eq!(
        keys_of(&sub),
        ["form_id", "id", "record_id", "submitted_at"]
    );
    assert_eq!(sub["form_id"], fid.as_str());
    assert!(uuid::Uuid::parse_str(&s(&sub["id"])).is_ok());
    assert!(
        is_timestamp(&sub["submitted_at"]),
        "{}",
        sub["submitted_at"]
    );
    assert_ne!(sub["id"], sub["record_id"]);

    let rid = s(&sub["record_id"]);
    let rec = record(app, &rid).await;
    assert_eq!(rec["id"], rid.as_str());
    assert_eq!(rec["title"], "Ann Example");
    assert_eq!(rec["data"], answers);
    assert_eq!(rec["object_types"]["slug"], "lead");
    assert_eq!(rec["pipeline_id"], b.pipeline_id.as_str());
    assert_eq!(rec["stage_id"], b.contacted.as_str());
    assert!(rec["position"].is_string(), "{rec}");
    assert!(rec["assignee_id"].is_null());
    assert_eq!(rec["created_at"], sub["submitted_at"]);
    // It is an ordinary record: listed, searchable.
    let r = app.get("/records?type=lead&search=Ann", 200).await;
    assert_eq!(ids(&r), vec![rid.clone()]);

    // Events: the record's, on the board, and the submission.
    let evs = app.events().await;
    let about_record: Vec<&(String, Value)> = evs
        .iter()
        .filter(|(_, d)| d["id"] == rid.as_str())
        .collect();
    let mut names: Vec<&str> = about_record.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    assert_eq!(names, ["pipeline.stage_changed", "record.created"]);
    let created = &about_record
        .iter()
        .find(|(n, _)| n == "record.created")
        .unwrap()
        .1;
    assert_eq!(created, &rec);
    let moved = &about_record
        .iter()
        .find(|(n, _)| n == "pipeline.stage_changed")
        .unwrap()
        .1;
    assert!(moved["from_stage_id"].is_null());
    assert_eq!(moved["to_stage_id"], b.contacted.as_str());
    assert_eq!(moved["pipeline_id"], b.pipeline_id.as_str());
    let subs = submissions(app).await;
    assert_eq!(subs.len(), 1);
    assert_eq!(
        subs[0],
        json!({
            "id": sub["id"],
            "form_id": fid,
            "form_name": "Website enquiry",
            "record_id": rid,
            "data": answers,
            "submitted_at": sub["submitted_at"],
        })
    );
    // Also through the event log's own filter, with the form's envelope.
    let r = app
        .expect(
            app.req(Method::GET, "/events")
                .query(&[("filter", r#"event eq "form.submitted""#)]),
            200,
        )
        .await;
    let listed = r.data().as_array().unwrap();
    assert_eq!(listed.len(), 1, "{}", r.text);
    assert_eq!(listed[0]["event"], "form.submitted");
    assert_eq!(listed[0]["data"], subs[0]);
    assert_eq!(listed[0]["timestamp"], sub["submitted_at"]);

    // The same answers again make a second record (the Idempotency-Key is not honoured here).
    let again = app
        .send(
            app.client
                .post(submit_url(app, &fid))
                .header("idempotency-key", "form-1")
                .json(&answers),
        )
        .await;
    assert_eq!(again.status.as_u16(), 201, "{}", again.text);
    assert_ne!(again.data()["record_id"], sub["record_id"]);
    assert_ne!(again.data()["id"], sub["id"]);
    assert_eq!(lead_ids(app).await.len(), 2);
    assert_eq!(submissions(app).await.len(), 2);
});

backend_test!(submit_titles, |app| async move {
    // title_field wins.
    let f = s(&form(
        app,
        json!({
            "name": "Titled",
            "object_type": "lead",
            "fields": [
                {"key": "name", "type": "text"},
                {"key": "company", "type": "text"},
                {"key": "title", "type": "text"},
            ],
            "title_field": "company",
        }),
    )
    .await["id"]);
    let sub = submit_ok(
        app,
        &f,
        json!({"name": "Ann", "company": "  Acme Ltd ", "title": "CEO"}),
    )
    .await;
    let rec = record(app, &s(&sub["record_id"])).await;
    assert_eq!(rec["title"], "Acme Ltd");
    assert_eq!(rec["data"]["company"], "Acme Ltd", "answers are trimmed");
    // The title field left empty: the form's name.
    let sub = submit_ok(app, &f, json!({"name": "Ann", "company": ""})).await;
    assert_eq!(
        record(app, &s(&sub["record_id"])).await["title"],
        "Titled submission"
    );

    // Without title_field: `name`, else `title`, else the form's name.
    let g = s(&form(
        app,
        json!({
            "name": "Untitled form",
            "object_type": "lead",
            "fields": [
                {"key": "name", "type": "text"},
                {"key": "title", "type": "text"},
                {"key": "note", "type": "text"},
            ],
        }),
    )
    .await["id"]);
    for (answers, title) in [
        (json!({"name": "Bea", "title": "CTO"}), "Bea"),
        (json!({"name": "   ", "title": "CTO"}), "CTO"),
        (json!({"title": " Head of Ops "}), "Head of Ops"),
        (json!({"note": "hello"}), "Untitled form submission"),
        (json!({}), "Untitled form submission"),
    ] {
        let sub = submit_ok(app, &g, answers.clone()).await;
        let rec = record(app, &s(&sub["record_id"])).await;
        assert_eq!(rec["title"], title, "{answers}");
    }
    // A title as long as a record title may be.
    let long = "é".repeat(1000);
    let sub = submit_ok(app, &g, json!({"name": long})).await;
    assert_eq!(record(app, &s(&sub["record_id"])).await["title"], long);
});

backend_test!(submit_places_cards_on_the_board, |app| async move {
    let b = board(app).await;
    // A card already in the first column, far along.
    let existing = app
        .post(
            "/records",
            json!({"type": "lead", "title": "Existing", "pipeline": "main-sales", "stage": "new", "position": "a5"}),
            201,
        )
        .await;
    assert_eq!(existing.data()["position"], "a5");
    let on_board = s(&form(
        app,
        json!({
            "name": "Board",
            "object_type": "lead",
            "pipeline": "main-sales",
            "fields": [{"key": "name", "type": "text"}],
        }),
    )
    .await["id"]);
    let mut last = "a5".to_string();
    for n in ["First", "Second"] {
        let sub = submit_ok(app, &on_board, json!({"name": n})).await;
        let rec = record(app, &s(&sub["record_id"])).await;
        assert_eq!(rec["pipeline_id"], b.pipeline_id.as_str());
        assert_eq!(
            rec["stage_id"],
            b.new.as_str(),
            "the pipeline's first stage"
        );
        let pos = s(&rec["position"]);
        assert!(pos > last, "{pos} is not after {last}");
        last = pos;
    }

    // Off boards: no place, no stage event.
    let loose = lead_form(app, "Loose").await;
    let sub = submit_ok(app, &loose, json!({"name": "Nowhere"})).await;
    let rid = s(&sub["record_id"]);
    let rec = record(app, &rid).await;
    assert!(rec["pipeline_id"].is_null());
    assert!(rec["stage_id"].is_null());
    assert!(rec["position"].is_null());
    assert_eq!(record_event_names(app, &rid).await, ["record.created"]);

    // The form's stage deleted: the pipeline's first stage.
    let (pid, stages) = pipeline(app, "Intake", &["Todo", "Review", "Done"]).await;
    let f = s(&form(
        app,
        json!({
            "name": "Intake",
            "object_type": "lead",
            "pipeline": pid,
            "stage": stages[2],
            "fields": [{"key": "name", "type": "text"}],
        }),
    )
    .await["id"]);
    app.delete(&format!("/schema/stages/{}", stages[2]), 200)
        .await;
    let sub = submit_ok(app, &f, json!({"name": "Orphan"})).await;
    let rec = record(app, &s(&sub["record_id"])).await;
    assert_eq!(rec["pipeline_id"], pid.as_str());
    assert_eq!(rec["stage_id"], stages[0].as_str());

    // The form's board deleted: no board.
    let (qid, qstages) = pipeline(app, "Scratch", &["One", "Two"]).await;
    let g = s(&form(
        app,
        json!({
            "name": "Scratch",
            "object_type": "lead",
            "pipeline": qid,
            "stage": qstages[1],
            "fields": [{"key": "name", "type": "text"}],
        }),
    )
    .await["id"]);
    app.delete(&format!("/schema/pipelines/{qid}"), 200).await;
    let sub = submit_ok(app, &g, json!({"name": "Boardless"})).await;
    let rid = s(&sub["record_id"]);
    let rec = record(app, &rid).await;
    assert!(rec["pipeline_id"].is_null(), "{rec}");
    assert!(rec["stage_id"].is_null(), "{rec}");
    assert_eq!(record_event_names(app, &rid).await, ["record.created"]);
});

backend_test!(
    submit_contacts_and_companies_fire_their_events,
    |app| async move {
        let b = board(app).await;
        let c = s(&form(
            app,
            json!({
                "name": "Newsletter",
                "object_type": "contact",
                "pipeline": "main-sales",
                "fields": [
                    {"key": "name", "type": "text", "required": true},
                    {"key": "email", "type": "email", "required": true},
                ],
            }),
        )
        .await["id"]);
        let sub = submit_ok(app, &c, json!({"name": "Cy", "email": "cy@example.com"})).await;
        let cid = s(&sub["record_id"]);
        assert_eq!(
            record_event_names(app, &cid).await,
            [
                "contact.created",
                "pipeline.stage_changed",
                "record.created"
            ]
        );
        let rec = record(app, &cid).await;
        assert_eq!(rec["object_types"]["slug"], "contact");
        assert_eq!(rec["stage_id"], b.new.as_str());
        let evs = app.events().await;
        let contact_created = evs
            .iter()
            .find(|(n, d)| n == "contact.created" && d["id"] == cid.as_str())
            .unwrap();
        assert_eq!(contact_created.1, rec);

        let co = s(&form(
            app,
            json!({
                "name": "Partners",
                "object_type": "company",
                "fields": [{"key": "name", "type": "text", "required": true}],
            }),
        )
        .await["id"]);
        let sub = submit_ok(app, &co, json!({"name": "Acme"})).await;
        assert_eq!(
            record_event_names(app, &s(&sub["record_id"])).await,
            ["company.created", "record.created"]
        );
        // A lead has no such companion event.
        let l = lead_form(app, "Leads").await;
        let sub = submit_ok(app, &l, json!({"name": "Lee"})).await;
        assert_eq!(
            record_event_names(app, &s(&sub["record_id"])).await,
            ["record.created"]
        );
        assert_eq!(submissions(app).await.len(), 3);
    }
);

backend_test!(submit_coerces_html_style_answers, |app| async move {
    let f = typed_form(app).await;
    let sub = submit_ok(
        app,
        &f,
        json!({
            "email": " ann@example.com ",
            "name": " Ann ",
            "age": " 42 ",
            "subscribed": "on",
            "plan": "pro",
            "tags": "b",
            "start": "2026-03-14",
            "at": "2026-03-14T18:30:00.000Z",
            "site": "https://example.com/x",
            "phone": "+1 555 0100",
        }),
    )
    .await;
    let rec = record(app, &s(&sub["record_id"])).await;
    let d = &rec["data"];
    assert_eq!(d["email"], "ann@example.com");
    assert_eq!(d["name"], "Ann");
    assert_eq!(d["age"].as_f64(), Some(42.0), "{d}");
    assert_eq!(d["subscribed"], true);
    assert_eq!(d["plan"], "pro");
    assert_eq!(d["tags"], json!(["b"]));
    assert_eq!(d["start"], "2026-03-14");
    assert_eq!(d["at"], "2026-03-14T18:30:00.000Z");
    assert_eq!(d["site"], "https://example.com/x");
    assert_eq!(d["phone"], "+1 555 0100");
    assert_eq!(rec["title"], "Ann");
    // The submission event carries the same (coerced) data.
    let subs = submissions(app).await;
    assert_eq!(subs[0]["data"], rec["data"]);

    for (given, want) in [
        ("true", true),
        ("false", false),
        ("off", false),
        ("no", false),
        ("yes", true),
        ("1", true),
        ("0", false),
    ] {
        let sub = submit_ok(
            app,
            &f,
            json!({"email": "b@example.com", "name": "B", "subscribed": given}),
        )
        .await;
        let d = record(app, &s(&sub["record_id"])).await["data"].clone();
        assert_eq!(d["subscribed"], want, "{given}");
    }

    // Native JSON values as they are; empty answers left out.
    let g = typed_form(app).await;
    let sub = submit_ok(
        app,
        &g,
        json!({
            "email": "c@example.com",
            "name": "C",
            "age": 7.5,
            "subscribed": false,
            "tags": ["a", "c"],
            "plan": "",
            "site": null,
            "phone": "   ",
        }),
    )
    .await;
    let d = record(app, &s(&sub["record_id"])).await["data"].clone();
    assert_eq!(
        d,
        json!({"email": "c@example.com", "name": "C", "age": 7.5, "subscribed": false, "tags": ["a", "c"]})
    );
    let sub = submit_ok(
        app,
        &g,
        json!({"email": "d@example.com", "name": "D", "age": "-3.25"}),
    )
    .await;
    let d = record(app, &s(&sub["record_id"])).await["data"].clone();
    assert_eq!(d["age"].as_f64(), Some(-3.25), "{d}");
});

backend_test!(submit_html_form_posts, |app| async move {
    let f = typed_form(app).await;
    let r = app
        .send(
            app.client
                .post(submit_url(app, &f))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("email=ann%40example.com&name=Ann+Lee&age=42&subscribed=on&tags=a&tags=c&plan=&start=2026-03-14"),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let rec = record(app, &s(&r.data()["record_id"])).await;
    let d = &rec["data"];
    assert_eq!(d["email"], "ann@example.com");
    assert_eq!(d["name"], "Ann Lee");
    assert_eq!(d["age"].as_f64(), Some(42.0), "{d}");
    assert_eq!(d["subscribed"], true);
    assert_eq!(d["tags"], json!(["a", "c"]));
    assert_eq!(d["start"], "2026-03-14");
    assert!(d.get("plan").is_none(), "an empty answer is left out: {d}");
    assert_eq!(rec["title"], "Ann Lee");

    // The same checks apply.
    let r = app
        .send(
            app.client
                .post(submit_url(app, &f))
                .header(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )
                .body("email=ann%40example.com&name=Ann&colour=red"),
        )
        .await;
    assert_answer(&r, "colour");
    let r = app
        .send(
            app.client
                .post(submit_url(app, &f))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("name=Ann&age=forty"),
        )
        .await;
    assert_answer(&r, "email");
    assert_eq!(lead_ids(app).await.len(), 1);
});

backend_test!(submit_validation, |app| async move {
    let ok = || json!({"email": "ann@example.com", "name": "Ann"});
    let with = |k: &str, v: Value| {
        let mut b = ok();
        b[k] = v;
        b
    };
    let cases: Vec<(Value, &str)> = vec![
        // Unknown keys.
        (with("colour", json!("red")), "colour"),
        (with("data", json!({"x": 1})), "data"),
        // Required answers: missing, null, empty, blank.
        (json!({}), "email"),
        (json!({"name": "Ann"}), "email"),
        (json!({"email": "ann@example.com"}), "name"),
        (with("email", Value::Null), "email"),
        (with("email", json!("")), "email"),
        (with("name", json!("   ")), "name"),
        // Wrong types and values.
        (with("email", json!("not-an-email")), "email"),
        (with("email", json!(["ann@example.com"])), "email"),
        (with("name", json!(42)), "name"),
        (with("name", json!({"first": "Ann"})), "name"),
        (with("age", json!("forty")), "age"),
        (with("age", json!("NaN")), "age"),
        (with("age", json!("inf")), "age"),
        (with("age", json!(true)), "age"),
        (with("subscribed", json!("maybe")), "subscribed"),
        (with("subscribed", json!(1)), "subscribed"),
        (with("plan", json!("enterprise")), "plan"),
        (with("plan", json!(["pro"])), "plan"),
        (with("plan", json!("PRO")), "plan"),
        (with("tags", json!(["a", "z"])), "tags"),
        (with("tags", json!("z")), "tags"),
        (with("tags", json!([1])), "tags"),
        (with("start", json!("2026-02-30")), "start"),
        (with("start", json!("14/03/2026")), "start"),
        (with("at", json!("yesterday")), "at"),
        (with("site", json!("ftp://example.com")), "site"),
        (with("site", json!("example.com")), "site"),
        (with("phone", json!(5550100)), "phone"),
    ];
    // Invalid submissions count against the rate limit: a few per form.
    let mut form_id = String::new();
    for (i, (body, key)) in cases.into_iter().enumerate() {
        if i % 5 == 0 {
            form_id = typed_form(app).await;
        }
        let r = submit(app, &form_id, body.clone()).await;
        assert_eq!(r.status.as_u16(), 400, "{body}: {}", r.text);
        assert_eq!(r.error_code(), "validation_failed", "{body}: {}", r.text);
        assert_eq!(r.body["details"]["field"], key, "{body}: {}", r.text);
        let msg = r.body["error"].as_str().unwrap();
        assert!(msg.contains(&format!("'{key}'")), "{body}: {}", r.text);
        assert!(!msg.contains("data."), "{body}: {}", r.text);
    }
    // Bodies that are not an object of answers.
    let f = typed_form(app).await;
    for raw in ["[]", "\"Ann\"", "42", "{", "", "null"] {
        let r = app
            .send(
                app.client
                    .post(submit_url(app, &f))
                    .header("content-type", "application/json")
                    .body(raw),
            )
            .await;
        assert_eq!(r.status.as_u16(), 400, "{raw:?}: {}", r.text);
        r.error_code();
    }
    // Nothing was created.
    assert!(lead_ids(app).await.is_empty());
    assert!(submissions(app).await.is_empty());
    let g = typed_form(app).await;
    submit_ok(app, &g, ok()).await;
    assert_eq!(lead_ids(app).await.len(), 1);
});

backend_test!(submit_to_missing_forms_is_404, |app| async move {
    let unknown = uuid::Uuid::now_v7().to_string();
    for id in [unknown.as_str(), "garbage", "0", "%20"] {
        let r = submit(app, id, json!({"name": "x"})).await;
        assert_not_found(&r);
    }
    // A form of another workspace is reachable (the address is the credential), a deleted
    // one is not.
    let id = lead_form(app, "Gone").await;
    app.delete(&format!("/forms/{id}"), 200).await;
    assert_not_found(&submit(app, &id, json!({"name": "x"})).await);
    // Only POST.
    let r = app.send(app.client.get(submit_url(app, &unknown))).await;
    assert_eq!(r.status.as_u16(), 405, "{}", r.text);
    assert!(lead_ids(app).await.is_empty());
});

backend_test!(submit_when_the_object_type_is_gone, |app| async move {
    let t = app
        .post(
            "/schema/object-types",
            json!({"name": "Volunteer", "fields": [{"key": "name", "type": "text", "required": true}]}),
            201,
        )
        .await;
    let tid = s(&t.data()["id"]);
    let f = s(&form(
        app,
        json!({
            "name": "Volunteer",
            "object_type": "volunteer",
            "fields": [{"key": "name", "type": "text", "required": true}],
        }),
    )
    .await["id"]);
    app.delete(&format!("/schema/object-types/{tid}"), 200)
        .await;
    let r = submit(app, &f, json!({"name": "Vi"})).await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.text);
    assert_eq!(r.error_code(), "conflict");
    assert!(submissions(app).await.is_empty());
    // The form stays readable; a change must name a live object type.
    let g = app.get(&format!("/forms/{f}"), 200).await;
    assert_eq!(g.data()["object_type_id"], tid.as_str());
    let r = app
        .patch(&format!("/forms/{f}"), json!({"name": "Helpers"}), 400)
        .await;
    assert_field(&r, "object_type");
    let r = app
        .patch(
            &format!("/forms/{f}"),
            json!({"object_type": "contact"}),
            200,
        )
        .await;
    assert_eq!(r.data()["object_type"], "contact");
    let sub = submit_ok(app, &f, json!({"name": "Vi"})).await;
    let rec = record(app, &s(&sub["record_id"])).await;
    assert_eq!(rec["object_types"]["slug"], "contact");
});

// ---- rate limit ------------------------------------------------------------------------------

backend_test!(
    submissions_are_rate_limited_per_form_and_address,
    with behind_local_proxy,
    |app| async move {
        let f = lead_form(app, "Busy").await;
        // Invalid submissions count too.
        for _ in 0..3 {
            let r = submit(app, &f, json!({"colour": "red"})).await;
            assert_eq!(r.status.as_u16(), 400, "{}", r.text);
        }
        let mut made = BTreeSet::new();
        for i in 0..7 {
            let sub = submit_ok(app, &f, json!({"name": format!("Visitor {i}")})).await;
            made.insert(s(&sub["record_id"]));
        }
        let r = submit(app, &f, json!({"name": "One too many"})).await;
        assert_eq!(r.status.as_u16(), 429, "{}", r.text);
        assert_eq!(r.error_code(), "rate_limited");
        let secs: u64 = r
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("Retry-After in seconds");
        assert!((1..=6).contains(&secs), "Retry-After {secs}");
        // Still limited, whatever the answers.
        let r = submit(app, &f, json!({"colour": "red"})).await;
        assert_eq!(r.status.as_u16(), 429, "{}", r.text);
        assert_eq!(lead_ids(app).await, made);
        assert_eq!(submissions(app).await.len(), 7);

        // Another form from the same address has its own allowance.
        let g = lead_form(app, "Quiet").await;
        submit_ok(app, &g, json!({"name": "Elsewhere"})).await;
        // Another client address (through the local proxy's X-Forwarded-For) too.
        let r = app
            .send(
                app.client
                    .post(submit_url(app, &f))
                    .header("x-forwarded-for", "203.0.113.7")
                    .json(&json!({"name": "From afar"})),
            )
            .await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.text);
        // The admin API is not limited by it.
        app.get(&format!("/forms/{f}"), 200).await;
    }
);

backend_test!(
    forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy,
    |app| async move {
        // By default no peer is trusted, loopback included: a client cannot escape the limit
        // by naming a new address in each request.
        let f = lead_form(app, "Spoofed").await;
        for i in 0..10 {
            let r = app
                .send(
                    app.client
                        .post(submit_url(app, &f))
                        .header("x-forwarded-for", format!("198.51.100.{i}"))
                        .json(&json!({ "name": format!("s{i}") })),
                )
                .await;
            assert_eq!(r.status.as_u16(), 201, "{i}: {}", r.text);
        }
        let r = app
            .send(
                app.client
                    .post(submit_url(app, &f))
                    .header("x-forwarded-for", "198.51.100.99")
                    .json(&json!({"name": "one more"})),
            )
            .await;
        assert_eq!(r.status.as_u16(), 429, "{}", r.text);
    }
);

backend_test!(
    rate_limit_counts_each_address_separately,
    with behind_local_proxy,
    |app| async move {
        let f = lead_form(app, "Shared").await;
        let from = |ip: &'static str, name: &str| {
            app.client
                .post(submit_url(app, &f))
                .header("x-forwarded-for", ip)
                .json(&json!({ "name": name }))
        };
        for i in 0..10 {
            let r = app.send(from("198.51.100.1", &format!("a{i}"))).await;
            assert_eq!(r.status.as_u16(), 201, "{i}: {}", r.text);
        }
        let r = app.send(from("198.51.100.1", "a10")).await;
        assert_eq!(r.status.as_u16(), 429, "{}", r.text);
        let secs: u64 = r
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .expect("Retry-After in seconds");
        assert!((1..=6).contains(&secs), "Retry-After {secs}");
        for i in 0..10 {
            let r = app.send(from("198.51.100.2", &format!("b{i}"))).await;
            assert_eq!(r.status.as_u16(), 201, "{i}: {}", r.text);
        }
        let r = app.send(from("198.51.100.2", "b10")).await;
        assert_eq!(r.status.as_u16(), 429, "{}", r.text);
        assert_eq!(lead_ids(app).await.len(), 20);
        // Retry-After tells the truth: after it, one more is let through (and only one).
        tokio::time::sleep(Duration::from_millis(secs * 1000 + 100)).await;
        let r = app.send(from("198.51.100.1", "a11")).await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.text);
        let r = app.send(from("198.51.100.1", "a12")).await;
        assert_eq!(r.status.as_u16(), 429, "{}", r.text);
        assert_eq!(lead_ids(app).await.len(), 21);
    }
);

// ---- scopes and workspaces -------------------------------------------------------------------

backend_test!(scopes, |app| async move {
    let id = lead_form(app, "Scoped").await;
    let path = format!("/forms/{id}");
    let body =
        json!({"name": "F", "object_type": "lead", "fields": [{"key": "name", "type": "text"}]});
    for scope in ["write", "read"] {
        let key = app.key(scope).await;
        let r = app
            .expect(app.req_as(&key, Method::POST, "/forms").json(&body), 403)
            .await;
        assert_eq!(r.error_code(), "forbidden");
        let r = app
            .expect(
                app.req_as(&key, Method::PATCH, &path)
                    .json(&json!({"name": "Mine"})),
                403,
            )
            .await;
        assert_eq!(r.error_code(), "forbidden");
        let r = app
            .expect(app.req_as(&key, Method::DELETE, &path), 403)
            .await;
        assert_eq!(r.error_code(), "forbidden");
        // Reading is fine.
        let r = app.expect(app.req_as(&key, Method::GET, &path), 200).await;
        assert_eq!(r.data()["name"], "Scoped");
        let r = app
            .expect(app.req_as(&key, Method::GET, "/forms"), 200)
            .await;
        assert_eq!(ids(&r), vec![id.clone()]);
    }
    // No key or a bad one.
    for rb in [
        app.client.get(app.url("/forms")),
        app.client.get(app.url(&path)),
        app.client.post(app.url("/forms")).json(&body),
        app.req_as("lw_live_nope", Method::GET, "/forms"),
    ] {
        let r = app.send(rb).await;
        assert_eq!(r.status.as_u16(), 401, "{}", r.text);
        assert_eq!(r.error_code(), "unauthorized");
    }
    let g = app.get(&path, 200).await;
    assert_eq!(g.data()["name"], "Scoped");
    assert_eq!(app.get("/forms", 200).await.body["meta"]["total"], 1);
});

backend_test!(workspace_isolation, |app| async move {
    let b = board(app).await;
    let id = lead_form(app, "Ours").await;
    let path = format!("/forms/{id}");
    let other = app.other_workspace().await;
    let as_other = |m: Method, p: &str| app.req_as(&other, m, p);

    assert_not_found(&app.expect(as_other(Method::GET, &path), 404).await);
    assert_not_found(
        &app.expect(
            as_other(Method::PATCH, &path).json(&json!({"name": "Theirs"})),
            404,
        )
        .await,
    );
    assert_not_found(&app.expect(as_other(Method::DELETE, &path), 404).await);
    let r = app.expect(as_other(Method::GET, "/forms"), 200).await;
    assert_eq!(r.body["meta"]["total"], 0);
    assert_eq!(app.get(&path, 200).await.data()["name"], "Ours");

    // Our object type and board cannot be named from there.
    let lead = type_id(app, "lead").await;
    let r = app
        .expect(
            as_other(Method::POST, "/forms").json(&json!({
                "name": "Borrowed",
                "object_type": lead,
                "fields": [{"key": "name", "type": "text"}],
            })),
            400,
        )
        .await;
    assert_field(&r, "object_type");
    let r = app
        .expect(
            as_other(Method::POST, "/forms").json(&json!({
                "name": "Borrowed",
                "object_type": "lead",
                "pipeline": b.pipeline_id,
                "fields": [{"key": "name", "type": "text"}],
            })),
            400,
        )
        .await;
    assert_field(&r, "pipeline");

    // Their form's submissions land in their workspace.
    let theirs = app
        .expect(
            as_other(Method::POST, "/forms").json(&json!({
                "name": "Theirs",
                "object_type": "lead",
                "pipeline": "main-sales",
                "fields": [{"key": "name", "type": "text"}],
            })),
            201,
        )
        .await;
    let tid = s(&theirs.data()["id"]);
    assert_ne!(theirs.data()["pipeline_id"], b.pipeline_id.as_str());
    let r = app.expect(as_other(Method::GET, "/forms"), 200).await;
    assert_eq!(ids(&r), vec![tid.clone()]);
    assert_eq!(ids(&app.get("/forms", 200).await), vec![id.clone()]);
    assert_not_found(&app.get(&format!("/forms/{tid}"), 404).await);

    let sub = submit_ok(app, &tid, json!({"name": "Their visitor"})).await;
    let rid = s(&sub["record_id"]);
    assert_not_found(&app.get(&format!("/records/{rid}"), 404).await);
    let rec = app
        .expect(as_other(Method::GET, &format!("/records/{rid}")), 200)
        .await;
    assert_eq!(rec.data()["title"], "Their visitor");
    assert_eq!(rec.data()["pipeline_id"], theirs.data()["pipeline_id"]);
    assert!(submissions(app).await.is_empty());
    assert!(lead_ids(app).await.is_empty());
    let evs = app
        .expect(as_other(Method::GET, "/events?per_page=100"), 200)
        .await;
    let theirs_submitted: Vec<&Value> = evs
        .data()
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "form.submitted")
        .collect();
    assert_eq!(theirs_submitted.len(), 1);
    assert_eq!(theirs_submitted[0]["data"]["record_id"], rid.as_str());
    assert_ne!(
        theirs_submitted[0]["workspace_id"],
        app.get("/me", 200).await.data()["workspace"]["id"]
    );
});

// ---- webhooks --------------------------------------------------------------------------------

/// Takes `n` deliveries, checks their signatures and returns their bodies.
async fn take_signed(rx: &Receiver, secret: &str, n: usize) -> Vec<Value> {
    let hits: Vec<Hit> = rx.take(n).await;
    hits.iter()
        .map(|h| {
            assert_signed(h, secret);
            assert_eq!(h.header("x-laneway-event"), h.event());
            h.json()
        })
        .collect()
}

/// The record ids in the `form.submitted` bodies, sorted.
fn submitted_records(bodies: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = bodies
        .iter()
        .map(|b| {
            assert_eq!(b["event"], "form.submitted", "{b}");
            s(&b["data"]["record_id"])
        })
        .collect();
    v.sort();
    v
}

webhook_test!(
    webhook_scoped_to_a_board_gets_its_submissions,
    fast,
    |app| async move {
        let b = board(app).await;
        let (pid, stages) = pipeline(app, "Inbound", &["Fresh", "Qualified"]).await;
        let mk = |name: &str, pipeline: Option<&str>| {
            let mut body = json!({
                "name": name,
                "object_type": "lead",
                "fields": [{"key": "name", "type": "text", "required": true}],
            });
            if let Some(p) = pipeline {
                body["pipeline"] = json!(p);
            }
            body
        };
        let inbound = s(&form(app, mk("Inbound", Some(&pid))).await["id"]);
        let sales = s(&form(app, mk("Sales", Some(&b.pipeline_id))).await["id"]);
        let loose = s(&form(app, mk("Loose", None)).await["id"]);

        let scoped_rx = Receiver::start().await;
        let all_rx = Receiver::start().await;
        let r = app
            .post(
                "/webhooks",
                json!({"url": scoped_rx.url, "events": ["form.submitted"], "pipeline_id": pid}),
                201,
            )
            .await;
        let (scoped, scoped_secret) = (s(&r.data()["id"]), s(&r.data()["secret"]));
        let r = app
            .post(
                "/webhooks",
                json!({"url": all_rx.url, "events": ["form.submitted"]}),
                201,
            )
            .await;
        let all_secret = s(&r.data()["secret"]);

        let a = submit_ok(app, &inbound, json!({"name": "On the board"})).await;
        let x = submit_ok(app, &sales, json!({"name": "Other board"})).await;
        let y = submit_ok(app, &loose, json!({"name": "No board"})).await;
        // Invalid submissions fire nothing.
        let r = submit(app, &inbound, json!({"name": ""})).await;
        assert_answer(&r, "name");
        // The marker: on the board again, and last.
        let marker = submit_ok(app, &inbound, json!({"name": "Marker"})).await;

        let all = take_signed(&all_rx, &all_secret, 4).await;
        let mut want: Vec<String> = [&a, &x, &y, &marker]
            .iter()
            .map(|v| s(&v["record_id"]))
            .collect();
        want.sort();
        assert_eq!(submitted_records(&all), want);

        let got = take_signed(&scoped_rx, &scoped_secret, 2).await;
        let mut want = vec![s(&a["record_id"]), s(&marker["record_id"])];
        want.sort();
        assert_eq!(submitted_records(&got), want);
        // The marker was fanned out, so everything before it was: the history holds exactly these.
        let hist = app
            .get(&format!("/webhooks/{scoped}/deliveries?per_page=100"), 200)
            .await;
        let mut history: Vec<String> = hist
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|d| s(&d["event_id"]))
            .collect();
        history.sort();
        let mut sent: Vec<String> = got.iter().map(|b| s(&b["id"])).collect();
        sent.sort();
        assert_eq!(history, sent, "{}", hist.text);
        scoped_rx.quiet_for(Duration::from_millis(300)).await;

        // The payload is the stored event.
        let body = got
            .iter()
            .find(|b| b["data"]["record_id"] == a["record_id"])
            .unwrap();
        assert_eq!(
            body["data"],
            json!({
                "id": a["id"],
                "form_id": inbound,
                "form_name": "Inbound",
                "record_id": a["record_id"],
                "data": {"name": "On the board"},
                "submitted_at": a["submitted_at"],
            })
        );
        let ev = app.get(&format!("/events/{}", s(&body["id"])), 200).await;
        assert_eq!(ev.data()["data"], body["data"]);
        assert_eq!(ev.data()["event"], "form.submitted");
        // The record sits in the board's first stage.
        let rec = record(app, &s(&a["record_id"])).await;
        assert_eq!(rec["stage_id"], stages[0].as_str());
    }
);

// ---- OpenAPI ---------------------------------------------------------------------------------

backend_test!(openapi_documents_forms, |app| async move {
    let r = app.send(app.client.get(app.url("/openapi.json"))).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let doc = &r.body;
    let paths = doc["paths"].as_object().expect("paths");
    for (path, methods) in [
        ("/forms", &["get", "post"][..]),
        ("/forms/{id}", &["get", "patch", "delete"][..]),
        ("/public/forms/{id}/submit", &["post"][..]),
    ] {
        let item = paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not documented"));
        for m in methods {
            let op = &item[*m];
            assert!(op.is_object(), "{m} {path} is not documented");
            assert!(op["tags"]
                .as_array()
                .is_some_and(|t| t.contains(&json!("forms"))));
            if path.starts_with("/public/") {
                assert!(op.get("security").is_none(), "{m} {path} must be public");
            } else {
                let scope = &op["security"][0]["bearer"][0];
                let want = if *m == "get" { "read" } else { "admin" };
                assert_eq!(scope, want, "{m} {path}");
            }
        }
    }
    let created = &doc["paths"]["/forms"]["post"]["responses"]["201"];
    assert!(created.is_object(), "POST /forms answers 201");
    let submitted = &doc["paths"]["/public/forms/{id}/submit"]["post"]["responses"]["201"];
    assert!(submitted.is_object(), "a submission answers 201");
    let text = r.text.as_str();
    for word in ["title_field", "submit_path", "object_type_id"] {
        assert!(text.contains(word), "{word} not in the document");
    }
});

// A schema change the form no longer fits (a new required field, a changed type) makes
// submissions a 409 naming what changed, not a 400 blaming the visitor.
backend_test!(
    submissions_after_the_type_changed_under_the_form,
    |app| async move {
        let ot = app
            .post(
                "/schema/object-types",
                json!({
                    "name": "Applicant",
                    "fields": [
                        {"key": "full_name", "type": "text", "required": true},
                        {"key": "age", "type": "number"},
                    ],
                }),
                201,
            )
            .await;
        let ot_id = s(&ot.data()["id"]);
        let f = s(&form(
            app,
            json!({"name": "Apply", "object_type": "applicant", "fields": [
                {"key": "full_name", "type": "text", "required": true},
                {"key": "age", "type": "number"},
            ]}),
        )
        .await["id"]);
        submit_ok(app, &f, json!({"full_name": "Ann", "age": 30})).await;

        // A new required field the form does not ask.
        app.patch(
            &format!("/schema/object-types/{ot_id}"),
            json!({"fields": [
                {"key": "full_name", "type": "text", "required": true},
                {"key": "age", "type": "number"},
                {"key": "phone", "type": "phone", "required": true},
            ]}),
            200,
        )
        .await;
        let r = submit(app, &f, json!({"full_name": "Bob", "age": 31})).await;
        assert_eq!(r.status.as_u16(), 409, "{}", r.text);
        assert_eq!(r.body["code"], "form_out_of_date", "{}", r.text);
        let msg = r.body["error"].as_str().unwrap();
        assert!(msg.contains("applicant") && msg.contains("phone"), "{msg}");
        assert_eq!(r.body["details"]["form_id"], f.as_str(), "{}", r.text);

        // A field whose type changed.
        app.patch(
            &format!("/schema/object-types/{ot_id}"),
            json!({"fields": [
                {"key": "full_name", "type": "text", "required": true},
                {"key": "age", "type": "text"},
            ]}),
            200,
        )
        .await;
        let r = submit(app, &f, json!({"full_name": "Cy", "age": 32})).await;
        assert_eq!(r.status.as_u16(), 409, "{}", r.text);
        let msg = r.body["error"].as_str().unwrap();
        assert!(msg.contains("age") && msg.contains("text"), "{msg}");
        assert_eq!(r.body["details"]["field"], "fields[1].type", "{}", r.text);

        // Fixing the form makes it take submissions again; nothing was stored meanwhile.
        app.patch(
            &format!("/forms/{f}"),
            json!({"fields": [
                {"key": "full_name", "type": "text", "required": true},
                {"key": "age", "type": "text"},
            ]}),
            200,
        )
        .await;
        submit_ok(app, &f, json!({"full_name": "Cy", "age": "32"})).await;
        let listed = app.get("/records?type=applicant", 200).await;
        assert_eq!(listed.body["meta"]["total"], 2, "{}", listed.text);
    }
);

// The schema change itself names the forms it leaves behind, and only those.
backend_test!(
    object_type_changes_list_the_forms_they_affect,
    |app| async move {
        let ot = app
            .post(
                "/schema/object-types",
                json!({"name": "Visitor", "fields": [{"key": "full_name", "type": "text"}]}),
                201,
            )
            .await;
        let ot_id = s(&ot.data()["id"]);
        let asks_name = s(&form(
            app,
            json!({"name": "Asks name", "object_type": "visitor", "fields": [
                {"key": "full_name", "type": "text"},
            ]}),
        )
        .await["id"]);
        let asks_phone = s(&form(
            app,
            json!({"name": "Asks phone", "object_type": "visitor", "fields": [
                {"key": "full_name", "type": "text"},
                {"key": "phone", "type": "phone", "required": true},
            ]}),
        )
        .await["id"]);
        let path = format!("/schema/object-types/{ot_id}");
        // A change every form still fits: none listed.
        let r = app.patch(&path, json!({"name": "Guest"}), 200).await;
        assert_eq!(r.body["affected_forms"], json!([]), "{}", r.text);
        assert!(r.header("etag").is_some());
        // A new required field only the second form asks.
        let r = app
            .patch(
                &path,
                json!({"fields": [
                    {"key": "full_name", "type": "text"},
                    {"key": "phone", "type": "phone", "required": true},
                ]}),
                200,
            )
            .await;
        let affected = r.body["affected_forms"].as_array().unwrap();
        assert_eq!(affected.len(), 1, "{}", r.text);
        assert_eq!(affected[0]["id"], asks_name.as_str(), "{}", r.text);
        assert_eq!(affected[0]["name"], "Asks name");
        assert!(
            affected[0]["problem"].as_str().unwrap().contains("phone"),
            "{}",
            r.text
        );
        assert_eq!(r.data()["fields"].as_array().unwrap().len(), 2);
        // The listed form says the same to a visitor; the other still takes submissions.
        let r = submit(app, &asks_name, json!({"full_name": "Ann"})).await;
        assert_eq!(r.status.as_u16(), 409, "{}", r.text);
        assert_eq!(r.body["code"], "form_out_of_date");
        submit_ok(
            app,
            &asks_phone,
            json!({"full_name": "Bo", "phone": "+1 555 0100"}),
        )
        .await;
    }
);
