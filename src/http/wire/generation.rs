//! The API's JSON: settings, generation.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::schedule::generator::{GeneratorState, GeneratorStatus, JobStatus};
use crate::settings::Settings;

// ---- settings ---------------------------------------------------------------

/// GET and PUT /api/settings: the settings saved (in force, or from the next start),
/// which apply only at a start, and which of those wait for one.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsResponse {
    /// Every editable setting, saved changes included.
    pub settings: Settings,
    /// Fields applied only at the next start.
    pub restart_fields: Vec<String>,
    /// Fields changed since the start, waiting for the next one.
    pub pending_restart: Vec<String>,
}

// ---- generation -------------------------------------------------------------

/// The generator's state and each job's progress (GET /api/jobs, event `jobs`).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Jobs {
    /// What it is doing.
    pub state: JobsState,
    /// Why it is stalled (only when `state` is `stalled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub reason: Option<String>,
    /// Running jobs, one per chunk being made.
    pub jobs: Vec<Job>,
    /// Chunks asked for (by the schedule or an operator) not started yet.
    pub requested: usize,
    /// Next scheduled run, RFC 3339.
    #[schema(required = true)]
    pub next_run: Option<String>,
    /// Clip encodes that failed since start.
    pub encode_failures: u64,
    /// Clips encoded since start.
    pub clips_encoded: u64,
}

/// What the generator is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobsState {
    /// Enough chunks are ready.
    Idle,
    /// Jobs are running.
    Generating,
    /// Waiting for the library to find a usable video.
    WaitingForLibrary,
    /// Cannot make progress (see `reason`).
    Stalled,
    /// Stopped by an operator until asked again or the next scheduled run.
    Stopped,
}

/// Progress of one job (one chunk being made).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Job {
    /// The chunk being made.
    pub chunk: String,
    /// Clips encoded so far.
    pub clips_done: usize,
    /// Seconds of video made so far.
    pub secs_done: f64,
    /// Seconds the chunk will hold.
    pub target_secs: f64,
    /// Percent done, 0-100.
    pub percent: f64,
    /// Encode speed of the current clip (1.0 = real time).
    #[schema(required = true)]
    pub speed: Option<f64>,
    /// Estimated seconds left.
    #[schema(required = true)]
    pub eta_secs: Option<f64>,
    /// Title of the source of the clip being encoded.
    #[schema(required = true)]
    pub current_source: Option<String>,
}

impl From<GeneratorStatus> for Jobs {
    fn from(s: GeneratorStatus) -> Self {
        let (state, reason) = match s.state {
            GeneratorState::Idle => (JobsState::Idle, None),
            GeneratorState::Generating => (JobsState::Generating, None),
            GeneratorState::WaitingForLibrary => (JobsState::WaitingForLibrary, None),
            GeneratorState::Stalled { reason } => (JobsState::Stalled, Some(reason)),
            GeneratorState::Stopped => (JobsState::Stopped, None),
        };
        Jobs {
            state,
            reason,
            jobs: s.jobs.into_iter().map(Job::from).collect(),
            requested: s.requested,
            next_run: s.next_run,
            encode_failures: s.encode_failures,
            clips_encoded: s.clips_encoded,
        }
    }
}

impl From<JobStatus> for Job {
    fn from(j: JobStatus) -> Self {
        Job {
            chunk: j.chunk,
            clips_done: j.clips_done,
            secs_done: j.secs_done,
            target_secs: j.target_secs,
            percent: j.percent,
            speed: j.speed,
            eta_secs: j.eta_secs,
            current_source: j.current_source,
        }
    }
}

/// Body of POST /api/generate_chunk; the body itself is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// Chunks to make, 1-100 (default CHUNKS_PER_RUN).
    pub count: Option<u32>,
}

/// Answer of POST /api/generate_chunk.
#[derive(Debug, Serialize, ToSchema)]
pub struct Requested {
    /// Chunks asked for.
    pub requested: u32,
}

/// Answer of POST /api/stop_generation.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stopping {
    /// Always true.
    pub stopping: bool,
}
