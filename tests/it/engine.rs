//! The live engine end to end on a virtual clock: real clips from real sources,
//! spliced across switches and a music track change, judged by ffprobe.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use shufflecast::engine::{
    self, ChannelTiming, ClipInfo, ClipRef, Live, LoadedClip, LoadedTrack, TrackRef, VirtualClock,
};
use shufflecast::media::Ticks;
use shufflecast::media::time::PTS_WRAP;
use shufflecast::testkit::engine::{self as kit, EngineParts, Playlist, TestEngine};
use shufflecast::transcode::{ClipRequest, Ffmpeg, OutputProfile};

use crate::harness::{self, decode, packets, steps};

const FPS: u32 = 30;
const GOP: u32 = 30; // 1 s segments keep the test small

fn profile() -> OutputProfile {
    OutputProfile {
        width: 320,
        height: 180,
        fps: FPS,
        gop_frames: GOP,
        video_kbps: 600,
    }
}

struct Prepared {
    clips: Vec<ClipRef>,
    clip_frames: Vec<u32>,
    tracks: Vec<TrackRef>,
    slate: Arc<LoadedClip>,
    silence: Arc<LoadedTrack>,
}

async fn prepare(dir: &Path, clip_frames: &[u32], music_secs: u32) -> Prepared {
    let ff = Ffmpeg::locate().await.expect("ffmpeg installed");
    let sources = harness::make_sources(&dir.join("src"));
    let music = harness::make_music(&dir.join("music"), music_secs);
    let p = profile();
    let mut clips = Vec::new();
    for (i, frames) in clip_frames.iter().enumerate() {
        let src = &sources[i % sources.len()];
        let info = ff.probe(src).await.expect("probe source");
        let out = dir.join(format!("clip-{i}.ts"));
        let req = ClipRequest::test(src, &info, &out)
            .at(0.5)
            .frames(*frames)
            .profile(&p);
        let info = Arc::new(ClipInfo {
            id: format!("test/{i}"),
            source: Some(src.clone()),
            title: src.file_stem().unwrap().to_string_lossy().into(),
            creator: None,
            source_start: 0.5,
            chunk: Some("test".into()),
            picture: None,
            duration: *frames as f64 / p.fps as f64,
            ..ClipInfo::default()
        });
        clips.push(kit::encode_clip(&ff, &req, info).await);
    }
    let mut tracks = Vec::new();
    for (i, m) in music.iter().enumerate() {
        let out = dir.join(format!("track-{i}.aac"));
        tracks.push(kit::encode_track(&ff, m, &out, &format!("track-{i}")).await);
    }
    Prepared {
        clips,
        clip_frames: clip_frames.to_vec(),
        tracks,
        slate: kit::slate(&ff, &p, dir).await,
        silence: kit::silence(&ff, dir).await,
    }
}

/// The engine of a channel at [`profile`] starting at `start`, airing `clips` and
/// `tracks` once each, on a virtual clock.
fn start_engine(p: &Prepared, clock: VirtualClock, start: Ticks, first_seq: u64) -> TestEngine {
    start_engine_from(p, Playlist::once(p.clips.clone()), clock, start, first_seq)
}

/// [`start_engine`] with the clips of `clips`.
fn start_engine_from(
    p: &Prepared,
    clips: Arc<dyn engine::ClipSource>,
    clock: VirtualClock,
    start: Ticks,
    first_seq: u64,
) -> TestEngine {
    TestEngine::start(EngineParts {
        timing: ChannelTiming {
            frame_ticks: 3000,
            segment_frames: GOP as usize,
            start,
            first_seq,
            first_clip_wait: Duration::from_secs(10),
            phase: Duration::ZERO,
            rungs: Vec::new(),
        },
        clock: Arc::new(clock),
        live: Live::new("t".into(), 1000, 1, None),
        slate: p.slate.clone(),
        silence: p.silence.clone(),
        clips,
        tracks: Playlist::once(p.tracks.clone()),
    })
}

/// A source whose clips run out but which always says one is coming (a
/// generator whose encode runs late): the engine waits for it each switch.
struct Late(Arc<Playlist<ClipRef>>);

impl engine::ClipSource for Late {
    fn next_clip(&self) -> Option<ClipRef> {
        self.0.next_clip()
    }
    fn hurry(&self) -> bool {
        true
    }
}

/// Runs the engine on a virtual clock until `segments` segments are out; returns
/// the live state (with a window big enough to hold them all).
async fn run_engine(p: &Prepared, start: Ticks, segments: u64) -> Arc<Live> {
    let clock = VirtualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000));
    let engine = start_engine(p, clock, start, 41);
    engine
        .wait_for(segments, shufflecast::testkit::PATIENCE)
        .await;
    engine.stop().await
}

