//! The test kit: what unit tests, the end-to-end tests (`tests/it`) and the benches
//! share, so each helper exists once. Everything in it is real: ffmpeg makes the
//! media, ffprobe judges it, the server listens on loopback.
//!
//! Compiled under `cfg(test)` and with the `testkit` feature, which the crate's
//! dev-dependency on itself turns on for `tests/` and `benches/` (Cargo.toml); a
//! normal or release build never has it. A feature rather than a separate crate,
//! because the kit uses the crate's internals (its process runner, `TEST_PROFILE`).
//!
//! - [`server`]: the whole server in the test's own runtime on a loopback port.
//! - [`http`]: requests as a test makes them, and [`until`] for "wait until".

pub mod http;
pub mod server;

pub use http::until;
