//! What airs next: the playout order of chunks, the generator that makes them,
//! and the music order.
//!
//! A chunk is a montage of clips (each a separate normalized file) that airs as a
//! unit. The playout prefers chunks never aired, then the least recently aired, and
//! never runs dry: with nothing new it re-airs an old chunk. Chunks, their clips and
//! their airings are kept in the database; the playout holds a copy in memory so the
//! engine's pulls never wait on a query, and hands the airings they start to the
//! writer thread ([`AiringWriter`]): nothing under its lock waits on SQLite.

mod chunk;
pub mod generator;
pub mod music;
mod order;
pub mod pool;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use tokio::sync::watch;

use crate::clock::SharedClock;
use crate::db::airings::{AiringWrite, AiringWriter};
use crate::db::chunks::{ChunkStore, ClipRow};
use crate::db::{Db, DbError};
use crate::engine::{ClipInfo, ClipRef, ClipSource};
use crate::transcode::OutputProfile;
pub use chunk::{Chunk, STRIP_FILE, clip_picture, human_title};
pub use order::{AirTally, LEAD_CLIPS};
use order::{Crossing, Hurried, State};

/// What must match for clips to splice on one timeline: size, frame rate and GOP.
/// The encoder and bitrate may differ; a change of codec parameters is marked with
/// a discontinuity by the engine.
pub fn splice_key(p: &OutputProfile) -> String {
    format!("{}x{}@{} gop{}", p.width, p.height, p.fps, p.gop_frames)
}

/// A chunk the playout would air, as [`Playout::upcoming`] foresees it.
#[derive(Clone, Debug)]
pub struct Upcoming {
    /// The chunk, as it will be when it airs (`times_aired` counts that airing).
    pub chunk: Chunk,
    /// It airs there whatever the generator makes meanwhile: an operator's pick,
    /// or never aired (a new chunk queues behind it). A re-air is not sure: a new
    /// chunk made before it comes first.
    pub sure: bool,
}

/// The playout order. The engine pulls clips from it; the generator pushes them in.
pub struct Playout {
    store: ChunkStore,
    /// Where airings go: the engine's pulls change memory only.
    airings: AiringWriter,
    state: Mutex<State>,
    /// Ticks whenever a clip may have become ready to pull (see [`ClipSource::changed`]).
    changed: watch::Sender<u64>,
    /// When things happen (the airing order itself is the airing clock's).
    wall: SharedClock,
    /// Told when a chunk airs for the first time or goes away (see
    /// [`Playout::stock_changed`]).
    stock: tokio::sync::Notify,
}

impl Playout {
    /// The playout of the chunks in the database, after making it agree with the
    /// folder: chunks made for another size or frame rate (`profile`) are deleted
    /// (their clips cannot splice into this channel), chunks whose files are gone are
    /// forgotten, clip files without a record are removed. Chunks still being built
    /// are kept: the generator finishes them.
    pub fn load(
        db: Db,
        channel: &str,
        chunks_dir: &Path,
        profile: &OutputProfile,
    ) -> Result<Arc<Playout>, DbError> {
        let clock = crate::clock::system_clock();
        Playout::load_with_clock(db, channel, chunks_dir, profile, clock)
    }

