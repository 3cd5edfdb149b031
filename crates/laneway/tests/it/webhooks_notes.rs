//! Webhooks and the note and comment events: delivery, scope and filters.
//!
//! Deliveries without `ordering: per_resource` come in no promised order, so every test
//! compares the set of (event, resource id) a receiver got. To show that something was *not*
//! delivered, each test ends with a marker event that is delivered; the fan-out reads events
//! in commit order, so once the marker arrived every earlier event was fanned out, and the
//! webhook's delivery history must then hold exactly the expected deliveries.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde_json::{json, Value};

use crate::receiver::{assert_signed, Hit, Receiver};
use crate::support::{Backend, TestApp};
use crate::webhooks::{fast, hook, webhook_test};

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

/// `POST /notes`; returns the note as the API answered.
async fn note(app: &TestApp, body: Value) -> Value {
    app.post("/notes", body, 201).await.data().clone()
}

async fn comment_on_record(app: &TestApp, record: &str, body: &str) -> Value {
    app.post(
        &format!("/records/{record}/comments"),
        json!({ "body": body }),
        201,
    )
    .await
    .data()
    .clone()
}

async fn comment_on_task(app: &TestApp, task: &str, body: &str) -> Value {
    app.post(
        &format!("/records/tasks/{task}/comments"),
        json!({ "body": body }),
        201,
    )
    .await
    .data()
    .clone()
}

/// A task on `record` (or on nothing); returns its id.
async fn task(app: &TestApp, title: &str, record: Option<&str>) -> String {
    let mut body = json!({ "title": title });
    if let Some(r) = record {
        body["record_id"] = json!(r);
    }
    s(&app.post("/records/tasks", body, 201).await.data()["id"])
}

/// Registers a webhook with an arbitrary body (the receiver's URL added); returns (id, secret).
async fn hook_with(app: &TestApp, rx: &Receiver, mut body: Value) -> (String, String) {
    body["url"] = json!(rx.url);
    let r = app.post("/webhooks", body, 201).await;
    (s(&r.data()["id"]), s(&r.data()["secret"]))
}

/// `(event name, id of the resource in data)` of a delivered body.
fn key_of(body: &Value) -> (String, String) {
    (s(&body["event"]), s(&body["data"]["id"]))
}

fn keys(expected: &[(&str, &Value)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = expected
        .iter()
        .map(|(e, r)| (e.to_string(), s(&r["id"])))
        .collect();
    v.sort();
    v
}

/// Takes as many requests as `expected` holds (the last expected event being the marker),
/// checks each is correctly signed and that together they are exactly `expected` (as a
/// multiset of (event, resource id)); then checks the webhook's delivery history holds exactly
/// those deliveries (nothing else was fanned out to it) and that nothing more arrives.
/// Returns the bodies.
async fn receive_exactly(
    app: &TestApp,
    rx: &Receiver,
    hook_id: &str,
    secret: &str,
    expected: &[(&str, &Value)],
) -> Vec<Value> {
    let want = keys(expected);
    let hits: Vec<Hit> = rx.take(want.len()).await;
    let mut got: Vec<(String, String)> = Vec::new();
    let mut bodies = Vec::new();
    let mut deliveries = BTreeSet::new();
    for h in &hits {
        assert_signed(h, secret);
        assert_eq!(h.header("x-laneway-event"), h.event());
        assert_eq!(h.header("content-type"), "application/json");
        assert!(deliveries.insert(h.delivery()), "a delivery came twice");
        let b = h.json();
        got.push(key_of(&b));
        bodies.push(b);
    }
    got.sort();
    assert_eq!(got, want, "the deliveries to {hook_id}");
    // Deterministic: the marker was fanned out, so every earlier event was too.
    let list = app
        .get(&format!("/webhooks/{hook_id}/deliveries?per_page=100"), 200)
        .await;
    let mut history: Vec<String> = list
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| s(&d["event_id"]))
        .collect();
    history.sort();
    let mut sent: Vec<String> = bodies.iter().map(|b| s(&b["id"])).collect();
    sent.sort();
    assert_eq!(
        history,
        sent,
        "the delivery history of {hook_id} holds other deliveries: {}",
        list.data()
    );
    rx.quiet_for(Duration::from_millis(300)).await;
    bodies
}

