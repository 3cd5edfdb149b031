//! `/contracts` and the public signing link (spec §7).

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::backend_test;
use crate::receiver::{assert_signed, Hit, Receiver};
use crate::records::{events_of, ids, is_timestamp, names, s};
use crate::support::{Backend, Resp, TestApp};
use crate::webhooks::{fast, webhook_test};

// ---- helpers ---------------------------------------------------------------------------------

const CONTRACT_KEYS: &[&str] = &[
    "body",
    "created_at",
    "id",
    "record_id",
    "sent_at",
    "signed_at",
    "signer_name",
    "status",
    "title",
    "updated_at",
];

const PUBLIC_KEYS: &[&str] = &["body", "id", "signed_at", "signer_name", "status", "title"];

const LINK_PREFIX: &str = "/api/v1/public/contracts/";

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

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn ts(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().unwrap_or_else(|| panic!("{v}")), &Rfc3339)
        .unwrap_or_else(|e| panic!("{v}: {e}"))
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

/// A 409 in the error envelope.
fn assert_conflict(r: &Resp) {
    assert_eq!(r.status.as_u16(), 409, "{}", r.text);
    r.error_code();
}

/// `POST /contracts`; the draft as answered.
async fn contract(app: &TestApp, record: &str, title: &str) -> Value {
    app.post(
        "/contracts",
        json!({"record_id": record, "title": title, "body": format!("Terms of {title}")}),
        201,
    )
    .await
    .data()
    .clone()
}

async fn get_contract(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/contracts/{id}"), 200)
        .await
        .data()
        .clone()
}

/// `POST /contracts/:id/send`; the answer's data.
async fn send(app: &TestApp, id: &str) -> Value {
    app.post(&format!("/contracts/{id}/send"), json!({}), 200)
        .await
        .data()
        .clone()
}

/// The path of a signing URL under the API base (`/public/contracts/<token>`).
fn link_path(url: &Value) -> String {
    let url = url
        .as_str()
        .unwrap_or_else(|| panic!("signing_url is not a string: {url}"));
    let i = url
        .find(LINK_PREFIX)
        .unwrap_or_else(|| panic!("not a signing URL: {url}"));
    format!("/public/contracts/{}", &url[i + LINK_PREFIX.len()..])
}

/// Sends a contract and returns the path of its signing link.
async fn send_link(app: &TestApp, id: &str) -> String {
    link_path(&send(app, id).await["signing_url"])
}

/// `GET` the link, with no `Authorization` header.
async fn public_get(app: &TestApp, link: &str) -> Resp {
    app.send(app.client.request(Method::GET, app.url(link)))
        .await
}

/// `POST <link>/sign`, with no `Authorization` header.
async fn public_sign(app: &TestApp, link: &str, body: Value) -> Resp {
    app.send(
        app.client
            .request(Method::POST, app.url(&format!("{link}/sign")))
            .json(&body),
    )
    .await
}

async fn sign_ok(app: &TestApp, link: &str, name: &str) -> Value {
    let r = public_sign(app, link, json!({ "signer_name": name })).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.body["success"], true, "{}", r.text);
    r.data().clone()
}

async fn list(app: &TestApp, q: &[(&str, &str)]) -> Resp {
    app.expect(app.req(Method::GET, "/contracts").query(q), 200)
        .await
}

async fn try_list(app: &TestApp, q: &[(&str, &str)]) -> Resp {
    app.send(app.req(Method::GET, "/contracts").query(q)).await
}

fn titles(r: &Resp) -> Vec<String> {
    r.data()
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {}", r.text))
        .iter()
        .map(|x| s(&x["title"]))
        .collect()
}

/// Walks `/contracts` in cursor mode with `page[size]=size` following `next_cursor`, checking
/// `meta` and `links` on every page, then walks back with `prev_cursor`. Returns every id.
async fn walk_cursor(app: &TestApp, q: &[(&str, &str)], size: usize) -> Vec<String> {
    let mut base: Vec<(String, String)> = q
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    base.push(("page[size]".into(), size.to_string()));
    let mut pages: Vec<(Vec<String>, Option<String>)> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut qq = base.clone();
        if let Some(c) = &cursor {
            qq.push(("page[cursor]".into(), c.clone()));
        }
        let r = app
            .expect(app.req(Method::GET, "/contracts").query(&qq), 200)
            .await;
        let meta = &r.body["meta"];
        assert_eq!(meta["path"], "/api/v1/contracts", "{}", r.text);
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
    let mut i = pages.len() - 1;
    while let Some(p) = pages[i].1.clone() {
        i -= 1;
        let mut qq = base.clone();
        qq.push(("page[cursor]".into(), p));
        let r = app
            .expect(app.req(Method::GET, "/contracts").query(&qq), 200)
            .await;
        assert_eq!(ids(&r), pages[i].0, "backward page {i}");
    }
    assert_eq!(i, 0, "walking back stopped early");
    pages.into_iter().flat_map(|(p, _)| p).collect()
}

/// The events named `event` whose data is the contract `id`.
async fn count_events(app: &TestApp, event: &str, id: &str) -> usize {
    events_of(app, id)
        .await
        .iter()
        .filter(|(n, _)| n == event)
        .count()
}

// ---- create and read -----------------------------------------------------------------------

backend_test!(create_and_get, |app| async move {
    let rec = app.lead("Smith Residence").await;
    let rid = s(&rec["id"]);
    let r = app
        .post(
            "/contracts",
            json!({"record_id": rid, "title": "  Roof repair  ", "body": "  Net 30.\nNo refunds.  "}),
            201,
        )
        .await;
    assert!(r.header("etag").is_some(), "create has no ETag");
    let c = r.data().clone();
    assert_eq!(keys_of(&c), CONTRACT_KEYS);
    let id = s(&c["id"]);
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(c["record_id"], rid.as_str());
    assert_eq!(c["title"], "Roof repair", "the title is trimmed");
    assert_eq!(
        c["body"], "  Net 30.\nNo refunds.  ",
        "the body is kept as sent"
    );
    assert_eq!(c["status"], "draft");
    for k in ["signer_name", "signed_at", "sent_at"] {
        assert_eq!(c[k], Value::Null, "{k}");
    }
    assert!(is_timestamp(&c["created_at"]), "{}", c["created_at"]);
    assert_eq!(c["created_at"], c["updated_at"]);

    let g = app.get(&format!("/contracts/{id}"), 200).await;
    assert_eq!(g.data(), &c);
    assert_eq!(g.header("etag"), r.header("etag"));

    let evs = events_of(app, &id).await;
    assert_eq!(names(&evs), ["contract.created"]);
    assert_eq!(evs[0].1, c);

    // Without a body: an empty one.
    let bare = app
        .post(
            "/contracts",
            json!({"record_id": rid, "title": "Bare"}),
            201,
        )
        .await;
    assert_eq!(bare.data()["body"], "");
    assert_eq!(keys_of(bare.data()), CONTRACT_KEYS);

    // Unicode round-trips; the title limit counts characters, not bytes.
    let long = "é".repeat(1000);
    let u = app
        .post(
            "/contracts",
            json!({"record_id": rid, "title": long, "body": "日本語 🙂"}),
            201,
        )
        .await;
    assert_eq!(u.data()["title"], long.as_str());
    assert_eq!(u.data()["body"], "日本語 🙂");
    let big = "b".repeat(200_000);
    let b = app
        .post(
            "/contracts",
            json!({"record_id": rid, "title": "Big", "body": big}),
            201,
        )
        .await;
    assert_eq!(b.data()["body"].as_str().unwrap().len(), 200_000);
    assert_eq!(list(app, &[]).await.body["meta"]["total"], 4);
});

