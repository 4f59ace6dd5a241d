//! A crash storm: 20 kill -9 at random moments (while clips encode, while the
//! stream airs, while SQLite writes), the server alone and its whole process
//! group in turn, each followed by a restart on the same data folder, a channel
//! with a quality ladder of two rungs. Then the database is intact, the stream
//! never went backwards across a restart, both rungs restart at the same
//! segment with the same playlist, every clip on record is whole in both rungs,
//! and the last run airs cleanly in both past the one discontinuity that marks
//! its start.

use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::harness::{self, Server, parse_playlist};

const KILLS: usize = 20;
const FPS: u32 = 30;
/// One frame in 90 kHz ticks.
const FRAME: i64 = 90_000 / FPS as i64;
/// One AAC frame (1024 samples at 48 kHz) in 90 kHz ticks.
const AAC_FRAME: i64 = 1920;
/// The ladder: the top rung (320x180) and one under it.
const RUNGS: [u32; 2] = [180, 144];

/// The folder of a rung of the default channel, under the server's address.
fn rung_path(height: u32) -> String {
    format!("/hls/{height}p")
}

/// Small and quick: 1 s segments (the GOP), clips of 1 or 2 s, chunks of 6 s.
fn args(videos: &Path, audio: &Path) -> Vec<String> {
    [
        "--videos",
        videos.to_str().unwrap(),
        "--audio",
        audio.to_str().unwrap(),
        "--width",
        "320",
        "--height",
        "180",
        "--fps",
        &FPS.to_string(),
        "--segment-duration",
        "1",
        "--clip-min",
        "1",
        "--clip-max",
        "2",
        "--chunk-duration",
        "6",
        "--renditions",
        "144p",
    ]
    .map(String::from)
    .to_vec()
}

/// Starts the server in a process group of its own (so the whole group can be
/// killed without reaching the test runner); logs go to `dir/<run>/`.
fn start(dir: &Path, run: &str, args: &[String]) -> Server {
    Server::start_in(dir, run, args, |cmd| {
        std::os::unix::process::CommandExt::process_group(cmd, 0);
    })
}

async fn get(client: &reqwest::Client, url: &str) -> Option<reqwest::Response> {
    client
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()
        .filter(|r| r.status() == 200)
}

/// Waits until the playlist lists a segment; returns the time it took from `t0`
/// and the playlist.
async fn wait_first_segment(server: &mut Server, t0: Instant) -> (Duration, String) {
    let client = reqwest::Client::new();
    let url = format!("{}{}/stream.m3u8", server.base, rung_path(RUNGS[0]));
    loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("server exited with {status}: {}", server.logs());
        }
        assert!(
            t0.elapsed() < shufflecast::testkit::PATIENCE,
            "no segment 60 s after the start: {}",
            server.logs()
        );
        if let Some(r) = get(&client, &url).await
            && let Ok(text) = r.text().await
            && !parse_playlist(&text).2.is_empty()
        {
            return (t0.elapsed(), text);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The segment `uri` of the top rung of the server at `base`.
async fn segment(base: &str, uri: &str) -> bytes::Bytes {
    let client = reqwest::Client::new();
    get(&client, &format!("{base}{}/{uri}", rung_path(RUNGS[0])))
        .await
        .unwrap_or_else(|| panic!("segment {uri}"))
        .bytes()
        .await
        .unwrap()
}

/// The video PTS of a segment's packets (ffprobe's reading).
fn video_pts(dir: &Path, bytes: &[u8]) -> Vec<i64> {
    let path = dir.join("probe.ts");
    std::fs::write(&path, bytes).unwrap();
    harness::packets(&path)
        .into_iter()
        .filter(|p| p.kind == "video")
        .map(|p| p.pts)
        .collect()
}

/// `later` comes after `earlier` on the 33-bit wrapping timeline.
fn after(later: i64, earlier: i64) -> bool {
    let d = (later - earlier).rem_euclid(1 << 33);
    d > 0 && d < 1 << 32
}

/// Live (not zombie) ffmpeg children of `pid`, from /proc.
fn encoders_of(pid: u32) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
                return false;
            };
            let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
            &stat[open + 1..close] == "ffmpeg"
                && f.first() != Some(&"Z")
                && f.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(pid)
        })
        .count()
}

/// `PRAGMA integrity_check` on the database, read-only.
fn integrity(db: &Path) -> String {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let rows: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.join("\n")
}

