//! shufflecast: a never-ending TV channel from a folder of videos.
//!
//! # Layout
//!
//! Data flows one way: video folders → [`library`] (what is there) → [`schedule`]
//! (what to cut next) → [`transcode`] (ffmpeg encodes clips once, ahead of time, to
//! one output profile) → [`channel`] (our splicer re-stamps the clips' access units
//! onto one continuous timeline, muxes the music bed in, and cuts HLS segments) →
//! [`http`] (playlist and segments to viewers).
//!
//! - [`config`]: raw flags, environment and `.env` → a validated [`config::Config`].
//! - [`media`]: pure media code: MPEG-TS mux/demux, H.264 and ADTS parsing, HLS
//!   playlists, 90 kHz timestamps. No IO, no tokio.
//! - [`transcode`]: the only module that spawns processes (ffmpeg, ffprobe).
//! - [`app`]: wires the pieces together; [`app::App`] (build, then run) is the
//!   testable entry point.
//!
//! See `docs/architecture.md` for the invariants.

#![warn(missing_docs)]

pub mod app;
pub mod channel;
pub mod config;
pub mod db;
pub mod http;
pub mod library;
pub mod media;
pub mod schedule;
pub mod settings;
pub mod stats;
pub mod system;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod transcode;

#[cfg(test)]
mod tests {
    /// One lock policy (docs/architecture.md, Invariants): shared state is guarded by
    /// `parking_lot` locks, which do not poison, so a panic while one is held cannot
    /// make every later request panic. Fails on std's `Mutex`/`RwLock` or on
    /// unwrapping a lock anywhere in `src/`. (The patterns are split so that this
    /// file does not match itself.)
    #[test]
    fn one_lock_policy_parking_lot_everywhere() {
        let std_sync = concat!("std", "::sync");
        let banned = [
            concat!(".lock", "().unwrap"),
            concat!(".lock", "().expect"),
            concat!(".read", "().unwrap"),
            concat!(".write", "().unwrap"),
            concat!("Poison", "Error"),
            concat!("into_inner", "())"),
        ];
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        let mut files = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        assert!(files.len() > 20, "src/ found");
        let mut bad = Vec::new();
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            for (i, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                let std_lock =
                    code.contains(std_sync) && (code.contains("Mutex") || code.contains("RwLock"));
                if std_lock || banned.iter().any(|b| code.contains(b)) {
                    bad.push(format!("{}:{}: {}", f.display(), i + 1, code));
                }
            }
        }
        assert!(
            bad.is_empty(),
            "use parking_lot's Mutex/RwLock (they do not poison):\n{}",
            bad.join("\n")
        );
    }
}
