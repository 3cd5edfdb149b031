//! `/records/tasks`: to-dos, standalone or on a record.

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_test;
use crate::records::{events_of, ids, is_timestamp, member_of, names, new_member, s};
use crate::support::{Resp, TestApp};

async fn task(app: &TestApp, body: Value) -> Value {
    app.post("/records/tasks", body, 201).await.data().clone()
}

async fn list(app: &TestApp, query: &[(&str, &str)]) -> Resp {
    app.expect(app.req(Method::GET, "/records/tasks").query(query), 200)
        .await
}

fn titles(r: &Resp) -> Vec<String> {
    let mut t: Vec<String> = r
        .data()
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", r.text))
        .iter()
        .map(|x| s(&x["title"]))
        .collect();
    t.sort();
    t
}

fn assert_field(r: &Resp, field: &str) {
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    r.error_code();
    assert_eq!(r.body["details"]["field"], field, "{}", r.text);
    assert!(
        r.body["error"].as_str().unwrap().contains(field),
        "error does not name '{field}': {}",
        r.text
    );
}

backend_test!(create_and_get, |app| async move {
    let rec = app.lead("Smith").await;
    let rid = s(&rec["id"]);
    let ann = new_member(app, "Ann").await;
    let t = task(
        app,
        json!({
            "title": "Follow up",
            "record_id": rid,
            "assignee_id": ann,
            "due_date": "2026-06-30",
            "notes": "Call before noon",
        }),
    )
    .await;
    let mut keys: Vec<&str> = t.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(
        keys,
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
    assert_eq!(t["title"], "Follow up");
    assert_eq!(t["record_id"], rid);
    assert_eq!(t["assignee_id"], ann);
    assert_eq!(t["due_date"], "2026-06-30");
    assert_eq!(t["notes"], "Call before noon");
    assert_eq!(t["completed"], false);
    assert_eq!(t["completed_at"], Value::Null);
    assert!(is_timestamp(&t["created_at"]));
    assert_eq!(t["created_at"], t["updated_at"]);
    let id = s(&t["id"]);
    assert!(uuid::Uuid::parse_str(&id).is_ok());

    let g = app.get(&format!("/records/tasks/{id}"), 200).await;
    assert_eq!(g.data(), &t);
    assert!(g.header("etag").is_some());

    let evs = events_of(app, &id).await;
    assert_eq!(names(&evs), ["task.created"]);
    assert_eq!(evs[0].1, t);

    // A standalone task: every optional field null.
    let t = task(app, json!({"title": "Standalone"})).await;
    for k in [
        "record_id",
        "assignee_id",
        "due_date",
        "notes",
        "completed_at",
    ] {
        assert_eq!(t[k], Value::Null, "{k}");
    }
    assert_eq!(t["completed"], false);
});

backend_test!(create_requires_a_title, |app| async move {
    for body in [
        json!({}),
        json!({"title": ""}),
        json!({"title": "   "}),
        json!({"title": null}),
        json!({"title": 7}),
        json!({"notes": "no title"}),
    ] {
        let r = app.post("/records/tasks", body.clone(), 400).await;
        assert_field(&r, "title");
    }
    let r = app
        .post("/records/tasks", json!({"title": "x", "priority": 1}), 400)
        .await;
    assert_field(&r, "priority");
    assert_eq!(list(app, &[]).await.body["meta"]["total"], 0);
    assert!(app.events().await.iter().all(|(n, _)| n != "task.created"));
});

backend_test!(create_record_must_be_live, |app| async move {
    let random = uuid::Uuid::now_v7().to_string();
    let r = app
        .post(
            "/records/tasks",
            json!({"title": "t", "record_id": random}),
            400,
        )
        .await;
    assert_field(&r, "record_id");

    let gone = app.lead("gone").await;
    let gid = s(&gone["id"]);
    app.delete(&format!("/records/{gid}"), 200).await;
    let r = app
        .post(
            "/records/tasks",
            json!({"title": "t", "record_id": gid}),
            400,
        )
        .await;
    assert_field(&r, "record_id");

    let other = app.other_workspace().await;
    let theirs = app
        .expect(
            app.req_as(&other, Method::POST, "/records")
                .json(&json!({"type": "lead"})),
            201,
        )
        .await;
    let r = app
        .post(
            "/records/tasks",
            json!({"title": "t", "record_id": theirs.data()["id"]}),
            400,
        )
        .await;
    assert_field(&r, "record_id");

    let r = app
        .post(
            "/records/tasks",
            json!({"title": "t", "record_id": "abc"}),
            400,
        )
        .await;
    assert_field(&r, "record_id");
    assert_eq!(list(app, &[]).await.body["meta"]["total"], 0);
});

backend_test!(create_assignee_must_be_a_member, |app| async move {
    let r = app
        .post(
            "/records/tasks",
            json!({"title": "t", "assignee_id": uuid::Uuid::now_v7()}),
            400,
        )
        .await;
    assert_field(&r, "assignee_id");
    let other = app.other_workspace().await;
    let stranger = member_of(app, &other).await;
    let r = app
        .post(
            "/records/tasks",
            json!({"title": "t", "assignee_id": stranger}),
            400,
        )
        .await;
    assert_field(&r, "assignee_id");
    let me = member_of(app, &app.token).await;
    let t = task(app, json!({"title": "t", "assignee_id": me})).await;
    assert_eq!(t["assignee_id"], me);
});

backend_test!(due_date_round_trips_and_is_validated, |app| async move {
    for d in ["2026-06-30", "2024-02-29", "1999-12-31"] {
        let t = task(app, json!({"title": "t", "due_date": d})).await;
        assert_eq!(t["due_date"], d);
        let g = app
            .get(&format!("/records/tasks/{}", s(&t["id"])), 200)
            .await;
        assert_eq!(g.data()["due_date"], d);
    }
    for bad in ["garbage", "2026-13-01", "2026-02-30", "30/06/2026", ""] {
        let r = app
            .post(
                "/records/tasks",
                json!({"title": "t", "due_date": bad}),
                400,
            )
            .await;
        assert_field(&r, "due_date");
    }
    let r = app
        .post(
            "/records/tasks",
            json!({"title": "t", "due_date": 20260630}),
            400,
        )
        .await;
    assert_field(&r, "due_date");
    assert_eq!(list(app, &[]).await.body["meta"]["total"], 3);
});

backend_test!(get_unknown_is_404, |app| async move {
    let r = app
        .get(&format!("/records/tasks/{}", uuid::Uuid::now_v7()), 404)
        .await;
    assert_eq!(r.error_code(), "not_found");
    let r = app.get("/records/tasks/garbage", 404).await;
    assert_eq!(r.error_code(), "not_found");
    // Another workspace's task is invisible.
    let other = app.other_workspace().await;
    let theirs = app
        .expect(
            app.req_as(&other, Method::POST, "/records/tasks")
                .json(&json!({"title": "theirs"})),
            201,
        )
        .await;
    let tid = s(&theirs.data()["id"]);
    app.get(&format!("/records/tasks/{tid}"), 404).await;
    app.patch(
        &format!("/records/tasks/{tid}"),
        json!({"completed": true}),
        404,
    )
    .await;
    app.delete(&format!("/records/tasks/{tid}"), 404).await;
    assert_eq!(list(app, &[]).await.body["meta"]["total"], 0);
});

backend_test!(list_filters, |app| async move {
    let r1 = s(&app.lead("one").await["id"]);
    let r2 = s(&app.lead("two").await["id"]);
    let ann = new_member(app, "Ann").await;
    let bob = new_member(app, "Bob").await;
    task(
        app,
        json!({"title": "a", "record_id": r1, "assignee_id": ann}),
    )
    .await;
    task(app, json!({"title": "b", "record_id": r1})).await;
    let c = task(
        app,
        json!({"title": "c", "record_id": r2, "assignee_id": ann}),
    )
    .await;
    task(app, json!({"title": "d", "assignee_id": bob})).await;
    app.patch(
        &format!("/records/tasks/{}", s(&c["id"])),
        json!({"completed": true}),
        200,
    )
    .await;

    assert_eq!(titles(&list(app, &[]).await), ["a", "b", "c", "d"]);
    assert_eq!(titles(&list(app, &[("record_id", &r1)]).await), ["a", "b"]);
    assert_eq!(titles(&list(app, &[("record_id", &r2)]).await), ["c"]);
    assert_eq!(
        titles(&list(app, &[("assignee_id", &ann)]).await),
        ["a", "c"]
    );
    assert_eq!(titles(&list(app, &[("assignee_id", &bob)]).await), ["d"]);
    assert_eq!(titles(&list(app, &[("completed", "true")]).await), ["c"]);
    assert_eq!(
        titles(&list(app, &[("completed", "false")]).await),
        ["a", "b", "d"]
    );
    let r = list(app, &[("record_id", &r1), ("completed", "false")]).await;
    assert_eq!(titles(&r), ["a", "b"]);
    assert_eq!(r.body["meta"]["total"], 2);
    let r = list(app, &[("assignee_id", &ann), ("completed", "true")]).await;
    assert_eq!(titles(&r), ["c"]);
    let nobody = uuid::Uuid::now_v7().to_string();
    assert_eq!(
        list(app, &[("record_id", &nobody)]).await.body["meta"]["total"],
        0
    );

    for bad in [
        "completed=yes",
        "completed=maybe",
        "record_id=nope",
        "assignee_id=123",
    ] {
        let r = app.get(&format!("/records/tasks?{bad}"), 400).await;
        r.error_code();
        let param = bad.split('=').next().unwrap();
        assert!(
            r.body["error"].as_str().unwrap().contains(param),
            "{}",
            r.text
        );
    }
});

backend_test!(list_pagination, |app| async move {
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(s(&task(app, json!({"title": format!("t{i}")})).await["id"]));
    }
    created.reverse();
    let r = list(app, &[]).await;
    assert_eq!(
        r.body["meta"],
        json!({"total": 5, "page": 1, "per_page": 50})
    );
    assert_eq!(ids(&r), created, "newest first");
    let mut paged = Vec::new();
    for page in 1..=3 {
        let p = page.to_string();
        let r = list(app, &[("page", &p), ("per_page", "2")]).await;
        assert_eq!(
            r.body["meta"],
            json!({"total": 5, "page": page, "per_page": 2})
        );
        paged.extend(ids(&r));
    }
    assert_eq!(paged, created);
    let r = list(app, &[("per_page", "1000")]).await;
    assert_eq!(r.body["meta"]["per_page"], 100);
    app.get("/records/tasks?page=0", 400).await;
});

