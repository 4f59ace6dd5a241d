//! Benchmark: what a clip's picture costs its encode. The same clips of two unlike
//! sources (H.264 1080p in MP4; interlaced, anamorphic MPEG-2 in MPEG-PS) at the
//! default output profile and clip length, each encoded without and with its
//! picture, alternating (which goes first swaps every clip, so a machine that
//! slows down or speeds up weighs on both alike). Prints the median wall time and
//! the median CPU time of ffmpeg of each, and the difference in percent. Goal
//! (issue 15): at most 3% slower.
//!
//! Run: cargo bench --bench thumbnails   (CLIPS=n for n clips per source, default 8)

use std::path::Path;
use std::time::{Duration, Instant};

use shufflecast::config::Config;
use shufflecast::testkit::media::{self, args, ffmpeg};
use shufflecast::transcode::{ClipRequest, Ffmpeg, OutputProfile};

/// CPU time (user + system) of the children that ended so far.
fn children_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

fn percent(with: Duration, without: Duration) -> f64 {
    (with.as_secs_f64() / without.as_secs_f64() - 1.0) * 100.0
}

/// The two sources, 40 s each.
fn sources(dir: &Path) -> Vec<(&'static str, std::path::PathBuf)> {
    let h264 = dir.join("h264-1080p.mp4");
    media::make_video_with(
        &h264,
        "testsrc2=size=1920x1080:rate=25",
        &["-t", "40", "-g", "50"],
    );
    let mpeg2 = dir.join("mpeg2-pal.mpg");
    let mut a = args([
        "-f",
        "lavfi",
        "-i",
        "smptehdbars=size=720x576:rate=25",
        "-t",
        "40",
        "-c:v",
        "mpeg2video",
        "-b:v",
        "6M",
        "-flags",
        "+ilme+ildct",
        "-top",
        "1",
        "-aspect",
        "16:9",
    ]);
    a.push(mpeg2.clone().into());
    ffmpeg(a);
    vec![("H.264 1080p25 MP4", h264), ("MPEG-2 576i PS", mpeg2)]
}

/// One encode; its wall and CPU time.
async fn timed(ff: &Ffmpeg, req: &ClipRequest<'_>) -> (Duration, Duration) {
    let (cpu, t) = (children_cpu(), Instant::now());
    ff.encode_clip(req).await.unwrap();
    (t.elapsed(), children_cpu() - cpu)
}

fn main() {
    let clips: usize = std::env::var("CLIPS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(8);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // As the server runs clip encodes by default: one job, ffmpeg's own threads.
        let ff = Ffmpeg::locate().await.expect("ffmpeg installed");
        let config = Config::default();
        let profile: OutputProfile = config.output.profile();
        let secs = config.channel.clip_min;
        let frames = (secs * profile.fps as f64).round() as u32;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        println!(
            "clip encodes without and with the picture: {clips} clips of {secs} s per source, {}x{}@{} gop {}, {}",
            profile.width,
            profile.height,
            profile.fps,
            profile.gop_frames,
            ff.version()
        );
        // Each clip's with/without ratios (wall, CPU): paired, so that clips of
        // unlike cost (two sources) do not blur the difference.
        let mut ratios: Vec<(f64, f64)> = Vec::new();
        for (name, src) in sources(d) {
            let info = ff.probe(&src).await.unwrap();
            let (mut without, mut with) = (Vec::new(), Vec::new());
            for k in 0..clips {
                let start = 1.0 + (k as f64 * 3.7) % (info.duration - secs - 2.0);
                let (plain, pictured) = (d.join("a.ts"), d.join("b.ts"));
                let picture = d.join("b.jpg");
                let a = ClipRequest::test(&src, &info, &plain)
                    .at(start)
                    .frames(frames)
                    .profile(&profile);
                let b = ClipRequest {
                    out: &pictured,
                    ..a
                }
                .thumbnail(Some(&picture));
                let (ta, tb) = if k % 2 == 0 {
                    let ta = timed(&ff, &a).await;
                    (ta, timed(&ff, &b).await)
                } else {
                    let tb = timed(&ff, &b).await;
                    (timed(&ff, &a).await, tb)
                };
                assert!(picture.is_file(), "the picture was made");
                ratios.push((
                    tb.0.as_secs_f64() / ta.0.as_secs_f64(),
                    tb.1.as_secs_f64() / ta.1.as_secs_f64(),
                ));
                without.push(ta);
                with.push(tb);
            }
            let wall = |v: &[(Duration, Duration)]| median(v.iter().map(|t| t.0).collect());
            let cpu = |v: &[(Duration, Duration)]| median(v.iter().map(|t| t.1).collect());
            println!(
                "  {name:<18} median wall: without {:>6.3} s, with {:>6.3} s ({:+.2}%)   median cpu: without {:>6.3} s, with {:>6.3} s ({:+.2}%)",
                wall(&without).as_secs_f64(),
                wall(&with).as_secs_f64(),
                percent(wall(&with), wall(&without)),
                cpu(&without).as_secs_f64(),
                cpu(&with).as_secs_f64(),
                percent(cpu(&with), cpu(&without)),
            );
        }
        let middle = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            let n = v.len();
            if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
        };
        let wall = (middle(ratios.iter().map(|r| r.0).collect()) - 1.0) * 100.0;
        let cpu = (middle(ratios.iter().map(|r| r.1).collect()) - 1.0) * 100.0;
        println!(
            "  all {} clips, median of each clip's with/without: wall {wall:+.2}%, cpu {cpu:+.2}%",
            ratios.len()
        );
        println!(
            "goal: at most 3% slower: {}",
            if wall <= 3.0 { "met" } else { "NOT met" }
        );
    });
}
