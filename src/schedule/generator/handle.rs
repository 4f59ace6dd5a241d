//! What a generator is steered and watched through: its settings, the commands it
//! takes, the status it publishes, and the handle that holds all three.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use crate::transcode::{Encoder, OutputProfile};

/// What the generator needs to know.
#[derive(Clone, Debug)]
pub struct GeneratorSettings {
    /// Folder under which each chunk gets its own folder.
    pub chunks_dir: PathBuf,
    /// Folder where the reference parameter sets of the profile and encoder are
    /// cached (every clip is checked against them).
    pub cache_dir: PathBuf,
    /// What clips are encoded to.
    pub profile: OutputProfile,
    /// The video encoder ffmpeg uses.
    pub encoder: Encoder,
    /// Chunks built at the same time.
    pub parallel: usize,
    /// Seed of the clip choices, for reproducible runs; random when `None`.
    pub seed: Option<u64>,
    /// The channel's settings: clip lengths, chunks, look, schedule. Replaced whole
    /// by a live settings change.
    pub channel: crate::settings::Channel,
}

impl GeneratorSettings {
    /// The profiles of the ladder's rungs below the top one (`profile`).
    pub fn lower_rungs(&self) -> Vec<OutputProfile> {
        let mut all = self.channel.renditions.profiles(&self.profile);
        all.remove(0);
        all
    }
}

/// What the generator is doing, for the API, the UI and tests.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum GeneratorState {
    /// Enough chunks are ready.
    #[default]
    Idle,
    /// Jobs are running.
    Generating,
    /// Waiting for the library to find a usable video.
    WaitingForLibrary,
    /// Cannot make progress; waits for the library to change or a new request.
    Stalled {
        /// Why, in words.
        reason: String,
    },
    /// Stopped by an operator until asked again or the next scheduled run; the
    /// stream goes on re-airing the chunks it has.
    Stopped,
}

/// Progress of one job (one chunk being built).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobStatus {
    /// The chunk being built.
    pub chunk: String,
    /// Clips encoded so far.
    pub clips_done: usize,
    /// Seconds of video made so far.
    pub secs_done: f64,
    /// Seconds the chunk will hold.
    pub target_secs: f64,
    /// Percent done, 0–100.
    pub percent: f64,
    /// Encode speed of the current clip (1.0 = real time).
    pub speed: Option<f64>,
    /// Estimated seconds left.
    pub eta_secs: Option<f64>,
    /// Title of the source of the clip being encoded.
    pub current_source: Option<String>,
}

/// The generator's whole status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GeneratorStatus {
    /// What it is doing.
    pub state: GeneratorState,
    /// Running jobs.
    pub jobs: Vec<JobStatus>,
    /// Chunks asked for (by the schedule or an operator) not started yet.
    pub requested: usize,
    /// Next scheduled run, RFC 3339.
    pub next_run: Option<String>,
    /// Clip encodes that failed since start.
    pub encode_failures: u64,
    /// Clips encoded since start.
    pub clips_encoded: u64,
}

/// Requests to a running generator.
#[derive(Debug)]
pub enum GeneratorCommand {
    /// Make this many chunks beyond the ready target.
    Generate(usize),
    /// Drop pending requests and stop running jobs (their clips so far are kept
    /// and the chunk resumes later).
    Stop,
    /// Start again inside the process: running jobs stop (their chunks resume at
    /// once, nothing made is lost), a stall or a stop is forgotten, and the
    /// requests, the schedule and the chunks left unfinished are read again.
    /// Answers with the number of jobs that were running.
    Restart(oneshot::Sender<usize>),
    /// Make one short chunk (one clip) with these channel settings, held back from
    /// the rotation (it airs when an operator plays it): a look tried before it is
    /// saved. Answers with the chunk's id once it is made, or why not.
    TestChunk {
        /// The settings to make it with.
        channel: Box<crate::settings::Channel>,
        /// The outcome.
        reply: oneshot::Sender<Result<String, String>>,
    },
}

/// A handle to a running generator.
#[derive(Clone)]
pub struct GeneratorHandle {
    pub(super) status: watch::Receiver<GeneratorStatus>,
    pub(super) commands: mpsc::UnboundedSender<GeneratorCommand>,
    pub(super) settings: Arc<watch::Sender<GeneratorSettings>>,
}

impl GeneratorHandle {
    /// The current status.
    pub fn status(&self) -> GeneratorStatus {
        self.status.borrow().clone()
    }

    /// Status changes, for server-sent events.
    pub fn subscribe(&self) -> watch::Receiver<GeneratorStatus> {
        self.status.clone()
    }

    /// The settings in force.
    pub fn settings(&self) -> GeneratorSettings {
        self.settings.borrow().clone()
    }

    /// Changes settings live: the next clip, chunk and eviction use them.
    pub fn update_settings(&self, f: impl FnOnce(&mut GeneratorSettings)) {
        self.settings.send_modify(f);
    }

    /// Sends a command; false when the generator has stopped.
    pub fn send(&self, cmd: GeneratorCommand) -> bool {
        self.commands.send(cmd).is_ok()
    }
}
