//! Benchmark: what the continuous MPEG-TS (`/stream/main.ts`, the tuner) costs the
//! server, against HLS serving of the same channel in the same run, with CLIENTS
//! (500) clients on loopback. Goal: the server delivers at least 0.8x the bytes per
//! CPU-second with continuous-TS clients as with HLS players.
//!
//! The server is the release binary (`shufflecast serve`, built by cargo for the
//! bench) run as its own process, so that its CPU time, utime + stime of
//! /proc/<pid>/stat, is its alone: the clients are tokio tasks of this process,
//! whose CPU is measured apart (/proc/self/stat) and printed too. The server airs
//! the demo library at 640x360 (2 s segments), 12 s chunks of three 4 s clips,
//! with one chunk kept (--max-chunks 1 --ready-chunks 1): once it is made the
//! generator makes no more and re-airs it, so no ffmpeg runs while measuring.
//! Setup waits until the channel is on air, the encode slots are idle and the
//! server has had no child process (ffmpeg, ffprobe) for 5 s. The CPU of any
//! child that runs during a phase anyway is shown on its own ("ffmpeg"): it is
//! never in the server's figure; airing itself (the muxer, a segment every 2 s)
//! is, a few tenths of a percent of a core (scripts/bench.sh, step 3). The server
//! has 1000 tuners (--tuner-count), so no client is refused.
//!
//! Phases (PHASES, "ts,hls,ts": the second ts run shows whether the figures are
//! stable), BENCH_SECS (30) seconds each, measured after every client has
//! connected and WARMUP_SECS (3) more, so the first segments, which every client
//! gets at once, are left out:
//!  - "ts": each client opens /stream/main.ts with a hand-written HTTP/1.1 GET on
//!    a raw TcpStream (the cheapest client, so that the clients do not starve the
//!    server of the 2 cores they share) and reads and discards what comes;
//!  - "hls": each client plays HLS as a player does, on one keep-alive connection:
//!    the playlist every 0.75-1.25 s (jittered), each new segment once, from the
//!    live edge (the newest segment when it starts).
//!
//! Over each phase: bytes delivered (what the clients read after the response
//! heads: the TS streams' chunk framing included, the HLS segments and playlists),
//! the server's CPU time, bytes per server CPU-second, the clients' CPU time, its
//! RSS (VmRSS) at the end, clients still connected at the end, errors (a refused
//! or cut connection, a status other than 200), and for ts the server's own
//! figures from /metrics: bytes handed to sockets, clients dropped for falling
//! behind (`shufflecast_ts_clients_dropped_total`, which must stay 0: a dropped
//! client means the server or the clients could not keep up). Then the ratio of
//! TS to HLS bytes per server CPU-second, against the 0.8 goal.
//!
//! Run: cargo bench --bench tuner
//! CLIENTS changes the number of clients (500), BENCH_SECS the phases' length,
//! PHASES their order ("ts,hls,ts"; "ts" or "hls" alone too), SETUP_SECS the most
//! the setup may take (300), SIZE the channel's picture (640x360). Each HLS client
//! has a User-Agent of its own (the server counts players by address and agent),
//! and the time each segment takes to fetch is reported (median, p99, worst):
//! `CLIENTS=1000 PHASES=hls SIZE=1280x720 BENCH_SECS=60 cargo bench --bench tuner`
//! is a thousand players of one 720p channel for a minute.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use shufflecast::testkit::procfs::{
    cpu_seconds, loadavg, machine_ticks, rss_mb, stat_fields, terminate,
};

const SLUG: &str = "main";

fn env_u64(k: &str, default: u64) -> u64 {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The live children of `pid`: (pid, name, utime + stime in s).
fn children(pid: u32) -> Vec<(String, String, f64)> {
    let parent = pid.to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let name = e.ok()?.file_name().into_string().ok()?;
        name.bytes().all(|b| b.is_ascii_digit()).then_some(name)
    })
    .filter_map(|p| {
        let (comm, f) = stat_fields(&p)?;
        (f.get(1)? == &parent).then(|| {
            let cpu = cpu_seconds(&p).0;
            (p, comm, cpu)
        })
    })
    .collect()
}

/// The CPU time of `pid`'s children, reaped and running, in seconds.
fn children_cpu(pid: u32) -> f64 {
    cpu_seconds(&pid.to_string()).1 + children(pid).iter().map(|c| c.2).sum::<f64>()
}

