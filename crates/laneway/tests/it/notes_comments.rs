//! `/notes` and comments on records and tasks (spec §7).

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_test;
use crate::records::{board, events_of, ids, is_timestamp, member_of, names, new_member, s};
use crate::support::{Backend, Resp, TestApp};

// ---- helpers ---------------------------------------------------------------------------------

const NOTE_KEYS: &[&str] = &[
    "author_id",
    "body",
    "created_at",
    "id",
    "pipeline_id",
    "record_id",
    "title",
    "updated_at",
];

const COMMENT_KEYS: &[&str] = &[
    "author_id",
    "body",
    "created_at",
    "id",
    "record_id",
    "task_id",
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

async fn note(app: &TestApp, body: Value) -> Value {
    app.post("/notes", body, 201).await.data().clone()
}

async fn note_as(app: &TestApp, token: &str, body: Value) -> Value {
    app.expect(app.req_as(token, Method::POST, "/notes").json(&body), 201)
        .await
        .data()
        .clone()
}

async fn task(app: &TestApp, body: Value) -> Value {
    app.post("/records/tasks", body, 201).await.data().clone()
}

/// A `GET` of `path` with query pairs, expecting 200.
async fn list(app: &TestApp, path: &str, q: &[(&str, &str)]) -> Resp {
    app.expect(app.req(Method::GET, path).query(q), 200).await
}

/// A `GET` of `path` with query pairs, whatever the status.
async fn try_list(app: &TestApp, path: &str, q: &[(&str, &str)]) -> Resp {
    app.send(app.req(Method::GET, path).query(q)).await
}

fn titles(r: &Resp) -> Vec<String> {
    r.data()
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", r.text))
        .iter()
        .map(|x| s(&x["title"]))
        .collect()
}

fn bodies(r: &Resp) -> Vec<String> {
    r.data()
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", r.text))
        .iter()
        .map(|x| s(&x["body"]))
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// A 400 whose `details.field` is `field` and whose message names it.
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

/// A 404 in the error envelope with code `not_found`.
fn assert_not_found(r: &Resp) {
    assert_eq!(r.status.as_u16(), 404, "{}", r.text);
    assert_eq!(r.error_code(), "not_found", "{}", r.text);
}

/// A fresh, empty pipeline `{name}` with two stages; returns `(id, slug)`.
async fn pipeline(app: &TestApp, name: &str) -> (String, String) {
    let p = app
        .post(
            "/schema/pipelines",
            json!({"name": name, "stages": [{"name": "Todo"}, {"name": "Done"}]}),
            201,
        )
        .await;
    (s(&p.data()["id"]), s(&p.data()["slug"]))
}

/// The email of a member.
async fn email_of(app: &TestApp, member: &str) -> String {
    s(&app.get(&format!("/members/{member}"), 200).await.data()["email"])
}

/// A write key acting as `member`.
async fn write_key_for(app: &TestApp, member: &str) -> String {
    let r = app
        .post(
            "/keys",
            json!({"name": "member key", "scope": "write", "member_id": member}),
            201,
        )
        .await;
    s(&r.data()["token"])
}

/// Walks `path` in cursor mode with `page[size]=size` following `next_cursor`, checks `meta`
/// and `links` on every page, then walks back with `prev_cursor` and checks each page again.
/// Returns every id in order.
async fn walk_cursor(app: &TestApp, path: &str, q: &[(&str, &str)], size: usize) -> Vec<String> {
    let size_s = size.to_string();
    let mut base: Vec<(String, String)> = q
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    base.push(("page[size]".into(), size_s));
    let mut pages: Vec<(Vec<String>, Option<String>)> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut qq = base.clone();
        if let Some(c) = &cursor {
            qq.push(("page[cursor]".into(), c.clone()));
        }
        let r = app.expect(app.req(Method::GET, path).query(&qq), 200).await;
        let meta = &r.body["meta"];
        assert_eq!(meta["path"], format!("/api/v1{path}"), "{}", r.text);
        assert_eq!(meta["per_page"], size, "{}", r.text);
        assert!(meta.get("total").is_none(), "cursor mode has no total");
        let got = ids(&r);
        assert!(got.len() <= size, "{}", r.text);
        let next = meta["next_cursor"].as_str().map(String::from);
        let prev = meta["prev_cursor"].as_str().map(String::from);
        if pages.is_empty() {
            assert!(prev.is_none(), "first page has a prev cursor: {}", r.text);
        } else {
            assert!(prev.is_some(), "later page has no prev cursor: {}", r.text);
        }
        let links: Vec<Value> = [
            meta["next_cursor_url"].clone(),
            meta["prev_cursor_url"].clone(),
        ]
        .into_iter()
        .filter(|v| !v.is_null())
        .collect();
        assert_eq!(r.body["links"], Value::Array(links), "{}", r.text);
        if next.is_some() {
            assert_eq!(got.len(), size, "a short page with a next cursor");
        }
        pages.push((got, prev));
        assert!(pages.len() < 100, "runaway cursor walk");
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    // Back from the last page.
    let mut i = pages.len() - 1;
    while let Some(p) = pages[i].1.clone() {
        i -= 1;
        let mut qq = base.clone();
        qq.push(("page[cursor]".into(), p));
        let r = app.expect(app.req(Method::GET, path).query(&qq), 200).await;
        assert_eq!(ids(&r), pages[i].0, "backward page {i}");
    }
    assert_eq!(i, 0, "walking back stopped early");
    pages.into_iter().flat_map(|(p, _)| p).collect()
}

// ---- notes: create and read --------------------------------------------------------------------

backend_test!(note_create_shapes_and_author, |app| async move {
    let me = member_of(app, &app.token).await;
    let b = board(app).await;
    let rec = s(&app.lead("Smith").await["id"]);

    // A workspace note: defaults.
    let w = note(app, json!({})).await;
    assert_eq!(keys_of(&w), NOTE_KEYS);
    assert_eq!(w["title"], "Untitled");
    assert_eq!(w["body"], "");
    assert_eq!(w["record_id"], Value::Null);
    assert_eq!(w["pipeline_id"], Value::Null);
    assert_eq!(w["author_id"], me.as_str());
    assert!(is_timestamp(&w["created_at"]), "{w}");
    assert_eq!(w["created_at"], w["updated_at"]);
    assert!(uuid::Uuid::parse_str(&s(&w["id"])).is_ok());

    // On a record.
    let r = note(
        app,
        json!({"title": "Site survey", "body": "Two floors.\nNo parking.", "record_id": rec}),
    )
    .await;
    assert_eq!(keys_of(&r), NOTE_KEYS);
    assert_eq!(r["title"], "Site survey");
    assert_eq!(r["body"], "Two floors.\nNo parking.");
    assert_eq!(r["record_id"], rec.as_str());
    assert_eq!(r["pipeline_id"], Value::Null);
    assert_eq!(r["author_id"], me.as_str());

    // On a pipeline; the title is trimmed.
    let p = note(
        app,
        json!({"title": "  Board rules  ", "pipeline_id": b.pipeline_id, "record_id": null}),
    )
    .await;
    assert_eq!(keys_of(&p), NOTE_KEYS);
    assert_eq!(p["title"], "Board rules");
    assert_eq!(p["pipeline_id"], b.pipeline_id.as_str());
    assert_eq!(p["record_id"], Value::Null);

    // GET returns the same, with an ETag.
    for n in [&w, &r, &p] {
        let id = s(&n["id"]);
        let g = app.get(&format!("/notes/{id}"), 200).await;
        assert_eq!(g.data(), n);
        assert!(g.header("etag").is_some());
        // note.created carries the note as the API returns it.
        let evs = events_of(app, &id).await;
        assert_eq!(names(&evs), ["note.created"]);
        assert_eq!(&evs[0].1, n);
    }

    // The author is the member of the calling key, not the workspace owner.
    let ann = new_member(app, "Ann").await;
    let ann_key = write_key_for(app, &ann).await;
    assert_eq!(member_of(app, &ann_key).await, ann);
    let by_ann = note_as(app, &ann_key, json!({"title": "Ann's"})).await;
    assert_eq!(by_ann["author_id"], ann.as_str());
    let g = app.get(&format!("/notes/{}", s(&by_ann["id"])), 200).await;
    assert_eq!(g.data()["author_id"], ann.as_str());
    // An author-supplied author_id is an unknown field, not an override.
    let r = app
        .post("/notes", json!({"title": "x", "author_id": ann}), 400)
        .await;
    assert_field(&r, "author_id");

    assert_eq!(list(app, "/notes", &[]).await.body["meta"]["total"], 4);
});

backend_test!(note_create_validation, |app| async move {
    let b = board(app).await;
    let rec = s(&app.lead("r").await["id"]);
    let random = uuid::Uuid::now_v7().to_string();

    // On a record and a pipeline at once.
    let r = app
        .post(
            "/notes",
            json!({"record_id": rec, "pipeline_id": b.pipeline_id}),
            400,
        )
        .await;
    assert_field(&r, "pipeline_id");

    // Unknown record / pipeline → 400 naming the field and the id.
    let r = app.post("/notes", json!({"record_id": random}), 400).await;
    assert_field(&r, "record_id");
    assert!(
        r.body["error"].as_str().unwrap().contains(&random),
        "{}",
        r.text
    );
    let r = app
        .post("/notes", json!({"pipeline_id": random}), 400)
        .await;
    assert_field(&r, "pipeline_id");
    assert!(
        r.body["error"].as_str().unwrap().contains(&random),
        "{}",
        r.text
    );
    // A stage id is not a pipeline id.
    let r = app.post("/notes", json!({"pipeline_id": b.new}), 400).await;
    assert_field(&r, "pipeline_id");

    // A deleted record cannot take a note.
    let gone = s(&app.lead("gone").await["id"]);
    app.delete(&format!("/records/{gone}"), 200).await;
    let r = app.post("/notes", json!({"record_id": gone}), 400).await;
    assert_field(&r, "record_id");

    // Malformed ids and wrong types.
    for (body, field) in [
        (json!({"record_id": "abc"}), "record_id"),
        (json!({"pipeline_id": 12}), "pipeline_id"),
        (json!({"title": 7}), "title"),
        (json!({"body": ["x"]}), "body"),
    ] {
        let r = app.post("/notes", body.clone(), 400).await;
        assert_field(&r, field);
    }

    // Title: empty, blank, too long; body too long; unknown field.
    let r = app.post("/notes", json!({"title": ""}), 400).await;
    assert_field(&r, "title");
    let r = app.post("/notes", json!({"title": "   "}), 400).await;
    assert_field(&r, "title");
    let r = app
        .post("/notes", json!({"title": "x".repeat(1001)}), 400)
        .await;
    assert_field(&r, "title");
    let r = app
        .post("/notes", json!({"title": "é".repeat(1001)}), 400)
        .await;
    assert_field(&r, "title");
    let r = app
        .post("/notes", json!({"body": "b".repeat(200_001)}), 400)
        .await;
    assert_field(&r, "body");
    let r = app
        .post("/notes", json!({"title": "x", "color": "red"}), 400)
        .await;
    assert_field(&r, "color");
    let r = app.post("/notes", json!([]), 400).await;
    r.error_code();

    // Nothing was written, and no event.
    assert_eq!(list(app, "/notes", &[]).await.body["meta"]["total"], 0);
    assert!(app.events().await.iter().all(|(n, _)| n != "note.created"));

    // The limits themselves are fine (counted in characters, not bytes).
    let long = note(
        app,
        json!({"title": "é".repeat(1000), "body": "b".repeat(200_000)}),
    )
    .await;
    assert_eq!(long["title"].as_str().unwrap().chars().count(), 1000);
    assert_eq!(long["body"].as_str().unwrap().len(), 200_000);
    assert_eq!(list(app, "/notes", &[]).await.body["meta"]["total"], 1);
});

backend_test!(note_unknown_is_404, |app| async move {
    let random = uuid::Uuid::now_v7().to_string();
    for path in [format!("/notes/{random}"), "/notes/garbage".to_string()] {
        assert_not_found(&app.get(&path, 404).await);
        assert_not_found(&app.patch(&path, json!({"title": "x"}), 404).await);
        assert_not_found(&app.delete(&path, 404).await);
    }
    // A record id is not a note id.
    let rec = s(&app.lead("r").await["id"]);
    app.get(&format!("/notes/{rec}"), 404).await;
    // Unsupported methods are a 405 in the error envelope.
    let r = app
        .expect(app.req(Method::PUT, "/notes").json(&json!({})), 405)
        .await;
    assert_eq!(r.error_code(), "method_not_allowed");
});

// ---- notes: update and delete ------------------------------------------------------------------

backend_test!(note_patch_fields_and_events, |app| async move {
    let n = note(app, json!({"title": "Call notes", "body": "first"})).await;
    let id = s(&n["id"]);
    let path = format!("/notes/{id}");

    let u = app
        .patch(
            &path,
            json!({"title": "Call notes (v2)", "body": "second"}),
            200,
        )
        .await;
    let u = u.data().clone();
    assert_eq!(keys_of(&u), NOTE_KEYS);
    assert_eq!(u["title"], "Call notes (v2)");
    assert_eq!(u["body"], "second");
    assert_eq!(u["created_at"], n["created_at"]);
    assert_eq!(u["author_id"], n["author_id"]);
    assert!(is_timestamp(&u["updated_at"]));
    assert!(s(&u["updated_at"]) >= s(&n["updated_at"]));
    assert_eq!(app.get(&path, 200).await.data(), &u);

    let evs = events_of(app, &id).await;
    assert_eq!(names(&evs), ["note.created", "note.updated"]);
    let d = &evs[1].1;
    assert_eq!(
        d["changes"],
        json!({
            "title": {"old": "Call notes", "new": "Call notes (v2)"},
            "body": {"old": "first", "new": "second"},
        })
    );
    // The event data is the note as returned, plus `changes`.
    let mut without = d.clone();
    without.as_object_mut().unwrap().remove("changes");
    assert_eq!(without, u);

    // Only the body: only the body is a change.
    app.patch(&path, json!({"body": ""}), 200).await;
    let evs = events_of(app, &id).await;
    assert_eq!(evs.len(), 3);
    assert_eq!(
        evs[2].1["changes"],
        json!({"body": {"old": "second", "new": ""}})
    );

    // A no-op patch (same values, or nothing) changes nothing and writes no event.
    let current = app.get(&path, 200).await.data().clone();
    for body in [
        json!({}),
        json!({"title": "Call notes (v2)"}),
        json!({"title": "  Call notes (v2) "}),
        json!({"body": ""}),
        json!({"record_id": null, "pipeline_id": null}),
    ] {
        let r = app.patch(&path, body.clone(), 200).await;
        assert_eq!(r.data(), &current, "{body}");
    }
    assert_eq!(app.get(&path, 200).await.data(), &current);
    assert_eq!(events_of(app, &id).await.len(), 3);

    // Invalid patches are refused and leave the note alone.
    let random = uuid::Uuid::now_v7();
    for (body, field) in [
        (json!({"title": ""}), "title"),
        (json!({"title": "  "}), "title"),
        (json!({"title": null}), "title"),
        (json!({"title": "t".repeat(1001)}), "title"),
        (json!({"body": null}), "body"),
        (json!({"body": "b".repeat(200_001)}), "body"),
        (json!({"record_id": random}), "record_id"),
        (json!({"pipeline_id": random}), "pipeline_id"),
        (json!({"record_id": "nope"}), "record_id"),
        (json!({"author_id": random}), "author_id"),
        (json!({"color": "red"}), "color"),
    ] {
        let r = app.patch(&path, body.clone(), 400).await;
        assert_field(&r, field);
    }
    assert_eq!(app.get(&path, 200).await.data(), &current);
    assert_eq!(events_of(app, &id).await.len(), 3);
});

backend_test!(
    note_moves_between_record_pipeline_and_workspace,
    |app| async move {
        let b = board(app).await;
        let rec = s(&app.lead("Smith").await["id"]);
        let rec2 = s(&app.lead("Jones").await["id"]);
        let n = note(app, json!({"title": "moving", "record_id": rec})).await;
        let id = s(&n["id"]);
        let path = format!("/notes/{id}");

        // Record → pipeline: record_id is cleared.
        let u = app
            .patch(&path, json!({"pipeline_id": b.pipeline_id}), 200)
            .await;
        assert_eq!(u.data()["pipeline_id"], b.pipeline_id.as_str());
        assert_eq!(u.data()["record_id"], Value::Null);
        let evs = events_of(app, &id).await;
        assert_eq!(
            evs.last().unwrap().1["changes"],
            json!({
                "record_id": {"old": rec, "new": null},
                "pipeline_id": {"old": null, "new": b.pipeline_id},
            })
        );

        // Pipeline → record: pipeline_id is cleared.
        let u = app.patch(&path, json!({"record_id": rec2}), 200).await;
        assert_eq!(u.data()["record_id"], rec2.as_str());
        assert_eq!(u.data()["pipeline_id"], Value::Null);
        let evs = events_of(app, &id).await;
        assert_eq!(
            evs.last().unwrap().1["changes"],
            json!({
                "record_id": {"old": null, "new": rec2},
                "pipeline_id": {"old": b.pipeline_id, "new": null},
            })
        );

        // Record → another record.
        let u = app.patch(&path, json!({"record_id": rec}), 200).await;
        assert_eq!(u.data()["record_id"], rec.as_str());

        // Both at once is refused (and nothing moves).
        let r = app
            .patch(
                &path,
                json!({"record_id": rec2, "pipeline_id": b.pipeline_id}),
                400,
            )
            .await;
        assert_field(&r, "pipeline_id");
        // But one place plus detaching the other is fine.
        let u = app
            .patch(
                &path,
                json!({"record_id": null, "pipeline_id": b.pipeline_id}),
                200,
            )
            .await;
        assert_eq!(u.data()["record_id"], Value::Null);
        assert_eq!(u.data()["pipeline_id"], b.pipeline_id.as_str());

        // null detaches: a workspace note.
        let u = app.patch(&path, json!({"pipeline_id": null}), 200).await;
        assert_eq!(u.data()["record_id"], Value::Null);
        assert_eq!(u.data()["pipeline_id"], Value::Null);
        let evs = events_of(app, &id).await;
        assert_eq!(
            evs.last().unwrap().1["changes"],
            json!({"pipeline_id": {"old": b.pipeline_id, "new": null}})
        );
        app.patch(&path, json!({"record_id": rec}), 200).await;
        let u = app.patch(&path, json!({"record_id": null}), 200).await;
        assert_eq!(u.data()["record_id"], Value::Null);
        assert_eq!(u.data()["pipeline_id"], Value::Null);

        // A deleted record is not a place to move to.
        let gone = s(&app.lead("gone").await["id"]);
        app.delete(&format!("/records/{gone}"), 200).await;
        let r = app.patch(&path, json!({"record_id": gone}), 400).await;
        assert_field(&r, "record_id");

        let final_note = app.get(&path, 200).await;
        assert_eq!(final_note.data()["record_id"], Value::Null);
        assert_eq!(final_note.data()["pipeline_id"], Value::Null);
        assert_eq!(final_note.data()["title"], "moving");
        let evs = events_of(app, &id).await;
        assert_eq!(
            names(&evs),
            [
                "note.created",
                "note.updated",
                "note.updated",
                "note.updated",
                "note.updated",
                "note.updated",
                "note.updated",
                "note.updated",
            ]
        );
    }
);

backend_test!(note_patch_and_delete_honour_if_match, |app| async move {
    let n = note(app, json!({"title": "t"})).await;
    let path = format!("/notes/{}", s(&n["id"]));
    let tag = app
        .get(&path, 200)
        .await
        .header("etag")
        .unwrap()
        .to_string();
    let u = app
        .expect(
            app.req(Method::PATCH, &path)
                .header("If-Match", &tag)
                .json(&json!({"title": "u"})),
            200,
        )
        .await;
    let new_tag = u.header("etag").expect("etag on PATCH").to_string();
    assert_ne!(new_tag, tag);
    assert_eq!(
        app.get(&path, 200).await.header("etag"),
        Some(new_tag.as_str())
    );
    let r = app
        .expect(
            app.req(Method::PATCH, &path)
                .header("If-Match", &tag)
                .json(&json!({"title": "v"})),
            412,
        )
        .await;
    assert_eq!(r.error_code(), "precondition_failed");
    app.expect(app.req(Method::DELETE, &path).header("If-Match", &tag), 412)
        .await;
    assert_eq!(app.get(&path, 200).await.data()["title"], "u");
    // The current tag (or `*`) lets the delete through.
    app.expect(
        app.req(Method::DELETE, &path).header("If-Match", &new_tag),
        200,
    )
    .await;
    app.get(&path, 404).await;
    let m = note(app, json!({"title": "m"})).await;
    app.expect(
        app.req(Method::DELETE, &format!("/notes/{}", s(&m["id"])))
            .header("If-Match", "*"),
        200,
    )
    .await;
});

backend_test!(note_delete, |app| async move {
    let rec = s(&app.lead("r").await["id"]);
    let keep = note(app, json!({"title": "keep", "record_id": rec})).await;
    let n = note(app, json!({"title": "bye", "body": "b", "record_id": rec})).await;
    let id = s(&n["id"]);
    let path = format!("/notes/{id}");
    let r = app.delete(&path, 200).await;
    assert_eq!(
        r.body,
        json!({"success": true, "data": {"deleted": true, "id": id}})
    );
    assert_not_found(&app.get(&path, 404).await);
    assert_not_found(&app.delete(&path, 404).await);
    assert_not_found(&app.patch(&path, json!({"title": "x"}), 404).await);

    // Gone from every list.
    let all = list(app, "/notes", &[]).await;
    assert_eq!(ids(&all), [s(&keep["id"])]);
    assert_eq!(all.body["meta"]["total"], 1);
    let on_rec = list(app, "/notes", &[("record_id", &rec)]).await;
    assert_eq!(ids(&on_rec), [s(&keep["id"])]);
    let f = list(app, "/notes", &[("filter", "title eq \"bye\"")]).await;
    assert_eq!(f.body["meta"]["total"], 0);

    let evs = events_of(app, &id).await;
    assert_eq!(names(&evs), ["note.created", "note.deleted"]);
    let d = &evs[1].1;
    assert!(is_timestamp(&d["deleted_at"]), "{d}");
    assert_eq!(d["updated_at"], d["deleted_at"]);
    assert_eq!(d["title"], "bye");
    assert_eq!(d["body"], "b");
    assert_eq!(d["record_id"], rec.as_str());
    let mut without = d.clone();
    let o = without.as_object_mut().unwrap();
    o.remove("deleted_at");
    o.remove("updated_at");
    let mut expected = n.clone();
    expected.as_object_mut().unwrap().remove("updated_at");
    assert_eq!(without, expected);
    // The kept note is untouched.
    assert_eq!(
        app.get(&format!("/notes/{}", s(&keep["id"])), 200)
            .await
            .data(),
        &keep
    );
});

backend_test!(deleting_a_pipeline_deletes_its_notes, |app| async move {
    let b = board(app).await;
    let (pid, slug) = pipeline(app, "Field Jobs").await;
    let a = note(app, json!({"title": "a", "pipeline_id": pid})).await;
    let c = note(app, json!({"title": "c", "pipeline_id": pid})).await;
    // A note already deleted stays deleted, with one note.deleted only.
    let gone = note(app, json!({"title": "gone", "pipeline_id": pid})).await;
    app.delete(&format!("/notes/{}", s(&gone["id"])), 200).await;
    // Notes elsewhere survive.
    let other = note(app, json!({"title": "main", "pipeline_id": b.pipeline_id})).await;
    let loose = note(app, json!({"title": "loose"})).await;

    let on_p = list(app, "/notes", &[("pipeline_id", &pid)]).await;
    assert_eq!(sorted(titles(&on_p)), ["a", "c"]);
    let f = list(
        app,
        "/notes",
        &[("filter", &format!("pipeline.slug eq \"{slug}\""))],
    )
    .await;
    assert_eq!(sorted(titles(&f)), ["a", "c"]);

    let d = app.delete(&format!("/schema/pipelines/{pid}"), 200).await;
    assert_eq!(d.data(), &json!({"deleted": true, "id": pid}));

    for n in [&a, &c] {
        let id = s(&n["id"]);
        assert_not_found(&app.get(&format!("/notes/{id}"), 404).await);
        let evs = events_of(app, &id).await;
        assert_eq!(names(&evs), ["note.created", "note.deleted"], "{id}");
        let del = &evs[1].1;
        assert!(is_timestamp(&del["deleted_at"]), "{del}");
        assert_eq!(del["pipeline_id"], pid.as_str());
        assert_eq!(del["title"], n["title"]);
    }
    let evs = events_of(app, &s(&gone["id"])).await;
    assert_eq!(names(&evs), ["note.created", "note.deleted"]);

    // The pipeline's deletion comes with its notes' deletions, in the same write.
    let all = app.events().await;
    let tail: Vec<&str> = all.iter().rev().take(3).map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        sorted(tail.iter().map(|s| s.to_string()).collect()),
        ["note.deleted", "note.deleted", "pipeline.deleted"]
    );

    let left = list(app, "/notes", &[]).await;
    assert_eq!(
        sorted(ids(&left)),
        sorted(vec![s(&other["id"]), s(&loose["id"])])
    );
    assert_eq!(left.body["meta"]["total"], 2);
    assert_eq!(
        list(app, "/notes", &[("pipeline_id", &pid)]).await.body["meta"]["total"],
        0
    );
    assert_eq!(
        app.get(&format!("/notes/{}", s(&other["id"])), 200)
            .await
            .data(),
        &other
    );
    // A note cannot be put on the deleted pipeline.
    let r = app.post("/notes", json!({"pipeline_id": pid}), 400).await;
    assert_field(&r, "pipeline_id");
    let r = app
        .patch(
            &format!("/notes/{}", s(&loose["id"])),
            json!({"pipeline_id": pid}),
            400,
        )
        .await;
    assert_field(&r, "pipeline_id");
});

// ---- notes: lists ----------------------------------------------------------------------------

backend_test!(note_list_params_and_order, |app| async move {
    let b = board(app).await;
    let r1 = s(&app.lead("Acme Roofing").await["id"]);
    let r2 = s(&app.lead("Bolt Electric").await["id"]);
    let n1 = note(app, json!({"title": "n1", "record_id": r1})).await;
    let n2 = note(app, json!({"title": "n2", "pipeline_id": b.pipeline_id})).await;
    let n3 = note(app, json!({"title": "n3", "record_id": r1})).await;
    let n4 = note(app, json!({"title": "n4"})).await;
    let n5 = note(app, json!({"title": "n5", "record_id": r2})).await;

    // Newest first by default, offset meta.
    let all = list(app, "/notes", &[]).await;
    assert_eq!(titles(&all), ["n5", "n4", "n3", "n2", "n1"]);
    assert_eq!(
        all.body["meta"],
        json!({"total": 5, "page": 1, "per_page": 50})
    );
    // The list items are the notes as GET returns them.
    let listed = all.data().as_array().unwrap();
    assert_eq!(listed[4], n1);
    assert_eq!(listed[0], n5);

    assert_eq!(
        titles(&list(app, "/notes", &[("record_id", &r1)]).await),
        ["n3", "n1"]
    );
    assert_eq!(
        titles(&list(app, "/notes", &[("record_id", &r2)]).await),
        ["n5"]
    );
    assert_eq!(
        titles(&list(app, "/notes", &[("pipeline_id", &b.pipeline_id)]).await),
        ["n2"]
    );
    // Both parameters AND: no note is on both.
    let r = list(
        app,
        "/notes",
        &[("record_id", &r1), ("pipeline_id", &b.pipeline_id)],
    )
    .await;
    assert_eq!(r.body["meta"]["total"], 0);
    // And they AND with `filter`.
    let r = list(
        app,
        "/notes",
        &[("record_id", &r1), ("filter", "title eq \"n3\"")],
    )
    .await;
    assert_eq!(ids(&r), [s(&n3["id"])]);
    let nobody = uuid::Uuid::now_v7().to_string();
    assert_eq!(
        list(app, "/notes", &[("record_id", &nobody)]).await.body["meta"]["total"],
        0
    );

    // Offset pagination.
    let mut paged = Vec::new();
    for page in ["1", "2", "3"] {
        let r = list(app, "/notes", &[("page", page), ("per_page", "2")]).await;
        assert_eq!(r.body["meta"]["total"], 5);
        paged.extend(titles(&r));
    }
    assert_eq!(paged, ["n5", "n4", "n3", "n2", "n1"]);

    // Bad simple parameters → 400 naming the parameter.
    for (k, v) in [
        ("record_id", "nope"),
        ("pipeline_id", "123"),
        ("per_page", "0"),
    ] {
        let r = try_list(app, "/notes", &[(k, v)]).await;
        assert_eq!(r.status, 400, "{k}={v}: {}", r.text);
        r.error_code();
        assert!(r.body["error"].as_str().unwrap().contains(k), "{}", r.text);
    }
    let _ = (n2, n4);
});

backend_test!(note_list_filter_and_sort, |app| async move {
    let b = board(app).await;
    let acme = s(&app.lead("Acme Roofing").await["id"]);
    let bolt = s(&app.lead("Bolt Electric").await["id"]);
    let ann = new_member(app, "Ann").await;
    let ann_email = email_of(app, &ann).await;
    let ann_key = write_key_for(app, &ann).await;
    let me = member_of(app, &app.token).await;

    note(
        app,
        json!({"title": "Kickoff call", "body": "budget 50% upfront", "record_id": acme}),
    )
    .await;
    note_as(
        app,
        &ann_key,
        json!({"title": "Follow-up CALL", "record_id": bolt}),
    )
    .await;
    note_as(
        app,
        &ann_key,
        json!({"title": "Board etiquette", "pipeline_id": b.pipeline_id}),
    )
    .await;
    note(
        app,
        json!({"title": "Quarterly plan", "body": "5000 upfront"}),
    )
    .await;

    let f = |filter: &'static str| async move {
        let r = list(app, "/notes", &[("filter", filter), ("sort", "title")]).await;
        titles(&r)
    };
    assert_eq!(
        f("title contains \"call\"").await,
        ["Follow-up CALL", "Kickoff call"]
    );
    assert_eq!(f("title startswith \"k\"").await, ["Kickoff call"]);
    assert_eq!(f("body contains \"50%\"").await, ["Kickoff call"]);
    assert_eq!(
        f("body contains \"upfront\"").await,
        ["Kickoff call", "Quarterly plan"]
    );
    assert_eq!(
        f("record.title eq \"Acme Roofing\"").await,
        ["Kickoff call"]
    );
    assert_eq!(
        f("record.title contains \"electric\"").await,
        ["Follow-up CALL"]
    );
    assert_eq!(
        f("pipeline.slug eq \"main-sales\"").await,
        ["Board etiquette"]
    );
    assert_eq!(
        f("pipeline.name eq \"Main Sales\"").await,
        ["Board etiquette"]
    );
    assert_eq!(
        f("record_id isnull and pipeline_id isnull").await,
        ["Quarterly plan"]
    );
    assert_eq!(
        f("record_id isnotnull").await,
        ["Follow-up CALL", "Kickoff call"]
    );
    assert_eq!(
        f("author_id eq me.id").await,
        ["Kickoff call", "Quarterly plan"]
    );
    assert_eq!(
        f("not title contains \"call\" or title eq \"Kickoff call\"").await,
        ["Board etiquette", "Kickoff call", "Quarterly plan"]
    );
    let by_ann = list(
        app,
        "/notes",
        &[
            ("filter", &format!("author.email eq \"{ann_email}\"")),
            ("sort", "title"),
        ],
    )
    .await;
    assert_eq!(titles(&by_ann), ["Board etiquette", "Follow-up CALL"]);
    let by_me = list(
        app,
        "/notes",
        &[
            ("filter", &format!("author_id eq \"{me}\"")),
            ("sort", "-title"),
        ],
    )
    .await;
    assert_eq!(titles(&by_me), ["Quarterly plan", "Kickoff call"]);
    // The JSON form.
    let j = list(
        app,
        "/notes",
        &[(
            "filter",
            &json!({"field": "record.title", "op": "eq", "value": "Bolt Electric"}).to_string(),
        )],
    )
    .await;
    assert_eq!(titles(&j), ["Follow-up CALL"]);

    // Sorts.
    let r = list(app, "/notes", &[("sort", "-title")]).await;
    assert_eq!(
        titles(&r),
        [
            "Quarterly plan",
            "Kickoff call",
            "Follow-up CALL",
            "Board etiquette"
        ]
    );
    let r = list(app, "/notes", &[("sort", "created_at")]).await;
    assert_eq!(
        titles(&r),
        [
            "Kickoff call",
            "Follow-up CALL",
            "Board etiquette",
            "Quarterly plan"
        ]
    );

    // Errors name the culprit.
    for (k, v, culprit) in [
        ("filter", "titel eq \"x\"", "titel"),
        ("filter", "title eq", "eq"),
        ("filter", "created_at contains \"x\"", "contains"),
        ("filter", "stage.slug eq \"new\"", "stage.slug"),
        ("sort", "bogus", "bogus"),
        ("sort", "body", "body"),
    ] {
        let r = try_list(app, "/notes", &[(k, v)]).await;
        assert_eq!(r.status, 400, "{k}={v}: {}", r.text);
        r.error_code();
        assert!(
            r.body["error"].as_str().unwrap().contains(culprit),
            "{k}={v}: {}",
            r.text
        );
    }
});