backend_test!(create_validation_names_the_field, |app| async move {
    let rid = s(&app.lead("r").await["id"]);
    // record_id: missing, unknown, malformed, a deleted record, another workspace's record.
    let random = uuid::Uuid::now_v7().to_string();
    for body in [
        json!({}),
        json!({"title": "x"}),
        json!({"record_id": random, "title": "x"}),
        json!({"record_id": "abc", "title": "x"}),
        json!({"record_id": null, "title": "x"}),
        json!({"record_id": 7, "title": "x"}),
    ] {
        let r = app.post("/contracts", body.clone(), 400).await;
        assert_field(&r, "record_id");
    }
    let gone = s(&app.lead("gone").await["id"]);
    app.delete(&format!("/records/{gone}"), 200).await;
    let r = app
        .post("/contracts", json!({"record_id": gone, "title": "x"}), 400)
        .await;
    assert_field(&r, "record_id");
    let other = app.other_workspace().await;
    let theirs = app
        .expect(
            app.req_as(&other, Method::POST, "/records")
                .json(&json!({"type": "lead", "title": "theirs"})),
            201,
        )
        .await;
    let r = app
        .post(
            "/contracts",
            json!({"record_id": theirs.data()["id"], "title": "x"}),
            400,
        )
        .await;
    assert_field(&r, "record_id");

    // title: missing, empty, blank, null, not a string, too long.
    for body in [
        json!({"record_id": rid}),
        json!({"record_id": rid, "title": ""}),
        json!({"record_id": rid, "title": "  \t "}),
        json!({"record_id": rid, "title": null}),
        json!({"record_id": rid, "title": 7}),
        json!({"record_id": rid, "title": "x".repeat(1001)}),
    ] {
        let r = app.post("/contracts", body.clone(), 400).await;
        assert_field(&r, "title");
    }
    // body: too long, not a string.
    for body in [
        json!({"record_id": rid, "title": "x", "body": "b".repeat(200_001)}),
        json!({"record_id": rid, "title": "x", "body": 5}),
    ] {
        let r = app.post("/contracts", body, 400).await;
        assert_field(&r, "body");
    }
    // Unknown fields, including the ones the server sets.
    for field in ["status", "signer_name", "sent_at", "id", "colour"] {
        let mut body = json!({"record_id": rid, "title": "x"});
        body[field] = json!("signed");
        let r = app.post("/contracts", body, 400).await;
        assert_field(&r, field);
    }
    // Not JSON.
    let r = app
        .expect(
            app.req(Method::POST, "/contracts")
                .header("Content-Type", "application/json")
                .body("{\"record_id\": "),
            400,
        )
        .await;
    r.error_code();
    let r = app
        .expect(
            app.req(Method::POST, "/contracts")
                .header("Content-Type", "text/plain")
                .body("hello"),
            415,
        )
        .await;
    r.error_code();

    // Nothing was created.
    assert_eq!(list(app, &[]).await.body["meta"]["total"], 0);
    assert!(app
        .events()
        .await
        .iter()
        .all(|(n, _)| !n.starts_with("contract.")));
});

backend_test!(unknown_ids_are_404, |app| async move {
    let random = uuid::Uuid::now_v7().to_string();
    for id in [
        random.as_str(),
        "abc",
        "1",
        "00000000-0000-0000-0000-00000000000g",
    ] {
        let p = format!("/contracts/{id}");
        assert_not_found(&app.get(&p, 404).await);
        assert_not_found(&app.patch(&p, json!({"title": "x"}), 404).await);
        assert_not_found(&app.patch(&p, json!({"status": "void"}), 404).await);
        assert_not_found(&app.delete(&p, 404).await);
        assert_not_found(&app.post(&format!("{p}/send"), json!({}), 404).await);
    }
    // A deleted contract is gone for every operation.
    let rid = s(&app.lead("r").await["id"]);
    let c = contract(app, &rid, "Short-lived").await;
    let p = format!("/contracts/{}", s(&c["id"]));
    app.delete(&p, 200).await;
    assert_not_found(&app.get(&p, 404).await);
    assert_not_found(&app.patch(&p, json!({"title": "x"}), 404).await);
    assert_not_found(&app.delete(&p, 404).await);
    assert_not_found(&app.post(&format!("{p}/send"), json!({}), 404).await);
    assert_eq!(list(app, &[]).await.body["meta"]["total"], 0);
});

// ---- the life of a contract ------------------------------------------------------------------

backend_test!(send_and_sign, |app| async move {
    let rid = s(&app.lead("Smith").await["id"]);
    let c = contract(app, &rid, "Service agreement").await;
    let id = s(&c["id"]);

    let r = app
        .post(&format!("/contracts/{id}/send"), json!({}), 200)
        .await;
    assert_eq!(r.body["success"], true);
    let sent = r.data().clone();
    let mut want: Vec<String> = CONTRACT_KEYS.iter().map(|k| k.to_string()).collect();
    want.extend(["signing_expires_at".to_string(), "signing_url".to_string()]);
    assert_eq!(keys_of(&sent), sorted(want));
    assert_eq!(sent["id"], id.as_str());
    assert_eq!(sent["status"], "sent");
    assert_eq!(sent["title"], c["title"]);
    assert_eq!(sent["body"], c["body"]);
    assert_eq!(sent["record_id"], c["record_id"]);
    assert_eq!(sent["created_at"], c["created_at"]);
    assert_eq!(sent["signer_name"], Value::Null);
    assert_eq!(sent["signed_at"], Value::Null);
    assert!(is_timestamp(&sent["sent_at"]), "{}", sent["sent_at"]);
    assert_eq!(sent["updated_at"], sent["sent_at"]);
    assert!(ts(&sent["sent_at"]) >= ts(&c["created_at"]));
    assert!(is_timestamp(&sent["signing_expires_at"]));
    assert_eq!(
        ts(&sent["signing_expires_at"]) - ts(&sent["sent_at"]),
        time::Duration::days(30)
    );
    // The link is on the host the caller used.
    let url = s(&sent["signing_url"]);
    let prefix = format!("{}/public/contracts/", app.base);
    assert!(
        url.starts_with(&prefix),
        "{url} does not start with {prefix}"
    );
    let token = &url[prefix.len()..];
    assert!(token.starts_with("lwsign_"), "{token}");
    let secret = &token["lwsign_".len()..];
    assert!(
        secret.len() >= 32 && secret.chars().all(|c| c.is_ascii_alphanumeric()),
        "{token}"
    );
    assert!(
        !url.contains(&id),
        "the link must not reveal the contract id"
    );

    // The contract as the API shows it: sent, without the link.
    let g = get_contract(app, &id).await;
    assert_eq!(keys_of(&g), CONTRACT_KEYS);
    let mut expect = sent.clone();
    let obj = expect.as_object_mut().unwrap();
    obj.remove("signing_url");
    obj.remove("signing_expires_at");
    assert_eq!(g, expect);
    assert!(!g.to_string().contains(token), "GET reveals the token");

    // The holder of the link reads it, with no key.
    let link = link_path(&sent["signing_url"]);
    let p = public_get(app, &link).await;
    assert_eq!(p.status.as_u16(), 200, "{}", p.text);
    assert!(p.header("x-request-id").is_some());
    assert_eq!(p.body["success"], true);
    assert_eq!(keys_of(p.data()), PUBLIC_KEYS);
    assert_eq!(
        p.data(),
        &json!({
            "id": id,
            "title": "Service agreement",
            "body": "Terms of Service agreement",
            "status": "sent",
            "signer_name": null,
            "signed_at": null,
        })
    );
    // Reading it twice is fine; it is only used up by signing.
    assert_eq!(public_get(app, &link).await.status.as_u16(), 200);

    // Signing: the name is trimmed.
    let signed = sign_ok(app, &link, "  Jane Q. Smith ").await;
    assert_eq!(keys_of(&signed), PUBLIC_KEYS);
    assert_eq!(signed["id"], id.as_str());
    assert_eq!(signed["status"], "signed");
    assert_eq!(signed["signer_name"], "Jane Q. Smith");
    assert!(
        is_timestamp(&signed["signed_at"]),
        "{}",
        signed["signed_at"]
    );
    assert_eq!(signed["title"], "Service agreement");
    assert_eq!(signed["body"], "Terms of Service agreement");

    let after = get_contract(app, &id).await;
    assert_eq!(keys_of(&after), CONTRACT_KEYS);
    assert_eq!(after["status"], "signed");
    assert_eq!(after["signer_name"], "Jane Q. Smith");
    assert_eq!(after["signed_at"], signed["signed_at"]);
    assert_eq!(after["updated_at"], signed["signed_at"]);
    assert_eq!(after["sent_at"], sent["sent_at"]);
    assert_eq!(after["created_at"], c["created_at"]);
    assert!(ts(&after["signed_at"]) >= ts(&sent["sent_at"]));

    // Events: created, then signed with the whole signed contract.
    let evs = events_of(app, &id).await;
    assert_eq!(names(&evs), ["contract.created", "contract.signed"]);
    assert_eq!(evs[0].1, c);
    assert_eq!(evs[1].1, after);

    // The link is used up.
    assert_not_found(&public_get(app, &link).await);
    assert_not_found(&public_sign(app, &link, json!({"signer_name": "Mallory"})).await);
    assert_eq!(get_contract(app, &id).await, after);

    // A signed contract is final.
    let cp = format!("/contracts/{id}");
    assert_conflict(&app.patch(&cp, json!({"title": "changed"}), 409).await);
    assert_conflict(&app.patch(&cp, json!({"body": "changed"}), 409).await);
    assert_conflict(&app.patch(&cp, json!({"status": "void"}), 409).await);
    assert_conflict(&app.delete(&cp, 409).await);
    assert_conflict(&app.post(&format!("{cp}/send"), json!({}), 409).await);
    assert_eq!(get_contract(app, &id).await, after);
    assert_eq!(count_events(app, "contract.signed", &id).await, 1);
});

