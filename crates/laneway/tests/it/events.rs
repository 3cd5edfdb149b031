//! `GET /events` and the rule that a failed write stores no event (spec §2, §8).

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_test;
use crate::support::TestApp;

async fn event_total(app: &TestApp) -> i64 {
    app.get("/events?per_page=1", 200).await.body["meta"]["total"]
        .as_i64()
        .expect("meta.total")
}

fn is_rfc3339_millis_utc(s: &str) -> bool {
    // 2026-03-14T18:30:00.000Z
    s.len() == 24
        && s.ends_with('Z')
        && s.as_bytes()[10] == b'T'
        && s.as_bytes()[19] == b'.'
        && time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
}

backend_test!(events_list_newest_first_with_shape, |app| async move {
    let empty = app.get("/events", 200).await;
    assert_eq!(empty.data(), &json!([]));
    assert_eq!(
        empty.body["meta"],
        json!({"total": 0, "page": 1, "per_page": 50})
    );

    let a = app.lead("First").await;
    let b = app
        .post("/records", json!({"type": "job", "title": "Second"}), 201)
        .await
        .data()
        .clone();
    app.patch(
        &format!("/records/{}", b["id"].as_str().unwrap()),
        json!({"title": "Second!"}),
        200,
    )
    .await;

    let ws = app.get("/me", 200).await.data()["workspace"]["id"].clone();
    let r = app.get("/events", 200).await;
    let list = r.data().as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "record.updated",
            "record.created",
            "pipeline.stage_changed",
            "record.created"
        ],
        "newest first"
    );
    assert_eq!(r.body["meta"]["total"], 4);
    for e in list {
        let mut keys: Vec<&String> = e.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["data", "event", "id", "timestamp", "workspace_id"],
            "{e}"
        );
        assert!(laneway_core::ids::parse_uuid(e["id"].as_str().unwrap()).is_some());
        assert_eq!(e["workspace_id"], ws);
        assert!(
            is_rfc3339_millis_utc(e["timestamp"].as_str().unwrap()),
            "{}",
            e["timestamp"]
        );
        assert!(e["data"].is_object());
    }
    // Data is the resource as the API returns it.
    assert_eq!(list[3]["data"], a);
    assert_eq!(list[1]["data"], b);
    let changes = list[0]["data"]["changes"].as_object().unwrap();
    assert_eq!(changes["title"], json!({"old": "Second", "new": "Second!"}));
    // Exactly the fields that changed: the title (and the update time).
    for k in changes.keys() {
        assert!(k == "title" || k == "updated_at", "unexpected change {k}");
    }
    assert_eq!(list[0]["data"]["title"], "Second!");
    // Ids are distinct.
    let mut ids: Vec<&str> = list.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
    // Timestamps never go backwards, newest first.
    let ts: Vec<&str> = list
        .iter()
        .map(|e| e["timestamp"].as_str().unwrap())
        .collect();
    assert!(ts.windows(2).all(|w| w[0] >= w[1]), "{ts:?}");
});