/// The body delivered for `event` about the resource `id` (the only one).
fn body_for<'a>(bodies: &'a [Value], event: &str, id: &Value) -> &'a Value {
    let mut it = bodies
        .iter()
        .filter(|b| b["event"] == event && b["data"]["id"] == *id);
    let b = it
        .next()
        .unwrap_or_else(|| panic!("no {event} about {id} in {bodies:?}"));
    assert!(it.next().is_none(), "two {event} about {id}");
    b
}

/// `v` with `changes` added (the shape of an `*.updated` event's data).
fn with_changes(v: &Value, changes: Value) -> Value {
    let mut v = v.clone();
    v["changes"] = changes;
    v
}

/// Stored events of the workspace by id.
async fn stored_events(app: &TestApp) -> HashMap<String, Value> {
    let r = app.get("/events?per_page=100", 200).await;
    r.data()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (s(&e["id"]), e.clone()))
        .collect()
}

webhook_test!(
    note_and_comment_events_arrive_signed_with_their_data,
    fast,
    |app| async move {
        let rx = Receiver::start().await;
        let (dot, dot_secret) = hook(app, &rx, json!(["note.*", "comment.created"])).await;
        // The Kanbert colon forms, stored as their dot equivalents.
        let rx2 = Receiver::start().await;
        let r = app
            .post(
                "/webhooks",
                json!({"url": rx2.url, "events": ["note:*", "comment:create"]}),
                201,
            )
            .await;
        assert_eq!(r.data()["events"], json!(["note.*", "comment.created"]));
        let colon = s(&r.data()["id"]);
        let colon_secret = s(&r.data()["secret"]);
        // One `event` in the Kanbert form.
        let rx3 = Receiver::start().await;
        let r = app
            .post(
                "/webhooks",
                json!({"url": rx3.url, "event": "comment:create"}),
                201,
            )
            .await;
        assert_eq!(r.data()["events"], json!(["comment.created"]));
        let single = s(&r.data()["id"]);
        let single_secret = s(&r.data()["secret"]);

        let lead = app.lead("Smith Residence").await;
        let rid = s(&lead["id"]);
        let pid = s(&lead["pipeline_id"]);
        let tid = task(app, "Call back", Some(&rid)).await;

        let created = note(
            app,
            json!({"title": "Site survey", "body": "Roof ok", "record_id": rid}),
        )
        .await;
        let nid = s(&created["id"]);
        assert_eq!(created["record_id"], rid.as_str());
        assert_eq!(created["pipeline_id"], Value::Null);
        assert!(created["author_id"].is_string(), "{created}");
        let edited = app
            .patch(
                &format!("/notes/{nid}"),
                json!({"title": "Site survey 2", "body": "Roof needs work"}),
                200,
            )
            .await
            .data()
            .clone();
        // A change to nothing is no event.
        app.patch(
            &format!("/notes/{nid}"),
            json!({"title": "Site survey 2"}),
            200,
        )
        .await;
        // Moving the note to the record's board.
        let moved = app
            .patch(&format!("/notes/{nid}"), json!({"pipeline_id": pid}), 200)
            .await
            .data()
            .clone();
        assert_eq!(moved["record_id"], Value::Null);
        assert_eq!(moved["pipeline_id"], pid.as_str());
        app.delete(&format!("/notes/{nid}"), 200).await;
        app.get(&format!("/notes/{nid}"), 404).await;
        // Not subscribed.
        app.patch(
            &format!("/records/{rid}"),
            json!({"title": "Smith Home"}),
            200,
        )
        .await;
        let on_record = comment_on_record(app, &rid, "Called, no answer").await;
        let on_task = comment_on_task(app, &tid, "Left a voicemail").await;
        assert_eq!(on_record["record_id"], rid.as_str());
        assert_eq!(on_record["task_id"], Value::Null);
        assert_eq!(on_task["task_id"], tid.as_str());
        assert_eq!(on_task["record_id"], Value::Null);

        let expected = [
            ("note.created", &created),
            ("note.updated", &created),
            ("note.updated", &created),
            ("note.deleted", &created),
            ("comment.created", &on_record),
            ("comment.created", &on_task),
        ];
        let bodies = receive_exactly(app, &rx, &dot, &dot_secret, &expected).await;

        // Every body is the stored event, and its data the resource as the API answered.
        let stored = stored_events(app).await;
        for b in &bodies {
            assert_eq!(Some(b), stored.get(&s(&b["id"])), "stored as delivered");
            assert!(b["workspace_id"].is_string());
            assert!(b["timestamp"].as_str().unwrap().ends_with('Z'));
        }
        let b = body_for(&bodies, "note.created", &created["id"]);
        assert_eq!(b["data"], created);
        assert_eq!(b["timestamp"], created["created_at"]);
        assert!(b["data"].get("deleted_at").is_none(), "{b}");

        let updates: Vec<&Value> = bodies
            .iter()
            .filter(|b| b["event"] == "note.updated")
            .collect();
        let first = updates
            .iter()
            .find(|b| b["data"]["changes"].get("title").is_some())
            .expect("the title/body update");
        assert_eq!(
            first["data"],
            with_changes(
                &edited,
                json!({
                    "title": {"old": "Site survey", "new": "Site survey 2"},
                    "body": {"old": "Roof ok", "new": "Roof needs work"},
                })
            )
        );
        assert_eq!(first["timestamp"], edited["updated_at"]);
        let second = updates
            .iter()
            .find(|b| b["data"]["changes"].get("pipeline_id").is_some())
            .expect("the move");
        assert_eq!(
            second["data"],
            with_changes(
                &moved,
                json!({
                    "record_id": {"old": rid, "new": null},
                    "pipeline_id": {"old": null, "new": pid},
                })
            )
        );

        let gone = body_for(&bodies, "note.deleted", &created["id"]);
        let at = gone["data"]["deleted_at"].clone();
        assert!(at.is_string(), "{gone}");
        let mut want = moved.clone();
        want["deleted_at"] = at.clone();
        want["updated_at"] = at.clone();
        assert_eq!(gone["data"], want);
        assert_eq!(gone["timestamp"], at);
        assert!(s(&at) >= s(&moved["updated_at"]));

        for c in [&on_record, &on_task] {
            let b = body_for(&bodies, "comment.created", &c["id"]);
            assert_eq!(&b["data"], c);
            assert_eq!(b["timestamp"], c["created_at"]);
            assert_eq!(b["data"]["author_id"], created["author_id"]);
        }

        // The colon-form webhook got the same events, signed with its own secret.
        let colon_bodies = receive_exactly(app, &rx2, &colon, &colon_secret, &expected).await;
        let mut a: Vec<&Value> = bodies.iter().collect();
        let mut b: Vec<&Value> = colon_bodies.iter().collect();
        a.sort_by_key(|v| s(&v["id"]));
        b.sort_by_key(|v| s(&v["id"]));
        assert_eq!(a, b);

        // And the single `event` one only the comments.
        let only = receive_exactly(
            app,
            &rx3,
            &single,
            &single_secret,
            &[
                ("comment.created", &on_record),
                ("comment.created", &on_task),
            ],
        )
        .await;
        assert!(only.iter().all(|b| b["event"] == "comment.created"));
    }
);

