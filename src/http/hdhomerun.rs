//! The HTTP side of an HDHomeRun network tuner, what Plex, Jellyfin and Emby read
//! to add it: `discover.json` (who we are), `lineup.json` (one entry per channel,
//! its URL the channel's continuous MPEG-TS), `lineup_status.json`, `lineup.post`
//! (a channel scan, done at once) and `device.xml` (UPnP).
//!
//! With a viewer token, the same documents are also served under
//! `/tuner/{token}/`, and the stream URLs they list carry the token in their path:
//! these clients send no headers and Plex drops query strings.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::iptv;
use super::state::AppState;
use super::urls;
use super::wire::{ErrorBody, LineupEntry, LineupStatus, TunerDiscover};

/// Our model number. An HDHomeRun Connect's: a plain tuner. Never an "HDTC" one:
/// Jellyfin takes those for transcoding tuners and adds `?transcode=` to stream URLs.
pub const MODEL_NUMBER: &str = "HDHR4-2US";

/// Where a client finds us: the server's origin (BASE_URL, else the address the
/// request came in on) and, with a viewer token, the token's prefix for the
/// documents and the streams.
struct Base {
    origin: String,
    token: Option<String>,
}

impl Base {
    /// BASE_URL when set, else `asked`: the address the client used.
    fn new(st: &AppState, asked: impl FnOnce() -> String) -> Base {
        Base {
            origin: st
                .config
                .server
                .advertised_url()
                .map_or_else(asked, str::to_string),
            token: st.tokens.viewer.clone(),
        }
    }

    /// For an HTTP request: the address from its Host header.
    fn of(st: &AppState, headers: &HeaderMap) -> Base {
        Base::new(st, || iptv::base_url(headers))
    }

    /// The tuner's base URL, where its documents are.
    fn tuner(&self) -> String {
        match &self.token {
            Some(t) => format!("{}/tuner/{}", self.origin, urls::urlencode(t)),
            None => self.origin.clone(),
        }
    }

    /// A channel's continuous stream: no query string.
    fn stream(&self, slug: &str) -> String {
        let file = super::tuners::file_name(slug);
        match &self.token {
            Some(t) => format!("{}/stream/{}/{file}", self.origin, urls::urlencode(t)),
            None => format!("{}/stream/{file}", self.origin),
        }
    }
}

/// What discover.json says, for a client that reached us at `base` (also what
/// UDP discovery answers with).
fn discover_doc(st: &AppState, base: &Base) -> TunerDiscover {
    let tuner = base.tuner();
    TunerDiscover {
        friendly_name: st.station.defaults().channel.channel_name,
        // Clients tell HDHomeRun devices by their maker; the name says who we are.
        manufacturer: "Silicondust".into(),
        model_number: MODEL_NUMBER.into(),
        firmware_name: "hdhomerun4_shufflecast".into(),
        firmware_version: env!("CARGO_PKG_VERSION").into(),
        device_id: st.device.id.to_string(),
        device_auth: st.device.auth.clone(),
        lineup_url: format!("{tuner}/lineup.json"),
        base_url: tuner,
        tuner_count: st.tuners.count() as u32,
    }
}

/// Who the tuner is: what HDHomeRun clients read first.
#[utoipa::path(get, path = "/discover.json", responses(
    (status = 200, description = "The tuner's description.", body = TunerDiscover),
))]
pub async fn discover(State(st): State<AppState>, headers: HeaderMap) -> Json<TunerDiscover> {
    Json(discover_doc(&st, &Base::of(&st, &headers)))
}

/// Every channel, as a tuner's channel list.
#[utoipa::path(get, path = "/lineup.json", responses(
    (status = 200, description = "One entry per channel.", body = Vec<LineupEntry>),
))]
pub async fn lineup(State(st): State<AppState>, headers: HeaderMap) -> Json<Vec<LineupEntry>> {
    Json(lineup_doc(&st, &Base::of(&st, &headers)))
}

fn lineup_doc(st: &AppState, base: &Base) -> Vec<LineupEntry> {
    let hd = st.config.output.height >= 720;
    let mut channels = st.station.list();
    channels.sort_by_key(|c| c.def().number);
    channels
        .iter()
        .map(|ch| {
            let def = ch.def();
            LineupEntry {
                guide_number: def.number.to_string(),
                guide_name: def.name.clone(),
                video_codec: "H264".into(),
                audio_codec: "AAC".into(),
                hd: u8::from(hd),
                url: base.stream(def.slug.as_str()),
            }
        })
        .collect()
}

