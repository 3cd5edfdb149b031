//! `/members` and `/keys` (spec §3).

use reqwest::Method;
use serde_json::{json, Value};

use crate::backend_test;
use crate::support::TestApp;

async fn owner_id(app: &TestApp) -> String {
    app.get("/me", 200).await.data()["member"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn new_member(app: &TestApp, name: &str, email: &str, role: Option<&str>) -> Value {
    let mut body = json!({"name": name, "email": email});
    if let Some(r) = role {
        body["role"] = json!(r);
    }
    app.post("/members", body, 201).await.data().clone()
}

/// Every string in a JSON tree, and every object key.
fn walk<'a>(v: &'a Value, strings: &mut Vec<&'a str>, keys: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => strings.push(s),
        Value::Array(a) => a.iter().for_each(|x| walk(x, strings, keys)),
        Value::Object(o) => {
            for (k, x) in o {
                keys.push(k);
                walk(x, strings, keys);
            }
        }
        _ => {}
    }
}

/// Asserts a key listing never shows the token (or anything containing it) or a hash.
fn assert_no_secret(v: &Value, token: &str) {
    let (mut strings, mut keys) = (vec![], vec![]);
    walk(v, &mut strings, &mut keys);
    for s in strings {
        assert!(!s.contains(token), "token leaked in {v}");
        // Nor its secret part without the `lw_live_` prefix.
        assert!(
            !s.contains(&token["lw_live_".len()..]),
            "secret leaked in {v}"
        );
    }
    for k in keys {
        assert!(
            k != "token" && k != "token_hash" && k != "hash",
            "field {k} in {v}"
        );
    }
}

backend_test!(members_list_and_get, |app| async move {
    let read = app.key("read").await;
    let r = app.send(app.req_as(&read, Method::GET, "/members")).await;
    assert_eq!(
        r.status.as_u16(),
        200,
        "read scope lists members: {}",
        r.text
    );
    assert_eq!(
        r.body["meta"],
        json!({"total": 1, "page": 1, "per_page": 50})
    );
    let owner = &r.data()[0];
    assert_eq!(owner["role"], "owner");
    for f in ["id", "name", "email", "role", "created_at", "updated_at"] {
        assert!(!owner[f].is_null(), "member lacks {f}: {owner}");
    }
    assert!(owner.get("password_hash").is_none());

    let ann = new_member(app, "Ann", "ann@example.com", None).await;
    let bob = new_member(app, "Bob", "bob@example.com", Some("admin")).await;
    let list = app.get("/members?per_page=2&page=2", 200).await;
    assert_eq!(list.body["meta"]["total"], 3);
    assert_eq!(list.data().as_array().unwrap().len(), 1);
    assert_eq!(list.data()[0]["id"], bob["id"], "oldest first");

    let id = ann["id"].as_str().unwrap();
    let g = app.get(&format!("/members/{id}"), 200).await;
    assert_eq!(g.data(), &ann);
    assert!(g.header("etag").is_some());
    let r = app
        .send(app.req_as(&read, Method::GET, &format!("/members/{id}")))
        .await;
    assert_eq!(r.status.as_u16(), 200);
    let r = app
        .get(&format!("/members/{}", uuid::Uuid::now_v7()), 404)
        .await;
    assert_eq!(r.error_code(), "not_found");
    app.get("/members/not-a-uuid", 404).await;
});