backend_test!(sending_again_replaces_the_link, |app| async move {
    let rid = s(&app.lead("r").await["id"]);
    let c = contract(app, &rid, "Twice").await;
    let id = s(&c["id"]);
    let first = send(app, &id).await;
    let first_link = link_path(&first["signing_url"]);
    assert_eq!(public_get(app, &first_link).await.status.as_u16(), 200);
    tokio::time::sleep(Duration::from_millis(5)).await;

    let second = send(app, &id).await;
    let second_link = link_path(&second["signing_url"]);
    assert_ne!(first_link, second_link);
    assert_eq!(second["status"], "sent");
    assert!(ts(&second["sent_at"]) > ts(&first["sent_at"]));
    assert!(ts(&second["signing_expires_at"]) > ts(&first["signing_expires_at"]));

    // The old link is dead for reading and signing; the new one works.
    assert_not_found(&public_get(app, &first_link).await);
    assert_not_found(&public_sign(app, &first_link, json!({"signer_name": "Old"})).await);
    assert_eq!(get_contract(app, &id).await["status"], "sent");
    let p = public_get(app, &second_link).await;
    assert_eq!(p.status.as_u16(), 200, "{}", p.text);
    sign_ok(app, &second_link, "New").await;
    assert_eq!(get_contract(app, &id).await["signer_name"], "New");
    // Sending is no event of its own.
    assert_eq!(
        names(&events_of(app, &id).await),
        ["contract.created", "contract.signed"]
    );
});

backend_test!(void_and_delete_rules, |app| async move {
    let rid = s(&app.lead("r").await["id"]);

    // A sent contract: cannot be deleted; voiding it kills its link.
    let c = contract(app, &rid, "To void").await;
    let id = s(&c["id"]);
    let cp = format!("/contracts/{id}");
    let link = send_link(app, &id).await;
    assert_conflict(&app.delete(&cp, 409).await);
    let sent = get_contract(app, &id).await;
    let v = app.patch(&cp, json!({"status": "void"}), 200).await;
    assert!(v.header("etag").is_some());
    let voided = v.data().clone();
    assert_eq!(keys_of(&voided), CONTRACT_KEYS);
    assert_eq!(voided["status"], "void");
    assert_eq!(voided["sent_at"], sent["sent_at"]);
    assert!(ts(&voided["updated_at"]) >= ts(&sent["updated_at"]));
    assert_eq!(get_contract(app, &id).await, voided);
    assert_not_found(&public_get(app, &link).await);
    assert_not_found(&public_sign(app, &link, json!({"signer_name": "Late"})).await);
    assert_eq!(get_contract(app, &id).await, voided);
    // Voiding again changes nothing.
    let again = app.patch(&cp, json!({"status": "void"}), 200).await;
    assert_eq!(again.data(), &voided);
    // A void contract cannot be sent or edited, but can be deleted.
    assert_conflict(&app.post(&format!("{cp}/send"), json!({}), 409).await);
    assert_conflict(&app.patch(&cp, json!({"title": "x"}), 409).await);
    assert_eq!(get_contract(app, &id).await, voided);
    let d = app.delete(&cp, 200).await;
    assert_eq!(d.body["success"], true);
    assert_eq!(d.data()["id"], id.as_str());
    app.get(&cp, 404).await;

    // A draft: voidable and deletable; a voided draft's send is 409.
    let draft = contract(app, &rid, "Draft to void").await;
    let dp = format!("/contracts/{}", s(&draft["id"]));
    let v = app.patch(&dp, json!({"status": "void"}), 200).await;
    assert_eq!(v.data()["status"], "void");
    assert_eq!(v.data()["sent_at"], Value::Null);
    assert_conflict(&app.post(&format!("{dp}/send"), json!({}), 409).await);
    app.delete(&dp, 200).await;
    let plain = contract(app, &rid, "Plain draft").await;
    app.delete(&format!("/contracts/{}", s(&plain["id"])), 200)
        .await;

    // Deleting a sent contract's void kills nothing else: a fresh contract still signs.
    let ok = contract(app, &rid, "Survivor").await;
    let l = send_link(app, &s(&ok["id"])).await;
    sign_ok(app, &l, "Sam").await;

    let r = list(app, &[]).await;
    assert_eq!(titles(&r), ["Survivor"]);
    assert_eq!(r.body["meta"]["total"], 1);
    // Only created and signed are events.
    let contract_events: Vec<String> = app
        .events()
        .await
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with("contract."))
        .collect();
    assert_eq!(
        contract_events,
        [
            "contract.created",
            "contract.created",
            "contract.created",
            "contract.created",
            "contract.signed"
        ]
    );
});

backend_test!(patch_rules, |app| async move {
    let rid = s(&app.lead("r").await["id"]);
    let c = contract(app, &rid, "Original").await;
    let id = s(&c["id"]);
    let cp = format!("/contracts/{id}");
    tokio::time::sleep(Duration::from_millis(5)).await;

    // A draft's title and body change.
    let r = app
        .patch(
            &cp,
            json!({"title": "  Renamed  ", "body": "New terms"}),
            200,
        )
        .await;
    assert!(r.header("etag").is_some());
    let e = r.data().clone();
    assert_eq!(keys_of(&e), CONTRACT_KEYS);
    assert_eq!(e["title"], "Renamed");
    assert_eq!(e["body"], "New terms");
    assert_eq!(e["status"], "draft");
    assert_eq!(e["created_at"], c["created_at"]);
    assert!(ts(&e["updated_at"]) > ts(&c["updated_at"]));
    assert_eq!(get_contract(app, &id).await, e);
    let e2 = app
        .patch(&cp, json!({"body": ""}), 200)
        .await
        .data()
        .clone();
    assert_eq!(e2["body"], "");
    assert_eq!(e2["title"], "Renamed");

    // An empty patch or an unchanged value changes nothing.
    let same = app.patch(&cp, json!({}), 200).await;
    assert_eq!(same.data(), &e2);
    let same = app.patch(&cp, json!({"title": "Renamed"}), 200).await;
    assert_eq!(same.data(), &e2);

    // Bad values name their field, and change nothing.
    for (body, field) in [
        (json!({"title": ""}), "title"),
        (json!({"title": "   "}), "title"),
        (json!({"title": null}), "title"),
        (json!({"title": 1}), "title"),
        (json!({"title": "x".repeat(1001)}), "title"),
        (json!({"body": null}), "body"),
        (json!({"body": "b".repeat(200_001)}), "body"),
        (json!({"status": "sent"}), "status"),
        (json!({"status": "signed"}), "status"),
        (json!({"status": "draft"}), "status"),
        (json!({"status": "VOID"}), "status"),
        (json!({"status": "voided"}), "status"),
        (json!({"status": null}), "status"),
        (json!({"status": 3}), "status"),
        (json!({"signer_name": "x"}), "signer_name"),
        (json!({"record_id": rid}), "record_id"),
        (json!({"sent_at": null}), "sent_at"),
    ] {
        let r = app.patch(&cp, body.clone(), 400).await;
        assert_field(&r, field);
    }
    assert_eq!(get_contract(app, &id).await, e2);

    // Once sent, neither title nor body changes (even to the same value).
    let link = send_link(app, &id).await;
    let sent = get_contract(app, &id).await;
    for body in [
        json!({"title": "Other"}),
        json!({"body": "Other"}),
        json!({"title": "Renamed"}),
        json!({"title": "Other", "status": "void"}),
    ] {
        assert_conflict(&app.patch(&cp, body, 409).await);
    }
    assert_eq!(get_contract(app, &id).await, sent);
    assert_eq!(public_get(app, &link).await.status.as_u16(), 200);
    // Only contract.created so far: edits and sending fire nothing.
    assert_eq!(names(&events_of(app, &id).await), ["contract.created"]);
});

