//! The live engine as tests and benches drive it: clip and track sources from a
//! fixed list, a slate and silence made by ffmpeg, and an engine run until it has
//! published what a test waits for.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::engine::{
    self, ChannelTiming, ClipInfo, ClipRef, ClipSource, Clock, Control, Engine, Live, LoadedClip,
    LoadedTrack, TrackRef, TrackSource,
};
use crate::transcode::{ClipRequest, Encoder, Ffmpeg, OutputProfile};

/// Clips or tracks handed out in order, once ([`Playlist::once`]) or round and
/// round ([`Playlist::looping`]).
pub struct Playlist<T> {
    items: Mutex<VecDeque<T>>,
    looping: bool,
}

impl<T: Clone> Playlist<T> {
    /// Hands out `items` in order, then nothing.
    pub fn once(items: impl IntoIterator<Item = T>) -> Arc<Playlist<T>> {
        Arc::new(Playlist {
            items: Mutex::new(items.into_iter().collect()),
            looping: false,
        })
    }

    /// Hands out `items` in order, for ever.
    pub fn looping(items: impl IntoIterator<Item = T>) -> Arc<Playlist<T>> {
        Arc::new(Playlist {
            items: Mutex::new(items.into_iter().collect()),
            looping: true,
        })
    }

    /// What is left to hand out (all of it, for a looping one).
    pub fn len(&self) -> usize {
        self.items.lock().len()
    }

    /// Nothing left to hand out.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn next(&self) -> Option<T> {
        let mut items = self.items.lock();
        let item = items.pop_front()?;
        if self.looping {
            items.push_back(item.clone());
        }
        Some(item)
    }
}

impl ClipSource for Playlist<ClipRef> {
    fn next_clip(&self) -> Option<ClipRef> {
        self.next()
    }
}

impl TrackSource for Playlist<TrackRef> {
    fn next_track(&self) -> Option<TrackRef> {
        self.next()
    }
}

/// A clip's identity for "now playing": `id`, with its title.
pub fn clip_info(id: &str) -> Arc<ClipInfo> {
    Arc::new(ClipInfo {
        id: id.into(),
        title: id.into(),
        ..ClipInfo::default()
    })
}

/// Encodes `req` and returns it as the engine's clip `info`.
pub async fn encode_clip(ff: &Ffmpeg, req: &ClipRequest<'_>, info: Arc<ClipInfo>) -> ClipRef {
    ff.encode_clip(req)
        .await
        .unwrap_or_else(|e| panic!("encoding {}: {e}", info.id));
    ClipRef {
        path: req.out.to_path_buf(),
        info,
    }
}

/// Encodes `music` to the music bed's format at `out`, as the track `title`.
pub async fn encode_track(ff: &Ffmpeg, music: &Path, out: &Path, title: &str) -> TrackRef {
    ff.encode_track(music, out, -16.0)
        .await
        .unwrap_or_else(|e| panic!("encoding {}: {e}", music.display()));
    TrackRef {
        path: out.to_path_buf(),
        title: title.into(),
        source: Some(music.to_path_buf()),
    }
}

/// The slate of `profile` (one GOP), made in `dir`.
pub async fn slate(ff: &Ffmpeg, profile: &OutputProfile, dir: &Path) -> Arc<LoadedClip> {
    let path = dir.join("slate.ts");
    ff.encode_slate(profile, &Encoder::X264, profile.gop_frames, &path)
        .await
        .expect("the slate encodes");
    let clip = LoadedClip::parse(
        clip_info("slate"),
        &std::fs::read(&path).unwrap(),
        engine::frame_ticks(profile.fps),
        profile.gop_frames as usize,
    )
    .expect("the slate parses");
    Arc::new(clip)
}

/// One second of encoded silence, made in `dir`.
pub async fn silence(ff: &Ffmpeg, dir: &Path) -> Arc<LoadedTrack> {
    let path = dir.join("silence.aac");
    ff.encode_silence(&path, 1.0)
        .await
        .expect("the silence encodes");
    let track = LoadedTrack::parse("silence", None, Bytes::from(std::fs::read(&path).unwrap()))
        .expect("the silence parses");
    Arc::new(track)
}

/// What an engine runs on; [`TestEngine::start`] takes it.
pub struct EngineParts {
    /// The channel's timing.
    pub timing: ChannelTiming,
    /// Its clock (a virtual one, usually).
    pub clock: Arc<dyn Clock>,
    /// The live window it publishes to.
    pub live: Arc<Live>,
    /// Aired when no clip is ready.
    pub slate: Arc<LoadedClip>,
    /// Aired when no track is ready.
    pub silence: Arc<LoadedTrack>,
    /// Where its clips come from.
    pub clips: Arc<dyn ClipSource>,
    /// Where its music comes from.
    pub tracks: Arc<dyn TrackSource>,
}

/// An engine running on a task of the test's runtime.
pub struct TestEngine {
    /// What it publishes.
    pub live: Arc<Live>,
    /// Its commands (skip, recue).
    pub control: Control,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl TestEngine {
    /// Starts an engine on `parts`.
    pub fn start(parts: EngineParts) -> TestEngine {
        let (engine, control) = Engine::new(
            parts.timing,
            parts.clock,
            parts.live.clone(),
            tokio::sync::watch::channel(Some(parts.slate)).1,
            parts.silence,
            parts.clips,
            parts.tracks,
        );
        let cancel = CancellationToken::new();
        let task = tokio::spawn(engine.run(cancel.clone()));
        TestEngine {
            live: parts.live,
            control,
            cancel,
            task,
        }
    }

    /// Waits (up to `limit`) until `count` segments are published.
    pub async fn wait_for(&self, count: u64, limit: Duration) {
        let mut rx = self.live.subscribe();
        tokio::time::timeout(limit, async {
            while self.live.stats().segments_published < count {
                rx.changed().await.expect("the engine runs");
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{count} segments not published in {limit:?}"));
    }

    /// Stops the engine and waits for it.
    pub async fn stop(self) -> Arc<Live> {
        self.cancel.cancel();
        self.task.await.expect("the engine did not panic");
        self.live
    }
}