backend_test!(note_list_cursor_pagination, |app| async move {
    let rec = s(&app.lead("r").await["id"]);
    let mut all = Vec::new();
    let mut on_rec = Vec::new();
    for i in 0..7 {
        let body = if i % 2 == 0 {
            json!({"title": format!("note {}", 7 - i), "record_id": rec})
        } else {
            json!({"title": format!("note {}", 7 - i)})
        };
        let n = note(app, body).await;
        if i % 2 == 0 {
            on_rec.push(s(&n["id"]));
        }
        all.push(s(&n["id"]));
    }
    let newest_first: Vec<String> = all.iter().rev().cloned().collect();
    assert_eq!(walk_cursor(app, "/notes", &[], 3).await, newest_first);
    assert_eq!(walk_cursor(app, "/notes", &[], 7).await, newest_first);
    assert_eq!(
        walk_cursor(app, "/notes", &[("sort", "created_at")], 2).await,
        all
    );
    // Titles are "note 7" .. "note 1" in creation order, so by title it is oldest-last.
    assert_eq!(
        walk_cursor(app, "/notes", &[("sort", "title")], 3).await,
        newest_first
    );
    let rec_newest: Vec<String> = on_rec.iter().rev().cloned().collect();
    assert_eq!(
        walk_cursor(app, "/notes", &[("record_id", &rec)], 2).await,
        rec_newest
    );
    assert_eq!(
        walk_cursor(
            app,
            "/notes",
            &[("filter", "record_id isnull"), ("sort", "-created_at")],
            2
        )
        .await,
        newest_first
            .iter()
            .filter(|i| !on_rec.contains(i))
            .cloned()
            .collect::<Vec<_>>()
    );

    // A cursor is bound to its sort and parameters; garbage is a 400.
    let first = list(app, "/notes", &[("page[size]", "2")]).await;
    let c = s(&first.body["meta"]["next_cursor"]);
    for q in [
        vec![("page[cursor]", c.as_str()), ("sort", "title")],
        vec![("page[cursor]", c.as_str()), ("record_id", rec.as_str())],
        vec![("page[cursor]", "garbage")],
    ] {
        let r = try_list(app, "/notes", &q).await;
        assert_eq!(r.status, 400, "{q:?}: {}", r.text);
        r.error_code();
    }
    // The cursor of another list is refused too.
    let t = task(app, json!({"title": "t"})).await;
    let _ = t;
    let r = try_list(app, "/records/tasks", &[("page[cursor]", c.as_str())]).await;
    assert_eq!(r.status, 400, "{}", r.text);
});

