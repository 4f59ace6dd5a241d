//! The library: which source videos exist, what they are, which are usable, and
//! which comes next (strict LRU with segment tracking). Kept in the database, so a
//! restart loses neither the LRU order nor the used ranges.
//!
//! A scan walks the folders and reconciles them with the database in one
//! transaction: unchanged files (same size and modification time) cost a `stat`,
//! never a probe; a file that moved keeps its history (matched by size and time);
//! a removed one drops out of the LRU but keeps its stats. New and changed files are
//! then probed in the background; a file that fails is recorded with the reason and
//! not probed again until it changes. A watcher rescans on changes while running.

pub mod metadata;
pub mod posters;
pub mod ranges;
pub mod scan;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use crate::clock::SharedClock;
use crate::db::library::LibraryStore;
pub use crate::db::library::{LibraryCounts, Video, VideoStatus};
use crate::db::lru::Frontier;
use crate::db::ranges::RangeStore;
use crate::db::{Db, DbError};
use crate::transcode::{Ffmpeg, ProbeInfo};
use metadata::{SourceMeta, TubeArchivist};
pub use ranges::{Cut, Range};
pub use scan::ScanReport;

/// Video file extensions we take, compared case-insensitively.
pub const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "mkv", "mov", "avi", "webm", "m4v", "ts", "m2ts", "mts", "mpg", "mpeg", "wmv", "flv",
    "3gp", "vob", "dv", "ogv", "mxf", "mpe", "divx", "asf", "f4v",
];
/// Music file extensions we take, compared case-insensitively.
pub const AUDIO_EXTENSIONS: &[&str] = &["mp3", "m4a", "aac", "flac", "ogg", "opus", "wav"];

/// Sources shorter than this are recorded as unusable: a fraction of a second
/// padded to a whole segment would be a frozen frame, not a clip.
pub const MIN_SOURCE_SECS: f64 = 0.5;

/// Title of a media file: its name without the extension.
pub fn title_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether a video (its path and creator) belongs to a channel: the channel's
/// folders and patterns, compiled.
pub type Belongs = Arc<dyn Fn(&Path, Option<&str>) -> bool + Send + Sync>;

/// Every video belongs: a channel of the whole library.
pub fn everything() -> Belongs {
    Arc::new(|_, _| true)
}

/// Source videos under one or more folders, shared by every channel: each file is
/// walked and probed once. What a channel did with them (its LRU order, its used
/// ranges) is its [`ChannelLibrary`]'s.
pub struct Library {
    store: LibraryStore,
    ranges: RangeStore,
    /// Every channel's folders together; changed when a channel is added or edited.
    folders: parking_lot::RwLock<Vec<PathBuf>>,
    /// Told when the folders change, so the watcher follows them.
    refolder: tokio::sync::Notify,
    tube_archivist: Option<TubeArchivist>,
    /// Bumped whenever the set of usable videos may have changed.
    changed: tokio::sync::watch::Sender<u64>,
    /// Which folders were unreachable at the last scan (each logged once).
    reach: scan::Reachability,
    /// When things happen (first seen, removed).
    clock: SharedClock,
    /// The videos' posters, once told where they go ([`Library::keep_posters_in`]).
    posters: std::sync::OnceLock<posters::Posters>,
    /// Every channel's frontier of never-used videos, lowered when a video may have
    /// become usable or a channel's (see [`Frontier`]).
    frontiers: parking_lot::Mutex<Vec<Weak<Frontier>>>,
}

/// Scheduling niceness of poster runs: below clips and music, which the stream needs.
const NICE_POSTERS: i32 = 15;

impl Library {
    /// A library of the videos under `folders`, kept in `db`. Nothing is walked until
    /// [`Library::scan`] or [`Library::run`].
    pub fn new(
        db: Db,
        folders: Vec<PathBuf>,
        tube_archivist: Option<TubeArchivist>,
    ) -> Arc<Library> {
        Library::with_clock(db, folders, tube_archivist, crate::clock::system_clock())
    }

    /// [`Library::new`], its times (first seen, removed) read from `clock`.
    pub fn with_clock(
        db: Db,
        folders: Vec<PathBuf>,
        tube_archivist: Option<TubeArchivist>,
        clock: SharedClock,
    ) -> Arc<Library> {
        Arc::new(Library {
            store: db.library(),
            ranges: db.ranges(),
            folders: parking_lot::RwLock::new(folders),
            refolder: tokio::sync::Notify::new(),
            tube_archivist,
            changed: tokio::sync::watch::channel(0).0,
            reach: scan::Reachability::default(),
            clock,
            posters: std::sync::OnceLock::new(),
            frontiers: parking_lot::Mutex::new(Vec::new()),
        })
    }