/// Room for this process's sockets and the server's (which inherits it).
fn raise_fd_limit() {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain calls with a valid pointer to a local.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max.min(65536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

/// The server, its own process; stopped (SIGTERM, then SIGKILL) on drop.
struct Server {
    child: std::process::Child,
    pid: u32,
    addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        // SIZE: the channel's picture (640x360).
        let size = std::env::var("SIZE").unwrap_or_else(|_| "640x360".into());
        let (width, height) = size.split_once('x').expect("SIZE is WIDTHxHEIGHT");
        let (width, height) = (width.to_string(), height.to_string());
        // A free port: bound and released (nothing else here takes ports).
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let log = dir.path().join("server.log");
        let exe = env!("CARGO_BIN_EXE_shufflecast");
        let data = dir.path().join("data");
        let child = Command::new(exe)
            .args(["serve", "--listen", &addr.to_string(), "--data"])
            .arg(&data)
            .args(["--web-dir"])
            .arg(dir.path().join("web"))
            .args(["--width", &width, "--height", &height])
            .args([
                "--chunk-duration",
                "12",
                "--clip-min",
                "4",
                "--clip-max",
                "4",
                "--max-chunks",
                "1",
                "--ready-chunks",
                "1",
                "--tuner-count",
                "1000",
                "--discovery",
                "false",
            ])
            // Its .env, if any, is the temporary folder's: none.
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.path().join("server.err")).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("{exe}: {e}"));
        let pid = child.id();
        Server {
            child,
            pid,
            addr,
            log,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn cpu(&self) -> f64 {
        cpu_seconds(&self.pid.to_string()).0
    }

    /// The end of its output, for a failure.
    fn tail(&self) -> String {
        let mut out = String::new();
        for p in [self.log.clone(), self.log.with_file_name("server.err")] {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out += &lines[lines.len().saturating_sub(20)..].join("\n");
            out += "\n";
        }
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        terminate(&mut self.child, Duration::from_secs(15));
    }
}

/// One scrape of /metrics, by sample name with labels.
async fn metric(c: &reqwest::Client, s: &Server, key: &str) -> f64 {
    let Ok(r) = c.get(s.url("/metrics")).send().await else {
        return f64::NAN;
    };
    let body = r.text().await.unwrap_or_default();
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit_once(' '))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0.0)
}

fn per_channel(name: &str) -> String {
    format!("shufflecast_{name}{{channel=\"{SLUG}\"}}")
}

/// What the clients of a phase did, counted as it happens.
#[derive(Default)]
struct Counts {
    /// Bytes read after the response heads.
    bytes: AtomicU64,
    /// HLS segments and playlists fetched.
    segments: AtomicU64,
    playlists: AtomicU64,
    /// HLS clients that found their last segment gone from the playlist.
    behind: AtomicU64,
    /// Clients with their connection open (and, for ts, the stream's head read).
    connected: AtomicU64,
    errors: AtomicU64,
    /// The first few errors.
    first_errors: Mutex<Vec<String>>,
    /// hls: how long each segment took to fetch, request to last byte, µs.
    fetch_us: Mutex<Vec<u32>>,
}

impl Counts {
    fn error(&self, e: impl std::fmt::Display) {
        self.errors.fetch_add(1, Relaxed);
        let mut first = self.first_errors.lock();
        if first.len() < 5 {
            first.push(e.to_string());
        }
    }
}

/// Counted in `Counts::connected` while it lives.
struct Connected(Arc<Counts>);

impl Connected {
    fn new(c: &Arc<Counts>) -> Connected {
        c.connected.fetch_add(1, Relaxed);
        Connected(c.clone())
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.connected.fetch_sub(1, Relaxed);
    }
}

