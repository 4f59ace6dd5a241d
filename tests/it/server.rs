//! The whole server over HTTP, as players use it.

use std::time::Duration;

use crate::harness::{self, Server, parse_playlist};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_channel_starts_fast_and_plays_like_a_live_stream() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &["--width", "640", "--height", "360"]);
    let ready = server.wait_ready(Duration::from_secs(60)).await;
    eprintln!("fast start: first segment in the playlist after {ready:?}");
    let base = server.base.clone();
    let client = reqwest::Client::new();

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
    let text = client
        .get(format!("{base}/hls/stream.m3u8"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
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
    let before = live_edge(
        client
            .get(&playlist_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = live_edge(
        client
            .get(&playlist_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(after > before, "the stream keeps flowing");

    // Segments are mirrored to disk, and old ones deleted.
    let on_disk = std::fs::read_dir(server.data.join("hls")).unwrap().count();
    assert!(
        (2..=2 * 10 + 2).contains(&on_disk),
        "{on_disk} files in data/hls"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_folders_with_bad_files_among_them() {
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("videos");
    harness::make_sources(&videos);
    std::fs::write(videos.join("empty.mp4"), b"").unwrap();
    std::fs::write(videos.join("notes.MKV"), b"this is not a video").unwrap();
    let good = std::fs::read(videos.join("wide-25fps.mp4")).unwrap();
    std::fs::write(videos.join("truncated.mp4"), &good[..good.len() / 3]).unwrap();
    let music = dir.path().join("music");
    harness::make_music(&music, 4);
    std::fs::write(music.join("broken.mp3"), b"not audio").unwrap();

    let mut server = Server::start(
        dir.path(),
        &[
            "--videos",
            videos.to_str().unwrap(),
            "--audio",
            music.to_str().unwrap(),
            "--width",
            "320",
            "--height",
            "180",
            "--clip-min",
            "2",
            "--clip-max",
            "2",
            "--chunk-duration",
            "6",
        ],
    );
    server.wait_ready(Duration::from_secs(60)).await;
    let watched = harness::watch_live(&server.base, 12).await;
    let seqs = &watched.seqs;
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    let capture = dir.path().join("capture.ts");
    watched.save(&capture);
    let (_, errors) = harness::decode(&capture);
    assert!(errors.trim().is_empty(), "{errors}");
    let logs = server.logs();
    for bad in ["empty.mp4", "notes.MKV", "broken.mp3"] {
        assert!(
            logs.contains(bad),
            "{bad} skipped with a logged reason:\n{logs}"
        );
    }
}

async fn playlist(client: &reqwest::Client, base: &str) -> String {
    client
        .get(format!("{base}/hls/stream.m3u8"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_continues_the_stream_airs_the_chunks_on_disk_and_drops_other_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("videos");
    harness::make_sources(&videos);
    let args = |w: &'static str| {
        [
            "--videos".to_string(),
            videos.display().to_string(),
            "--width".into(),
            w.into(),
            "--height".into(),
            "180".into(),
            "--clip-min".into(),
            "2".into(),
            "--clip-max".into(),
            "2".into(),
            "--chunk-duration".into(),
            "4".into(),
        ]
    };
    let a = args("320");
    let mut server = Server::start(dir.path(), &a);
    server.wait_ready(Duration::from_secs(60)).await;
    server
        .wait_log("chunk ready", Duration::from_secs(60))
        .await;
    // Where the stream is when it stops: the last segment's number and timestamps.
    let client = reqwest::Client::new();
    let before = playlist(&client, &server.base).await;
    let status = server.stop();
    let (seq0, disc0, items0) = harness::parse_playlist(&before);
    let last_seq = seq0 + items0.len() as u64 - 1;
    let last_uri = &items0.last().unwrap().0;
    let last_seg = dir.path().join("data/hls").join(last_uri);
    // The disk mirror keeps the segments of the run until the next start.
    let last_pts = harness::packets(&last_seg)
        .iter()
        .filter(|p| p.kind == "video")
        .map(|p| p.pts)
        .max()
        .expect("video in the last segment");
    assert!(status.success(), "graceful stop on SIGTERM: {status}");
    let first_log = server.logs();
    drop(server);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("data/chunks"))
        .unwrap()
        .flat_map(|c| std::fs::read_dir(c.unwrap().path()).unwrap())
        .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no half-written clip left behind: {leftovers:?}"
    );

    // Same profile: the chunk on disk airs at once, before any new clip is encoded.
    std::fs::rename(dir.path().join("server.log"), dir.path().join("first.log")).unwrap();
    let mut server = Server::start(dir.path(), &a);
    server.wait_ready(Duration::from_secs(30)).await;
    server
        .wait_log("airing clip", Duration::from_secs(30))
        .await;
    let logs = server.logs();
    let ready_chunk = first_log
        .lines()
        .find(|l| l.contains("chunk ready"))
        .and_then(|l| l.split("chunk=").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .map(|s| {
            s.trim_matches(|c: char| !c.is_alphanumeric() && c != '-')
                .to_string()
        })
        .expect("chunk id in the first run's log");
    let first_airing = logs.lines().find(|l| l.contains("airing clip")).unwrap();
    assert!(
        first_airing.contains(&ready_chunk),
        "restart airs {ready_chunk} first: {first_airing}"
    );
    // The stream goes on: the sequence moves forward, timestamps too, past exactly
    // one discontinuity, and the discontinuity numbers continue.
    let after = playlist(&client, &server.base).await;
    let (seq1, disc1, items1) = harness::parse_playlist(&after);
    assert!(
        seq1 > last_seq,
        "sequence {seq1} follows {last_seq}:\n{before}\n{after}"
    );
    assert!(
        items1[0].2,
        "the first segment after a restart is a discontinuity:\n{after}"
    );
    let disc_before_end = disc0 + items0.iter().filter(|i| i.2).count() as u64;
    assert_eq!(
        disc1, disc_before_end,
        "discontinuity numbers continue:\n{before}\n{after}"
    );
    let first_new = client
        .get(format!("{}/hls/{}", server.base, items1[0].0))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let first_path = dir.path().join("first-after-restart.ts");
    std::fs::write(&first_path, &first_new).unwrap();
    let first_pts = harness::packets(&first_path)
        .iter()
        .filter(|p| p.kind == "video")
        .map(|p| p.pts)
        .min()
        .unwrap();
    assert!(
        first_pts > last_pts,
        "timestamps go on: {first_pts} after {last_pts}"
    );
    server.stop();
    drop(server);

    // Another output size: the old chunks cannot splice into this channel and go.
    std::fs::rename(dir.path().join("server.log"), dir.path().join("second.log")).unwrap();
    let b = args("480");
    let mut server = Server::start(dir.path(), &b);
    server.wait_ready(Duration::from_secs(60)).await;
    assert!(
        server
            .logs()
            .contains("removing chunk made for another output size or frame rate"),
        "{}",
        server.logs()
    );
    assert!(!dir.path().join("data/chunks").join(&ready_chunk).exists());
}
