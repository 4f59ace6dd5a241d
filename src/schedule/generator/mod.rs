//! The chunk generator: keeps never-aired chunks ready ahead of the stream, each a
//! montage of clips cut from the library in strict LRU order (each from a different
//! video, each from a part of its video never used before), encoded once by ffmpeg.
//!
//! A chunk being built is a job recorded in the database: a restart finishes it.
//! Clips are handed to the playout one by one as they finish, so a fresh start goes
//! on air after one clip, not one chunk. A generation that cannot progress (no usable
//! video, every encode failing) stops in a `Stalled` state with the reason and waits
//! for the library to change or an operator to ask again; it never spins.
//!
//! [`handle`] holds what callers steer and watch it with; [`shared`] the state its
//! loop and jobs share; [`scheduler`] the loop (the [`Generator`] itself); [`job`]
//! one chunk; [`clip`] one clip of it.

mod clip;
mod handle;
mod job;
mod scheduler;
mod shared;

pub use clip::clip_frames;
pub use handle::{
    GeneratorCommand, GeneratorHandle, GeneratorSettings, GeneratorState, GeneratorStatus,
    JobStatus,
};
pub use scheduler::Generator;

#[cfg(test)]
mod tests;
