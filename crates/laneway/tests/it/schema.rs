//! `/schema`: object types, typed fields, pipelines and stages (spec §4).

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_test;
use crate::support::TestApp;

fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

/// The pipeline of the schema with this slug.
async fn pipeline(app: &TestApp, slug: &str) -> Value {
    let s = app.get("/schema", 200).await;
    s.data()["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["slug"] == slug)
        .unwrap_or_else(|| panic!("pipeline {slug} in {}", s.text))
        .clone()
}

/// `(slug, position)` of a pipeline's stages, in the order the schema lists them.
fn stage_order(p: &Value) -> Vec<(String, i64)> {
    p["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["slug"].as_str().unwrap().to_string(),
                s["position"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn slugs_in_order(p: &Value) -> Vec<String> {
    let order = stage_order(p);
    for (i, (_, pos)) in order.iter().enumerate() {
        assert_eq!(*pos, i as i64, "positions are 0..n contiguous: {order:?}");
    }
    order.into_iter().map(|(s, _)| s).collect()
}

/// An object's keys, sorted.
fn keys_of(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
    k.sort();
    k
}

/// Events after the first `skip`, as `(name, data)`.
async fn events_since(app: &TestApp, skip: usize) -> Vec<(String, Value)> {
    app.events().await.into_iter().skip(skip).collect()
}

backend_test!(schema_has_the_demo_shape, |app| async move {
    let r = app.get("/schema", 200).await;
    let d = r.data();
    assert_eq!(keys_of(d), ["object_types", "pipelines"]);
    let types = d["object_types"].as_array().unwrap();
    let slugs: Vec<&str> = types.iter().map(|t| t["slug"].as_str().unwrap()).collect();
    assert_eq!(
        slugs,
        ["lead", "job", "estimate", "client", "contact", "company"]
    );
    for t in types {
        assert_eq!(keys_of(t), ["fields", "icon", "id", "name", "slug"], "{t}");
        assert!(laneway_core::ids::parse_uuid(t["id"].as_str().unwrap()).is_some());
        assert_eq!(t["fields"], json!([]));
    }
    assert_eq!(
        types[0],
        json!({"id": types[0]["id"], "name": "Lead", "slug": "lead", "icon": "👤", "fields": []})
    );
    assert_eq!(types[1]["icon"], "🔧");
    assert_eq!(types[2]["icon"], "📋");
    let pipes = d["pipelines"].as_array().unwrap();
    assert_eq!(pipes.len(), 1);
    let p = &pipes[0];
    assert_eq!(keys_of(p), ["id", "name", "slug", "stages"]);
    assert_eq!(p["name"], "Main Sales");
    assert_eq!(p["slug"], "main-sales");
    let stages = p["stages"].as_array().unwrap();
    for (i, (name, slug)) in [("New", "new"), ("Contacted", "contacted"), ("Won", "won")]
        .iter()
        .enumerate()
    {
        let s = &stages[i];
        assert_eq!(keys_of(s), ["id", "name", "position", "slug"], "{s}");
        assert_eq!(s["name"], *name);
        assert_eq!(s["slug"], *slug);
        assert_eq!(s["position"], i as i64);
    }
    // Read scope suffices.
    let read = app.key("read").await;
    let r = app
        .send(app.req_as(&read, reqwest::Method::GET, "/schema"))
        .await;
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(r.data(), d);
    // Individual reads agree with the schema.
    let ot = app
        .get(&format!("/schema/object-types/{}", id_of(&types[0])), 200)
        .await;
    assert_eq!(ot.data(), &types[0]);
    assert!(ot.header("etag").is_some());
    let gp = app
        .get(&format!("/schema/pipelines/{}", id_of(p)), 200)
        .await;
    assert_eq!(gp.data()["slug"], "main-sales");
    assert!(gp.header("etag").is_some());
    let gs = app
        .get(&format!("/schema/stages/{}", id_of(&stages[1])), 200)
        .await;
    assert_eq!(gs.data()["slug"], "contacted");
    assert_eq!(gs.data()["pipeline_id"], p["id"]);
    assert!(gs.header("etag").is_some());
});

backend_test!(object_type_create_and_slugs, |app| async move {
    let r = app
        .post(
            "/schema/object-types",
            json!({"name": "Service Visit", "icon": "🚐"}),
            201,
        )
        .await;
    let t = r.data().clone();
    assert_eq!(t["slug"], "service-visit", "slug defaults to kebab-case");
    assert_eq!(t["name"], "Service Visit");
    assert_eq!(t["icon"], "🚐");
    assert_eq!(t["fields"], json!([]));
    let r = app
        .post("/schema/object-types", json!({"name": "Über Leads!"}), 201)
        .await;
    assert_eq!(r.data()["slug"], "uber-leads");
    assert!(r.data()["icon"].is_null());
    let r = app
        .post(
            "/schema/object-types",
            json!({"name": "Whatever", "slug": "custom-7"}),
            201,
        )
        .await;
    assert_eq!(r.data()["slug"], "custom-7");

    // Invalid explicit slugs → 400 naming slug.
    for bad in [
        "Bad Slug",
        "UPPER",
        "a--b",
        "-a",
        "a-",
        "",
        "ü",
        &"a".repeat(65),
    ] {
        let r = app
            .post(
                "/schema/object-types",
                json!({"name": "Bad", "slug": bad}),
                400,
            )
            .await;
        assert_eq!(r.body["details"]["field"], "slug", "{bad}: {}", r.text);
    }
    // A name without a usable character needs an explicit slug.
    let r = app
        .post("/schema/object-types", json!({"name": "🔧"}), 400)
        .await;
    assert_eq!(r.body["details"]["field"], "slug");
    app.post("/schema/object-types", json!({"name": ""}), 400)
        .await;
    app.post(
        "/schema/object-types",
        json!({"name": "x".repeat(101)}),
        400,
    )
    .await;

    // Duplicate slug → 409, explicit or derived.
    let r = app
        .post(
            "/schema/object-types",
            json!({"name": "Another", "slug": "lead"}),
            409,
        )
        .await;
    assert_eq!(r.error_code(), "conflict");
    app.post("/schema/object-types", json!({"name": "Lead"}), 409)
        .await;
    app.post(
        "/schema/object-types",
        json!({"name": "service visit"}),
        409,
    )
    .await;

    let types = app.get("/schema", 200).await.data()["object_types"].clone();
    assert_eq!(types.as_array().unwrap().len(), 9);
    assert_eq!(types[6], t);
    // Usable by records at once.
    let rec = app
        .post("/records", json!({"type": "service-visit"}), 201)
        .await;
    assert_eq!(
        rec.data()["object_types"],
        json!({"name": "Service Visit", "slug": "service-visit", "icon": "🚐"})
    );
    // And listed.
    let list = app.get("/schema/object-types", 200).await;
    assert_eq!(list.data(), &types);
});

backend_test!(typed_fields_validate_record_data, |app| async move {
    let r = app
        .post(
            "/schema/object-types",
            json!({"name": "Deal", "fields": [
                {"key": "amount", "type": "number", "required": true},
                {"key": "size", "type": "select", "options": ["s", "m"]}
            ]}),
            201,
        )
        .await;
    let fields = r.data()["fields"].as_array().unwrap().clone();
    assert_eq!(fields.len(), 2);
    assert_eq!(fields[0]["key"], "amount");
    assert_eq!(fields[0]["type"], "number");
    assert_eq!(fields[0]["required"], true);
    assert_eq!(fields[1]["options"], json!(["s", "m"]));
    assert_eq!(fields[1]["required"], false);

    let before = app.get("/events", 200).await.body["meta"]["total"].clone();
    // Missing required → 400 naming data.amount.
    for data in [json!({}), json!({"amount": null}), json!({"size": "s"})] {
        let r = app
            .post("/records", json!({"type": "deal", "data": data}), 400)
            .await;
        assert_eq!(r.body["details"]["field"], "data.amount", "{}", r.text);
        assert!(r.body["error"].as_str().unwrap().contains("data.amount"));
    }
    let r = app.post("/records", json!({"type": "deal"}), 400).await;
    assert_eq!(r.body["details"]["field"], "data.amount");
    // Wrong types → 400 naming the key.
    for (data, field) in [
        (json!({"amount": "12"}), "data.amount"),
        (json!({"amount": true}), "data.amount"),
        (json!({"amount": [1]}), "data.amount"),
        (json!({"amount": 1, "size": "xl"}), "data.size"),
        (json!({"amount": 1, "size": 1}), "data.size"),
    ] {
        let r = app
            .post("/records", json!({"type": "deal", "data": data}), 400)
            .await;
        assert_eq!(r.body["details"]["field"], field, "{}", r.text);
        assert!(r.body["error"].as_str().unwrap().contains(field));
    }
    assert_eq!(app.get("/records", 200).await.body["meta"]["total"], 0);
    assert_eq!(app.get("/events", 200).await.body["meta"]["total"], before);

    // Good data, undeclared keys allowed.
    let ok = app
        .post(
            "/records",
            json!({"type": "deal", "data": {"amount": 12.5, "size": "m", "note": "free"}}),
            201,
        )
        .await;
    assert_eq!(ok.data()["data"]["amount"], 12.5);
    let id = id_of(ok.data());
    app.post(
        "/records",
        json!({"type": "deal", "data": {"amount": 0}}),
        201,
    )
    .await;
    // Updates are checked too.
    let r = app
        .patch(
            &format!("/records/{id}"),
            json!({"data": {"amount": "lots"}}),
            400,
        )
        .await;
    assert_eq!(r.body["details"]["field"], "data.amount");
    let r = app
        .patch(
            &format!("/records/{id}"),
            json!({"data": {"size": "s"}}),
            400,
        )
        .await;
    assert_eq!(r.body["details"]["field"], "data.amount");
    app.patch(
        &format!("/records/{id}"),
        json!({"data": {"amount": 3, "size": "s"}}),
        200,
    )
    .await;

    // Bad declarations → 400.
    for (fields, field) in [
        (json!([{"key": "Bad Key", "type": "text"}]), "fields[0].key"),
        (
            json!([{"key": "a", "type": "text"}, {"key": "a", "type": "number"}]),
            "fields[1].key",
        ),
        (json!([{"key": "s", "type": "select"}]), "fields[0].options"),
        (
            json!([{"key": "s", "type": "select", "options": []}]),
            "fields[0].options",
        ),
        (
            json!([{"key": "t", "type": "text", "options": ["x"]}]),
            "fields[0].options",
        ),
    ] {
        let r = app
            .post(
                "/schema/object-types",
                json!({"name": "Broken", "fields": fields}),
                400,
            )
            .await;
        assert_eq!(r.body["details"]["field"], field, "{}", r.text);
    }
    let r = app
        .post(
            "/schema/object-types",
            json!({"name": "Broken", "fields": [{"key": "a", "type": "colour"}]}),
            400,
        )
        .await;
    assert!(
        r.body["details"]["field"]
            .as_str()
            .unwrap()
            .starts_with("fields[0]"),
        "{}",
        r.text
    );
    app.get("/schema", 200).await.data()["object_types"]
        .as_array()
        .unwrap()
        .iter()
        .for_each(|t| assert_ne!(t["slug"], "broken"));
});

backend_test!(object_type_patch_and_delete, |app| async move {
    let t = app
        .post(
            "/schema/object-types",
            json!({"name": "Boat", "icon": "⛵"}),
            201,
        )
        .await
        .data()
        .clone();
    let id = id_of(&t);
    let r = app
        .patch(
            &format!("/schema/object-types/{id}"),
            json!({"name": "Vessel", "slug": "vessel", "icon": null}),
            200,
        )
        .await;
    assert_eq!(r.data()["name"], "Vessel");
    assert_eq!(r.data()["slug"], "vessel");
    assert!(r.data()["icon"].is_null());
    let g = app.get(&format!("/schema/object-types/{id}"), 200).await;
    assert_eq!(g.data(), r.data());
    // Slug clash and bad slug on PATCH.
    app.patch(
        &format!("/schema/object-types/{id}"),
        json!({"slug": "lead"}),
        409,
    )
    .await;
    app.patch(
        &format!("/schema/object-types/{id}"),
        json!({"slug": "Bad Slug"}),
        400,
    )
    .await;
    app.patch(
        &format!("/schema/object-types/{id}"),
        json!({"bogus": 1}),
        400,
    )
    .await;
    // Fields can be added later and then apply.
    app.patch(
        &format!("/schema/object-types/{id}"),
        json!({"fields": [{"key": "length", "type": "number", "required": true}]}),
        200,
    )
    .await;
    app.post("/records", json!({"type": "vessel"}), 400).await;
    let rec = app
        .post(
            "/records",
            json!({"type": "vessel", "data": {"length": 9}}),
            201,
        )
        .await;
    let rid = id_of(rec.data());

    // In use by a live record → 409, and the type stays.
    let r = app.delete(&format!("/schema/object-types/{id}"), 409).await;
    assert_eq!(r.error_code(), "conflict");
    app.get(&format!("/schema/object-types/{id}"), 200).await;

    // After deleting the record, it can go; its slug is then free.
    app.delete(&format!("/records/{rid}"), 200).await;
    let d = app.delete(&format!("/schema/object-types/{id}"), 200).await;
    assert_eq!(d.data(), &json!({"deleted": true, "id": id}));
    app.get(&format!("/schema/object-types/{id}"), 404).await;
    app.delete(&format!("/schema/object-types/{id}"), 404).await;
    let s = app.get("/schema", 200).await;
    assert!(!s.text.contains(&id));
    let r = app.post("/records", json!({"type": "vessel"}), 400).await;
    assert!(r.body["error"].as_str().unwrap().contains("vessel"));
    let again = app
        .post("/schema/object-types", json!({"name": "Vessel"}), 201)
        .await;
    assert_eq!(again.data()["slug"], "vessel");
    assert_ne!(again.data()["id"], id.as_str());
    app.post("/records", json!({"type": "vessel"}), 201).await;
    // Unknown ids → 404.
    let unknown = uuid::Uuid::now_v7();
    app.patch(
        &format!("/schema/object-types/{unknown}"),
        json!({"name": "x"}),
        404,
    )
    .await;
    app.delete(&format!("/schema/object-types/{unknown}"), 404)
        .await;
});

backend_test!(pipeline_create_with_stages, |app| async move {
    let r = app
        .post(
            "/schema/pipelines",
            json!({"name": "Hiring Flow", "stages": [
                {"name": "Applied"}, {"name": "Phone Screen"}, {"name": "Offer", "slug": "offer-made"}
            ]}),
            201,
        )
        .await;
    let p = r.data().clone();
    assert_eq!(p["slug"], "hiring-flow");
    assert_eq!(p["name"], "Hiring Flow");
    let pid = id_of(&p);
    let stages = p["stages"].as_array().unwrap();
    let got: Vec<(&str, i64)> = stages
        .iter()
        .map(|s| (s["slug"].as_str().unwrap(), s["position"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        got,
        [("applied", 0), ("phone-screen", 1), ("offer-made", 2)]
    );
    assert!(r.header("etag").is_some());
    let in_schema = pipeline(app, "hiring-flow").await;
    assert_eq!(
        slugs_in_order(&in_schema),
        ["applied", "phone-screen", "offer-made"]
    );
    assert_eq!(in_schema["id"], pid.as_str());

    // Events: pipeline.created then one stage.created per stage, in order.
    let ev = app.events().await;
    let names: Vec<&str> = ev.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "pipeline.created",
            "stage.created",
            "stage.created",
            "stage.created"
        ]
    );
    assert_eq!(ev[0].1["id"], pid.as_str());
    assert_eq!(ev[0].1["slug"], "hiring-flow");
    assert_eq!(ev[0].1["stages"].as_array().unwrap().len(), 3);
    for (i, e) in ev[1..].iter().enumerate() {
        assert_eq!(e.1["id"], stages[i]["id"]);
        assert_eq!(e.1["position"], i as i64);
        assert_eq!(e.1["pipeline_id"], pid.as_str());
    }

    // A record placed by pipeline alone goes to the first stage.
    let rec = app
        .post(
            "/records",
            json!({"type": "lead", "pipeline": "hiring-flow"}),
            201,
        )
        .await;
    assert_eq!(rec.data()["stage_id"], stages[0]["id"]);

    // Empty pipeline is allowed.
    let empty = app
        .post("/schema/pipelines", json!({"name": "Empty"}), 201)
        .await;
    assert_eq!(empty.data()["stages"], json!([]));
});

backend_test!(pipeline_create_conflicts, |app| async move {
    let before = app.events().await.len();
    let r = app
        .post(
            "/schema/pipelines",
            json!({"name": "Main Sales", "stages": [{"name": "A"}]}),
            409,
        )
        .await;
    assert_eq!(r.error_code(), "conflict");
    app.post(
        "/schema/pipelines",
        json!({"name": "Other", "slug": "main-sales"}),
        409,
    )
    .await;
    let r = app
        .post(
            "/schema/pipelines",
            json!({"name": "Dup", "stages": [{"name": "New"}, {"name": "new"}]}),
            409,
        )
        .await;
    assert_eq!(r.error_code(), "conflict");
    app.post(
        "/schema/pipelines",
        json!({"name": "Dup", "stages": [{"name": "A", "slug": "x"}, {"name": "B", "slug": "x"}]}),
        409,
    )
    .await;
    // Bad input → 400.
    let r = app
        .post(
            "/schema/pipelines",
            json!({"name": "Bad", "stages": [{"name": "A", "slug": "Bad Slug"}]}),
            400,
        )
        .await;
    assert_eq!(r.body["details"]["field"], "stages[0].slug");
    let r = app
        .post(
            "/schema/pipelines",
            json!({"name": "Bad", "stages": [{"name": "A"}, {"name": " "}]}),
            400,
        )
        .await;
    assert_eq!(r.body["details"]["field"], "stages[1].name");
    app.post(
        "/schema/pipelines",
        json!({"name": "Bad", "slug": "Bad Slug"}),
        400,
    )
    .await;
    app.post("/schema/pipelines", json!({"stages": []}), 400)
        .await;
    // Nothing was created and no event stored.
    let s = app.get("/schema", 200).await;
    assert_eq!(s.data()["pipelines"].as_array().unwrap().len(), 1);
    assert_eq!(app.events().await.len(), before);
    // A stage slug may repeat across pipelines.
    let other = app
        .post(
            "/schema/pipelines",
            json!({"name": "Support", "stages": [{"name": "New"}, {"name": "Won"}]}),
            201,
        )
        .await;
    assert_eq!(other.data()["stages"][0]["slug"], "new");
    // Placement by stage slug is per pipeline.
    let rec = app
        .post(
            "/records",
            json!({"type": "lead", "pipeline": "support", "stage": "won"}),
            201,
        )
        .await;
    assert_eq!(rec.data()["stage_id"], other.data()["stages"][1]["id"]);
});

backend_test!(pipeline_patch_and_delete, |app| async move {
    let p = app
        .post(
            "/schema/pipelines",
            json!({"name": "Jobs", "stages": [{"name": "Todo"}, {"name": "Done"}]}),
            201,
        )
        .await
        .data()
        .clone();
    let pid = id_of(&p);
    let skip = app.events().await.len();

    let r = app
        .patch(
            &format!("/schema/pipelines/{pid}"),
            json!({"name": "Field Jobs", "slug": "field-jobs"}),
            200,
        )
        .await;
    assert_eq!(r.data()["name"], "Field Jobs");
    assert_eq!(r.data()["slug"], "field-jobs");
    assert_eq!(r.data()["stages"], p["stages"]);
    let ev = events_since(app, skip).await;
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0].0, "pipeline.updated");
    assert_eq!(ev[0].1["id"], pid.as_str());
    assert_eq!(
        ev[0].1["changes"],
        json!({"name": {"old": "Jobs", "new": "Field Jobs"}, "slug": {"old": "jobs", "new": "field-jobs"}})
    );
    // A no-op patch stores no event.
    app.patch(
        &format!("/schema/pipelines/{pid}"),
        json!({"name": "Field Jobs"}),
        200,
    )
    .await;
    assert_eq!(events_since(app, skip).await.len(), 1);
    // Slug clash → 409; the name is untouched.
    app.patch(
        &format!("/schema/pipelines/{pid}"),
        json!({"name": "Clash", "slug": "main-sales"}),
        409,
    )
    .await;
    let g = app.get(&format!("/schema/pipelines/{pid}"), 200).await;
    assert_eq!(g.data()["name"], "Field Jobs");
    assert_eq!(events_since(app, skip).await.len(), 1);

    // With a live record → 409.
    let rec = app
        .post(
            "/records",
            json!({"type": "job", "pipeline": "field-jobs"}),
            201,
        )
        .await;
    let rid = id_of(rec.data());
    let r = app.delete(&format!("/schema/pipelines/{pid}"), 409).await;
    assert_eq!(r.error_code(), "conflict");
    app.get(&format!("/schema/pipelines/{pid}"), 200).await;

    // Once empty → 200 {"deleted": true, "id"} + pipeline.deleted.
    app.delete(&format!("/records/{rid}"), 200).await;
    let skip = app.events().await.len();
    let d = app.delete(&format!("/schema/pipelines/{pid}"), 200).await;
    assert_eq!(d.data(), &json!({"deleted": true, "id": pid}));
    let ev = events_since(app, skip).await;
    let names: Vec<&str> = ev.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, ["pipeline.deleted"]);
    assert_eq!(ev[0].1["id"], pid.as_str());
    assert_eq!(ev[0].1["slug"], "field-jobs");
    assert!(ev[0].1["deleted_at"].is_string());
    app.get(&format!("/schema/pipelines/{pid}"), 404).await;
    app.delete(&format!("/schema/pipelines/{pid}"), 404).await;
    app.get(&format!("/schema/stages/{}", id_of(&p["stages"][0])), 404)
        .await;
    let s = app.get("/schema", 200).await;
    assert!(!s.text.contains(&pid));
    // The deleted record still reads as deleted (404), not as an error.
    app.get(&format!("/records/{rid}"), 404).await;
    // Slug reusable.
    app.post("/schema/pipelines", json!({"name": "Field Jobs"}), 201)
        .await;
});

backend_test!(stage_insert_in_the_middle_renumbers, |app| async move {
    let main = pipeline(app, "main-sales").await;
    let pid = id_of(&main);
    let skip = app.events().await.len();
    let r = app
        .post(
            &format!("/schema/pipelines/{pid}/stages"),
            json!({"name": "Qualified", "position": 1}),
            201,
        )
        .await;
    assert_eq!(r.data()["slug"], "qualified");
    assert_eq!(r.data()["position"], 1);
    assert_eq!(r.data()["pipeline_id"], pid.as_str());
    let sid = id_of(r.data());
    assert_eq!(
        slugs_in_order(&pipeline(app, "main-sales").await),
        ["new", "qualified", "contacted", "won"]
    );
    // stage.created, then a stage.updated for each stage that moved right.
    let ev = events_since(app, skip).await;
    let names: Vec<&str> = ev.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, ["stage.created", "stage.updated", "stage.updated"]);
    assert_eq!(ev[0].1["id"], sid.as_str());
    assert_eq!(ev[1].1["slug"], "contacted");
    assert_eq!(ev[1].1["changes"]["position"], json!({"old": 1, "new": 2}));
    assert_eq!(ev[2].1["slug"], "won");
    assert_eq!(ev[2].1["changes"]["position"], json!({"old": 2, "new": 3}));

    // Position omitted → appended; beyond the end → clamped to the end; 0 → first.
    app.post(
        &format!("/schema/pipelines/{pid}/stages"),
        json!({"name": "Lost"}),
        201,
    )
    .await;
    let r = app
        .post(
            &format!("/schema/pipelines/{pid}/stages"),
            json!({"name": "Archived", "position": 999}),
            201,
        )
        .await;
    assert_eq!(r.data()["position"], 5);
    app.post(
        &format!("/schema/pipelines/{pid}/stages"),
        json!({"name": "Inbox", "position": 0}),
        201,
    )
    .await;
    assert_eq!(
        slugs_in_order(&pipeline(app, "main-sales").await),
        [
            "inbox",
            "new",
            "qualified",
            "contacted",
            "won",
            "lost",
            "archived"
        ]
    );
    // Negative position → 400; duplicate slug in the pipeline → 409, and the failed insert
    // did not shift the others.
    let r = app
        .post(
            &format!("/schema/pipelines/{pid}/stages"),
            json!({"name": "Neg", "position": -1}),
            400,
        )
        .await;
    assert_eq!(r.body["details"]["field"], "position");
    let r = app
        .post(
            &format!("/schema/pipelines/{pid}/stages"),
            json!({"name": "New", "position": 0}),
            409,
        )
        .await;
    assert_eq!(r.error_code(), "conflict");
    app.post(
        &format!("/schema/pipelines/{pid}/stages"),
        json!({"name": "Again", "slug": "won", "position": 2}),
        409,
    )
    .await;
    assert_eq!(
        slugs_in_order(&pipeline(app, "main-sales").await),
        [
            "inbox",
            "new",
            "qualified",
            "contacted",
            "won",
            "lost",
            "archived"
        ]
    );
    // Unknown pipeline → 404.
    app.post(
        &format!("/schema/pipelines/{}/stages", uuid::Uuid::now_v7()),
        json!({"name": "X"}),
        404,
    )
    .await;
    // But a stage slug of another pipeline is fine here.
    let other = app
        .post(
            "/schema/pipelines",
            json!({"name": "Other", "stages": [{"name": "Only"}]}),
            201,
        )
        .await;
    let r = app
        .post(
            &format!("/schema/pipelines/{}/stages", id_of(other.data())),
            json!({"name": "Inbox"}),
            201,
        )
        .await;
    assert_eq!(r.data()["slug"], "inbox");
});

