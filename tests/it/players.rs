//! Real players (mpv, GStreamer, VLC) play the live stream through clip switches
//! without a stall or an error. A missing player fails its test, saying how to
//! install it (scripts/install-deps.sh --test). Slow tier.
//!
//! They judge what a player says about the stream (demux and decode errors,
//! timestamp jumps, continuity, running out of data) and the stream's own clock
//! (the server's lateness of every segment), not how punctually a player's output
//! thread paints: on a busy machine a starved player paints late, which says
//! nothing about the stream.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{self, Server, need, parse_playlist};

/// What a player run left: exit code, everything it printed, how long it took, and
/// the latest the server published a segment meanwhile.
struct Played {
    code: Option<i32>,
    log: String,
    took: Duration,
    latest: f64,
}

/// A segment published later than this is reported (a live stream that was never
/// a segment late cannot make a player wait).
const ON_TIME: f64 = 2.0;

impl Played {
    /// Fails unless the player ran `secs` or more and did not hang. How late the
    /// server published a segment is said, not judged: on a starved machine the
    /// server is late too, which says nothing about the stream.
    fn assert_fed(&self, player: &str, secs: u64) {
        if self.latest >= ON_TIME {
            eprintln!("{player}: a segment was published {} s late", self.latest);
        }
        assert!(
            self.took >= Duration::from_secs(secs - 1),
            "{player} stopped early after {:?}\n{}",
            self.took,
            self.log
        );
        // A hang, not a slow machine: the player never finished.
        assert!(
            self.took < Duration::from_secs(4 * secs + 60),
            "{player} took {:?}: hung\n{}",
            self.took,
            self.log
        );
    }
}

/// The live playlist.
const HLS: &str = "/hls/stream.m3u8";
/// The continuous MPEG-TS Plex, Jellyfin and Emby tune.
const TS: &str = "/stream/main.ts";

/// Starts the demo channel with 2 s clips (a switch every segment), then runs the
/// player built by `player` against the URL of `path` (`HLS` or `TS`). For HLS the
/// channel airs a ladder of two rungs, 360p and 240p, so the player reads the
/// multivariant playlist and picks (and may switch) rungs as it plays.
async fn play(path: &str, player: impl FnOnce(String) -> Command + Send + 'static) -> Played {
    let dir = tempfile::tempdir().unwrap();
    let ladder = if path == HLS { "240p" } else { "none" };
    let mut server = Server::start(
        dir.path(),
        &[
            "--width",
            "640",
            "--height",
            "360",
            "--clip-min",
            "2",
            "--clip-max",
            "2",
            "--renditions",
            ladder,
        ],
    );
    server.wait_ready(shufflecast::testkit::PATIENCE).await;
    // A few segments on air, as for any viewer joining later.
    let base = server.base.clone();
    shufflecast::testkit::until(
        "three segments",
        shufflecast::testkit::PATIENCE,
        async || {
            // The top rung's media playlist (the channel's own URL may be multivariant).
            let (_, text) = harness::get_text(&base, "/hls/main/360p/stream.m3u8").await;
            parse_playlist(&text).2.len() >= 3
        },
    )
    .await;
    let url = format!("{}{path}", server.base);
    let t0 = Instant::now();
    let out = tokio::task::spawn_blocking(move || player(url).output().unwrap())
        .await
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let took = t0.elapsed();
    Played {
        code: out.status.code(),
        log,
        took,
        latest: latest_segment(&server.base).await,
    }
}