    /// Makes a poster of every video first probed from now on, in `dir` (see
    /// [`posters`]). Only the first call counts.
    pub fn keep_posters_in(&self, dir: PathBuf) {
        let _ = self.posters.set(posters::Posters::open(dir));
    }

    /// The poster of video `id`, when it has one.
    pub fn poster(&self, id: i64) -> Option<PathBuf> {
        self.posters.get()?.get(id)
    }

    /// The folders scanned.
    pub fn folders(&self) -> Vec<PathBuf> {
        self.folders.read().clone()
    }

    /// Scans `folders` from now on (every channel's, together): a change rescans
    /// at once. Videos only under folders no longer scanned are missing, their
    /// history kept.
    pub fn set_folders(&self, mut folders: Vec<PathBuf>) {
        folders.sort();
        folders.dedup();
        let mut cur = self.folders.write();
        if *cur != folders {
            *cur = folders;
            drop(cur);
            self.refolder.notify_one();
        }
    }

    /// What `channel` sees of the library: the videos that `belong` to it, in its
    /// own LRU order, with its own used ranges.
    pub fn channel(self: &Arc<Self>, channel: &str, belongs: Belongs) -> Arc<ChannelLibrary> {
        let frontier = Arc::new(Frontier::default());
        let mut all = self.frontiers.lock();
        all.retain(|f| f.strong_count() > 0);
        all.push(Arc::downgrade(&frontier));
        Arc::new(ChannelLibrary {
            library: self.clone(),
            channel: channel.into(),
            belongs: parking_lot::RwLock::new(belongs),
            frontier,
        })
    }

    /// Video `id` may have become usable (probed, back, renamed): every channel
    /// looks at its never-used videos again from it.
    fn lower_frontiers(&self, id: i64) {
        for f in self.frontiers.lock().iter().filter_map(|f| f.upgrade()) {
            f.lower(id);
        }
    }

