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
//! - [`app`]: wires the pieces together; [`app::serve`] is the testable entry point.
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
pub mod transcode;
