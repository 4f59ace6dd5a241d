//! Benchmark: what many channels cost the server, for N = 1, 10, 50 and 200
//! channels airing the same folder, on this machine. Each N runs in a fresh process
//! (the bench runs itself again with `--one N --dir D`), so the memory of one N is
//! not left over from another. In it, the whole server runs in process
//! ([`TestServer`]): a small profile (320x180, 25 fps, 2 s segments), 8 s chunks
//! of two 4 s clips, one ready chunk per channel, 2 encode slots, 6 segments listed.
//!
//! Setup waits until every channel is on air with its chunk made: with
//! MAX_CHUNKS (1) chunks a channel makes no more and re-airs what it has, so the
//! pool goes idle by itself after about one chunk per channel. Then two phases of
//! BENCH_SECS (30) seconds each are measured:
//!  - "airing": the pool idle, the channels re-airing their chunks;
//!  - "load": max_chunks raised (PUT /api/settings, which applies live) and every
//!    channel asked for more chunks (LOAD_CHUNKS, 200 in all, at least one per
//!    channel), so ffmpeg keeps the 2 encode slots busy for the whole phase.
//!
//! Over each phase: the server's CPU time (utime + stime of this process, every
//! thread; ffmpeg runs are other processes and not counted, their CPU is shown on
//! its own from the reaped children's times), its resident memory at the end
//! (VmRSS), the segments published and how late they were, from the difference of
//! two scrapes of the lateness histogram of /metrics (so the figures are the
//! phase's, not since start; p99 and worst to the histogram's bucket bounds),
//! and the channels' worst since start.
//!
//! Run: cargo bench --bench channels          (N = 1, 10, 50, 200)
//!      cargo bench --bench channels -- 10    (one N, or several: -- 1 10)
//! BENCH_SECS changes the phases' length, SETUP_SECS the most the setup may take
//! (600), LOAD_CHUNKS the chunks asked for under load (200 in all); RUNGS the
//! channels' quality ladder (`160p,144p`: three rungs under the 180p top; none by
//! default); BENCH_DIR the folder that holds the sources and the server's data (the
//! system's temporary folder by default). Each segment published is a file made and
//! one deleted in the disk mirror, and on an ext4 without a journal (this machine's)
//! making a file costs more the more files were deleted lately anywhere near it:
//! `BENCH_DIR=/dev/shm` (tmpfs) measures the server without that.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shufflecast::testkit::media::make_video;
use shufflecast::testkit::procfs::{cpu_seconds, loadavg, machine_ticks, rss_mb};
use shufflecast::testkit::server::TestServer;

const TOKEN: &str = "bench-admin-token-1";
const PLAYLIST_SEGMENTS: usize = 6;
const SEGMENT_SECS: f64 = 2.0;

fn env_u64(k: &str, default: u64) -> u64 {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One scrape of /metrics: every sample by its name with labels.
struct Metrics(BTreeMap<String, f64>);

impl Metrics {
    async fn get(c: &reqwest::Client, s: &TestServer) -> Metrics {
        let body = c
            .get(s.url("/metrics"))
            .send()
            .await
            .expect("/metrics answers")
            .text()
            .await
            .unwrap();
        Metrics(
            body.lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.rsplit_once(' '))
                .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
                .collect(),
        )
    }

    fn one(&self, key: &str) -> f64 {
        self.0.get(key).copied().unwrap_or(0.0)
    }

    fn channel(&self, name: &str, slug: &str) -> f64 {
        self.one(&format!("shufflecast_{name}{{channel=\"{slug}\"}}"))
    }

    /// `name` summed over channels.
    fn sum(&self, name: &str) -> f64 {
        let prefix = format!("shufflecast_{name}{{channel=");
        self.0
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, v)| v)
            .sum()
    }

    /// `name` at its largest over channels.
    fn max(&self, name: &str) -> f64 {
        let prefix = format!("shufflecast_{name}{{channel=");
        self.0
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, v)| *v)
            .fold(0.0, f64::max)
    }

    /// The lateness histogram: (upper bound in s, segments under it), by bound,
    /// +Inf last.
    fn lateness(&self) -> Vec<(f64, f64)> {
        let prefix = "shufflecast_segment_lateness_seconds_bucket{le=\"";
        let mut b: Vec<(f64, f64)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let le = k.strip_prefix(prefix)?.strip_suffix("\"}")?;
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                Some((le, *v))
            })
            .collect();
        b.sort_by(|a, b| a.0.total_cmp(&b.0));
        b
    }
}

