//! End-to-end tests: one test binary, sharing the harness in `harness.rs`.
//! Everything is real: ffmpeg makes the media, ffprobe judges it, the server
//! listens on a free loopback port.

mod api;
mod cli;
mod crash;
mod engine;
mod harness;
mod matrix;
mod packaging;
mod players;
mod restart;
mod server;
