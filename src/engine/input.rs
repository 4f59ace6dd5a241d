//! What the engine reads: clips and music tracks read and parsed ahead by loader
//! tasks, so a switch never waits on the disk, and the engine's ways of taking
//! them (at once, or until a deadline of its clock).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::loaded::{self, LoadedClip, LoadedTrack};
use super::source::{ClipSource, TrackRef, TrackSource};
use super::splicer::Splicer;
use crate::clip::ClipRef;
use crate::clock::Clock;

/// What the loaders have read ahead, and which of it the engine still takes.
pub(super) struct Input {
    pub(super) clips: mpsc::Receiver<Arc<LoadedClip>>,
    pub(super) tracks: mpsc::Receiver<Arc<LoadedTrack>>,
    /// Whether the track loader may still hand over a track: false only while its
    /// source has nothing to give.
    pub(super) tracks_busy: watch::Receiver<bool>,
    /// The same for the clip loader.
    clips_busy: watch::Receiver<bool>,
    /// The clip that came during the fast-start wait, until it airs.
    pub(super) pending_first: Option<Arc<LoadedClip>>,
    /// Clips pulled in an older cue generation are dropped (see [`ClipSource::recue`]).
    pub(super) min_cue: u64,
    /// The clip aired last: the fallback until the slate exists.
    pub(super) last_clip: Option<Arc<LoadedClip>>,
}

impl Input {
    /// Starts the clip and track loaders, which stop when the guard is dropped.
    pub(super) fn start(
        clip_source: Arc<dyn ClipSource>,
        track_source: Arc<dyn TrackSource>,
        frame_ticks: u64,
        segment_frames: usize,
        rungs: Vec<u32>,
    ) -> (Input, DropGuard) {
        let (clip_tx, clips) = mpsc::channel::<Arc<LoadedClip>>(2);
        let (track_tx, tracks) = mpsc::channel::<Arc<LoadedTrack>>(1);
        let (tracks_busy_tx, tracks_busy) = watch::channel(true);
        let (clips_busy_tx, clips_busy) = watch::channel(true);
        let loaders = CancellationToken::new();
        tokio::spawn(load_clips(
            clip_source,
            clip_tx,
            ClipFormat {
                frame_ticks,
                gop: segment_frames,
                rungs,
            },
            clips_busy_tx,
            loaders.clone(),
        ));
        tokio::spawn(load_tracks(
            track_source,
            track_tx,
            tracks_busy_tx,
            loaders.clone(),
        ));
        let input = Input {
            clips,
            tracks,
            tracks_busy,
            clips_busy,
            pending_first: None,
            min_cue: 0,
            last_clip: None,
        };
        (input, loaders.drop_guard())
    }

    /// The source took back what it handed out before cue generation `cue`: what is
    /// queued is dropped now, what the loader has in hand when it arrives.
    pub(super) fn recued(&mut self, cue: u64) {
        self.min_cue = cue;
        while self.clips.try_recv().is_ok() {}
        tracing::info!(cue, "playout order changed: clips loaded ahead dropped");
    }

    /// Queues the next music track when none is queued.
    pub(super) fn queue_track(&mut self, splicer: &mut Splicer) {
        if splicer.music().queued() == 0
            && let Ok(track) = self.tracks.try_recv()
        {
            queue(splicer, track);
        }
    }

    /// The music is about to run out: waits for the track the loader is reading, if
    /// it is reading one, until the segment is due (`at`). In real time the segment
    /// is due now, so this never delays it; on a virtual clock, where reading takes
    /// no time, it waits the clock's patience, as for a clip.
    pub(super) async fn wait_track(
        &mut self,
        splicer: &mut Splicer,
        clock: &dyn Clock,
        at: Duration,
        cancel: &CancellationToken,
    ) {
        let deadline = clock.input_deadline(at);
        tokio::pin!(deadline);
        while *self.tracks_busy.borrow_and_update() {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = &mut deadline => return,
                t = self.tracks.recv() => {
                    if let Some(track) = t {
                        queue(splicer, track);
                    }
                    return;
                }
                r = self.tracks_busy.changed() => if r.is_err() { return },
            }
        }
    }

    /// Nothing is loaded ahead and the loader waits on its source: the next clip
    /// switch would fall back unless the source gives something.
    pub(super) fn starving(&self) -> bool {
        self.pending_first.is_none() && self.clips.is_empty() && !*self.clips_busy.borrow()
    }

    /// A clip of the current cue generation loaded already, if any.
    pub(super) fn ready_clip(&mut self) -> Option<Arc<LoadedClip>> {
        let min_cue = self.min_cue;
        if let Some(c) = self.pending_first.take().filter(|c| c.cue >= min_cue) {
            return Some(c);
        }
        loop {
            match self.clips.try_recv() {
                Ok(c) if c.cue >= min_cue => return Some(c),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    }

    /// The next clip of the current cue generation to arrive before `deadline`.
    pub(super) async fn wait_clip(
        &mut self,
        clock: &dyn Clock,
        deadline: Duration,
        cancel: &CancellationToken,
    ) -> Option<Arc<LoadedClip>> {
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return None,
                c = self.clips.recv() => match c {
                    Some(c) if c.cue < self.min_cue => continue,
                    c => return c,
                },
                _ = clock.input_deadline(deadline) => return None,
            }
        }
    }
}