// ---- comments ----------------------------------------------------------------------------------

backend_test!(comment_on_record, |app| async move {
    let me = member_of(app, &app.token).await;
    let rec = s(&app.lead("Smith").await["id"]);
    let path = format!("/records/{rec}/comments");

    let c = app
        .post(&path, json!({"body": "Called, no answer."}), 201)
        .await;
    assert!(c.header("etag").is_some());
    let c = c.data().clone();
    assert_eq!(keys_of(&c), COMMENT_KEYS);
    assert_eq!(c["body"], "Called, no answer.");
    assert_eq!(c["author_id"], me.as_str());
    assert_eq!(c["record_id"], rec.as_str());
    assert_eq!(c["task_id"], Value::Null);
    assert!(is_timestamp(&c["created_at"]));
    assert_eq!(c["created_at"], c["updated_at"]);
    let cid = s(&c["id"]);
    assert!(uuid::Uuid::parse_str(&cid).is_ok());

    let g = app.get(&format!("{path}/{cid}"), 200).await;
    assert_eq!(g.data(), &c);
    assert!(g.header("etag").is_some());

    let evs = events_of(app, &cid).await;
    assert_eq!(names(&evs), ["comment.created"]);
    assert_eq!(evs[0].1, c);

    // Another author, via their own key.
    let ann = new_member(app, "Ann").await;
    let ann_key = write_key_for(app, &ann).await;
    let c2 = app
        .expect(
            app.req_as(&ann_key, Method::POST, &path)
                .json(&json!({"body": "I'll try again tomorrow."})),
            201,
        )
        .await;
    assert_eq!(c2.data()["author_id"], ann.as_str());
    assert_eq!(c2.data()["record_id"], rec.as_str());

    // Oldest first.
    let l = list(app, &path, &[]).await;
    assert_eq!(
        bodies(&l),
        ["Called, no answer.", "I'll try again tomorrow."]
    );
    assert_eq!(
        l.body["meta"],
        json!({"total": 2, "page": 1, "per_page": 50})
    );
    assert_eq!(l.data()[0], c);

    // A comment is only found under its own record.
    let other = s(&app.lead("Other").await["id"]);
    assert_not_found(
        &app.get(&format!("/records/{other}/comments/{cid}"), 404)
            .await,
    );
    assert_eq!(
        list(app, &format!("/records/{other}/comments"), &[])
            .await
            .body["meta"]["total"],
        0
    );
    // Nor under a task path, nor as an unknown or garbage id.
    let t = s(&task(app, json!({"title": "t", "record_id": rec})).await["id"]);
    assert_not_found(
        &app.get(&format!("/records/tasks/{t}/comments/{cid}"), 404)
            .await,
    );
    assert_not_found(
        &app.get(&format!("{path}/{}", uuid::Uuid::now_v7()), 404)
            .await,
    );
    assert_not_found(&app.get(&format!("{path}/garbage"), 404).await);
    // Comments on a task of the record are not the record's comments.
    app.post(
        &format!("/records/tasks/{t}/comments"),
        json!({"body": "on the task"}),
        201,
    )
    .await;
    assert_eq!(list(app, &path, &[]).await.body["meta"]["total"], 2);
});

