//! Walking media folders and reconciling what is there with the database.

use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use crate::db::DbError;
use crate::db::scan::{FileRow, ScanTx};

/// A media file found by a walk.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// Where it is.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch (0 when unknown).
    pub mtime_ns: i64,
}

/// What a scan changed.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ScanReport {
    /// Files new to the library (or back after being removed).
    pub added: usize,
    /// Files gone since the last scan.
    pub removed: usize,
    /// Files moved or renamed: same size and modification time under a new path.
    pub renamed: usize,
    /// Files whose content changed (size or modification time): probed again.
    pub changed: usize,
    /// Files as they were.
    pub unchanged: usize,
    /// The lowest id of the files that came back or moved: channels look at their
    /// never-used videos again from there (see `db::lru::Frontier`).
    #[serde(skip)]
    pub revisit_from: Option<i64>,
    /// How long the reconciliation took, its transaction included (set by the caller).
    #[serde(skip)]
    pub elapsed: Duration,
    /// Top folders that could not be read, each with how many of the table's files
    /// lie under it: they are kept, marked missing, until the folder returns.
    #[serde(skip)]
    pub unreachable: Vec<(PathBuf, usize)>,
    /// Files marked missing by this scan because their folder could not be read.
    #[serde(skip)]
    pub went_missing: usize,
}

/// What a walk found, and the top folders it could not read.
#[derive(Clone, Debug, Default)]
pub struct Walk {
    /// Every file found, sorted by path.
    pub files: Vec<Found>,
    /// Top folders that are gone, unreadable, or empty (what an unmounted share's
    /// mount point looks like): their files are not taken as deleted.
    pub unreachable: Vec<PathBuf>,
}

/// [`walk_all`], also telling which of `folders` could not be read.
pub fn walk_roots(folders: &[PathBuf], exts: &[&str]) -> Walk {
    let mut w = Walk::default();
    for f in folders {
        let reachable = std::fs::read_dir(f).is_ok_and(|mut entries| entries.next().is_some());
        if reachable {
            walk(f, exts, 0, &mut w.files);
        } else {
            w.unreachable.push(f.clone());
        }
    }
    w.files.sort_by(|a, b| a.path.cmp(&b.path));
    w.files.dedup_by(|a, b| a.path == b.path);
    w
}

/// The top folders last seen unreachable, so each disappearance is logged once.
#[derive(Debug, Default)]
pub struct Reachability {
    down: Mutex<HashSet<PathBuf>>,
}

impl Reachability {
    /// Logs the folders of `report` that went away since the last scan, and those
    /// of `roots` that came back. `kind` is "video" or "music", `noun` "videos" or "tracks".
    pub fn note(&self, kind: &str, noun: &str, roots: &[PathBuf], report: &ScanReport) {
        let mut down = self.down.lock();
        for (root, n) in &report.unreachable {
            // An empty folder that held nothing (one made for files to come, as
            // the demo's music is) has nothing to keep: no warning.
            if *n == 0 && root.is_dir() {
                continue;
            }
            if down.insert(root.clone()) {
                tracing::warn!(
                    folder = %root.display(),
                    "{kind} folder {} is not reachable; its {n} {noun} are kept as missing until it returns",
                    root.display()
                );
            }
        }
        for root in roots {
            if !report.unreachable.iter().any(|(r, _)| r == root) && down.remove(root) {
                tracing::info!(folder = %root.display(), "{kind} folder {} is back", root.display());
            }
        }
    }

    /// Whether `root` was unreachable at the last scan.
    pub fn is_down(&self, root: &Path) -> bool {
        self.down.lock().contains(root)
    }
}

/// Every file under `folders` with one of `exts` (any case), sorted by path.
/// Hidden files and folders are skipped (they include our own temporary files);
/// symlinks are followed, with a depth limit against loops.
pub fn walk_all(folders: &[PathBuf], exts: &[&str]) -> Vec<Found> {
    walk_roots(folders, exts).files
}

fn has_extension(path: &Path, exts: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

fn walk(dir: &Path, exts: &[&str], depth: usize, out: &mut Vec<Found>) {
    if depth > 32 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        tracing::warn!(folder = %dir.display(), "cannot read folder");
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = e.path();
        // Follows symlinks: a linked file or folder counts as if it were here.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            walk(&path, exts, depth + 1, out);
        } else if meta.is_file() && has_extension(&path, exts) {
            if path.to_str().is_none() {
                tracing::warn!(file = %path.display(), "skipping a file whose name is not UTF-8");
                continue;
            }
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i64);
            out.push(Found {
                path,
                size: meta.len(),
                mtime_ns,
            });
        }
    }
}

pub use crate::db::scan::Table;

