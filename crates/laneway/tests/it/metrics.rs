//! `laneway serve --metrics-listen`: Prometheus metrics on their own address, scraped and
//! parsed as Prometheus would, on each backend.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;

use crate::cli::serve_with;
use crate::support::{drop_pg_database, fresh_pg_database};

/// One sample line: `name{k="v",...} value`.
type Sample = (String, HashMap<String, String>, f64);

/// Parses the Prometheus text format strictly: every line a comment, blank, or a sample whose
/// value is a number; every sample's family declared by a `# TYPE` line.
fn parse(text: &str) -> Vec<Sample> {
    let mut typed = std::collections::HashSet::new();
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let name = parts.next().unwrap().to_string();
            let kind = parts.next().expect("a type");
            assert!(
                ["counter", "gauge", "histogram", "summary"].contains(&kind),
                "{line}"
            );
            typed.insert(name);
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample has a value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("numeric value: {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => {
                let l = l.strip_suffix('}').expect("labels close");
                let mut map = HashMap::new();
                for pair in l.split("\",").filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once("=\"").expect("k=\"v\"");
                    map.insert(k.to_string(), v.trim_end_matches('"').to_string());
                }
                (n.to_string(), map)
            }
            None => (series.to_string(), HashMap::new()),
        };
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .filter(|f| typed.contains(*f))
            .unwrap_or(&name)
            .to_string();
        assert!(typed.contains(&family), "no # TYPE for {name}");
        out.push((name, labels, value));
    }
    out
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.2)
}

async fn scrape(addr: &str) -> Vec<Sample> {
    let r = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    parse(&r.text().await.unwrap())
}

async fn scraped_and_parsed(url: &str) {
    let mut srv = serve_with(url, &["--metrics-listen", "127.0.0.1:0"]).await;
    let token = srv.first_line().await.trim().to_string();
    let maddr = srv.metrics_addr.clone().expect("metrics address logged");
    assert_ne!(maddr, srv.addr, "metrics have their own address");
    let http = reqwest::Client::new();
    let auth = format!("Bearer {token}");
    for _ in 0..2 {
        let r = http
            .get(srv.api("/me"))
            .header("Authorization", &auth)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = http
        .post(srv.api("/records"))
        .header("Authorization", &auth)
        .json(
            &json!({"type": "lead", "title": "Metered", "pipeline": "main-sales", "stage": "new"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http
        .get(srv.api("/no-such-route"))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The API does not serve metrics.
    let r = http
        .get(format!("http://{}/metrics", srv.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let stream = http
        .get(srv.api("/events/stream"))
        .header("Authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);

    let m = scrape(&maddr).await;
    let req = |route: &str, method: &str, status: &str| {
        value(
            &m,
            "laneway_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert_eq!(req("/api/v1/me", "GET", "200"), Some(2.0));
    assert_eq!(req("/api/v1/records", "POST", "201"), Some(1.0));
    assert_eq!(req("unmatched", "GET", "404"), Some(2.0));
    assert_eq!(
        value(
            &m,
            "laneway_http_request_duration_seconds_count",
            &[("route", "/api/v1/me"), ("status", "200")]
        ),
        Some(2.0)
    );
    assert!(value(
        &m,
        "laneway_http_request_duration_seconds_bucket",
        &[("route", "/api/v1/me"), ("le", "+Inf")]
    )
    .is_some());
    assert!(value(&m, "laneway_events_written_total", &[]).unwrap() >= 1.0);
    assert_eq!(value(&m, "laneway_event_stream_clients", &[]), Some(1.0));
    assert_eq!(value(&m, "laneway_webhook_workers_running", &[]), Some(3.0));
    assert_eq!(
        value(&m, "laneway_webhook_deliveries", &[("status", "pending")]),
        Some(0.0)
    );
    let pool = if url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite_write"
    };
    assert!(value(&m, "laneway_db_connections_max", &[("pool", pool)]).unwrap() >= 1.0);
    assert!(value(&m, "laneway_db_acquire_seconds_count", &[("pool", pool)]).unwrap() >= 1.0);
    assert_eq!(
        value(&m, "laneway_db_acquire_waiting", &[("pool", pool)]),
        Some(0.0)
    );

    // The stream's end is counted; the record's event is fanned out (lag observed).
    drop(stream);
    let mut gone = false;
    for _ in 0..50 {
        let m = scrape(&maddr).await;
        if value(&m, "laneway_event_stream_clients", &[]) == Some(0.0)
            && value(&m, "laneway_webhook_fanout_lag_seconds_count", &[]).unwrap_or(0.0) >= 1.0
        {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        gone,
        "a closed stream leaves the gauge; fan-out lag observed"
    );
    let r = reqwest::get(format!("http://{maddr}/other")).await.unwrap();
    assert_eq!(r.status(), 404);
    let (_, status) = srv.terminate().await;
    assert!(status.success());
}

#[tokio::test]
async fn metrics_are_scraped_and_parsed_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("laneway.db").display());
    scraped_and_parsed(&url).await;
}

#[tokio::test]
async fn metrics_are_scraped_and_parsed_postgres() {
    let Some((url, name)) = fresh_pg_database().await else {
        eprintln!("LANEWAY_TEST_DATABASE_URL not set: metrics on PostgreSQL not tested");
        return;
    };
    scraped_and_parsed(&url).await;
    drop_pg_database(&name).await;
}
