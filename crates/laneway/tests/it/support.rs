//! The test harness: a real Laneway server on a port-0 socket over a fresh database (a temp
//! SQLite file, or a new PostgreSQL database when `LANEWAY_TEST_DATABASE_URL` is set), driven
//! over HTTP with typed helpers that assert the status of every call.

#![allow(dead_code)]

use std::sync::Once;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::Connection;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const PG_ENV: &str = "LANEWAY_TEST_DATABASE_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a test body once per backend: `backend_test!(name, |app| async move { ... });`
/// generates `name::sqlite` and `name::postgres` (which skips, saying so, without the env var).
#[macro_export]
macro_rules! backend_test {
    // `backend_test!(name, with adjust_config, |app| ...)`: the server takes adjusted settings.
    ($name:ident, with $adjust:expr, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: &$crate::support::TestApp) {
                $body.await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app =
                    $crate::support::TestApp::spawn_with($crate::support::Backend::Sqlite, $adjust)
                        .await
                        .expect("sqlite");
                run(&app).await;
                app.stop().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) = $crate::support::TestApp::spawn_with(
                    $crate::support::Backend::Postgres,
                    $adjust,
                )
                .await
                else {
                    return;
                };
                run(&app).await;
                app.stop().await;
            }
        }
    };
    ($name:ident, |$app:ident| $body:expr) => {
        $crate::backend_test!($name, with $crate::support::defaults, |$app| $body);
    };
}

/// The test server's settings as they are.
pub fn defaults(_: &mut laneway_server::ServerConfig) {}

static SKIP_NOTE: Once = Once::new();

/// A fresh PostgreSQL database on the test server, or `None` (with a note) when not configured.
pub async fn fresh_pg_database() -> Option<(String, String)> {
    let Ok(admin_url) = std::env::var(PG_ENV) else {
        SKIP_NOTE.call_once(|| {
            // Written to the real stderr (not the captured test output) so the run says it.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "note: {PG_ENV} is not set; the PostgreSQL half of every backend test is skipped (SQLite only)"
            );
        });
        return None;
    };
    let name = format!("lw_test_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {PG_ENV}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let _ = conn.close().await;
    Some((replace_db_name(&admin_url, &name), name))
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let slash = base.rfind('/').expect("database URL has a path");
    let mut out = format!("{}/{}", &base[..slash], name);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

pub async fn drop_pg_database(name: &str) {
    if let Ok(admin_url) = std::env::var(PG_ENV) {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
        }
    }
}

/// A response: status, headers and the JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// `body.data`.
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// Asserts the error envelope and returns its code.
    pub fn error_code(&self) -> &str {
        assert_eq!(
            self.body["success"],
            Value::Bool(false),
            "not an error envelope: {}",
            self.text
        );
        assert!(
            self.body["error"].is_string(),
            "error without message: {}",
            self.text
        );
        self.body["code"].as_str().expect("error code")
    }
}