fn concat(live: &Live, dir: &Path, n: usize) -> (PathBuf, Vec<Bytes>, String) {
    let playlist = String::from_utf8(live.playlist().unwrap().to_vec()).unwrap();
    let (_, _, items) = harness::parse_playlist(&playlist);
    let segs: Vec<Bytes> = items
        .iter()
        .take(n)
        .map(|(uri, _, _)| live.segment(uri).expect("segment retained"))
        .collect();
    let path = dir.join("capture.ts");
    std::fs::write(
        &path,
        segs.iter()
            .flat_map(|b| b.iter().copied())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    for (i, s) in segs.iter().enumerate() {
        std::fs::write(dir.join(format!("seg-{i}.ts")), s).unwrap();
    }
    (path, segs, playlist)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn splices_clips_and_music_seamlessly_across_switches_and_the_pts_wrap() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    // Four clips (three switches), 2 s each; music tracks of 3 s, so the bed changes
    // track mid-clip and the clips switch mid-track.
    let prepared = prepare(dir.path(), &[60, 60, 60, 60], 3).await;
    // Start 3 s before the 33-bit wrap: the stream must cross it without a hiccup.
    let start = Ticks(PTS_WRAP - 3 * 90_000);
    let total_frames: u32 = prepared.clip_frames.iter().sum();
    let n = (total_frames / GOP) as usize;
    let live = run_engine(&prepared, start, n as u64).await;
    let (capture, segs, playlist) = concat(&live, dir.path(), n);

    // Playlist: continuous sequence from 41, no discontinuity, exact durations.
    let (seq, target, items) = harness::parse_playlist(&playlist);
    assert_eq!(seq, 41);
    assert_eq!(target, 1);
    assert!(!playlist.contains("#EXT-X-DISCONTINUITY\n"), "{playlist}");
    assert!(items.iter().all(|(_, d, _)| (*d - 1.0).abs() < 1e-9));
    assert!(playlist.contains("#EXT-X-INDEPENDENT-SEGMENTS"));
    assert!(playlist.contains("#EXT-X-PROGRAM-DATE-TIME:"));

    // Each segment, read alone, opens on a keyframe.
    for i in 0..n {
        let pk = packets(&dir.path().join(format!("seg-{i}.ts")));
        let first_video = pk
            .iter()
            .find(|p| p.kind == "video")
            .expect("video in segment");
        assert!(first_video.key, "segment {i} does not open on a keyframe");
    }
    assert!(segs.iter().all(|s| s.len() % 188 == 0));

    // The whole capture: video DTS one frame apart everywhere, PTS a permutation of
    // consecutive frames, audio one AAC frame apart everywhere — across the wrap.
    let pk = packets(&capture);
    let video: Vec<&harness::Packet> = pk.iter().filter(|p| p.kind == "video").collect();
    let audio: Vec<i64> = pk
        .iter()
        .filter(|p| p.kind == "audio")
        .map(|p| p.pts)
        .collect();
    assert_eq!(
        video.len() as u32,
        total_frames,
        "every aired frame is in the stream"
    );
    let dts: Vec<i64> = video.iter().map(|p| p.dts).collect();
    let bad: Vec<(usize, i64)> = steps(&dts)
        .into_iter()
        .enumerate()
        .filter(|(_, s)| *s != 3000)
        .collect();
    assert!(
        bad.is_empty(),
        "video DTS steps other than one frame: {bad:?}"
    );
    let mut pts: Vec<i64> = video
        .iter()
        .map(|p| (p.pts - start.wrapped() as i64).rem_euclid(1 << 33))
        .collect();
    pts.sort_unstable();
    assert!(
        pts.iter().enumerate().all(|(i, p)| *p == i as i64 * 3000),
        "video PTS are not consecutive frames"
    );
    assert!(audio.len() > 100);
    let bad: Vec<(usize, i64)> = steps(&audio)
        .into_iter()
        .enumerate()
        .filter(|(_, s)| *s != 1920)
        .collect();
    assert!(
        bad.is_empty(),
        "audio PTS steps other than one AAC frame: {bad:?}"
    );
    assert!(
        dts.iter().any(|d| *d < 90_000 * 10),
        "the timeline crossed the 33-bit wrap"
    );

    // A decoder sees every frame, with no error.
    let (frames, errors) = decode(&capture);
    assert_eq!(frames, total_frames as u64);
    assert!(errors.trim().is_empty(), "decode errors: {errors}");

    // What aired: four clips in order, and the music changed track under them.
    let history = live.history();
    let clips: Vec<String> = history
        .iter()
        .filter_map(|h| h.clip.as_ref().map(|c| c.id.clone()))
        .collect();
    let mut switches = clips.clone();
    switches.dedup();
    assert_eq!(switches, ["test/0", "test/1", "test/2", "test/3"]);
    let mut tracks: Vec<String> = history
        .iter()
        .filter_map(|h| h.track.as_ref().map(|t| t.title.clone()))
        .collect();
    tracks.dedup();
    assert!(tracks.len() >= 2, "music track changed: {tracks:?}");
    assert_eq!(live.stats().underruns, 0);
}

/// Once a clip has aired the slate never airs while a clip exists: with nothing
/// new the clip airs again; the slate only after a skip (or before the first
/// clip). Every seam between them is continuous.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nothing_new_the_clip_airs_again_and_after_a_skip_the_slate_seamlessly() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let mut prepared = prepare(dir.path(), &[30], 2).await;
    prepared.tracks.clear(); // no music: silence carries the audio track
    let start = Ticks(900_000);
    // One 1 s clip, then nothing: the engine must keep publishing with seamless
    // timestamps. Each switch waits the clock's patience for the clip said to be
    // coming.
    let clock = VirtualClock::new(SystemTime::UNIX_EPOCH).with_patience(Duration::from_millis(200));
    let source = Arc::new(Late(Playlist::once(prepared.clips.clone())));
    let engine = start_engine_from(&prepared, source, clock, start, 0);
    engine.wait_for(1, shufflecast::testkit::PATIENCE).await;
    // Read before a later segment's switch (each takes the patience).
    assert!(engine.control.send(engine::Command::SkipClip));
    engine.wait_for(6, shufflecast::testkit::PATIENCE).await;
    let live = engine.stop().await;
    let stats = live.stats();
    assert_eq!(stats.underruns, 1, "the slate once, after the skip");
    assert_eq!(
        stats.repeats, 4,
        "segments 1..=5 less the slate's: {stats:?}"
    );
    let (capture, _, playlist) = concat(&live, dir.path(), 6);
    assert!(
        !playlist.contains("#EXT-X-DISCONTINUITY\n"),
        "slate shares the clips' codec parameters"
    );
    let pk = packets(&capture);
    let dts: Vec<i64> = pk
        .iter()
        .filter(|p| p.kind == "video")
        .map(|p| p.dts)
        .collect();
    assert_eq!(dts.len(), 180);
    assert!(steps(&dts).iter().all(|s| *s == 3000));
    let audio: Vec<i64> = pk
        .iter()
        .filter(|p| p.kind == "audio")
        .map(|p| p.pts)
        .collect();
    assert!(
        steps(&audio).iter().all(|s| *s == 1920),
        "silence is continuous too"
    );
    let (_, errors) = decode(&capture);
    assert!(errors.trim().is_empty(), "{errors}");
    let _ = engine::AUDIO_RATE;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discontinuity_marks_exactly_the_codec_parameter_changes() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let mut prepared = prepare(dir.path(), &[30, 30, 30], 2).await;
    // Two clips made with other codec parameters (as a GPU encoder or another size
    // would give): same frame rate and GOP, different SPS.
    let ff = Ffmpeg::locate().await.unwrap();
    let src = harness::make_sources(&dir.path().join("other"))[0].clone();
    let info = ff.probe(&src).await.unwrap();
    let other = OutputProfile {
        height: 176,
        ..profile()
    };
    let mut foreign = Vec::new();
    for i in 0..2 {
        let out = dir.path().join(format!("other-{i}.ts"));
        let req = ClipRequest::test(&src, &info, &out)
            .at(i as f64)
            .frames(30)
            .profile(&other);
        foreign.push(kit::encode_clip(&ff, &req, kit::clip_info(&format!("other/{i}"))).await);
    }
    // Air: test/0, other/0, other/1, test/1, test/2.
    let a = prepared.clips.clone();
    prepared.clips = vec![
        a[0].clone(),
        foreign[0].clone(),
        foreign[1].clone(),
        a[1].clone(),
        a[2].clone(),
    ];
    prepared.clip_frames = vec![30; 5];
    let live = run_engine(&prepared, Ticks(900_000), 5).await;
    let (capture, _, playlist) = concat(&live, dir.path(), 5);
    let (_, _, items) = harness::parse_playlist(&playlist);
    let marks: Vec<bool> = items.iter().take(5).map(|i| i.2).collect();
    assert_eq!(
        marks,
        [false, true, false, true, false],
        "a discontinuity where the parameters change, nowhere else:\n{playlist}"
    );
    assert_eq!(live.stats().discontinuities, 2);
    // Timestamps still run on across both changes, and everything decodes.
    let pk = packets(&capture);
    let dts: Vec<i64> = pk
        .iter()
        .filter(|p| p.kind == "video")
        .map(|p| p.dts)
        .collect();
    assert!(steps(&dts).iter().all(|s| *s == 3000), "{:?}", steps(&dts));
    let (frames, _) = decode(&capture);
    assert_eq!(frames, 150);
}
