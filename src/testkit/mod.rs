//! The test kit: what unit tests, the end-to-end tests (`tests/it`) and the benches
//! share, so each helper exists once. Everything in it is real: ffmpeg makes the
//! media, ffprobe judges it, the server listens on loopback.
//!
//! Compiled under `cfg(test)` and with the `testkit` feature, which the crate's
//! dev-dependency on itself turns on for `tests/` and `benches/` (Cargo.toml); a
//! normal or release build never has it. A module of the crate rather than a
//! crate of its own, because it uses the crate's internals (the router's state,
//! `ClipRequest`'s fields) and adds methods to its types (`ClipRequest::test`).
//!
//! - [`media`]: lavfi sources, ffmpeg and ffprobe as judges, H.264 summaries.
//! - [`clip`]: [`clip::TEST_PROFILE`] and the `ClipRequest::test` builder.
//! - [`engine`]: clip and track sources, slate and silence, a running engine.
//! - [`server`]: the whole server in the test's own runtime on a loopback port.
//! - [`http`]: requests as a test makes them, and [`until`] for "wait until".
//! - [`disk`]: a real full disk on a small tmpfs.
//! - [`procfs`]: CPU time and memory of processes and the machine, for the benches.
//! - [`tier`]: the slow tier (`RUN_SLOW_TESTS`).
//! - [`netns`]: a network namespace of a test's own, for the discovery port.
//! - [`generated`]: generated documents and parts of documents, checked against
//!   the repository's files (and rewritten with `SHUFFLECAST_BLESS=1`).
//! - [`links`]: the relative links of the README and `docs/`, checked.
//! - [`house`]: the shape of the code (imports, layers, cycles, sizes), for the
//!   invariant tests in `src/lib.rs` and `examples/house.rs`.

pub mod clip;
pub mod disk;
pub mod engine;
pub mod generated;
pub mod guide;
pub mod house;
pub mod http;
pub mod links;
pub mod media;
pub mod netns;
pub mod procfs;
pub mod server;
pub mod tier;

pub use http::until;

/// How long a test waits for the server to make or air something (a chunk encoded,
/// a stream on air, a track measured): a deadline for a hang, not a speed. A busy
/// 2-core machine (the demo running beside, both cores taken) needs minutes where
/// a quiet one needs seconds; each test's own time limit still bounds the whole.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(300);