backend_test!(comment_on_task, |app| async move {
    let me = member_of(app, &app.token).await;
    let rec = s(&app.lead("Smith").await["id"]);
    let t = s(&task(app, json!({"title": "Follow up", "record_id": rec})).await["id"]);
    let standalone = s(&task(app, json!({"title": "Standalone"})).await["id"]);
    let path = format!("/records/tasks/{t}/comments");

    let c = app
        .post(&path, json!({"body": "Done by Friday?"}), 201)
        .await;
    let c = c.data().clone();
    assert_eq!(keys_of(&c), COMMENT_KEYS);
    assert_eq!(c["body"], "Done by Friday?");
    assert_eq!(c["author_id"], me.as_str());
    assert_eq!(c["task_id"], t.as_str());
    assert_eq!(c["record_id"], Value::Null);
    assert_eq!(c["created_at"], c["updated_at"]);
    let cid = s(&c["id"]);
    assert_eq!(app.get(&format!("{path}/{cid}"), 200).await.data(), &c);
    let evs = events_of(app, &cid).await;
    assert_eq!(names(&evs), ["comment.created"]);
    assert_eq!(evs[0].1, c);

    let c2 = app.post(&path, json!({"body": "Yes."}), 201).await;
    assert_eq!(
        bodies(&list(app, &path, &[]).await),
        ["Done by Friday?", "Yes."]
    );

    // Comments on a standalone task.
    let sp = format!("/records/tasks/{standalone}/comments");
    let sc = app.post(&sp, json!({"body": "alone"}), 201).await;
    assert_eq!(sc.data()["task_id"], standalone.as_str());
    assert_eq!(bodies(&list(app, &sp, &[]).await), ["alone"]);

    // A task's comment is not found under another task, nor under the task's record.
    assert_not_found(&app.get(&format!("{sp}/{cid}"), 404).await);
    assert_not_found(
        &app.get(&format!("/records/{rec}/comments/{cid}"), 404)
            .await,
    );
    assert_eq!(
        list(app, &format!("/records/{rec}/comments"), &[])
            .await
            .body["meta"]["total"],
        0
    );
    // A record id is not a task id, and vice versa.
    assert_not_found(
        &app.post(
            &format!("/records/tasks/{rec}/comments"),
            json!({"body": "x"}),
            404,
        )
        .await,
    );
    assert_not_found(
        &app.post(&format!("/records/{t}/comments"), json!({"body": "x"}), 404)
            .await,
    );
    let _ = c2;
});

