//! `/records`: create, read, list, update, move, delete, events, activity, concurrency.

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_test;
use crate::support::{Resp, TestApp};

// ---- helpers shared with tasks.rs and kanvo.rs ------------------------------------------------

/// The demo board "Main Sales" and its three stages, by id.
pub(crate) struct Board {
    pub pipeline_id: String,
    pub new: String,
    pub contacted: String,
    pub won: String,
}

/// Reads the demo board through `GET /schema` with the given token.
pub(crate) async fn board_as(app: &TestApp, token: &str) -> Board {
    let r = app
        .expect(app.req_as(token, Method::GET, "/schema"), 200)
        .await;
    let p = r.data()["pipelines"]
        .as_array()
        .expect("pipelines")
        .iter()
        .find(|p| p["slug"] == "main-sales")
        .expect("main-sales pipeline")
        .clone();
    let stage = |slug: &str| {
        p["stages"]
            .as_array()
            .expect("stages")
            .iter()
            .find(|s| s["slug"] == slug)
            .unwrap_or_else(|| panic!("stage {slug}"))["id"]
            .as_str()
            .expect("stage id")
            .to_string()
    };
    Board {
        pipeline_id: p["id"].as_str().expect("pipeline id").to_string(),
        new: stage("new"),
        contacted: stage("contacted"),
        won: stage("won"),
    }
}

pub(crate) async fn board(app: &TestApp) -> Board {
    board_as(app, &app.token).await
}

/// A new member of the test workspace; returns its id.
pub(crate) async fn new_member(app: &TestApp, name: &str) -> String {
    let email = format!(
        "{}-{}@example.com",
        name.to_lowercase().replace(' ', "."),
        uuid::Uuid::now_v7().simple()
    );
    let r = app
        .post(
            "/members",
            json!({"name": name, "email": email, "role": "member"}),
            201,
        )
        .await;
    s(&r.data()["id"])
}

/// The member behind a token (`GET /me`).
pub(crate) async fn member_of(app: &TestApp, token: &str) -> String {
    let r = app.expect(app.req_as(token, Method::GET, "/me"), 200).await;
    s(&r.data()["member"]["id"])
}

/// A JSON string value as an owned `String` (panics otherwise).
pub(crate) fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

/// `2026-03-14T18:30:00.000Z`, i.e. `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`.
pub(crate) fn is_timestamp(v: &Value) -> bool {
    let Some(t) = v.as_str() else {
        return false;
    };
    let b = t.as_bytes();
    let pattern = b"dddd-dd-ddTdd:dd:dd.dddZ";
    b.len() == pattern.len()
        && b.iter().zip(pattern.iter()).all(|(c, p)| match p {
            b'd' => c.is_ascii_digit(),
            other => c == other,
        })
}

/// The events (oldest first) whose payload is the resource `id`.
pub(crate) async fn events_of(app: &TestApp, id: &str) -> Vec<(String, Value)> {
    app.events()
        .await
        .into_iter()
        .filter(|(_, d)| d["id"] == id)
        .collect()
}

pub(crate) fn names(evs: &[(String, Value)]) -> Vec<&str> {
    evs.iter().map(|(n, _)| n.as_str()).collect()
}

/// The `data` of a list answer as ids, in order.
pub(crate) fn ids(r: &Resp) -> Vec<String> {
    r.data()
        .as_array()
        .unwrap_or_else(|| panic!("data is not a list: {}", r.text))
        .iter()
        .map(|x| s(&x["id"]))
        .collect()
}