    /// [`Playout::load`], its times (chunks made, aired) read from `wall`.
    pub fn load_with_clock(
        db: Db,
        channel: &str,
        chunks_dir: &Path,
        profile: &OutputProfile,
        wall: SharedClock,
    ) -> Result<Arc<Playout>, DbError> {
        let key = splice_key(profile);
        let store = db.chunks(channel);
        let mut chunks = Vec::new();
        let mut gone: Vec<String> = Vec::new();
        for (row, clips) in store.all()? {
            let dir = chunks_dir.join(&row.id);
            if row.profile != key {
                tracing::info!(chunk = %row.id, made_for = %row.profile, now = %key, "removing chunk made for another output size or frame rate");
                let _ = std::fs::remove_dir_all(&dir);
                gone.push(row.id);
                continue;
            }
            let clips = existing_clips(&dir, clips);
            if row.complete && clips.is_empty() {
                tracing::info!(chunk = %row.id, "forgetting chunk whose files are gone");
                let _ = std::fs::remove_dir_all(&dir);
                gone.push(row.id);
                continue;
            }
            let mut chunk = Chunk {
                strip: Some(dir.join(STRIP_FILE)).filter(|p| p.is_file()),
                size_bytes: 0,
                duration: 0.0,
                target_secs: row.target_secs,
                id: row.id,
                dir,
                complete: row.complete,
                times_aired: row.times_aired,
                last_aired: row.last_aired,
                last_aired_at: row.last_aired_at,
                created_at: row.created_at,
                encoder: row.encoder,
                held: row.held,
                clips: Vec::new(),
                resume_at: 0,
            };
            for clip in clips {
                chunk.size_bytes += clip.info.size_bytes;
                chunk.duration += clip.info.duration;
                chunk.clips.push(clip);
            }
            chunks.push(chunk);
        }
        store.delete(&gone.iter().map(String::as_str).collect::<Vec<_>>())?;
        remove_strays(chunks_dir, &chunks);
        let airings = db.airings(channel);
        let clock = airings.clock()?;
        Ok(Arc::new(Playout {
            store,
            airings: AiringWriter::start(airings),
            state: Mutex::new(State {
                chunks,
                clock,
                ..State::default()
            }),
            changed: watch::channel(0).0,
            wall,
            stock: tokio::sync::Notify::new(),
        }))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock()
    }

    /// Starts a new, empty chunk that clips will be added to.
    pub fn begin_chunk(
        &self,
        id: &str,
        dir: PathBuf,
        profile: &OutputProfile,
        encoder: &str,
        target_secs: f64,
    ) -> Result<(), DbError> {
        let now = self.wall.unix_now();
        self.store
            .begin(id, &splice_key(profile), encoder, target_secs, now)?;
        self.state().chunks.push(Chunk {
            id: id.into(),
            dir,
            clips: Vec::new(),
            complete: false,
            times_aired: 0,
            last_aired: None,
            last_aired_at: None,
            size_bytes: 0,
            duration: 0.0,
            target_secs,
            created_at: now,
            encoder: encoder.into(),
            strip: None,
            held: false,
            resume_at: 0,
        });
        Ok(())
    }

    /// Holds chunk `id` back from the rotation: it airs only when an operator plays it.
    pub fn hold(&self, id: &str) -> Result<(), DbError> {
        self.store.hold(id)?;
        if let Some(c) = self.state().chunks.iter_mut().find(|c| c.id == id) {
            c.held = true;
        }
        Ok(())
    }

    /// Appends an encoded clip to a chunk: it can air right away.
    pub fn add_clip(&self, chunk: &str, clip: ClipRef) -> Result<(), DbError> {
        // Recorded first, outside the lock (the engine pulls under it). Only the
        // chunk's own job adds to it, and a chunk being built is never deleted, so
        // its next index cannot change meanwhile.
        let Some(idx) = self.find(chunk, |c| c.clips.len()) else {
            return Ok(()); // deleted while it was being made
        };
        self.store.add_clip(chunk, idx, &clip)?;
        if let Some(c) = self.state().chunks.iter_mut().find(|c| c.id == chunk) {
            c.size_bytes += clip.info.size_bytes;
            c.duration += clip.info.duration;
            c.clips.push(clip);
        }
        self.notify();
        Ok(())
    }

    /// Marks a chunk complete; an empty one (every encode failed) is dropped and
    /// its folder returned for deletion.
    pub fn complete_chunk(&self, chunk: &str) -> Result<Option<PathBuf>, DbError> {
        let Some(empty) = self.find(chunk, |c| c.clips.is_empty()) else {
            return Ok(None);
        };
        if empty {
            self.store.delete(&[chunk])?;
            let mut s = self.state();
            let i = s.chunks.iter().position(|c| c.id == chunk);
            return Ok(i.map(|i| s.chunks.remove(i).dir));
        }
        self.store.complete(chunk, self.wall.unix_now())?;
        if let Some(c) = self.state().chunks.iter_mut().find(|c| c.id == chunk) {
            c.complete = true;
        }
        self.notify();
        Ok(None)
    }