fn other(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> io::Error {
    io::Error::other(e)
}

/// A keep-alive HTTP/1.1 connection, for answers with a Content-Length.
struct Http {
    s: TcpStream,
    /// Its User-Agent: each player its own, as the server counts players by it.
    agent: String,
    buf: Vec<u8>,
    /// What was read past a head.
    pending: Vec<u8>,
}

impl Http {
    async fn connect(addr: SocketAddr, agent: String) -> io::Result<Http> {
        Ok(Http {
            s: TcpStream::connect(addr).await?,
            agent,
            buf: vec![0; 64 * 1024],
            pending: Vec::new(),
        })
    }

    /// Sends a GET of `path` and reads the answer's head: (status, its header
    /// lines). What came after the head is in `pending`.
    async fn head(&mut self, path: &str) -> io::Result<(u16, String)> {
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: bench\r\nUser-Agent: {}\r\n\r\n",
            self.agent
        );
        self.s.write_all(req.as_bytes()).await?;
        self.pending.clear();
        loop {
            if let Some(end) = self.pending.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.pending[..end]).into_owned();
                self.pending.drain(..end + 4);
                let status = head
                    .split(' ')
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| other(format!("no status line: {head:?}")))?;
                return Ok((status, head));
            }
            let n = self.s.read(&mut self.buf).await?;
            if n == 0 {
                return Err(other("closed before the answer's head"));
            }
            self.pending.extend_from_slice(&self.buf[..n]);
        }
    }

    /// GET `path`: (status, the body if `keep`, its length). The body is read
    /// whole, kept or discarded.
    async fn get(&mut self, path: &str, keep: bool) -> io::Result<(u16, Vec<u8>, u64)> {
        let (status, head) = self.head(path).await?;
        let len: u64 = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .ok_or_else(|| other(format!("{path}: no Content-Length: {head:?}")))?;
        let mut body = std::mem::take(&mut self.pending);
        let mut got = body.len() as u64;
        if !keep {
            body.clear();
        }
        while got < len {
            let want = (len - got).min(self.buf.len() as u64) as usize;
            let n = self.s.read(&mut self.buf[..want]).await?;
            if n == 0 {
                return Err(other(format!("{path}: closed in the body")));
            }
            if keep {
                body.extend_from_slice(&self.buf[..n]);
            }
            got += n as u64;
        }
        Ok((status, body, len))
    }
}

/// A continuous-TS client: reads and discards the stream until stopped.
async fn ts_client(addr: SocketAddr, counts: Arc<Counts>) {
    let run = async {
        let mut c = Http::connect(addr, "tuner-bench".into()).await?;
        let (status, _) = c.head(&format!("/stream/{SLUG}.ts")).await?;
        if status != 200 {
            return Err(other(format!("/stream/{SLUG}.ts: status {status}")));
        }
        let _connected = Connected::new(&counts);
        counts.bytes.fetch_add(c.pending.len() as u64, Relaxed);
        loop {
            let n = c.s.read(&mut c.buf).await?;
            if n == 0 {
                return Err(other("the stream ended"));
            }
            counts.bytes.fetch_add(n as u64, Relaxed);
        }
    };
    let r: io::Result<()> = run.await;
    if let Err(e) = r {
        counts.error(e);
    }
}

/// The media sequence of a playlist and its segments' URIs, oldest first.
fn parse_playlist(text: &str, dir: &str) -> Option<(u64, Vec<String>)> {
    let seq = text
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-MEDIA-SEQUENCE:"))?
        .trim()
        .parse()
        .ok()?;
    let uris = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l {
            _ if l.starts_with('/') => l.to_string(),
            // An absolute URL: its path.
            _ if l.starts_with("http") => {
                let rest = l.split_once("//").map_or(l, |x| x.1);
                rest.find('/')
                    .map_or("/".to_string(), |i| rest[i..].to_string())
            }
            _ => format!("{dir}/{l}"),
        })
        .collect();
    Some((seq, uris))
}

