//! One clip of a chunk: the video picked (least recently used, one no other job is
//! cutting), the cut planned, the encode with its progress, checked against the
//! reference parameter sets, and the clip kept or why not.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::RngExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::handle::GeneratorSettings;
use super::shared::{Inner, Outcome, db_failed, disk_full_reason};
use crate::engine::{ClipInfo, ClipRef};
use crate::library::Video;
use crate::media::h264::ParameterSets;
use crate::schedule::pool::{Claim, Need};
use crate::transcode::{ClipRequest, EncodeProgress, RungFiles, TranscodeError, WatermarkMode};

/// Consecutive failed encodes after which a generation stops as stalled, so a
/// library of broken files cannot spin forever.
const MAX_CONSECUTIVE_FAILURES: usize = 8;

/// A chunk being made: where it is, and how its last clips went.
pub(super) struct ChunkInProgress {
    /// Seconds it is made to.
    pub(super) target: f64,
    /// Its folder.
    pub(super) dir: PathBuf,
    /// The videos its clips come from (so far).
    pub(super) used: Vec<i64>,
    /// The index of the next clip.
    pub(super) index: usize,
    /// Seconds made.
    pub(super) total: f64,
    /// Encodes failed in a row.
    pub(super) failures: usize,
    /// The last failure, in words.
    pub(super) last_error: String,
}

impl ChunkInProgress {
    /// Ends a generation that cannot progress, so a library of broken files
    /// cannot spin forever.
    fn too_many_failures(&self) -> Option<Outcome> {
        (self.failures >= MAX_CONSECUTIVE_FAILURES).then(|| {
            Outcome::Stalled(format!(
                "{} encodes in a row failed; last: {}",
                self.failures, self.last_error
            ))
        })
    }
}

impl Inner {
    /// Makes the next clip of a chunk: picks the video, cuts, encodes, and keeps the
    /// clip or says why not. `Some` ends the chunk with that outcome.
    pub(super) async fn make_clip(
        &self,
        id: &str,
        s: &GeneratorSettings,
        chunk: &mut ChunkInProgress,
        cancel: &CancellationToken,
    ) -> Option<Outcome> {
        // Each clip of a chunk from another video, in LRU order; a library with
        // fewer videos than the chunk has clips repeats, but never back to back.
        let video = match self.pick(&chunk.used) {
            Ok(Some(v)) => v,
            Ok(None) => return Some(self.no_video(&chunk.last_error)),
            Err(e) => return Some(db_failed(s, e)),
        };
        let (cut, want_secs) = match self.plan_cut(s, &video) {
            Ok(c) => c,
            Err(e) => return Some(db_failed(s, e)),
        };
        let _flight = InFlight::new(&self.in_flight, video.id);
        let p = &s.profile;
        let frames = cut.gops * p.gop_frames;
        let file = format!("clip-{:04}.ts", chunk.index);
        let out = chunk.dir.join(&file);
        let picture = crate::schedule::clip_picture(&out);
        let watermark = watermark_text(s, &video);
        let lower = RungFiles::new(s.lower_rungs(), &out);
        let rungs = lower.outs();
        let req = ClipRequest {
            src: &video.path,
            info: &video.info,
            start: cut.start,
            frames,
            profile: p,
            encoder: &s.encoder,
            out: &out,
            look: &s.channel.look(),
            watermark: watermark.as_deref(),
            thumbnail: Some(&picture),
            rungs: &rungs,
        };
        let t0 = Instant::now();
        let secs = frames as f64 / p.fps as f64;
        // The source as it was when its encode began: a clip of a file replaced
        // or truncated meanwhile is not kept.
        let before = FileStamp::of(&video.path).await;
        let result = tokio::select! {
            _ = cancel.cancelled() => return Some(Outcome::Cancelled),
            r = self.encode(id, &req, &video, chunk.total, secs) => r,
        };
        let after = FileStamp::of(&video.path).await;
        match result {
            Err(e) if e.is_disk_full() => {
                // Nothing wrong with the video (its partial clip is already gone),
                // and nothing of it is used up: the chunk stays 'building' and this
                // clip is made again once there is room.
                tracing::warn!(source = %video.path.display(), error = %e.cause(), "clip encode failed: the data disk is full");
                Some(Outcome::DiskFull(disk_full_reason(s)))
            }
            r if after.is_none() || after != before => {
                let gone = after.is_none();
                self.source_changed(s, &video, &out, r, gone, chunk).await
            }
            Ok(()) => {
                let made = Made {
                    out,
                    rungs: lower.heights(),
                    secs,
                    want_secs,
                    elapsed: t0.elapsed().as_secs_f64(),
                };
                self.keep_clip(id, s, &video, &cut, made, chunk)
            }
            Err(e) => self.clip_failed(&video, e, chunk),
        }
    }

