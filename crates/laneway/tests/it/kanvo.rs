//! The Kanvo API reference, section by section (Authentication, Errors, Pagination, Records,
//! Tasks, Schema): every curl example issued exactly as written — same method, path, query
//! string, headers and body — against Laneway's base URL with the bootstrap key and real ids in
//! place of the "..." placeholders, checked against the documented response shapes.

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_test;
use crate::records::{board, events_of, is_timestamp, names, s};
use crate::support::{Resp, TestApp};

/// `curl [-X METHOD] "<base><path>" -H "Authorization: Bearer <token>"
/// [-H "Content-Type: application/json" -d '<body>']`, nothing more.
async fn curl(app: &TestApp, method: Method, path: &str, body: Option<&str>) -> Resp {
    curl_as(app, &app.token, method, path, body).await
}

async fn curl_as(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> Resp {
    let mut rb = app
        .client
        .request(method, format!("{}{}", app.base, path))
        .header("Authorization", format!("Bearer {token}"));
    if let Some(b) = body {
        rb = rb
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    app.send(rb).await
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// `{"success": true, "data": [...], "meta": {"total", "page", "per_page"}}`.
fn assert_list_envelope(r: &Resp) {
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(keys(&r.body), ["data", "meta", "success"], "{}", r.text);
    assert_eq!(r.body["success"], true);
    assert!(r.data().is_array());
    assert_eq!(keys(&r.body["meta"]), ["page", "per_page", "total"]);
    for k in ["page", "per_page", "total"] {
        assert!(r.body["meta"][k].is_u64(), "meta.{k}: {}", r.text);
    }
}

/// `{"success": false, "error": "<sentence>"}` (Laneway adds `code` and maybe `details`).
fn assert_error_envelope(r: &Resp, status: u16) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.body["success"], false, "{}", r.text);
    assert!(
        !r.body["error"].as_str().unwrap_or("").is_empty(),
        "{}",
        r.text
    );
    assert!(r.data().is_null(), "an error carries no data: {}", r.text);
}

/// The record fields the reference documents, with their types.
fn assert_record_shape(rec: &Value) {
    for k in [
        "id",
        "title",
        "object_type_id",
        "stage_id",
        "assignee_id",
        "data",
        "created_at",
        "updated_at",
        "object_types",
    ] {
        assert!(rec.get(k).is_some(), "record lacks '{k}': {rec}");
    }
    assert!(uuid::Uuid::parse_str(rec["id"].as_str().unwrap()).is_ok());
    assert!(rec["title"].is_string());
    assert!(uuid::Uuid::parse_str(rec["object_type_id"].as_str().unwrap()).is_ok());
    assert!(rec["stage_id"].is_string() || rec["stage_id"].is_null());
    assert!(rec["assignee_id"].is_string() || rec["assignee_id"].is_null());
    assert!(rec["data"].is_object());
    assert!(is_timestamp(&rec["created_at"]), "{}", rec["created_at"]);
    assert!(is_timestamp(&rec["updated_at"]), "{}", rec["updated_at"]);
    assert_eq!(keys(&rec["object_types"]), ["icon", "name", "slug"]);
}

/// The lead object type's id, from `GET /schema`.
async fn lead_type_id(app: &TestApp) -> String {
    let r = app.get("/schema", 200).await;
    let t = r.data()["object_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "lead")
        .expect("lead type")
        .clone();
    s(&t["id"])
}

const CREATE_RECORD: &str = r#"{
    "type": "lead",
    "title": "Smith Residence - Spring Cleanup",
    "pipeline": "main-sales",
    "stage": "new",
    "data": {
      "phone": "555-999-0001",
      "address": "42 Elm Street, Hartford CT"
    }
  }"#;

// ---- Authentication ---------------------------------------------------------------------------

backend_test!(authentication, |app| async move {
    assert!(app.token.starts_with("lw_live_"), "{}", app.token);
    // curl https://kanvocrm.com/api/v1/records -H "Authorization: Bearer kv_live_..."
    let r = curl(app, Method::GET, "/records", None).await;
    assert_list_envelope(&r);

    // Missing or invalid key: 401.
    let r = app
        .send(app.client.get(format!("{}/records", app.base)))
        .await;
    assert_error_envelope(&r, 401);
    for bad in [
        "kv_live_your_api_key_here",
        "lw_live_not_a_real_key",
        "garbage",
    ] {
        let r = curl_as(app, bad, Method::GET, "/records", None).await;
        assert_error_envelope(&r, 401);
    }

    // read: fetch records, tasks and schema; cannot create, update or delete.
    let read = app.key("read").await;
    for path in ["/records", "/records/tasks", "/schema"] {
        let r = curl_as(app, &read, Method::GET, path, None).await;
        assert_eq!(r.status.as_u16(), 200, "read GET {path}: {}", r.text);
    }
    let r = curl_as(app, &read, Method::POST, "/records", Some(CREATE_RECORD)).await;
    assert_error_envelope(&r, 403);
    let r = curl_as(
        app,
        &read,
        Method::POST,
        "/records/tasks",
        Some(r#"{"title": "x"}"#),
    )
    .await;
    assert_error_envelope(&r, 403);

    // write: all read permissions plus create, update and delete of records and tasks.
    let write = app.key("write").await;
    let r = curl_as(app, &write, Method::POST, "/records", Some(CREATE_RECORD)).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let id = s(&r.data()["id"]);
    let path = format!("/records/{id}");
    let r = curl_as(app, &read, Method::PATCH, &path, Some(r#"{"title": "x"}"#)).await;
    assert_error_envelope(&r, 403);
    let r = curl_as(app, &read, Method::DELETE, &path, None).await;
    assert_error_envelope(&r, 403);
    let r = curl_as(app, &write, Method::PATCH, &path, Some(r#"{"title": "x"}"#)).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let r = curl_as(
        app,
        &write,
        Method::POST,
        "/records/tasks",
        Some(r#"{"title": "x"}"#),
    )
    .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    let tpath = format!("/records/tasks/{}", s(&r.data()["id"]));
    let r = curl_as(
        app,
        &write,
        Method::PATCH,
        &tpath,
        Some(r#"{"completed": true}"#),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let r = curl_as(app, &write, Method::DELETE, &tpath, None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let r = curl_as(app, &write, Method::DELETE, &path, None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    // A write key cannot manage the schema (admin only).
    let r = curl_as(
        app,
        &write,
        Method::POST,
        "/schema/object-types",
        Some(r#"{"name": "Widget"}"#),
    )
    .await;
    assert_error_envelope(&r, 403);
});

// ---- Errors -----------------------------------------------------------------------------------

backend_test!(errors_and_status_codes, |app| async move {
    // 400 with the documented body, for an object type that does not exist.
    let r = curl(app, Method::GET, "/records?type=widget", None).await;
    assert_error_envelope(&r, 400);
    assert_eq!(r.body["error"], "Object type 'widget' not found");
    let r = curl(
        app,
        Method::POST,
        "/records",
        Some(r#"{"type": "widget", "title": "x"}"#),
    )
    .await;
    assert_error_envelope(&r, 400);
    assert_eq!(r.body["error"], "Object type 'widget' not found");

    // 404: doesn't exist, or belongs to a different workspace.
    let r = curl(
        app,
        Method::GET,
        &format!("/records/{}", uuid::Uuid::now_v7()),
        None,
    )
    .await;
    assert_error_envelope(&r, 404);
    let other = app.other_workspace().await;
    let theirs = curl_as(app, &other, Method::POST, "/records", Some(CREATE_RECORD)).await;
    assert_eq!(theirs.status.as_u16(), 201, "{}", theirs.text);
    let r = curl(
        app,
        Method::GET,
        &format!("/records/{}", s(&theirs.data()["id"])),
        None,
    )
    .await;
    assert_error_envelope(&r, 404);
    // 401 and 403 are covered by `authentication`; every error carries a request id.
    assert!(r.header("x-request-id").is_some());
});

backend_test!(error_example_object_type_lead_not_found, |app| async move {
    // Once the workspace has no `lead` type, the reference's own example comes back verbatim.
    let id = lead_type_id(app).await;
    app.delete(&format!("/schema/object-types/{id}"), 200).await;
    let r = curl(app, Method::GET, "/records?type=lead&per_page=10", None).await;
    assert_error_envelope(&r, 400);
    assert_eq!(r.body["error"], "Object type 'lead' not found");
    let r = curl(app, Method::POST, "/records", Some(CREATE_RECORD)).await;
    assert_error_envelope(&r, 400);
    assert_eq!(r.body["error"], "Object type 'lead' not found");
});

// ---- Pagination -------------------------------------------------------------------------------

backend_test!(pagination, |app| async move {
    for i in 0..52 {
        app.post(
            "/records",
            json!({"type": "lead", "title": format!("Lead {i}")}),
            201,
        )
        .await;
    }
    // Defaults: page 1, 50 per page.
    let r = curl(app, Method::GET, "/records", None).await;
    assert_list_envelope(&r);
    assert_eq!(
        r.body["meta"],
        json!({"total": 52, "page": 1, "per_page": 50})
    );
    assert_eq!(r.data().as_array().unwrap().len(), 50);
    // The documented example: page 2 of 50.
    let r = curl(app, Method::GET, "/records?page=2", None).await;
    assert_list_envelope(&r);
    assert_eq!(
        r.body["meta"],
        json!({"total": 52, "page": 2, "per_page": 50})
    );
    assert_eq!(r.data().as_array().unwrap().len(), 2);
    let r = curl(app, Method::GET, "/records?page=2&per_page=50", None).await;
    assert_eq!(
        r.body["meta"],
        json!({"total": 52, "page": 2, "per_page": 50})
    );
    // Max 100.
    let r = curl(app, Method::GET, "/records?per_page=101", None).await;
    assert_eq!(
        r.body["meta"],
        json!({"total": 52, "page": 1, "per_page": 100})
    );
    assert_eq!(r.data().as_array().unwrap().len(), 52);
    // Pages start at 1.
    let r = curl(app, Method::GET, "/records?page=0", None).await;
    assert_error_envelope(&r, 400);
});

// ---- Records ----------------------------------------------------------------------------------

backend_test!(records_create_example, |app| async move {
    let b = board(app).await;
    // curl -X POST .../records -H "Authorization: ..." -H "Content-Type: application/json" -d '{...}'
    let r = curl(app, Method::POST, "/records", Some(CREATE_RECORD)).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    assert_eq!(r.body["success"], true);
    let rec = r.data().clone();
    assert_record_shape(&rec);
    assert_eq!(rec["title"], "Smith Residence - Spring Cleanup");
    assert_eq!(
        rec["data"],
        json!({"phone": "555-999-0001", "address": "42 Elm Street, Hartford CT"})
    );
    assert_eq!(rec["stage_id"], b.new);
    assert_eq!(rec["assignee_id"], Value::Null);
    assert_eq!(rec["object_type_id"], lead_type_id(app).await);
    assert_eq!(
        rec["object_types"],
        json!({"name": "Lead", "slug": "lead", "icon": "👤"})
    );
    // "Fires the record.created webhook event. If a pipeline stage is specified, also fires
    // pipeline.stage_changed."
    let evs = events_of(app, &s(&rec["id"])).await;
    assert_eq!(names(&evs), ["record.created", "pipeline.stage_changed"]);
    assert_eq!(evs[1].1["to_stage_id"], b.new);
});

backend_test!(records_list_example, |app| async move {
    let first = curl(app, Method::POST, "/records", Some(CREATE_RECORD)).await;
    assert_eq!(first.status.as_u16(), 201, "{}", first.text);
    app.post(
        "/records",
        json!({"type": "lead", "title": "Johnson Property - Lawn Care", "data": {"phone": "555-123-4567"}}),
        201,
    )
    .await;
    app.post("/records", json!({"type": "job", "title": "A job"}), 201)
        .await;
    for i in 0..10 {
        app.post(
            "/records",
            json!({"type": "lead", "title": format!("Lead {i}")}),
            201,
        )
        .await;
    }
    // curl "https://kanvocrm.com/api/v1/records?type=lead&per_page=10" -H "Authorization: ..."
    let r = curl(app, Method::GET, "/records?type=lead&per_page=10", None).await;
    assert_list_envelope(&r);
    assert_eq!(
        r.body["meta"],
        json!({"total": 12, "page": 1, "per_page": 10})
    );
    let items = r.data().as_array().unwrap();
    assert_eq!(items.len(), 10);
    let lead_type = lead_type_id(app).await;
    for rec in items {
        assert_record_shape(rec);
        assert_eq!(rec["object_type_id"], lead_type);
        assert_eq!(
            rec["object_types"],
            json!({"name": "Lead", "slug": "lead", "icon": "👤"})
        );
    }
    // The other documented parameters.
    let r = curl(
        app,
        Method::GET,
        "/records?type=lead&search=johnson%20property",
        None,
    )
    .await;
    assert_list_envelope(&r);
    assert_eq!(r.body["meta"]["total"], 1);
    assert_eq!(r.data()[0]["title"], "Johnson Property - Lawn Care");
    assert_eq!(r.data()[0]["data"], json!({"phone": "555-123-4567"}));
    let r = curl(app, Method::GET, "/records?type=job", None).await;
    assert_eq!(r.body["meta"]["total"], 1);
    assert_eq!(
        r.data()[0]["object_types"],
        json!({"name": "Job", "slug": "job", "icon": "🔧"})
    );
    let r = curl(
        app,
        Method::GET,
        "/records?type=lead&page=2&per_page=10",
        None,
    )
    .await;
    assert_eq!(
        r.body["meta"],
        json!({"total": 12, "page": 2, "per_page": 10})
    );
    assert_eq!(r.data().as_array().unwrap().len(), 2);
    let me = app.get("/me", 200).await;
    let member = s(&me.data()["member"]["id"]);
    let rid = s(&first.data()["id"]);
    app.patch(
        &format!("/records/{rid}"),
        json!({"assignee_id": member}),
        200,
    )
    .await;
    let r = curl(
        app,
        Method::GET,
        &format!("/records?assignee_id={member}"),
        None,
    )
    .await;
    assert_list_envelope(&r);
    assert_eq!(r.body["meta"]["total"], 1);
    assert_eq!(r.data()[0]["id"], rid);
    assert_eq!(r.data()[0]["assignee_id"], member);
});

backend_test!(records_get_update_delete_examples, |app| async move {
    let b = board(app).await;
    let created = curl(app, Method::POST, "/records", Some(CREATE_RECORD)).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.text);
    let id = s(&created.data()["id"]);

    // curl "https://kanvocrm.com/api/v1/records/b3e1a2f4-..." -H "Authorization: ..."
    let r = curl(app, Method::GET, &format!("/records/{id}"), None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(keys(&r.body), ["data", "success"]);
    assert_eq!(r.body["success"], true);
    assert_record_shape(r.data());
    assert_eq!(r.data(), created.data());

    // curl -X PATCH .../records/b3e1a2f4-... -d '{ "stage_id": "c9d0e1f2-..." }'
    let body = format!(r#"{{ "stage_id": "{}" }}"#, b.contacted);
    let r = curl(app, Method::PATCH, &format!("/records/{id}"), Some(&body)).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body["success"], true);
    assert_record_shape(r.data());
    assert_eq!(r.data()["stage_id"], b.contacted);
    // Omitted fields are left untouched.
    assert_eq!(r.data()["title"], created.data()["title"]);
    assert_eq!(r.data()["data"], created.data()["data"]);
    assert_eq!(r.data()["created_at"], created.data()["created_at"]);
    // "Fires record.updated. If stage_id changed, also fires pipeline.stage_changed."
    let evs = events_of(app, &id).await;
    let mut later = names(&evs)[2..].to_vec();
    later.sort();
    assert!(later.contains(&"record.updated"), "{later:?}");
    assert!(later.contains(&"pipeline.stage_changed"), "{later:?}");
    let sc = evs[2..]
        .iter()
        .find(|(n, _)| n == "pipeline.stage_changed")
        .unwrap();
    assert_eq!(sc.1["from_stage_id"], b.new);
    assert_eq!(sc.1["to_stage_id"], b.contacted);

    // The documented update fields.
    let r = curl(
        app,
        Method::PATCH,
        &format!("/records/{id}"),
        Some(r#"{"title": "Smith Residence", "data": {"phone": "555-999-0002"}, "assignee_id": null}"#),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.data()["title"], "Smith Residence");
    assert_eq!(r.data()["data"], json!({"phone": "555-999-0002"}));
    assert_eq!(r.data()["assignee_id"], Value::Null);

    // curl -X DELETE https://kanvocrm.com/api/v1/records/b3e1a2f4-... -H "Authorization: ..."
    let r = curl(app, Method::DELETE, &format!("/records/{id}"), None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"success": true, "data": {"deleted": true, "id": id}})
    );
    // "Excluded from all future list queries."
    let r = curl(app, Method::GET, "/records?type=lead&per_page=10", None).await;
    assert_eq!(r.body["meta"]["total"], 0);
    let r = curl(app, Method::GET, &format!("/records/{id}"), None).await;
    assert_error_envelope(&r, 404);
});

// ---- Tasks ------------------------------------------------------------------------------------

backend_test!(tasks_examples, |app| async move {
    let rec = app.lead("Smith Residence").await;
    let rid = s(&rec["id"]);

    // curl -X POST .../records/tasks -d '{"title": ..., "record_id": "b3e1a2f4-...", "due_date": ...}'
    let body = format!(
        r#"{{
    "title": "Follow up on estimate",
    "record_id": "{rid}",
    "due_date": "2026-07-01"
  }}"#
    );
    let r = curl(app, Method::POST, "/records/tasks", Some(&body)).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    assert_eq!(r.body["success"], true);
    let t = r.data().clone();
    assert_eq!(
        keys(&t),
        [
            "assignee_id",
            "completed",
            "completed_at",
            "created_at",
            "due_date",
            "id",
            "notes",
            "record_id",
            "title",
            "updated_at"
        ]
    );
    assert_eq!(t["title"], "Follow up on estimate");
    assert_eq!(t["record_id"], rid);
    assert_eq!(t["due_date"], "2026-07-01");
    assert_eq!(t["completed"], false);
    assert!(is_timestamp(&t["created_at"]) && is_timestamp(&t["updated_at"]));
    let tid = s(&t["id"]);
    // A standalone task, and one already done, to exercise the filters.
    app.post("/records/tasks", json!({"title": "Standalone"}), 201)
        .await;
    let done = app
        .post(
            "/records/tasks",
            json!({"title": "Done already", "record_id": rid}),
            201,
        )
        .await;
    app.patch(
        &format!("/records/tasks/{}", s(&done.data()["id"])),
        json!({"completed": true}),
        200,
    )
    .await;

    // curl "https://kanvocrm.com/api/v1/records/tasks?record_id=b3e1a2f4-...&completed=false"
    let r = curl(
        app,
        Method::GET,
        &format!("/records/tasks?record_id={rid}&completed=false"),
        None,
    )
    .await;
    assert_list_envelope(&r);
    assert_eq!(
        r.body["meta"],
        json!({"total": 1, "page": 1, "per_page": 50})
    );
    assert_eq!(r.data()[0], t);
    let r = curl(
        app,
        Method::GET,
        &format!("/records/tasks?record_id={rid}&completed=true"),
        None,
    )
    .await;
    assert_eq!(r.body["meta"]["total"], 1);
    assert_eq!(r.data()[0]["title"], "Done already");
    let r = curl(app, Method::GET, "/records/tasks?page=1&per_page=2", None).await;
    assert_list_envelope(&r);
    assert_eq!(
        r.body["meta"],
        json!({"total": 3, "page": 1, "per_page": 2})
    );

    // GET /records/tasks/:id
    let r = curl(app, Method::GET, &format!("/records/tasks/{tid}"), None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.data(), &t);

    // PATCH /records/tasks/:id with the documented fields.
    let me = app.get("/me", 200).await;
    let member = s(&me.data()["member"]["id"]);
    let body = format!(
        r#"{{"title": "Call the Smiths", "completed": true, "assignee_id": "{member}", "due_date": "2026-06-30", "notes": "Ask about the hedge"}}"#
    );
    let r = curl(
        app,
        Method::PATCH,
        &format!("/records/tasks/{tid}"),
        Some(&body),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let u = r.data().clone();
    assert_eq!(u["title"], "Call the Smiths");
    assert_eq!(u["completed"], true);
    assert!(is_timestamp(&u["completed_at"]));
    assert_eq!(u["assignee_id"], member);
    assert_eq!(u["due_date"], "2026-06-30");
    assert_eq!(u["notes"], "Ask about the hedge");
    assert_eq!(u["record_id"], rid);
    let evs = events_of(app, &tid).await;
    let mut ns = names(&evs);
    ns.sort();
    assert_eq!(ns, ["task.completed", "task.created", "task.updated"]);
    // false reopens.
    let r = curl(
        app,
        Method::PATCH,
        &format!("/records/tasks/{tid}"),
        Some(r#"{"completed": false}"#),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.data()["completed"], false);
    assert_eq!(r.data()["completed_at"], Value::Null);

    // DELETE /records/tasks/:id
    let r = curl(app, Method::DELETE, &format!("/records/tasks/{tid}"), None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"success": true, "data": {"deleted": true, "id": tid}})
    );
    let r = curl(app, Method::GET, &format!("/records/tasks/{tid}"), None).await;
    assert_error_envelope(&r, 404);
    let evs = events_of(app, &tid).await;
    assert_eq!(evs.last().unwrap().0, "task.deleted");
});

// ---- Schema -----------------------------------------------------------------------------------

backend_test!(schema_example, |app| async move {
    // curl https://kanvocrm.com/api/v1/schema -H "Authorization: Bearer kv_live_..."
    let r = curl(app, Method::GET, "/schema", None).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(keys(&r.body), ["data", "success"]);
    assert_eq!(r.body["success"], true);
    assert_eq!(keys(r.data()), ["object_types", "pipelines"]);

    let types = r.data()["object_types"].as_array().unwrap();
    for t in types {
        assert_eq!(keys(t), ["fields", "icon", "id", "name", "slug"], "{t}");
        assert!(uuid::Uuid::parse_str(t["id"].as_str().unwrap()).is_ok());
    }
    let triples: Vec<(Value, Value, Value)> = types
        .iter()
        .map(|t| (t["name"].clone(), t["slug"].clone(), t["icon"].clone()))
        .collect();
    assert_eq!(
        triples[..3],
        [
            (json!("Lead"), json!("lead"), json!("👤")),
            (json!("Job"), json!("job"), json!("🔧")),
            (json!("Estimate"), json!("estimate"), json!("📋")),
        ],
        "the documented types come first, in order"
    );
    let slugs: Vec<&str> = types.iter().map(|t| t["slug"].as_str().unwrap()).collect();
    for slug in ["client", "contact", "company"] {
        assert!(slugs.contains(&slug), "demo type {slug} missing: {slugs:?}");
    }

    let pipelines = r.data()["pipelines"].as_array().unwrap();
    assert_eq!(pipelines.len(), 1);
    let p = &pipelines[0];
    assert_eq!(keys(p), ["id", "name", "slug", "stages"]);
    assert!(uuid::Uuid::parse_str(p["id"].as_str().unwrap()).is_ok());
    assert_eq!(p["name"], "Main Sales");
    assert_eq!(p["slug"], "main-sales");
    let stages = p["stages"].as_array().unwrap();
    let mut got = Vec::new();
    for st in stages {
        assert_eq!(keys(st), ["id", "name", "position", "slug"], "{st}");
        assert!(uuid::Uuid::parse_str(st["id"].as_str().unwrap()).is_ok());
        got.push(json!({"name": st["name"], "slug": st["slug"], "position": st["position"]}));
    }
    assert_eq!(
        got,
        [
            json!({"name": "New", "slug": "new", "position": 0}),
            json!({"name": "Contacted", "slug": "contacted", "position": 1}),
            json!({"name": "Won", "slug": "won", "position": 2}),
        ]
    );
    // The ids are the ones records use.
    let rec = app.lead("x").await;
    assert_eq!(rec["stage_id"], stages[0]["id"]);
    assert_eq!(rec["pipeline_id"], p["id"]);
    let lead = types.iter().find(|t| t["slug"] == "lead").unwrap();
    assert_eq!(rec["object_type_id"], lead["id"]);
});
