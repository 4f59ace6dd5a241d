//! Watching the media folders, so added, removed and renamed files are picked up
//! while running. Events are debounced and only trigger a rescan: the scan is the
//! one place that decides what changed, so a missed or odd event costs nothing.

use std::path::PathBuf;
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc;

/// Events closer than this are one change (a copy in progress writes many times).
const DEBOUNCE: Duration = Duration::from_secs(2);

/// Keeps the watch alive while held.
pub struct Watch {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
}

/// Watches `folders` recursively and sends on `changed` after each burst of
/// changes. Returns `None` (and logs why) when the platform refuses, e.g. when the
/// inotify watch limit is reached: the periodic rescan still finds changes then.
pub fn start(folders: &[PathBuf], changed: mpsc::Sender<()>) -> Option<Watch> {
    let handler = move |res: DebounceEventResult| match res {
        Ok(events) => {
            let relevant = events.iter().any(|e| !e.kind.is_access());
            if relevant {
                // Full channel: a rescan is already pending, which covers this one.
                let _ = changed.try_send(());
            }
        }
        Err(errors) => {
            for e in errors {
                tracing::warn!(error = %e, "folder watcher");
            }
            let _ = changed.try_send(());
        }
    };
    let mut debouncer = match new_debouncer(DEBOUNCE, None, handler) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch folders; relying on periodic rescans");
            return None;
        }
    };
    for f in folders {
        if let Err(e) = debouncer.watch(f, RecursiveMode::Recursive) {
            tracing::warn!(folder = %f.display(), error = %e, "cannot watch folder; relying on periodic rescans");
        }
    }
    Some(Watch {
        _debouncer: debouncer,
    })
}
