//! The binary on its own folders, bad files among them, and across restarts: what
//! its logs and a graceful stop show (the stream over HTTP is `api::hls`).

use std::time::Duration;

use crate::harness::{self, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_folders_with_bad_files_among_them() {
    let Some(_limit) = crate::limit::slow(900) else {
        return;
    };
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
    server.wait_ready(shufflecast::testkit::PATIENCE).await;
    let watched = harness::watch_live(&server.base, 12).await;
    let seqs = &watched.seqs;
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    let capture = dir.path().join("capture.ts");
    watched.save(&capture);
    let (_, errors) = harness::decode(&capture);
    assert!(errors.trim().is_empty(), "{errors}");
    // Each bad file is skipped with a logged reason once it is looked at: the
    // music's turn may come after the stream is on air (on a busy machine, well
    // after).
    for bad in ["empty.mp4", "notes.MKV", "broken.mp3"] {
        let what = format!("{bad} skipped with a logged reason");
        shufflecast::testkit::until(&what, shufflecast::testkit::PATIENCE, async || {
            server.logs().contains(bad)
        })
        .await;
    }
}

async fn playlist(client: &reqwest::Client, base: &str) -> String {
    shufflecast::testkit::http::text(client, &format!("{base}/hls/stream.m3u8")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_continues_the_stream_airs_the_chunks_on_disk_and_drops_other_sizes() {
    let Some(_limit) = crate::limit::slow(900) else {
        return;
    };
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
    server.wait_ready(shufflecast::testkit::PATIENCE).await;
    server
        .wait_log("chunk ready", shufflecast::testkit::PATIENCE)
        .await;
    // Where the stream is when it stops: the last segment's number and timestamps.
    let client = reqwest::Client::new();
    let before = playlist(&client, &server.base).await;
    let status = server.stop();
    let (seq0, disc0, items0) = harness::parse_playlist(&before);
    let last_seq = seq0 + items0.len() as u64 - 1;
    let last_uri = &items0.last().unwrap().0;
    let last_seg = harness::classic(&dir.path().join("data"))
        .join("hls")
        .join(last_uri);
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
    let leftovers: Vec<_> =
        std::fs::read_dir(harness::classic(&dir.path().join("data")).join("chunks"))
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
    server.wait_ready(shufflecast::testkit::PATIENCE).await;
    assert!(
        server
            .logs()
            .contains("removing chunk made for another output size or frame rate"),
        "{}",
        server.logs()
    );
    assert!(
        !harness::classic(&dir.path().join("data"))
            .join("chunks")
            .join(&ready_chunk)
            .exists()
    );
}