backend_test!(complete_and_reopen, |app| async move {
    let t = task(app, json!({"title": "do it"})).await;
    let id = s(&t["id"]);
    let path = format!("/records/tasks/{id}");

    let done = app.patch(&path, json!({"completed": true}), 200).await;
    let done = done.data().clone();
    assert_eq!(done["completed"], true);
    assert!(
        is_timestamp(&done["completed_at"]),
        "{}",
        done["completed_at"]
    );
    assert_eq!(app.get(&path, 200).await.data(), &done);
    let evs = events_of(app, &id).await;
    let ns = names(&evs);
    assert_eq!(ns[0], "task.created");
    let mut rest = ns[1..].to_vec();
    rest.sort();
    assert_eq!(rest, ["task.completed", "task.updated"]);
    for (n, d) in &evs[1..] {
        if n == "task.updated" {
            assert_eq!(
                d["changes"],
                json!({
                    "completed": {"old": false, "new": true},
                    "completed_at": {"old": null, "new": done["completed_at"]},
                })
            );
        } else {
            assert_eq!(d, &done);
        }
    }

    // Completing a completed task again changes nothing.
    let again = app.patch(&path, json!({"completed": true}), 200).await;
    assert_eq!(again.data(), &done);
    assert_eq!(events_of(app, &id).await.len(), 3);

    let open = app.patch(&path, json!({"completed": false}), 200).await;
    assert_eq!(open.data()["completed"], false);
    assert_eq!(open.data()["completed_at"], Value::Null);
    let evs = events_of(app, &id).await;
    assert_eq!(evs.len(), 4, "reopening fires exactly one event");
    assert_eq!(evs[3].0, "task.updated");
    assert_eq!(
        evs[3].1["changes"],
        json!({
            "completed": {"old": true, "new": false},
            "completed_at": {"old": done["completed_at"], "new": null},
        })
    );
    let r = app.patch(&path, json!({"completed": null}), 400).await;
    assert_field(&r, "completed");
    let r = app.patch(&path, json!({"completed": "yes"}), 400).await;
    assert_field(&r, "completed");
});

