//! The disk mirror of a live window: each published segment and the playlist
//! written beside the others, for anyone who serves the folder with another server.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;

use super::live::PLAYLIST_NAME;

/// Disk writes for one publish: the new segment of the top rung, the playlist
/// that names it, and deletions. Only the top rung is mirrored: the folder is what
/// another web server can serve as the channel's stream, as it could before the
/// ladder. The lower rungs are served from memory (and through any cache in front):
/// mirroring them tripled the files made and deleted per segment, which is most of
/// what airing costs where creating a file is dear (docs/figures.md, the ladder).
pub(crate) struct MirrorJob {
    pub(super) dir: Option<PathBuf>,
    pub(super) failing: Arc<AtomicBool>,
    /// The new segment's name and its bytes.
    pub(super) write: Option<(String, Bytes)>,
    pub(super) playlist: Bytes,
    /// Segments that left the window, by name.
    pub(super) remove: Vec<String>,
}

impl MirrorJob {
    /// Does the writes; the segment first, then the playlist that names it, each
    /// through a temporary file so a reader never sees half a file. A write that
    /// fails (a full disk) leaves nothing behind, and the stream goes on from
    /// memory: the failure is logged once, and so is the recovery.
    pub(crate) fn run(self) {
        let Some(dir) = self.dir else { return };
        let write = |name: &str, data: &[u8]| -> std::io::Result<()> {
            let tmp = dir.join(format!(".{name}.tmp"));
            let r = std::fs::write(&tmp, data).and_then(|()| std::fs::rename(&tmp, dir.join(name)));
            if r.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            r
        };
        // Old segments first: on a full disk they free the room for the new one.
        for name in &self.remove {
            let _ = std::fs::remove_file(dir.join(name));
        }
        let mut result = Ok(());
        if let Some((name, data)) = &self.write {
            result = write(name, data);
        }
        // The playlist only names segments that are on disk.
        result = result.and_then(|()| write(PLAYLIST_NAME, &self.playlist));
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