backend_test!(signer_name_rules, |app| async move {
    let rid = s(&app.lead("r").await["id"]);
    let c = contract(app, &rid, "Sign me").await;
    let id = s(&c["id"]);
    let link = send_link(app, &id).await;

    for body in [
        json!({}),
        json!({"signer_name": ""}),
        json!({"signer_name": "   \t\n"}),
        json!({"signer_name": null}),
        json!({"signer_name": 5}),
        json!({"signer_name": ["Jane"]}),
        json!({"signer_name": "x".repeat(201)}),
    ] {
        let r = public_sign(app, &link, body.clone()).await;
        assert_field(&r, "signer_name");
    }
    let r = public_sign(app, &link, json!({"signer_name": "Jane", "title": "mine"})).await;
    assert_field(&r, "title");
    let r = app
        .send(
            app.client
                .request(Method::POST, app.url(&format!("{link}/sign")))
                .header("Content-Type", "application/json")
                .body("{\"signer_name\": "),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    r.error_code();

    // Nothing was signed and the link still works.
    assert_eq!(get_contract(app, &id).await["status"], "sent");
    assert_eq!(public_get(app, &link).await.status.as_u16(), 200);
    assert_eq!(count_events(app, "contract.signed", &id).await, 0);

    // 200 characters (counted as characters) is the limit.
    let name = "É".repeat(200);
    let signed = sign_ok(app, &link, &format!(" {name} ")).await;
    assert_eq!(signed["signer_name"], name.as_str());
    assert_eq!(get_contract(app, &id).await["signer_name"], name.as_str());
});

backend_test!(garbage_links_are_404, |app| async move {
    let rid = s(&app.lead("r").await["id"]);
    let c = contract(app, &rid, "Live").await;
    let id = s(&c["id"]);
    let link = send_link(app, &id).await;
    let token = link.trim_start_matches("/public/contracts/").to_string();
    let mut flipped = token.clone();
    let last = flipped.pop().unwrap();
    flipped.push(if last == 'a' { 'b' } else { 'a' });
    let random = format!("lwsign_{}", "A".repeat(43));
    let long = format!("lwsign_{}", "x".repeat(500));
    let bare = token.trim_start_matches("lwsign_").to_string();
    for t in [
        "nope",
        "lwsign_",
        "lwsign_x",
        random.as_str(),
        long.as_str(),
        flipped.as_str(),
        bare.as_str(),
        id.as_str(),
        "%00",
        "lwsign_%27%20OR%201%3D1",
        "LWSIGN_abc",
    ] {
        let p = format!("/public/contracts/{t}");
        let g = public_get(app, &p).await;
        assert_not_found(&g);
        let r = public_sign(app, &p, json!({"signer_name": "Eve"})).await;
        assert_not_found(&r);
    }
    // The token with a key in front of it is not a link either.
    let r = public_get(app, &format!("/public/contracts/{}", token.to_uppercase())).await;
    assert_not_found(&r);
    // The real link still works.
    assert_eq!(public_get(app, &link).await.status.as_u16(), 200);
    assert_eq!(get_contract(app, &id).await["status"], "sent");
});

backend_test!(expired_links_are_404, |app| async move {
    let rid = s(&app.lead("r").await["id"]);
    let c = contract(app, &rid, "Stale").await;
    let id = s(&c["id"]);
    let link = send_link(app, &id).await;
    assert_eq!(public_get(app, &link).await.status.as_u16(), 200);
    // Age the link past its expiry, straight in the database.
    let sql = "UPDATE contracts SET sign_token_expires_at = '2001-01-01T00:00:00.000Z' \
               WHERE sign_token_hash IS NOT NULL";
    match app.backend {
        Backend::Sqlite => {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(&app.database_url)
                .await
                .unwrap();
            let n = sqlx::query(sql).execute(&mut conn).await.unwrap();
            assert_eq!(n.rows_affected(), 1);
            conn.close().await.unwrap();
        }
        Backend::Postgres => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&app.database_url)
                .await
                .unwrap();
            let n = sqlx::query(sql).execute(&mut conn).await.unwrap();
            assert_eq!(n.rows_affected(), 1);
            conn.close().await.unwrap();
        }
    }
    assert_not_found(&public_get(app, &link).await);
    assert_not_found(&public_sign(app, &link, json!({"signer_name": "Late"})).await);
    assert_eq!(get_contract(app, &id).await["status"], "sent");
    assert_eq!(count_events(app, "contract.signed", &id).await, 0);
    // Sending again issues a fresh link.
    let fresh = send_link(app, &id).await;
    sign_ok(app, &fresh, "On time").await;
    assert_eq!(get_contract(app, &id).await["status"], "signed");
});

// ---- If-Match ----------------------------------------------------------------------------------

backend_test!(if_match_on_patch_send_and_delete, |app| async move {
    let rid = s(&app.lead("r").await["id"]);
    let c = contract(app, &rid, "Tagged").await;
    let id = s(&c["id"]);
    let cp = format!("/contracts/{id}");
    let old_tag = app.get(&cp, 200).await.header("etag").unwrap().to_string();

    let r = app.patch(&cp, json!({"title": "Tagged 2"}), 200).await;
    let tag = r.header("etag").unwrap().to_string();
    assert_ne!(tag, old_tag);
    assert_eq!(app.get(&cp, 200).await.header("etag"), Some(tag.as_str()));

    // Stale: PATCH, send and DELETE are 412 and change nothing.
    let before = get_contract(app, &id).await;
    let r = app
        .expect(
            app.req(Method::PATCH, &cp)
                .header("If-Match", &old_tag)
                .json(&json!({"title": "lost update"})),
            412,
        )
        .await;
    assert_eq!(r.error_code(), "precondition_failed");
    let r = app
        .expect(
            app.req(Method::PATCH, &cp)
                .header("If-Match", &old_tag)
                .json(&json!({"status": "void"})),
            412,
        )
        .await;
    r.error_code();
    let r = app
        .expect(
            app.req(Method::POST, &format!("{cp}/send"))
                .header("If-Match", &old_tag),
            412,
        )
        .await;
    r.error_code();
    let r = app
        .expect(
            app.req(Method::DELETE, &cp).header("If-Match", &old_tag),
            412,
        )
        .await;
    r.error_code();
    assert_eq!(get_contract(app, &id).await, before);

    // Current (plain, weak or in a list) and `*` pass.
    let r = app
        .expect(
            app.req(Method::PATCH, &cp)
                .header("If-Match", format!("W/{tag}"))
                .json(&json!({"body": "b"})),
            200,
        )
        .await;
    let tag = r.header("etag").unwrap().to_string();
    let r = app
        .expect(
            app.req(Method::PATCH, &cp)
                .header("If-Match", format!("\"nope\", {tag}"))
                .json(&json!({"body": "c"})),
            200,
        )
        .await;
    let tag = r.header("etag").unwrap().to_string();
    app.expect(
        app.req(Method::POST, &format!("{cp}/send"))
            .header("If-Match", &tag),
        200,
    )
    .await;
    // Sending changed the contract, so the draft's tag is now stale.
    app.expect(
        app.req(Method::PATCH, &cp)
            .header("If-Match", &tag)
            .json(&json!({"status": "void"})),
        412,
    )
    .await;
    assert_eq!(get_contract(app, &id).await["status"], "sent");
    let tag = app.get(&cp, 200).await.header("etag").unwrap().to_string();
    app.expect(
        app.req(Method::POST, &format!("{cp}/send"))
            .header("If-Match", "*"),
        200,
    )
    .await;
    app.expect(
        app.req(Method::PATCH, &cp)
            .header("If-Match", &tag)
            .json(&json!({"status": "void"})),
        412,
    )
    .await;
    let tag = app.get(&cp, 200).await.header("etag").unwrap().to_string();
    let r = app
        .expect(
            app.req(Method::PATCH, &cp)
                .header("If-Match", &tag)
                .json(&json!({"status": "void"})),
            200,
        )
        .await;
    let void_tag = r.header("etag").unwrap().to_string();
    app.expect(app.req(Method::DELETE, &cp).header("If-Match", &tag), 412)
        .await;
    app.expect(
        app.req(Method::DELETE, &cp).header("If-Match", &void_tag),
        200,
    )
    .await;
    app.get(&cp, 404).await;
});

// ---- lists ------------------------------------------------------------------------------------

