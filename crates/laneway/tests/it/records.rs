//! `/records`: create, read, list, update, move, delete, activity.

use serde_json::json;

use crate::backend_test;

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