/// The channel scan's state: never scanning, always done.
#[utoipa::path(get, path = "/lineup_status.json", responses(
    (status = 200, description = "No scan in progress.", body = LineupStatus),
))]
pub async fn lineup_status() -> Json<LineupStatus> {
    Json(LineupStatus {
        scan_in_progress: 0,
        scan_possible: 1,
        source: "Cable".into(),
        source_list: vec!["Cable".into()],
    })
}

/// A channel scan: the channels are always known, so it is done at once.
#[utoipa::path(post, path = "/lineup.post", responses(
    (status = 200, description = "Scan done (an empty body).", content_type = "text/plain", body = String),
))]
pub async fn lineup_post() -> &'static str {
    ""
}

/// A channel scan, with the viewer token in the path.
#[utoipa::path(post, path = "/tuner/{token}/lineup.post",
    params(("token" = String, Path, description = "The viewer token (VIEWER_TOKEN).")),
    responses(
        (status = 200, description = "Scan done (an empty body).", content_type = "text/plain", body = String),
        (status = 401, description = "Wrong token.", body = ErrorBody),
    ),
)]
pub async fn lineup_post_with_token(
    State(st): State<AppState>,
    Path(token): Path<String>,
) -> Response {
    if !st.tokens.viewer_in_path(&token) {
        return ApiError::new(StatusCode::UNAUTHORIZED, "wrong viewer token").into_response();
    }
    lineup_post().await.into_response()
}

/// The UPnP device description, for clients that find tuners by SSDP.
#[utoipa::path(get, path = "/device.xml", responses(
    (status = 200, description = "A UPnP device description.", content_type = "application/xml", body = String),
))]
pub async fn device_xml(State(st): State<AppState>, headers: HeaderMap) -> Response {
    device_doc(&st, &Base::of(&st, &headers))
}

fn device_doc(st: &AppState, base: &Base) -> Response {
    let d = discover_doc(st, base);
    let id = st.device.id.value();
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
  <specVersion><major>1</major><minor>0</minor></specVersion>
  <URLBase>{base}</URLBase>
  <device>
    <deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>
    <friendlyName>{name}</friendlyName>
    <manufacturer>{maker}</manufacturer>
    <modelName>{model}</modelName>
    <modelNumber>{model}</modelNumber>
    <serialNumber>{serial}</serialNumber>
    <UDN>uuid:{id:08x}-7368-7566-666c-{id:012x}</UDN>
  </device>
</root>
"#,
        base = iptv::attr(&d.base_url),
        name = iptv::attr(&d.friendly_name),
        maker = iptv::attr(&d.manufacturer),
        model = d.model_number,
        serial = d.device_id,
    );
    ([(header::CONTENT_TYPE, "application/xml")], xml).into_response()
}

/// The tuner's documents with the viewer token in the path.
#[utoipa::path(get, path = "/tuner/{token}/{file}",
    params(
        ("token" = String, Path, description = "The viewer token (VIEWER_TOKEN)."),
        ("file" = String, Path, description = "discover.json, lineup.json, lineup_status.json or device.xml."),
    ),
    responses(
        (status = 200, description = "The document, as at the server's root.", content(
            (serde_json::Value = "application/json"),
            (String = "application/xml"),
        )),
        (status = 401, description = "Wrong token.", body = ErrorBody),
        (status = 404, description = "No such document.", body = ErrorBody),
    ),
)]
pub async fn with_token(
    State(st): State<AppState>,
    Path((token, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !st.tokens.viewer_in_path(&token) {
        return ApiError::new(StatusCode::UNAUTHORIZED, "wrong viewer token").into_response();
    }
    let base = Base::of(&st, &headers);
    match file.as_str() {
        "discover.json" => Json(discover_doc(&st, &base)).into_response(),
        "lineup.json" => Json(lineup_doc(&st, &base)).into_response(),
        "lineup_status.json" => lineup_status().await.into_response(),
        "device.xml" => device_doc(&st, &base),
        _ => ApiError::not_found("no such tuner document").into_response(),
    }
}

/// What UDP discovery tells a requester that reaches us at `local` (the address
/// of ours its packets would come back from), on `port`.
pub fn advert(st: &AppState, local: std::net::IpAddr, port: u16) -> crate::hdhomerun::Advert {
    let host = match local {
        std::net::IpAddr::V6(a) => format!("[{a}]"),
        a => a.to_string(),
    };
    let base = Base::new(st, || format!("http://{host}:{port}"));
    let d = discover_doc(st, &base);
    crate::hdhomerun::Advert {
        device_id: st.device.id,
        tuner_count: st.tuners.count().min(u8::MAX as usize) as u8,
        base_url: d.base_url,
        lineup_url: d.lineup_url,
        device_auth: d.device_auth,
    }
}
