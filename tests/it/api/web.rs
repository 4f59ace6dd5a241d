//! The built web client's files, and nothing beside them.

use reqwest::{Client, StatusCode};
use shufflecast::testkit::http::text;

/// A built web client in `dir/site`, with a link that tries to lead out of it.
fn site(dir: &std::path::Path) -> String {
    let web = dir.join("site");
    std::fs::create_dir_all(web.join("assets")).unwrap();
    std::fs::write(
        web.join("index.html"),
        "<!doctype html><title>shufflecast</title>",
    )
    .unwrap();
    std::fs::write(web.join("assets/app-0123.js"), "console.log(1)").unwrap();
    std::fs::write(dir.join("secret.txt"), "secret").unwrap();
    let _ = std::os::unix::fs::symlink(dir.join("secret.txt"), web.join("leak.txt"));
    web.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_client_is_served_and_nothing_beside_it() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let web = site(dir.path());
    let s = super::quiet(dir.path(), &["--web-dir", &web]).await;
    let c = Client::new();
    let r = c.get(s.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let r = c.get(s.url("/assets/app-0123.js")).send().await.unwrap();
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(
        text(&c, &s.url("/settings")).await,
        "<!doctype html><title>shufflecast</title>",
        "client-side routes get the app"
    );
    for bad in [
        "/leak.txt",
        "/%2e%2e/secret.txt",
        "/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/%252e%252e/secret.txt",
        "/.%2e/secret.txt",
    ] {
        let r = c.get(s.url(bad)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{bad}");
        assert!(!r.text().await.unwrap().contains("secret"), "{bad}");
    }
    s.stop().await;
}