webhook_test!(
    record_scope_covers_its_notes_and_comments,
    fast,
    |app| async move {
        let a = app.lead("Scoped").await;
        let b = app.lead("Other").await;
        let (aid, bid) = (s(&a["id"]), s(&b["id"]));
        let pid = s(&a["pipeline_id"]);
        let ta = task(app, "On A", Some(&aid)).await;
        let tb = task(app, "On B", Some(&bid)).await;
        let loose = task(app, "On nothing", None).await;

        let rx = Receiver::start().await;
        let (hid, secret) = hook_with(
            app,
            &rx,
            json!({"events": ["note.*", "comment.created"], "record_id": aid}),
        )
        .await;
        // The Kanbert alias of the scope.
        let rx2 = Receiver::start().await;
        let (hid2, secret2) = hook_with(
            app,
            &rx2,
            json!({"events": ["note:*", "comment:create"], "client_id": aid}),
        )
        .await;
        assert_eq!(
            app.get(&format!("/webhooks/{hid2}"), 200).await.data()["record_id"],
            aid.as_str()
        );

        let n1 = note(app, json!({"title": "On A", "record_id": aid})).await;
        note(app, json!({"title": "On B", "record_id": bid})).await;
        app.patch(
            &format!("/notes/{}", s(&n1["id"])),
            json!({"body": "more"}),
            200,
        )
        .await;
        note(app, json!({"title": "On the board", "pipeline_id": pid})).await;
        let c1 = comment_on_record(app, &aid, "on A").await;
        comment_on_record(app, &bid, "on B").await;
        let c2 = comment_on_task(app, &ta, "on A's task").await;
        comment_on_task(app, &tb, "on B's task").await;
        comment_on_task(app, &loose, "on a loose task").await;
        note(app, json!({"title": "Workspace-wide"})).await;
        let n2 = note(app, json!({"title": "Short-lived", "record_id": aid})).await;
        app.delete(&format!("/notes/{}", s(&n2["id"])), 200).await;
        // Other events about the record are not subscribed.
        app.patch(
            &format!("/records/{aid}"),
            json!({"title": "Scoped 2"}),
            200,
        )
        .await;
        let marker = comment_on_record(app, &aid, "marker").await;

        let expected = [
            ("note.created", &n1),
            ("note.updated", &n1),
            ("comment.created", &c1),
            ("comment.created", &c2),
            ("note.created", &n2),
            ("note.deleted", &n2),
            ("comment.created", &marker),
        ];
        let bodies = receive_exactly(app, &rx, &hid, &secret, &expected).await;
        assert_eq!(body_for(&bodies, "comment.created", &c2["id"])["data"], c2);
        assert_eq!(body_for(&bodies, "note.created", &n1["id"])["data"], n1);
        receive_exactly(app, &rx2, &hid2, &secret2, &expected).await;
    }
);