backend_test!(patch_fields_and_nullables, |app| async move {
    let rec = s(&app.lead("r").await["id"]);
    let ann = new_member(app, "Ann").await;
    let t = task(
        app,
        json!({"title": "t", "record_id": rec, "assignee_id": ann, "due_date": "2026-01-02", "notes": "n"}),
    )
    .await;
    let id = s(&t["id"]);
    let path = format!("/records/tasks/{id}");

    let u = app
        .patch(
            &path,
            json!({"title": "renamed", "due_date": "2026-07-01", "notes": "m"}),
            200,
        )
        .await;
    assert_eq!(u.data()["title"], "renamed");
    assert_eq!(u.data()["due_date"], "2026-07-01");
    assert_eq!(u.data()["notes"], "m");
    assert_eq!(u.data()["assignee_id"], ann);
    let evs = events_of(app, &id).await;
    assert_eq!(evs.last().unwrap().0, "task.updated");
    assert_eq!(
        evs.last().unwrap().1["changes"],
        json!({
            "title": {"old": "t", "new": "renamed"},
            "due_date": {"old": "2026-01-02", "new": "2026-07-01"},
            "notes": {"old": "n", "new": "m"},
        })
    );

    let u = app
        .patch(
            &path,
            json!({"assignee_id": null, "due_date": null, "notes": null}),
            200,
        )
        .await;
    assert_eq!(u.data()["assignee_id"], Value::Null);
    assert_eq!(u.data()["due_date"], Value::Null);
    assert_eq!(u.data()["notes"], Value::Null);
    assert_eq!(u.data()["title"], "renamed");
    assert_eq!(u.data()["record_id"], rec);
    assert_eq!(app.get(&path, 200).await.data(), u.data());

    for (body, field) in [
        (json!({"title": ""}), "title"),
        (json!({"title": null}), "title"),
        (json!({"due_date": "soon"}), "due_date"),
        (json!({"assignee_id": uuid::Uuid::now_v7()}), "assignee_id"),
        (json!({"record_id": uuid::Uuid::now_v7()}), "record_id"),
        (json!({"color": "red"}), "color"),
    ] {
        let r = app.patch(&path, body, 400).await;
        assert_field(&r, field);
    }
    assert_eq!(app.get(&path, 200).await.data(), u.data());

    // A no-op PATCH keeps updated_at and emits nothing.
    let before = events_of(app, &id).await.len();
    let same = app.patch(&path, json!({"title": "renamed"}), 200).await;
    assert_eq!(same.data(), u.data());
    assert_eq!(events_of(app, &id).await.len(), before);
});