    /// Records the strip of pictures made for `chunk`; false when the chunk is gone.
    pub fn set_strip(&self, chunk: &str, strip: &Path) -> bool {
        let mut s = self.state();
        let Some(c) = s.chunks.iter_mut().find(|c| c.id == chunk) else {
            return false;
        };
        c.strip = Some(strip.to_path_buf());
        true
    }

    /// The chunk `id`, if there is one (a copy of it alone, not of the list).
    pub fn chunk(&self, id: &str) -> Option<Chunk> {
        self.find(id, Chunk::clone)
    }

    /// `f` of the chunk `id`, if there is one.
    fn find<R>(&self, id: &str, f: impl FnOnce(&Chunk) -> R) -> Option<R> {
        self.state().chunks.iter().find(|c| c.id == id).map(f)
    }

    /// Moves the cursor to chunk `i` and records the airing it starts.
    fn enter(&self, s: &mut State, i: usize) {
        let id = s.chunks[i].id.clone();
        let picked = s.queued.as_deref() == Some(id.as_str());
        if picked {
            s.queued = None;
        }
        s.clock += 1;
        let (clock, at) = (s.clock, self.wall.unix_now());
        let c = &s.chunks[i];
        s.crossing = Some(Crossing {
            chunk: id.clone(),
            last_aired: c.last_aired,
            last_aired_at: c.last_aired_at,
            resume_at: c.resume_at,
            cursor: s.cursor.clone(),
            previous: s.previous.clone(),
            rerun: s.rerun,
            fresh_from: s.fresh_from,
        });
        self.airings.send(AiringWrite::Aired {
            chunk: id.clone(),
            clock,
            at,
        });
        let c = &mut s.chunks[i];
        let first = c.times_aired == 0;
        if first {
            self.stock.notify_one();
        }
        // A first airing cut short before goes on after the clips that aired.
        let start = if first {
            std::mem::take(&mut c.resume_at)
        } else {
            0
        };
        c.times_aired += 1;
        c.last_aired = Some(clock);
        c.last_aired_at = Some(at);
        tracing::info!(chunk = %c.id, clips = c.clips.len(), from = start, times_aired = c.times_aired, "chunk up next");
        let previous = s.cursor.take().map(|c| c.0);
        s.previous = previous.filter(|p| *p != id);
        s.cursor = Some((id, start));
        // An operator's pick airs whole, fresh clips or not.
        s.rerun = !first && !picked;
        s.fresh_from = if first { start } else { usize::MAX };
    }