webhook_test!(
    pipeline_scope_covers_board_and_record_notes_and_comments,
    fast,
    |app| async move {
        let r = app.lead("On the board").await;
        let (rid, pid) = (s(&r["id"]), s(&r["pipeline_id"]));
        let tr = task(app, "On the record", Some(&rid)).await;
        let q = app
            .post(
                "/schema/pipelines",
                json!({"name": "Jobs", "stages": [{"name": "Booked"}, {"name": "Done"}]}),
                201,
            )
            .await;
        let qid = s(&q.data()["id"]);
        let rq = app
            .post(
                "/records",
                json!({"type": "lead", "title": "Elsewhere", "pipeline": qid}),
                201,
            )
            .await;
        let rqid = s(&rq.data()["id"]);
        assert_eq!(rq.data()["pipeline_id"], qid.as_str());
        let tq = task(app, "On the other record", Some(&rqid)).await;
        let loose = task(app, "On nothing", None).await;

        let rx = Receiver::start().await;
        let (hid, secret) = hook_with(
            app,
            &rx,
            json!({"events": ["note.*", "comment.created"], "pipeline_id": pid}),
        )
        .await;
        let rx2 = Receiver::start().await;
        let (hid2, secret2) = hook_with(
            app,
            &rx2,
            json!({"events": ["note.*", "comment.created"], "project_id": pid}),
        )
        .await;

        let np = note(app, json!({"title": "Board rules", "pipeline_id": pid})).await;
        note(app, json!({"title": "Other board", "pipeline_id": qid})).await;
        app.patch(
            &format!("/notes/{}", s(&np["id"])),
            json!({"body": "No shoes"}),
            200,
        )
        .await;
        let nr = note(app, json!({"title": "On the record", "record_id": rid})).await;
        note(
            app,
            json!({"title": "On the other record", "record_id": rqid}),
        )
        .await;
        note(app, json!({"title": "Workspace-wide"})).await;
        let c1 = comment_on_record(app, &rid, "on the record").await;
        comment_on_record(app, &rqid, "on the other record").await;
        let c2 = comment_on_task(app, &tr, "on the record's task").await;
        comment_on_task(app, &tq, "on the other record's task").await;
        comment_on_task(app, &loose, "on a loose task").await;
        app.delete(&format!("/notes/{}", s(&nr["id"])), 200).await;
        // A note moved onto the board is about it from then on.
        let wander = note(app, json!({"title": "Wanderer", "pipeline_id": qid})).await;
        app.patch(
            &format!("/notes/{}", s(&wander["id"])),
            json!({"pipeline_id": pid}),
            200,
        )
        .await;
        // Not subscribed.
        app.patch(
            &format!("/records/{rid}"),
            json!({"title": "Moved on"}),
            200,
        )
        .await;
        let marker = note(app, json!({"title": "marker", "pipeline_id": pid})).await;

        let expected = [
            ("note.created", &np),
            ("note.updated", &np),
            ("note.created", &nr),
            ("comment.created", &c1),
            ("comment.created", &c2),
            ("note.deleted", &nr),
            ("note.updated", &wander),
            ("note.created", &marker),
        ];
        let bodies = receive_exactly(app, &rx, &hid, &secret, &expected).await;
        assert_eq!(body_for(&bodies, "note.created", &np["id"])["data"], np);
        assert_eq!(body_for(&bodies, "note.created", &nr["id"])["data"], nr);
        assert_eq!(body_for(&bodies, "comment.created", &c2["id"])["data"], c2);
        assert_eq!(
            body_for(&bodies, "note.updated", &wander["id"])["data"]["changes"]["pipeline_id"],
            json!({"old": qid, "new": pid})
        );
        receive_exactly(app, &rx2, &hid2, &secret2, &expected).await;
    }
);

