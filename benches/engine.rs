//! Benchmark: CPU time the live engine spends per second of stream, for a 720p30
//! channel at 3 Mb/s with a music bed. Real clips from ffmpeg, the real engine on a
//! virtual clock (so an hour of stream runs in seconds), segments mirrored to disk
//! as in production. CPU time is read from /proc/self/stat, so it counts every
//! thread: the splicer, the clip loaders and the disk writer.
//!
//! Run: cargo bench --bench engine   (STREAM_MINUTES=60 to change the length)

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use shufflecast::engine::{
    ChannelTiming, ClipRef, Live, LoadedClip, LoadedTrack, TrackRef, VirtualClock,
};
use shufflecast::media::Ticks;
use shufflecast::testkit::engine::{self as kit, EngineParts, Playlist, TestEngine};
use shufflecast::testkit::media;
use shufflecast::testkit::procfs::cpu_seconds;
use shufflecast::transcode::{ClipRequest, Ffmpeg, OutputProfile};

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
    // A busy picture (noise over moving patterns), so clips reach their bitrate.
    let src = dir.join("src.mp4");
    let mut a = media::args([
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1280x720:rate=30:duration=30",
        "-f",
        "lavfi",
        "-i",
        "life=size=1280x720:rate=30:mold=10:ratio=0.1",
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
    ]);
    a.push(src.clone().into());
    media::ffmpeg(a);
    let info = ff.probe(&src).await.unwrap();
    let mut clips = Vec::new();
    for i in 0..4 {
        let out = dir.join(format!("clip-{i}.ts"));
        let req = ClipRequest::test(&src, &info, &out)
            .at(i as f64 * 6.0)
            .frames(180)
            .profile(profile);
        clips.push(kit::encode_clip(&ff, &req, kit::clip_info(&format!("bench/{i}"))).await);
    }
    let song = dir.join("song.flac");
    media::make_tone(&song, 330, 60.0);
    let track = kit::encode_track(&ff, &song, &dir.join("song.aac"), "song").await;
    let slate = kit::slate(&ff, profile, dir).await;
    let silence = kit::silence(&ff, dir).await;
    (clips, vec![track], slate, silence)
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
            phase: Duration::ZERO,
            rungs: Vec::new(),
        };
        let segments = minutes * 30;
        let cpu0 = cpu_seconds("self").0;
        let t0 = Instant::now();
        let engine = TestEngine::start(EngineParts {
            timing,
            clock: Arc::new(VirtualClock::new(SystemTime::now())),
            live: live.clone(),
            slate,
            silence,
            clips: Playlist::looping(clips),
            tracks: Playlist::looping(tracks),
        });
        engine.wait_for(segments, Duration::MAX).await;
        engine.stop().await;
        let wall = t0.elapsed().as_secs_f64();
        let cpu = cpu_seconds("self").0 - cpu0;
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
