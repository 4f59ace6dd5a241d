//! Benchmark: CPU time the live engine spends per second of stream, for a 720p30
//! channel at 3 Mb/s with a music bed. Real clips from ffmpeg, the real engine on a
//! virtual clock (so an hour of stream runs in seconds), segments mirrored to disk
//! as in production. CPU time is read from /proc/self/stat, so it counts every
//! thread: the splicer, the clip loaders and the disk writer.
//!
//! Run: cargo bench --bench engine   (STREAM_MINUTES=60 to change the length)

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use shufflecast::channel::{
    ChannelTiming, ClipInfo, ClipRef, ClipSource, Engine, Live, LoadedClip, LoadedTrack, TrackRef,
    TrackSource, VirtualClock,
};
use shufflecast::media::Ticks;
use shufflecast::transcode::{ClipRequest, Encoder, Ffmpeg, Look, OutputProfile};

/// Cycles through a fixed set of clips (or tracks) for ever.
struct Cycle<T: Clone>(Mutex<(VecDeque<T>, usize)>);

impl<T: Clone> Cycle<T> {
    fn next(&self) -> Option<T> {
        let mut g = self.0.lock().unwrap();
        let (items, i) = &mut *g;
        let item = items.get(*i % items.len()).cloned();
        *i += 1;
        item
    }
}
impl ClipSource for Cycle<ClipRef> {
    fn next_clip(&self) -> Option<ClipRef> {
        self.next()
    }
}
impl TrackSource for Cycle<TrackRef> {
    fn next_track(&self) -> Option<TrackRef> {
        self.next()
    }
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 (utime, stime) of stat(5), counted after the ')'.
    (ticks(11) + ticks(12)) / 100.0
}

async fn prepare(
    dir: &Path,
    profile: &OutputProfile,
) -> (
    Vec<ClipRef>,
    Vec<TrackRef>,
    Arc<LoadedClip>,
    Arc<LoadedTrack>,
) {
    let ff = Ffmpeg::locate().await.expect("ffmpeg installed");
    let src = dir.join("src.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=30:duration=30",
            "-f",
            "lavfi",
            "-i",
            "life=size=1280x720:rate=30:mold=10:ratio=0.1",
        ])
        .args([
            "-filter_complex",
            "[0][1]blend=all_mode=addition,noise=alls=12:allf=t",
            "-t",
            "30",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "18",
        ])
        .arg(&src)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    let info = ff.probe(&src).await.unwrap();
    let mut clips = Vec::new();
    for i in 0..4 {
        let out = dir.join(format!("clip-{i}.ts"));
        ff.encode_clip(&ClipRequest {
            src: &src,
            info: &info,
            start: i as f64 * 6.0,
            frames: 180,
            profile,
            encoder: &Encoder::X264,
            out: &out,
            look: &Look::NONE,
            watermark: None,
        })
        .await
        .unwrap();
        let info = Arc::new(ClipInfo {
            id: format!("bench/{i}"),
            source: None,
            title: "bench".into(),
            creator: None,
            source_start: 0.0,
            chunk: None,
        });
        clips.push(ClipRef { path: out, info });
    }
    let song = dir.join("song.flac");
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=f=330:d=60",
            "-ac",
            "2",
        ])
        .arg(&song)
        .status()
        .unwrap();
    assert!(status.success());
    let track = dir.join("song.aac");
    ff.encode_track(&song, &track, -16.0).await.unwrap();
    let tracks = vec![TrackRef {
        path: track,
        title: "song".into(),
        source: None,
    }];
    let slate_path = dir.join("slate.ts");
    ff.encode_slate(profile, &Encoder::X264, profile.gop_frames, &slate_path)
        .await
        .unwrap();
    let slate_info = Arc::new(ClipInfo {
        id: "slate".into(),
        source: None,
        title: "slate".into(),
        creator: None,
        source_start: 0.0,
        chunk: None,
    });
    let slate =
        LoadedClip::parse(slate_info, &std::fs::read(&slate_path).unwrap(), 3000, 60).unwrap();
    let silence_path = dir.join("silence.aac");
    ff.encode_silence(&silence_path, 1.0).await.unwrap();
    let silence = LoadedTrack::parse(
        "silence",
        None,
        Bytes::from(std::fs::read(&silence_path).unwrap()),
    )
    .unwrap();
    (clips, tracks, Arc::new(slate), Arc::new(silence))
}

fn main() {
    let minutes: u64 = std::env::var("STREAM_MINUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let profile = OutputProfile {
            width: 1280,
            height: 720,
            fps: 30,
            gop_frames: 60,
            video_kbps: 3000,
        };
        eprintln!("preparing 720p30 clips at 3 Mb/s with ffmpeg...");
        let (clips, tracks, slate, silence) = prepare(dir.path(), &profile).await;
        let clip_bytes: u64 = clips
            .iter()
            .map(|c| std::fs::metadata(&c.path).unwrap().len())
            .sum();
        let hls = dir.path().join("hls");
        std::fs::create_dir_all(&hls).unwrap();
        let live = Live::new("bench".into(), 10, 2, Some(hls));
        let timing = ChannelTiming {
            frame_ticks: 3000,
            segment_frames: 60,
            start: Ticks(900_000),
            first_seq: 0,
            first_clip_wait: Duration::from_secs(30),
        };
        let clock = Arc::new(VirtualClock::new(SystemTime::now()));
        let clip_src = Arc::new(Cycle(Mutex::new((clips.into_iter().collect(), 0))));
        let track_src = Arc::new(Cycle(Mutex::new((tracks.into_iter().collect(), 0))));
        let (engine, _c) = Engine::new(
            timing,
            clock,
            live.clone(),
            tokio::sync::watch::channel(Some(slate)).1,
            silence,
            clip_src,
            track_src,
        );
        let segments = minutes * 30;
        let cancel = tokio_util::sync::CancellationToken::new();
        let mut rx = live.subscribe();
        let cpu0 = cpu_seconds();
        let t0 = Instant::now();
        let task = tokio::spawn(engine.run(cancel.clone()));
        while *rx.borrow_and_update() + 1 < segments {
            rx.changed().await.unwrap();
        }
        cancel.cancel();
        task.await.unwrap();
        let wall = t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu0;
        let stream_secs = (segments * 2) as f64;
        let stats = live.stats();
        println!(
            "stream aired:        {} min ({} segments, {:.1} MB, clips {:.1} Mb/s)",
            minutes,
            stats.segments_published,
            stats.bytes_published as f64 / 1e6,
            clip_bytes as f64 * 8.0 / 24.0 / 1e6
        );
        println!(
            "wall time:           {wall:.2} s ({:.0}x real time)",
            stream_secs / wall
        );
        println!("engine CPU time:     {cpu:.2} s");
        println!(
            "CPU per stream second: {:.3} ms = {:.3}% of one core",
            cpu / stream_secs * 1000.0,
            cpu / stream_secs * 100.0
        );
        println!("underruns:           {}", stats.underruns);
    });
}