webhook_test!(
    deleting_a_board_tells_of_its_notes,
    fast,
    |app| async move {
        let b = app
            .post(
                "/schema/pipelines",
                json!({"name": "Board", "stages": [{"name": "Open"}]}),
                201,
            )
            .await
            .data()
            .clone();
        let bid = s(&b["id"]);
        let early = note(app, json!({"title": "Gone early", "pipeline_id": bid})).await;
        app.delete(&format!("/notes/{}", s(&early["id"])), 200)
            .await;
        let rx = Receiver::start().await;
        let (hid, secret) = hook_with(
            app,
            &rx,
            json!({"events": ["note.*", "pipeline.deleted"], "pipeline_id": bid}),
        )
        .await;
        let n1 = note(app, json!({"title": "One", "pipeline_id": bid})).await;
        let n2 = note(app, json!({"title": "Two", "pipeline_id": bid})).await;
        let other = note(app, json!({"title": "Workspace-wide"})).await;
        app.delete(&format!("/schema/pipelines/{bid}"), 200).await;
        app.get(&format!("/notes/{}", s(&n1["id"])), 404).await;
        app.get(&format!("/notes/{}", s(&other["id"])), 200).await;

        let bodies = receive_exactly(
            app,
            &rx,
            &hid,
            &secret,
            &[
                ("note.created", &n1),
                ("note.created", &n2),
                ("note.deleted", &n1),
                ("note.deleted", &n2),
                ("pipeline.deleted", &b),
            ],
        )
        .await;
        for n in [&n1, &n2] {
            let gone = &body_for(&bodies, "note.deleted", &n["id"])["data"];
            assert_eq!(gone["pipeline_id"], bid.as_str());
            assert!(gone["deleted_at"].is_string(), "{gone}");
            assert_eq!(gone["title"], n["title"]);
        }
    }
);