fn field_of(r: &Resp) -> String {
    r.body["details"]["field"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// Asserts a 400 error that names `field` in both the message and `details.field`.
fn assert_names_field(r: &Resp, field: &str) {
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    r.error_code();
    assert!(
        r.body["error"].as_str().unwrap().contains(field),
        "error does not name '{field}': {}",
        r.text
    );
    assert_eq!(field_of(r), field, "{}", r.text);
}

/// Asserts a 400 for an unknown reference: `details.field` is the field, the message names
/// the value that was not found.
fn assert_unknown_ref(r: &Resp, field: &str, value: &str) {
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    r.error_code();
    let msg = r.body["error"].as_str().unwrap();
    assert!(
        msg.contains(&format!("'{value}'")) && msg.contains("not found"),
        "error does not name '{value}': {}",
        r.text
    );
    assert_eq!(field_of(r), field, "{}", r.text);
}

async fn create(app: &TestApp, body: Value) -> Value {
    app.post("/records", body, 201).await.data().clone()
}

async fn create_err(app: &TestApp, body: Value) -> Resp {
    app.post("/records", body, 400).await
}

// ---- create -----------------------------------------------------------------------------------

backend_test!(create_and_get_round_trip, |app| async move {
    let r = app
        .post(
            "/records",
            json!({"type": "lead", "title": "Smith", "data": {"n": 1.5, "u": "ü", "o": {}}}),
            201,
        )
        .await;
    let id = r.data()["id"].as_str().unwrap().to_string();
    assert_eq!(r.data()["title"], "Smith");
    assert_eq!(
        r.data()["object_types"],
        json!({"name": "Lead", "slug": "lead", "icon": "👤"})
    );
    let g = app.get(&format!("/records/{id}"), 200).await;
    assert_eq!(g.data(), r.data());
    assert!(g.header("etag").is_some());
});

backend_test!(create_requires_type, |app| async move {
    let r = create_err(app, json!({"title": "No type"})).await;
    assert_names_field(&r, "type");
    // Nothing was written.
    let l = app.get("/records", 200).await;
    assert_eq!(l.body["meta"]["total"], 0);
});

backend_test!(create_unknown_type, |app| async move {
    let r = create_err(app, json!({"type": "x", "title": "t"})).await;
    assert_eq!(r.body["success"], false);
    assert_eq!(r.body["error"], "Object type 'x' not found");
    assert_eq!(field_of(&r), "type");
    let r = create_err(app, json!({"type": 5})).await;
    assert_names_field(&r, "type");
});

backend_test!(create_defaults, |app| async move {
    let r = create(app, json!({"type": "job"})).await;
    assert_eq!(r["title"], "Untitled");
    assert_eq!(r["data"], json!({}));
    assert_eq!(r["stage_id"], Value::Null);
    assert_eq!(r["pipeline_id"], Value::Null);
    assert_eq!(r["assignee_id"], Value::Null);
    assert_eq!(r["position"], Value::Null);
    assert_eq!(
        r["object_types"],
        json!({"name": "Job", "slug": "job", "icon": "🔧"})
    );
    assert!(is_timestamp(&r["created_at"]), "{}", r["created_at"]);
    assert_eq!(r["created_at"], r["updated_at"]);
    assert!(uuid::Uuid::parse_str(r["id"].as_str().unwrap()).is_ok());
    let r = create(app, json!({"type": "job", "title": null})).await;
    assert_eq!(r["title"], "Untitled");
});

backend_test!(create_data_must_be_an_object, |app| async move {
    for bad in [json!([1, 2]), json!("text"), Value::Null, json!(3)] {
        let r = create_err(app, json!({"type": "lead", "data": bad})).await;
        assert_names_field(&r, "data");
    }
    let r = create(
        app,
        json!({"type": "lead", "data": {"phone": "555", "tags": ["a"]}}),
    )
    .await;
    assert_eq!(r["data"], json!({"phone": "555", "tags": ["a"]}));
    let l = app.get("/records", 200).await;
    assert_eq!(l.body["meta"]["total"], 1);
});

backend_test!(create_assignee_must_be_a_member, |app| async move {
    let r = create_err(
        app,
        json!({"type": "lead", "assignee_id": uuid::Uuid::now_v7()}),
    )
    .await;
    assert_names_field(&r, "assignee_id");

    let other = app.other_workspace().await;
    let stranger = member_of(app, &other).await;
    let r = create_err(app, json!({"type": "lead", "assignee_id": stranger})).await;
    assert_names_field(&r, "assignee_id");

    let r = create_err(app, json!({"type": "lead", "assignee_id": "not-a-uuid"})).await;
    assert_names_field(&r, "assignee_id");

    let m = new_member(app, "Ann").await;
    let r = create(app, json!({"type": "lead", "assignee_id": m})).await;
    assert_eq!(r["assignee_id"], m);
    let owner = member_of(app, &app.token).await;
    let r = create(app, json!({"type": "lead", "assignee_id": owner})).await;
    assert_eq!(r["assignee_id"], owner);
});

backend_test!(create_stage_id_xor_pipeline, |app| async move {
    let b = board(app).await;
    let r = create_err(
        app,
        json!({"type": "lead", "stage_id": b.new, "pipeline": "main-sales"}),
    )
    .await;
    assert_eq!(field_of(&r), "stage_id", "{}", r.text);
    r.error_code();
    let r = create_err(
        app,
        json!({"type": "lead", "stage_id": b.new, "pipeline": "main-sales", "stage": "won"}),
    )
    .await;
    assert_eq!(field_of(&r), "stage_id", "{}", r.text);
    let l = app.get("/records", 200).await;
    assert_eq!(l.body["meta"]["total"], 0);
});

backend_test!(
    create_pipeline_alone_places_in_first_stage,
    |app| async move {
        let b = board(app).await;
        for key in ["main-sales", "Main Sales", b.pipeline_id.as_str()] {
            let r = create(app, json!({"type": "lead", "pipeline": key})).await;
            assert_eq!(r["stage_id"], b.new, "pipeline {key}");
            assert_eq!(r["pipeline_id"], b.pipeline_id, "pipeline {key}");
            assert!(r["position"].is_string());
        }
    }
);

backend_test!(
    create_pipeline_and_stage_by_name_slug_and_uuid,
    |app| async move {
        let b = board(app).await;
        let cases = [
            ("Main Sales", "Contacted", &b.contacted),
            ("main-sales", "contacted", &b.contacted),
            (b.pipeline_id.as_str(), b.won.as_str(), &b.won),
            ("main-sales", "Won", &b.won),
            ("Main Sales", "new", &b.new),
        ];
        for (p, st, want) in cases {
            let r = create(app, json!({"type": "lead", "pipeline": p, "stage": st})).await;
            assert_eq!(&s(&r["stage_id"]), want, "pipeline {p} stage {st}");
            assert_eq!(r["pipeline_id"], b.pipeline_id);
        }
        let r = create(app, json!({"type": "lead", "stage_id": b.won})).await;
        assert_eq!(r["stage_id"], b.won);
        assert_eq!(r["pipeline_id"], b.pipeline_id);
    }
);

backend_test!(create_unknown_pipeline_or_stage, |app| async move {
    let r = create_err(app, json!({"type": "lead", "pipeline": "nope"})).await;
    assert_unknown_ref(&r, "pipeline", "nope");
    let r = create_err(
        app,
        json!({"type": "lead", "pipeline": "main-sales", "stage": "nope"}),
    )
    .await;
    assert_unknown_ref(&r, "stage", "nope");
    let random = uuid::Uuid::now_v7().to_string();
    let r = create_err(app, json!({"type": "lead", "pipeline": random})).await;
    assert_unknown_ref(&r, "pipeline", &random);
    let r = create_err(app, json!({"type": "lead", "stage_id": random})).await;
    assert_unknown_ref(&r, "stage_id", &random);
    // Another workspace's stage is as unknown as a random one.
    let other = app.other_workspace().await;
    let ob = board_as(app, &other).await;
    let r = create_err(app, json!({"type": "lead", "stage_id": ob.new})).await;
    assert_unknown_ref(&r, "stage_id", &ob.new);
    let r = create_err(
        app,
        json!({"type": "lead", "pipeline": ob.pipeline_id, "stage": ob.new}),
    )
    .await;
    assert_unknown_ref(&r, "pipeline", &ob.pipeline_id);
    let l = app.get("/records", 200).await;
    assert_eq!(l.body["meta"]["total"], 0);
});

backend_test!(create_position_appends_and_validates, |app| async move {
    let b = board(app).await;
    let first = app.lead("first").await;
    let second = app.lead("second").await;
    let third = app.lead("third").await;
    let (p1, p2, p3) = (
        s(&first["position"]),
        s(&second["position"]),
        s(&third["position"]),
    );
    assert!(p1 < p2 && p2 < p3, "{p1} < {p2} < {p3}");
    // Another stage starts its own column.
    let other = create(app, json!({"type": "lead", "stage_id": b.won})).await;
    assert!(other["position"].is_string());

    let r = create(
        app,
        json!({"type": "lead", "pipeline": "main-sales", "position": "a5"}),
    )
    .await;
    assert_eq!(r["position"], "a5");
    assert_eq!(r["stage_id"], b.new);
    // The next default lands after the greatest position, "a5" included.
    let next = app.lead("after a5").await;
    assert!(s(&next["position"]).as_str() > "a5", "{}", next["position"]);

    let long = format!("a0{}", "z".repeat(127));
    for bad in ["", "a", "a00", "ab-c", "é", "V", long.as_str()] {
        let r = create_err(
            app,
            json!({"type": "lead", "stage_id": b.new, "position": bad}),
        )
        .await;
        assert_names_field(&r, "position");
    }
    // A position needs a stage.
    let r = create_err(app, json!({"type": "lead", "position": "a0"})).await;
    assert_names_field(&r, "position");
});

backend_test!(
    create_rejects_unknown_fields_and_bad_json,
    |app| async move {
        let r = create_err(app, json!({"type": "lead", "colour": "red"})).await;
        assert_names_field(&r, "colour");
        let r = app
            .send(
                app.req(Method::POST, "/records")
                    .header("Content-Type", "application/json")
                    .body("{\"type\": \"lead\","),
            )
            .await;
        assert_eq!(r.status.as_u16(), 400, "{}", r.text);
        r.error_code();
    }
);

// ---- list -------------------------------------------------------------------------------------

async fn list(app: &TestApp, query: &[(&str, &str)]) -> Resp {
    app.expect(app.req(Method::GET, "/records").query(query), 200)
        .await
}

fn titles(r: &Resp) -> Vec<String> {
    let mut t: Vec<String> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|x| s(&x["title"]))
        .collect();
    t.sort();
    t
}

backend_test!(list_filters_by_type, |app| async move {
    create(app, json!({"type": "lead", "title": "L1"})).await;
    create(app, json!({"type": "lead", "title": "L2"})).await;
    create(app, json!({"type": "job", "title": "J1"})).await;
    let r = list(app, &[("type", "lead")]).await;
    assert_eq!(titles(&r), ["L1", "L2"]);
    assert_eq!(r.body["meta"]["total"], 2);
    let r = list(app, &[("type", "job")]).await;
    assert_eq!(titles(&r), ["J1"]);
    let r = list(app, &[("type", "estimate")]).await;
    assert_eq!(titles(&r), Vec::<String>::new());
    assert_eq!(r.body["meta"]["total"], 0);
    let r = list(app, &[]).await;
    assert_eq!(r.body["meta"]["total"], 3);
    let r = app.get("/records?type=widget", 400).await;
    assert_eq!(r.body["error"], "Object type 'widget' not found");
});

backend_test!(
    list_search_is_case_insensitive_and_literal,
    |app| async move {
        for t in [
            "Smith Residence",
            "Blacksmith shop",
            "Jones",
            "50% off",
            "500 off",
            "a_b",
            "axb",
            "Über Deal",
        ] {
            create(app, json!({"type": "lead", "title": t})).await;
        }
        let r = list(app, &[("search", "SMITH")]).await;
        assert_eq!(titles(&r), ["Blacksmith shop", "Smith Residence"]);
        assert_eq!(r.body["meta"]["total"], 2);
        let r = list(app, &[("search", "smith res")]).await;
        assert_eq!(titles(&r), ["Smith Residence"]);
        let r = list(app, &[("search", "50%")]).await;
        assert_eq!(titles(&r), ["50% off"]);
        let r = list(app, &[("search", "%")]).await;
        assert_eq!(titles(&r), ["50% off"]);
        let r = list(app, &[("search", "a_b")]).await;
        assert_eq!(titles(&r), ["a_b"]);
        let r = list(app, &[("search", "_")]).await;
        assert_eq!(titles(&r), ["a_b"]);
        let r = list(app, &[("search", "über")]).await;
        assert_eq!(titles(&r), ["Über Deal"]);
        let r = list(app, &[("search", "nothing like it")]).await;
        assert_eq!(r.body["meta"]["total"], 0);
        // Search combines with type.
        create(app, json!({"type": "job", "title": "Smith job"})).await;
        let r = list(app, &[("search", "smith"), ("type", "job")]).await;
        assert_eq!(titles(&r), ["Smith job"]);
    }
);

backend_test!(list_filters_by_assignee, |app| async move {
    let ann = new_member(app, "Ann").await;
    let bob = new_member(app, "Bob").await;
    create(
        app,
        json!({"type": "lead", "title": "A1", "assignee_id": ann}),
    )
    .await;
    create(
        app,
        json!({"type": "lead", "title": "A2", "assignee_id": ann}),
    )
    .await;
    create(
        app,
        json!({"type": "lead", "title": "B1", "assignee_id": bob}),
    )
    .await;
    create(app, json!({"type": "lead", "title": "none"})).await;
    let r = list(app, &[("assignee_id", &ann)]).await;
    assert_eq!(titles(&r), ["A1", "A2"]);
    let r = list(app, &[("assignee_id", &bob), ("type", "lead")]).await;
    assert_eq!(titles(&r), ["B1"]);
    let nobody = uuid::Uuid::now_v7().to_string();
    let r = list(app, &[("assignee_id", &nobody)]).await;
    assert_eq!(r.body["meta"]["total"], 0);
    let r = app.get("/records?assignee_id=not-a-uuid", 400).await;
    r.error_code();
});

backend_test!(list_pagination_and_order, |app| async move {
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(s(&create(
            app,
            json!({"type": "lead", "title": format!("r{i}")}),
        )
        .await["id"]));
    }
    let newest_first: Vec<String> = created.iter().rev().cloned().collect();

    let r = list(app, &[]).await;
    assert_eq!(r.body["success"], true);
    assert_eq!(
        r.body["meta"],
        json!({"total": 5, "page": 1, "per_page": 50})
    );
    assert_eq!(ids(&r), newest_first);

    let mut paged = Vec::new();
    for page in 1..=3 {
        let p = page.to_string();
        let r = list(app, &[("per_page", "2"), ("page", &p)]).await;
        assert_eq!(
            r.body["meta"],
            json!({"total": 5, "page": page, "per_page": 2})
        );
        assert_eq!(ids(&r).len(), if page < 3 { 2 } else { 1 });
        paged.extend(ids(&r));
    }
    assert_eq!(paged, newest_first);

    let r = list(app, &[("per_page", "2"), ("page", "4")]).await;
    assert_eq!(ids(&r), Vec::<String>::new());
    assert_eq!(r.body["meta"]["total"], 5);

    let r = list(app, &[("per_page", "500")]).await;
    assert_eq!(r.body["meta"]["per_page"], 100);
    assert_eq!(ids(&r).len(), 5);

    for bad in [
        "per_page=0",
        "page=0",
        "page=abc",
        "per_page=-1",
        "page=1.5",
    ] {
        let r = app.get(&format!("/records?{bad}"), 400).await;
        r.error_code();
    }
});

