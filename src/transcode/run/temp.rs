//! Outputs written under a hidden temporary name beside their target and renamed
//! when whole ([`TempOut`]), so a half-written file never exists under its real
//! name; and the sweep of those a killed run left behind ([`remove_partials`]).

use std::ffi::{OsStr, OsString};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::transcode::error::TranscodeError;

/// A hidden temporary file beside a target path, removed on drop unless committed.
pub(crate) struct TempOut {
    tmp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl TempOut {
    /// Reserves `.<name>.<pid>-<n>.part` beside `target`, creating the directory if needed.
    pub(crate) async fn beside(target: &Path) -> Result<TempOut, TranscodeError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = target.file_name().ok_or_else(|| {
            TranscodeError::io(
                format!("output path {} has no file name", target.display()),
                ErrorKind::InvalidInput.into(),
            )
        })?;
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| TranscodeError::io(format!("creating {}", dir.display()), e))?;
        let mut tmp_name = OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(
            ".{}-{}.part",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        Ok(TempOut {
            tmp: dir.join(tmp_name),
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// The temporary path to write to.
    pub(crate) fn path(&self) -> &Path {
        &self.tmp
    }

    /// Renames the temporary file to the target.
    pub(crate) async fn commit(mut self) -> Result<(), TranscodeError> {
        tokio::fs::rename(&self.tmp, &self.target)
            .await
            .map_err(|e| {
                TranscodeError::io(
                    format!(
                        "renaming {} to {}",
                        self.tmp.display(),
                        self.target.display()
                    ),
                    e,
                )
            })?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for TempOut {
    fn drop(&mut self) {
        if !self.committed {
            // Synchronous on purpose: Drop cannot await, and unlinking one file is quick.
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// True for a name [`TempOut::beside`] makes: `.<name>.<pid>-<n>.part`.
fn is_partial(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    let Some(rest) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".part")) else {
        return false;
    };
    let Some((target, tag)) = rest.rsplit_once('.') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    !target.is_empty()
        && tag
            .split_once('-')
            .is_some_and(|(pid, n)| digits(pid) && digits(n))
}

/// Removes every partial output ([`TempOut`]) under `dir`, sub-folders included
/// (symbolic links are not followed): what a run that died without stopping its
/// encodes (kill -9, a crash) left behind. Call it before anything runs that may
/// be writing one. Returns the files removed.
pub fn remove_partials(dir: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                todo.push(e.path());
            } else if kind.is_file()
                && is_partial(&e.file_name())
                && std::fs::remove_file(e.path()).is_ok()
            {
                removed.push(e.path());
            }
        }
    }
    removed
}
#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn temp_out_is_removed_unless_committed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("sub/out.ts");
        let t = TempOut::beside(&target).await.unwrap();
        let name = t.path().file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".out.ts.") && name.ends_with(".part"),
            "{name}"
        );
        std::fs::write(t.path(), b"x").unwrap();
        let tmp = t.path().to_path_buf();
        drop(t);
        assert!(!tmp.exists());

        let t = TempOut::beside(&target).await.unwrap();
        std::fs::write(t.path(), b"y").unwrap();
        t.commit().await.unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"y");
    }

    #[test]
    fn partial_names_are_temp_out_names_only() {
        for yes in [".clip-0003.ts.812-0.part", ".a.b.aac.1-22.part"] {
            assert!(is_partial(OsStr::new(yes)), "{yes}");
        }
        for no in [
            "clip-0003.ts",
            ".clip.ts.part",
            ".clip.ts.12.part",
            ".clip.ts.x-1.part",
            "..1-2.part",
            "clip.ts.1-2.part",
            ".clip.ts.1-2.partial",
        ] {
            assert!(!is_partial(OsStr::new(no)), "{no}");
        }
    }

    #[test]
    fn remove_partials_removes_them_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("chunks/c1");
        std::fs::create_dir_all(&deep).unwrap();
        for f in [
            "chunks/c1/.clip-0001.ts.77-3.part",
            "chunks/c1/clip-0000.ts",
            "cache/.slate-x.ts.77-0.part",
            "keep.part",
        ] {
            let path = dir.path().join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        }
        let mut removed = remove_partials(dir.path());
        removed.sort();
        assert_eq!(
            removed,
            [
                dir.path().join("cache/.slate-x.ts.77-0.part"),
                dir.path().join("chunks/c1/.clip-0001.ts.77-3.part"),
            ]
        );
        assert!(deep.join("clip-0000.ts").is_file());
        assert!(dir.path().join("keep.part").is_file());
    }
}