backend_test!(list_filters_sort_and_cursor, |app| async move {
    let a = s(&app.lead("Acme Corp").await["id"]);
    let b = s(&app.lead("Beta Ltd").await["id"]);
    // a1 draft, a2 sent, a3 signed by Jane Roe; b1 sent, b2 void, b3 signed by John Smith.
    let a1 = contract(app, &a, "A1 draft").await;
    let a2 = contract(app, &a, "A2 sent").await;
    let a3 = contract(app, &a, "A3 signed").await;
    let b1 = contract(app, &b, "B1 sent").await;
    let b2 = contract(app, &b, "B2 void").await;
    let b3 = contract(app, &b, "B3 signed").await;
    let all = [&a1, &a2, &a3, &b1, &b2, &b3];
    let id = |c: &Value| s(&c["id"]);
    send(app, &id(&a2)).await;
    send(app, &id(&b1)).await;
    let l = send_link(app, &id(&a3)).await;
    sign_ok(app, &l, "Jane Roe").await;
    let l = send_link(app, &id(&b3)).await;
    sign_ok(app, &l, "John Smith").await;
    send(app, &id(&b2)).await;
    app.patch(
        &format!("/contracts/{}", id(&b2)),
        json!({"status": "void"}),
        200,
    )
    .await;
    // A deleted one is never listed.
    let gone = contract(app, &a, "Gone").await;
    app.delete(&format!("/contracts/{}", id(&gone)), 200).await;

    // Default: newest first, every field as GET shows it.
    let r = list(app, &[]).await;
    assert_eq!(r.body["meta"]["total"], 6);
    assert_eq!(r.body["meta"]["page"], 1);
    let want: Vec<String> = all.iter().rev().map(|c| id(c)).collect();
    assert_eq!(ids(&r), want);
    for item in r.data().as_array().unwrap() {
        assert_eq!(keys_of(item), CONTRACT_KEYS);
        assert_eq!(item, &get_contract(app, &s(&item["id"])).await);
    }

    let t = |q: &[(&str, &str)]| {
        let q: Vec<(String, String)> = q
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        async move {
            let r = app
                .expect(app.req(Method::GET, "/contracts").query(&q), 200)
                .await;
            sorted(titles(&r))
        }
    };
    // Simple parameters.
    assert_eq!(t(&[("status", "draft")]).await, ["A1 draft"]);
    assert_eq!(t(&[("status", "sent")]).await, ["A2 sent", "B1 sent"]);
    assert_eq!(t(&[("status", "signed")]).await, ["A3 signed", "B3 signed"]);
    assert_eq!(t(&[("status", "void")]).await, ["B2 void"]);
    assert_eq!(
        t(&[("record_id", &a)]).await,
        ["A1 draft", "A2 sent", "A3 signed"]
    );
    assert_eq!(
        t(&[("record_id", &b), ("status", "signed")]).await,
        ["B3 signed"]
    );
    let nobody = uuid::Uuid::now_v7().to_string();
    assert!(t(&[("record_id", &nobody)]).await.is_empty());

    // filter=, alone and ANDed with the simple parameters.
    assert_eq!(
        t(&[("filter", "status eq \"sent\"")]).await,
        ["A2 sent", "B1 sent"]
    );
    assert_eq!(
        t(&[("filter", "status in (\"void\", \"draft\")")]).await,
        ["A1 draft", "B2 void"]
    );
    assert_eq!(
        t(&[("filter", "record.title eq \"Acme Corp\"")]).await,
        ["A1 draft", "A2 sent", "A3 signed"]
    );
    assert_eq!(
        t(&[("filter", "record.title contains \"beta\"")]).await,
        ["B1 sent", "B2 void", "B3 signed"]
    );
    assert_eq!(
        t(&[
            ("status", "sent"),
            ("filter", "record.title eq \"Beta Ltd\"")
        ])
        .await,
        ["B1 sent"]
    );
    assert_eq!(
        t(&[("filter", "signer_name eq \"Jane Roe\"")]).await,
        ["A3 signed"]
    );
    assert_eq!(
        t(&[("filter", "signer_name contains \"smith\"")]).await,
        ["B3 signed"]
    );
    assert_eq!(
        t(&[("filter", "signer_name isnotnull")]).await,
        ["A3 signed", "B3 signed"]
    );
    assert_eq!(
        t(&[("filter", "signer_name isnull")]).await,
        ["A1 draft", "A2 sent", "B1 sent", "B2 void"]
    );
    assert_eq!(t(&[("filter", "sent_at isnull")]).await, ["A1 draft"]);
    assert_eq!(
        t(&[("filter", "signed_at <= now and status ne \"void\"")]).await,
        ["A3 signed", "B3 signed"]
    );
    assert_eq!(
        t(&[("filter", "title startswith \"a\" or body contains \"B2\"")]).await,
        ["A1 draft", "A2 sent", "A3 signed", "B2 void"]
    );
    assert_eq!(
        t(&[(
            "filter",
            &format!("record_id eq \"{a}\" and not status eq \"draft\"")
        )])
        .await,
        ["A2 sent", "A3 signed"]
    );
    assert_eq!(
        t(&[(
            "filter",
            r#"{"and": [{"field": "status", "op": "eq", "value": "signed"}, {"field": "record.title", "op": "eq", "value": "Acme Corp"}]}"#
        )])
        .await,
        ["A3 signed"]
    );

    // Bad parameters are 400s naming what is wrong.
    let r = try_list(app, &[("status", "pending")]).await;
    assert_field(&r, "status");
    let r = try_list(app, &[("record_id", "abc")]).await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    assert!(r.text.contains("record_id"), "{}", r.text);
    for (q, needle) in [
        ("statsu eq \"sent\"", "statsu"),
        ("status eq \"pending\"", "status"),
        ("created_at contains \"x\"", "created_at"),
        ("status eq", "eq"),
    ] {
        let r = try_list(app, &[("filter", q)]).await;
        assert_eq!(r.status.as_u16(), 400, "{q}: {}", r.text);
        r.error_code();
        assert!(r.text.contains(needle), "{q}: {}", r.text);
    }
    for sort in ["bogus", "body", "record.title"] {
        let r = try_list(app, &[("sort", sort)]).await;
        assert_eq!(r.status.as_u16(), 400, "sort={sort}: {}", r.text);
        r.error_code();
    }

    // Sorting.
    let by_title: Vec<String> = sorted(all.iter().map(|c| s(&c["title"])).collect());
    assert_eq!(titles(&list(app, &[("sort", "title")]).await), by_title);
    let mut desc = by_title.clone();
    desc.reverse();
    assert_eq!(titles(&list(app, &[("sort", "-title")]).await), desc);
    assert_eq!(
        ids(&list(app, &[("sort", "created_at")]).await),
        all.iter().map(|c| id(c)).collect::<Vec<_>>()
    );
    let by_status = titles(&list(app, &[("sort", "status,title")]).await);
    assert_eq!(
        by_status,
        [
            "A1 draft",
            "A2 sent",
            "B1 sent",
            "A3 signed",
            "B3 signed",
            "B2 void"
        ]
    );

    // Cursor walks return every row once, in the order of the offset listing.
    for (q, size) in [
        (vec![], 2),
        (vec![("sort", "title")], 4),
        (vec![("sort", "-signer_name,title")], 1),
        (vec![("sort", "signer_name")], 2),
        (vec![("sort", "sent_at")], 2),
        (vec![("sort", "-signed_at")], 5),
        (vec![("status", "sent")], 1),
        (
            vec![
                ("filter", "record.title eq \"Beta Ltd\""),
                ("sort", "-title"),
            ],
            2,
        ),
    ] {
        let walked = walk_cursor(app, &q, size).await;
        let mut oq = q.clone();
        oq.push(("per_page", "100"));
        let offset = ids(&list(app, &oq).await);
        assert_eq!(walked, offset, "{q:?} size {size}");
        let unique: BTreeSet<&String> = walked.iter().collect();
        assert_eq!(unique.len(), walked.len(), "{q:?}: a row twice");
    }
    // Offset paging.
    let p2 = list(app, &[("per_page", "4"), ("page", "2")]).await;
    assert_eq!(p2.body["meta"]["total"], 6);
    assert_eq!(p2.body["meta"]["per_page"], 4);
    assert_eq!(ids(&p2), want[4..].to_vec());
});

// ---- isolation and scopes ---------------------------------------------------------------------

