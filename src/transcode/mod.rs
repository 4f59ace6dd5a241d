//! The only module of the crate that spawns processes: ffmpeg and ffprobe.
//!
//! Everything the channel airs is encoded here, once, ahead of time, to one
//! [`OutputProfile`] with one [`Encoder`], so that the splicer can join clips
//! without re-encoding. That only works if every clip carries byte-identical
//! SPS/PPS and starts on an IDR frame: [`clip_args`] is where that is decided.
//!
//! Processes never go through a shell, never read stdin, are killed (and reaped)
//! when their future is dropped, die with the server even when it is killed, and
//! have both pipes drained while they run (see `run`).
//! Outputs are written under a hidden temporary name beside the target and renamed
//! on success, so a half-written file never exists under its real name.
//!
//! The files, each using only those before it: `error`; `run` (processes,
//! children, temporary outputs); `profile` (what clips are encoded to); `ffmpeg`
//! (the located programs); `look`, `encoder` and `probe`; `filters` (a source's
//! normalization); `picture`; `clip` (a clip's arguments); `encode` (running
//! one); `slate`, `music`, `remux` and `demo`; `verify` (the retry policy).

mod clip;
pub mod demo;
mod encode;
mod encoder;
mod error;
mod ffmpeg;
mod filters;
mod ladder;
mod look;
mod music;
pub mod picture;
mod probe;
mod profile;
mod remux;
mod run;
mod slate;
pub mod verify;

pub use clip::{ClipRequest, Fix, RungFiles, RungOut, clip_args};
pub use demo::{DemoLibrary, make_demo_library, make_first_demo_video};
pub use encode::EncodeProgress;
pub use encoder::h264_level;
pub use error::{TranscodeError, is_disk_full_io};
pub use ffmpeg::{DEFAULT_STALL_LIMIT, Ffmpeg, file_stamp, fnv1a};
pub use ladder::{Ladder, MIN_RUNG_HEIGHT, ParseLadderError, Rung, rung_profile};
pub use look::{ColorGrade, Look, ParseColorGradeError, ParseWatermarkError, WatermarkMode};
pub use music::{DEFAULT_MUSIC_LUFS, MUSIC_KBPS, MUSIC_SAMPLE_RATE};
pub use probe::{ColorTags, ProbeInfo};
pub use profile::{Encoder, HwAccel, OutputProfile, ParseHwAccelError};
pub use run::{process_counts, remove_partials, stop_children};