backend_test!(patch_honours_if_match, |app| async move {
    let t = task(app, json!({"title": "t"})).await;
    let path = format!("/records/tasks/{}", s(&t["id"]));
    let tag = app
        .get(&path, 200)
        .await
        .header("etag")
        .unwrap()
        .to_string();
    app.expect(
        app.req(Method::PATCH, &path)
            .header("If-Match", &tag)
            .json(&json!({"title": "u"})),
        200,
    )
    .await;
    let r = app
        .expect(
            app.req(Method::PATCH, &path)
                .header("If-Match", &tag)
                .json(&json!({"title": "v"})),
            412,
        )
        .await;
    r.error_code();
    app.expect(app.req(Method::DELETE, &path).header("If-Match", &tag), 412)
        .await;
    assert_eq!(app.get(&path, 200).await.data()["title"], "u");
});

backend_test!(delete_task, |app| async move {
    let t = task(app, json!({"title": "bye"})).await;
    let id = s(&t["id"]);
    let path = format!("/records/tasks/{id}");
    let r = app.delete(&path, 200).await;
    assert_eq!(
        r.body,
        json!({"success": true, "data": {"deleted": true, "id": id}})
    );
    app.get(&path, 404).await;
    app.delete(&path, 404).await;
    app.patch(&path, json!({"title": "x"}), 404).await;
    assert_eq!(list(app, &[]).await.body["meta"]["total"], 0);
    let evs = events_of(app, &id).await;
    assert_eq!(names(&evs), ["task.created", "task.deleted"]);
    let d = &evs[1].1;
    assert!(is_timestamp(&d["deleted_at"]), "{d}");
    assert_eq!(d["title"], "bye");
});

backend_test!(tasks_route_wins_over_record_id, |app| async move {
    let rec = app.lead("a record").await;
    let t = task(app, json!({"title": "a task"})).await;
    let r = app.get("/records/tasks", 200).await;
    assert_eq!(r.body["success"], true);
    assert_eq!(ids(&r), [s(&t["id"])]);
    assert_eq!(r.body["meta"]["total"], 1);
    // POST /records/tasks created a task, not a record.
    let l = app.get("/records", 200).await;
    assert_eq!(ids(&l), [s(&rec["id"])]);
    // Tasks and records do not share ids.
    app.get(&format!("/records/{}", s(&t["id"])), 404).await;
    app.get(&format!("/records/tasks/{}", s(&rec["id"])), 404)
        .await;
    // The record routes still work next to it.
    app.get(&format!("/records/{}", s(&rec["id"])), 200).await;
    app.get(&format!("/records/{}/activity", s(&rec["id"])), 200)
        .await;
});

backend_test!(read_key_cannot_write_tasks, |app| async move {
    let read = app.key("read").await;
    let write = app.key("write").await;
    let t = task(app, json!({"title": "t"})).await;
    let path = format!("/records/tasks/{}", s(&t["id"]));
    app.expect(app.req_as(&read, Method::GET, "/records/tasks"), 200)
        .await;
    app.expect(app.req_as(&read, Method::GET, &path), 200).await;
    app.expect(
        app.req_as(&read, Method::POST, "/records/tasks")
            .json(&json!({"title": "x"})),
        403,
    )
    .await;
    app.expect(
        app.req_as(&read, Method::PATCH, &path)
            .json(&json!({"completed": true})),
        403,
    )
    .await;
    app.expect(app.req_as(&read, Method::DELETE, &path), 403)
        .await;
    app.expect(
        app.req_as(&write, Method::PATCH, &path)
            .json(&json!({"completed": true})),
        200,
    )
    .await;
    app.expect(
        app.req_as(&write, Method::POST, "/records/tasks")
            .json(&json!({"title": "y"})),
        201,
    )
    .await;
    app.expect(app.req_as(&write, Method::DELETE, &path), 200)
        .await;
});