/// A window's lateness from two scrapes: (p99 at most, worst at most, segments 100
/// ms late or more), in ms; the bounds are the histogram's buckets, `inf` beyond its
/// last.
fn window_lateness(a: &Metrics, b: &Metrics) -> (f64, f64, f64) {
    let (a, b) = (a.lateness(), b.lateness());
    let d: Vec<(f64, f64)> = b
        .iter()
        .map(|&(le, n)| (le, n - a.iter().find(|x| x.0 == le).map_or(0.0, |x| x.1)))
        .collect();
    let count = d.last().map_or(0.0, |x| x.1);
    let at = |share: f64| {
        d.iter()
            .find(|&&(_, n)| n >= (share * count).ceil())
            .map_or(f64::NAN, |x| x.0 * 1000.0)
    };
    let under_100 = d.iter().find(|x| x.0 == 0.1).map_or(0.0, |x| x.1);
    (at(0.99), at(1.0), count - under_100)
}

/// What the child prints of a phase for the parent: one JSON line after `RESULT `.
async fn phase(
    c: &reqwest::Client,
    s: &TestServer,
    n: usize,
    name: &str,
    secs: u64,
    sample_pool: bool,
) -> Value {
    let m0 = Metrics::get(c, s).await;
    let (cpu0, kids0) = cpu_seconds("self");
    let mach0 = machine_ticks();
    let t0 = Instant::now();
    let mut busy = Vec::new();
    if sample_pool {
        while t0.elapsed() < Duration::from_secs(secs) {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let m = Metrics::get(c, s).await;
            busy.push(m.one("shufflecast_encode_slots_busy"));
        }
    } else {
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }
    let wall = t0.elapsed().as_secs_f64();
    let (cpu1, kids1) = cpu_seconds("self");
    let mach1 = machine_ticks();
    let rss = rss_mb("self");
    let m1 = Metrics::get(c, s).await;
    let (p99, max, late) = window_lateness(&m0, &m1);
    let segments = m1.sum("segments_published_total") - m0.sum("segments_published_total");
    let bytes = m1.sum("bytes_published_total") - m0.sum("bytes_published_total");
    let v = json!({
        "n": n,
        "phase": name,
        "wall": wall,
        "cpu": cpu1 - cpu0,
        "ffmpeg_cpu": kids1 - kids0,
        "machine_busy": (mach1.0 - mach0.0) / (mach1.1 - mach0.1).max(1.0),
        "loadavg": loadavg(),
        "rss_mb": rss,
        "segments": segments,
        "segment_bytes": bytes / segments.max(1.0),
        "underruns": m1.sum("underruns_total") - m0.sum("underruns_total"),
        "clips_encoded": m1.sum("clips_encoded_total") - m0.sum("clips_encoded_total"),
        "p99_ms": p99,
        "max_ms": max,
        "late_100": late,
        "max_since_start_ms": m1.max("segment_lateness_max_seconds") * 1000.0,
        "busy_mean": if busy.is_empty() { m1.one("shufflecast_encode_slots_busy") }
                     else { busy.iter().sum::<f64>() / busy.len() as f64 },
        "busy_min": busy.iter().copied().fold(f64::INFINITY, f64::min),
        "busy_end": m1.one("shufflecast_encode_slots_busy"),
        "waiting_end": m1.one("shufflecast_encode_waiting_channels"),
    });
    println!("RESULT {v}");
    eprintln!(
        "  N={n} {name}: {:.1}% of a core in all, {:.0} MB, {segments} segments, p99 <= {p99} ms, worst <= {max} ms",
        (cpu1 - cpu0) / wall * 100.0,
        rss
    );
    v
}

async fn post(c: &reqwest::Client, s: &TestServer, path: &str, body: Value) {
    let r = c
        .post(s.url(path))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    assert!(r.status().is_success(), "POST {path}: {}", r.status());
}