backend_test!(workspaces_are_isolated, |app| async move {
    let rid = s(&app.lead("Mine").await["id"]);
    let mine = contract(app, &rid, "Mine").await;
    let mid = s(&mine["id"]);
    let other = app.other_workspace().await;
    let as_other = |m: Method, p: &str| app.req_as(&other, m, p);

    // Nothing of mine is visible or writable from the other workspace.
    let r = app.expect(as_other(Method::GET, "/contracts"), 200).await;
    assert_eq!(r.body["meta"]["total"], 0);
    let mp = format!("/contracts/{mid}");
    assert_not_found(&app.expect(as_other(Method::GET, &mp), 404).await);
    assert_not_found(
        &app.expect(
            as_other(Method::PATCH, &mp).json(&json!({"title": "stolen"})),
            404,
        )
        .await,
    );
    assert_not_found(
        &app.expect(
            as_other(Method::PATCH, &mp).json(&json!({"status": "void"})),
            404,
        )
        .await,
    );
    assert_not_found(
        &app.expect(as_other(Method::POST, &format!("{mp}/send")), 404)
            .await,
    );
    assert_not_found(&app.expect(as_other(Method::DELETE, &mp), 404).await);
    let r = app
        .expect(
            as_other(Method::POST, "/contracts").json(&json!({"record_id": rid, "title": "x"})),
            400,
        )
        .await;
    assert_field(&r, "record_id");
    let r = app
        .expect(
            as_other(Method::GET, "/contracts").query(&[("record_id", rid.as_str())]),
            200,
        )
        .await;
    assert_eq!(r.body["meta"]["total"], 0);
    assert_eq!(get_contract(app, &mid).await, mine);

    // Their own contract, on their record, lives apart from mine.
    let theirs_rec = app
        .expect(
            as_other(Method::POST, "/records").json(&json!({"type": "lead", "title": "Theirs"})),
            201,
        )
        .await;
    let trid = s(&theirs_rec.data()["id"]);
    let theirs = app
        .expect(
            as_other(Method::POST, "/contracts")
                .json(&json!({"record_id": trid, "title": "Theirs"})),
            201,
        )
        .await
        .data()
        .clone();
    let tid = s(&theirs["id"]);
    let r = app.expect(as_other(Method::GET, "/contracts"), 200).await;
    assert_eq!(ids(&r), vec![tid.clone()]);
    assert_eq!(ids(&list(app, &[]).await), vec![mid.clone()]);
    assert_not_found(&app.get(&format!("/contracts/{tid}"), 404).await);
    app.post(&format!("/contracts/{tid}/send"), json!({}), 404)
        .await;

    // Their link signs their contract; the event is theirs.
    let sent = app
        .expect(
            as_other(Method::POST, &format!("/contracts/{tid}/send")),
            200,
        )
        .await;
    let link = link_path(&sent.data()["signing_url"]);
    sign_ok(app, &link, "Their Signer").await;
    let g = app
        .expect(as_other(Method::GET, &format!("/contracts/{tid}")), 200)
        .await;
    assert_eq!(g.data()["status"], "signed");
    assert!(app
        .events()
        .await
        .iter()
        .all(|(_, d)| d["id"] != tid.as_str()));
    let evs = app
        .expect(
            as_other(Method::GET, "/events")
                .query(&[("event", "contract.created,contract.signed")]),
            200,
        )
        .await;
    let got: Vec<(String, String)> = evs
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (s(&e["event"]), s(&e["data"]["id"])))
        .collect();
    assert_eq!(
        sorted(got.iter().map(|(n, i)| format!("{n} {i}")).collect()),
        [
            format!("contract.created {tid}"),
            format!("contract.signed {tid}")
        ]
    );
    assert_eq!(get_contract(app, &mid).await, mine);
});

backend_test!(scopes_and_public_access, |app| async move {
    let rid = s(&app.lead("r").await["id"]);
    let c = contract(app, &rid, "Scoped").await;
    let id = s(&c["id"]);
    let cp = format!("/contracts/{id}");
    let read = app.key("read").await;
    let write = app.key("write").await;

    // A read key reads.
    let r = app
        .expect(app.req_as(&read, Method::GET, "/contracts"), 200)
        .await;
    assert_eq!(ids(&r), vec![id.clone()]);
    let r = app.expect(app.req_as(&read, Method::GET, &cp), 200).await;
    assert_eq!(r.data(), &c);
    // ... and writes nothing.
    let send_p = format!("{cp}/send");
    for (m, p, body) in [
        (
            Method::POST,
            "/contracts",
            json!({"record_id": rid, "title": "x"}),
        ),
        (Method::PATCH, cp.as_str(), json!({"title": "x"})),
        (Method::PATCH, cp.as_str(), json!({"status": "void"})),
        (Method::POST, send_p.as_str(), json!({})),
        (Method::DELETE, cp.as_str(), json!({})),
    ] {
        let r = app
            .expect(app.req_as(&read, m.clone(), p).json(&body), 403)
            .await;
        r.error_code();
    }
    assert_eq!(get_contract(app, &id).await, c);
    assert_eq!(list(app, &[]).await.body["meta"]["total"], 1);

    // No key, a bad key: 401 on the API.
    for p in ["/contracts", cp.as_str()] {
        let r = app
            .expect(app.client.request(Method::GET, app.url(p)), 401)
            .await;
        r.error_code();
        let r = app
            .expect(app.req_as("lw_live_nope", Method::GET, p), 401)
            .await;
        r.error_code();
    }
    let r = app
        .expect(
            app.client
                .request(Method::POST, app.url("/contracts"))
                .json(&json!({"record_id": rid, "title": "x"})),
            401,
        )
        .await;
    r.error_code();
    let r = app
        .expect(app.client.request(Method::POST, app.url(&send_p)), 401)
        .await;
    r.error_code();

    // A write key does all of it.
    let w = app
        .expect(
            app.req_as(&write, Method::POST, "/contracts")
                .json(&json!({"record_id": rid, "title": "By writer"})),
            201,
        )
        .await;
    let wid = s(&w.data()["id"]);
    let sent = app
        .expect(
            app.req_as(&write, Method::POST, &format!("/contracts/{wid}/send")),
            200,
        )
        .await;
    let link = link_path(&sent.data()["signing_url"]);

    // The public link needs no key, and ignores a bogus one.
    let r = app
        .expect(app.req_as("lw_live_nope", Method::GET, &link), 200)
        .await;
    assert_eq!(r.data()["status"], "sent");
    // The public link needs no key, and a read key's holder can't use the API to sign.
    let r = app
        .expect(app.client.request(Method::GET, app.url(&link)), 200)
        .await;
    assert_eq!(r.data()["id"], wid.as_str());
    let r = app
        .expect(
            app.client
                .request(Method::POST, app.url(&format!("{link}/sign")))
                .json(&json!({"signer_name": "Public Person"})),
            200,
        )
        .await;
    assert_eq!(r.data()["status"], "signed");
    let r = app
        .expect(
            app.req_as(&read, Method::GET, &format!("/contracts/{wid}")),
            200,
        )
        .await;
    assert_eq!(r.data()["signer_name"], "Public Person");
});

// ---- concurrency ------------------------------------------------------------------------------

