//! The API's JSON: the original tool's routes.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::chunks::Chunk;

// ---- the original tool's routes ---------------------------------------------
// Its shapes, as its clients read them.

/// What a change made by the original's routes says.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Outcome {
    /// Always true: a failure is an error answer.
    pub success: bool,
    /// What was done, in words.
    pub message: String,
}

/// The body of `POST /api/delete_audio`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteAudioBody {
    /// The track: its path in the music folder (`Track.path`, as `/audio/<path>`
    /// takes it), or its full path inside the folder.
    pub path: String,
}

/// The answer of `POST /api/generate_test_chunk`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestChunk {
    /// True when the chunk was made.
    pub success: bool,
    /// What was done, in words.
    pub message: String,
    /// The chunk (held back from the rotation: `POST /api/play_chunk` airs it).
    pub chunk: Chunk,
}

/// The answer of `POST /api/update_settings`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct UpdatedSettings {
    /// Always true: a failure is an error answer.
    pub success: bool,
    /// The names changed, as sent.
    pub updated: Vec<String>,
    /// Whether they apply now or at the next start.
    pub message: String,
}

/// `GET /api/cron`: the generation schedule.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CronStatus {
    /// Always true: the scheduler is part of the server.
    pub available: bool,
    /// The cron expression, if one is set.
    pub schedule: Option<String>,
    /// What a run does.
    pub command: String,
}

/// The body of `POST /api/cron`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CronBody {
    /// A cron expression, local time (`0 2 * * *`: 2 am).
    pub schedule: String,
}

/// The query of `GET /api/cron-run-history`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunHistoryQuery {
    /// The page, from 1 (default 1).
    pub page: Option<u64>,
    /// Runs a page, 1-100 (default 20).
    pub per_page: Option<u64>,
}

/// A generation run in the history.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RunEntry {
    /// When it was asked for, RFC 3339.
    pub timestamp: String,
    /// Why: `schedule`, `manual` or `start`.
    pub trigger: String,
    /// Chunks asked for.
    pub chunks: u64,
}

/// `GET /api/cron-run-history`: a page of generation runs, newest first.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RunHistory {
    /// The runs of the page.
    pub entries: Vec<RunEntry>,
    /// The page, from 1.
    pub page: u64,
    /// Runs a page.
    pub per_page: u64,
    /// Runs in all.
    pub total: u64,
    /// Pages in all (at least 1).
    pub total_pages: u64,
}
