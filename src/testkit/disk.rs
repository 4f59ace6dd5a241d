//! A real full disk (ENOSPC), on a small tmpfs.

use std::path::{Path, PathBuf};

/// A small tmpfs mounted on a fresh folder (unmounted on drop), to meet a real
/// full disk (ENOSPC). Mounting needs root or CAP_SYS_ADMIN, as the tests have
/// in CI (scripts/test.sh in a container); a test that needs it fails without.
pub struct Tmpfs {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `kib` KiB; panics, saying why, where that is not permitted.
    pub fn mount(kib: u64) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k"), "tmpfs"])
            .arg(&path)
            .output()
            .unwrap_or_else(|e| panic!("cannot run mount ({e}): util-linux is needed"));
        assert!(
            out.status.success(),
            "cannot mount a tmpfs to meet a full disk: this test needs root or \
             CAP_SYS_ADMIN (as in CI): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Tmpfs { _dir: dir, path }
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