/// Reconciles the table of `tx` with the files found. Files under an
/// `unreachable` folder are marked missing (not removed: history and used ranges
/// stay, and they come back with their ids when the folder returns). A changed
/// video is probed again and its used ranges cleared; a changed track is encoded
/// again (its cache name changes).
pub fn reconcile(
    tx: &ScanTx<'_>,
    files: &[Found],
    unreachable: &[PathBuf],
    now: i64,
) -> Result<ScanReport, DbError> {
    let mut rows: HashMap<String, FileRow> = tx
        .rows()?
        .into_iter()
        // Keyed by path, which the row then no longer needs (no copy of 10,000 paths).
        .map(|mut r| (std::mem::take(&mut r.path), r))
        .collect();
    let mut report = ScanReport::default();
    let missing = set_aside_unreachable(&mut rows, unreachable, &mut report);
    let new_files = match_in_place(tx, files, &mut rows, &mut report)?;
    // Rows left over are files no longer where they were: moved (same size and
    // modification time turn up under a new path) or removed.
    let mut gone: HashMap<(u64, i64), Vec<i64>> = HashMap::new();
    for row in rows.values().filter(|r| r.present) {
        gone.entry((row.size, row.mtime_ns))
            .or_default()
            .push(row.id);
    }
    for f in new_files {
        let twin = gone
            .get_mut(&(f.size, f.mtime_ns))
            .and_then(|ids| ids.pop())
            .filter(|_| f.mtime_ns != 0);
        if let Some(id) = twin {
            tx.renamed(id, &f.path)?;
            report.renamed += 1;
            report.revisit(id);
        } else {
            // Replaces a removed row that still holds the path.
            tx.add(&f.path, f.size, f.mtime_ns, now)?;
            report.added += 1;
        }
    }
    for ids in gone.values() {
        for id in ids {
            tx.missing(*id)?;
            report.removed += 1;
        }
    }
    for id in &missing {
        tx.missing(*id)?;
    }
    report.went_missing = missing.len();
    Ok(report)
}

/// Takes the rows under a folder that cannot be read out of `rows`: missing, and
/// never a rename's twin. Returns the ids of those that were present.
fn set_aside_unreachable(
    rows: &mut HashMap<String, FileRow>,
    unreachable: &[PathBuf],
    report: &mut ScanReport,
) -> Vec<i64> {
    let mut missing = Vec::new();
    for root in unreachable {
        let under: Vec<String> = rows
            .keys()
            .filter(|p| Path::new(p.as_str()).starts_with(root))
            .cloned()
            .collect();
        report.unreachable.push((root.clone(), under.len()));
        for p in under {
            if let Some(row) = rows.remove(&p)
                && row.present
            {
                missing.push(row.id);
            }
        }
    }
    missing
}

impl ScanReport {
    /// Row `id` came back or moved: see [`ScanReport::revisit_from`].
    fn revisit(&mut self, id: i64) {
        self.revisit_from = Some(self.revisit_from.map_or(id, |r| r.min(id)));
    }
}

/// Matches each file found with the row of its path (taken out of `rows`):
/// unchanged, back, or changed. Returns the files no row has the path of.
fn match_in_place<'f>(
    tx: &ScanTx<'_>,
    files: &'f [Found],
    rows: &mut HashMap<String, FileRow>,
    report: &mut ScanReport,
) -> Result<Vec<&'f Found>, DbError> {
    let mut new_files = Vec::new();
    for f in files {
        let key = f.path.to_str().expect("walk keeps UTF-8 paths only");
        match rows.remove(key) {
            Some(row) if row.size == f.size && row.mtime_ns == f.mtime_ns => {
                if row.present {
                    report.unchanged += 1;
                } else {
                    tx.back(row.id)?;
                    report.added += 1;
                    report.revisit(row.id);
                }
            }
            Some(row) => {
                tx.changed(row.id, f.size, f.mtime_ns)?;
                if tx.table() == Table::Videos {
                    tx.clear_ranges(row.id)?;
                }
                // Back after being removed, and different: new to the channel.
                if row.present {
                    report.changed += 1;
                } else {
                    report.added += 1;
                }
            }
            None => new_files.push(f),
        }
    }
    Ok(new_files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_match_in_any_case() {
        let v = super::super::VIDEO_EXTENSIONS;
        assert!(has_extension(Path::new("a/B.MP4"), v));
        assert!(has_extension(Path::new("x.Mkv"), v));
        assert!(has_extension(Path::new("x.m2ts"), v));
        assert!(!has_extension(Path::new("x.txt"), v));
        assert!(!has_extension(Path::new("mp4"), v));
        assert!(has_extension(
            Path::new("song.FLAC"),
            super::super::AUDIO_EXTENSIONS
        ));
    }

    #[test]
    fn walk_is_recursive_sorted_and_skips_hidden_files() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("sub/deeper")).unwrap();
        std::fs::create_dir_all(d.path().join(".trash")).unwrap();
        for f in [
            "a.mp4",
            "sub/b.MOV",
            "sub/deeper/c.webm",
            "sub/notes.txt",
            ".hidden.mp4",
            "sub/.x.mp4.tmp",
            ".trash/d.mp4",
        ] {
            std::fs::write(d.path().join(f), b"x").unwrap();
        }
        let names: Vec<String> =
            walk_all(&[d.path().to_path_buf()], super::super::VIDEO_EXTENSIONS)
                .iter()
                .map(|f| f.path.strip_prefix(d.path()).unwrap().display().to_string())
                .collect();
        assert_eq!(names, ["a.mp4", "sub/b.MOV", "sub/deeper/c.webm"]);
    }
}