backend_test!(comment_validation_and_missing_parents, |app| async move {
    let rec = s(&app.lead("r").await["id"]);
    let t = s(&task(app, json!({"title": "t"})).await["id"]);
    for path in [
        format!("/records/{rec}/comments"),
        format!("/records/tasks/{t}/comments"),
    ] {
        for body in [
            json!({"body": ""}),
            json!({"body": "   "}),
            json!({"body": "\n\t "}),
            json!({"body": null}),
            json!({"body": 5}),
            json!({}),
            json!({"body": "x".repeat(20_001)}),
        ] {
            let r = app.post(&path, body.clone(), 400).await;
            assert_field(&r, "body");
        }
        let r = app
            .post(
                &path,
                json!({"body": "x", "author_id": uuid::Uuid::now_v7()}),
                400,
            )
            .await;
        assert_field(&r, "author_id");
        let r = app
            .post(&path, json!({"body": "x", "record_id": rec}), 400)
            .await;
        assert_field(&r, "record_id");
        assert_eq!(list(app, &path, &[]).await.body["meta"]["total"], 0);
        // The limit is in characters.
        let c = app
            .post(&path, json!({"body": "é".repeat(20_000)}), 201)
            .await;
        assert_eq!(c.data()["body"].as_str().unwrap().chars().count(), 20_000);
    }
    let created = app
        .events()
        .await
        .iter()
        .filter(|(n, _)| n == "comment.created")
        .count();
    assert_eq!(created, 2, "failed writes stored no event");

    // Unknown or garbage parents → 404 for create, list and get.
    let random = uuid::Uuid::now_v7().to_string();
    for parent in [
        format!("/records/{random}"),
        format!("/records/tasks/{random}"),
        "/records/garbage".to_string(),
        "/records/tasks/garbage".to_string(),
    ] {
        let path = format!("{parent}/comments");
        assert_not_found(&app.post(&path, json!({"body": "hi"}), 404).await);
        assert_not_found(&app.get(&path, 404).await);
        assert_not_found(&app.get(&format!("{path}/{random}"), 404).await);
    }

    // A deleted record or task: its comments are gone with it, and it takes no more.
    let gone = s(&app.lead("gone").await["id"]);
    let gp = format!("/records/{gone}/comments");
    let gc = s(&app.post(&gp, json!({"body": "before"}), 201).await.data()["id"]);
    app.delete(&format!("/records/{gone}"), 200).await;
    assert_not_found(&app.post(&gp, json!({"body": "after"}), 404).await);
    assert_not_found(&app.get(&gp, 404).await);
    assert_not_found(&app.get(&format!("{gp}/{gc}"), 404).await);

    let gt = s(&task(app, json!({"title": "gone"})).await["id"]);
    let gtp = format!("/records/tasks/{gt}/comments");
    let gtc = s(&app.post(&gtp, json!({"body": "before"}), 201).await.data()["id"]);
    app.delete(&format!("/records/tasks/{gt}"), 200).await;
    assert_not_found(&app.post(&gtp, json!({"body": "after"}), 404).await);
    assert_not_found(&app.get(&gtp, 404).await);
    assert_not_found(&app.get(&format!("{gtp}/{gtc}"), 404).await);

    let created = app
        .events()
        .await
        .iter()
        .filter(|(n, _)| n == "comment.created")
        .count();
    assert_eq!(created, 4);
});

backend_test!(comments_are_immutable, |app| async move {
    let rec = s(&app.lead("r").await["id"]);
    let t = s(&task(app, json!({"title": "t"})).await["id"]);
    for parent in [format!("/records/{rec}"), format!("/records/tasks/{t}")] {
        let path = format!("{parent}/comments");
        let c = app.post(&path, json!({"body": "first"}), 201).await;
        let one = format!("{path}/{}", s(&c.data()["id"]));
        for (m, p) in [
            (Method::PATCH, one.as_str()),
            (Method::PUT, one.as_str()),
            (Method::DELETE, one.as_str()),
            (Method::POST, one.as_str()),
            (Method::PUT, path.as_str()),
            (Method::PATCH, path.as_str()),
            (Method::DELETE, path.as_str()),
        ] {
            let r = app
                .expect(app.req(m.clone(), p).json(&json!({"body": "edited"})), 405)
                .await;
            assert_eq!(r.error_code(), "method_not_allowed", "{m} {p}");
        }
        let g = app.get(&one, 200).await;
        assert_eq!(g.data(), c.data());
        assert_eq!(bodies(&list(app, &path, &[]).await), ["first"]);
    }
    let evs = app.events().await;
    assert!(evs
        .iter()
        .all(|(n, _)| !n.starts_with("comment.") || n == "comment.created"));
});