backend_test!(list_per_page_clamps_to_100, |app| async move {
    for i in 0..105 {
        create(app, json!({"type": "lead", "title": format!("r{i}")})).await;
    }
    let r = list(app, &[("per_page", "1000")]).await;
    assert_eq!(ids(&r).len(), 100);
    assert_eq!(
        r.body["meta"],
        json!({"total": 105, "page": 1, "per_page": 100})
    );
    let r = list(app, &[("per_page", "1000"), ("page", "2")]).await;
    assert_eq!(ids(&r).len(), 5);
});

backend_test!(list_excludes_deleted, |app| async move {
    let keep = s(&app.lead("keep").await["id"]);
    let gone = s(&app.lead("gone").await["id"]);
    app.delete(&format!("/records/{gone}"), 200).await;
    let r = list(app, &[]).await;
    assert_eq!(ids(&r), std::slice::from_ref(&keep));
    assert_eq!(r.body["meta"]["total"], 1);
    let r = list(app, &[("search", "gone")]).await;
    assert_eq!(r.body["meta"]["total"], 0);
    let r = list(app, &[("type", "lead")]).await;
    assert_eq!(ids(&r), [keep]);
});

backend_test!(list_is_scoped_to_the_workspace, |app| async move {
    let other = app.other_workspace().await;
    app.expect(
        app.req_as(&other, Method::POST, "/records")
            .json(&json!({"type": "lead", "title": "theirs"})),
        201,
    )
    .await;
    app.lead("ours").await;
    let r = list(app, &[]).await;
    assert_eq!(titles(&r), ["ours"]);
    let r = app
        .expect(app.req_as(&other, Method::GET, "/records"), 200)
        .await;
    assert_eq!(titles(&r), ["theirs"]);
});