/// The latest any segment was published against its time since the start, in
/// seconds, as the server's `/metrics` says.
async fn latest_segment(base: &str) -> f64 {
    let (_, metrics) = harness::get_text(base, "/metrics").await;
    shufflecast::testkit::http::metric(&metrics, "shufflecast_segment_lateness_max_seconds{")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mpv_plays_through_clip_switches_without_stalling() {
    let Some(_limit) = crate::limit::slow(600) else {
        return;
    };
    mpv_plays(HLS, 16).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mpv_plays_the_continuous_stream_without_stalling() {
    let Some(_limit) = crate::limit::slow(600) else {
        return;
    };
    mpv_plays(TS, 12).await;
}

/// What mpv says when the stream is at fault: errors, timestamps that jump or go
/// back, a reset of playback. (Its "desynchronisation ... too slow hardware" is the
/// machine, not the stream.)
const MPV_FAULTS: [&str; 5] = [
    "error",
    "invalid",
    "timestamp",
    "discontinuity",
    "reset playback",
];

async fn mpv_plays(path: &str, length: u64) {
    need("mpv");
    let p = play(path, move |url| {
        let mut c = Command::new("mpv");
        c.args([
            "--no-config",
            "--vo=null",
            "--ao=null",
            "--msg-level=all=warn",
            &format!("--length={length}"),
            &url,
        ]);
        c
    })
    .await;
    assert_eq!(p.code, Some(0), "mpv failed: {}", p.log);
    p.assert_fed("mpv", length);
    for line in p.log.lines() {
        let lower = line.to_lowercase();
        let fault = MPV_FAULTS.iter().find(|f| lower.contains(*f));
        assert!(fault.is_none(), "mpv reported {fault:?}: {line}\n{}", p.log);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gstreamer_plays_the_stream_without_errors() {
    let Some(_limit) = crate::limit::slow(600) else {
        return;
    };
    need("gst-launch-1.0");
    let p = play(HLS, |url| {
        // A live stream never ends: let it play 12 s, then interrupt it.
        let mut c = Command::new("timeout");
        c.args([
            "-s",
            "INT",
            "12",
            "gst-launch-1.0",
            "-q",
            "playbin",
            &format!("uri={url}"),
        ])
        .args([
            "video-sink=fakesink sync=true",
            "audio-sink=fakesink sync=true",
        ]);
        c
    })
    .await;
    // 124: timeout interrupted it (still playing); anything else means it stopped by itself.
    assert_eq!(p.code, Some(124), "GStreamer stopped early: {}", p.log);
    p.assert_fed("GStreamer", 12);
    assert_no_gstreamer_fault(&p.log);
}

/// The continuous stream through GStreamer's own HTTP source and TS demuxer,
/// decoded and synchronised to the clock as a set-top box would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gstreamer_demuxes_and_decodes_the_continuous_stream_without_errors() {
    let Some(_limit) = crate::limit::slow(600) else {
        return;
    };
    need("gst-launch-1.0");
    let p = play(TS, |url| {
        let mut c = Command::new("timeout");
        c.args(["-s", "INT", "12", "gst-launch-1.0", "-q"])
            .arg("souphttpsrc")
            .arg(format!("location={url}"))
            .args(["is-live=true", "!", "tsdemux", "name=d"])
            .args(["d.", "!", "queue", "!", "h264parse", "!", "avdec_h264", "!"])
            .args(["fakesink", "sync=true"])
            .args(["d.", "!", "queue", "!", "aacparse", "!", "avdec_aac", "!"])
            .args(["fakesink", "sync=true"]);
        c
    })
    .await;
    assert_eq!(p.code, Some(124), "GStreamer stopped early: {}", p.log);
    p.assert_fed("GStreamer", 12);
    assert_no_gstreamer_fault(&p.log);
}

/// No error and no warning from GStreamer, but for a sink's "computer is too slow"
/// (its buffers came late to the clock: the machine, when the stream was on time).
fn assert_no_gstreamer_fault(log: &str) {
    let mut lines = log.lines().peekable();
    while let Some(line) = lines.next() {
        if !(line.contains("ERROR") || line.contains("WARNING")) {
            continue;
        }
        let detail = lines.peek().copied().unwrap_or_default();
        let slow = format!("{line} {detail}").contains("this computer is too slow");
        assert!(slow, "GStreamer: {line} {detail}\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vlc_plays_through_clip_switches_without_a_fault() {
    let Some(_limit) = crate::limit::slow(600) else {
        return;
    };
    let log = vlc_plays(HLS, 14).await;
    assert!(
        log.contains("Changing stream format Unknown -> TS"),
        "VLC played the HLS stream:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vlc_plays_the_continuous_stream_without_a_fault() {
    let Some(_limit) = crate::limit::slow(600) else {
        return;
    };
    let log = vlc_plays(TS, 12).await;
    assert!(
        log.contains("AAC channels: 2"),
        "VLC demuxed the transport stream's audio:\n{log}"
    );
}

/// What VLC says when the stream is at fault: continuity or timestamp jumps, a
/// clock it cannot follow, one elementary stream starving another, decode errors.
const VLC_FAULTS: [&str; 5] = [
    "discontinuity",
    "PCR",
    "buffer deadlock",
    "decoder error",
    "corrupt",
];

/// VLC plays `path` for `secs` with no discontinuity, no clock or buffering fault
/// and no error; returns its log.
async fn vlc_plays(path: &str, secs: u64) -> String {
    need("cvlc");
    let p = play(path, move |url| {
        // VLC refuses to run as root; CI runs as root, so play as nobody there.
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let mut c = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--", "cvlc"]);
            c
        } else {
            Command::new("cvlc")
        };
        c.args([
            "-v",
            "-I",
            "dummy",
            "--vout=dummy",
            "--aout=dummy",
            "--play-and-exit",
        ])
        .arg(format!("--run-time={secs}"))
        .arg(url)
        .env("HOME", "/tmp");
        c
    })
    .await;
    assert_eq!(p.code, Some(0), "vlc failed: {}", p.log);
    p.assert_fed("vlc", secs);
    for line in p.log.lines() {
        // Its input or output thread starved ("picture is too late to be displayed",
        // "PCR is called too late"): the machine, when the stream was on time.
        if line.contains("too late") || line.contains("displayed late") {
            continue;
        }
        let fault = VLC_FAULTS.iter().find(|f| line.contains(*f));
        assert!(fault.is_none(), "VLC reported {fault:?}: {line}\n{}", p.log);
    }
    p.log
}
