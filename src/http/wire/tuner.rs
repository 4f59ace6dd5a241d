//! The API's JSON: HDHomeRun tuner.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

// ---- HDHomeRun tuner --------------------------------------------------------
// Names and types are an HDHomeRun's, as Plex, Jellyfin (HdHomerunHost) and Emby
// read them: PascalCase, ids as strings, flags as 0/1.

/// `discover.json`: who the tuner is and where its channel list is.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TunerDiscover {
    /// The name clients show.
    pub friendly_name: String,
    /// The maker clients expect of an HDHomeRun.
    pub manufacturer: String,
    /// The HDHomeRun model emulated.
    pub model_number: String,
    /// Firmware name.
    pub firmware_name: String,
    /// Firmware version: shufflecast's.
    pub firmware_version: String,
    /// Eight hex digits, the last a check digit.
    #[serde(rename = "DeviceID")]
    pub device_id: String,
    /// An opaque, stable string.
    pub device_auth: String,
    /// Where these documents are.
    #[serde(rename = "BaseURL")]
    pub base_url: String,
    /// The channel list.
    #[serde(rename = "LineupURL")]
    pub lineup_url: String,
    /// Continuous streams that may be open at once (TUNER_COUNT).
    pub tuner_count: u32,
}

/// A channel in `lineup.json`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct LineupEntry {
    /// The channel's number, as text.
    pub guide_number: String,
    /// The channel's name.
    pub guide_name: String,
    /// Always H264.
    pub video_codec: String,
    /// Always AAC.
    pub audio_codec: String,
    /// 1 when the output is 720 lines or more.
    #[serde(rename = "HD")]
    pub hd: u8,
    /// The channel's continuous MPEG-TS, without a query string.
    #[serde(rename = "URL")]
    pub url: String,
}

/// `lineup_status.json`: the state of a channel scan.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct LineupStatus {
    /// Always 0.
    pub scan_in_progress: u8,
    /// Always 1.
    pub scan_possible: u8,
    /// The signal source.
    pub source: String,
    /// The sources a scan can use.
    pub source_list: Vec<String>,
}
