//! The OpenAPI document.

use reqwest::{Client, Method, StatusCode};
use shufflecast::testkit::http::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_routes_that_all_answer() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = super::quiet(dir.path(), &[]).await;
    let c = Client::new();
    let doc = json(&c, &s.url("/api/openapi.json")).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 20);
    for (path, ops) in paths {
        if path.contains('{') || path == "/api/events" {
            continue;
        }
        for method in ops.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = c.request(m, s.url(path)).send().await.unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            assert!(
                !body.contains("no such route"),
                "{method} {path} is documented but not routed"
            );
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }
    s.stop().await;
}