backend_test!(member_create_validates, |app| async move {
    let ann = new_member(app, "  Ann Lee ", "Ann.Lee@Example.COM", None).await;
    assert_eq!(ann["name"], "Ann Lee", "name is trimmed");
    assert_eq!(ann["email"], "ann.lee@example.com", "email is lowercased");
    assert_eq!(ann["role"], "member", "role defaults to member");
    assert!(laneway_core::ids::parse_uuid(ann["id"].as_str().unwrap()).is_some());
    let owner2 = new_member(app, "Olga", "olga@example.com", Some("owner")).await;
    assert_eq!(owner2["role"], "owner");

    for (body, field) in [
        (json!({"name": "", "email": "x@example.com"}), "name"),
        (json!({"name": "   ", "email": "x@example.com"}), "name"),
        (
            json!({"name": "x".repeat(201), "email": "x@example.com"}),
            "name",
        ),
        (json!({"name": "X", "email": "not-an-email"}), "email"),
        (json!({"name": "X", "email": "a@b"}), "email"),
        (json!({"name": "X", "email": "a b@example.com"}), "email"),
        (json!({"name": "X", "email": ""}), "email"),
        (json!({"email": "x@example.com"}), "name"),
        (json!({"name": "X"}), "email"),
        (
            json!({"name": "X", "email": "x@example.com", "role": "god"}),
            "role",
        ),
        (
            json!({"name": "X", "email": "x@example.com", "nick": "x"}),
            "nick",
        ),
    ] {
        let r = app.post("/members", body.clone(), 400).await;
        r.error_code();
        assert_eq!(r.body["details"]["field"], field, "{body}: {}", r.text);
    }

    // Duplicate email, whatever its case → 409.
    for dup in [
        "ann.lee@example.com",
        "ANN.LEE@example.com",
        " Ann.Lee@example.com ",
    ] {
        let r = app
            .post("/members", json!({"name": "Twin", "email": dup}), 409)
            .await;
        assert_eq!(r.error_code(), "conflict");
    }
    // Also against the bootstrap owner.
    app.post(
        "/members",
        json!({"name": "Twin", "email": "OWNER@laneway.local"}),
        409,
    )
    .await;
    assert_eq!(app.get("/members", 200).await.body["meta"]["total"], 3);
});

backend_test!(member_patch_rules, |app| async move {
    let owner = owner_id(app).await;
    let ann = new_member(app, "Ann", "ann@example.com", None).await;
    let id = ann["id"].as_str().unwrap().to_string();

    let r = app
        .patch(
            &format!("/members/{id}"),
            json!({"name": "Ann B", "role": "admin"}),
            200,
        )
        .await;
    assert_eq!(r.data()["name"], "Ann B");
    assert_eq!(r.data()["role"], "admin");
    assert_eq!(r.data()["email"], "ann@example.com");
    assert_eq!(
        app.get(&format!("/members/{id}"), 200).await.data(),
        r.data()
    );

    // Email clash (any case) → 409, and nothing changes.
    let r = app
        .patch(
            &format!("/members/{id}"),
            json!({"email": "Owner@Laneway.local"}),
            409,
        )
        .await;
    assert_eq!(r.error_code(), "conflict");
    let r = app
        .patch(&format!("/members/{id}"), json!({"email": "bad"}), 400)
        .await;
    assert_eq!(r.body["details"]["field"], "email");
    assert_eq!(
        app.get(&format!("/members/{id}"), 200).await.data()["email"],
        "ann@example.com"
    );
    // Changing only the case of one's own email is not a clash.
    let r = app
        .patch(
            &format!("/members/{id}"),
            json!({"email": "ANN@example.com"}),
            200,
        )
        .await;
    assert_eq!(r.data()["email"], "ann@example.com");

    // The last owner cannot be demoted.
    for role in ["admin", "member"] {
        let r = app
            .patch(&format!("/members/{owner}"), json!({"role": role}), 409)
            .await;
        assert_eq!(r.error_code(), "conflict");
    }
    assert_eq!(
        app.get(&format!("/members/{owner}"), 200).await.data()["role"],
        "owner"
    );
    // Re-stating owner is fine.
    app.patch(&format!("/members/{owner}"), json!({"role": "owner"}), 200)
        .await;
    // With a second owner, the first may step down, and then the second is the last.
    app.patch(&format!("/members/{id}"), json!({"role": "owner"}), 200)
        .await;
    let r = app
        .patch(&format!("/members/{owner}"), json!({"role": "admin"}), 200)
        .await;
    assert_eq!(r.data()["role"], "admin");
    app.patch(&format!("/members/{id}"), json!({"role": "member"}), 409)
        .await;

    // Unknown member → 404.
    app.patch(
        &format!("/members/{}", uuid::Uuid::now_v7()),
        json!({"name": "x"}),
        404,
    )
    .await;
});

