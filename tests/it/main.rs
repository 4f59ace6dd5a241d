//! End-to-end tests: one test binary. Everything is real: ffmpeg makes the media,
//! ffprobe judges it, HTTP goes over loopback. The HTTP families (`api`) and the
//! cache in front (`cache`: Debian's nginx with deploy/nginx-cache.conf) run the
//! whole server in process (`shufflecast::testkit::server`); the tests of the
//! binary itself (its command line, signals, crashes, restarts, packaging, real
//! players, Kodi, the source matrix) run it as a user would (`harness::Server`).

mod api;
mod cache;
mod cli;
mod crash;
mod engine;
mod fresh_air;
mod harness;
mod kodi;
mod limit;
mod matrix;
mod packaging;
mod players;
mod restart;
mod server;