    /// The cut of `video` for the next clip, and the length that was drawn.
    fn plan_cut(
        &self,
        s: &GeneratorSettings,
        video: &Video,
    ) -> Result<(crate::library::ranges::Cut, f64), crate::db::DbError> {
        let ch = &s.channel;
        let gop_secs = s.profile.gop_frames as f64 / s.profile.fps as f64;
        // Fast start: while nothing at all can air, the first clip is one segment.
        let fast = !self.playout.has_clip();
        let mut rng = self.rng.lock();
        let secs = rng.random_range(ch.clip_min..=ch.clip_max.max(ch.clip_min));
        let want = if fast { 1 } else { gops(secs, gop_secs) };
        let min = if fast {
            1
        } else {
            gops(ch.clip_min, gop_secs).min(want)
        };
        let cut = self
            .library
            .plan_clip(video, gop_secs, want, min, &mut *rng)?;
        Ok((cut, secs))
    }

    /// A clip whose source was replaced, truncated or went away (or its whole
    /// folder, a share unmounted) during the encode: not the video's fault. The clip
    /// is dropped; the rescan probes a changed file again (its used ranges cleared)
    /// or marks a gone one missing, with its history kept, rather than setting it
    /// aside as broken.
    async fn source_changed(
        &self,
        s: &GeneratorSettings,
        video: &Video,
        out: &std::path::Path,
        result: Result<(), TranscodeError>,
        gone: bool,
        chunk: &mut ChunkInProgress,
    ) -> Option<Outcome> {
        let _ = tokio::fs::remove_file(out).await;
        let _ = tokio::fs::remove_file(crate::schedule::clip_picture(out)).await;
        for r in s.lower_rungs() {
            let _ = tokio::fs::remove_file(crate::clip::rung_file(out, r.height)).await;
        }
        chunk.failures += 1;
        let what = if gone {
            "the source went away during its encode"
        } else {
            "the source changed during its encode"
        };
        chunk.last_error = match &result {
            Ok(()) => what.to_string(),
            Err(e) => format!("{what}: {e}"),
        };
        tracing::warn!(source = %video.path.display(), error = result.err().map(|e| e.to_string()), "{what}: clip dropped, rescanning the library");
        if let Err(e) = self.library.library().rescan().await {
            return Some(db_failed(s, e));
        }
        chunk.too_many_failures()
    }

    /// A clip made: its range is used up, and it joins the chunk (and can air).
    fn keep_clip(
        &self,
        id: &str,
        s: &GeneratorSettings,
        video: &Video,
        cut: &crate::library::ranges::Cut,
        made: Made,
        chunk: &mut ChunkInProgress,
    ) -> Option<Outcome> {
        let gop_secs = s.profile.gop_frames as f64 / s.profile.fps as f64;
        if let Err(e) = self.library.commit_clip(video, cut, gop_secs) {
            return Some(db_failed(s, e));
        }
        self.publish(|st| st.clips_encoded += 1);
        chunk.failures = 0;
        let Made {
            out,
            rungs,
            secs,
            want_secs,
            elapsed,
        } = made;
        // Every rung counts towards the chunk's size and the disk budget.
        let size = std::iter::once(out.clone())
            .chain(rungs.iter().map(|h| crate::clip::rung_file(&out, *h)))
            .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
            .sum();
        let picture = Some(crate::schedule::clip_picture(&out)).filter(|p| p.is_file());
        let index = chunk.index;
        tracing::info!(
            chunk = %id, clip = index, source = %video.path.display(), start = format!("{:.1}", cut.start),
            secs, want = format!("{want_secs:.1}"), speed = format!("{:.2}x", secs / elapsed.max(1e-3)),
            "clip encoded"
        );
        let info = Arc::new(ClipInfo {
            id: format!("{id}/{index}"),
            source: Some(video.path.clone()),
            video_id: Some(video.id),
            title: video.title(),
            creator: video.meta.creator.clone(),
            source_start: cut.start,
            chunk: Some(id.to_string()),
            picture,
            duration: secs,
            size_bytes: size,
            encoder: s.encoder.name().into(),
            rungs,
        });
        if let Err(e) = self.playout.add_clip(id, ClipRef { path: out, info }) {
            return Some(db_failed(s, e));
        }
        chunk.used.push(video.id);
        chunk.index += 1;
        chunk.total += secs;
        let (clips_done, secs_done) = (chunk.index, chunk.total);
        self.update_job(id, |j| {
            j.clips_done = clips_done;
            j.secs_done = secs_done;
        });
        None
    }