backend_test!(member_delete_unassigns_and_revokes, |app| async move {
    let owner = owner_id(app).await;
    // The last owner cannot be deleted.
    let r = app.delete(&format!("/members/{owner}"), 409).await;
    assert_eq!(r.error_code(), "conflict");

    let ann = new_member(app, "Ann", "ann@example.com", None).await;
    let id = ann["id"].as_str().unwrap().to_string();
    let k = app
        .post(
            "/keys",
            json!({"name": "ann's", "scope": "write", "member_id": id}),
            201,
        )
        .await;
    let ann_token = k.data()["token"].as_str().unwrap().to_string();
    let ann_key = k.data()["id"].as_str().unwrap().to_string();
    assert_eq!(k.data()["member_id"], id.as_str());
    let me = app.send(app.req_as(&ann_token, Method::GET, "/me")).await;
    assert_eq!(me.status.as_u16(), 200);
    assert_eq!(me.data()["member"]["id"], id.as_str());

    let rec = app
        .post(
            "/records",
            json!({"type": "lead", "title": "Ann's lead", "assignee_id": id}),
            201,
        )
        .await;
    let rid = rec.data()["id"].as_str().unwrap().to_string();
    let other = app
        .post(
            "/records",
            json!({"type": "lead", "title": "Owner's lead", "assignee_id": owner}),
            201,
        )
        .await;
    let task = app
        .post(
            "/records/tasks",
            json!({"title": "Ann's task", "assignee_id": id, "record_id": rid}),
            201,
        )
        .await;
    let tid = task.data()["id"].as_str().unwrap().to_string();
    let before = app.events().await.len();

    let r = app.delete(&format!("/members/{id}"), 200).await;
    assert_eq!(r.data(), &json!({"deleted": true, "id": id}));

    // Gone from GET and the list.
    app.get(&format!("/members/{id}"), 404).await;
    let list = app.get("/members", 200).await;
    assert_eq!(list.body["meta"]["total"], 1);
    assert!(!list.text.contains(&id));

    // Unassigned.
    let g = app.get(&format!("/records/{rid}"), 200).await;
    assert!(g.data()["assignee_id"].is_null(), "{}", g.text);
    let t = app.get(&format!("/records/tasks/{tid}"), 200).await;
    assert!(t.data()["assignee_id"].is_null(), "{}", t.text);
    // Others' assignments are kept.
    let o = app
        .get(
            &format!("/records/{}", other.data()["id"].as_str().unwrap()),
            200,
        )
        .await;
    assert_eq!(o.data()["assignee_id"], owner.as_str());

    // With update events carrying the change.
    let events = app.events().await;
    let new: Vec<&(String, Value)> = events[before..].iter().collect();
    let names: Vec<&str> = new.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, ["record.updated", "task.updated"], "{new:?}");
    assert_eq!(new[0].1["id"], rid.as_str());
    assert_eq!(
        new[0].1["changes"]["assignee_id"],
        json!({"old": id, "new": null})
    );
    assert!(new[0].1["assignee_id"].is_null());
    assert_eq!(new[1].1["id"], tid.as_str());
    assert_eq!(
        new[1].1["changes"]["assignee_id"],
        json!({"old": id, "new": null})
    );

    // Their keys are revoked: 401, and the key lists as revoked.
    let r = app.send(app.req_as(&ann_token, Method::GET, "/me")).await;
    assert_eq!(r.status.as_u16(), 401);
    assert_eq!(r.error_code(), "unauthorized");
    let kg = app.get(&format!("/keys/{ann_key}"), 200).await;
    assert!(kg.data()["revoked_at"].is_string(), "{}", kg.text);

    // Deleting again is 404; the member can no longer be assigned.
    app.delete(&format!("/members/{id}"), 404).await;
    let r = app
        .post("/records", json!({"type": "lead", "assignee_id": id}), 400)
        .await;
    assert_eq!(r.body["details"]["field"], "assignee_id");
    // Their email is free again.
    new_member(app, "Ann again", "ann@example.com", None).await;
});

backend_test!(deleting_an_owner_needs_another_owner, |app| async move {
    let owner = owner_id(app).await;
    let olga = new_member(app, "Olga", "olga@example.com", Some("owner")).await;
    let oid = olga["id"].as_str().unwrap().to_string();
    app.delete(&format!("/members/{oid}"), 200).await;
    // Olga is gone, so the bootstrap owner is the last again.
    app.delete(&format!("/members/{owner}"), 409).await;
    app.patch(&format!("/members/{owner}"), json!({"role": "member"}), 409)
        .await;
});