webhook_test!(filters_on_note_and_comment_fields, fast, |app| async move {
    let lead = app.lead("Filtered").await;
    let rid = s(&lead["id"]);
    let tid = task(app, "Chase", Some(&rid)).await;

    let rx_notes = Receiver::start().await;
    let (notes_hook, notes_secret) = hook_with(
        app,
        &rx_notes,
        json!({"events": ["note.*"], "filter": "title contains \"invoice\""}),
    )
    .await;
    let rx_comments = Receiver::start().await;
    let (comments_hook, comments_secret) = hook_with(
        app,
        &rx_comments,
        json!({"events": ["comment.created"], "filter": "body contains \"urgent\""}),
    )
    .await;
    // Both resources, one filter (JSON form): a comment has no title (NULL), so only its
    // body can match.
    let rx_both = Receiver::start().await;
    let (both_hook, both_secret) = hook_with(
        app,
        &rx_both,
        json!({
            "events": ["note.*", "comment:create"],
            "filter": {"or": [
                {"field": "title", "op": "contains", "value": "invoice"},
                {"field": "body", "op": "contains", "value": "urgent"},
            ]},
        }),
    )
    .await;
    // Only comments on tasks.
    let rx_tasks = Receiver::start().await;
    let (tasks_hook, tasks_secret) = hook_with(
        app,
        &rx_tasks,
        json!({"events": ["comment.created"], "filter": "task_id isnotnull"}),
    )
    .await;
    // Only deletions.
    let rx_gone = Receiver::start().await;
    let (gone_hook, gone_secret) = hook_with(
        app,
        &rx_gone,
        json!({"events": ["note.*"], "filter": "deleted_at isnotnull"}),
    )
    .await;

    let n1 = note(
        app,
        json!({"title": "Invoice 42", "body": "net 30", "record_id": rid}),
    )
    .await;
    let n2 = note(
        app,
        json!({"title": "Site survey", "body": "urgent: the roof"}),
    )
    .await;
    app.patch(
        &format!("/notes/{}", s(&n2["id"])),
        json!({"title": "Survey invoice"}),
        200,
    )
    .await;
    app.patch(
        &format!("/notes/{}", s(&n1["id"])),
        json!({"body": "net 60"}),
        200,
    )
    .await;
    let n3 = note(app, json!({"title": "Minutes", "body": "nothing much"})).await;
    app.delete(&format!("/notes/{}", s(&n3["id"])), 200).await;
    let c1 = comment_on_record(app, &rid, "URGENT: call back").await;
    comment_on_record(app, &rid, "all fine, the invoice is paid").await;
    let c3 = comment_on_task(app, &tid, "urgent too").await;
    let c4 = comment_on_task(app, &tid, "calm").await;
    app.delete(&format!("/notes/{}", s(&n1["id"])), 200).await;
    let note_marker = note(app, json!({"title": "invoice marker"})).await;
    let comment_marker = comment_on_task(app, &tid, "urgent marker").await;

    receive_exactly(
        app,
        &rx_notes,
        &notes_hook,
        &notes_secret,
        &[
            ("note.created", &n1),
            ("note.updated", &n2),
            ("note.updated", &n1),
            ("note.deleted", &n1),
            ("note.created", &note_marker),
        ],
    )
    .await;
    receive_exactly(
        app,
        &rx_comments,
        &comments_hook,
        &comments_secret,
        &[
            ("comment.created", &c1),
            ("comment.created", &c3),
            ("comment.created", &comment_marker),
        ],
    )
    .await;
    receive_exactly(
        app,
        &rx_both,
        &both_hook,
        &both_secret,
        &[
            ("note.created", &n1),
            ("note.created", &n2),
            ("note.updated", &n2),
            ("note.updated", &n1),
            ("comment.created", &c1),
            ("comment.created", &c3),
            ("note.deleted", &n1),
            ("note.created", &note_marker),
            ("comment.created", &comment_marker),
        ],
    )
    .await;
    receive_exactly(
        app,
        &rx_tasks,
        &tasks_hook,
        &tasks_secret,
        &[
            ("comment.created", &c3),
            ("comment.created", &c4),
            ("comment.created", &comment_marker),
        ],
    )
    .await;
    // Its marker: the last note deletion came before the comment marker; delete one more.
    app.delete(&format!("/notes/{}", s(&note_marker["id"])), 200)
        .await;
    receive_exactly(
        app,
        &rx_gone,
        &gone_hook,
        &gone_secret,
        &[
            ("note.deleted", &n3),
            ("note.deleted", &n1),
            ("note.deleted", &note_marker),
        ],
    )
    .await;
});

/// 400 naming `filter`; returns the message.
async fn filter_refused(app: &TestApp, events: Value, filter: Value) -> String {
    let r = app
        .post(
            "/webhooks",
            json!({"url": "https://93.184.216.34/refused", "events": events, "filter": filter}),
            400,
        )
        .await;
    assert_eq!(r.error_code(), "validation_failed", "{}", r.text);
    assert_eq!(r.body["details"]["field"], "filter", "{}", r.text);
    let msg = s(&r.body["error"]);
    assert!(msg.contains("filter"), "{msg}");
    msg
}

