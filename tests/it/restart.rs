//! Stops in the middle of the first chunk, graceful (SIGTERM) or not (kill -9),
//! and the restart on the same data folder: no process of the stopped server is
//! left (not even a zombie), no partial output survives the next start, and the
//! next start is on air at once with a clip of the half-built chunk, not the slate,
//! which the status and the guide report as it is.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use shufflecast::testkit::guide;

use crate::harness::{self, Proc, Server, parse_playlist};

/// Live processes whose command line names `needle` (the test's data folder).
fn naming(needle: &str) -> Vec<Proc> {
    harness::processes()
        .into_iter()
        .filter(|p| p.state != 'Z' && p.cmdline.contains(needle))
        .collect()
}

/// The channel of these tests: 4 s clips, a chunk of two minutes (it takes many
/// encodes, so it is surely still building when the stop comes).
fn args(videos: &Path) -> Vec<String> {
    [
        "--videos",
        videos.to_str().unwrap(),
        "--width",
        "640",
        "--height",
        "360",
        "--clip-min",
        "4",
        "--clip-max",
        "4",
        "--chunk-duration",
        "120",
    ]
    .map(String::from)
    .to_vec()
}

/// Starts the server in a session of its own (its id is the server's pid), as a
/// service manager would, so that anything left of it can be found by session;
/// logs go to `dir/<run>/`.
fn start(dir: &Path, run: &str, args: &[String]) -> Server {
    Server::start_in(dir, run, args, |cmd| {
        // SAFETY: setsid(2) is async-signal-safe; the child is a fresh fork.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    })
}

/// Waits until the first chunk holds a clip or two, is still building, a segment
/// is on air and an ffmpeg encode runs: the moment to stop. Returns the chunk and
/// the encoders' pids.
async fn wait_mid_first_chunk(server: &mut Server) -> (String, usize, Vec<u32>) {
    let pid = server.child.id();
    let t0 = Instant::now();
    loop {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "no half-built first chunk with an encode running: {}",
            server.logs()
        );
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("server exited with {status}: {}", server.logs());
        }
        let (status, playlist) = harness::get_text(&server.base, "/hls/stream.m3u8").await;
        let chunks: Value = match harness::get_text(&server.base, "/api/chunks").await {
            (200, body) => serde_json::from_str(&body).unwrap(),
            _ => Value::Null,
        };
        let first = chunks["chunks"].as_array().and_then(|c| match &c[..] {
            [one] if one["state"] == "building" && one["clips"].as_u64() >= Some(1) => Some((
                one["id"].as_str().unwrap().to_string(),
                one["clips"].as_u64().unwrap(),
            )),
            _ => None,
        });
        if status == 200
            && !parse_playlist(&playlist).2.is_empty()
            && let Some((chunk, clips)) = first
        {
            let encoders = harness::live_children(pid, "ffmpeg");
            if !encoders.is_empty() {
                return (chunk, clips as usize, encoders);
            }
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// Starts the server again on the same data folder and checks what airs first: a
/// clip of `chunk` within moments, reported as such by the status and the guide.
async fn restart_airs_a_clip_at_once(
    dir: &Path,
    args: &[String],
    chunk: &str,
    guide_before: &str,
) -> Server {
    let t0 = Instant::now();
    let mut server = start(dir, "second", args);
    let client = reqwest::Client::new();
    let url = format!("{}/hls/stream.m3u8", server.base);
    let playlist = loop {
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("server exited with {status}: {}", server.logs());
        }
        assert!(
            t0.elapsed() < shufflecast::testkit::PATIENCE,
            "no segment 60 s after the restart: {}",
            server.logs()
        );
        if let Ok(r) = client
            .get(&url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            && r.status() == 200
            && let Ok(text) = r.text().await
            && !parse_playlist(&text).2.is_empty()
        {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let to_first_segment = t0.elapsed();
    let status = harness::get_json(&server.base, "/api/stream-status").await;
    let logs = server.logs();
    let server_ms = logs
        .lines()
        .find(|l| l.contains("first segment on air"))
        .and_then(|l| l.split("ms=").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or("?")
        .to_string();
    eprintln!(
        "restart: first segment in the playlist {to_first_segment:?} after the process started \
         (the server's own count: {server_ms} ms); first airing: {}",
        logs.lines()
            .find(|l| l.contains("airing clip") || l.contains("airing a fallback"))
            .unwrap_or("?")
    );
    // How soon is a figure (scripts/restart-bench.py), not a test's: on a busy
    // machine it is later. What airs first is the test's: a clip of the half-built
    // chunk, not the slate.
    let first_airing = logs
        .lines()
        .find(|l| l.contains("airing clip") || l.contains("airing a fallback"))
        .unwrap_or_else(|| panic!("nothing aired: {logs}"));
    assert!(
        first_airing.contains("airing clip") && first_airing.contains(chunk),
        "the first segment is a clip of {chunk}: {first_airing}\n{playlist}"
    );
    assert!(
        !logs.contains("airing a fallback"),
        "no fallback at the restart: {logs}"
    );
    let (seq, _, items) = parse_playlist(&playlist);
    assert!(items[0].2, "a discontinuity marks the restart:\n{playlist}");
    assert_eq!(status["on_air"], true, "{status}");
    assert_eq!(status["slate"], false, "{status}");
    assert_eq!(status["chunk"], chunk, "{status}");
    assert!(
        status["clip"]["source"].is_string(),
        "a clip with its source video: {status}"
    );
    assert!(
        status["sequence"].as_u64().unwrap() >= seq,
        "{status}\n{playlist}"
    );
    // The guide: every programme listed before the stop keeps its times, the one
    // on air holds now and names the clip on air, what follows comes after.
    let (code, epg) = harness::get_text(&server.base, "/epg.xml").await;
    assert_eq!(code, 200);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    guide::assert_promises_kept(guide_before, &epg, now, "a restart");
    guide::assert_grid(&epg, now, 48, &[30]);
    let progs = &guide::programmes(&epg)["shufflecast.local"];
    let on_air = progs
        .iter()
        .position(|p| p.start <= now && now < p.stop)
        .unwrap_or_else(|| panic!("no programme covers now ({now}): {epg}"));
    let title = status["clip"]["title"].as_str().unwrap();
    assert!(progs[on_air].desc.contains(title), "{title}: {epg}");
    server
}

/// Files `.…part` under `dir`.
fn partials(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(e.path());
            } else if e.file_name().to_string_lossy().ends_with(".part") {
                out.push(e.path());
            }
        }
    }
    out
}

/// Makes the test process the reaper of orphans (`PR_SET_CHILD_SUBREAPER`): a
/// child the server leaves behind then comes to us, a zombie it did not reap
/// stays visible in /proc (init would reap it unseen), and we can read how an
/// orphan ended. Process-wide and for good (tests run in parallel): other tests'
/// orphans may come to us too and stay zombies until the test binary exits,
/// which is harmless.
fn become_subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: prctl(2) with integer arguments only.
        let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        assert_eq!(rc, 0, "prctl: {}", std::io::Error::last_os_error());
    });
}