backend_test!(keys_show_the_token_once, |app| async move {
    let r = app
        .post("/keys", json!({"name": "CI", "scope": "write"}), 201)
        .await;
    let d = r.data().clone();
    let token = d["token"].as_str().unwrap().to_string();
    let id = d["id"].as_str().unwrap().to_string();
    assert!(token.starts_with("lw_live_"), "{token}");
    assert!(token.len() >= 40, "{token}");
    assert!(id.starts_with("key_"), "{id}");
    assert_eq!(d["name"], "CI");
    assert_eq!(d["scope"], "write");
    assert_eq!(d["member_id"].as_str().unwrap(), owner_id(app).await);
    assert!(d["revoked_at"].is_null());
    assert!(token.starts_with(d["prefix"].as_str().unwrap()));
    assert!(d.get("token_hash").is_none());

    // Name defaults from the scope.
    let unnamed = app.post("/keys", json!({"scope": "read"}), 201).await;
    assert_eq!(unnamed.data()["name"], "read key");
    let unnamed_token = unnamed.data()["token"].as_str().unwrap().to_string();

    // Never again: not in the list, not in GET, and no hash either.
    let list = app.get("/keys", 200).await;
    assert_eq!(list.body["meta"]["total"], 3);
    assert_no_secret(&list.body, &token);
    assert_no_secret(&list.body, &unnamed_token);
    assert_no_secret(&list.body, &app.token);
    let listed = list
        .data()
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .expect("new key listed")
        .clone();
    assert_eq!(listed["name"], "CI");
    let g = app.get(&format!("/keys/{id}"), 200).await;
    assert_no_secret(&g.body, &token);
    assert!(g.header("etag").is_some());
    assert_eq!(g.data()["id"], id.as_str());
    assert_eq!(g.data()["scope"], "write");
    // The hash of the token is nowhere either.
    let hash = laneway_server::auth::hash_token(&token);
    assert!(!list.text.contains(&hash) && !g.text.contains(&hash));
    // Nor in the events.
    let ev = app.get("/events", 200).await;
    assert!(!ev.text.contains(&token));
});

backend_test!(new_keys_work_with_their_scope, |app| async move {
    let read = app.post("/keys", json!({"scope": "read"}), 201).await;
    let read = read.data()["token"].as_str().unwrap().to_string();
    let write = app.post("/keys", json!({"scope": "write"}), 201).await;
    let write = write.data()["token"].as_str().unwrap().to_string();
    let admin = app.post("/keys", json!({"scope": "admin"}), 201).await;
    let admin = admin.data()["token"].as_str().unwrap().to_string();

    let post = |t: &str| {
        app.req_as(t, Method::POST, "/records")
            .json(&json!({"type": "lead"}))
    };
    let keys = |t: &str| app.req_as(t, Method::GET, "/keys");
    assert_eq!(app.send(post(&read)).await.status.as_u16(), 403);
    assert_eq!(app.send(post(&write)).await.status.as_u16(), 201);
    assert_eq!(app.send(post(&admin)).await.status.as_u16(), 201);
    assert_eq!(app.send(keys(&read)).await.status.as_u16(), 403);
    assert_eq!(app.send(keys(&write)).await.status.as_u16(), 403);
    assert_eq!(app.send(keys(&admin)).await.status.as_u16(), 200);
    for t in [&read, &write, &admin] {
        let me = app.send(app.req_as(t, Method::GET, "/me")).await;
        assert_eq!(me.status.as_u16(), 200);
    }
    let me = app.send(app.req_as(&write, Method::GET, "/me")).await;
    assert_eq!(me.data()["scope"], "write");
});

backend_test!(key_delete_revokes, |app| async move {
    let r = app.post("/keys", json!({"scope": "admin"}), 201).await;
    let token = r.data()["token"].as_str().unwrap().to_string();
    let id = r.data()["id"].as_str().unwrap().to_string();
    let me = app.send(app.req_as(&token, Method::GET, "/me")).await;
    assert_eq!(me.status.as_u16(), 200);
    assert_eq!(me.data()["key_id"], id.as_str());

    let d = app.delete(&format!("/keys/{id}"), 200).await;
    assert_eq!(d.data(), &json!({"deleted": true, "id": id}));
    let r = app.send(app.req_as(&token, Method::GET, "/me")).await;
    assert_eq!(r.status.as_u16(), 401);
    assert_eq!(r.error_code(), "unauthorized");
    let g = app.get(&format!("/keys/{id}"), 200).await;
    assert!(g.data()["revoked_at"].is_string(), "{}", g.text);
    // The admin key in use is untouched.
    app.get("/me", 200).await;
});