// ---- get --------------------------------------------------------------------------------------

backend_test!(get_unknown_is_404, |app| async move {
    let r = app
        .get(&format!("/records/{}", uuid::Uuid::now_v7()), 404)
        .await;
    assert_eq!(r.error_code(), "not_found");
    let r = app.get("/records/garbage", 404).await;
    assert_eq!(r.error_code(), "not_found");
    for garbage in ["123", "not%20a%20uuid", "%F0%9F%91%A4"] {
        let r = app.get(&format!("/records/{garbage}"), 404).await;
        assert_eq!(r.error_code(), "not_found");
    }
    // Another workspace's record is indistinguishable from a missing one.
    let other = app.other_workspace().await;
    let theirs = app
        .expect(
            app.req_as(&other, Method::POST, "/records")
                .json(&json!({"type": "lead", "title": "theirs"})),
            201,
        )
        .await;
    let tid = s(&theirs.data()["id"]);
    let r = app.get(&format!("/records/{tid}"), 404).await;
    assert_eq!(r.error_code(), "not_found");
    app.patch(&format!("/records/{tid}"), json!({"title": "mine"}), 404)
        .await;
    app.delete(&format!("/records/{tid}"), 404).await;
    let r = app
        .expect(
            app.req_as(&other, Method::GET, &format!("/records/{tid}")),
            200,
        )
        .await;
    assert_eq!(r.data()["title"], "theirs");
});

// ---- update -----------------------------------------------------------------------------------

backend_test!(patch_title_data_and_assignee, |app| async move {
    let ann = new_member(app, "Ann").await;
    let r = create(
        app,
        json!({"type": "lead", "title": "Old", "data": {"a": 1, "b": 2}}),
    )
    .await;
    let id = s(&r["id"]);
    let path = format!("/records/{id}");

    let u = app.patch(&path, json!({"title": "New"}), 200).await;
    assert_eq!(u.data()["title"], "New");
    assert_eq!(u.data()["data"], json!({"a": 1, "b": 2}));
    assert!(is_timestamp(&u.data()["updated_at"]));
    assert_eq!(u.data()["created_at"], r["created_at"]);

    // data replaces the whole object.
    let u = app.patch(&path, json!({"data": {"c": 3}}), 200).await;
    assert_eq!(u.data()["data"], json!({"c": 3}));
    assert_eq!(u.data()["title"], "New");

    let u = app.patch(&path, json!({"assignee_id": ann}), 200).await;
    assert_eq!(u.data()["assignee_id"], ann);
    let u = app.patch(&path, json!({"assignee_id": null}), 200).await;
    assert_eq!(u.data()["assignee_id"], Value::Null);

    let g = app.get(&path, 200).await;
    assert_eq!(g.data(), u.data());
    assert_eq!(g.data()["data"], json!({"c": 3}));

    // Invalid values are refused and change nothing.
    for (body, field) in [
        (json!({"data": [1]}), "data"),
        (json!({"data": null}), "data"),
        (json!({"data": "x"}), "data"),
        (json!({"title": null}), "title"),
        (json!({"assignee_id": uuid::Uuid::now_v7()}), "assignee_id"),
        (json!({"assignee_id": "nope"}), "assignee_id"),
    ] {
        let r = app.patch(&path, body.clone(), 400).await;
        assert_names_field(&r, field);
    }
    let after = app.get(&path, 200).await;
    assert_eq!(after.data(), g.data());
});