/// Reaps `pid` if it is our child (an orphan that came to us) and has ended:
/// `Some(Some(status))`; `Some(None)`: ours and still running; `None`: not ours.
fn reap(pid: u32) -> Option<Option<libc::c_int>> {
    let mut status = 0;
    // SAFETY: waitpid(2) on one pid, with a valid pointer.
    let rc = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG) };
    match rc {
        0 => Some(None),
        r if r == pid as libc::pid_t => Some(Some(status)),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_first_chunk_leaves_no_process_and_the_restart_airs_a_clip_at_once() {
    let Some(_limit) = crate::limit::slow(600) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("videos");
    harness::make_long_sources(&videos);
    let args = args(&videos);
    let data = dir.path().join("data");

    become_subreaper();
    let mut server = start(dir.path(), "first", &args);
    let (chunk, clips, encoders) = wait_mid_first_chunk(&mut server).await;
    let (_, guide_before) = harness::get_text(&server.base, "/epg.xml").await;
    let pid = server.child.id();
    let status = server.stop_with(libc::SIGTERM, false, Duration::from_secs(30));
    assert!(
        status.success(),
        "exit 0 on SIGTERM: {status}: {}",
        server.logs()
    );
    eprintln!("stopped with {clips} clip(s) in {chunk}, encoders {encoders:?}");
    // Nothing of the server is left: no child (a zombie it did not reap would have
    // come to us, the subreaper), nothing in its process group or session.
    let left: Vec<Proc> = harness::processes()
        .into_iter()
        .filter(|p| encoders.contains(&p.pid) || p.ppid == pid || p.pgrp == pid || p.session == pid)
        .collect();
    assert!(left.is_empty(), "left by the server: {left:?}");
    // And it says it reaped the encoders it killed.
    let logs = server.logs();
    let killed: u64 = logs
        .lines()
        .find(|l| l.contains("every child process stopped and reaped"))
        .and_then(|l| l.split("killed=").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no word of its children at the stop: {logs}"));
    assert!(killed >= 1, "the running encode was killed: {logs}");
    let leftovers = partials(&data);
    assert!(leftovers.is_empty(), "partial outputs left: {leftovers:?}");
    drop(server);

    let mut server = restart_airs_a_clip_at_once(dir.path(), &args, &chunk, &guide_before).await;
    let status = server.stop();
    assert!(status.success(), "{status}: {}", server.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_first_chunk_takes_the_encoders_along_and_the_restart_airs_a_clip_at_once() {
    let Some(_limit) = crate::limit::slow(600) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let videos = dir.path().join("videos");
    harness::make_long_sources(&videos);
    let args = args(&videos);
    let data = dir.path().join("data");
    let needle = data.to_str().unwrap().to_string();

    become_subreaper();
    let mut server = start(dir.path(), "first", &args);
    let (chunk, clips, mut encoders) = wait_mid_first_chunk(&mut server).await;
    let (_, guide_before) = harness::get_text(&server.base, "/epg.xml").await;
    let pid = server.child.id();
    // The encoders right before the kill (one may just have ended).
    let now = harness::live_children(pid, "ffmpeg");
    if !now.is_empty() {
        encoders = now;
    }
    assert!(
        !naming(&needle).is_empty(),
        "an encode names the data folder: {encoders:?}"
    );
    // The server alone, as the OOM killer would: not its group or session.
    let status = server.stop_with(libc::SIGKILL, false, Duration::from_secs(30));
    assert!(!status.success(), "{status}");
    eprintln!("killed with {clips} clip(s) in {chunk}, encoders {encoders:?}");
    let t0 = Instant::now();
    loop {
        let alive = naming(&needle);
        if alive.is_empty() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "still running {:?} after the server was killed: {alive:?}",
            t0.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("its children were gone {:?} after the kill", t0.elapsed());
    // They came to us (the subreaper) when the server died: each was killed by
    // SIGKILL (its parent-death signal), not left to run until it noticed its
    // pipes were gone (SIGPIPE) or to finish its encode.
    let mut ends = Vec::new();
    for &p in &encoders {
        let t0 = Instant::now();
        loop {
            match reap(p) {
                Some(Some(status)) => {
                    ends.push((p, status));
                    break;
                }
                Some(None) if t0.elapsed() < Duration::from_secs(10) => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Some(None) => panic!("encoder {p} still not ended"),
                None => break, // it ended before the kill: the server reaped it
            }
        }
    }
    assert!(!ends.is_empty(), "no encoder of {encoders:?} came to us");
    for (p, status) in ends {
        assert!(
            libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL,
            "encoder {p} ended with wait status {status:#x}, not by SIGKILL"
        );
    }
    let before = partials(&data);
    eprintln!("partial outputs the kill left: {before:?}");
    drop(server);

    let mut server = restart_airs_a_clip_at_once(dir.path(), &args, &chunk, &guide_before).await;
    // None of the killed run's partial outputs survive the start (their names
    // carry its pid); the new run's own encodes may have one of their own.
    let tag = format!(".{pid}-");
    let stale: Vec<PathBuf> = partials(&data)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(&tag))
        .collect();
    assert!(
        stale.is_empty(),
        "partial outputs of the killed run: {stale:?}"
    );
    for p in &before {
        assert!(!p.exists(), "{} survived the restart", p.display());
    }
    let status = server.stop();
    assert!(status.success(), "{status}: {}", server.logs());
    let left: Vec<Proc> = naming(&needle);
    assert!(left.is_empty(), "left by the second run: {left:?}");
}