backend_test!(events_paginate_and_filter, |app| async move {
    for i in 0..5 {
        app.post(
            "/records",
            json!({"type": "lead", "title": format!("L{i}")}),
            201,
        )
        .await;
    }
    let t = app
        .post(
            "/records/tasks",
            json!({"title": "T", "completed": true}),
            201,
        )
        .await;
    // 5 record.created + task.created + task.completed.
    let p1 = app.get("/events?per_page=3", 200).await;
    assert_eq!(
        p1.body["meta"],
        json!({"total": 7, "page": 1, "per_page": 3})
    );
    let p3 = app.get("/events?per_page=3&page=3", 200).await;
    assert_eq!(p3.data().as_array().unwrap().len(), 1);
    assert_eq!(p3.data()[0]["event"], "record.created");
    assert_eq!(
        p3.data()[0]["data"]["title"],
        "L0",
        "oldest on the last page"
    );
    let p4 = app.get("/events?per_page=3&page=4", 200).await;
    assert_eq!(p4.data(), &json!([]));
    assert_eq!(p4.body["meta"]["total"], 7);
    // Pages don't overlap and together are everything.
    let p2 = app.get("/events?per_page=3&page=2", 200).await;
    let mut all: Vec<Value> = vec![];
    for p in [&p1, &p2, &p3] {
        all.extend(p.data().as_array().unwrap().iter().cloned());
    }
    let full = app.get("/events", 200).await;
    assert_eq!(full.data().as_array().unwrap(), &all);

    // ?event= narrows; several names with commas.
    let r = app.get("/events?event=record.created", 200).await;
    assert_eq!(r.body["meta"]["total"], 5);
    assert!(r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["event"] == "record.created"));
    let r = app
        .get("/events?event=task.created,task.completed", 200)
        .await;
    let names: Vec<&str> = r
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["task.completed", "task.created"]);
    assert_eq!(r.data()[0]["data"]["id"], t.data()["id"]);
    let r = app.get("/events?event=record.deleted", 200).await;
    assert_eq!(r.body["meta"]["total"], 0);
    assert_eq!(r.data(), &json!([]));
    let r = app
        .get("/events?event=record.created&per_page=2", 200)
        .await;
    assert_eq!(r.body["meta"]["total"], 5);
    assert_eq!(r.data().as_array().unwrap().len(), 2);

    // Unknown names → 400 naming the culprit.
    for bad in ["record.exploded", "record.created,nope", "RECORD.CREATED"] {
        let r = app.get(&format!("/events?event={bad}"), 400).await;
        r.error_code();
        let culprit = bad.split(',').next_back().unwrap();
        assert!(
            r.body["error"].as_str().unwrap().contains(culprit),
            "{}",
            r.text
        );
    }
    // Bad pagination → 400.
    app.get("/events?page=0", 400).await;
    app.get("/events?per_page=abc", 400).await;
});

backend_test!(event_get_by_id, |app| async move {
    let lead = app.lead("One").await;
    let list = app.get("/events", 200).await;
    let e = list.data()[1].clone();
    assert_eq!(e["event"], "record.created");
    let id = e["id"].as_str().unwrap();
    let g = app.get(&format!("/events/{id}"), 200).await;
    assert_eq!(g.data(), &e);
    assert_eq!(g.data()["data"], lead);
    assert!(g.header("etag").is_some());
    // Read scope suffices.
    let read = app.key("read").await;
    let r = app
        .send(app.req_as(&read, Method::GET, &format!("/events/{id}")))
        .await;
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(r.data(), &e);
    // Unknown or garbage ids → 404.
    let r = app
        .get(&format!("/events/{}", uuid::Uuid::now_v7()), 404)
        .await;
    assert_eq!(r.error_code(), "not_found");
    app.get("/events/not-an-id", 404).await;
    // Writing to events is not a thing.
    let r = app
        .send(app.req(Method::POST, "/events").json(&json!({})))
        .await;
    assert_eq!(r.status.as_u16(), 405);
    let r = app
        .send(app.req(Method::DELETE, &format!("/events/{id}")))
        .await;
    assert_eq!(r.status.as_u16(), 405);
});