    /// Tells the loader that a clip may have become ready.
    fn notify(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    /// Puts chunks whose deletion failed back in their place (ids sort by creation).
    fn restore(&self, chunks: Vec<Chunk>) {
        let mut s = self.state();
        for c in chunks {
            let at = s.chunks.partition_point(|k| k.id < c.id);
            s.chunks.insert(at, c);
        }
    }

    /// Blocks until every airing handed to the writer so far is in the database.
    pub fn flush(&self) {
        self.airings.flush();
    }

    /// Writes the airings handed to the writer so far and stops it: for the
    /// shutdown, once the engine has stopped pulling.
    pub async fn close(&self) {
        self.airings.close().await;
    }

    /// True once any chunk holds a clip that can air.
    pub fn has_clip(&self) -> bool {
        self.state().chunks.iter().any(|c| !c.clips.is_empty())
    }

    /// Chunks made or being made that have not aired yet.
    pub fn unaired(&self) -> usize {
        self.state()
            .chunks
            .iter()
            .filter(|c| c.times_aired == 0 && !c.held)
            .count()
    }

    /// Seconds of clips encoded and never aired: how long the channel can go on
    /// before it re-airs old chunks, its place in the queue for an encode slot.
    pub fn fresh_secs(&self) -> f64 {
        self.state()
            .chunks
            .iter()
            .filter(|c| c.times_aired == 0 && !c.held)
            .map(|c| {
                let aired: f64 = c
                    .clips
                    .iter()
                    .take(c.resume_at)
                    .map(|k| k.info.duration)
                    .sum();
                c.duration - aired
            })
            .sum()
    }

    /// Seconds handed to the engine since start, fresh and again.
    pub fn air_tally(&self) -> AirTally {
        self.state().tally
    }

    /// Resolves once a chunk has aired for the first time or been deleted since the
    /// last call: what lowers the unaired count or the number of chunks,
    /// the generator's cue to make another. For one waiter, the generator: a change
    /// while it is busy is kept for its next wait.
    pub async fn stock_changed(&self) {
        self.stock.notified().await;
    }

    /// A snapshot of the chunks, for status and tests.
    pub fn chunks(&self) -> Vec<Chunk> {
        self.state().chunks.clone()
    }

    /// Chunks still being built (generation jobs to resume), oldest first.
    pub fn building(&self) -> Vec<Chunk> {
        self.state()
            .chunks
            .iter()
            .filter(|c| !c.complete)
            .cloned()
            .collect()
    }

    /// Ids of the source videos of a chunk's clips, in order.
    pub fn clip_videos(&self, chunk: &str) -> Result<Vec<i64>, DbError> {
        self.store.clip_videos(chunk)
    }

    /// The chunks that may be on air now: the one being fed to the engine and the
    /// one before it.
    pub fn airing(&self) -> Vec<String> {
        let s = self.state();
        s.cursor
            .iter()
            .map(|c| c.0.clone())
            .chain(s.previous.clone())
            .collect()
    }

    /// The chunk on air (being fed to the engine) and the one that follows it, as
    /// far as known now.
    pub fn now_and_next(&self) -> (Option<String>, Option<String>) {
        let s = self.state();
        let now = s.cursor.as_ref().map(|c| c.0.clone());
        let next = s.pick_next().map(|i| s.chunks[i].id.clone());
        (now, next)
    }

    /// The chunk on air with the index of the clip after the one airing (as the
    /// engine pulled it), then the next `n` chunks in the order they would air if
    /// nothing changed: for the programme guide. A chunk still growing is expected
    /// to be complete when it ends (its length is then `target_secs`).
    /// With `sure_only`, it stops at the first chunk that is not [`Upcoming::sure`].
    pub fn upcoming(&self, n: usize, sure_only: bool) -> (Option<(Chunk, usize)>, Vec<Upcoming>) {
        let s = self.state();
        let current = s.cursor.as_ref().and_then(|(id, next)| {
            s.chunks
                .iter()
                .find(|c| c.id == *id)
                .map(|c| (c.clone(), *next))
        });
        // Simulate the airings on a copy of the order.
        let mut sim = State {
            crossing: None,
            ..s.clone()
        };
        let mut clock = sim
            .chunks
            .iter()
            .filter_map(|c| c.last_aired)
            .max()
            .unwrap_or(0);
        // A growing chunk is complete by the time it has aired to its end (so it is
        // not picked again as if still growing).
        if let Some((id, _)) = &sim.cursor
            && let Some(c) = sim.chunks.iter_mut().find(|c| c.id == *id)
        {
            c.complete = true;
        }
        let mut out = Vec::new();
        while out.len() < n {
            let Some(i) = sim.pick_next() else { break };
            clock += 1;
            let c = &mut sim.chunks[i];
            let queued = sim.queued.as_deref() == Some(c.id.as_str());
            let sure = queued || c.times_aired == 0;
            if sure_only && !sure {
                break;
            }
            c.times_aired += 1;
            c.last_aired = Some(clock);
            if queued {
                sim.queued = None;
            }
            out.push(Upcoming {
                chunk: c.clone(),
                sure,
            });
            c.complete = true;
            sim.cursor = Some((c.id.clone(), 0));
        }
        (current, out)
    }

    /// Makes `chunk` air after the current one. False when there is no such ready chunk.
    pub fn play_next(&self, chunk: &str) -> bool {
        let mut s = self.state();
        let ok = s
            .chunks
            .iter()
            .any(|c| c.id == chunk && c.complete && !c.clips.is_empty());
        if ok {
            s.queued = Some(chunk.to_string());
            drop(s);
            self.notify();
        }
        ok
    }

    /// Removes chunks while there are more than `max` or they take more than
    /// `budget` bytes: the least recently aired first (the most aired first among
    /// equals), never one on air, being built, queued or not aired yet. Returns the
    /// folders to delete.
    pub fn evict(&self, max: usize, budget: Option<u64>) -> Result<Vec<PathBuf>, DbError> {
        let victims = self.state().evictions(max, budget);
        if victims.is_empty() {
            return Ok(Vec::new());
        }
        // Out of memory first, so they cannot be picked; out of the database after,
        // outside the lock.
        if let Err(e) = self
            .store
            .delete(&victims.iter().map(|c| c.id.as_str()).collect::<Vec<_>>())
        {
            self.restore(victims);
            return Err(e);
        }
        Ok(victims
            .into_iter()
            .map(|c| {
                tracing::info!(chunk = %c.id, times_aired = c.times_aired, mb = c.size_bytes / 1_000_000, "evicting chunk");
                c.dir
            })
            .collect())
    }

    /// Bytes of every chunk on disk.
    pub fn size_bytes(&self) -> u64 {
        self.state().chunks.iter().map(|c| c.size_bytes).sum()
    }

    /// The chunk the eviction rules would take first (complete, aired, neither on
    /// air nor queued), with when it last aired (Unix seconds) and how often: for
    /// the budget of every channel together, which compares channels by wall time
    /// (each channel's airing clock counts its own airings only).
    pub fn first_evictable(&self) -> Option<(String, Option<i64>, u32)> {
        let s = self.state();
        let spared: Vec<&String> = s
            .cursor
            .iter()
            .map(|c| &c.0)
            .chain(s.previous.iter())
            .chain(s.queued.iter())
            .collect();
        s.chunks
            .iter()
            .filter(|c| c.complete && c.times_aired > 0 && !spared.contains(&&c.id))
            .min_by_key(|c| (c.last_aired, std::cmp::Reverse(c.times_aired)))
            .map(|c| (c.id.clone(), c.last_aired_at, c.times_aired))
    }

    /// Deletes a chunk on request; refused (false) for one that may be on air or is
    /// being built. Returns its folder on success.
    pub fn delete(&self, chunk: &str) -> Result<Option<PathBuf>, DbError> {
        let c = {
            let mut s = self.state();
            let on_air = s.cursor.as_ref().is_some_and(|c| c.0 == chunk)
                || s.previous.as_deref() == Some(chunk);
            let Some(i) = s.chunks.iter().position(|c| c.id == chunk && c.complete) else {
                return Ok(None);
            };
            if on_air {
                return Ok(None);
            }
            if s.queued.as_deref() == Some(chunk) {
                s.queued = None;
            }
            s.chunks.remove(i)
        };
        if let Err(e) = self.store.delete(&[chunk]) {
            self.restore(vec![c]);
            return Err(e);
        }
        self.stock.notify_one();
        Ok(Some(c.dir))
    }
}

impl ClipSource for Playout {
    fn next_clip(&self) -> Option<ClipRef> {
        self.next_cued().map(|(c, _)| c)
    }

