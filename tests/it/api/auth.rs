//! Who may do what: the admin token and the same-origin check on mutating routes,
//! and the viewer token on the stream, the playlist and the guide.

use reqwest::{Client, Method, StatusCode};
use shufflecast::testkit::http::{call, text};
use shufflecast::testkit::server::TestServer;
use shufflecast::testkit::until;

use super::TOKEN;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutating_routes_need_the_admin_token_from_the_same_origin() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = super::quiet(dir.path(), &[]).await;
    let c = Client::new();
    let skip = s.url("/api/skip_to_next");
    let status = async |method: Method, token: Option<&str>, origin: Option<&str>| {
        call(&c, method, &skip, token, None, origin).await.0
    };
    assert_eq!(
        status(Method::POST, None, None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(Method::POST, Some("wrong-token"), None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(Method::POST, Some(TOKEN), Some("https://evil.example")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status(Method::POST, Some(TOKEN), Some(&s.base)).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        status(Method::GET, Some(TOKEN), None).await,
        StatusCode::METHOD_NOT_ALLOWED
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_token_guards_the_stream_and_the_guide() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(
        dir.path(),
        &[
            "--admin-token",
            TOKEN,
            "--viewer-token",
            "viewer-secret-1",
            "--width",
            "320",
            "--height",
            "180",
        ],
    )
    .await;
    let b = s.base.clone();
    let c = Client::new();
    until("on air", shufflecast::testkit::PATIENCE, async || {
        c.get(format!("{b}/hls/stream.m3u8?token=viewer-secret-1"))
            .send()
            .await
            .unwrap()
            .status()
            == 200
    })
    .await;
    for route in [
        "/hls/stream.m3u8",
        "/iptv.m3u",
        "/epg.xml",
        "/api/guide",
        "/api/status",
        "/api/stream-status",
    ] {
        let r = c.get(format!("{b}{route}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{route}");
        let r = c
            .get(format!("{b}{route}?token=wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{route}");
        let r = c
            .get(format!("{b}{route}"))
            .bearer_auth("viewer-secret-1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{route}");
    }
    assert_eq!(
        c.get(format!("{b}/healthz")).send().await.unwrap().status(),
        200
    );
    // Players follow the URIs the playlist gives, so those carry the token.
    let playlist = text(&c, &format!("{b}/hls/stream.m3u8?token=viewer-secret-1")).await;
    let (_, _, items) = crate::harness::parse_playlist(&playlist);
    assert!(items[0].0.ends_with("?token=viewer-secret-1"), "{playlist}");
    let seg = c
        .get(format!("{b}/hls/{}", items[0].0))
        .send()
        .await
        .unwrap();
    assert_eq!(seg.status(), 200);
    let m3u = text(&c, &format!("{b}/iptv.m3u?token=viewer-secret-1")).await;
    assert!(
        m3u.contains("/hls/main/stream.m3u8?token=viewer-secret-1"),
        "{m3u}"
    );
    // The viewer token does not open the admin routes.
    let (st, _) = call(
        &c,
        Method::POST,
        &format!("{b}/api/skip_to_next"),
        Some("viewer-secret-1"),
        None,
        None,
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    s.stop().await;
}