backend_test!(comment_list_filter_sort_and_cursor, |app| async move {
    let rec = s(&app.lead("r").await["id"]);
    let path = format!("/records/{rec}/comments");
    let ann = new_member(app, "Ann").await;
    let ann_email = email_of(app, &ann).await;
    let ann_key = write_key_for(app, &ann).await;
    let mut all = Vec::new();
    for i in 0..7 {
        let body =
            json!({"body": format!("comment {i}{}", if i % 3 == 0 { " urgent" } else { "" })});
        let r = if i % 2 == 0 {
            app.post(&path, body, 201).await
        } else {
            app.expect(app.req_as(&ann_key, Method::POST, &path).json(&body), 201)
                .await
        };
        all.push(s(&r.data()["id"]));
    }
    let newest: Vec<String> = all.iter().rev().cloned().collect();

    assert_eq!(ids(&list(app, &path, &[]).await), all, "oldest first");
    assert_eq!(
        ids(&list(app, &path, &[("sort", "-created_at")]).await),
        newest
    );
    let r = list(app, &path, &[("page", "2"), ("per_page", "3")]).await;
    assert_eq!(ids(&r), all[3..6]);
    assert_eq!(
        r.body["meta"],
        json!({"total": 7, "page": 2, "per_page": 3})
    );

    let r = list(app, &path, &[("filter", "body contains \"URGENT\"")]).await;
    assert_eq!(ids(&r), [all[0].clone(), all[3].clone(), all[6].clone()]);
    let r = list(
        app,
        &path,
        &[("filter", &format!("author.email eq \"{ann_email}\""))],
    )
    .await;
    assert_eq!(ids(&r), [all[1].clone(), all[3].clone(), all[5].clone()]);
    let r = list(
        app,
        &path,
        &[("filter", "author_id eq me.id and body contains \"urgent\"")],
    )
    .await;
    assert_eq!(ids(&r), [all[0].clone(), all[6].clone()]);

    // Cursor mode, both directions.
    assert_eq!(walk_cursor(app, &path, &[], 3).await, all);
    assert_eq!(
        walk_cursor(app, &path, &[("sort", "-created_at")], 2).await,
        newest
    );
    assert_eq!(
        walk_cursor(
            app,
            &path,
            &[("filter", &format!("author_id eq \"{ann}\""))],
            2
        )
        .await,
        [all[1].clone(), all[3].clone(), all[5].clone()]
    );

    // Task comments list the same way.
    let t = s(&task(app, json!({"title": "t"})).await["id"]);
    let tp = format!("/records/tasks/{t}/comments");
    let mut tall = Vec::new();
    for i in 0..4 {
        tall.push(s(&app
            .post(&tp, json!({"body": format!("t{i}")}), 201)
            .await
            .data()["id"]));
    }
    assert_eq!(ids(&list(app, &tp, &[]).await), tall);
    assert_eq!(walk_cursor(app, &tp, &[], 3).await, tall);

    // A cursor of one record's comments is refused on another's.
    let first = list(app, &path, &[("page[size]", "2")]).await;
    let c = s(&first.body["meta"]["next_cursor"]);
    let other = s(&app.lead("other").await["id"]);
    let r = try_list(
        app,
        &format!("/records/{other}/comments"),
        &[("page[cursor]", &c)],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);

    // Errors.
    for (k, v, culprit) in [
        ("filter", "title eq \"x\"", "title"),
        ("filter", "record_id eq \"x\"", "record_id"),
        ("sort", "body", "body"),
        ("sort", "nope", "nope"),
        ("page[cursor]", "garbage", "cursor"),
    ] {
        let r = try_list(app, &path, &[(k, v)]).await;
        assert_eq!(r.status, 400, "{k}={v}: {}", r.text);
        r.error_code();
        assert!(
            r.body["error"].as_str().unwrap().contains(culprit),
            "{k}={v}: {}",
            r.text
        );
    }
});

// ---- isolation, scopes, documentation ----------------------------------------------------------

backend_test!(other_workspace_sees_nothing, |app| async move {
    let b = board(app).await;
    let rec = s(&app.lead("mine").await["id"]);
    let t = s(&task(app, json!({"title": "mine"})).await["id"]);
    let n = note(app, json!({"title": "mine", "record_id": rec})).await;
    let nid = s(&n["id"]);
    let pn = note(app, json!({"title": "board", "pipeline_id": b.pipeline_id})).await;
    let rc = s(&app
        .post(
            &format!("/records/{rec}/comments"),
            json!({"body": "mine"}),
            201,
        )
        .await
        .data()["id"]);
    let tc = s(&app
        .post(
            &format!("/records/tasks/{t}/comments"),
            json!({"body": "mine"}),
            201,
        )
        .await
        .data()["id"]);

    let other = app.other_workspace().await;
    let as_other = |m: Method, p: &str| app.req_as(&other, m, p);

    // Notes: invisible and untouchable.
    let r = app
        .expect(as_other(Method::GET, &format!("/notes/{nid}")), 404)
        .await;
    assert_not_found(&r);
    app.expect(
        as_other(Method::PATCH, &format!("/notes/{nid}")).json(&json!({"title": "theirs"})),
        404,
    )
    .await;
    app.expect(as_other(Method::DELETE, &format!("/notes/{nid}")), 404)
        .await;
    let l = app.expect(as_other(Method::GET, "/notes"), 200).await;
    assert_eq!(l.body["meta"]["total"], 0, "{}", l.text);
    let l = app
        .expect(
            as_other(Method::GET, "/notes").query(&[("record_id", &rec)]),
            200,
        )
        .await;
    assert_eq!(l.body["meta"]["total"], 0);
    let l = app
        .expect(
            as_other(Method::GET, "/notes").query(&[("pipeline_id", &b.pipeline_id)]),
            200,
        )
        .await;
    assert_eq!(l.body["meta"]["total"], 0);
    // Nor can they hang a note on our record or board.
    let r = app
        .expect(
            as_other(Method::POST, "/notes").json(&json!({"record_id": rec})),
            400,
        )
        .await;
    assert_field(&r, "record_id");
    let r = app
        .expect(
            as_other(Method::POST, "/notes").json(&json!({"pipeline_id": b.pipeline_id})),
            400,
        )
        .await;
    assert_field(&r, "pipeline_id");

    // Comments: our record and task are unknown to them.
    for parent in [format!("/records/{rec}"), format!("/records/tasks/{t}")] {
        let path = format!("{parent}/comments");
        app.expect(as_other(Method::GET, &path), 404).await;
        app.expect(
            as_other(Method::POST, &path).json(&json!({"body": "theirs"})),
            404,
        )
        .await;
    }
    app.expect(
        as_other(Method::GET, &format!("/records/{rec}/comments/{rc}")),
        404,
    )
    .await;
    app.expect(
        as_other(Method::GET, &format!("/records/tasks/{t}/comments/{tc}")),
        404,
    )
    .await;

    // Their own note on their own record does not show up for us, nor ours for them.
    let theirs_rec = app
        .expect(
            as_other(Method::POST, "/records").json(&json!({"type": "lead", "title": "theirs"})),
            201,
        )
        .await;
    let trec = s(&theirs_rec.data()["id"]);
    let tn = note_as(app, &other, json!({"title": "theirs", "record_id": trec})).await;
    let tcom = app
        .expect(
            as_other(Method::POST, &format!("/records/{trec}/comments"))
                .json(&json!({"body": "theirs"})),
            201,
        )
        .await;
    let l = app.expect(as_other(Method::GET, "/notes"), 200).await;
    assert_eq!(ids(&l), [s(&tn["id"])]);
    let mine = list(app, "/notes", &[]).await;
    assert_eq!(sorted(ids(&mine)), sorted(vec![nid.clone(), s(&pn["id"])]));
    app.get(&format!("/notes/{}", s(&tn["id"])), 404).await;
    app.get(&format!("/records/{trec}/comments"), 404).await;
    app.get(
        &format!("/records/{trec}/comments/{}", s(&tcom.data()["id"])),
        404,
    )
    .await;
    // Our note cannot be moved onto their record.
    let r = app
        .patch(&format!("/notes/{nid}"), json!({"record_id": trec}), 400)
        .await;
    assert_field(&r, "record_id");

    // Our data is untouched, and their events are not ours.
    assert_eq!(app.get(&format!("/notes/{nid}"), 200).await.data(), &n);
    assert_eq!(
        bodies(&list(app, &format!("/records/{rec}/comments"), &[]).await),
        ["mine"]
    );
    assert!(events_of(app, &s(&tn["id"])).await.is_empty());
});