    fn next_cued(&self) -> Option<(ClipRef, u64)> {
        let mut s = self.state();
        // At most two passes: finish the current chunk, or move to the next one.
        for _ in 0..2 {
            if let Some((id, next)) = s.cursor.clone()
                && let Some(c) = s.chunks.iter().find(|c| c.id == id)
                && !s.rerun_gives_way()
            {
                if let Some(clip) = c.clips.get(next) {
                    let clip = clip.clone();
                    let secs = clip.info.duration;
                    if next >= s.fresh_from {
                        s.tally.fresh_secs += secs;
                    } else {
                        s.tally.rerun_secs += secs;
                    }
                    s.cursor = Some((id, next + 1));
                    return Some((clip, s.cue));
                }
                if !c.complete {
                    return None; // the generator is still making its next clip
                }
            }
            let i = s.pick_next()?;
            self.enter(&mut s, i);
        }
        None
    }

    fn hurry(&self) -> bool {
        let mut s = self.state();
        match s.hurry() {
            Hurried::Ready => return true,
            Hurried::Nothing => return false,
            Hurried::Rewound => {
                tracing::info!(
                    "the next clip is not made yet: airing again what is made of the chunk"
                )
            }
            Hurried::Left(undone) => {
                // The memory is undone already: the record follows whatever comes.
                if let Some(u) = undone {
                    self.airings.send(AiringWrite::Undone {
                        chunk: u.chunk,
                        last_aired: u.last_aired,
                        last_aired_at: u.last_aired_at,
                    });
                }
                // `hurry` leaves only when a complete chunk can air.
                let Some(i) = s.pick_next() else {
                    return false;
                };
                tracing::info!(chunk = ?s.cursor.as_ref().map(|c| &c.0), "the next clip is not made yet: a complete chunk airs meanwhile");
                self.enter(&mut s, i);
            }
        }
        drop(s);
        self.notify();
        true
    }

