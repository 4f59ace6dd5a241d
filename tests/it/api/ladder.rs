//! The quality ladder over HTTP, as players and tuner clients use it: the
//! multivariant playlist and what it announces against what each rung really is
//! (ffprobe), the rungs in lockstep (the same playlist, segments starting at the
//! same timestamp) across a skip and a restart, each rung's continuous stream and
//! Jellyfin's `?transcode=` profiles; and a channel's chunks from before it had a
//! ladder.

use std::path::Path;

use reqwest::{Client, Method};
use shufflecast::testkit::http::{call, text};
use shufflecast::testkit::media::{packets, streams};
use shufflecast::testkit::server::TestServer;

use super::{SMALL, TOKEN};

/// 640x360 at the top, 240p at 400 kb/s and 144p (at a bit rate scaled from the top's).
const LADDER: [&str; 6] = [
    "--width",
    "640",
    "--height",
    "360",
    "--renditions",
    "240p@400,144p",
];

fn args() -> Vec<&'static str> {
    let mut a = vec!["--admin-token", TOKEN];
    // SMALL's clip and chunk lengths; LADDER's size after its own.
    a.extend(&SMALL[4..]);
    a.extend(LADDER);
    a
}

/// `KEY=VALUE` attributes of an `EXT-X-STREAM-INF` line (quoted values unquoted).
fn attributes(line: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = line.split_once(':').map_or("", |(_, r)| r);
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let (value, next) = match after.strip_prefix('"') {
            Some(q) => {
                let (v, n) = q.split_once('"').unwrap_or((q, ""));
                (v, n.strip_prefix(',').unwrap_or(n))
            }
            None => after.split_once(',').unwrap_or((after, "")),
        };
        out.push((key.to_string(), value.to_string()));
        rest = next;
    }
    out
}

/// The first video timestamp and the picture size of a segment file.
fn first_pts_and_size(path: &Path) -> (i64, (u64, u64)) {
    let pts = packets(path)
        .iter()
        .find(|p| p.kind == "video")
        .expect("video in the segment")
        .pts;
    let v = &streams(path)[0];
    let size = (v["width"].as_u64().unwrap(), v["height"].as_u64().unwrap());
    (pts, size)
}

/// Every rung's playlist is the top's, byte for byte (the same sequence numbers,
/// durations, dates and discontinuities), and the newest segment starts at the
/// same timestamp in each, at the rung's own size.
async fn in_lockstep(c: &Client, s: &TestServer, dir: &Path, rungs: &[(&str, (u64, u64))]) {
    let top = text(c, &s.url("/hls/main/360p/stream.m3u8")).await;
    let (_, _, items) = crate::harness::parse_playlist(&top);
    let newest = &items.last().expect("segments listed").0;
    let mut firsts = Vec::new();
    for (rung, size) in rungs {
        // Byte for byte the top's, read just before or just after it (a segment
        // may come between two reads; not between three, many times over).
        let mut same = false;
        for _ in 0..5 {
            let before = text(c, &s.url("/hls/main/360p/stream.m3u8")).await;
            let playlist = text(c, &s.url(&format!("/hls/main/{rung}/stream.m3u8"))).await;
            let after = text(c, &s.url("/hls/main/360p/stream.m3u8")).await;
            if playlist == before || playlist == after {
                same = true;
                break;
            }
        }
        assert!(same, "{rung}'s playlist is not the top's");
        let (pts, got) = segment_of(c, s, rung, newest, dir).await;
        assert_eq!(got, *size, "{rung}'s picture");
        firsts.push(pts);
    }
    assert!(
        firsts.windows(2).all(|w| w[0] == w[1]),
        "{newest} starts at the same timestamp in every rung: {firsts:?}"
    );
}

/// Waits until `n` segments newer than the newest listed now are out.
async fn wait_segments(c: &Client, s: &TestServer, n: u64) {
    let newest = async || {
        let p = text(c, &s.url("/hls/main/360p/stream.m3u8")).await;
        let (seq, _, items) = crate::harness::parse_playlist(&p);
        seq + items.len() as u64
    };
    let want = newest().await + n;
    shufflecast::testkit::until(
        &format!("{n} more segments"),
        shufflecast::testkit::PATIENCE,
        async || newest().await >= want,
    )
    .await;
}