backend_test!(failed_writes_store_no_event, |app| async move {
    let lead = app.lead("Kept").await;
    let rid = lead["id"].as_str().unwrap().to_string();
    let task = app
        .post("/records/tasks", json!({"title": "Kept task"}), 201)
        .await;
    let tid = task.data()["id"].as_str().unwrap().to_string();
    let events_before = event_total(app).await;
    let records_before = app.get("/records", 200).await.body["meta"]["total"].clone();
    let tasks_before = app.get("/records/tasks", 200).await.body["meta"]["total"].clone();
    let schema_before = app.get("/schema", 200).await.data().clone();

    // Unknown object type.
    let r = app
        .post("/records", json!({"type": "spaceship", "title": "x"}), 400)
        .await;
    assert!(r.body["error"]
        .as_str()
        .unwrap()
        .contains("Object type 'spaceship' not found"));
    // Bad assignee (well-formed, not a member).
    let r = app
        .post(
            "/records",
            json!({"type": "lead", "assignee_id": uuid::Uuid::now_v7()}),
            400,
        )
        .await;
    assert_eq!(r.body["details"]["field"], "assignee_id");
    // Unknown pipeline / stage.
    app.post(
        "/records",
        json!({"type": "lead", "pipeline": "nowhere"}),
        400,
    )
    .await;
    app.post(
        "/records",
        json!({"type": "lead", "pipeline": "main-sales", "stage": "nowhere"}),
        400,
    )
    .await;
    app.post(
        "/records",
        json!({"type": "lead", "stage_id": uuid::Uuid::now_v7()}),
        400,
    )
    .await;
    // Task with a bad record or assignee.
    app.post(
        "/records/tasks",
        json!({"title": "x", "record_id": uuid::Uuid::now_v7()}),
        400,
    )
    .await;
    app.post(
        "/records/tasks",
        json!({"title": "x", "assignee_id": uuid::Uuid::now_v7()}),
        400,
    )
    .await;
    // Pipeline slug clash (a unique violation inside the transaction).
    app.post(
        "/schema/pipelines",
        json!({"name": "Main Sales", "stages": [{"name": "A"}, {"name": "B"}]}),
        409,
    )
    .await;
    // Stage slug clash after the others were shifted, inside the transaction.
    let pid = schema_before["pipelines"][0]["id"].as_str().unwrap();
    app.post(
        &format!("/schema/pipelines/{pid}/stages"),
        json!({"name": "Won", "position": 0}),
        409,
    )
    .await;
    // Stale If-Match on PATCH and DELETE of a record and a task.
    let stale = "\"0000000000000000deadbeef00000000\"";
    let r = app
        .expect(
            app.req(Method::PATCH, &format!("/records/{rid}"))
                .header("If-Match", stale)
                .json(&json!({"title": "Changed"})),
            412,
        )
        .await;
    assert_eq!(r.error_code(), "precondition_failed");
    app.expect(
        app.req(Method::DELETE, &format!("/records/{rid}"))
            .header("If-Match", stale),
        412,
    )
    .await;
    app.expect(
        app.req(Method::PATCH, &format!("/records/tasks/{tid}"))
            .header("If-Match", stale)
            .json(&json!({"completed": true})),
        412,
    )
    .await;
    // A record whose update fails validation after the change was assembled.
    app.patch(
        &format!("/records/{rid}"),
        json!({"title": "Changed", "assignee_id": uuid::Uuid::now_v7()}),
        400,
    )
    .await;
    // Deleting a stage that still holds a record.
    let new_stage = lead["stage_id"].as_str().unwrap();
    app.delete(&format!("/schema/stages/{new_stage}"), 409)
        .await;
    // A forbidden write.
    let read = app.key("read").await;
    // Creating a key stores no event, so the count still holds.
    let r = app
        .send(
            app.req_as(&read, Method::POST, "/records")
                .json(&json!({"type": "lead"})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 403);

    assert_eq!(
        event_total(app).await,
        events_before,
        "{:?}",
        app.events().await
    );
    assert_eq!(
        app.get("/records", 200).await.body["meta"]["total"],
        records_before
    );
    assert_eq!(
        app.get("/records/tasks", 200).await.body["meta"]["total"],
        tasks_before
    );
    assert_eq!(app.get("/schema", 200).await.data(), &schema_before);
    let g = app.get(&format!("/records/{rid}"), 200).await;
    assert_eq!(g.data(), &lead);
    let t = app.get(&format!("/records/tasks/{tid}"), 200).await;
    assert_eq!(t.data(), task.data());
});

backend_test!(
    events_need_a_key_and_stay_in_their_workspace,
    |app| async move {
        app.lead("Mine").await;
        let r = app.send(app.client.get(app.url("/events"))).await;
        assert_eq!(r.status.as_u16(), 401);
        let other = app.other_workspace().await;
        let r = app.send(app.req_as(&other, Method::GET, "/events")).await;
        assert_eq!(r.status.as_u16(), 200);
        assert_eq!(r.body["meta"]["total"], 0);
        // Their write is theirs alone.
        let r = app
            .send(
                app.req_as(&other, Method::POST, "/records")
                    .json(&json!({"type": "lead", "title": "Theirs"})),
            )
            .await;
        assert_eq!(r.status.as_u16(), 201);
        let mine = app.get("/events", 200).await;
        // record.created + pipeline.stage_changed of "Mine" only.
        assert_eq!(mine.body["meta"]["total"], 2);
        assert!(!mine.text.contains("Theirs"));
        let theirs = app.send(app.req_as(&other, Method::GET, "/events")).await;
        assert_eq!(theirs.body["meta"]["total"], 1);
        assert_eq!(theirs.data()[0]["data"]["title"], "Theirs");
        assert_ne!(
            theirs.data()[0]["workspace_id"],
            mine.data()[0]["workspace_id"]
        );
    }
);
