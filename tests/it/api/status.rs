//! Status, lists and health.

use reqwest::Client;
use shufflecast::testkit::http::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_and_health_answer_on_air() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = super::on_air(dir.path(), &[]).await;
    let c = Client::new();
    let status = json(&c, &s.url("/api/status")).await;
    assert_eq!(status["on_air"], true);
    assert!(status["library"]["present"].as_u64().unwrap() >= 1);
    let now = json(&c, &s.url("/api/stream-status")).await;
    assert_eq!(now["on_air"], true);
    assert!(now["clip"]["title"].is_string() && now["clip"]["duration"].as_f64().unwrap() > 0.0);
    for route in [
        "/api/library",
        "/api/stats",
        "/api/jobs",
        "/api/chunks?limit=5&sort=size&order=asc&q=test",
    ] {
        json(&c, &s.url(route)).await;
    }
    for route in ["/readyz", "/healthz"] {
        assert_eq!(c.get(s.url(route)).send().await.unwrap().status(), 200);
    }
    s.stop().await;
}
