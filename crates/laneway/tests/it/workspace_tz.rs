//! The workspace time zone: `GET|PATCH /workspace`, and `today` in filters counted in it.

use serde_json::json;
use time::{Duration, OffsetDateTime};

use crate::backend_test;

fn ymd(t: OffsetDateTime) -> String {
    laneway_core::time::format_date(t.date())
}

backend_test!(time_zone_is_settable_and_checked, |app| async move {
    let w = app.get("/workspace", 200).await;
    assert_eq!(w.data()["time_zone"], "UTC");
    assert!(w.header("etag").is_some());

    let r = app
        .patch("/workspace", json!({"time_zone": "Mars/Olympus"}), 400)
        .await;
    assert_eq!(r.body["details"]["field"], "time_zone");
    assert!(r.body["error"].as_str().unwrap().contains("Mars/Olympus"));
    app.patch("/workspace", json!({"name": ""}), 400).await;
    app.patch("/workspace", json!({"colour": "red"}), 400).await;
    let read = app.key("read").await;
    let rb = app
        .req_as(&read, reqwest::Method::PATCH, "/workspace")
        .json(&json!({"time_zone": "UTC"}));
    app.expect(rb, 403).await;

    // Names are read case-insensitively and stored in their canonical spelling.
    let r = app
        .patch("/workspace", json!({"time_zone": "america/new_york"}), 200)
        .await;
    assert_eq!(r.data()["time_zone"], "America/New_York");
    let me = app.get("/me", 200).await;
    assert_eq!(me.data()["workspace"]["time_zone"], "America/New_York");
    let r = app
        .patch("/workspace", json!({"name": "Acme Services"}), 200)
        .await;
    assert_eq!(r.data()["name"], "Acme Services");
    assert_eq!(r.data()["time_zone"], "America/New_York");
});

// `due_date eq today` is the workspace's local day. Kiritimati is UTC+14 and Pago Pago
// UTC−11 all year (no daylight saving), so their dates are computed here by hand.
backend_test!(today_is_the_workspace_day, |app| async move {
    let now = OffsetDateTime::now_utc();
    let mut ids = std::collections::HashMap::new();
    for d in -1..=1 {
        let due = ymd(now + Duration::days(d));
        let t = app
            .post(
                "/records/tasks",
                json!({"title": format!("Due {due}"), "due_date": due}),
                201,
            )
            .await;
        ids.insert(due, t.data()["id"].as_str().unwrap().to_string());
    }
    for (zone, hours) in [
        ("UTC", 0),
        ("Pacific/Kiritimati", 14),
        ("Pacific/Pago_Pago", -11),
    ] {
        app.patch("/workspace", json!({"time_zone": zone}), 200)
            .await;
        let local = ymd(OffsetDateTime::now_utc() + Duration::hours(hours));
        let r = app
            .get("/records/tasks?filter=due_date%20eq%20today", 200)
            .await;
        let got: Vec<&str> = r
            .data()
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert_eq!(got, [ids[&local].as_str()], "{zone}: today is {local}");
    }
});