    /// Takes back a chunk the engine started loading but not airing, when an
    /// operator's pick should air before it.
    fn recue(&self, airing: Option<&ClipInfo>) -> Option<u64> {
        let mut s = self.state();
        let (cursor, _) = s.cursor.clone()?;
        let airing_chunk = airing.and_then(|a| a.chunk.clone());
        // Only when the loads crossed into a chunk that is not on air yet, and the
        // operator wants another one.
        if airing_chunk.as_deref() == Some(cursor.as_str())
            || s.queued.is_none()
            || s.queued.as_deref() == Some(cursor.as_str())
        {
            return None;
        }
        let undo = s.crossing.clone().filter(|u| u.chunk == cursor)?;
        self.airings.send(AiringWrite::Undone {
            chunk: undo.chunk.clone(),
            last_aired: undo.last_aired,
            last_aired_at: undo.last_aired_at,
        });
        if let Some(c) = s.chunks.iter_mut().find(|c| c.id == undo.chunk) {
            c.times_aired = c.times_aired.saturating_sub(1);
            c.last_aired = undo.last_aired;
            c.last_aired_at = undo.last_aired_at;
            c.resume_at = undo.resume_at;
        }
        // Go on right after the clip on air (nothing of the old chunk is left when it
        // was its last one, so the operator's pick comes next).
        s.cursor = match (airing, undo.cursor) {
            (Some(a), Some((chunk, _))) if a.chunk.as_deref() == Some(chunk.as_str()) => {
                let after = s
                    .chunks
                    .iter()
                    .find(|c| c.id == chunk)
                    .and_then(|c| c.clips.iter().position(|k| k.info.id == a.id))
                    .map_or(usize::MAX, |i| i + 1);
                Some((chunk, after))
            }
            (_, cursor) => cursor,
        };
        s.previous = undo.previous;
        s.rerun = undo.rerun;
        s.fresh_from = undo.fresh_from;
        s.crossing = None;
        s.cue += 1;
        tracing::info!(chunk = %undo.chunk, "chunk taken back: an operator's pick airs first");
        let cue = s.cue;
        drop(s);
        self.notify();
        Some(cue)
    }

    fn changed(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

/// The clips of a chunk whose files exist, each with its picture when it has one.
fn existing_clips(dir: &Path, rows: Vec<ClipRow>) -> Vec<ClipRef> {
    let mut out = Vec::new();
    for ClipRow { file, mut info, .. } in rows {
        let path = dir.join(&file);
        // A record naming anything but a plain file in its own folder is not ours.
        if file.contains('/') || !path.is_file() {
            continue;
        }
        info.picture = Some(clip_picture(&path)).filter(|p| p.is_file());
        out.push(ClipRef {
            path,
            info: Arc::new(info),
        });
    }
    out
}

/// Removes folders and files in the chunks folder that no chunk owns (a chunk
/// deleted while its folder could not be, a crash between the two). A building
/// chunk's stray files (a clip encoded but not recorded) go too.
fn remove_strays(dir: &Path, chunks: &[Chunk]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        match chunks.iter().find(|c| c.id == name) {
            None => {
                tracing::info!(path = %path.display(), "removing files of no chunk");
                let _ = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
            }
            Some(c) => {
                // A clip's picture, its rungs and the chunk's strip are its own too.
                let owned: HashSet<PathBuf> = c
                    .clips
                    .iter()
                    .flat_map(|k| {
                        [k.path.clone(), clip_picture(&k.path)]
                            .into_iter()
                            .chain(k.rung_files())
                    })
                    .chain(c.strip.clone())
                    .collect();
                if let Ok(files) = std::fs::read_dir(&path) {
                    for f in files.flatten() {
                        if !owned.contains(&f.path()) {
                            let _ = std::fs::remove_file(f.path());
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