/// Fires the requests at once; returns each one's status and body, in request order.
async fn all_at_once(reqs: Vec<reqwest::RequestBuilder>) -> Vec<(u16, Value)> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(reqs.len()));
    let mut handles = Vec::new();
    for rb in reqs {
        let b = barrier.clone();
        handles.push(tokio::spawn(async move {
            b.wait().await;
            let r = rb.send().await.expect("sent");
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

backend_test!(concurrent_signing_of_one_link, |app| async move {
    let rid = s(&app.lead("r").await["id"]);
    for round in 0..4 {
        let c = contract(app, &rid, &format!("Race {round}")).await;
        let id = s(&c["id"]);
        let link = send_link(app, &id).await;
        let n = if round == 0 { 2 } else { 5 };
        let reqs = (0..n)
            .map(|i| {
                app.client
                    .request(Method::POST, app.url(&format!("{link}/sign")))
                    .json(&json!({"signer_name": format!("Signer {i}")}))
            })
            .collect();
        let results = all_at_once(reqs).await;
        let winners: Vec<&(u16, Value)> = results.iter().filter(|(st, _)| *st == 200).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        for (st, body) in &results {
            assert!(*st == 200 || *st == 404, "round {round}: {st} {body}");
            if *st == 404 {
                assert_eq!(body["code"], "not_found", "{body}");
            }
        }
        let winner = &winners[0].1["data"];
        let g = get_contract(app, &id).await;
        assert_eq!(g["status"], "signed");
        assert_eq!(g["signer_name"], winner["signer_name"]);
        assert_eq!(g["signed_at"], winner["signed_at"]);
        let evs: Vec<(String, Value)> = events_of(app, &id)
            .await
            .into_iter()
            .filter(|(n, _)| n == "contract.signed")
            .collect();
        assert_eq!(evs.len(), 1, "round {round}: {evs:?}");
        assert_eq!(evs[0].1, g);
    }
});

backend_test!(concurrent_void_and_sign, |app| async move {
    let rid = s(&app.lead("r").await["id"]);
    for round in 0..4 {
        let c = contract(app, &rid, &format!("Void race {round}")).await;
        let id = s(&c["id"]);
        let link = send_link(app, &id).await;
        let results = all_at_once(vec![
            app.client
                .request(Method::POST, app.url(&format!("{link}/sign")))
                .json(&json!({"signer_name": "Quick"})),
            app.req(Method::PATCH, &format!("/contracts/{id}"))
                .json(&json!({"status": "void"})),
        ])
        .await;
        let g = get_contract(app, &id).await;
        let signed_events = count_events(app, "contract.signed", &id).await;
        match (results[0].0, results[1].0) {
            (200, 409) => {
                assert_eq!(g["status"], "signed", "{results:?}");
                assert_eq!(g["signer_name"], "Quick");
                assert_eq!(signed_events, 1);
            }
            (404, 200) => {
                assert_eq!(g["status"], "void", "{results:?}");
                assert_eq!(g["signer_name"], Value::Null);
                assert_eq!(signed_events, 0);
            }
            other => {
                panic!("round {round}: sign and void both ran or failed: {other:?} {results:?}")
            }
        }
    }
});

// ---- idempotency ------------------------------------------------------------------------------

backend_test!(idempotent_create_and_send, |app| async move {
    let rid = s(&app.lead("r").await["id"]);
    let body = json!({"record_id": rid, "title": "Once"});
    let first = app
        .expect(
            app.req(Method::POST, "/contracts")
                .header("Idempotency-Key", "create-1")
                .json(&body),
            201,
        )
        .await;
    let again = app
        .expect(
            app.req(Method::POST, "/contracts")
                .header("Idempotency-Key", "create-1")
                .json(&body),
            201,
        )
        .await;
    assert_eq!(again.data(), first.data());
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let r = app
        .expect(
            app.req(Method::POST, "/contracts")
                .header("Idempotency-Key", "create-1")
                .json(&json!({"record_id": rid, "title": "Other"})),
            409,
        )
        .await;
    r.error_code();
    assert_eq!(list(app, &[]).await.body["meta"]["total"], 1);
    let id = s(&first.data()["id"]);
    assert_eq!(count_events(app, "contract.created", &id).await, 1);

    // A replayed send answers with the same, still live, link.
    let sp = format!("/contracts/{id}/send");
    let s1 = app
        .expect(
            app.req(Method::POST, &sp)
                .header("Idempotency-Key", "send-1"),
            200,
        )
        .await;
    let s2 = app
        .expect(
            app.req(Method::POST, &sp)
                .header("Idempotency-Key", "send-1"),
            200,
        )
        .await;
    assert_eq!(s2.data(), s1.data());
    let link = link_path(&s1.data()["signing_url"]);
    assert_eq!(public_get(app, &link).await.status.as_u16(), 200);
    sign_ok(app, &link, "Once Only").await;
    assert_eq!(count_events(app, "contract.signed", &id).await, 1);
});

// ---- events -----------------------------------------------------------------------------------

backend_test!(events_endpoint_filters_contract_events, |app| async move {
    let rid = s(&app.lead("r").await["id"]);
    let c1 = contract(app, &rid, "One").await;
    let c2 = contract(app, &rid, "Two").await;
    let link = send_link(app, &s(&c2["id"])).await;
    sign_ok(app, &link, "Signer").await;
    let signed = get_contract(app, &s(&c2["id"])).await;
    app.lead("noise").await;

    for q in [
        "contract.created,contract.signed",
        "contract.signed,contract.created",
    ] {
        let r = app
            .expect(app.req(Method::GET, "/events").query(&[("event", q)]), 200)
            .await;
        let evs = r.data().as_array().unwrap();
        let got: Vec<(String, Value)> = evs
            .iter()
            .map(|e| (s(&e["event"]), e["data"].clone()))
            .collect();
        // Newest first.
        assert_eq!(
            got,
            vec![
                ("contract.signed".to_string(), signed.clone()),
                ("contract.created".to_string(), c2.clone()),
                ("contract.created".to_string(), c1.clone()),
            ],
            "{q}"
        );
        for e in evs {
            let mut k = keys_of(e);
            k.retain(|x| x != "workspace_id");
            assert_eq!(k, ["data", "event", "id", "timestamp"]);
            assert!(s(&e["workspace_id"]).starts_with("ws_"));
        }
        // Each is readable on its own.
        let one = app.get(&format!("/events/{}", s(&evs[0]["id"])), 200).await;
        assert_eq!(one.data(), &evs[0]);
    }
    let r = app
        .expect(
            app.req(Method::GET, "/events")
                .query(&[("event", "contract.signed")]),
            200,
        )
        .await;
    assert_eq!(r.data().as_array().unwrap().len(), 1);
    assert_eq!(r.data()[0]["data"], signed);
    assert_eq!(
        r.data()[0]["timestamp"],
        signed["signed_at"],
        "the event's time is the signing"
    );
});

// ---- signing_url base ---------------------------------------------------------------------------

backend_test!(signing_url_follows_the_host, |app| async move {
    let rid = s(&app.lead("r").await["id"]);
    let c = contract(app, &rid, "Hosted").await;
    let id = s(&c["id"]);
    let sp = format!("/contracts/{id}/send");

    let r = app
        .expect(
            app.req(Method::POST, &sp)
                .header("Host", "crm.internal:8443"),
            200,
        )
        .await;
    let url = s(&r.data()["signing_url"]);
    assert!(
        url.starts_with("http://crm.internal:8443/api/v1/public/contracts/lwsign_"),
        "{url}"
    );
    // X-Forwarded-Proto is not believed from a peer that is not a trusted proxy.
    let r = app
        .expect(
            app.req(Method::POST, &sp)
                .header("Host", "crm.example.org")
                .header("X-Forwarded-Proto", "https"),
            200,
        )
        .await;
    let url = s(&r.data()["signing_url"]);
    assert!(
        url.starts_with("http://crm.example.org/api/v1/public/contracts/lwsign_"),
        "{url}"
    );
    // Only http and https are schemes.
    let r = app
        .expect(
            app.req(Method::POST, &sp)
                .header("X-Forwarded-Proto", "javascript"),
            200,
        )
        .await;
    let url = s(&r.data()["signing_url"]);
    assert!(
        url.starts_with(&format!("{}/public/contracts/", app.base)),
        "{url}"
    );
    // The last link is the live one, whatever its host.
    let link = link_path(&r.data()["signing_url"]);
    sign_ok(app, &link, "Host Test").await;
});

// Behind a trusted proxy, its X-Forwarded-Proto says the scheme of the link.
backend_test!(
    signing_url_follows_a_trusted_proxy,
    with crate::support::behind_local_proxy,
    |app| async move {
        let rid = s(&app.lead("r").await["id"]);
        let c = contract(app, &rid, "Proxied").await;
        let sp = format!("/contracts/{}/send", s(&c["id"]));
        for (said, scheme) in [("https", "https"), ("HTTPS, http", "https"), ("http", "http"), ("javascript", "http")] {
            let r = app
                .expect(
                    app.req(Method::POST, &sp)
                        .header("Host", "crm.example.org")
                        .header("X-Forwarded-Proto", said),
                    200,
                )
                .await;
            let url = s(&r.data()["signing_url"]);
            assert!(
                url.starts_with(&format!("{scheme}://crm.example.org/api/v1/public/contracts/lwsign_")),
                "{said}: {url}"
            );
        }
    }
);

fn public_url(cfg: &mut laneway_server::ServerConfig) {
    cfg.public_url = Some("https://crm.example.com/".into());
}

webhook_test!(
    signing_url_uses_the_public_url,
    public_url,
    |app| async move {
        let rid = s(&app.lead("r").await["id"]);
        let c = contract(app, &rid, "Public").await;
        let id = s(&c["id"]);
        let r = app
            .expect(
                app.req(Method::POST, &format!("/contracts/{id}/send"))
                    .header("Host", "evil.example.net")
                    .header("X-Forwarded-Proto", "http"),
                200,
            )
            .await;
        let url = s(&r.data()["signing_url"]);
        let prefix = "https://crm.example.com/api/v1/public/contracts/lwsign_";
        assert!(url.starts_with(prefix), "{url}");
        assert!(!url.contains("evil"), "{url}");
        // The path of the link works on this server.
        let link = link_path(&r.data()["signing_url"]);
        let p = public_get(app, &link).await;
        assert_eq!(p.status.as_u16(), 200, "{}", p.text);
        assert_eq!(p.data()["id"], id.as_str());
        sign_ok(app, &link, "Configured").await;
        assert_eq!(get_contract(app, &id).await["status"], "signed");
    }
);

// ---- webhooks -----------------------------------------------------------------------------------

/// Takes as many requests as `expected` holds (the last being the marker), checks each is
/// signed and that together they are exactly `expected` as (event, contract id); then that
/// the webhook's history holds just those and nothing more arrives. Returns the bodies.
async fn receive_exactly(
    app: &TestApp,
    rx: &Receiver,
    hook_id: &str,
    secret: &str,
    expected: &[(&str, &str)],
) -> Vec<Value> {
    let mut want: Vec<(String, String)> = expected
        .iter()
        .map(|(e, id)| (e.to_string(), id.to_string()))
        .collect();
    want.sort();
    let hits: Vec<Hit> = rx.take(want.len()).await;
    let mut got = Vec::new();
    let mut bodies = Vec::new();
    for h in &hits {
        assert_signed(h, secret);
        assert_eq!(h.header("x-laneway-event"), h.event());
        let b = h.json();
        got.push((s(&b["event"]), s(&b["data"]["id"])));
        bodies.push(b);
    }
    got.sort();
    assert_eq!(got, want, "the deliveries to {hook_id}");
    let list = app
        .get(&format!("/webhooks/{hook_id}/deliveries?per_page=100"), 200)
        .await;
    let history: Vec<String> = sorted(
        list.data()
            .as_array()
            .unwrap()
            .iter()
            .map(|d| s(&d["event_id"]))
            .collect(),
    );
    let sent: Vec<String> = sorted(bodies.iter().map(|b| s(&b["id"])).collect());
    assert_eq!(history, sent, "history of {hook_id}: {}", list.data());
    rx.quiet_for(Duration::from_millis(300)).await;
    bodies
}

webhook_test!(
    webhook_contract_events_with_scope_and_filter,
    fast,
    |app| async move {
        let a = s(&app.lead("Scoped").await["id"]);
        let b = s(&app.lead("Other").await["id"]);

        let rx = Receiver::start().await;
        let r = app
            .post(
                "/webhooks",
                json!({"url": rx.url, "events": ["contract.signed"], "record_id": a}),
                201,
            )
            .await;
        let (hid, secret) = (s(&r.data()["id"]), s(&r.data()["secret"]));
        let rx_all = Receiver::start().await;
        let r = app
            .post(
                "/webhooks",
                json!({"url": rx_all.url, "events": ["contract.*"]}),
                201,
            )
            .await;
        let (hid_all, secret_all) = (s(&r.data()["id"]), s(&r.data()["secret"]));
        let rx_f = Receiver::start().await;
        let r = app
        .post(
            "/webhooks",
            json!({"url": rx_f.url, "events": ["contract.*"], "filter": "signer_name contains \"jane\""}),
            201,
        )
        .await;
        let (hid_f, secret_f) = (s(&r.data()["id"]), s(&r.data()["secret"]));

        let ca = contract(app, &a, "On A").await;
        let cb = contract(app, &b, "On B").await;
        let ca2 = contract(app, &a, "On A, voided").await;
        let (ida, idb, ida2) = (s(&ca["id"]), s(&cb["id"]), s(&ca2["id"]));
        let la = send_link(app, &ida).await;
        let lb = send_link(app, &idb).await;
        send(app, &ida2).await;
        app.patch(
            &format!("/contracts/{ida2}"),
            json!({"status": "void"}),
            200,
        )
        .await;
        sign_ok(app, &lb, "Jane on B").await;
        sign_ok(app, &la, "Bob on A").await;
        // The marker: a contract on A signed by Jane, which every hook receives.
        let marker = contract(app, &a, "Marker").await;
        let mid = s(&marker["id"]);
        let lm = send_link(app, &mid).await;
        sign_ok(app, &lm, "Jane Marker").await;

        let bodies = receive_exactly(
            app,
            &rx,
            &hid,
            &secret,
            &[("contract.signed", &ida), ("contract.signed", &mid)],
        )
        .await;
        let signed_a = get_contract(app, &ida).await;
        let body = bodies
            .iter()
            .find(|x| x["data"]["id"] == ida.as_str())
            .unwrap();
        assert_eq!(body["data"], signed_a);
        assert_eq!(body["event"], "contract.signed");
        assert!(s(&body["workspace_id"]).starts_with("ws_"));

        let bodies = receive_exactly(
            app,
            &rx_all,
            &hid_all,
            &secret_all,
            &[
                ("contract.created", &ida),
                ("contract.created", &idb),
                ("contract.created", &ida2),
                ("contract.signed", &idb),
                ("contract.signed", &ida),
                ("contract.created", &mid),
                ("contract.signed", &mid),
            ],
        )
        .await;
        let created_b = bodies
            .iter()
            .find(|x| x["event"] == "contract.created" && x["data"]["id"] == idb.as_str())
            .unwrap();
        assert_eq!(created_b["data"], cb);

        receive_exactly(
            app,
            &rx_f,
            &hid_f,
            &secret_f,
            &[("contract.signed", &idb), ("contract.signed", &mid)],
        )
        .await;
    }
);

// ---- OpenAPI ------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_documents_contracts() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let r = app
        .send(app.client.request(Method::GET, app.url("/openapi.json")))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let paths = &r.body["paths"];
    for (path, methods) in [
        ("/contracts", &["get", "post"][..]),
        ("/contracts/{id}", &["get", "patch", "delete"][..]),
        ("/contracts/{id}/send", &["post"][..]),
        ("/public/contracts/{token}", &["get"][..]),
        ("/public/contracts/{token}/sign", &["post"][..]),
    ] {
        let item = paths[path]
            .as_object()
            .unwrap_or_else(|| panic!("{path} is not documented"));
        for m in methods {
            let op = item.get(*m).unwrap_or_else(|| panic!("{path}: no {m}"));
            assert!(
                op["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|x| x == "contracts")),
                "{path} {m}: not tagged contracts"
            );
            let bearer = op["security"]
                .as_array()
                .is_some_and(|v| v.iter().any(|x| x.get("bearer").is_some()));
            if path.starts_with("/public/") {
                assert!(!bearer, "{path} {m} must need no key: {op}");
            } else {
                assert!(bearer, "{path} {m} has no bearer scope: {op}");
            }
        }
        assert!(!item.contains_key("put"), "{path}: put documented");
    }
    let params: Vec<String> = paths["/contracts"]["get"]["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["in"] == "query")
                .filter_map(|p| p["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    for p in ["record_id", "status", "filter", "sort"] {
        assert!(
            params.iter().any(|x| x == p),
            "GET /contracts: no {p}: {params:?}"
        );
    }
    app.stop().await;
}

backend_test!(public_sign_ignores_idempotency_key, |app| async move {
    // A signing page may send Idempotency-Key against double clicks; with no API key to scope
    // a replay to, the public endpoint ignores it (a link signs once anyway).
    let rec = app.lead("Idem").await;
    let c = contract(app, rec["id"].as_str().unwrap(), "Idem terms").await;
    let link = send_link(app, c["id"].as_str().unwrap()).await;
    let sign = |name: &str| {
        app.client
            .request(Method::POST, app.url(&format!("{link}/sign")))
            .header("Idempotency-Key", "click-1")
            .json(&json!({ "signer_name": name }))
    };
    let r = app.send(sign("Dana")).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.data()["status"], "signed");
    let again = app.send(sign("Dana")).await;
    assert_eq!(again.status.as_u16(), 404, "{}", again.text);
    assert_eq!(
        count_events(app, "contract.signed", c["id"].as_str().unwrap()).await,
        1
    );
});
