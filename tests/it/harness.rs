//! Test harness of the end-to-end tests: the `shufflecast` binary run as a user
//! would (for the tests where the binary itself is under test), processes as /proc
//! shows them, and a player's view of a live stream. Media, judges and HTTP helpers
//! come from the crate's test kit (`shufflecast::testkit`), re-exported here.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub use shufflecast::testkit::http::{get_json, get_text};
pub use shufflecast::testkit::media::*;

/// Fails the test unless `program` runs, naming how to install it.
pub fn need(program: &str) {
    let runs = Command::new(program)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    assert!(runs, "{program} is not installed: {INSTALL_TEST_DEPS}");
}

/// The classic channel's folder under a data folder: its `chunks` and `hls`.
pub fn classic(data: &Path) -> PathBuf {
    shufflecast::station::channel_dir(data, shufflecast::lineup::CLASSIC)
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `shufflecast` binary, run as a user would, stopped on drop.
pub struct Server {
    pub child: std::process::Child,
    pub base: String,
    pub data: PathBuf,
    pub log: PathBuf,
}

impl Server {
    /// Starts `shufflecast serve` with `args` on a free port; `dir` is the working folder.
    pub fn start<S: AsRef<std::ffi::OsStr>>(dir: &Path, args: &[S]) -> Server {
        let port = free_port();
        let data = dir.join("data");
        Server::spawn(Server::command(dir, port, &data, args), port, data, dir)
    }

    /// Starts a server like [`Server::start`], its logs in `dir/<run>/`, after
    /// `prepare` adjusts its command (a session or process group of its own).
    pub fn start_in<S: AsRef<std::ffi::OsStr>>(
        dir: &Path,
        run: &str,
        args: &[S],
        prepare: impl FnOnce(&mut Command),
    ) -> Server {
        let port = free_port();
        let data = dir.join("data");
        let logs = dir.join(run);
        std::fs::create_dir_all(&logs).unwrap();
        let mut cmd = Server::command(dir, port, &data, args);
        prepare(&mut cmd);
        Server::spawn(cmd, port, data, &logs)
    }

    /// The `shufflecast serve` command line of a test server on `port` with its data
    /// in `data`, run from `dir`, for tests that start it their own way.
    pub fn command<S: AsRef<std::ffi::OsStr>>(
        dir: &Path,
        port: u16,
        data: &Path,
        args: &[S],
    ) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_shufflecast"));
        cmd.current_dir(dir)
            .arg("serve")
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data",
                data.to_str().unwrap(),
            ])
            .args(args)
            // Its UDP port is one for the machine; tests run side by side.
            .env("DISCOVERY", "false")
            // One rung unless a test asks for a ladder (`--renditions`).
            .env("RENDITIONS", "none")
            .env("RUST_LOG", "info");
        cmd
    }

    /// Spawns `cmd`, a server listening on `port` with its data in `data`; its
    /// output goes to `logs/server.log` and `logs/server.err`.
    pub fn spawn(mut cmd: Command, port: u16, data: PathBuf, logs: &Path) -> Server {
        let log = logs.join("server.log");
        let child = cmd
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(logs.join("server.err")).unwrap())
            .spawn()
            .expect("shufflecast starts");
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            data,
            log,
        }
    }

    /// Waits until the playlist answers 200; returns the time it took.
    pub async fn wait_ready(&mut self, limit: Duration) -> Duration {
        self.wait_200("/hls/stream.m3u8", limit).await
    }

    /// Polls `path` until it answers 200, failing early if the server exits;
    /// returns the time it took.
    pub async fn wait_200(&mut self, path: &str, limit: Duration) -> Duration {
        let url = format!("{}{path}", self.base);
        let (child, log) = (&mut self.child, self.log.clone());
        shufflecast::testkit::http::wait_200(&url, limit, || match child.try_wait() {
            Ok(Some(status)) => Err(format!("server exited with {status}: {}", read_logs(&log))),
            _ => Ok(()),
        })
        .await
        .unwrap_or_else(|| panic!("{path} not 200 after {limit:?}: {}", self.logs()))
    }

    /// Stops the server as `docker stop` or systemd would (SIGTERM) and waits for
    /// it; returns its exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.stop_with(libc::SIGTERM, false, Duration::from_secs(15))
    }

    /// Sends `signal` to the server, or to its whole process group when `group` (a
    /// terminal's Ctrl-C; the server must have been started in a group of its own),
    /// and waits up to `limit` for it to exit; returns its exit status.
    pub fn stop_with(
        &mut self,
        signal: libc::c_int,
        group: bool,
        limit: Duration,
    ) -> std::process::ExitStatus {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid fits pid_t");
        // SAFETY: kill(2) on a pid (or its group) this test spawned and has not
        // reaped (the Child still owns it), so it cannot name a recycled process.
        let rc = unsafe { libc::kill(if group { -pid } else { pid }, signal) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
        let t0 = Instant::now();
        while t0.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "still running {limit:?} after signal {signal}: {}",
            self.logs()
        );
    }

    /// Waits until the log contains `needle`.
    pub async fn wait_log(&self, needle: &str, limit: Duration) {
        let t0 = Instant::now();
        while t0.elapsed() < limit {
            if self.logs().contains(needle) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{needle:?} not in the log after {limit:?}: {}", self.logs());
    }

    pub fn logs(&self) -> String {
        read_logs(&self.log)
    }
}