pub struct TestApp {
    pub backend: Backend,
    pub base: String,
    /// The admin key printed by first-start bootstrap.
    pub token: String,
    pub database_url: String,
    pub client: reqwest::Client,
    shutdown: CancellationToken,
    handle: Option<JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {})
            .await
            .expect("PostgreSQL not configured")
    }

    pub async fn spawn_postgres() -> Option<TestApp> {
        Self::spawn_with(Backend::Postgres, |_| {}).await
    }

    /// A server with adjusted settings (`None`: PostgreSQL asked for but not configured).
    pub async fn spawn_with(
        backend: Backend,
        adjust: impl FnOnce(&mut laneway_server::ServerConfig),
    ) -> Option<TestApp> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("laneway.db").display());
                Some(Self::start(backend, url, Some(dir), None, adjust).await)
            }
            Backend::Postgres => {
                let (url, name) = fresh_pg_database().await?;
                Some(Self::start(Backend::Postgres, url, None, Some(name), adjust).await)
            }
        }
    }

    /// A server on an existing database URL (the caller owns the database).
    pub async fn start_at(
        backend: Backend,
        url: String,
        adjust: impl FnOnce(&mut laneway_server::ServerConfig),
    ) -> TestApp {
        Self::start(backend, url, None, None, adjust).await
    }

    async fn start(
        backend: Backend,
        url: String,
        dir: Option<tempfile::TempDir>,
        pg_name: Option<String>,
        adjust: impl FnOnce(&mut laneway_server::ServerConfig),
    ) -> TestApp {
        let mut cfg = laneway_server::ServerConfig::new(url.clone());
        cfg.shutdown_grace = Duration::from_secs(5);
        cfg.db.max_connections = 4;
        // Tests fire requests faster than any person; the limiter has its own test.
        cfg.rate_limit = 0;
        adjust(&mut cfg);
        let prepared = laneway_server::prepare(cfg).await.expect("server prepares");
        // A second server on a database that is already set up prints no key.
        let token = prepared.bootstrap_token.clone().unwrap_or_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let shutdown = CancellationToken::new();
        let token_for_task = shutdown.clone();
        let state = prepared.state;
        let handle = tokio::spawn(async move {
            laneway_server::serve(state, listener, token_for_task)
                .await
                .expect("server runs");
        });
        TestApp {
            backend,
            base: format!("http://{addr}/api/v1"),
            token,
            database_url: url,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            shutdown,
            handle: Some(handle),
            _dir: dir,
            pg_name,
        }
    }

    /// Stops the server (draining requests) and drops a PostgreSQL test database.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(h) = self.handle.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
        }
        if let Some(name) = self.pg_name.take() {
            drop_pg_database(&name).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request with the admin key.
    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.req_as(&self.token, method, path)
    }

    pub fn req_as(&self, token: &str, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header("Authorization", format!("Bearer {token}"))
    }

    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        let r = rb.send().await.expect("request sent");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().await.expect("body read");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    /// Sends and asserts the status; panics with the body otherwise.
    pub async fn expect(&self, rb: reqwest::RequestBuilder, status: u16) -> Resp {
        let r = self.send(rb).await;
        assert_eq!(
            r.status.as_u16(),
            status,
            "unexpected status; body: {}",
            r.text
        );
        assert!(r.header("x-request-id").is_some(), "missing X-Request-Id");
        r
    }

    pub async fn get(&self, path: &str, status: u16) -> Resp {
        self.expect(self.req(Method::GET, path), status).await
    }
    pub async fn post(&self, path: &str, body: Value, status: u16) -> Resp {
        self.expect(self.req(Method::POST, path).json(&body), status)
            .await
    }
    pub async fn patch(&self, path: &str, body: Value, status: u16) -> Resp {
        self.expect(self.req(Method::PATCH, path).json(&body), status)
            .await
    }
    pub async fn delete(&self, path: &str, status: u16) -> Resp {
        self.expect(self.req(Method::DELETE, path), status).await
    }

    /// Creates an API key of `scope` for the bootstrap owner and returns its token.
    pub async fn key(&self, scope: &str) -> String {
        let r = self
            .post(
                "/keys",
                serde_json::json!({"name": format!("{scope} test"), "scope": scope}),
                201,
            )
            .await;
        r.data()["token"].as_str().expect("token").to_string()
    }

    /// A second, separate workspace with its own admin key (through the store, as the CLI does).
    pub async fn other_workspace(&self) -> String {
        let db = laneway_store::Db::connect(&self.database_url, &Default::default())
            .await
            .expect("connect");
        let mut s = db.write().await.expect("tx");
        let ws = laneway_server::bootstrap::create_workspace(&mut s, "Other")
            .await
            .expect("workspace");
        let owner = laneway_server::bootstrap::create_member(
            &mut s,
            &ws.id,
            "Other Owner",
            "other@example.com",
            laneway_core::model::Role::Owner,
            None,
        )
        .await
        .expect("member");
        let (_, token) = laneway_server::api::issue_key(
            &mut s,
            &ws.id,
            owner.id,
            "other admin".into(),
            laneway_core::model::Scope::Admin,
        )
        .await
        .expect("key");
        s.commit().await.expect("commit");
        db.close().await;
        token
    }

    /// Events of the workspace, oldest first, as `(name, data)`.
    pub async fn events(&self) -> Vec<(String, Value)> {
        let r = self.get("/events?per_page=100", 200).await;
        let mut out: Vec<(String, Value)> = r
            .data()
            .as_array()
            .expect("array")
            .iter()
            .map(|e| {
                (
                    e["event"].as_str().unwrap_or_default().to_string(),
                    e["data"].clone(),
                )
            })
            .collect();
        out.reverse();
        out
    }

    /// A lead on Main Sales / New, returned as the API returns it.
    pub async fn lead(&self, title: &str) -> Value {
        let r = self
            .post(
                "/records",
                serde_json::json!({"type": "lead", "title": title, "pipeline": "main-sales", "stage": "new"}),
                201,
            )
            .await;
        r.data().clone()
    }
}

/// Settings for a server behind a proxy on this machine: loopback peers are trusted proxies,
/// so their `X-Forwarded-For` and `X-Forwarded-Proto` are believed.
pub fn behind_local_proxy(c: &mut laneway_server::ServerConfig) {
    c.trusted_proxies = laneway_server::config::parse_trusted_proxies("127.0.0.1, ::1").unwrap();
}