webhook_test!(
    filters_are_checked_against_note_and_comment_fields,
    fast,
    |app| async move {
        let msg = filter_refused(app, json!(["comment.created"]), json!("titel eq \"x\"")).await;
        assert!(msg.contains("titel"), "{msg}");
        // `title` is a note's field, not a comment's.
        let msg = filter_refused(app, json!(["comment.created"]), json!("title eq \"x\"")).await;
        assert!(msg.contains("title"), "{msg}");
        filter_refused(
            app,
            json!(["comment:create"]),
            json!({"field": "titel", "op": "eq", "value": "x"}),
        )
        .await;
        // A comment's fields are the six it is filtered on.
        filter_refused(
            app,
            json!(["comment.created"]),
            json!("updated_at gt \"2020-01-01\""),
        )
        .await;
        // `task_id` is a comment's field, not a note's.
        let msg = filter_refused(app, json!(["note.*"]), json!("task_id isnotnull")).await;
        assert!(msg.contains("task_id"), "{msg}");
        let msg = filter_refused(app, json!(["note.created"]), json!("titel contains \"x\"")).await;
        assert!(msg.contains("did you mean 'title'"), "{msg}");
        // Types hold: no `contains` on a datetime.
        filter_refused(
            app,
            json!(["note.*"]),
            json!("created_at contains \"2020\""),
        )
        .await;
        let none = app.get("/webhooks", 200).await;
        assert_eq!(
            none.data().as_array().unwrap().len(),
            0,
            "nothing was stored"
        );

        // Every listed field is accepted on its resource.
        for (i, (events, f)) in [
            (
                json!(["note.*"]),
                "id ne \"00000000-0000-0000-0000-000000000000\"",
            ),
            (json!(["note.*"]), "title contains \"invoice\""),
            (json!(["note.created"]), "body startswith \"x\""),
            (json!(["note.updated"]), "record_id isnull"),
            (json!(["note.deleted"]), "pipeline_id isnotnull"),
            (json!(["note.*"]), "author_id isnotnull"),
            (json!(["note.*"]), "created_at gt \"2020-01-01\""),
            (json!(["note.*"]), "updated_at gt \"2020-01-01\""),
            (json!(["note.*"]), "deleted_at isnull"),
            (json!(["comment.created"]), "id isnotnull"),
            (json!(["comment.created"]), "body contains \"urgent\""),
            (json!(["comment:create"]), "author_id isnotnull"),
            (json!(["comment.created"]), "record_id isnull"),
            (json!(["comment.created"]), "task_id isnotnull"),
            (json!(["comment.created"]), "created_at lt now"),
            (
                json!(["note.*", "comment.created"]),
                "title contains \"a\" or task_id isnotnull",
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let r = app
            .post(
                "/webhooks",
                json!({"url": format!("https://93.184.216.34/ok/{i}"), "events": events, "filter": f}),
                201,
            )
            .await;
            assert!(r.data()["filter"].is_string(), "{}", r.text);
        }
    }
);

/// Event ids in a webhook's delivery history.
async fn delivered_events(app: &TestApp, hook_id: &str) -> BTreeSet<String> {
    let list = app
        .get(&format!("/webhooks/{hook_id}/deliveries?per_page=100"), 200)
        .await;
    list.data()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| s(&d["event"]))
        .collect()
}

webhook_test!(
    scope_is_decided_at_commit_not_at_fan_out,
    |c: &mut laneway_server::ServerConfig| {
        fast(c);
        c.webhooks.engine = false;
    },
    |app| async move {
        // The fan-out lags (its engine is off): the record moves to another board before the
        // events about its task, note and comment are read. They belong to the board the
        // record was on when they were written.
        let lead = app.lead("Mover").await;
        let rid = s(&lead["id"]);
        let from = s(&lead["pipeline_id"]);
        let to = app
            .post(
                "/schema/pipelines",
                json!({"name": "Elsewhere", "stages": [{"name": "Open"}]}),
                201,
            )
            .await
            .data()
            .clone();
        let to_id = s(&to["id"]);
        let (rx1, rx2, rx3) = (
            Receiver::start().await,
            Receiver::start().await,
            Receiver::start().await,
        );
        let events = json!(["note.*", "comment.created", "task.created"]);
        let (on_from, _) =
            hook_with(app, &rx1, json!({"events": events, "pipeline_id": from})).await;
        let (on_to, _) =
            hook_with(app, &rx2, json!({"events": events, "pipeline_id": to_id})).await;
        let (on_record, _) =
            hook_with(app, &rx3, json!({"events": events, "record_id": rid})).await;
        let tid = task(app, "Call", Some(&rid)).await;
        note(app, json!({"title": "On the lead", "record_id": rid})).await;
        comment_on_record(app, &rid, "hello").await;
        comment_on_task(app, &tid, "on the task").await;
        app.patch(&format!("/records/{rid}"), json!({"pipeline": to_id}), 200)
            .await;
        let db = laneway_store::Db::connect(&app.database_url, &Default::default())
            .await
            .unwrap();
        assert!(
            laneway_server::webhooks::fanout::catch_up(
                &db,
                &Default::default(),
                Duration::from_secs(20)
            )
            .await
        );
        db.close().await;
        let all: BTreeSet<String> = ["comment.created", "note.created", "task.created"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(delivered_events(app, &on_from).await, all);
        assert_eq!(delivered_events(app, &on_record).await, all);
        assert_eq!(delivered_events(app, &on_to).await, BTreeSet::new());
        let list = app
            .get(&format!("/webhooks/{on_from}/deliveries?per_page=100"), 200)
            .await;
        assert_eq!(list.data().as_array().unwrap().len(), 4, "{}", list.data());
    }
);