    /// An encode that failed: the video is set aside until it changes.
    fn clip_failed(
        &self,
        video: &Video,
        e: TranscodeError,
        chunk: &mut ChunkInProgress,
    ) -> Option<Outcome> {
        chunk.failures += 1;
        self.publish(|st| st.encode_failures += 1);
        chunk.last_error = e.to_string();
        tracing::warn!(source = %video.path.display(), error = %e, "clip encode failed: the video is set aside until it changes");
        let reason = match &e {
            TranscodeError::Mismatch { .. } => e.to_string(),
            _ => format!("encode failed: {e}"),
        };
        let _ = self.library.mark_unusable(video.id, &reason);
        chunk.too_many_failures()
    }

    /// Why there is no video to cut: still scanning, or nothing usable (and why).
    pub(super) fn no_video(&self, last_error: &str) -> Outcome {
        let counts = self.library.counts().unwrap_or_default();
        if counts.pending > 0 || counts.present == 0 && counts.unusable == 0 {
            Outcome::WaitingForLibrary
        } else {
            Outcome::Stalled(format!(
                "none of the {} videos is usable (corrupt, unreadable or shorter than {} s); last error: {}",
                counts.present,
                crate::library::MIN_SOURCE_SECS,
                if last_error.is_empty() {
                    "see the library's errors"
                } else {
                    last_error
                }
            ))
        }
    }

