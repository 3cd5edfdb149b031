//! `GET /healthz` and `GET /readyz`: no key, outside `/api/v1`, and a 503 naming the part
//! that fails.

use serde_json::{json, Value};
use sqlx::Connection;

use crate::support::{Backend, TestApp};

fn root(app: &TestApp, path: &str) -> String {
    format!("{}{}", app.base.trim_end_matches("/api/v1"), path)
}

async fn probe(app: &TestApp, path: &str) -> (u16, Value, Option<String>) {
    let resp = app
        .client
        .get(root(app, path))
        .send()
        .await
        .expect("probe answers");
    let status = resp.status().as_u16();
    let cache = resp
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body: Value = resp.json().await.expect("probe body is JSON");
    (status, body, cache)
}

/// Runs one statement on the test database, outside the server.
async fn exec(app: &TestApp, sql: &str) {
    match app.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&app.database_url)
                .await
                .expect("sqlite connects");
            sqlx::query(sql).execute(&mut c).await.expect("statement");
            let _ = c.close().await;
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&app.database_url)
                .await
                .expect("postgres connects");
            sqlx::query(sql).execute(&mut c).await.expect("statement");
            let _ = c.close().await;
        }
    }
}

crate::backend_test!(probes_need_no_key_and_report_each_part, |app| async move {
    let (status, body, cache) = probe(app, "/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"status": "ok"}));
    assert_eq!(cache.as_deref(), Some("no-store"));

    let (status, body, cache) = probe(app, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "status": "ready",
            "checks": {"server": "ok", "database": "ok", "migrations": "ok", "webhook_workers": "ok"},
            "failing": []
        })
    );
    assert_eq!(cache.as_deref(), Some("no-store"));

    // A bad key changes nothing: the probes do not look at it.
    let resp = app
        .client
        .get(root(app, "/readyz"))
        .header("Authorization", "Bearer nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    // A migration the database lacks makes the process not ready, and says which.
    let last = laneway_store::Db::migration_versions(match app.backend {
        Backend::Sqlite => laneway_store::Backend::Sqlite,
        Backend::Postgres => laneway_store::Backend::Postgres,
    })
    .into_iter()
    .max()
    .unwrap();
    exec(
        app,
        &format!("UPDATE _sqlx_migrations SET success = false WHERE version = {last}"),
    )
    .await;
    let (status, body, _) = probe(app, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["failing"], json!(["migrations"]));
    assert_eq!(body["checks"]["migrations"], format!("not applied: {last}"));
    assert_eq!(body["checks"]["database"], "ok");
    // Liveness is unaffected: the process still answers.
    assert_eq!(probe(app, "/healthz").await.0, 200);
    exec(
        app,
        &format!("UPDATE _sqlx_migrations SET success = true WHERE version = {last}"),
    )
    .await;
    assert_eq!(probe(app, "/readyz").await.0, 200);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_reports_a_disabled_engine_without_failing() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.webhooks.engine = false)
        .await
        .unwrap();
    let (status, body, _) = probe(&app, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["webhook_workers"], "disabled");
    assert_eq!(body["failing"], json!([]));
    app.stop().await;
}