backend_test!(read_key_cannot_write_notes_or_comments, |app| async move {
    let read = app.key("read").await;
    let write = app.key("write").await;
    let rec = s(&app.lead("r").await["id"]);
    let t = s(&task(app, json!({"title": "t"})).await["id"]);
    let n = note(app, json!({"title": "n"})).await;
    let np = format!("/notes/{}", s(&n["id"]));
    let rp = format!("/records/{rec}/comments");
    let tp = format!("/records/tasks/{t}/comments");

    // Reading is fine.
    for p in ["/notes", np.as_str(), rp.as_str(), tp.as_str()] {
        app.expect(app.req_as(&read, Method::GET, p), 200).await;
    }
    // Writing is 403.
    for (m, p, body) in [
        (Method::POST, "/notes", json!({"title": "x"})),
        (Method::PATCH, np.as_str(), json!({"title": "x"})),
        (Method::DELETE, np.as_str(), json!({})),
        (Method::POST, rp.as_str(), json!({"body": "x"})),
        (Method::POST, tp.as_str(), json!({"body": "x"})),
    ] {
        let r = app
            .expect(app.req_as(&read, m.clone(), p).json(&body), 403)
            .await;
        r.error_code();
    }
    assert_eq!(list(app, "/notes", &[]).await.body["meta"]["total"], 1);
    assert_eq!(app.get(&np, 200).await.data(), &n);
    assert_eq!(list(app, &rp, &[]).await.body["meta"]["total"], 0);
    assert_eq!(list(app, &tp, &[]).await.body["meta"]["total"], 0);

    // A write key can.
    let w = note_as(app, &write, json!({"title": "w"})).await;
    app.expect(
        app.req_as(&write, Method::PATCH, &np)
            .json(&json!({"title": "renamed"})),
        200,
    )
    .await;
    app.expect(
        app.req_as(&write, Method::POST, &rp)
            .json(&json!({"body": "x"})),
        201,
    )
    .await;
    app.expect(
        app.req_as(&write, Method::POST, &tp)
            .json(&json!({"body": "x"})),
        201,
    )
    .await;
    app.expect(
        app.req_as(&write, Method::DELETE, &format!("/notes/{}", s(&w["id"]))),
        200,
    )
    .await;
    // No key at all → 401.
    let r = app.send(app.client.get(app.url("/notes"))).await;
    assert_eq!(r.status.as_u16(), 401, "{}", r.text);
    let r = app
        .send(app.client.post(app.url(&rp)).json(&json!({"body": "x"})))
        .await;
    assert_eq!(r.status.as_u16(), 401, "{}", r.text);
});

backend_test!(note_create_is_idempotent, |app| async move {
    let body = json!({"title": "Once", "body": "only"});
    let first = app
        .expect(
            app.req(Method::POST, "/notes")
                .header("Idempotency-Key", "note-1")
                .json(&body),
            201,
        )
        .await;
    let again = app
        .expect(
            app.req(Method::POST, "/notes")
                .header("Idempotency-Key", "note-1")
                .json(&body),
            201,
        )
        .await;
    assert_eq!(first.data(), again.data());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(list(app, "/notes", &[]).await.body["meta"]["total"], 1);
    let created = app
        .events()
        .await
        .iter()
        .filter(|(n, _)| n == "note.created")
        .count();
    assert_eq!(created, 1);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_notes_and_comments() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let r = app
        .send(app.client.request(Method::GET, app.url("/openapi.json")))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let paths = &r.body["paths"];
    for (path, methods) in [
        ("/notes", &["get", "post"][..]),
        ("/notes/{id}", &["get", "patch", "delete"][..]),
        ("/records/{id}/comments", &["get", "post"][..]),
        ("/records/tasks/{id}/comments", &["get", "post"][..]),
        ("/records/{id}/comments/{comment_id}", &["get"][..]),
        ("/records/tasks/{id}/comments/{comment_id}", &["get"][..]),
    ] {
        let item = paths[path]
            .as_object()
            .unwrap_or_else(|| panic!("{path} is not documented"));
        for m in methods {
            assert!(item.contains_key(*m), "{path}: no {m}");
        }
        // Comments cannot be changed, so no such operation is documented.
        for m in ["put", "patch", "delete"] {
            if path.contains("comments") {
                assert!(!item.contains_key(m), "{path}: {m} documented");
            }
        }
    }
    let q = |path: &str| -> Vec<String> {
        paths[path]["get"]["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .filter(|p| p["in"] == "query")
                    .filter_map(|p| p["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let notes_q = q("/notes");
    for p in ["record_id", "pipeline_id", "filter", "sort"] {
        assert!(
            notes_q.iter().any(|x| x == p),
            "GET /notes: no {p}: {notes_q:?}"
        );
    }
    let comments_q = q("/records/{id}/comments");
    for p in ["filter", "sort"] {
        assert!(
            comments_q.iter().any(|x| x == p),
            "comments: no {p}: {comments_q:?}"
        );
    }
    app.stop().await;
}

// ---- robustness and concurrency ----------------------------------------------------------------

backend_test!(unstorable_and_odd_input_is_a_400, |app| async move {
    let rec = s(&app.lead("r").await["id"]);
    let n = note(app, json!({"title": "n"})).await;
    let np = format!("/notes/{}", s(&n["id"]));
    let cp = format!("/records/{rec}/comments");
    for (path, method, body, field) in [
        ("/notes", Method::POST, json!({"title": "a\u{0}b"}), "title"),
        ("/notes", Method::POST, json!({"body": "a\u{0}b"}), "body"),
        (
            np.as_str(),
            Method::PATCH,
            json!({"title": "a\u{0}b"}),
            "title",
        ),
        (np.as_str(), Method::PATCH, json!({"body": "\u{0}"}), "body"),
        (
            cp.as_str(),
            Method::POST,
            json!({"body": "a\u{0}b"}),
            "body",
        ),
    ] {
        let r = app
            .expect(app.req(method.clone(), path).json(&body), 400)
            .await;
        assert_field(&r, field);
    }
    // Malformed JSON, and a body that is not JSON.
    for path in ["/notes", cp.as_str()] {
        let r = app
            .expect(
                app.req(Method::POST, path)
                    .header("Content-Type", "application/json")
                    .body("{\"body\": "),
                400,
            )
            .await;
        r.error_code();
        let r = app
            .expect(
                app.req(Method::POST, path)
                    .header("Content-Type", "text/plain")
                    .body("hello"),
                415,
            )
            .await;
        r.error_code();
    }
    // Unicode round-trips untouched.
    let text = "Ünïcødé ✓ — 日本語 🙂\n\ttabbed";
    let u = note(app, json!({"title": "☃ snow", "body": text})).await;
    assert_eq!(u["title"], "☃ snow");
    assert_eq!(u["body"], text);
    let c = app.post(&cp, json!({"body": text}), 201).await;
    assert_eq!(c.data()["body"], text);
    assert_eq!(
        app.get(&format!("{cp}/{}", s(&c.data()["id"])), 200)
            .await
            .data()["body"],
        text
    );
    // per_page is clamped.
    let r = list(app, "/notes", &[("per_page", "1000")]).await;
    assert_eq!(r.body["meta"]["per_page"], 100);
    let r = list(app, &cp, &[("per_page", "1000")]).await;
    assert_eq!(r.body["meta"]["per_page"], 100);
});

/// Fires `n` POSTs of `body` at `path` at once; returns the statuses and bodies.
async fn concurrently(app: &TestApp, path: &str, bodies: Vec<Value>) -> Vec<(u16, Value)> {
    let mut set = tokio::task::JoinSet::new();
    for body in bodies {
        let rb = app.req(Method::POST, path).json(&body);
        set.spawn(async move {
            let r = rb.send().await.expect("sent");
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap_or(Value::Null);
            (status, v)
        });
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.expect("task"));
    }
    out
}

backend_test!(concurrent_creates_all_land, |app| async move {
    let rec = s(&app.lead("busy").await["id"]);
    let t = s(&task(app, json!({"title": "busy"})).await["id"]);
    let cp = format!("/records/{rec}/comments");
    let tp = format!("/records/tasks/{t}/comments");
    let n = 12;
    let mk = |prefix: &str| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"body": format!("{prefix} {i}"), "title": format!("{prefix} {i}")}))
            .collect()
    };
    let strip_title = |v: Vec<Value>| -> Vec<Value> {
        v.into_iter()
            .map(|mut b| {
                b.as_object_mut().unwrap().remove("title");
                b
            })
            .collect()
    };
    let (a, b, c) = tokio::join!(
        concurrently(app, &cp, strip_title(mk("rc"))),
        concurrently(app, &tp, strip_title(mk("tc"))),
        concurrently(app, "/notes", mk("note")),
    );
    for (status, body) in a.iter().chain(b.iter()).chain(c.iter()) {
        assert_eq!(*status, 201, "{body}");
    }
    let rl = list(app, &cp, &[]).await;
    assert_eq!(rl.body["meta"]["total"], n);
    let tl = list(app, &tp, &[]).await;
    assert_eq!(tl.body["meta"]["total"], n);
    let nl = list(app, "/notes", &[]).await;
    assert_eq!(nl.body["meta"]["total"], n);
    // Oldest first means ascending created_at (ties by id).
    let created: Vec<(String, String)> = rl
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (s(&c["created_at"]), s(&c["id"])))
        .collect();
    let mut by_time = created.clone();
    by_time.sort();
    assert_eq!(created, by_time);
    let evs = app.events().await;
    let count = |name: &str| evs.iter().filter(|(e, _)| e == name).count();
    assert_eq!(count("comment.created"), 2 * n);
    assert_eq!(count("note.created"), n);
});

