//! Per-key rate limiting.

use reqwest::Method;

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_per_key() {
    let app = crate::TestApp::spawn_with(crate::Backend::Sqlite, |c| c.rate_limit = 2)
        .await
        .expect("sqlite");
    // Burst of 4 (twice the rate), then 429 for this key only.
    let mut codes = vec![];
    for _ in 0..8 {
        codes.push(app.send(app.req(Method::GET, "/me")).await.status.as_u16());
    }
    assert!(codes.iter().take(4).all(|c| *c == 200), "{codes:?}");
    assert!(codes.contains(&429), "{codes:?}");
    let r = app.send(app.req(Method::GET, "/me")).await;
    assert_eq!(r.status.as_u16(), 429);
    assert_eq!(r.error_code(), "rate_limited");
    let secs: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=2).contains(&secs), "{secs}");
    // Another credential has its own bucket.
    let other = app
        .send(app.req_as("lw_live_unknown", Method::GET, "/me"))
        .await;
    assert_eq!(other.status.as_u16(), 401);
    app.stop().await;
}