    /// Ticks whenever usable videos may have been added or removed; the generator
    /// waits on it when it has nothing to cut.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    fn notify(&self) {
        self.changed.send_modify(|n| *n += 1);
    }

    /// Walks the folders and reconciles the database with them (blocking).
    pub fn scan(&self) -> Result<ScanReport, DbError> {
        let folders = self.folders();
        let walk = scan::walk_roots(&folders, VIDEO_EXTENSIONS);
        let t0 = std::time::Instant::now();
        let mut report = self.store.scan(|tx| {
            scan::reconcile(tx, &walk.files, &walk.unreachable, self.clock.unix_now())
        })?;
        report.elapsed = t0.elapsed();
        if let Some(id) = report.revisit_from {
            self.lower_frontiers(id);
        }
        self.reach.note("video", "videos", &folders, &report);
        if report.added + report.removed + report.changed + report.renamed + report.went_missing > 0
        {
            tracing::info!(
                added = report.added,
                removed = report.removed,
                renamed = report.renamed,
                changed = report.changed,
                unchanged = report.unchanged,
                ms = report.elapsed.as_millis() as u64,
                "library scanned"
            );
            self.notify();
        }
        Ok(report)
    }

    /// [`Library::scan`] on a blocking thread.
    pub async fn rescan(self: &Arc<Self>) -> Result<ScanReport, DbError> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.scan())
            .await
            .expect("scan does not panic")
    }

    /// Probes every present video not probed yet, two at a time, recording facts and
    /// metadata, or the reason it is unusable. Returns how many were probed.
    pub async fn probe_pending(&self, ff: &Ffmpeg) -> Result<usize, DbError> {
        let pending = self.store.pending_probes()?;
        let mut done = 0;
        let mut posters = Vec::new();
        for batch in pending.chunks(2) {
            let probes = batch.iter().map(|(id, path)| async move {
                let r = ff.probe(path).await;
                (*id, path.clone(), r)
            });
            let results = futures::future::join_all(probes).await;
            for (id, path, r) in results {
                let outcome = match r {
                    Ok(info) if info.duration < MIN_SOURCE_SECS => Err(format!(
                        "too short to cut a clip from ({:.2} s)",
                        info.duration
                    )),
                    Ok(info) => Ok(info),
                    Err(e) => Err(e.to_string()),
                };
                match outcome {
                    Ok(info) => {
                        let (meta, ta_thumbnail) = self.metadata(&path, &info).await;
                        self.record_probe(id, &info, &meta)?;
                        posters.push((id, path, info, ta_thumbnail));
                    }
                    Err(reason) => {
                        tracing::warn!(file = %path.display(), %reason, "unusable video: skipped until it changes");
                        self.mark_unusable(id, &reason)?;
                    }
                }
                done += 1;
            }
            // Each batch can make a video usable: let a waiting generator start early.
            self.notify();
        }
        // After every probe: a poster is not worth delaying the first clip for.
        self.make_posters(ff, posters).await;
        Ok(done)
    }

    /// Posters of the videos probed before posters existed (a library upgraded to
    /// this release), a page at a time from the lowest id, from a thumbnail beside
    /// the file or a frame (TubeArchivist is not asked again). Videos that have one
    /// cost nothing; run once a process, behind the first probe pass.
    pub async fn backfill_posters(&self, ff: &Ffmpeg) -> Result<usize, DbError> {
        let Some(posters) = self.posters.get() else {
            return Ok(0);
        };
        let (mut after, mut made) = (0, 0);
        loop {
            let page = self.store.usable_after(after, 200)?;
            let Some(last) = page.last() else {
                return Ok(made);
            };
            after = last.0;
            let missing: Vec<_> = page
                .into_iter()
                .filter(|(id, ..)| posters.get(*id).is_none())
                .map(|(id, path, info)| (id, path, info, None))
                .collect();
            let ids: Vec<i64> = missing.iter().map(|m| m.0).collect();
            self.make_posters(ff, missing).await;
            made += ids.iter().filter(|id| posters.get(**id).is_some()).count();
        }
    }

    /// Posters of the videos just probed (with TubeArchivist's thumbnail of each,
    /// when it has one), one at a time.
    async fn make_posters(
        &self,
        ff: &Ffmpeg,
        probed: Vec<(i64, PathBuf, ProbeInfo, Option<String>)>,
    ) {
        let Some(posters) = self.posters.get() else {
            return;
        };
        let ff = ff.clone().with_nice(NICE_POSTERS);
        for (id, path, info, ta_thumbnail) in probed {
            let p = path.clone();
            let beside = tokio::task::spawn_blocking(move || posters::sidecar_thumbnail(&p))
                .await
                .ok()
                .flatten();
            let from = match (beside, ta_thumbnail) {
                (Some(image), _) => posters::PosterFrom::Image(image),
                (None, Some(thumb)) => posters::PosterFrom::TubeArchivist(thumb),
                (None, None) => posters::PosterFrom::Frame,
            };
            posters
                .make(&ff, self.tube_archivist.as_ref(), id, &path, &info, from)
                .await;
        }
    }

    /// Title, creator and link of a video, and TubeArchivist's thumbnail of it when
    /// that is where they came from.
    async fn metadata(&self, path: &Path, info: &ProbeInfo) -> (SourceMeta, Option<String>) {
        let (p, title, artist) = (path.to_path_buf(), info.title.clone(), info.artist.clone());
        let local = tokio::task::spawn_blocking(move || {
            metadata::local(&p, title.as_deref(), artist.as_deref())
        })
        .await
        .unwrap_or_else(|_| SourceMeta::from_file_name(path));
        // A sidecar is the downloader's own record: it wins. Otherwise ask TubeArchivist.
        if local.origin == metadata::MetaOrigin::InfoJson {
            return (local, None);
        }
        if let (Some(ta), Some(id)) = (&self.tube_archivist, metadata::youtube_id(path)) {
            match ta.entry(&id).await {
                Ok(Some(e)) => return (e.meta, e.thumbnail),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "TubeArchivist lookup failed")
                }
            }
        }
        (local, None)
    }

    fn record_probe(&self, id: i64, info: &ProbeInfo, meta: &SourceMeta) -> Result<(), DbError> {
        self.store.record_probe(id, info, meta)?;
        self.lower_frontiers(id);
        Ok(())
    }

    /// Records why a video cannot be used; it is left alone until the file changes.
    pub fn mark_unusable(&self, id: i64, reason: &str) -> Result<(), DbError> {
        self.store.mark_unusable(id, reason)
    }

    /// Counts of every video by state.
    pub fn counts(&self) -> Result<LibraryCounts, DbError> {
        self.store.counts(&|_, _| true)
    }
}

/// One channel's view of the shared [`Library`]: the videos that belong to it, in
/// its LRU order (a channel prefers what it has not aired, whatever the others
/// did), with the ranges it used.
pub struct ChannelLibrary {
    library: Arc<Library>,
    channel: Arc<str>,
    /// Replaced when the channel is edited.
    belongs: parking_lot::RwLock<Belongs>,
    /// Where its never-used videos may start (see [`Frontier`]).
    frontier: Arc<Frontier>,
}

impl ChannelLibrary {
    /// The shared library.
    pub fn library(&self) -> &Arc<Library> {
        &self.library
    }

    /// The channel's slug.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// From now on, the videos that `belong` are the channel's.
    pub fn set_belongs(&self, belongs: Belongs) {
        *self.belongs.write() = belongs;
        self.frontier.lower(0);
        self.library.notify();
    }

    fn belongs(&self) -> Belongs {
        self.belongs.read().clone()
    }