backend_test!(key_errors, |app| async move {
    for id in [
        "key_doesnotexist".to_string(),
        "nope".to_string(),
        uuid::Uuid::now_v7().to_string(),
    ] {
        let r = app.get(&format!("/keys/{id}"), 404).await;
        assert_eq!(r.error_code(), "not_found");
        let r = app.delete(&format!("/keys/{id}"), 404).await;
        assert_eq!(r.error_code(), "not_found");
    }

    // member_id of another workspace (or nobody) → 400 naming member_id.
    let other = app.other_workspace().await;
    let other_me = app.send(app.req_as(&other, Method::GET, "/me")).await;
    let other_member = other_me.data()["member"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for mid in [other_member, uuid::Uuid::now_v7().to_string()] {
        let r = app
            .post("/keys", json!({"scope": "read", "member_id": mid}), 400)
            .await;
        assert_eq!(r.body["details"]["field"], "member_id", "{}", r.text);
    }
    // Bad scope, missing scope, unknown field, long name.
    let r = app.post("/keys", json!({"scope": "root"}), 400).await;
    assert_eq!(r.body["details"]["field"], "scope");
    let r = app.post("/keys", json!({"name": "x"}), 400).await;
    assert_eq!(r.body["details"]["field"], "scope");
    let r = app
        .post(
            "/keys",
            json!({"scope": "read", "token": "lw_live_mine"}),
            400,
        )
        .await;
    assert_eq!(r.body["details"]["field"], "token");
    app.post(
        "/keys",
        json!({"scope": "read", "name": "n".repeat(101)}),
        400,
    )
    .await;
    // Only the bootstrap key exists.
    assert_eq!(app.get("/keys", 200).await.body["meta"]["total"], 1);
});

backend_test!(concurrent_demotions_keep_an_owner, |app| async move {
    let owner = owner_id(app).await;
    for round in 0..8 {
        let other = new_member(
            app,
            "Co-owner",
            &format!("co{round}@example.com"),
            Some("owner"),
        )
        .await;
        let oid = other["id"].as_str().unwrap().to_string();
        // Two admins each demote a different owner at the same time: at most one may win.
        let a = app.send(
            app.req(Method::PATCH, &format!("/members/{owner}"))
                .json(&json!({"role": "admin"})),
        );
        let b = app.send(
            app.req(Method::PATCH, &format!("/members/{oid}"))
                .json(&json!({"role": "admin"})),
        );
        let (ra, rb) = tokio::join!(a, b);
        let ok = [&ra, &rb]
            .iter()
            .filter(|r| r.status.as_u16() == 200)
            .count();
        for r in [&ra, &rb] {
            assert!(
                matches!(r.status.as_u16(), 200 | 409),
                "round {round}: {} {}",
                r.status,
                r.text
            );
        }
        let list = app.get("/members?per_page=100", 200).await;
        let owners: Vec<&Value> = list
            .data()
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] == "owner")
            .collect();
        assert_eq!(owners.len(), 1, "round {round}: {ok} demotions succeeded");
        // Restore: the bootstrap member is owner again, the co-owner is removed.
        app.patch(&format!("/members/{owner}"), json!({"role": "owner"}), 200)
            .await;
        app.delete(&format!("/members/{oid}"), 200).await;
    }
});

backend_test!(concurrent_owner_deletions_keep_an_owner, |app| async move {
    let owner = owner_id(app).await;
    for round in 0..6 {
        let x = new_member(app, "X", &format!("x{round}@example.com"), Some("owner")).await;
        let y = new_member(app, "Y", &format!("y{round}@example.com"), Some("owner")).await;
        // The bootstrap member steps down, leaving X and Y as the only owners.
        app.patch(&format!("/members/{owner}"), json!({"role": "admin"}), 200)
            .await;
        let (rx, ry) = tokio::join!(
            app.send(app.req(
                Method::DELETE,
                &format!("/members/{}", x["id"].as_str().unwrap())
            )),
            app.send(app.req(
                Method::DELETE,
                &format!("/members/{}", y["id"].as_str().unwrap())
            )),
        );
        let mut codes = [rx.status.as_u16(), ry.status.as_u16()];
        codes.sort();
        assert_eq!(
            codes,
            [200, 409],
            "round {round}: {} / {}",
            rx.text,
            ry.text
        );
        let list = app.get("/members?per_page=100", 200).await;
        let owners = list
            .data()
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] == "owner")
            .count();
        assert_eq!(owners, 1, "round {round}");
        // Restore: bootstrap owner again, the remaining co-owner removed.
        app.patch(&format!("/members/{owner}"), json!({"role": "owner"}), 200)
            .await;
        let left = if rx.status.as_u16() == 200 { &y } else { &x };
        app.delete(&format!("/members/{}", left["id"].as_str().unwrap()), 200)
            .await;
    }
});
