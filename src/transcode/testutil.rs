//! Helpers for the tests of this module: real ffmpeg, tiny media, bitstream checks.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::OnceCell;

use super::Ffmpeg;
use super::run::{self, file_arg, os_args};

const LIMIT: Duration = Duration::from_secs(120);

/// The located ffmpeg, one thread per process so parallel tests fit on a small machine.
pub(crate) async fn ff() -> Ffmpeg {
    static FF: OnceCell<Ffmpeg> = OnceCell::const_new();
    FF.get_or_init(|| async {
        Ffmpeg::locate()
            .await
            .expect("ffmpeg installed")
            .with_threads(1)
    })
    .await
    .clone()
}

/// Arguments from string literals.
pub(crate) fn args<const N: usize>(a: [&str; N]) -> Vec<OsString> {
    os_args(a)
}

/// Runs ffmpeg quietly with `a`, overwriting outputs; panics on failure.
pub(crate) async fn ffmpeg(a: Vec<OsString>) -> Vec<u8> {
    let mut all = args(["-nostdin", "-v", "error", "-y"]);
    all.extend(a);
    run::run(ff().await.ffmpeg_path(), &all, LIMIT)
        .await
        .unwrap_or_else(|e| panic!("ffmpeg {all:?}: {e}"))
}

/// Writes a small H.264 video made by the lavfi source `lavfi` (e.g.
/// `testsrc2=size=320x180:rate=30:duration=6`) to `path`; blocking, for tests of
/// other modules that need a real source video.
pub(crate) fn make_video(path: &Path, lavfi: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-f", "lavfi", "-i", lavfi])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-threads",
            "1",
            "-y",
        ])
        .arg(path)
        .status()
        .expect("ffmpeg installed");
    assert!(status.success(), "ffmpeg made no {}", path.display());
}

/// ffprobe's streams of `path`, with frames counted (`nb_read_frames`).
pub(crate) async fn streams(path: &Path) -> Vec<Value> {
    let mut a = args([
        "-v",
        "error",
        "-count_frames",
        "-show_streams",
        "-show_format",
    ]);
    a.extend(args(["-print_format", "json"]));
    a.push(file_arg(path));
    let out = run::run(ff().await.ffprobe_path(), &a, LIMIT)
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    v["streams"].as_array().cloned().unwrap_or_default()
}

/// ffprobe's format name of `path`.
pub(crate) async fn format_name(path: &Path) -> String {
    let mut a = args(["-v", "error", "-show_format", "-print_format", "json"]);
    a.push(file_arg(path));
    let out = run::run(ff().await.ffprobe_path(), &a, LIMIT)
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    v["format"]["format_name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// What the H.264 elementary stream of a clip holds.
#[derive(Debug)]
pub(crate) struct H264Summary {
    /// Access units (frames), counted by access unit delimiters.
    pub access_units: usize,
    /// Indexes (decode order) of the access units holding an IDR slice.
    pub idr_positions: Vec<usize>,
    /// Distinct SPS NAL units, byte for byte.
    pub sps: BTreeSet<Vec<u8>>,
    /// Distinct PPS NAL units, byte for byte.
    pub pps: BTreeSet<Vec<u8>>,
}

/// Extracts the raw H.264 stream of an MPEG-TS file with ffmpeg and reads its NAL units.
pub(crate) async fn h264_summary(path: &Path) -> H264Summary {
    let mut a = args(["-i"]);
    a.push(file_arg(path));
    a.extend(args([
        "-map", "0:v:0", "-c:v", "copy", "-f", "h264", "pipe:1",
    ]));
    let es = ffmpeg(a).await;
    let mut s = H264Summary {
        access_units: 0,
        idr_positions: Vec::new(),
        sps: BTreeSet::new(),
        pps: BTreeSet::new(),
    };
    for nal in nal_units(&es) {
        match nal[0] & 0x1f {
            9 => s.access_units += 1,
            5 => {
                let au = s
                    .access_units
                    .checked_sub(1)
                    .expect("an AUD before the first slice");
                if s.idr_positions.last() != Some(&au) {
                    s.idr_positions.push(au);
                }
            }
            7 => {
                s.sps.insert(nal.to_vec());
            }
            8 => {
                s.pps.insert(nal.to_vec());
            }
            _ => {}
        }
    }
    s
}

/// Splits an Annex B byte stream into NAL units (without start codes or trailing zeros).
pub(crate) fn nal_units(es: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= es.len() {
        if es[i] == 0 && es[i + 1] == 0 && es[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::new();
    for (n, &s) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(es.len(), |&next| next - 3);
        let mut nal = &es[s..end];
        while let [rest @ .., 0] = nal {
            nal = rest;
        }
        if !nal.is_empty() {
            nals.push(nal);
        }
    }
    nals
}

/// The first frame of a video as 8-bit gray pixels, row by row.
pub(crate) async fn first_frame_gray(path: &Path) -> Vec<u8> {
    let mut a = args(["-i"]);
    a.push(file_arg(path));
    a.extend(args([
        "-frames:v",
        "1",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "gray",
        "pipe:1",
    ]));
    ffmpeg(a).await
}

#[test]
fn splits_nal_units() {
    let es = [
        0, 0, 0, 1, 9, 0x10, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 0, 1, 0x68, 3,
    ];
    assert_eq!(
        nal_units(&es),
        vec![&[9, 0x10][..], &[0x67, 1, 2], &[0x68, 3]]
    );
}

/// A small tmpfs mounted on a fresh folder (unmounted on drop), to meet a real
/// full disk (ENOSPC). `None` where mounting is not permitted (not root, a
/// container without CAP_SYS_ADMIN): the tests that need one then say so and pass.
pub(crate) struct Tmpfs {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
}

impl Tmpfs {
    pub(crate) fn mount(kib: u64) -> Option<Tmpfs> {
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

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Fills the disk with `.filler` until at most `leave` bytes are free.
    pub(crate) fn fill(&self, leave: u64) {
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
    pub(crate) fn free(&self) {
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
