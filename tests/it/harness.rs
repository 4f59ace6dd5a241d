//! Test harness: media made with ffmpeg's synthetic sources, ffprobe as the
//! independent judge, and the whole server on a free port.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Runs ffmpeg with `args` (quiet, overwrite), panicking with its stderr on failure.
pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-threads",
            "2",
        ])
        .args(args)
        .output()
        .expect("ffmpeg runs (scripts/install-deps.sh installs it)");
    assert!(
        out.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// ffprobe's JSON for `args` + `path`.
pub fn ffprobe_json(path: &Path, args: &[&str]) -> Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json"])
        .args(args)
        .arg(path)
        .output()
        .expect("ffprobe runs");
    assert!(
        out.status.success(),
        "ffprobe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("ffprobe JSON")
}

/// A packet as ffprobe sees it.
#[derive(Debug, Clone)]
pub struct Packet {
    pub kind: String,
    pub pts: i64,
    pub dts: i64,
    pub key: bool,
}

/// Every packet of `path`, in file order.
pub fn packets(path: &Path) -> Vec<Packet> {
    let j = ffprobe_json(path, &["-show_entries", "packet=codec_type,pts,dts,flags"]);
    j["packets"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| Packet {
                    kind: p["codec_type"].as_str().unwrap_or("").to_string(),
                    pts: p["pts"].as_i64().unwrap_or(-1),
                    dts: p["dts"]
                        .as_i64()
                        .or_else(|| p["pts"].as_i64())
                        .unwrap_or(-1),
                    key: p["flags"].as_str().unwrap_or("").contains('K'),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Steps between consecutive values, modulo the 33-bit wrap.
pub fn steps(values: &[i64]) -> Vec<i64> {
    let wrap = 1i64 << 33;
    values
        .windows(2)
        .map(|w| (w[1] - w[0]).rem_euclid(wrap))
        .collect()
}

/// The steps between consecutive video DTS and between consecutive audio PTS of
/// `path`, as ffprobe reads them (wrap-aware).
pub fn timestamp_steps(path: &Path) -> (Vec<i64>, Vec<i64>) {
    let pk = packets(path);
    let of = |kind: &str| {
        let ts: Vec<i64> = pk
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| if kind == "video" { p.dts } else { p.pts })
            .collect();
        steps(&ts)
    };
    (of("video"), of("audio"))
}

/// Decodes `path` fully; returns (decoded video frames, ffmpeg's error lines).
pub fn decode(path: &Path) -> (u64, String) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    // ffprobe prints the stream once per program it belongs to: take the first.
    let frames = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let dec = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    (frames, String::from_utf8_lossy(&dec.stderr).into_owned())
}

/// Source videos of different sizes, frame rates and aspect ratios, one rotated and
/// one interlaced; short and small so tests stay quick on 2 cores.
pub fn make_sources(dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let p = |n: &str| dir.join(n);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25:duration=4",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        p("wide-25fps.mp4").to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "smptehdbars=size=240x320:rate=30:duration=4",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-metadata:s:v:0",
        "rotate=90",
        p("rotated.mp4").to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "mandelbrot=size=352x288:rate=25",
        "-t",
        "4",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-flags",
        "+ilme+ildct",
        "-x264-params",
        "interlaced=1:tff=1",
        p("interlaced.mkv").to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "rgbtestsrc=size=200x200:rate=24:duration=4",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        p("square-24fps.mov").to_str().unwrap(),
    ]);
    vec![
        p("wide-25fps.mp4"),
        p("rotated.mp4"),
        p("interlaced.mkv"),
        p("square-24fps.mov"),
    ]
}

/// Three 40 s sources, long enough for many clips (a first chunk that stays half
/// built, encodes of seconds to stop in the middle of).
pub fn make_long_sources(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, src) in [
        ("bars.mp4", "smptehdbars=size=320x240:rate=25"),
        ("test.mp4", "testsrc2=size=320x240:rate=25"),
        ("fractal.mp4", "mandelbrot=size=320x240:rate=25"),
    ] {
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            src,
            "-t",
            "40",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            dir.join(name).to_str().unwrap(),
        ]);
    }
}

/// Two short, distinct music tracks.
pub fn make_music(dir: &Path, secs: u32) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let a = dir.join("a-440.mp3");
    let b = dir.join("b-660.flac");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("sine=f=440:d={secs}"),
        "-ac",
        "2",
        a.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("sine=f=660:d={secs}"),
        "-ac",
        "2",
        b.to_str().unwrap(),
    ]);
    vec![a, b]
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
        let t0 = Instant::now();
        let client = reqwest::Client::new();
        let url = format!("{}{path}", self.base);
        while t0.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("server exited with {status}: {}", self.logs());
            }
            let r = client
                .get(&url)
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            if r.is_ok_and(|r| r.status() == 200) {
                return t0.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{path} not 200 after {limit:?}: {}", self.logs());
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
        let out = std::fs::read_to_string(&self.log).unwrap_or_default();
        let err =
            std::fs::read_to_string(self.log.with_file_name("server.err")).unwrap_or_default();
        format!("{out}\n{err}")
    }
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

/// GET `path` of `base`: (status, body); status 0 when the server does not answer
/// (not up yet, or gone).
pub async fn get_text(base: &str, path: &str) -> (u16, String) {
    match reqwest::Client::new()
        .get(format!("{base}{path}"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
    {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(_) => (0, String::new()),
    }
}

/// GET `path` of `base` as JSON, which must answer 200.
pub async fn get_json(base: &str, path: &str) -> Value {
    let (status, body) = get_text(base, path).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// Tests that need the machine to themselves take this first, so they never
/// overlap: real players judging timing, and the matrix's heavy encodes (on 2 cores
/// a 4K decode beside VLC makes VLC's pictures late, which says nothing about our
/// stream).
pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    static CPU: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    CPU.lock().await
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
    let client = reqwest::Client::new();
    let mut w = Watched {
        segments: Vec::new(),
        seqs: Vec::new(),
        discontinuities: 0,
    };
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(secs) {
        let r = client
            .get(format!("{base}/hls/stream.m3u8"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let (seq, _, items) = parse_playlist(&r.text().await.unwrap());
        for (i, (uri, _, disc)) in items.iter().enumerate() {
            let n = seq + i as u64;
            if w.seqs.last().is_none_or(|last| n > *last) {
                let seg = client
                    .get(format!("{base}/hls/{uri}"))
                    .send()
                    .await
                    .unwrap();
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

/// The SPS and PPS NAL units of a clip file as ffmpeg's own bitstream filter
/// extracts them (an independent reader: not our demuxer).
pub fn parameter_set_bytes(path: &Path) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args([
            "-map",
            "0:v:0",
            "-c",
            "copy",
            "-bsf:v",
            "filter_units=pass_types=7-8",
            "-f",
            "h264",
            "-",
        ])
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The first decoded frame of `path` as 8-bit luma, `w` x `h`.
pub fn first_frame_luma(path: &Path, w: u32, h: u32) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostdin", "-v", "error", "-i"])
        .arg(path)
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .expect("ffmpeg runs");
    assert_eq!(out.stdout.len(), (w * h) as usize, "{}", path.display());
    out.stdout
}