fn queue(splicer: &mut Splicer, track: Arc<LoadedTrack>) {
    tracing::info!(track = %track.info.title, secs = track.info.duration, "music track queued");
    splicer.music().push(track);
}

/// Keeps `tx` filled: waits for room first, so an item is taken from its source
/// only when it can be queued (the source's notion of "next" stays accurate), then
/// asks `next`; with nothing ready, waits until the source says something may be
/// (`changed`). Each item is loaded by `load`; one that fails is logged and skipped.
/// `busy` is false exactly while the source has nothing to give.
async fn load_ahead<R, T, F>(
    mut changed: watch::Receiver<u64>,
    tx: mpsc::Sender<Arc<T>>,
    busy: watch::Sender<bool>,
    cancel: CancellationToken,
    mut next: impl FnMut() -> Option<R>,
    load: impl Fn(R) -> F,
) where
    F: std::future::Future<Output = Result<T, String>>,
{
    loop {
        let permit = tokio::select! {
            _ = cancel.cancelled() => return,
            p = tx.reserve() => match p { Ok(p) => p, Err(_) => return },
        };
        // Seen before asking, so a change between the question and the wait wakes it.
        changed.borrow_and_update();
        let Some(r) = next() else {
            drop(permit);
            busy.send_replace(false);
            tokio::select! {
                _ = cancel.cancelled() => return,
                r = changed.changed() => if r.is_err() { return },
            }
            busy.send_replace(true);
            continue;
        };
        match load(r).await {
            Ok(item) => permit.send(Arc::new(item)),
            Err(e) => tracing::warn!(error = %e, "skipping what could not be loaded"),
        }
    }
}

/// What clips are read as: their frame grid and GOP, and the channel's lower rungs.
struct ClipFormat {
    frame_ticks: u64,
    gop: usize,
    /// The heights of the lower rungs, highest first.
    rungs: Vec<u32>,
}

async fn load_clips(
    source: Arc<dyn ClipSource>,
    tx: mpsc::Sender<Arc<LoadedClip>>,
    format: ClipFormat,
    busy: watch::Sender<bool>,
    cancel: CancellationToken,
) {
    let format = Arc::new(format);
    let next = || source.next_cued();
    let load = |(r, cue): (ClipRef, _)| {
        let format = format.clone();
        async move {
            let mut files = vec![tokio::fs::read(&r.path).await];
            for h in &format.rungs {
                // A rung the clip was not made in airs its top rung (see `LoadedClip`).
                if r.info.rungs.contains(h) {
                    files.push(tokio::fs::read(crate::clip::rung_file(&r.path, *h)).await);
                }
            }
            let info = r.info.clone();
            tokio::task::spawn_blocking(move || parse_clip(info, files, &format))
                .await
                .unwrap_or_else(|e| {
                    Err(loaded::ClipError::Invalid {
                        id: r.info.id.clone(),
                        reason: e.to_string(),
                    })
                })
                .map(|mut c| {
                    c.cue = cue;
                    c
                })
                .map_err(|e| format!("clip: {e}"))
        }
    };
    load_ahead(source.changed(), tx, busy, cancel, next, load).await
}

/// Parses a clip's top rung (the first of `files`) and the lower rungs it was made
/// in (the rest, in the channel's order). A lower rung that cannot be read or is not
/// in step is left out with a warning: the top rung airs in its place.
fn parse_clip(
    info: Arc<crate::clip::ClipInfo>,
    files: Vec<std::io::Result<Vec<u8>>>,
    format: &ClipFormat,
) -> Result<LoadedClip, loaded::ClipError> {
    let mut files = files.into_iter();
    let top = files
        .next()
        .unwrap_or_else(|| Err(std::io::ErrorKind::NotFound.into()))
        .map_err(|source| loaded::ClipError::Io {
            id: info.id.clone(),
            source,
        })?;
    let mut clip = LoadedClip::parse(info.clone(), &top, format.frame_ticks, format.gop)?;
    // `files` holds the rungs of the channel the clip was made in, in order.
    for (h, file) in format
        .rungs
        .iter()
        .filter(|h| info.rungs.contains(h))
        .zip(files)
    {
        let added = file
            .map_err(|source| loaded::ClipError::Io {
                id: info.id.clone(),
                source,
            })
            .and_then(|bytes| clip.add_rung(*h, &bytes, format.frame_ticks, format.gop));
        if let Err(e) = added {
            tracing::warn!(clip = %info.id, rung = h, error = %e, "a rung of the clip cannot air: its top rung airs in its place");
        }
    }
    Ok(clip)
}

async fn load_tracks(
    source: Arc<dyn TrackSource>,
    tx: mpsc::Sender<Arc<LoadedTrack>>,
    busy: watch::Sender<bool>,
    cancel: CancellationToken,
) {
    let next = || source.next_track();
    let load = |r: TrackRef| async move {
        let loaded = match tokio::fs::read(&r.path).await {
            Ok(bytes) => LoadedTrack::parse(&r.title, r.source.clone(), Bytes::from(bytes)),
            Err(e) => Err(loaded::TrackError {
                title: r.title.clone(),
                reason: e.to_string(),
            }),
        };
        loaded.map_err(|e| format!("music track: {e}"))
    };
    load_ahead(source.changed(), tx, busy, cancel, next, load).await
}