/// An HLS player on one keep-alive connection (a new one after an error): the
/// playlist every 0.75-1.25 s, each new segment once, from the live edge.
async fn hls_client(addr: SocketAddr, counts: Arc<Counts>, id: u64) {
    let mut rng = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut jitter = move || {
        // xorshift64
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        Duration::from_millis(750 + rng % 501)
    };
    let mut last: Option<u64> = None;
    // A multivariant playlist (a ladder) names the rungs' playlists: a player
    // follows the first (the one players start on).
    let mut playlist = "/hls/stream.m3u8".to_string();
    loop {
        let mut conn = match Http::connect(addr, format!("bench-player-{id}")).await {
            Ok(c) => c,
            Err(e) => {
                counts.error(e);
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let _connected = Connected::new(&counts);
        let r: io::Result<()> = async {
            loop {
                let (status, body, len) = conn.get(&playlist, true).await?;
                counts.bytes.fetch_add(len, Relaxed);
                counts.playlists.fetch_add(1, Relaxed);
                let text = String::from_utf8_lossy(&body);
                if let Some(top) = text
                    .lines()
                    .skip_while(|l| !l.starts_with("#EXT-X-STREAM-INF"))
                    .nth(1)
                {
                    playlist = if top.starts_with('/') {
                        top.to_string()
                    } else {
                        format!("/hls/{top}")
                    };
                    continue;
                }
                if status != 200 {
                    counts.error(format!("playlist: status {status}"));
                } else {
                    let dir = playlist.rsplit_once('/').map_or("", |d| d.0);
                    let (first, uris) = parse_playlist(&text, dir)
                        .ok_or_else(|| other(format!("not a live playlist: {text:?}")))?;
                    let newest = first + uris.len() as u64 - 1;
                    let from = match last {
                        None => newest,
                        Some(l) if l + 1 >= first => l + 1,
                        Some(_) => {
                            counts.behind.fetch_add(1, Relaxed);
                            newest
                        }
                    };
                    for seq in from..=newest {
                        let uri = &uris[(seq - first) as usize];
                        let t = Instant::now();
                        let (status, _, len) = conn.get(uri, false).await?;
                        counts.fetch_us.lock().push(t.elapsed().as_micros() as u32);
                        counts.bytes.fetch_add(len, Relaxed);
                        if status == 200 {
                            counts.segments.fetch_add(1, Relaxed);
                        } else {
                            counts.error(format!("{uri}: status {status}"));
                        }
                    }
                    last = Some(newest);
                }
                tokio::time::sleep(jitter()).await;
            }
        }
        .await;
        if let Err(e) = r {
            counts.error(e);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The figures of one phase.
struct Phase {
    name: String,
    clients: usize,
    connected_at_end: u64,
    wall: f64,
    bytes: f64,
    server_cpu: f64,
    client_cpu: f64,
    ffmpeg_cpu: f64,
    machine_busy: f64,
    loadavg: String,
    rss_mb: f64,
    errors: u64,
    first_errors: Vec<String>,
    /// ts: the server's bytes handed to sockets and clients dropped, over the phase.
    server_bytes: f64,
    dropped: f64,
    /// hls: segments and playlists fetched, and clients that fell behind.
    segments: u64,
    playlists: u64,
    behind: u64,
    /// hls: segment fetch times over the phase, ms: median, p99, worst.
    fetch_ms: (f64, f64, f64),
}

impl Phase {
    fn per_cpu(&self) -> f64 {
        self.bytes / self.server_cpu
    }
}

async fn phase(c: &reqwest::Client, s: &Server, name: &str, n: usize, secs: u64) -> Phase {
    let counts = Arc::new(Counts::default());
    let warmup = Duration::from_secs(env_u64("WARMUP_SECS", 3));
    let mut tasks = tokio::task::JoinSet::new();
    // Clients start over a second: HLS players do not all poll at once.
    for i in 0..n {
        let counts = counts.clone();
        match name {
            "ts" => tasks.spawn(ts_client(s.addr, counts)),
            _ => tasks.spawn(hls_client(s.addr, counts, i as u64 + 1)),
        };
        tokio::time::sleep(Duration::from_micros(1_000_000 / n as u64)).await;
    }
    let t_connect = Instant::now();
    while counts.connected.load(Relaxed) < n as u64 && t_connect.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(warmup).await;

    let ts_bytes = per_channel("ts_bytes_total");
    let ts_dropped = per_channel("ts_clients_dropped_total");
    let (sb0, d0) = (
        metric(c, s, &ts_bytes).await,
        metric(c, s, &ts_dropped).await,
    );
    let b0 = counts.bytes.load(Relaxed);
    let (seg0, pl0, be0, e0) = (
        counts.segments.load(Relaxed),
        counts.playlists.load(Relaxed),
        counts.behind.load(Relaxed),
        counts.errors.load(Relaxed),
    );
    let (cpu0, me0, kids0, mach0) = (
        s.cpu(),
        cpu_seconds("self").0,
        children_cpu(s.pid),
        machine_ticks(),
    );
    counts.fetch_us.lock().clear();
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let mut fetch = std::mem::take(&mut *counts.fetch_us.lock());
    fetch.sort_unstable();
    let at = |q: f64| {
        let i = ((fetch.len() as f64 * q) as usize).min(fetch.len().saturating_sub(1));
        fetch.get(i).map_or(0.0, |us| *us as f64 / 1000.0)
    };
    let fetch_ms = (at(0.5), at(0.99), at(1.0));
    let (cpu1, me1, kids1, mach1) = (
        s.cpu(),
        cpu_seconds("self").0,
        children_cpu(s.pid),
        machine_ticks(),
    );
    let wall = t0.elapsed().as_secs_f64();
    let b1 = counts.bytes.load(Relaxed);
    let connected_at_end = counts.connected.load(Relaxed);
    let rss = rss_mb(&s.pid.to_string());
    let (sb1, d1) = (
        metric(c, s, &ts_bytes).await,
        metric(c, s, &ts_dropped).await,
    );
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    // The server sees the hang-ups and closes its streams before the next phase.
    let t_close = Instant::now();
    while metric(c, s, &per_channel("ts_clients")).await > 0.0
        && t_close.elapsed() < Duration::from_secs(10)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let p = Phase {
        name: name.to_string(),
        clients: n,
        connected_at_end,
        wall,
        bytes: (b1 - b0) as f64,
        server_cpu: cpu1 - cpu0,
        client_cpu: me1 - me0,
        ffmpeg_cpu: kids1 - kids0,
        machine_busy: (mach1.0 - mach0.0) / (mach1.1 - mach0.1).max(1.0),
        loadavg: loadavg(),
        rss_mb: rss,
        errors: counts.errors.load(Relaxed) - e0,
        first_errors: counts.first_errors.lock().clone(),
        server_bytes: sb1 - sb0,
        dropped: d1 - d0,
        segments: counts.segments.load(Relaxed) - seg0,
        playlists: counts.playlists.load(Relaxed) - pl0,
        behind: counts.behind.load(Relaxed) - be0,
        fetch_ms,
    };
    print_phase(&p);
    p
}

fn print_phase(p: &Phase) {
    let mb = 1e6;
    println!(
        "{} ({} clients, {} connected at the end, {:.1} s): {:.2} MB/s delivered ({:.2} Mbit/s a client); \
         server CPU {:.3} s/s ({:.1}% of a core), {:.1} MB per server CPU-second; clients' CPU {:.1}% of a core; \
         server RSS {:.0} MB; errors {}",
        p.name,
        p.clients,
        p.connected_at_end,
        p.wall,
        p.bytes / p.wall / mb,
        p.bytes / p.wall / p.clients as f64 * 8.0 / mb,
        p.server_cpu / p.wall,
        p.server_cpu / p.wall * 100.0,
        p.per_cpu() / mb,
        p.client_cpu / p.wall * 100.0,
        p.rss_mb,
        p.errors,
    );
    match p.name.as_str() {
        "ts" => println!(
            "  server: {:.2} MB/s handed to sockets, {} clients dropped for falling behind",
            p.server_bytes / p.wall / mb,
            p.dropped
        ),
        _ => println!(
            "  {:.1} segments/s and {:.1} playlists/s fetched; {} times a client's last segment had left the playlist; \
             a segment's fetch: median {:.1} ms, p99 {:.1} ms, worst {:.1} ms",
            p.segments as f64 / p.wall,
            p.playlists as f64 / p.wall,
            p.behind,
            p.fetch_ms.0,
            p.fetch_ms.1,
            p.fetch_ms.2
        ),
    }
    println!(
        "  ffmpeg (the server's children): {:.2} s CPU; whole machine {:.0}% busy, load {}",
        p.ffmpeg_cpu,
        p.machine_busy * 100.0,
        p.loadavg
    );
    for e in &p.first_errors {
        println!("  error: {e}");
    }
}

/// Waits until the channel is on air, the encode slots idle, and the server has
/// had no child for 5 s.
async fn setup(c: &reqwest::Client, s: &Server) {
    let limit = Duration::from_secs(env_u64("SETUP_SECS", 300));
    let t0 = Instant::now();
    let mut quiet_since: Option<Instant> = None;
    let mut last_log = Instant::now();
    loop {
        let on_air = c
            .get(s.url("/hls/stream.m3u8"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        let idle = on_air
            && metric(c, s, "shufflecast_encode_slots_busy").await == 0.0
            && metric(
                c,
                s,
                &format!("shufflecast_chunks{{channel=\"{SLUG}\",state=\"building\"}}"),
            )
            .await
                == 0.0;
        let kids = children(s.pid);
        if idle && kids.is_empty() {
            let since = *quiet_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= Duration::from_secs(5) {
                break;
            }
        } else {
            quiet_since = None;
        }
        if last_log.elapsed() > Duration::from_secs(15) {
            let names: Vec<&str> = kids.iter().map(|k| k.1.as_str()).collect();
            eprintln!(
                "  setup {:.0} s: on air {on_air}, idle {idle}, children {names:?}",
                t0.elapsed().as_secs_f64()
            );
            last_log = Instant::now();
        }
        if let Some(status) = exited(s) {
            panic!("the server exited ({status}):\n{}", s.tail());
        }
        if t0.elapsed() > limit {
            eprintln!("  setup: not idle after {limit:?}; measuring anyway");
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!(
        "setup: {:.0} s to on air with the generator idle; server RSS {:.0} MB, CPU so far {:.1} s",
        t0.elapsed().as_secs_f64(),
        rss_mb(&s.pid.to_string()),
        s.cpu()
    );
}

/// Whether the server has exited (a zombie: it is reaped on drop).
fn exited(s: &Server) -> Option<&'static str> {
    match stat_fields(&s.pid.to_string()) {
        Some((_, f)) => (f.first().map(String::as_str) == Some("Z")).then_some("exited"),
        None => Some("gone"),
    }
}

fn main() {
    raise_fd_limit();
    let n = env_u64("CLIENTS", 500) as usize;
    let secs = env_u64("BENCH_SECS", 30);
    let phases: Vec<String> = std::env::var("PHASES")
        .unwrap_or_else(|_| "ts,hls,ts".into())
        .split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| p == "ts" || p == "hls")
        .collect();
    let t0 = Instant::now();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let results = rt.block_on(async {
        let s = Server::start();
        let c = reqwest::Client::new();
        setup(&c, &s).await;
        let mut results = Vec::new();
        for name in &phases {
            results.push(phase(&c, &s, name, n, secs).await);
        }
        results
    });
    report(&results);
    println!("whole run: {:.0} s", t0.elapsed().as_secs_f64());
}

fn report(results: &[Phase]) {
    let mb = 1e6;
    println!();
    println!(
        "{:<5} {:>8} {:>10} {:>9} {:>14} {:>16} {:>12} {:>8} {:>7} {:>8} {:>8} {:>9}",
        "phase",
        "clients",
        "connected",
        "MB/s",
        "server cpu %",
        "MB/server cpu-s",
        "client cpu %",
        "rss MB",
        "errors",
        "dropped",
        "ffmpeg s",
        "machine %"
    );
    for p in results {
        println!(
            "{:<5} {:>8} {:>10} {:>9.2} {:>14.1} {:>16.1} {:>12.1} {:>8.0} {:>7} {:>8} {:>8.2} {:>9.0}",
            p.name,
            p.clients,
            p.connected_at_end,
            p.bytes / p.wall / mb,
            p.server_cpu / p.wall * 100.0,
            p.per_cpu() / mb,
            p.client_cpu / p.wall * 100.0,
            p.rss_mb,
            p.errors,
            if p.name == "ts" {
                p.dropped.to_string()
            } else {
                "-".into()
            },
            p.ffmpeg_cpu,
            p.machine_busy * 100.0
        );
    }
    let sum = |name: &str| {
        results
            .iter()
            .filter(|p| p.name == name)
            .fold((0.0, 0.0), |a, p| (a.0 + p.bytes, a.1 + p.server_cpu))
    };
    let (ts, hls) = (sum("ts"), sum("hls"));
    if ts.1 == 0.0 || hls.1 == 0.0 {
        return;
    }
    let (ts_rate, hls_rate) = (ts.0 / ts.1, hls.0 / hls.1);
    let ratio = ts_rate / hls_rate;
    for p in results.iter().filter(|p| p.name == "ts") {
        println!(
            "ts run: {:.2}x the bytes per server CPU-second of hls",
            p.per_cpu() / hls_rate
        );
    }
    let ok = results
        .iter()
        .all(|p| p.errors == 0 && p.dropped == 0.0 && p.connected_at_end == p.clients as u64);
    println!(
        "continuous TS at least 0.8x the bytes per server CPU-second of HLS: {} ({ratio:.2}x: {:.1} against {:.1} MB per CPU-second){}",
        if ratio >= 0.8 { "met" } else { "MISSED" },
        ts_rate / mb,
        hls_rate / mb,
        if ok {
            ""
        } else {
            "; but not every client was served throughout (see errors, dropped, connected)"
        }
    );
}
