//! The live stream over HTTP, as players use it: the playlist and segments of the
//! demo channel, their headers, ranges, and names that lead nowhere else.

use std::time::Duration;

use shufflecast::testkit::http;
use shufflecast::testkit::server::TestServer;

use crate::harness::{self, parse_playlist};

/// The demo channel starts on its first clip, as soon as that clip is made (no
/// slate, no waiting for a whole chunk: how long that takes is a figure of
/// `scripts/bench.sh`, not a test's), and plays like a live stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_channel_starts_on_its_first_clip_and_plays_like_a_live_stream() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path(), &["--width", "640", "--height", "360"]).await;
    let ready = server.wait_ready(shufflecast::testkit::PATIENCE).await;
    eprintln!("first segment in the playlist after {ready:?}");
    let base = server.base.clone();
    let client = reqwest::Client::new();
    let status = http::json(&client, &format!("{base}/api/stream-status")).await;
    assert_eq!(status["on_air"], true, "{status}");
    assert_eq!(
        status["slate"], false,
        "the first segment is a clip: {status}"
    );
    assert!(status["clip"].is_object(), "{status}");

    // Playlist headers.
    let r = client
        .get(format!("{base}/hls/stream.m3u8"))
        .header("Origin", "http://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/vnd.apple.mpegurl");
    assert_eq!(r.headers()["cache-control"], "public, max-age=1");
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let text = r.text().await.unwrap();
    assert!(text.starts_with("#EXTM3U\n"));
    assert!(text.contains("#EXT-X-TARGETDURATION:2\n"));
    assert!(!text.contains("#EXT-X-ENDLIST"));

    // Watch like a player: sequence numbers continuous, nothing missed.
    let watched = harness::watch_live(&base, 10).await;
    let seqs = &watched.seqs;
    assert!(seqs.len() >= 4, "segments flow: {seqs:?}");
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "continuous sequence: {seqs:?}"
    );
    let capture = dir.path().join("capture.ts");
    watched.save(&capture);
    let (video, audio) = harness::timestamp_steps(&capture);
    assert!(
        video.iter().all(|s| *s == 3000),
        "video DTS continuous over HTTP"
    );
    assert!(!audio.is_empty(), "the stream always carries audio");
    assert!(
        audio.iter().all(|s| *s == 1920),
        "audio continuous over HTTP"
    );

    // Segment headers, Range and HEAD.
    let text = http::text(&client, &format!("{base}/hls/stream.m3u8")).await;
    let (_, _, items) = parse_playlist(&text);
    let uri = &items.last().unwrap().0;
    let r = client
        .get(format!("{base}/hls/{uri}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "video/mp2t");
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let full = r.bytes().await.unwrap();
    let r = client
        .get(format!("{base}/hls/{uri}"))
        .header("Range", "bytes=188-375")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 188-375/{}", full.len())
    );
    assert_eq!(r.bytes().await.unwrap(), full.slice(188..376));
    let r = client
        .get(format!("{base}/hls/{uri}"))
        .header("Range", format!("bytes={}-", full.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 416);
    let r = client
        .head(format!("{base}/hls/{uri}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], full.len().to_string());

    // Unknown names and traversal attempts: 404, never a file from disk.
    for bad in [
        "nope.ts",
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2fCargo.toml",
        "..%252f..%252fetc%252fpasswd",
        "0-0.ts",
    ] {
        let r = client
            .get(format!("{base}/hls/{bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{bad}");
    }
    let r = client
        .get(format!("{base}/hls/../../etc/passwd"))
        .send()
        .await
        .unwrap();
    assert!(r.status() == 404, "{}", r.status());

    // A client that drops a download halfway does not disturb the stream.
    {
        let mut stream = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
            .await
            .unwrap();
        use tokio::io::AsyncWriteExt;
        stream
            .write_all(format!("GET /hls/{uri} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        use tokio::io::AsyncReadExt;
        let _ = stream.read(&mut buf).await;
    } // dropped mid-body
    let live_edge = |text: String| {
        let (seq, _, items) = parse_playlist(&text);
        seq + items.len() as u64
    };
    let playlist_url = format!("{base}/hls/stream.m3u8");
    let before = live_edge(http::text(&client, &playlist_url).await);
    http::until(
        "the stream to flow on after the dropped download",
        Duration::from_secs(30),
        async || live_edge(http::text(&client, &playlist_url).await) > before,
    )
    .await;

    // Segments are mirrored to disk, and old ones deleted.
    let on_disk = std::fs::read_dir(crate::harness::classic(&server.data).join("hls"))
        .unwrap()
        .count();
    assert!(
        (2..=2 * 10 + 2).contains(&on_disk),
        "{on_disk} files in data/hls"
    );
    server.stop().await;
}