/// Frames ffprobe counts in `path` (decoding every one).
fn count_frames(path: &Path) -> u64 {
    let j = harness::ffprobe_json(
        path,
        &[
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames",
        ],
    );
    j["streams"][0]["nb_read_frames"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// One rung's capture of the last run: it starts at the restart's first segment
/// `first_seq`, its sequence is continuous, it has at most the restart's
/// discontinuity, every video and audio timestamp steps by one frame, and it
/// decodes without an error.
fn judge_capture(dir: &Path, height: u32, watched: &harness::Watched, first_seq: u64) {
    assert!(
        watched.seqs.first() == Some(&first_seq),
        "{height}p: the capture starts at the restart's first segment {first_seq}: {:?}",
        watched.seqs
    );
    assert!(
        watched.seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "{height}p: continuous sequence: {:?}",
        watched.seqs
    );
    assert!(
        watched.discontinuities <= 1,
        "{height}p: {} discontinuities after the restart",
        watched.discontinuities
    );
    let capture = dir.join(format!("capture-{height}p.ts"));
    watched.save(&capture);
    let pk = harness::packets(&capture);
    // The timestamps of one kind of packet, and the steps between them that are
    // not `step`, by place.
    let odd_steps = |kind: &str, ts: fn(&shufflecast::testkit::media::Packet) -> i64, step| {
        let all: Vec<i64> = pk.iter().filter(|p| p.kind == kind).map(ts).collect();
        let bad: Vec<(usize, i64)> = harness::steps(&all)
            .into_iter()
            .enumerate()
            .filter(|(_, s)| *s != step)
            .collect();
        (all.len(), bad)
    };
    let (_, bad) = odd_steps("video", |p| p.dts, FRAME);
    assert!(
        bad.is_empty(),
        "{height}p: video DTS steps other than {FRAME}: {bad:?}"
    );
    let (audio, bad) = odd_steps("audio", |p| p.pts, AAC_FRAME);
    assert!(audio > 0, "{height}p: the stream carries audio");
    assert!(
        bad.is_empty(),
        "{height}p: audio steps other than {AAC_FRAME}: {bad:?}"
    );
    let (frames, errors) = harness::decode(&capture);
    assert!(
        frames > 0 && errors.trim().is_empty(),
        "{height}p: decode: {errors}"
    );
}

/// The lower rung's playlist is the top's, byte for byte (the same sequence
/// numbers, durations, dates and discontinuities), read just before or just after
/// it (a segment may come between two reads; not between three, many times over).
async fn rungs_agree(base: &str, run: usize) {
    let client = reqwest::Client::new();
    let read = async |height| {
        let url = format!("{base}{}/stream.m3u8", rung_path(height));
        get(&client, &url)
            .await
            .unwrap_or_else(|| panic!("run {run}: {url}"))
            .text()
            .await
            .unwrap()
    };
    for _ in 0..5 {
        let before = read(RUNGS[0]).await;
        let lower = read(RUNGS[1]).await;
        let after = read(RUNGS[0]).await;
        if lower == before || lower == after {
            return;
        }
    }
    panic!("run {run}: the {}p playlist is not the top's", RUNGS[1]);
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_kill_9_at_random_moments_leave_a_sound_database_whole_clips_and_a_stream_that_only_goes_forward()
 {
    let Some(limit) = crate::limit::slow(1200) else {
        return;
    };
    // Heavy on 2 cores (encodes after every restart): never beside the timing tests.
    let _cpu = harness::exclusive(&limit).await;
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("crash storm seed {seed} (CRASH_SEED={seed} repeats the kill moments)");
    let mut rng = StdRng::seed_from_u64(seed);

    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("videos");
    harness::make_sources(&videos);
    let audio = dir.path().join("audio");
    harness::make_music(&audio, 6);
    let args = args(&videos, &audio);
    let db = dir.path().join("data/shufflecast.db");

    let storm = Instant::now();
    let mut to_first_segment = Vec::new();
    let mut during_encode = 0;
    let mut group_kills = 0;
    let mut at_publish_kills = 0;
    // The last media sequence and the last video PTS seen before the last kill.
    let mut last: Option<(u64, i64)> = None;
    let mut run = 0;
    let mut server = loop {
        let t0 = Instant::now();
        let mut server = start(dir.path(), &format!("run-{run:02}"), &args);
        let (ready, playlist) = wait_first_segment(&mut server, t0).await;
        let (seq, _, items) = parse_playlist(&playlist);
        let first_pts = video_pts(dir.path(), &segment(&server.base, &items[0].0).await);
        if let Some((last_seq, last_pts)) = last {
            to_first_segment.push(ready);
            assert!(
                seq > last_seq,
                "run {run}: the media sequence went back from {last_seq} to {seq}:\n{playlist}\n{}",
                server.logs()
            );
            let min = *first_pts.iter().min().expect("video in the first segment");
            assert!(
                after(min, last_pts),
                "run {run}: the video PTS went back from {last_pts} to {min}\n{}",
                server.logs()
            );
            assert!(
                items[0].2,
                "run {run}: a discontinuity marks the restart:\n{playlist}"
            );
            rungs_agree(&server.base, run).await;
        }
        if run == KILLS {
            break server;
        }

        // A random moment while it airs, encodes and records. Every third kill
        // then waits for the next segment and comes the moment it is in the
        // playlist, before the server has had time to record it in SQLite.
        let wait = Duration::from_millis(rng.random_range(300..3000));
        tokio::time::sleep(wait).await;
        let at_publish = run % 3 == 0;
        let client = reqwest::Client::new();
        let url = format!("{}{}/stream.m3u8", server.base, rung_path(RUNGS[0]));
        let playlist = || async {
            let text = get(&client, &url)
                .await
                .expect("the playlist before the kill")
                .text()
                .await
                .unwrap();
            let (seq, _, items) = parse_playlist(&text);
            let newest = seq + items.len() as u64 - 1;
            (newest, items.last().expect("a segment on air").0.clone())
        };
        let (mut newest, uri) = playlist().await;
        let bytes = segment(&server.base, &uri).await;
        let pid = server.child.id();
        let encoding = encoders_of(pid) > 0;
        if at_publish {
            let t0 = Instant::now();
            while playlist().await.0 == newest {
                assert!(t0.elapsed() < Duration::from_secs(20), "no new segment");
            }
            newest += 1;
        }
        let group = run % 2 == 1;
        let status = server.stop_with(libc::SIGKILL, group, Duration::from_secs(10));
        assert!(!status.success(), "{status}");
        during_encode += usize::from(encoding);
        group_kills += usize::from(group);
        at_publish_kills += usize::from(at_publish);
        let pts = video_pts(dir.path(), &bytes);
        let mut last_pts = *pts.iter().max().expect("video in the last segment");
        if at_publish {
            // The segment after the one fetched: one segment (one GOP) later.
            last_pts += i64::from(FPS) * FRAME;
        }
        last = Some((newest, last_pts));
        eprintln!(
            "kill {}: {}{} {wait:?} after the first segment (on air after {ready:?}), \
             encoding: {encoding}, last segment {newest}",
            run + 1,
            if group { "group" } else { "server" },
            if at_publish { ", at a publish" } else { "" },
        );
        let check = integrity(&db);
        assert_eq!(check, "ok", "integrity after kill {}", run + 1);
        drop(server);
        run += 1;
    };
    let storm_time = storm.elapsed();

    // The last run airs cleanly in both rungs: the only discontinuity is the restart's.
    let (first_seq, _, _) = parse_playlist(
        &reqwest::get(format!(
            "{}{}/stream.m3u8",
            server.base,
            rung_path(RUNGS[0])
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap(),
    );
    let [top, lower] = RUNGS.map(|h| format!("{}{}", server.base, rung_path(h)));
    let (top, lower) = tokio::join!(
        harness::watch_live_in(&top, 16),
        harness::watch_live_in(&lower, 16)
    );
    // The same segments, but for the last: each watcher polls on its own, so one
    // may see a segment come out just before its 16 s end that the other does not.
    let n = top.seqs.len().min(lower.seqs.len());
    assert!(
        top.seqs[..n] == lower.seqs[..n] && top.seqs.len().abs_diff(lower.seqs.len()) <= 1,
        "both rungs saw the same segments: {:?} and {:?}",
        top.seqs,
        lower.seqs
    );
    assert_eq!(top.discontinuities, lower.discontinuities);
    for (height, watched) in RUNGS.into_iter().zip([&top, &lower]) {
        judge_capture(dir.path(), height, watched, first_seq);
    }
    let status = server.stop();
    assert!(status.success(), "{status}: {}", server.logs());
    drop(server);

    // The database is intact, and every clip on record is whole.
    assert_eq!(integrity(&db), "ok");
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let clips: Vec<(String, String, String, f64, String)> = conn
        .prepare(
            "SELECT c.id, c.state, k.file, k.duration, k.rungs FROM clips k \
             JOIN chunks c ON c.id = k.chunk_id ORDER BY c.id, k.idx",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let ready: std::collections::BTreeSet<&str> = clips
        .iter()
        .filter(|c| c.1 == "ready")
        .map(|c| c.0.as_str())
        .collect();
    assert!(!ready.is_empty(), "a chunk was made: {clips:?}");
    let mut checked = 0;
    for (chunk, _, file, duration, rungs) in &clips {
        let top = crate::harness::classic(&dir.path().join("data"))
            .join("chunks")
            .join(chunk)
            .join(file);
        // Every clip is made with the ladder: a file per rung, each whole.
        assert_eq!(rungs, &RUNGS[1].to_string(), "{}'s rungs", top.display());
        let lower = shufflecast::clip::rung_file(&top, RUNGS[1]);
        for path in [&top, &lower] {
            assert!(path.exists(), "{} on record, not on disk", path.display());
            let want = (duration * f64::from(FPS)).round() as u64;
            let got = count_frames(path);
            assert_eq!(got, want, "{}: {duration} s at {FPS} fps", path.display());
        }
        checked += 1;
    }

    eprintln!(
        "crash storm (seed {seed}): {KILLS} kill -9 ({group_kills} of the whole group, \
         {during_encode} during an encode, {at_publish_kills} as a segment came out), {KILLS} restarts in {storm_time:?}; restart to \
         first segment median {:?}, max {:?}; {} chunks ready, {checked} clips checked \
         (whole, both rungs); {} discontinuity in the final capture of {} segments (both rungs)",
        median(&to_first_segment),
        to_first_segment.iter().max().unwrap(),
        ready.len(),
        top.discontinuities,
        top.seqs.len(),
    );
}