backend_test!(patch_stage_id_moves_and_appends, |app| async move {
    let b = board(app).await;
    let a = app.lead("a").await;
    let c1 = create(app, json!({"type": "lead", "stage_id": b.contacted})).await;
    let c2 = create(app, json!({"type": "lead", "stage_id": b.contacted})).await;
    let id = s(&a["id"]);
    let u = app
        .patch(
            &format!("/records/{id}"),
            json!({"stage_id": b.contacted}),
            200,
        )
        .await;
    assert_eq!(u.data()["stage_id"], b.contacted);
    assert_eq!(u.data()["pipeline_id"], b.pipeline_id);
    let p = s(&u.data()["position"]);
    assert!(
        p > s(&c1["position"]) && p > s(&c2["position"]),
        "moved card must come last: {p}"
    );
    // Moving with an explicit position keeps it.
    let u = app
        .patch(
            &format!("/records/{id}"),
            json!({"stage_id": b.won, "position": "a0V"}),
            200,
        )
        .await;
    assert_eq!(u.data()["stage_id"], b.won);
    assert_eq!(u.data()["position"], "a0V");
    // Unknown stage: 400, nothing moves.
    let random = uuid::Uuid::now_v7().to_string();
    let r = app
        .patch(&format!("/records/{id}"), json!({"stage_id": random}), 400)
        .await;
    assert_unknown_ref(&r, "stage_id", &random);
    // stage_id and pipeline together: 400.
    let r = app
        .patch(
            &format!("/records/{id}"),
            json!({"stage_id": b.new, "pipeline": "main-sales"}),
            400,
        )
        .await;
    assert_eq!(field_of(&r), "stage_id");
    let g = app.get(&format!("/records/{id}"), 200).await;
    assert_eq!(g.data()["stage_id"], b.won);
    // stage_id null takes the card off its board.
    let u = app
        .patch(&format!("/records/{id}"), json!({"stage_id": null}), 200)
        .await;
    assert_eq!(u.data()["stage_id"], Value::Null);
    assert_eq!(u.data()["pipeline_id"], Value::Null);
    assert_eq!(u.data()["position"], Value::Null);
});

backend_test!(patch_pipeline_and_stage_by_name, |app| async move {
    let b = board(app).await;
    let r = create(app, json!({"type": "job", "title": "off board"})).await;
    let path = format!("/records/{}", s(&r["id"]));
    let u = app
        .patch(
            &path,
            json!({"pipeline": "Main Sales", "stage": "Won"}),
            200,
        )
        .await;
    assert_eq!(u.data()["stage_id"], b.won);
    assert_eq!(u.data()["pipeline_id"], b.pipeline_id);
    assert!(u.data()["position"].is_string());
    let u = app
        .patch(
            &path,
            json!({"pipeline": "main-sales", "stage": "contacted"}),
            200,
        )
        .await;
    assert_eq!(u.data()["stage_id"], b.contacted);
    let u = app
        .patch(
            &path,
            json!({"pipeline": b.pipeline_id, "stage": b.new}),
            200,
        )
        .await;
    assert_eq!(u.data()["stage_id"], b.new);
    let r = app
        .patch(
            &path,
            json!({"pipeline": "main-sales", "stage": "Lost"}),
            400,
        )
        .await;
    assert_unknown_ref(&r, "stage", "Lost");
    let r = app
        .patch(&path, json!({"pipeline": "nope", "stage": "new"}), 400)
        .await;
    assert_unknown_ref(&r, "pipeline", "nope");
    let g = app.get(&path, 200).await;
    assert_eq!(g.data()["stage_id"], b.new);
    // `stage` alone moves within the record's current pipeline.
    let u = app.patch(&path, json!({"stage": "won"}), 200).await;
    assert_eq!(u.data()["stage_id"], b.won);
    // `pipeline` alone on the same board keeps the current stage.
    let u = app
        .patch(&path, json!({"pipeline": "main-sales"}), 200)
        .await;
    assert_eq!(u.data()["stage_id"], b.won);
    // Off the board, `stage` alone has no pipeline to look in; `pipeline` alone means its
    // first stage.
    let off = create(app, json!({"type": "job"})).await;
    let off_path = format!("/records/{}", s(&off["id"]));
    let r = app.patch(&off_path, json!({"stage": "won"}), 400).await;
    assert_names_field(&r, "stage");
    let u = app
        .patch(&off_path, json!({"pipeline": "main-sales"}), 200)
        .await;
    assert_eq!(u.data()["stage_id"], b.new);
});

backend_test!(patch_position_alone, |app| async move {
    let b = board(app).await;
    let a = app.lead("a").await;
    let path = format!("/records/{}", s(&a["id"]));
    let u = app.patch(&path, json!({"position": "Zz"}), 200).await;
    assert_eq!(u.data()["position"], "Zz");
    assert_eq!(u.data()["stage_id"], b.new);
    for bad in ["", "a10", "a0 b", "-", "1"] {
        let r = app.patch(&path, json!({"position": bad}), 400).await;
        assert_names_field(&r, "position");
    }
    let g = app.get(&path, 200).await;
    assert_eq!(g.data()["position"], "Zz");
    // A record off any board has no position to set.
    let off = create(app, json!({"type": "lead"})).await;
    let r = app
        .patch(
            &format!("/records/{}", s(&off["id"])),
            json!({"position": "a0"}),
            400,
        )
        .await;
    assert_names_field(&r, "position");
});

backend_test!(patch_unknown_field_is_named, |app| async move {
    let a = app.lead("a").await;
    let path = format!("/records/{}", s(&a["id"]));
    let r = app
        .patch(&path, json!({"title": "x", "priority": "high"}), 400)
        .await;
    assert_names_field(&r, "priority");
    // The rejected request changed nothing.
    let g = app.get(&path, 200).await;
    assert_eq!(g.data()["title"], "a");
    // `type` cannot be changed by PATCH either.
    let r = app.patch(&path, json!({"type": "job"}), 400).await;
    assert_names_field(&r, "type");
});

