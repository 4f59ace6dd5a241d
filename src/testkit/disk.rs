//! A real full disk (ENOSPC), on a small tmpfs.

use std::path::{Path, PathBuf};

/// A small tmpfs mounted on a fresh folder (unmounted on drop), to meet a real
/// full disk (ENOSPC). `None` where mounting is not permitted (not root, a
/// container without CAP_SYS_ADMIN): the tests that need one then say so and pass.
pub struct Tmpfs {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `kib` KiB.
    pub fn mount(kib: u64) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().ok()?;
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).ok()?;
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(&path)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("cannot mount a tmpfs here: the full-disk part of this test is skipped");
            return None;
        }
        Some(Tmpfs { _dir: dir, path })
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Fills the disk with `.filler` until at most `leave` bytes are free.
    pub fn fill(&self, leave: u64) {
        use std::io::Write;
        let mut f = std::fs::File::create(self.path.join(".filler")).unwrap();
        let block = vec![0u8; 4096];
        let mut written = 0u64;
        loop {
            match f.write(&block) {
                Ok(0) | Err(_) => break,
                Ok(n) => written += n as u64,
            }
        }
        drop(f);
        let keep = written.saturating_sub(leave);
        std::fs::OpenOptions::new()
            .write(true)
            .open(self.path.join(".filler"))
            .unwrap()
            .set_len(keep)
            .unwrap();
    }

    /// Frees what [`Tmpfs::fill`] took.
    pub fn free(&self) {
        let _ = std::fs::remove_file(self.path.join(".filler"));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}