/// One N, in this process: setup, then the two phases.
async fn one(n: usize, dir: &Path) {
    let secs = env_u64("BENCH_SECS", 30);
    let setup_limit = Duration::from_secs(env_u64("SETUP_SECS", 600));
    let load_chunks = env_u64("LOAD_CHUNKS", 200) as usize;
    // Chunks each channel is asked for under load (the API takes up to 100), and
    // room for them: a channel with max_chunks chunks makes no more, even asked.
    let ask = load_chunks.div_ceil(n).clamp(1, 100);
    let max_chunks_airing = env_u64("MAX_CHUNKS", 1) as usize;
    let max_chunks_load = ask + max_chunks_airing + 1;
    let work = dir.join(format!("run-{n}"));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let slugs: Vec<String> = (0..n).map(|i| format!("ch-{i:03}")).collect();
    let mut file = String::new();
    for (i, slug) in slugs.iter().enumerate() {
        file += &format!(
            "[[channel]]\nslug = \"{slug}\"\nname = \"Bench {i}\"\nnumber = {}\nvideos = \"{}\"\n\
             clip_min = 4.0\nclip_max = 4.0\nchunk_duration = 8.0\nready_chunks = 1\n\n",
            i + 1,
            dir.join("videos").display()
        );
    }
    let channels = work.join("channels.toml");
    std::fs::write(&channels, file).unwrap();
    let channels = channels.display().to_string();
    let rss_empty = rss_mb("self");
    let t0 = Instant::now();
    let s = TestServer::start(
        &work,
        &[
            "--channels",
            &channels,
            "--width",
            "320",
            "--height",
            "180",
            "--fps",
            "25",
            "--segment-duration",
            "2",
            "--generator-jobs",
            "2",
            "--playlist-segments",
            "6",
            "--admin-token",
            TOKEN,
            "--seed",
            "1",
            "--max-chunks",
            &max_chunks_airing.to_string(),
            "--ready-chunks",
            "1",
            // RUNGS: the channels' quality ladder (e.g. 160p,144p); none by default.
            "--renditions",
            &std::env::var("RUNGS").unwrap_or_else(|_| "none".into()),
        ],
    )
    .await;
    let c = reqwest::Client::new();

    // Setup: each channel on air with its chunks made (max_chunks of them: then
    // a generator makes no more) and the pool idle.
    let mut last_log = Instant::now();
    let idle = loop {
        let m = Metrics::get(&c, &s).await;
        let done = slugs
            .iter()
            .filter(|slug| {
                let chunks = |state: &str| {
                    m.one(&format!(
                        "shufflecast_chunks{{channel=\"{slug}\",state=\"{state}\"}}"
                    ))
                };
                chunks("ready") >= max_chunks_airing as f64
                    && chunks("building") == 0.0
                    && m.channel("segments_published_total", slug) > 0.0
            })
            .count();
        let pool_idle = m.one("shufflecast_encode_slots_busy") == 0.0
            && m.one("shufflecast_encode_waiting_channels") == 0.0;
        if done == n && pool_idle {
            break true;
        }
        if last_log.elapsed() > Duration::from_secs(20) {
            eprintln!(
                "  N={n}: {done} channels ready after {:.0} s ({} clips encoded)",
                t0.elapsed().as_secs_f64(),
                m.sum("clips_encoded_total")
            );
            last_log = Instant::now();
        }
        if t0.elapsed() > setup_limit {
            eprintln!(
                "  N={n}: only {done} channels ready after {setup_limit:?}, pool idle: {pool_idle}; measuring anyway"
            );
            break false;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let m = Metrics::get(&c, &s).await;
    let setup = json!({
        "n": n,
        "setup_secs": t0.elapsed().as_secs_f64(),
        "clips": m.sum("clips_encoded_total"),
        "idle": idle,
        "rss_before_mb": rss_empty,
    });
    println!("SETUP {setup}");
    eprintln!(
        "  N={n}: setup {:.0} s, {} clips encoded, pool idle: {idle}",
        t0.elapsed().as_secs_f64(),
        m.sum("clips_encoded_total")
    );

    phase(&c, &s, n, "airing", secs, false).await;

    // Room for the chunks asked for: max_chunks is a server-wide setting here,
    // which applies live to every channel.
    let r = c
        .put(s.url("/api/settings"))
        .bearer_auth(TOKEN)
        .json(&json!({ "max_chunks": max_chunks_load }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "PUT /api/settings: {}", r.status());
    for slug in &slugs {
        post(
            &c,
            &s,
            &format!("/api/generate_chunk?channel={slug}"),
            json!({ "count": ask }),
        )
        .await;
    }
    // The phase begins once both slots are taken.
    for _ in 0..20 {
        if Metrics::get(&c, &s)
            .await
            .one("shufflecast_encode_slots_busy")
            >= 2.0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    phase(&c, &s, n, "load", secs, true).await;
    s.stop().await;
    let _ = std::fs::remove_dir_all(&work);
}

/// Source videos: short, of different sizes, rates and pictures.
fn sources(dir: &Path) {
    let v = dir.join("videos");
    for (name, src) in [
        ("test.mp4", "testsrc2=size=320x240:rate=25:duration=7"),
        ("bars.mp4", "smptebars=size=320x240:rate=30:duration=6"),
        ("hdbars.mkv", "smptehdbars=size=384x216:rate=25:duration=8"),
        ("rgb.mov", "rgbtestsrc=size=256x192:rate=24:duration=6"),
        ("test-wide.mp4", "testsrc=size=352x198:rate=25:duration=7"),
    ] {
        make_video(&v.join(name), src);
    }
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or(f64::NAN)
}

/// "≤ x", or "> 250" beyond the histogram.
fn bound(ms: f64) -> String {
    match ms.is_finite() {
        true => format!("<={ms:.0}"),
        false => ">250".to_string(),
    }
}

fn report(results: &[Value], setups: &[Value], secs: u64) {
    let rss1 = |phase: &str| {
        results
            .iter()
            .find(|r| r["n"] == 1 && r["phase"] == phase)
            .map(|r| f(r, "rss_mb"))
    };
    println!();
    println!(
        "{:>4}  {:<7} {:>12} {:>12} {:>15} {:>9} {:>16} {:>8} {:>6} {:>12} {:>9} {:>8} {:>13}",
        "N",
        "phase",
        "cpu%/channel",
        "rss MB total",
        "rss MB/channel",
        "segments",
        "lateness p99 ms",
        "max ms",
        ">100",
        "max ever ms",
        "ffmpeg",
        "slots",
        "host cpu/load"
    );
    for r in results {
        let n = f(r, "n");
        let phase = r["phase"].as_str().unwrap_or("?");
        let rss = f(r, "rss_mb");
        let per = match (n > 1.0, rss1(phase)) {
            (true, Some(one)) => format!("{:.2}/{:.2}", (rss - one) / (n - 1.0), rss / n),
            _ => format!("-/{:.2}", rss / n),
        };
        let expected = n * f(r, "wall") / SEGMENT_SECS;
        println!(
            "{:>4}  {:<7} {:>12.4} {:>12.1} {:>15} {:>9} {:>16} {:>8} {:>6} {:>12.1} {:>9} {:>8} {:>13}",
            n,
            phase,
            f(r, "cpu") / f(r, "wall") / n * 100.0,
            rss,
            per,
            format!("{:.0}/{:.0}", f(r, "segments"), expected),
            bound(f(r, "p99_ms")),
            bound(f(r, "max_ms")),
            f(r, "late_100"),
            f(r, "max_since_start_ms"),
            format!("{:.2} core", f(r, "ffmpeg_cpu") / f(r, "wall")),
            format!("{:.1}/2", f(r, "busy_mean")),
            format!(
                "{:.0}%/{}",
                f(r, "machine_busy") * 100.0,
                r["loadavg"].as_str().unwrap_or("?")
            ),
        );
    }
    println!(
        "rss MB/channel: (RSS(N) - RSS(1)) / (N - 1) / RSS(N) / N; segments: published / expected \
         in {secs} s; lateness over the phase, to the /metrics histogram's buckets; >100: segments \
         100 ms late or more; max ever: the latest segment of any channel since start (setup \
         included); ffmpeg: cores of the ffmpeg runs that ended in the phase; slots: encode slots \
         busy, mean of 2 s samples; host cpu/load: the whole machine's CPU busy over the \
         phase (every process, ours or not) and its 1-minute load average at the end."
    );
    for s in setups {
        println!(
            "setup N={}: {:.0} s to {} channels on air with a chunk ready ({} clips encoded, pool idle after: {})",
            s["n"],
            f(s, "setup_secs"),
            s["n"],
            s["clips"],
            s["idle"]
        );
    }
    for r in results {
        let phase = r["phase"].as_str().unwrap_or("");
        if phase == "airing" && f(r, "clips_encoded") > 0.0 {
            println!(
                "N={}: {} clips were encoded while airing only",
                r["n"], r["clips_encoded"]
            );
        }
        if f(r, "underruns") > 0.0 {
            println!(
                "N={} {phase}: {} segments were underruns (slate)",
                r["n"], r["underruns"]
            );
        }
        if phase == "load" && (f(r, "busy_min") < 2.0 || f(r, "busy_end") < 2.0) {
            println!(
                "N={} load: the encode slots were not always both busy (lowest sample {}, at the end {}, {} channels waiting); machine CPU busy {:.0}%, load average {}",
                r["n"],
                r["busy_min"],
                r["busy_end"],
                r["waiting_end"],
                f(r, "machine_busy") * 100.0,
                r["loadavg"].as_str().unwrap_or("?")
            );
        }
    }

    // The goals, at the largest N run.
    let Some(top) = results.iter().map(|r| f(r, "n")).reduce(f64::max) else {
        return;
    };
    let at = |phase: &str| {
        results
            .iter()
            .find(|r| f(r, "n") == top && r["phase"] == phase)
    };
    println!();
    if top < 200.0 {
        println!("goals are for 200 channels; checked here at N={top}");
    }
    let ok = |b: bool| if b { "met" } else { "MISSED" };
    if let Some(l) = at("load") {
        let late = f(l, "late_100");
        println!(
            "every segment within 100 ms of its time under full load: {} ({late} of {} segments 100 ms late or more; p99 {} ms, worst {} ms; machine CPU busy {:.0}%)",
            ok(late == 0.0),
            l["segments"],
            bound(f(l, "p99_ms")),
            bound(f(l, "max_ms")),
            f(l, "machine_busy") * 100.0
        );
    }
    if let Some(a) = at("airing") {
        let cpu = f(a, "cpu") / f(a, "wall") / top * 100.0;
        let per_segment = f(a, "cpu") / f(a, "segments").max(1.0) * 1000.0;
        println!(
            "<= 0.1% of one core per channel airing: {} ({cpu:.4}%; {per_segment:.2} ms of CPU per segment published)",
            ok(cpu <= 0.1)
        );
        let rss = f(a, "rss_mb");
        let per = match rss1("airing") {
            Some(one) if top > 1.0 => (rss - one) / (top - 1.0),
            _ => rss / top,
        };
        // What the live windows hold: 2 x PLAYLIST_SEGMENTS segments a channel.
        let window = 2.0 * PLAYLIST_SEGMENTS as f64 * f(a, "segment_bytes") / 1e6;
        println!(
            "<= 20 MB per channel: {} ({per:.2} MB per added channel, {:.2} MB per channel in all; of it the live window, {} segments of {:.0} kB, holds {window:.2} MB)",
            ok(per <= 20.0),
            rss / top,
            2 * PLAYLIST_SEGMENTS,
            f(a, "segment_bytes") / 1e3
        );
        if cpu > 0.1 {
            println!(
                "  CPU while airing: {per_segment:.2} ms per segment; a segment every {SEGMENT_SECS} s per channel needs at most {:.2} ms for 0.1%",
                0.1 / 100.0 * SEGMENT_SECS * 1000.0
            );
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    if let (Some(n), Some(dir)) = (value("--one"), value("--dir")) {
        let n: usize = n.parse().expect("--one N");
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(one(n, Path::new(dir)));
        return;
    }
    // Numbers among the arguments (cargo adds --bench).
    let mut ns: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if ns.is_empty() {
        ns = vec![1, 10, 50, 200];
    }
    let secs = env_u64("BENCH_SECS", 30);
    // BENCH_DIR: where the sources and the server's data go (the system's temporary
    // folder by default); /dev/shm takes the disk's file system out of the figures.
    let dir = match std::env::var_os("BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).expect("BENCH_DIR is a writable folder"),
        None => tempfile::tempdir().unwrap(),
    };
    eprintln!("making the source videos in {}...", dir.path().display());
    sources(dir.path());
    let exe: PathBuf = std::env::current_exe().unwrap();
    let t0 = Instant::now();
    let (mut results, mut setups) = (Vec::new(), Vec::new());
    for n in ns {
        eprintln!(
            "N={n}: a fresh process ({:.0} s so far)",
            t0.elapsed().as_secs_f64()
        );
        let out = Command::new(&exe)
            .args(["--one", &n.to_string(), "--dir"])
            .arg(dir.path())
            .stderr(Stdio::inherit())
            .output()
            .expect("the bench runs itself");
        let stdout = String::from_utf8_lossy(&out.stdout);
        for line in stdout.lines() {
            if let Some(j) = line.strip_prefix("RESULT ") {
                results.push(serde_json::from_str::<Value>(j).unwrap());
            } else if let Some(j) = line.strip_prefix("SETUP ") {
                setups.push(serde_json::from_str::<Value>(j).unwrap());
            }
        }
        if !out.status.success() {
            eprintln!("N={n}: the run failed ({})", out.status);
        }
    }
    report(&results, &setups, secs);
    println!("whole run: {:.0} s", t0.elapsed().as_secs_f64());
}
