//! The `laneway` binary as an operator runs it: first start, restart, signals, the operator
//! commands, configuration layering and start-up errors.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_laneway");

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("laneway.db").display())
}

/// A running `laneway serve`, with its stdout (the bootstrap key, if any) and address.
pub(crate) struct Served {
    pub child: Child,
    pub addr: String,
    /// The metrics listener's address (with `--metrics-listen`).
    pub metrics_addr: Option<String>,
    stdout: BufReader<tokio::process::ChildStdout>,
}

pub(crate) async fn serve(db_url: &str) -> Served {
    serve_with(db_url, &[]).await
}

/// `laneway serve` with extra flags.
pub(crate) async fn serve_with(db_url: &str, extra: &[&str]) -> Served {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--database-url",
            db_url,
        ])
        .args(extra)
        .env_remove("DATABASE_URL")
        .env_remove("LANEWAY_CONFIG")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn laneway serve");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut metrics_addr = None;
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                if v["fields"]["message"] == "metrics listening (GET /metrics)" {
                    metrics_addr = v["fields"]["addr"].as_str().map(str::to_string);
                }
                if v["fields"]["message"] == "Laneway listening" {
                    return v["fields"]["addr"].as_str().map(str::to_string);
                }
            }
        }
        None
    })
    .await
    .expect("server started in time")
    .expect("server logged its address");
    // Keep draining stderr so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    Served {
        child,
        addr,
        metrics_addr,
        stdout,
    }
}

impl Served {
    /// The first line on stdout (the bootstrap key is printed before the server listens).
    pub async fn first_line(&mut self) -> String {
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(10), self.stdout.read_line(&mut line))
            .await
            .expect("stdout line in time")
            .expect("read stdout");
        line
    }

    pub fn api(&self, path: &str) -> String {
        format!("http://{}/api/v1{}", self.addr, path)
    }

    /// SIGKILL: the process dies at once, mid-write and mid-delivery.
    pub async fn kill9(mut self) {
        let pid = self.child.id().expect("pid").to_string();
        let ok = std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .expect("kill");
        assert!(ok.success());
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }

    /// SIGTERM, then everything the process printed on stdout and its exit status.
    pub async fn terminate(mut self) -> (String, std::process::ExitStatus) {
        let pid = self.child.id().expect("pid").to_string();
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(ok.success());
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("exits after SIGTERM")
            .expect("wait");
        let mut out = String::new();
        self.stdout
            .read_to_string(&mut out)
            .await
            .expect("read stdout");
        (out, status)
    }
}

async fn me(url: &str, token: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn run(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("LANEWAY_CONFIG")
        .env_remove("LANEWAY_LISTEN")
        .stdin(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("command finished")
        .expect("command ran");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn first_start_prints_one_key_and_restart_prints_none() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());

    let mut first = serve(&url).await;
    let line = first.first_line().await;
    let token = line.trim().to_string();
    assert!(
        token.starts_with("lw_live_") && token.len() > 30,
        "{line:?}"
    );
    let (code, body) = me(&first.api("/me"), &token).await;
    assert_eq!(code, 200, "{body}");
    let (rest, status) = first.terminate().await;
    assert!(status.success(), "SIGTERM exits 0, got {status:?}");
    assert_eq!(rest, "", "exactly one line on stdout");
    let token = token.as_str();

    let second = serve(&url).await;
    let (code, body) = me(&second.api("/me"), token).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["data"]["workspace"]["name"], "Default");
    assert_eq!(body["data"]["scope"], "admin");
    let ws = body["data"]["workspace"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ws.starts_with("ws_"));
    let (code, schema) = me(&second.api("/schema"), token).await;
    assert_eq!(code, 200);
    assert_eq!(
        schema["data"]["pipelines"].as_array().unwrap().len(),
        1,
        "demo schema not duplicated"
    );
    let (out, status) = second.terminate().await;
    assert!(status.success());
    assert_eq!(out, "", "a restart prints no key");
}