backend_test!(stage_patch_reorders_and_renames, |app| async move {
    let main = pipeline(app, "main-sales").await;
    let ids: Vec<String> = main["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    let skip = app.events().await.len();
    // Move Won to the front.
    let r = app
        .patch(
            &format!("/schema/stages/{}", ids[2]),
            json!({"position": 0}),
            200,
        )
        .await;
    assert_eq!(r.data()["position"], 0);
    assert_eq!(r.data()["slug"], "won");
    assert_eq!(
        slugs_in_order(&pipeline(app, "main-sales").await),
        ["won", "new", "contacted"]
    );
    // One stage.updated per stage whose position changed: the moved one and its two siblings,
    // so a subscriber mirroring the column order sees every change.
    let ev = events_since(app, skip).await;
    assert_eq!(ev.len(), 3, "{ev:?}");
    let position_change = |id: &str| {
        let (name, data) = ev
            .iter()
            .find(|(_, d)| d["id"] == id)
            .unwrap_or_else(|| panic!("no event for stage {id}: {ev:?}"));
        assert_eq!(name, "stage.updated");
        data["changes"]["position"].clone()
    };
    assert_eq!(position_change(&ids[2]), json!({"old": 2, "new": 0}));
    assert_eq!(position_change(&ids[0]), json!({"old": 0, "new": 1}));
    assert_eq!(position_change(&ids[1]), json!({"old": 1, "new": 2}));
    // Move New to the end (clamped), rename Contacted.
    app.patch(
        &format!("/schema/stages/{}", ids[0]),
        json!({"position": 50}),
        200,
    )
    .await;
    assert_eq!(
        slugs_in_order(&pipeline(app, "main-sales").await),
        ["won", "contacted", "new"]
    );
    let r = app
        .patch(
            &format!("/schema/stages/{}", ids[1]),
            json!({"name": "Reached Out", "slug": "reached-out", "position": 2}),
            200,
        )
        .await;
    assert_eq!(r.data()["name"], "Reached Out");
    assert_eq!(
        slugs_in_order(&pipeline(app, "main-sales").await),
        ["won", "new", "reached-out"]
    );
    // Slug clash within the pipeline → 409, and the failed move left the order as it was.
    let r = app
        .patch(
            &format!("/schema/stages/{}", ids[1]),
            json!({"slug": "won", "position": 0}),
            409,
        )
        .await;
    assert_eq!(r.error_code(), "conflict");
    assert_eq!(
        slugs_in_order(&pipeline(app, "main-sales").await),
        ["won", "new", "reached-out"]
    );
    app.patch(
        &format!("/schema/stages/{}", ids[1]),
        json!({"position": -3}),
        400,
    )
    .await;
    app.patch(
        &format!("/schema/stages/{}", uuid::Uuid::now_v7()),
        json!({"name": "x"}),
        404,
    )
    .await;
});

backend_test!(stage_delete_and_move_to, |app| async move {
    let main = pipeline(app, "main-sales").await;
    let ids: Vec<String> = main["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    let (new, contacted, won) = (&ids[0], &ids[1], &ids[2]);
    let a = app.lead("A").await;
    let b = app.lead("B").await;
    let c = app
        .post(
            "/records",
            json!({"type": "lead", "title": "C", "stage_id": won}),
            201,
        )
        .await
        .data()
        .clone();

    // Non-empty without move_to → 409; nothing moves.
    let r = app.delete(&format!("/schema/stages/{new}"), 409).await;
    assert_eq!(r.error_code(), "conflict");
    assert_eq!(
        app.get(&format!("/records/{}", id_of(&a)), 200)
            .await
            .data()["stage_id"],
        new.as_str()
    );
    // move_to itself, unknown, or not a uuid → 400.
    app.delete(&format!("/schema/stages/{new}?move_to={new}"), 400)
        .await;
    app.delete(
        &format!("/schema/stages/{new}?move_to={}", uuid::Uuid::now_v7()),
        400,
    )
    .await;
    app.delete(&format!("/schema/stages/{new}?move_to=nope"), 400)
        .await;

    let skip = app.events().await.len();
    let d = app
        .delete(&format!("/schema/stages/{new}?move_to={won}"), 200)
        .await;
    assert_eq!(d.data(), &json!({"deleted": true, "id": new}));
    // Records now sit in Won, after the card already there, in their old order.
    let list = app
        .get(&format!("/records?stage_id={won}&per_page=100"), 200)
        .await;
    assert_eq!(list.body["meta"]["total"], 3, "{}", list.text);
    for r in [&a, &b] {
        let g = app.get(&format!("/records/{}", id_of(r)), 200).await;
        assert_eq!(g.data()["stage_id"], won.as_str());
        assert_eq!(g.data()["pipeline_id"], main["id"]);
    }
    let pos = |v: &Value| v["position"].as_str().unwrap().to_string();
    let ga = app.get(&format!("/records/{}", id_of(&a)), 200).await;
    let gb = app.get(&format!("/records/{}", id_of(&b)), 200).await;
    assert!(
        pos(&c) < pos(ga.data()),
        "moved cards go after existing ones"
    );
    assert!(pos(ga.data()) < pos(gb.data()), "and keep their order");
    // Events: per record updated + stage_changed (+ moved), then stage.deleted.
    let ev = events_since(app, skip).await;
    let changed: Vec<&(String, Value)> = ev
        .iter()
        .filter(|e| e.0 == "pipeline.stage_changed")
        .collect();
    assert_eq!(changed.len(), 2, "{ev:?}");
    for e in &changed {
        assert_eq!(e.1["from_stage_id"], new.as_str());
        assert_eq!(e.1["to_stage_id"], won.as_str());
        assert_eq!(e.1["pipeline_id"], main["id"]);
    }
    assert_eq!(ev.iter().filter(|e| e.0 == "record.updated").count(), 2);
    // stage.deleted, then stage.updated for the stages that moved up to close the gap.
    let del = ev.iter().position(|e| e.0 == "stage.deleted").unwrap();
    assert_eq!(ev[del].1["id"], new.as_str());
    assert!(ev[del].1["deleted_at"].is_string());
    let after: Vec<(&str, Value)> = ev[del + 1..]
        .iter()
        .map(|e| (e.0.as_str(), e.1["changes"]["position"].clone()))
        .collect();
    assert_eq!(
        after,
        [
            ("stage.updated", json!({"old": 1, "new": 0})),
            ("stage.updated", json!({"old": 2, "new": 1}))
        ]
    );
    // The pipeline renumbered.
    let p = pipeline(app, "main-sales").await;
    assert_eq!(slugs_in_order(&p), ["contacted", "won"]);
    app.get(&format!("/schema/stages/{new}"), 404).await;

    // An empty stage deletes without move_to.
    let skip = app.events().await.len();
    app.delete(&format!("/schema/stages/{contacted}"), 200)
        .await;
    let ev = events_since(app, skip).await;
    let names: Vec<&str> = ev.iter().map(|e| e.0.as_str()).collect();
    // Won moved from 1 to 0.
    assert_eq!(names, ["stage.deleted", "stage.updated"]);
    assert_eq!(ev[1].1["slug"], "won");
    assert_eq!(slugs_in_order(&pipeline(app, "main-sales").await), ["won"]);
    app.delete(&format!("/schema/stages/{contacted}"), 404)
        .await;

    // move_to may point into another pipeline.
    let other = app
        .post(
            "/schema/pipelines",
            json!({"name": "Archive", "stages": [{"name": "Old"}]}),
            201,
        )
        .await;
    let old = id_of(&other.data()["stages"][0]);
    app.delete(&format!("/schema/stages/{won}?move_to={old}"), 200)
        .await;
    let g = app.get(&format!("/records/{}", id_of(&c)), 200).await;
    assert_eq!(g.data()["stage_id"], old.as_str());
    assert_eq!(g.data()["pipeline_id"], other.data()["id"]);
    assert_eq!(pipeline(app, "main-sales").await["stages"], json!([]));
});

backend_test!(stage_slug_unique_within_pipeline_only, |app| async move {
    let main = pipeline(app, "main-sales").await;
    let won = id_of(&main["stages"][2]);
    app.patch(
        &format!("/schema/stages/{won}"),
        json!({"slug": "new"}),
        409,
    )
    .await;
    app.patch(
        &format!("/schema/stages/{won}"),
        json!({"name": "New"}),
        200,
    )
    .await;
    let other = app
        .post(
            "/schema/pipelines",
            json!({"name": "Second", "stages": [{"name": "Won"}, {"name": "New"}]}),
            201,
        )
        .await;
    let s0 = id_of(&other.data()["stages"][0]);
    let r = app
        .patch(
            &format!("/schema/stages/{s0}"),
            json!({"slug": "contacted"}),
            200,
        )
        .await;
    assert_eq!(r.data()["slug"], "contacted");
    app.patch(&format!("/schema/stages/{s0}"), json!({"slug": "new"}), 409)
        .await;
});

backend_test!(
    concurrent_stage_changes_keep_positions_contiguous,
    |app| async move {
        let main = pipeline(app, "main-sales").await;
        let pid = id_of(&main);
        for round in 0..5 {
            let path = format!("/schema/pipelines/{pid}/stages");
            let (a, b, c) = tokio::join!(
                app.send(
                    app.req(Method::POST, &path)
                        .json(&json!({"name": format!("A{round}"), "position": 1}))
                ),
                app.send(
                    app.req(Method::POST, &path)
                        .json(&json!({"name": format!("B{round}")}))
                ),
                app.send(
                    app.req(Method::POST, &path)
                        .json(&json!({"name": format!("C{round}"), "position": 0}))
                ),
            );
            for r in [&a, &b, &c] {
                assert_eq!(r.status.as_u16(), 201, "round {round}: {}", r.text);
            }
            let p = pipeline(app, "main-sales").await;
            let order = stage_order(&p);
            for (i, (_, pos)) in order.iter().enumerate() {
                assert_eq!(
                    *pos, i as i64,
                    "round {round}: positions not contiguous: {order:?}"
                );
            }
            assert_eq!(order.len(), 3 + 3 * (round + 1));
        }
        // Concurrent reorders and deletes keep 0..n too.
        let p = pipeline(app, "main-sales").await;
        let ids: Vec<String> = p["stages"].as_array().unwrap().iter().map(id_of).collect();
        let (a, b, c) = tokio::join!(
            app.send(
                app.req(Method::PATCH, &format!("/schema/stages/{}", ids[0]))
                    .json(&json!({"position": 10}))
            ),
            app.send(app.req(Method::DELETE, &format!("/schema/stages/{}", ids[5]))),
            app.send(
                app.req(Method::PATCH, &format!("/schema/stages/{}", ids[9]))
                    .json(&json!({"position": 0}))
            ),
        );
        for r in [&a, &b, &c] {
            assert_eq!(r.status.as_u16(), 200, "{}", r.text);
        }
        let order = stage_order(&pipeline(app, "main-sales").await);
        assert_eq!(order.len(), ids.len() - 1);
        for (i, (_, pos)) in order.iter().enumerate() {
            assert_eq!(*pos, i as i64, "positions not contiguous: {order:?}");
        }
    }
);

backend_test!(
    stage_delete_racing_a_new_record_leaves_no_orphan,
    |app| async move {
        let main = pipeline(app, "main-sales").await;
        let pid = id_of(&main);
        for round in 0..15 {
            let st = app
                .post(
                    &format!("/schema/pipelines/{pid}/stages"),
                    json!({"name": format!("Race {round}")}),
                    201,
                )
                .await;
            let sid = id_of(st.data());
            let (rec, del) = tokio::join!(
                app.send(
                    app.req(Method::POST, "/records")
                        .json(&json!({"type": "lead", "stage_id": sid}))
                ),
                app.send(app.req(Method::DELETE, &format!("/schema/stages/{sid}"))),
            );
            // Either the record landed first (and the non-empty stage is kept), or the stage
            // went first (and the record is refused). Never both: that would leave a record on
            // the board without a stage. The refusal is a clean 400 naming the stage.
            if rec.status.as_u16() == 201 {
                assert_eq!(del.status.as_u16(), 409, "round {round}: {}", del.text);
                let id = rec.data()["id"].as_str().unwrap();
                let g = app.get(&format!("/records/{id}"), 200).await;
                assert_eq!(g.data()["stage_id"], sid.as_str(), "round {round}");
                app.delete(&format!("/records/{id}"), 200).await;
                app.delete(&format!("/schema/stages/{sid}"), 200).await;
            } else {
                assert_eq!(del.status.as_u16(), 200, "round {round}: {}", del.text);
                assert_eq!(rec.status.as_u16(), 400, "round {round}: {}", rec.text);
                assert_eq!(rec.body["details"]["field"], "stage_id", "round {round}");
            }
            let all = app.get("/records?per_page=100", 200).await;
            for r in all.data().as_array().unwrap() {
                assert!(
                    r["pipeline_id"].is_null() == r["stage_id"].is_null(),
                    "round {round}: record off its stage: {r}"
                );
            }
        }
    }
);

backend_test!(
    pipeline_delete_racing_a_new_record_leaves_no_orphan,
    |app| async move {
        for round in 0..15 {
            let p = app
                .post(
                    "/schema/pipelines",
                    json!({"name": format!("Race {round}"), "stages": [{"name": "Only"}]}),
                    201,
                )
                .await;
            let pid = id_of(p.data());
            let (rec, del) = tokio::join!(
                app.send(
                    app.req(Method::POST, "/records")
                        .json(&json!({"type": "lead", "pipeline": pid}))
                ),
                app.send(app.req(Method::DELETE, &format!("/schema/pipelines/{pid}"))),
            );
            // As for stages: never a record created on a board that was deleted under it.
            if rec.status.as_u16() == 201 {
                assert_eq!(del.status.as_u16(), 409, "round {round}: {}", del.text);
                let id = rec.data()["id"].as_str().unwrap();
                let g = app.get(&format!("/records/{id}"), 200).await;
                assert_eq!(g.data()["pipeline_id"], pid.as_str(), "round {round}");
                app.delete(&format!("/records/{id}"), 200).await;
                app.delete(&format!("/schema/pipelines/{pid}"), 200).await;
            } else {
                assert_eq!(del.status.as_u16(), 200, "round {round}: {}", del.text);
                assert_eq!(rec.status.as_u16(), 400, "round {round}: {}", rec.text);
            }
        }
        let all = app.get("/records?per_page=100", 200).await;
        assert_eq!(all.body["meta"]["total"], 0, "{}", all.text);
    }
);