/// The server's stdout log at `log` and its stderr beside it.
fn read_logs(log: &Path) -> String {
    let out = std::fs::read_to_string(log).unwrap_or_default();
    let err = std::fs::read_to_string(log.with_file_name("server.err")).unwrap_or_default();
    format!("{out}\n{err}")
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parsed media playlist: (media sequence, target duration, [(uri, extinf, discontinuity)]).
pub fn parse_playlist(text: &str) -> (u64, u64, Vec<(String, f64, bool)>) {
    let mut seq = 0;
    let mut target = 0;
    let mut items = Vec::new();
    let mut extinf = 0.0;
    let mut disc = false;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            seq = v.parse().unwrap();
        } else if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            target = v.parse().unwrap();
        } else if let Some(v) = line.strip_prefix("#EXTINF:") {
            extinf = v
                .trim_end_matches(',')
                .split(',')
                .next()
                .unwrap()
                .parse()
                .unwrap();
        } else if line == "#EXT-X-DISCONTINUITY" {
            disc = true;
        } else if !line.starts_with('#') && !line.is_empty() {
            items.push((line.to_string(), extinf, disc));
            disc = false;
        }
    }
    (seq, target, items)
}

/// A process as /proc shows it.
#[derive(Debug)]
pub struct Proc {
    pub pid: u32,
    pub comm: String,
    pub state: char,
    pub ppid: u32,
    pub pgrp: u32,
    pub session: u32,
    pub cmdline: String,
}

/// Every process there is, zombies included (their command line is empty).
pub fn processes() -> Vec<Proc> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The name is in parentheses and may hold spaces or parentheses itself.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let num = |i: usize| f.get(i).and_then(|v| v.parse().ok()).unwrap_or(0);
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        out.push(Proc {
            pid,
            comm: stat[open + 1..close].to_string(),
            state: f.first().and_then(|s| s.chars().next()).unwrap_or('?'),
            ppid: num(1),
            pgrp: num(2),
            session: num(3),
            cmdline,
        });
    }
    out
}

/// Live (not zombie) children of `pid` named `comm`.
pub fn live_children(pid: u32, comm: &str) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|p| p.ppid == pid && p.comm == comm && p.state != 'Z')
        .map(|p| p.pid)
        .collect()
}

/// The two heaviest scenarios (the matrix's 4K decodes, the crash storm's
/// encodes) take this first, so they never run together and starve each other's
/// encoders into their deadlines. No test judges timing any more, so the others
/// run beside them. The wait does not count against the test's time `limit`.
pub async fn exclusive(limit: &crate::limit::TimeLimit) -> tokio::sync::MutexGuard<'static, ()> {
    static CPU: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let held = CPU.lock().await;
    limit.restart();
    held
}

/// What a player saw of a live stream: every new segment in order, its media
/// sequence number, and whether a playlist put a discontinuity tag before it.
pub struct Watched {
    pub segments: Vec<bytes::Bytes>,
    pub seqs: Vec<u64>,
    pub discontinuities: usize,
}

impl Watched {
    /// The segments back to back, as one transport stream file at `path`.
    pub fn save(&self, path: &Path) {
        let all: Vec<u8> = self
            .segments
            .iter()
            .flat_map(|b| b.iter().copied())
            .collect();
        std::fs::write(path, all).unwrap();
    }
}

/// Polls the live playlist at `base` for `secs` like a player and fetches every new
/// segment.
pub async fn watch_live(base: &str, secs: u64) -> Watched {
    watch_live_in(&format!("{base}/hls"), secs).await
}

/// [`watch_live`] of the media playlist `stream.m3u8` in the folder at `folder`
/// (`http://host/hls/144p`, a rung's).
pub async fn watch_live_in(folder: &str, secs: u64) -> Watched {
    let client = reqwest::Client::new();
    let mut w = Watched {
        segments: Vec::new(),
        seqs: Vec::new(),
        discontinuities: 0,
    };
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(secs) {
        let r = client
            .get(format!("{folder}/stream.m3u8"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let (seq, _, items) = parse_playlist(&r.text().await.unwrap());
        for (i, (uri, _, disc)) in items.iter().enumerate() {
            let n = seq + i as u64;
            if w.seqs.last().is_none_or(|last| n > *last) {
                let seg = client.get(format!("{folder}/{uri}")).send().await.unwrap();
                assert_eq!(seg.status(), 200, "segment {uri}");
                w.segments.push(seg.bytes().await.unwrap());
                w.seqs.push(n);
                w.discontinuities += usize::from(*disc);
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    w
}