backend_test!(
    patch_noop_emits_nothing_and_keeps_updated_at,
    |app| async move {
        let b = board(app).await;
        let a = create(
            app,
            json!({"type": "lead", "title": "same", "data": {"k": 1}, "stage_id": b.new}),
        )
        .await;
        let id = s(&a["id"]);
        let path = format!("/records/{id}");
        let before = app.events().await.len();
        for body in [
            json!({}),
            json!({"title": "same"}),
            json!({"data": {"k": 1}}),
            json!({"assignee_id": null}),
            json!({"stage_id": b.new}),
            json!({"position": a["position"]}),
            json!({"pipeline": "main-sales"}),
            json!({"title": "same", "data": {"k": 1}, "stage_id": b.new}),
        ] {
            let u = app.patch(&path, body.clone(), 200).await;
            assert_eq!(u.data(), &a, "no-op PATCH {body} changed the record");
        }
        assert_eq!(
            app.events().await.len(),
            before,
            "a no-op PATCH emitted events"
        );
        let g = app.get(&path, 200).await;
        assert_eq!(g.data()["updated_at"], a["updated_at"]);
    }
);

backend_test!(patch_and_delete_honour_if_match, |app| async move {
    let a = app.lead("a").await;
    let path = format!("/records/{}", s(&a["id"]));
    let g = app.get(&path, 200).await;
    let tag = g.header("etag").expect("etag").to_string();

    let r = app
        .expect(
            app.req(Method::PATCH, &path)
                .header("If-Match", &tag)
                .json(&json!({"title": "b"})),
            200,
        )
        .await;
    assert_eq!(r.data()["title"], "b");
    let new_tag = r.header("etag").expect("etag on PATCH").to_string();
    assert_ne!(new_tag, tag);
    assert_eq!(
        app.get(&path, 200).await.header("etag"),
        Some(new_tag.as_str())
    );

    // The old tag is stale now.
    let r = app
        .expect(
            app.req(Method::PATCH, &path)
                .header("If-Match", &tag)
                .json(&json!({"title": "c"})),
            412,
        )
        .await;
    assert_eq!(r.error_code(), "precondition_failed");
    assert_eq!(app.get(&path, 200).await.data()["title"], "b");
    let r = app
        .expect(app.req(Method::DELETE, &path).header("If-Match", &tag), 412)
        .await;
    r.error_code();
    app.get(&path, 200).await;

    // `*` matches any current version.
    app.expect(
        app.req(Method::PATCH, &path)
            .header("If-Match", "*")
            .json(&json!({"title": "d"})),
        200,
    )
    .await;
    let cur = app.get(&path, 200).await;
    let cur_tag = cur.header("etag").unwrap().to_string();
    app.expect(
        app.req(Method::DELETE, &path).header("If-Match", &cur_tag),
        200,
    )
    .await;
    app.get(&path, 404).await;
});

// ---- delete -----------------------------------------------------------------------------------

backend_test!(delete_soft_deletes, |app| async move {
    let a = app.lead("doomed").await;
    let id = s(&a["id"]);
    let path = format!("/records/{id}");
    let r = app.delete(&path, 200).await;
    assert_eq!(
        r.body,
        json!({"success": true, "data": {"deleted": true, "id": id}})
    );
    let r = app.get(&path, 404).await;
    assert_eq!(r.error_code(), "not_found");
    let l = app.get("/records", 200).await;
    assert_eq!(l.body["meta"]["total"], 0);
    app.delete(&path, 404).await;
    app.patch(&path, json!({"title": "back"}), 404).await;
    // The audit trail outlives the record, ending with its deletion.
    let act = app.get(&format!("{path}/activity"), 200).await;
    assert_eq!(act.data()[0]["event"], "record.deleted");
    app.get(&format!("/records/{}/activity", uuid::Uuid::now_v7()), 404)
        .await;
    app.delete("/records/garbage", 404).await;
    app.delete(&format!("/records/{}", uuid::Uuid::now_v7()), 404)
        .await;
    // The deleted card no longer holds the end of its column.
    let next = app.lead("next").await;
    assert!(next["position"].is_string());
});

// ---- events -----------------------------------------------------------------------------------

fn without(v: &Value, keys: &[&str]) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        for k in keys {
            o.remove(*k);
        }
    }
    v
}

backend_test!(events_on_create, |app| async move {
    let b = board(app).await;
    let on_board = app.lead("on board").await;
    let id = s(&on_board["id"]);
    let evs = events_of(app, &id).await;
    assert_eq!(names(&evs), ["record.created", "pipeline.stage_changed"]);
    assert_eq!(evs[0].1, on_board, "record.created carries the record");
    let sc = &evs[1].1;
    assert_eq!(sc["from_stage_id"], Value::Null);
    assert_eq!(sc["to_stage_id"], b.new);
    assert_eq!(sc["pipeline_id"], b.pipeline_id);
    assert_eq!(
        without(sc, &["from_stage_id", "to_stage_id"]),
        on_board,
        "stage_changed carries the record"
    );

    let off = create(app, json!({"type": "lead", "title": "off board"})).await;
    let evs = events_of(app, &s(&off["id"])).await;
    assert_eq!(names(&evs), ["record.created"]);
    assert_eq!(evs[0].1, off);

    // Stored event shape.
    let r = app.get("/events?per_page=1", 200).await;
    let e = &r.data()[0];
    let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(keys, ["data", "event", "id", "timestamp", "workspace_id"]);
    assert!(is_timestamp(&e["timestamp"]));
    assert!(s(&e["workspace_id"]).starts_with("ws_"));
});