    /// Ticks whenever usable videos may have been added or removed.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.library.subscribe()
    }

    /// Records why a video cannot be used (for every channel).
    pub fn mark_unusable(&self, id: i64, reason: &str) -> Result<(), DbError> {
        self.library.mark_unusable(id, reason)
    }

    /// The least recently used usable video not in `exclude` (never-used videos first,
    /// then oldest use; ties in the order files were found).
    pub fn pick(&self, exclude: &[i64]) -> Result<Option<Video>, DbError> {
        self.library.store.least_recently_used(
            &self.channel,
            exclude,
            &*self.belongs(),
            &self.frontier,
        )
    }

    /// Chooses the next clip of `video` from a range never used (see
    /// [`ranges::choose`]) without recording anything: the generator records it with
    /// [`Library::commit_clip`] once the clip is encoded, so a failed or cancelled
    /// encode uses up nothing.
    pub fn plan_clip(
        &self,
        video: &Video,
        gop_secs: f64,
        want_gops: u32,
        min_gops: u32,
        rng: &mut impl rand::Rng,
    ) -> Result<Cut, DbError> {
        let used = self.library.ranges.used(&self.channel, video.id)?;
        Ok(ranges::choose(
            &used,
            video.info.duration,
            gop_secs,
            want_gops,
            min_gops,
            rng,
        ))
    }

    /// Records a clip cut from `video`: its range is used (all ranges start over
    /// first if the cut says so) and the video moves to the back of the LRU. One
    /// transaction, so a crash never leaves it half recorded.
    pub fn commit_clip(&self, video: &Video, cut: &Cut, gop_secs: f64) -> Result<(), DbError> {
        let range = cut.range(gop_secs, video.info.duration);
        self.library
            .store
            .record_cut(&self.channel, video.id, cut.reset, |used| {
                let mut now_used = if cut.reset { Vec::new() } else { used };
                now_used.push(range);
                ranges::merge(now_used)
            })?;
        if cut.reset {
            tracing::info!(file = %video.path.display(), "every part of this video was used: its ranges start over");
        }
        Ok(())
    }

    /// [`Library::plan_clip`] and [`Library::commit_clip`] at once.
    pub fn take_clip(
        &self,
        video: &Video,
        gop_secs: f64,
        want_gops: u32,
        min_gops: u32,
        rng: &mut impl rand::Rng,
    ) -> Result<Cut, DbError> {
        let cut = self.plan_clip(video, gop_secs, want_gops, min_gops, rng)?;
        self.commit_clip(video, &cut, gop_secs)?;
        Ok(cut)
    }

    /// The ranges of a video already cut into clips.
    pub fn used_ranges(&self, id: i64) -> Result<Vec<Range>, DbError> {
        self.library.ranges.used(&self.channel, id)
    }

    /// Counts of the channel's videos by state.
    pub fn counts(&self) -> Result<LibraryCounts, DbError> {
        self.library.store.counts(&*self.belongs())
    }

    /// Present videos in LRU order (next to be cut first), with their state: for the
    /// API and tests. `offset`/`limit` page through them.
    pub fn list(&self, offset: u64, limit: u64) -> Result<Vec<VideoStatus>, DbError> {
        self.library
            .store
            .list(&self.channel, &*self.belongs(), offset, limit)
    }
}

/// Music files under `folder`, sorted.
pub fn audio_files(folder: &Path) -> Vec<PathBuf> {
    scan::walk_all(&[folder.to_path_buf()], AUDIO_EXTENSIONS)
        .into_iter()
        .map(|f| f.path)
        .collect()
}

impl Library {
    /// Keeps the library current until cancelled: a first scan and probe, then a
    /// rescan on every change the watcher reports (debounced) and every
    /// `RESCAN_EVERY` in case the watcher misses some (network shares).
    pub async fn run(self: Arc<Self>, ff: Ffmpeg, cancel: tokio_util::sync::CancellationToken) {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
        let mut _watcher = watch::start(&self.folders(), tx.clone());
        // Polled only while the loop waits for a change, so it never delays a scan
        // or a probe (its ffmpeg runs niced, and pauses with it).
        let backfill = self.backfill_posters(&ff);
        tokio::pin!(backfill);
        let mut backfilling = true;
        loop {
            match self.rescan().await {
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "library scan failed"),
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                r = self.probe_pending(&ff) => if let Err(e) = r {
                    tracing::error!(error = %e, "recording probe results failed");
                },
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = rx.recv() => {}
                _ = self.refolder.notified() => {
                    _watcher = watch::start(&self.folders(), tx.clone());
                }
                _ = tokio::time::sleep(RESCAN_EVERY) => {}
                r = &mut backfill, if backfilling => {
                    backfilling = false;
                    match r {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(videos = n, "posters made for videos probed before posters existed"),
                        Err(e) => tracing::warn!(error = %e, "cannot list the videos that lack a poster"),
                    }
                }
            }
        }
    }
}

/// A full rescan this often, whatever the watcher says.
const RESCAN_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

#[cfg(test)]
mod tests;
