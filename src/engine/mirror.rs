//! The disk mirror of a live window: each published segment and the playlist
//! written beside the others, for anyone who serves the folder with another server.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;

use super::live::PLAYLIST_NAME;

/// Disk writes for one publish: the new segment in every rung, the playlist
/// (beside each rung's segments), and deletions. The top rung's files are in the
/// folder itself, each lower rung's in a folder of its own (`480p/`), so a rung's
/// playlist names its segments by the same relative names.
pub(crate) struct MirrorJob {
    pub(super) dir: Option<PathBuf>,
    pub(super) failing: Arc<AtomicBool>,
    /// The folders of the rungs, relative: "" for the top, then `480p`, ...
    pub(super) rungs: Vec<String>,
    /// The new segment's name and its bytes in each rung (in `rungs`' order).
    pub(super) write: Option<(String, Vec<Bytes>)>,
    pub(super) playlist: Bytes,
    /// Segments that left the window, by name (in every rung).
    pub(super) remove: Vec<String>,
}

impl MirrorJob {
    /// Does the writes; segments first, then the playlists that name them, each
    /// through a temporary file so a reader never sees half a file. A write that
    /// fails (a full disk) leaves nothing behind, and the stream goes on from
    /// memory: the failure is logged once, and so is the recovery.
    pub(crate) fn run(self) {
        let Some(dir) = self.dir else { return };
        let write = |rung: &str, name: &str, data: &[u8]| -> std::io::Result<()> {
            let folder = dir.join(rung);
            if !rung.is_empty() {
                std::fs::create_dir_all(&folder)?;
            }
            let tmp = folder.join(format!(".{name}.tmp"));
            let r =
                std::fs::write(&tmp, data).and_then(|()| std::fs::rename(&tmp, folder.join(name)));
            if r.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            r
        };
        // Old segments first: on a full disk they free the room for the new one.
        for name in &self.remove {
            for rung in &self.rungs {
                let _ = std::fs::remove_file(dir.join(rung).join(name));
            }
        }
        let mut result = Ok(());
        if let Some((name, data)) = &self.write {
            for (rung, bytes) in self.rungs.iter().zip(data) {
                result = result.and_then(|()| write(rung, name, bytes));
            }
        }
        // The playlists only name segments that are on disk.
        if result.is_ok() {
            for rung in &self.rungs {
                result = result.and_then(|()| write(rung, PLAYLIST_NAME, &self.playlist));
            }
        }
        match result {
            Err(e) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    let full = e.raw_os_error() == Some(libc::ENOSPC)
                        || e.kind() == std::io::ErrorKind::StorageFull;
                    let what = if full {
                        "the data disk is full"
                    } else {
                        "cannot write"
                    };
                    tracing::warn!(error = %e, dir = %dir.display(), "{what}: segments are no longer mirrored to disk (the stream goes on from memory) until a write works again");
                }
            }
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(dir = %dir.display(), "segments are mirrored to disk again");
                }
            }
        }
    }
}