backend_test!(events_on_update_carry_exact_changes, |app| async move {
    let ann = new_member(app, "Ann").await;
    let a = create(
        app,
        json!({"type": "lead", "title": "Old", "data": {"x": 1}}),
    )
    .await;
    let id = s(&a["id"]);
    let u = app
        .patch(
            &format!("/records/{id}"),
            json!({"title": "New", "data": {"y": 2}, "assignee_id": ann}),
            200,
        )
        .await;
    let evs = events_of(app, &id).await;
    assert_eq!(names(&evs), ["record.created", "record.updated"]);
    let upd = &evs[1].1;
    assert_eq!(
        upd["changes"],
        json!({
            "title": {"old": "Old", "new": "New"},
            "data": {"old": {"x": 1}, "new": {"y": 2}},
            "assignee_id": {"old": null, "new": ann},
        })
    );
    assert_eq!(&without(upd, &["changes"]), u.data());

    app.patch(&format!("/records/{id}"), json!({"assignee_id": null}), 200)
        .await;
    let evs = events_of(app, &id).await;
    assert_eq!(
        names(&evs),
        ["record.created", "record.updated", "record.updated"]
    );
    assert_eq!(
        evs[2].1["changes"],
        json!({"assignee_id": {"old": ann, "new": null}})
    );
});

backend_test!(events_on_stage_change, |app| async move {
    let b = board(app).await;
    let a = app.lead("mover").await;
    let id = s(&a["id"]);
    // Someone already in Won, so the mover's new position differs from its old one.
    create(app, json!({"type": "lead", "stage_id": b.won})).await;
    let u = app
        .patch(&format!("/records/{id}"), json!({"stage_id": b.won}), 200)
        .await;
    let evs = events_of(app, &id).await;
    let ns = names(&evs);
    assert_eq!(&ns[..2], ["record.created", "pipeline.stage_changed"]);
    let mut rest: Vec<&str> = ns[2..].to_vec();
    rest.sort();
    assert_eq!(
        rest,
        ["pipeline.stage_changed", "record.moved", "record.updated"]
    );
    let find = |n: &str| {
        evs[2..]
            .iter()
            .find(|(name, _)| name == n)
            .map(|(_, d)| d.clone())
            .unwrap()
    };
    let upd = find("record.updated");
    assert_eq!(
        upd["changes"],
        json!({
            "stage_id": {"old": b.new, "new": b.won},
            "position": {"old": a["position"], "new": u.data()["position"]},
        })
    );
    let sc = find("pipeline.stage_changed");
    assert_eq!(sc["from_stage_id"], b.new);
    assert_eq!(sc["to_stage_id"], b.won);
    assert_eq!(sc["pipeline_id"], b.pipeline_id);
    assert_eq!(&without(&sc, &["from_stage_id", "to_stage_id"]), u.data());
    let mv = find("record.moved");
    assert_eq!(mv["from_stage_id"], b.new);
    assert_eq!(mv["to_stage_id"], b.won);
    assert_eq!(mv["position"], u.data()["position"]);
    assert_eq!(mv["id"], id);

    // A pipeline + stage move fires the same trio.
    app.patch(
        &format!("/records/{id}"),
        json!({"pipeline": "main-sales", "stage": "contacted"}),
        200,
    )
    .await;
    let evs = events_of(app, &id).await;
    let mut last: Vec<&str> = names(&evs)[5..].to_vec();
    last.sort();
    assert_eq!(
        last,
        ["pipeline.stage_changed", "record.moved", "record.updated"]
    );
});

backend_test!(events_on_position_only_change, |app| async move {
    let b = board(app).await;
    let a = app.lead("a").await;
    let id = s(&a["id"]);
    app.patch(&format!("/records/{id}"), json!({"position": "Zz"}), 200)
        .await;
    let evs = events_of(app, &id).await;
    let ns = names(&evs);
    assert_eq!(&ns[..2], ["record.created", "pipeline.stage_changed"]);
    let mut rest: Vec<&str> = ns[2..].to_vec();
    rest.sort();
    assert_eq!(rest, ["record.moved", "record.updated"]);
    for (n, d) in &evs[2..] {
        if n == "record.moved" {
            assert_eq!(d["from_stage_id"], b.new);
            assert_eq!(d["to_stage_id"], b.new);
            assert_eq!(d["position"], "Zz");
        } else {
            assert_eq!(
                d["changes"],
                json!({"position": {"old": a["position"], "new": "Zz"}})
            );
        }
    }
    // A title change alone does not move the card.
    app.patch(&format!("/records/{id}"), json!({"title": "b"}), 200)
        .await;
    let evs = events_of(app, &id).await;
    assert_eq!(evs.len(), 5);
    assert_eq!(evs[4].0, "record.updated");
});

backend_test!(events_on_delete, |app| async move {
    let a = app.lead("bye").await;
    let id = s(&a["id"]);
    app.delete(&format!("/records/{id}"), 200).await;
    let evs = events_of(app, &id).await;
    assert_eq!(evs.last().unwrap().0, "record.deleted");
    let d = &evs.last().unwrap().1;
    assert!(is_timestamp(&d["deleted_at"]), "{d}");
    assert_eq!(d["title"], "bye");
    assert_eq!(d["stage_id"], a["stage_id"]);
    assert_eq!(evs.iter().filter(|(n, _)| n == "record.deleted").count(), 1);
    // A failed second delete emits nothing.
    app.delete(&format!("/records/{id}"), 404).await;
    assert_eq!(events_of(app, &id).await.len(), evs.len());
});

backend_test!(
    contact_and_company_events_alongside_record_events,
    |app| async move {
        for kind in ["contact", "company"] {
            let r = create(app, json!({"type": kind, "title": format!("A {kind}")})).await;
            let id = s(&r["id"]);
            app.patch(&format!("/records/{id}"), json!({"title": "renamed"}), 200)
                .await;
            app.delete(&format!("/records/{id}"), 200).await;
            let evs = events_of(app, &id).await;
            let mut ns = names(&evs);
            ns.sort();
            let mut want = vec![
                "record.created".to_string(),
                "record.updated".to_string(),
                "record.deleted".to_string(),
                format!("{kind}.created"),
                format!("{kind}.updated"),
                format!("{kind}.deleted"),
            ];
            want.sort();
            assert_eq!(ns, want, "{kind}");
            // The aliased event carries the same payload as its record.* twin.
            for action in ["created", "updated", "deleted"] {
                let rec = &evs
                    .iter()
                    .find(|(n, _)| *n == format!("record.{action}"))
                    .unwrap()
                    .1;
                let alias = &evs
                    .iter()
                    .find(|(n, _)| *n == format!("{kind}.{action}"))
                    .unwrap()
                    .1;
                assert_eq!(rec, alias, "{kind}.{action}");
            }
        }
        let lead = app.lead("just a lead").await;
        let id = s(&lead["id"]);
        app.patch(&format!("/records/{id}"), json!({"title": "x"}), 200)
            .await;
        app.delete(&format!("/records/{id}"), 200).await;
        for (n, _) in events_of(app, &id).await {
            assert!(
                !n.starts_with("contact.") && !n.starts_with("company."),
                "lead fired {n}"
            );
        }
    }
);

