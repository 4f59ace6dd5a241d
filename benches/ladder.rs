//! Benchmark: what the quality ladder costs to make. For the top rung alone
//! (1280x720 at 3000 kb/s), the default ladder (`auto`: 480p and 360p under it)
//! and a three-rung ladder written out (720p, 480p@1400, 360p@800), the same clips
//! encoded by one ffmpeg run each, the ladders alternating clip by clip (so a busy
//! moment of the machine falls on all of them): the CPU seconds ffmpeg spends per
//! second of clip (all rungs together, user + system, read with getrusage for the
//! children), its wall time, and the bytes each rung takes per minute of clip on
//! disk.
//!
//! Two libraries, since the ratio depends on what the sources cost to decode:
//!  - the demo library's videos (synthetic pictures, cheap to decode);
//!  - camera-like sources: 1080p30 H.264 at about 6 Mb/s and 1080p30 HEVC 10-bit at
//!    about 8 Mb/s, a moving test picture with grain (made here by ffmpeg).
//!
//! Run: cargo bench --bench ladder   (CLIPS=N clips per library and ladder; default 6)

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shufflecast::transcode::{
    ClipRequest, Ffmpeg, Ladder, OutputProfile, RungFiles, make_demo_library, make_first_demo_video,
};

/// CPU time (user + system) of the children waited for so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage fills the struct we hand it, nothing else.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

const SECS: f64 = 6.0;
const FRAMES: u32 = 180;

/// One ladder's totals over the clips it encoded.
#[derive(Default)]
struct Totals {
    cpu: Duration,
    wall: Duration,
    clips: usize,
    /// Bytes per rung, the top first.
    bytes: Vec<u64>,
}

/// Encodes clip `i` of `src` with `ladder`, adding to `t`.
async fn encode(ff: &Ffmpeg, dir: &Path, src: &Path, i: usize, ladder: &Ladder, t: &mut Totals) {
    let top = OutputProfile::new(1280, 720, 30, 2);
    let profiles = ladder.profiles(&top);
    let info = ff.probe(src).await.unwrap();
    let out = dir.join(format!("clip-{i:04}.ts"));
    let lower = RungFiles::new(profiles[1..].to_vec(), &out);
    let rungs = lower.outs();
    let req = ClipRequest {
        rungs: &rungs,
        ..ClipRequest::test(src, &info, &out)
            .at(0.5 + (i % 2) as f64)
            .frames(FRAMES)
            .profile(&top)
    };
    let (cpu0, t0) = (children_cpu(), Instant::now());
    ff.encode_clip(&req).await.unwrap();
    t.cpu += children_cpu() - cpu0;
    t.wall += t0.elapsed();
    t.clips += 1;
    t.bytes.resize(profiles.len(), 0);
    for (b, f) in t
        .bytes
        .iter_mut()
        .zip(std::iter::once(&out).chain(lower.files()))
    {
        *b += std::fs::metadata(f).unwrap().len();
        std::fs::remove_file(f).unwrap();
    }
}

/// Camera-like sources: 8 s of a moving picture with grain, 1080p30, as H.264 and
/// as 10-bit HEVC.
fn camera_sources(dir: &Path) -> Vec<PathBuf> {
    let pic = "testsrc2=s=1920x1080:r=30:d=8,noise=alls=5:allf=t+u";
    let make = |name: &str, codec: &[&str]| {
        let path = dir.join(name);
        let ok = std::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-y"])
            .args(["-f", "lavfi", "-i", pic])
            .args(codec)
            .arg(&path)
            .status()
            .expect("ffmpeg runs")
            .success();
        assert!(ok, "making {name}");
        path
    };
    vec![
        make(
            "camera-h264-1080p.mp4",
            &[
                "-c:v", "libx264", "-preset", "fast", "-crf", "23", "-pix_fmt", "yuv420p",
            ],
        ),
        make(
            "camera-hevc10-1080p.mkv",
            &[
                "-c:v",
                "libx265",
                "-preset",
                "ultrafast",
                "-crf",
                "22",
                "-pix_fmt",
                "yuv420p10le",
                "-x265-params",
                "log-level=error",
            ],
        ),
    ]
}

async fn library(ff: &Ffmpeg, name: &str, sources: &[PathBuf], clips: usize) {
    let dir = tempfile::tempdir().unwrap();
    let ladders = [
        ("top rung alone", Ladder::NONE),
        ("default (auto)", Ladder::auto()),
        (
            "720p, 480p@1400, 360p@800",
            "480p@1400,360p@800".parse().unwrap(),
        ),
    ];
    let mut totals: Vec<Totals> = ladders.iter().map(|_| Totals::default()).collect();
    for i in 0..clips {
        let src = &sources[i % sources.len()];
        for ((_, ladder), t) in ladders.iter().zip(&mut totals) {
            encode(ff, dir.path(), src, i, ladder, t).await;
        }
    }
    println!(
        "{name}: {clips} clips of {SECS} s at 1280x720@30, 3000 kb/s top, from {} sources in turn",
        sources.len()
    );
    let per_sec = |d: Duration, t: &Totals| d.as_secs_f64() / (SECS * t.clips as f64);
    let base = per_sec(totals[0].cpu, &totals[0]);
    for ((label, ladder), t) in ladders.iter().zip(&totals) {
        let top = OutputProfile::new(1280, 720, 30, 2);
        let disk: Vec<String> = ladder
            .profiles(&top)
            .iter()
            .zip(&t.bytes)
            .map(|(p, b)| {
                let mb = *b as f64 / (SECS * t.clips as f64) * 60.0 / 1e6;
                format!("{}p {mb:.1} MB", p.height)
            })
            .collect();
        let cpu = per_sec(t.cpu, t);
        println!(
            "  {label:<28} CPU {cpu:.2} s per clip-second ({:.2}x the top alone), wall {:.2} s per clip-second; disk per clip-minute: {}",
            cpu / base,
            per_sec(t.wall, t),
            disk.join(", ")
        );
    }
}

#[tokio::main]
async fn main() {
    let ff = Ffmpeg::locate().await.expect("ffmpeg installed");
    let clips: usize = std::env::var("CLIPS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(6);
    let lib_dir = tempfile::tempdir().unwrap();
    let lib = make_first_demo_video(&ff, lib_dir.path()).await.unwrap();
    make_demo_library(&ff, lib_dir.path()).await.unwrap();
    let mut demo: Vec<PathBuf> = std::fs::read_dir(&lib.videos)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    demo.sort();
    library(&ff, "demo library", &demo, clips).await;
    let camera = camera_sources(lib_dir.path());
    library(
        &ff,
        "camera-like 1080p (H.264, HEVC 10-bit)",
        &camera,
        clips,
    )
    .await;
}