backend_test!(pipeline_deletion_racing_note_writes, |app| async move {
    let (pid, _) = pipeline(app, "Racing").await;
    let loose = note(app, json!({"title": "loose"})).await;
    let existing = note(app, json!({"title": "existing", "pipeline_id": pid})).await;
    let del = app.req(Method::DELETE, &format!("/schema/pipelines/{pid}"));
    let mv = app
        .req(Method::PATCH, &format!("/notes/{}", s(&loose["id"])))
        .json(&json!({"pipeline_id": pid}));
    let bodies: Vec<Value> = (0..10)
        .map(|i| json!({"title": format!("racer {i}"), "pipeline_id": pid}))
        .collect();
    let (creates, deleted, moved) = tokio::join!(
        concurrently(app, "/notes", bodies),
        async move { del.send().await.expect("sent").status().as_u16() },
        async move {
            let r = mv.send().await.expect("sent");
            let st = r.status().as_u16();
            (st, r.json::<Value>().await.unwrap_or(Value::Null))
        },
    );
    assert_eq!(deleted, 200);
    let mut landed = vec![s(&existing["id"])];
    for (status, body) in &creates {
        match status {
            201 => landed.push(s(&body["data"]["id"])),
            400 => assert_eq!(body["details"]["field"], "pipeline_id", "{body}"),
            other => panic!("create answered {other}: {body}"),
        }
    }
    match moved.0 {
        200 => landed.push(s(&loose["id"])),
        400 => assert_eq!(moved.1["details"]["field"], "pipeline_id", "{}", moved.1),
        other => panic!("move answered {other}: {}", moved.1),
    }
    // No live note is left on the deleted pipeline; each that landed was deleted with it.
    assert_eq!(
        list(app, "/notes", &[("pipeline_id", &pid)]).await.body["meta"]["total"],
        0
    );
    let evs = app.events().await;
    for id in &landed {
        app.get(&format!("/notes/{id}"), 404).await;
        let mine: Vec<&str> = evs
            .iter()
            .filter(|(_, d)| d["id"] == id.as_str())
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(mine.last(), Some(&"note.deleted"), "{id}: {mine:?}");
    }
    let deleted_events = evs.iter().filter(|(n, _)| n == "note.deleted").count();
    assert_eq!(deleted_events, landed.len());
    if moved.0 == 400 {
        assert_eq!(
            app.get(&format!("/notes/{}", s(&loose["id"])), 200)
                .await
                .data(),
            &loose
        );
    }
});

backend_test!(
    note_cursor_walks_agree_with_offset_on_nullable_sorts,
    |app| async move {
        let b = board(app).await;
        let r1 = s(&app.lead("one").await["id"]);
        let r2 = s(&app.lead("two").await["id"]);
        let ann = new_member(app, "Ann").await;
        let ann_key = write_key_for(app, &ann).await;
        let mut all = Vec::new();
        for i in 0..11 {
            let place = match i % 4 {
                0 => json!({"record_id": r1}),
                1 => json!({"pipeline_id": b.pipeline_id}),
                2 => json!({"record_id": r2}),
                _ => json!({}),
            };
            let mut body = place;
            body["title"] = json!(format!("t{}", i % 3));
            let n = if i % 2 == 0 {
                note(app, body).await
            } else {
                note_as(app, &ann_key, body).await
            };
            all.push(s(&n["id"]));
        }
        for sort in [
            "record_id",
            "-record_id",
            "pipeline_id,title",
            "-pipeline_id,-title",
            "author_id,-created_at",
            "title,-updated_at",
            "-id",
        ] {
            let offset = ids(&list(app, "/notes", &[("sort", sort), ("per_page", "100")]).await);
            assert_eq!(sorted(offset.clone()), sorted(all.clone()), "{sort}");
            for size in [1, 3, 4] {
                let walked = walk_cursor(app, "/notes", &[("sort", sort)], size).await;
                assert_eq!(walked, offset, "sort {sort}, size {size}");
            }
        }
        // Sorting by a nullable id puts the notes with one together.
        let by_rec = list(app, "/notes", &[("sort", "record_id"), ("per_page", "100")]).await;
        let recs: Vec<Value> = by_rec
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["record_id"].clone())
            .collect();
        let firsts: Vec<&Value> = recs.iter().filter(|v| !v.is_null()).collect();
        let mut ordered = firsts.clone();
        ordered.sort_by_key(|v| v.as_str().unwrap().to_string());
        assert_eq!(firsts, ordered);
        let nulls_at: Vec<usize> = recs
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_null())
            .map(|(i, _)| i)
            .collect();
        let contiguous = nulls_at.windows(2).all(|w| w[1] == w[0] + 1);
        assert!(contiguous, "nulls are not together: {recs:?}");
    }
);

backend_test!(odd_list_parameters_are_never_a_500, |app| async move {
    let rec = s(&app.lead("Acme").await["id"]);
    note(app, json!({"title": "x", "record_id": rec})).await;
    app.post(
        &format!("/records/{rec}/comments"),
        json!({"body": "hello"}),
        201,
    )
    .await;
    let cp = format!("/records/{rec}/comments");
    for filter in [
        "record_id eq \"nope\"",
        "record_id eq 5",
        "record_id in ()",
        "record_id in (\"nope\", null)",
        "pipeline_id eq null",
        "record.title eq 5",
        "record.title in ()",
        "pipeline.slug like \"%\"",
        "author.name contains \"\"",
        "author.email isnull",
        "created_at gt \"yesterday\"",
        "created_at gt today-3d",
        "updated_at lte now",
        "title eq me.id",
        "title contains \"%_\\\\\"",
        "body like \"%\"",
        "id eq \"00000000-0000-0000-0000-000000000000\"",
        "not not not title isnull",
        "((((title eq \"x\"))))",
        "title eq \"x\" and",
        "data.foo eq 1",
        "{\"field\": \"title\", \"op\": \"eq\"}",
        "[]",
        "{}",
        "\u{0}",
    ] {
        for path in ["/notes", cp.as_str()] {
            let r = try_list(app, path, &[("filter", filter)]).await;
            assert!(
                r.status == 200 || r.status == 400,
                "{path} filter {filter:?}: {} {}",
                r.status,
                r.text
            );
            if r.status == 400 {
                r.error_code();
            }
        }
    }
    for (k, v) in [
        ("sort", ""),
        ("sort", ","),
        ("sort", "-"),
        ("sort", "record.title"),
        ("sort", "title,title"),
        ("page[size]", "0"),
        ("page[size]", "-1"),
        ("page[size]", "1000"),
        ("page[cursor]", ""),
        ("page", "99999999999999999999"),
        ("per_page", "abc"),
        ("record_id", ""),
        ("pipeline_id", " "),
    ] {
        for path in ["/notes", cp.as_str()] {
            let r = try_list(app, path, &[(k, v)]).await;
            assert!(
                r.status == 200 || r.status == 400,
                "{path} {k}={v:?}: {} {}",
                r.status,
                r.text
            );
        }
    }
    // Filters that are fine evaluate as expected.
    let r = list(
        app,
        "/notes",
        &[("filter", "record.title in (\"Acme\", \"Other\")")],
    )
    .await;
    assert_eq!(r.body["meta"]["total"], 1);
    let r = list(app, "/notes", &[("filter", "record.title in ()")]).await;
    assert_eq!(r.body["meta"]["total"], 0);
    let r = list(app, &cp, &[("filter", "created_at gt today-3d")]).await;
    assert_eq!(r.body["meta"]["total"], 1);
});

backend_test!(
    events_endpoint_selects_note_and_comment_events,
    |app| async move {
        let rec = s(&app.lead("r").await["id"]);
        let n = note(app, json!({"title": "n", "record_id": rec})).await;
        let nid = s(&n["id"]);
        app.patch(&format!("/notes/{nid}"), json!({"title": "m"}), 200)
            .await;
        let c = app
            .post(
                &format!("/records/{rec}/comments"),
                json!({"body": "c"}),
                201,
            )
            .await;
        let cid = s(&c.data()["id"]);
        app.delete(&format!("/notes/{nid}"), 200).await;

        let names_of = |r: &Resp| -> Vec<String> {
            r.data()
                .as_array()
                .unwrap_or_else(|| panic!("{}", r.text))
                .iter()
                .map(|e| s(&e["event"]))
                .collect()
        };
        let r = list(
            app,
            "/events",
            &[(
                "event",
                "note.created,note.updated,note.deleted,comment.created",
            )],
        )
        .await;
        assert_eq!(
            names_of(&r),
            [
                "note.deleted",
                "comment.created",
                "note.updated",
                "note.created"
            ]
        );
        for e in r.data().as_array().unwrap() {
            let id = e["id"].as_str().unwrap();
            let one = app.get(&format!("/events/{id}"), 200).await;
            assert_eq!(one.data(), e);
            let mut k = keys_of(e);
            k.sort();
            assert_eq!(k, ["data", "event", "id", "timestamp", "workspace_id"]);
            assert!(is_timestamp(&e["timestamp"]));
        }
        let r = list(app, "/events", &[("event", "comment.created")]).await;
        assert_eq!(r.data().as_array().unwrap().len(), 1);
        assert_eq!(r.data()[0]["data"], *c.data());
        let r = list(
            app,
            "/events",
            &[("filter", &format!("resource_id eq \"{nid}\""))],
        )
        .await;
        assert_eq!(
            names_of(&r),
            ["note.deleted", "note.updated", "note.created"]
        );
        let r = list(
            app,
            "/events",
            &[("filter", "resource_type eq \"comment\"")],
        )
        .await;
        assert_eq!(names_of(&r), ["comment.created"]);
        assert_eq!(r.data()[0]["data"]["id"], cid.as_str());
    }
);