// ---- activity ---------------------------------------------------------------------------------

backend_test!(
    activity_lists_the_records_events_newest_first,
    |app| async move {
        let b = board(app).await;
        let a = app.lead("tracked").await;
        let id = s(&a["id"]);
        let other = app.lead("noise").await;
        app.patch(&format!("/records/{id}"), json!({"title": "renamed"}), 200)
            .await;
        app.patch(
            &format!("/records/{}", s(&other["id"])),
            json!({"title": "noise 2"}),
            200,
        )
        .await;
        app.patch(&format!("/records/{id}"), json!({"stage_id": b.won}), 200)
            .await;

        let r = app.get(&format!("/records/{id}/activity"), 200).await;
        assert_eq!(r.body["success"], true);
        assert_eq!(
            r.body["meta"],
            json!({"total": 6, "page": 1, "per_page": 50})
        );
        let items = r.data().as_array().unwrap().clone();
        for e in &items {
            assert_eq!(e["data"]["id"], id, "foreign event in activity: {e}");
            assert!(is_timestamp(&e["timestamp"]));
        }
        let got: Vec<&str> = items.iter().map(|e| e["event"].as_str().unwrap()).collect();
        // Newest first: the move (three events of one write), the rename, then the creation.
        let mut move_group = got[..3].to_vec();
        move_group.sort();
        assert_eq!(
            move_group,
            ["pipeline.stage_changed", "record.moved", "record.updated"]
        );
        assert_eq!(got[3], "record.updated");
        assert_eq!(items[3]["data"]["changes"]["title"]["new"], "renamed");
        let mut create_group = got[4..].to_vec();
        create_group.sort();
        assert_eq!(create_group, ["pipeline.stage_changed", "record.created"]);
        // Same order as the workspace event list, newest first.
        let mut all: Vec<String> = events_of(app, &id)
            .await
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        all.reverse();
        assert_eq!(got, all);
        let stamps: Vec<String> = items.iter().map(|e| s(&e["timestamp"])).collect();
        let mut sorted = stamps.clone();
        sorted.sort_by(|x, y| y.cmp(x));
        assert_eq!(stamps, sorted, "timestamps not newest first");

        // Paginated.
        let mut paged = Vec::new();
        for page in 1..=3 {
            let r = app
                .get(
                    &format!("/records/{id}/activity?per_page=2&page={page}"),
                    200,
                )
                .await;
            assert_eq!(
                r.body["meta"],
                json!({"total": 6, "page": page, "per_page": 2})
            );
            paged.extend(ids(&r));
        }
        let all_ids: Vec<String> = items.iter().map(|e| s(&e["id"])).collect();
        assert_eq!(paged, all_ids);

        app.get(&format!("/records/{}/activity", uuid::Uuid::now_v7()), 404)
            .await;
        app.get("/records/garbage/activity", 404).await;
    }
);

// ---- scopes -----------------------------------------------------------------------------------

backend_test!(read_key_cannot_write_records, |app| async move {
    let read = app.key("read").await;
    let write = app.key("write").await;
    let a = app.lead("a").await;
    let path = format!("/records/{}", s(&a["id"]));
    app.expect(app.req_as(&read, Method::GET, &path), 200).await;
    app.expect(app.req_as(&read, Method::GET, "/records"), 200)
        .await;
    let r = app
        .expect(
            app.req_as(&read, Method::POST, "/records")
                .json(&json!({"type": "lead"})),
            403,
        )
        .await;
    assert_eq!(r.error_code(), "forbidden");
    app.expect(
        app.req_as(&read, Method::PATCH, &path)
            .json(&json!({"title": "b"})),
        403,
    )
    .await;
    app.expect(app.req_as(&read, Method::DELETE, &path), 403)
        .await;
    app.expect(
        app.req_as(&write, Method::PATCH, &path)
            .json(&json!({"title": "b"})),
        200,
    )
    .await;
    app.expect(app.req_as(&write, Method::DELETE, &path), 200)
        .await;
    let l = app.get("/records", 200).await;
    assert_eq!(l.body["meta"]["total"], 0);
});

// ---- concurrency ------------------------------------------------------------------------------

backend_test!(concurrent_creates_all_succeed, |app| async move {
    let mut set = tokio::task::JoinSet::new();
    for i in 0..40 {
        let client = app.client.clone();
        let url = app.url("/records");
        let token = app.token.clone();
        set.spawn(async move {
            let r = client
                .post(url)
                .header("Authorization", format!("Bearer {token}"))
                .json(&json!({"type": "lead", "title": format!("c{i}"), "pipeline": "main-sales"}))
                .send()
                .await
                .expect("request sent");
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            (status, text)
        });
    }
    let mut n = 0;
    while let Some(res) = set.join_next().await {
        let (status, text) = res.expect("task joined");
        assert_eq!(status, 201, "concurrent create failed: {text}");
        n += 1;
    }
    assert_eq!(n, 40);
    let r = list(app, &[("per_page", "100")]).await;
    assert_eq!(r.body["meta"]["total"], 40);
    let mut got = ids(&r);
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 40);
    // Appends to one column never share a position, even when they race.
    let mut positions: Vec<String> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["position"].as_str().unwrap().to_string())
        .collect();
    positions.sort();
    positions.dedup();
    assert_eq!(positions.len(), 40, "duplicate positions: {positions:?}");
    let created = app
        .events()
        .await
        .into_iter()
        .filter(|(n, _)| n == "record.created")
        .count();
    assert_eq!(created, 40);
});