    /// The next video for a chunk that already used `used`: the least recently used
    /// one not in the chunk and not being cut by another job; failing that, any but
    /// the last one used; failing that, any.
    fn pick(&self, used: &[i64]) -> Result<Option<Video>, crate::db::DbError> {
        let busy = self.in_flight.lock().clone();
        let last = &used[used.len().saturating_sub(1)..];
        for exclude in [
            [used, &busy].concat(),
            [last, &busy].concat(),
            busy.clone(),
            Vec::new(),
        ] {
            if let Some(v) = self.library.pick(&exclude)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// Encodes one clip, reporting progress to the job's status.
    async fn encode(
        &self,
        id: &str,
        req: &ClipRequest<'_>,
        video: &Video,
        done_before: f64,
        secs: f64,
    ) -> Result<(), crate::transcode::TranscodeError> {
        let (tx, mut rx) = watch::channel(EncodeProgress::default());
        let target = self.settings().channel.chunk_duration;
        let title = video.title();
        self.update_job(id, |j| j.current_source = Some(title));
        let reference = self.reference().await;
        // A slot of the shared pool, for this clip only: the next goes to whichever
        // channel needs it most by then.
        let _slot = self.pool.acquire(self.claim()).await;
        *self.last_slot.lock() = Some(Instant::now());
        let encode = async {
            match &reference {
                Some(r) => self.ff.encode_clip_checked(req, &tx, r).await,
                None => self.ff.encode_clip_with_progress(req, &tx).await,
            }
        };
        tokio::pin!(encode);
        let mut last_log = Instant::now();
        loop {
            tokio::select! {
                r = &mut encode => {
                    self.update_job(id, |j| { j.speed = None; j.current_source = None; });
                    return r;
                }
                Ok(()) = rx.changed() => {
                    let p = rx.borrow_and_update().clone();
                    let clip_done = p.out_time.as_secs_f64().min(secs);
                    let done = done_before + clip_done;
                    let eta = p.speed.filter(|s| *s > 0.01).map(|s| (target - done).max(0.0) / s);
                    self.update_job(id, |j| {
                        j.percent = (done / target * 100.0).clamp(0.0, 100.0);
                        j.speed = p.speed;
                        j.eta_secs = eta;
                    });
                    if last_log.elapsed() > Duration::from_secs(15) {
                        last_log = Instant::now();
                        tracing::info!(chunk = %id, percent = format!("{:.0}", done / target * 100.0),
                            speed = p.speed.map(|s| format!("{s:.2}x")), eta_secs = eta.map(|e| e.round() as u64), "generating");
                    }
                }
            }
        }
    }

    /// This channel's claim on the shared encoders, read whenever a slot comes free.
    fn claim(&self) -> Need {
        let playout = self.playout.clone();
        let audience = self.audience.clone();
        let settings = self.settings.clone();
        let last_slot = self.last_slot.lock().to_owned();
        Arc::new(move || {
            let now = Instant::now();
            let viewers = audience.viewers(now).total();
            let every = Duration::from_secs(settings.borrow().channel.unwatched_fresh_every);
            Claim {
                viewers,
                fresh_secs: playout.fresh_secs(),
                floor_due: viewers == 0
                    && !every.is_zero()
                    && last_slot.is_none_or(|t| now.duration_since(t) >= every),
            }
        })
    }

    /// The reference parameter sets of every rung (the top first) for the current
    /// profile, ladder and encoder, made once (and again if any of them changes).
    pub(super) async fn reference(&self) -> Option<Vec<ParameterSets>> {
        let s = self.settings();
        let profiles = s.channel.renditions.profiles(&s.profile);
        let key: Vec<String> = profiles.iter().map(|p| p.key(&s.encoder)).collect();
        let key = key.join(" | ");
        let mut slot = self.pool.reference().lock().await;
        if let Some((k, r)) = &*slot
            && *k == key
        {
            return r.clone();
        }
        let mut references = Vec::with_capacity(profiles.len());
        for p in &profiles {
            match self
                .ff
                .reference_parameters(p, &s.encoder, &s.cache_dir)
                .await
            {
                Ok(r) => references.push(r),
                // Not cached: tried again once space is freed.
                Err(e) if e.is_disk_full() => {
                    tracing::warn!(error = %e, "no reference encode yet: the data disk is full");
                    return None;
                }
                Err(e) => {
                    tracing::error!(error = %e, rung = %p.key(&s.encoder), "no reference encode: clips are not checked against one");
                    *slot = Some((key, None));
                    return None;
                }
            }
        }
        *slot = Some((key, Some(references.clone())));
        Some(references)
    }
}

/// A clip encoded, not yet kept.
struct Made {
    out: PathBuf,
    /// The heights of its lower rungs.
    rungs: Vec<u32>,
    secs: f64,
    want_secs: f64,
    elapsed: f64,
}

/// The text to burn into a clip of `video`, if any.
fn watermark_text(s: &GeneratorSettings, video: &Video) -> Option<String> {
    match s.channel.watermark {
        WatermarkMode::None => None,
        WatermarkMode::Title => Some(video.meta.title.clone()),
        WatermarkMode::Creator => video
            .meta
            .creator
            .clone()
            .or_else(|| s.channel.watermark_fallback.clone())
            .or_else(|| Some(video.meta.title.clone())),
    }
}

/// A file's identity and content stamp: a change of any of them during an encode
/// means the clip may mix two files, or a file cut short.
#[derive(Debug, PartialEq, Eq)]
struct FileStamp {
    ino: u64,
    size: u64,
    mtime: std::time::SystemTime,
}

impl FileStamp {
    /// `None` when the file cannot be read (gone, or its folder).
    async fn of(path: &std::path::Path) -> Option<FileStamp> {
        use std::os::unix::fs::MetadataExt;
        let m = tokio::fs::metadata(path).await.ok()?;
        Some(FileStamp {
            ino: m.ino(),
            size: m.len(),
            mtime: m.modified().ok()?,
        })
    }
}

/// Marks a video as being cut for as long as it lives.
struct InFlight<'a> {
    set: &'a Mutex<Vec<i64>>,
    id: i64,
}

impl<'a> InFlight<'a> {
    fn new(set: &'a Mutex<Vec<i64>>, id: i64) -> Self {
        set.lock().push(id);
        InFlight { set, id }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut v = self.set.lock();
        if let Some(i) = v.iter().position(|x| *x == self.id) {
            v.swap_remove(i);
        }
    }
}

/// Whole GOPs closest to `secs`, at least one.
fn gops(secs: f64, gop_secs: f64) -> u32 {
    (secs / gop_secs).round().max(1.0) as u32
}

/// Frames of a clip of about `secs` seconds: a whole number of GOPs (so every
/// segment is a full GOP and starts on a keyframe), at least one.
pub fn clip_frames(secs: f64, fps: u32, gop_frames: u32) -> u32 {
    gops(secs, gop_frames as f64 / fps as f64) * gop_frames
}