#[tokio::test]
async fn sigterm_drains_and_exits_zero_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    let served = serve(&sqlite_url(dir.path())).await;
    // Requests keep working until the signal.
    let (code, _) = me(&served.api("/me"), "lw_live_nope").await;
    assert_eq!(code, 401);
    let (_, status) = served.terminate().await;
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn operator_commands_create_workspace_member_and_keys() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let db = ["--database-url", url.as_str()];

    let (code, _, err) = run(&[&["migrate"][..], &db].concat(), &[]).await;
    assert_eq!(code, 0, "{err}");

    let (code, ws, err) = run(
        &[&["workspace", "create", "--name", "Acme Lawn"][..], &db].concat(),
        &[],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let ws = ws.trim().to_string();
    assert!(ws.starts_with("ws_"), "{ws}");

    // No owner yet: a key needs --member.
    let (code, _, err) = run(
        &[
            &["key", "create", "--workspace", &ws, "--scope", "read"][..],
            &db,
        ]
        .concat(),
        &[],
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("no owner"), "{err}");

    let (code, member, err) = run(
        &[
            &[
                "member",
                "create",
                "--workspace",
                &ws,
                "--email",
                "Ann@Example.com",
                "--name",
                "Ann",
                "--role",
                "owner",
            ][..],
            &db,
        ]
        .concat(),
        &[],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let member = member.trim().to_string();
    assert!(uuid::Uuid::parse_str(&member).is_ok(), "{member}");

    let (code, _, err) = run(
        &[
            &[
                "member",
                "create",
                "--workspace",
                &ws,
                "--email",
                "ann@example.com",
                "--name",
                "Ann 2",
            ][..],
            &db,
        ]
        .concat(),
        &[],
    )
    .await;
    assert_eq!(code, 1, "duplicate email refused");
    assert!(err.contains("already exists"), "{err}");

    let (code, token, err) = run(
        &[
            &[
                "key",
                "create",
                "--workspace",
                &ws,
                "--scope",
                "write",
                "--name",
                "zapier",
            ][..],
            &db,
        ]
        .concat(),
        &[],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let token = token.trim().to_string();
    assert!(token.starts_with("lw_live_"));

    let (code, _, err) = run(
        &[
            &["key", "create", "--workspace", "ws_nope", "--scope", "read"][..],
            &db,
        ]
        .concat(),
        &[],
    )
    .await;
    assert_eq!(code, 1);
    assert_eq!(err.trim().lines().count(), 1, "one-line error: {err}");
    assert!(err.contains("ws_nope"), "{err}");

    // The database already holds a workspace, so serve bootstraps nothing.
    let served = serve(&url).await;
    let (code, body) = me(&served.api("/me"), &token).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["data"]["workspace"]["name"], "Acme Lawn");
    assert_eq!(body["data"]["member"]["email"], "ann@example.com");
    assert_eq!(body["data"]["scope"], "write");
    let key_id = body["data"]["key_id"].as_str().unwrap().to_string();

    let (code, _, err) = run(&[&["key", "revoke", &key_id][..], &db].concat(), &[]).await;
    assert_eq!(code, 0, "{err}");
    let (code, _) = me(&served.api("/me"), &token).await;
    assert_eq!(code, 401, "a revoked key stops working at once");
    let (code, _, _) = run(&[&["key", "revoke", "key_missing"][..], &db].concat(), &[]).await;
    assert_eq!(code, 1);

    let (out, status) = served.terminate().await;
    assert!(status.success());
    assert_eq!(out, "");
}

#[tokio::test]
async fn flags_beat_env_beat_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let file_db = format!("sqlite://{}", dir.path().join("file.db").display());
    let env_db = format!("sqlite://{}", dir.path().join("env.db").display());
    let flag_db = format!("sqlite://{}", dir.path().join("flag.db").display());
    let cfg = dir.path().join("laneway.toml");
    std::fs::write(&cfg, format!("database_url = \"{file_db}\"\n")).unwrap();
    let cfg = cfg.to_str().unwrap();

    let (code, _, err) = run(&["--config", cfg, "migrate"], &[]).await;
    assert_eq!(code, 0, "{err}");
    assert!(dir.path().join("file.db").exists());
    assert!(!dir.path().join("env.db").exists());

    let (code, _, err) = run(&["--config", cfg, "migrate"], &[("DATABASE_URL", &env_db)]).await;
    assert_eq!(code, 0, "{err}");
    assert!(dir.path().join("env.db").exists());

    let (code, _, err) = run(
        &["--config", cfg, "--database-url", &flag_db, "migrate"],
        &[("DATABASE_URL", &env_db)],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(dir.path().join("flag.db").exists());

    // A typo in the file is an error, not silently ignored.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "databse_url = \"x\"\n").unwrap();
    let (code, _, err) = run(&["--config", bad.to_str().unwrap(), "migrate"], &[]).await;
    assert_eq!(code, 1);
    assert!(err.contains("databse_url"), "{err}");
}

#[tokio::test]
async fn unreachable_database_is_a_one_line_error_with_the_password_redacted() {
    let (code, out, err) = run(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "postgres://bob:hunter2@127.0.0.1:1/laneway",
        ],
        &[("RUST_LOG", "off")],
    )
    .await;
    assert_eq!(code, 1, "stdout: {out} stderr: {err}");
    assert!(!err.contains("hunter2"), "password leaked: {err}");
    assert!(
        err.contains("postgres://bob:****@127.0.0.1:1/laneway"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[tokio::test]
async fn bad_listen_address_and_unknown_database_scheme_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let (code, _, err) = run(
        &["serve", "--listen", "nonsense", "--database-url", &url],
        &[("RUST_LOG", "off")],
    )
    .await;
    assert_eq!(code, 1);
    assert!(err.contains("invalid listen address"), "{err}");
    let (code, _, err) = run(&["migrate", "--database-url", "mysql://x/y"], &[]).await;
    assert_eq!(code, 1);
    assert!(err.contains("unsupported database URL"), "{err}");
}

#[tokio::test]
async fn bad_public_url_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    for bad in ["ftp://crm.example.com", "crm.example.com", "https://"] {
        let (code, _, err) = run(
            &["serve", "--public-url", bad, "--database-url", &url],
            &[("RUST_LOG", "off")],
        )
        .await;
        assert_eq!(code, 1, "{bad}: {err}");
        assert!(err.contains("invalid public URL"), "{bad}: {err}");
    }
    let (code, _, err) = run(
        &["serve", "--database-url", &url],
        &[("RUST_LOG", "off"), ("LANEWAY_PUBLIC_URL", "mailto:x@y")],
    )
    .await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("invalid public URL"), "{err}");
}

#[tokio::test]
async fn bad_trusted_proxies_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    for bad in ["10.0.0.0/33", "proxy.local", "127.0.0.1, nope"] {
        let (code, _, err) = run(
            &["serve", "--trusted-proxies", bad, "--database-url", &url],
            &[("RUST_LOG", "off")],
        )
        .await;
        assert_eq!(code, 1, "{bad}: {err}");
        assert!(err.contains("invalid trusted proxies"), "{bad}: {err}");
        assert!(err.contains("is not an IP address or CIDR"), "{bad}: {err}");
    }
}
