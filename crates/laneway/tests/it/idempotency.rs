//! `Idempotency-Key` on POST.

use reqwest::Method;
use serde_json::json;

use crate::backend_test;

backend_test!(
    same_key_same_body_replays_the_first_response,
    |app| async move {
        let body = json!({"type": "lead", "title": "Once only"});
        let first = app
            .expect(
                app.req(Method::POST, "/records")
                    .header("Idempotency-Key", "k-1")
                    .json(&body),
                201,
            )
            .await;
        let again = app
            .expect(
                app.req(Method::POST, "/records")
                    .header("Idempotency-Key", "k-1")
                    .json(&body),
                201,
            )
            .await;
        assert_eq!(first.data()["id"], again.data()["id"]);
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert!(first.header("idempotent-replayed").is_none());
        // The replay carries the ETag the first answer had, which GET agrees with.
        let tag = first.header("etag").map(str::to_string);
        assert!(tag.is_some());
        assert_eq!(again.header("etag").map(str::to_string), tag);
        let id = first.data()["id"].as_str().unwrap().to_string();
        let got = app
            .expect(app.req(Method::GET, &format!("/records/{id}")), 200)
            .await;
        assert_eq!(got.header("etag").map(str::to_string), tag);
        let list = app.get("/records?search=once", 200).await;
        assert_eq!(list.body["meta"]["total"], 1, "the write happened once");
        let created = app
            .events()
            .await
            .iter()
            .filter(|(n, _)| n == "record.created")
            .count();
        assert_eq!(created, 1, "one event");
    }
);

backend_test!(same_key_other_body_is_a_conflict, |app| async move {
    app.expect(
        app.req(Method::POST, "/records")
            .header("Idempotency-Key", "k-2")
            .json(&json!({"type": "lead", "title": "A"})),
        201,
    )
    .await;
    let r = app
        .expect(
            app.req(Method::POST, "/records")
                .header("Idempotency-Key", "k-2")
                .json(&json!({"type": "lead", "title": "B"})),
            409,
        )
        .await;
    assert_eq!(r.error_code(), "idempotency_conflict");
});

backend_test!(
    failed_requests_are_not_kept_so_a_fix_can_reuse_the_key,
    |app| async move {
        let r = app
            .expect(
                app.req(Method::POST, "/records")
                    .header("Idempotency-Key", "k-3")
                    .json(&json!({"type": "nope"})),
                400,
            )
            .await;
        assert_eq!(r.error_code(), "validation_failed");
        app.expect(
            app.req(Method::POST, "/records")
                .header("Idempotency-Key", "k-3")
                .json(&json!({"type": "lead"})),
            201,
        )
        .await;
    }
);

backend_test!(
    keys_are_scoped_to_the_workspace_and_need_auth,
    |app| async move {
        let other = app.other_workspace().await;
        let body = json!({"type": "lead", "title": "Mine"});
        let a = app
            .expect(
                app.req(Method::POST, "/records")
                    .header("Idempotency-Key", "shared")
                    .json(&body),
                201,
            )
            .await;
        let b = app
            .expect(
                app.req_as(&other, Method::POST, "/records")
                    .header("Idempotency-Key", "shared")
                    .json(&body),
                201,
            )
            .await;
        assert_ne!(a.data()["id"], b.data()["id"]);
        assert!(b.header("idempotent-replayed").is_none());
        let r = app
            .expect(
                app.client
                    .post(app.url("/records"))
                    .header("Idempotency-Key", "shared")
                    .json(&body),
                401,
            )
            .await;
        assert_eq!(r.error_code(), "unauthorized");
        let long = "x".repeat(300);
        let r = app
            .expect(
                app.req(Method::POST, "/records")
                    .header("Idempotency-Key", long)
                    .json(&body),
                400,
            )
            .await;
        assert_eq!(r.error_code(), "invalid_parameter");
        // Authentication is decided first: without a key, a malformed Idempotency-Key is
        // still a 401, not a 400.
        let r = app
            .expect(
                app.client
                    .post(app.url("/records"))
                    .header("Idempotency-Key", "x".repeat(300))
                    .json(&body),
                401,
            )
            .await;
        assert_eq!(r.error_code(), "unauthorized");
    }
);
