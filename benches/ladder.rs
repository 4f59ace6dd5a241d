//! Benchmark: what the quality ladder costs to make. For the top rung alone
//! (1280x720 at 3000 kb/s), the default ladder (`auto`: 480p and 360p under it)
//! and a three-rung ladder written out (720p, 480p@1400, 360p@800), the same clips
//! from the demo library's videos in turn, each encoded by one ffmpeg run: the CPU
//! seconds ffmpeg spends per second of clip (all rungs together, user + system, read
//! with getrusage for the children), its wall time, and the bytes each rung takes
//! per minute of clip on disk.
//!
//! Run: cargo bench --bench ladder   (CLIPS=N for more clips; default 6)

use std::path::PathBuf;
use std::time::{Duration, Instant};

use shufflecast::transcode::{
    ClipRequest, Ffmpeg, Ladder, OutputProfile, RungOut, make_demo_library, make_first_demo_video,
};

/// CPU time (user + system) of the children waited for so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage fills the struct we hand it, nothing else.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

struct Figures {
    cpu_per_clip_sec: f64,
    wall_per_clip_sec: f64,
    /// Bytes per minute of clip, per rung (the top first): (height, bytes).
    disk: Vec<(u32, f64)>,
}

async fn run(ff: &Ffmpeg, sources: &[PathBuf], ladder: &Ladder, clips: usize) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let top = OutputProfile::new(1280, 720, 30, 2);
    let profiles = ladder.profiles(&top);
    let (secs, frames) = (6.0, 180);
    let mut bytes = vec![0u64; profiles.len()];
    let (cpu0, t0) = (children_cpu(), Instant::now());
    for i in 0..clips {
        let src = &sources[i % sources.len()];
        let info = ff.probe(src).await.unwrap();
        let out = dir.path().join(format!("clip-{i:04}.ts"));
        let files: Vec<PathBuf> = profiles[1..]
            .iter()
            .map(|p| shufflecast::clip::rung_file(&out, p.height))
            .collect();
        let rungs: Vec<RungOut<'_>> = profiles[1..]
            .iter()
            .zip(&files)
            .map(|(profile, out)| RungOut { profile, out })
            .collect();
        let req = ClipRequest {
            rungs: &rungs,
            ..ClipRequest::test(src, &info, &out)
                .at(1.0 + i as f64)
                .frames(frames)
                .profile(&top)
        };
        ff.encode_clip(&req).await.unwrap();
        for (b, f) in bytes.iter_mut().zip(std::iter::once(&out).chain(&files)) {
            *b += std::fs::metadata(f).unwrap().len();
        }
    }
    let clip_secs = secs * clips as f64;
    Figures {
        cpu_per_clip_sec: (children_cpu() - cpu0).as_secs_f64() / clip_secs,
        wall_per_clip_sec: t0.elapsed().as_secs_f64() / clip_secs,
        disk: profiles
            .iter()
            .zip(&bytes)
            .map(|(p, b)| (p.height, *b as f64 / clip_secs * 60.0))
            .collect(),
    }
}

#[tokio::main]
async fn main() {
    let ff = Ffmpeg::locate().await.expect("ffmpeg installed");
    let lib_dir = tempfile::tempdir().unwrap();
    let lib = make_first_demo_video(&ff, lib_dir.path()).await.unwrap();
    make_demo_library(&ff, lib_dir.path()).await.unwrap();
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&lib.videos)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    sources.sort();
    let clips: usize = std::env::var("CLIPS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(6);
    println!(
        "ladder encode: {clips} clips of 6 s at 1280x720@30, 3000 kb/s top, from {} sources in turn",
        sources.len()
    );
    let ladders = [
        ("top rung alone", Ladder::NONE),
        ("default (auto)", Ladder::auto()),
        (
            "720p, 480p@1400, 360p@800",
            "480p@1400,360p@800".parse().unwrap(),
        ),
    ];
    let mut base = None;
    for (name, ladder) in ladders {
        let f = run(&ff, &sources, &ladder, clips).await;
        let base_cpu = *base.get_or_insert(f.cpu_per_clip_sec);
        let disk: Vec<String> = f
            .disk
            .iter()
            .map(|(h, b)| format!("{h}p {:.1} MB", b / 1e6))
            .collect();
        println!(
            "{name:<28} CPU {:.2} s per clip-second ({:.2}x the top alone), wall {:.2} s per clip-second; disk per clip-minute: {}",
            f.cpu_per_clip_sec,
            f.cpu_per_clip_sec / base_cpu,
            f.wall_per_clip_sec,
            disk.join(", ")
        );
    }
}