/// A few seconds of a continuous stream, saved to `file`.
async fn record(c: &Client, url: &str, file: &Path) {
    let mut r = c.get(url).send().await.unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    let mut out = Vec::new();
    while out.len() < 400_000 {
        match tokio::time::timeout(std::time::Duration::from_secs(30), r.chunk()).await {
            Ok(Ok(Some(b))) => out.extend_from_slice(&b),
            _ => break,
        }
    }
    std::fs::write(file, out).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ladder_is_announced_as_it_is_and_its_rungs_air_in_lockstep() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = TestServer::start(dir.path(), &args()).await;
    s.wait_200("/hls/stream.m3u8", shufflecast::testkit::PATIENCE)
        .await;
    let c = Client::new();

    // The multivariant playlist: each rung with what players need.
    let multivariant = text(&c, &s.url("/hls/stream.m3u8")).await;
    assert!(
        multivariant.contains("#EXT-X-INDEPENDENT-SEGMENTS"),
        "{multivariant}"
    );
    let lines: Vec<&str> = multivariant.lines().collect();
    let mut variants = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("#EXT-X-STREAM-INF:") {
            let a: std::collections::HashMap<String, String> = attributes(l).into_iter().collect();
            variants.push((a, lines[i + 1].to_string()));
        }
    }
    let mut sizes: Vec<&str> = variants
        .iter()
        .map(|(a, _)| a["RESOLUTION"].as_str())
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, ["256x144", "426x240", "640x360"], "{multivariant}");
    for (a, uri) in &variants {
        assert!(
            a["CODECS"].starts_with("avc1.64") && a["CODECS"].ends_with(",mp4a.40.2"),
            "{a:?}"
        );
        assert_eq!(a["FRAME-RATE"], "30.000");
        let (peak, avg): (u64, u64) = (
            a["BANDWIDTH"].parse().unwrap(),
            a["AVERAGE-BANDWIDTH"].parse().unwrap(),
        );
        assert!(avg > 0 && avg <= peak, "{a:?}");
        assert_eq!(
            uri,
            &format!(
                "{}p/stream.m3u8",
                a["RESOLUTION"].split('x').nth(1).unwrap()
            )
        );
    }
    // The 240p rung's 400 kb/s plus the music: announced at no less.
    let low = variants
        .iter()
        .find(|(a, _)| a["RESOLUTION"] == "426x240")
        .unwrap();
    assert!(
        low.0["BANDWIDTH"].parse::<u64>().unwrap() >= 560_000,
        "{:?}",
        low.0
    );
    // The default channel's rungs answer beside its multivariant playlist too.
    assert!(
        text(&c, &s.url("/hls/240p/stream.m3u8"))
            .await
            .contains("#EXTINF")
    );

    // Playlists are gzipped for clients that take it; segments never are.
    let r = c
        .get(s.url("/hls/stream.m3u8"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let rungs = [
        ("360p", (640, 360)),
        ("240p", (426, 240)),
        ("144p", (256, 144)),
    ];
    in_lockstep(&c, &s, dir.path(), &rungs).await;

    // A skip: still in lockstep, every rung.
    let (st, _) = call(
        &c,
        Method::POST,
        &s.url("/api/skip_to_next"),
        Some(TOKEN),
        None,
        None,
    )
    .await;
    assert!(st.is_success(), "{st}");
    wait_segments(&c, &s, 3).await;
    in_lockstep(&c, &s, dir.path(), &rungs).await;

    // Each rung's continuous stream, by name or by Jellyfin's profile.
    for (path, size) in [
        ("/stream/main/144p.ts", (256, 144)),
        ("/stream/main.ts?transcode=internet240", (426, 240)),
        ("/stream/main.ts?transcode=heavy", (640, 360)),
        ("/stream/main.ts?transcode=mobile", (640, 360)),
    ] {
        let file = dir.path().join("rung.ts");
        record(&c, &s.url(path), &file).await;
        let v = &streams(&file)[0];
        assert_eq!(
            (v["width"].as_u64().unwrap(), v["height"].as_u64().unwrap()),
            size,
            "{path}"
        );
    }
    // Who watches what: each rung's requests and bytes, in the status and /metrics.
    let status = shufflecast::testkit::http::json(&c, &s.url("/api/status")).await;
    let rungs_seen: Vec<&str> = status["rungs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(rungs_seen, ["360p", "240p", "144p"], "{status}");
    for r in status["rungs"].as_array().unwrap() {
        assert!(
            r["requests"].as_u64().unwrap() >= 2,
            "segments and a stream: {r}"
        );
        assert!(r["bytes"].as_u64().unwrap() > 0, "{r}");
        assert!(
            r["peak_bps"].as_u64().unwrap() >= r["average_bps"].as_u64().unwrap(),
            "{r}"
        );
    }
    let page = text(&c, &s.url("/metrics")).await;
    let low = shufflecast::testkit::http::metric(
        &page,
        "shufflecast_rung_bytes_total{channel=\"main\",rung=\"144p\",kind=\"stream\"}",
    );
    assert!(low > 100_000.0, "{low}");
    let r = c.get(s.url("/stream/main/999p.ts")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let r = c
        .get(s.url("/hls/main/999p/stream.m3u8"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // A restart: one discontinuity, at the same place in every rung.
    s.stop().await;
    let s = TestServer::start(dir.path(), &args()).await;
    s.wait_200("/hls/stream.m3u8", shufflecast::testkit::PATIENCE)
        .await;
    wait_segments(&c, &s, 1).await;
    for (rung, _) in rungs {
        let p = text(&c, &s.url(&format!("/hls/main/{rung}/stream.m3u8"))).await;
        assert_eq!(
            p.matches("#EXT-X-DISCONTINUITY\n").count(),
            1,
            "{rung}:\n{p}"
        );
    }
    in_lockstep(&c, &s, dir.path(), &rungs).await;
    s.stop().await;
}

/// The clips on record, oldest first: (chunk state, the heights of the clip's
/// lower rungs as recorded), read from the database beside the server.
fn clips_on_record(data: &Path) -> Vec<(String, String)> {
    let db = data.join("shufflecast.db");
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut q = conn
        .prepare(
            "SELECT c.state, k.rungs FROM clips k JOIN chunks c ON c.id = k.chunk_id \
             ORDER BY c.id, k.idx",
        )
        .unwrap();
    q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Segment `uri` of `rung`, saved in `dir`: its first video PTS and picture size.
async fn segment_of(
    c: &Client,
    s: &TestServer,
    rung: &str,
    uri: &str,
    dir: &Path,
) -> (i64, (u64, u64)) {
    let bytes = c
        .get(s.url(&format!("/hls/main/{rung}/{uri}")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let file = dir.join(format!("{rung}-{uri}"));
    std::fs::write(&file, &bytes).unwrap();
    first_pts_and_size(&file)
}

/// The picture size of the first segment a rung's playlist lists now.
async fn first_listed_size(c: &Client, s: &TestServer, rung: &str, dir: &Path) -> (u64, u64) {
    let p = text(c, &s.url(&format!("/hls/main/{rung}/stream.m3u8"))).await;
    let (_, _, items) = crate::harness::parse_playlist(&p);
    let uri = &items.first().expect("a segment listed").0;
    segment_of(c, s, rung, uri, dir).await.1
}

/// A channel that had no ladder gets one: the chunk made before keeps airing (in
/// every rung, its top rung's picture where it has no other), and the chunks made
/// after have every rung, which the lower rungs then air at their own size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_made_before_the_ladder_keep_airing_and_new_ones_have_every_rung() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let c = Client::new();
    // No ladder: the same channel at the same size, one rung.
    let mut before = vec!["--admin-token", TOKEN];
    before.extend(&SMALL[4..]);
    before.extend(&LADDER[..4]);
    before.extend(["--renditions", "none"]);
    let s = TestServer::start(dir.path(), &before).await;
    let data = s.data.clone();
    shufflecast::testkit::until(
        "a chunk made without a ladder",
        shufflecast::testkit::PATIENCE,
        async || {
            clips_on_record(&data)
                .iter()
                .any(|(state, _)| state == "ready")
        },
    )
    .await;
    s.stop().await;
    let old = clips_on_record(&data).len();
    assert!(
        clips_on_record(&data)
            .iter()
            .all(|(_, rungs)| rungs.is_empty()),
        "{:?}",
        clips_on_record(&data)
    );

    // With the ladder: on air at once from the old chunk, in every rung.
    let s = TestServer::start(dir.path(), &args()).await;
    s.wait_200("/hls/main/144p/stream.m3u8", shufflecast::testkit::PATIENCE)
        .await;
    assert_eq!(
        first_listed_size(&c, &s, "144p", dir.path()).await,
        (640, 360),
        "the old clip's top picture in the 144p rung"
    );
    let multivariant = text(&c, &s.url("/hls/stream.m3u8")).await;
    assert_eq!(
        multivariant.matches("#EXT-X-STREAM-INF").count(),
        3,
        "{multivariant}"
    );

    // The next chunk is made in every rung, and the 144p rung airs it at 144p.
    shufflecast::testkit::until(
        "a chunk made with the ladder",
        shufflecast::testkit::PATIENCE,
        async || {
            clips_on_record(&data)
                .iter()
                .skip(old)
                .any(|(state, _)| state == "ready")
        },
    )
    .await;
    for (_, rungs) in clips_on_record(&data).iter().skip(old) {
        assert_eq!(rungs, "240,144");
    }
    shufflecast::testkit::until(
        "the 144p rung at its own size",
        shufflecast::testkit::PATIENCE * 2,
        async || first_listed_size(&c, &s, "144p", dir.path()).await == (256, 144),
    )
    .await;
    s.stop().await;
}
