//! What viewers see about a source video: title, creator, link.
//!
//! In order of trust: a yt-dlp `.info.json` sidecar (the downloader's own record),
//! TubeArchivist (asked by the YouTube id in the file name), the container's tags,
//! the file name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use crate::db::library::{MetaOrigin, SourceMeta};

impl SourceMeta {
    /// Metadata from the file name alone: the stem, without a trailing yt-dlp id
    /// (" [dQw4w9WgXcQ]"), underscores read as spaces.
    pub fn from_file_name(path: &Path) -> SourceMeta {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut title = stem.as_str();
        if let Some(open) = title.rfind(" [")
            && title.ends_with(']')
            && is_youtube_id(&title[open + 2..title.len() - 1])
        {
            title = &title[..open];
        }
        let title = title.replace('_', " ").trim().to_string();
        SourceMeta {
            title: if title.is_empty() { stem } else { title },
            creator: None,
            url: None,
            origin: MetaOrigin::FileName,
        }
    }
}

/// Biggest sidecar read: yt-dlp's can be a few MB (format lists), never this big.
const MAX_SIDECAR: u64 = 8 << 20;

/// Metadata found beside or inside the file: a yt-dlp sidecar, else the container's
/// tags, else the file name. Blocking (reads a file); call from a blocking thread.
pub fn local(path: &Path, tag_title: Option<&str>, tag_artist: Option<&str>) -> SourceMeta {
    if let Some(m) = sidecar(path) {
        return m;
    }
    let clean = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(String::from);
    match (clean(tag_title), clean(tag_artist)) {
        (None, None) => SourceMeta::from_file_name(path),
        (title, creator) => SourceMeta {
            title: title.unwrap_or_else(|| SourceMeta::from_file_name(path).title),
            creator,
            url: None,
            origin: MetaOrigin::Tags,
        },
    }
}

fn sidecar_paths(path: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(stem) = path.file_stem() {
        let mut n = stem.to_os_string();
        n.push(".info.json");
        out.push(path.with_file_name(n));
    }
    if let Some(name) = path.file_name() {
        let mut n = name.to_os_string();
        n.push(".info.json");
        out.push(path.with_file_name(n));
    }
    out
}

#[derive(Deserialize)]
struct InfoJson {
    title: Option<String>,
    uploader: Option<String>,
    channel: Option<String>,
    creator: Option<String>,
    webpage_url: Option<String>,
}

fn sidecar(path: &Path) -> Option<SourceMeta> {
    for p in sidecar_paths(path) {
        let Ok(meta) = std::fs::metadata(&p) else {
            continue;
        };
        if !meta.is_file() || meta.len() > MAX_SIDECAR {
            tracing::debug!(file = %p.display(), "sidecar skipped: not a file or too big");
            continue;
        }
        let info = std::fs::read(&p)
            .ok()
            .and_then(|b| serde_json::from_slice::<InfoJson>(&b).ok());
        let Some(info) = info else {
            tracing::debug!(file = %p.display(), "sidecar unreadable or not yt-dlp JSON");
            continue;
        };
        let nonempty =
            |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let Some(title) = nonempty(info.title) else {
            continue;
        };
        return Some(SourceMeta {
            title,
            creator: nonempty(info.uploader)
                .or_else(|| nonempty(info.channel))
                .or_else(|| nonempty(info.creator)),
            url: nonempty(info.webpage_url),
            origin: MetaOrigin::InfoJson,
        });
    }
    None
}

fn is_youtube_id(s: &str) -> bool {
    s.len() == 11
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The YouTube id in a file name: in square brackets (yt-dlp's "Title [id].mp4"), or
/// the whole stem (TubeArchivist stores "<channel>/<id>.mp4").
pub fn youtube_id(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    if is_youtube_id(stem) {
        return Some(stem.to_string());
    }
    // The last bracketed id wins: titles may contain brackets of their own.
    let mut found = None;
    let mut rest = stem;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        let Some(close) = after.find(']') else { break };
        let inner = &after[..close];
        if is_youtube_id(inner) {
            found = Some(inner.to_string());
        }
        rest = &after[close + 1..];
    }
    found
}

/// Why a metadata lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum MetaError {
    /// The configured URL is not usable.
    #[error("invalid TubeArchivist URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// TubeArchivist refused the token.
    #[error("TubeArchivist at {url} refused the token (HTTP {status}): check TUBEARCHIVIST_TOKEN")]
    Unauthorized {
        /// The base URL.
        url: String,
        /// 401 or 403.
        status: u16,
    },
    /// TubeArchivist answered with an unexpected status.
    #[error("TubeArchivist at {url} answered HTTP {status}")]
    Status {
        /// The base URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// TubeArchivist could not be reached, or its answer was not the expected JSON.
    #[error("TubeArchivist at {url}: {reason}")]
    Request {
        /// The base URL.
        url: String,
        /// What went wrong (never includes the token).
        reason: String,
    },
}

/// A TubeArchivist server, asked for titles and channels by video id.
#[derive(Clone)]
pub struct TubeArchivist {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for TubeArchivist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("TubeArchivist")
            .field("base", &self.base)
            .finish()
    }
}

#[derive(Deserialize)]
struct TaVideo {
    title: Option<String>,
    youtube_id: Option<String>,
    channel: Option<TaChannel>,
    /// Its thumbnail, a path on the TubeArchivist server (`/cache/videos/…`).
    vid_thumb_url: Option<String>,
}

/// What TubeArchivist knows of a video.
#[derive(Clone, Debug, PartialEq)]
pub struct TaEntry {
    /// Title, channel, link.
    pub meta: SourceMeta,
    /// Its thumbnail's path on the TubeArchivist server, when it has one.
    pub thumbnail: Option<String>,
}

/// Biggest thumbnail fetched from TubeArchivist: YouTube's largest are well under it.
const MAX_THUMBNAIL: usize = 8 << 20;

#[derive(Deserialize)]
struct TaChannel {
    channel_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TaAnswer {
    // Older versions wrap the video: {"data": {...}}.
    Wrapped { data: TaVideo },
    Bare(TaVideo),
}

impl TubeArchivist {
    /// A client for the server at `url` (http or https) with API token `token`.
    pub fn new(url: &str, token: &str) -> Result<TubeArchivist, MetaError> {
        let bad = |reason: &str| MetaError::BadUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(bad("must start with http:// or https://"));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| bad(&e.to_string()))?;
        Ok(TubeArchivist {
            base: url.trim_end_matches('/').to_string(),
            token: token.to_string(),
            client,
        })
    }

    /// Title and channel of video `video_id`; `Ok(None)` when TubeArchivist does not
    /// know it.
    pub async fn lookup(&self, video_id: &str) -> Result<Option<SourceMeta>, MetaError> {
        Ok(self.entry(video_id).await?.map(|e| e.meta))
    }

    /// The thumbnail at `path` on the TubeArchivist server (as [`TaEntry`] gives
    /// it). Only a path on this server is fetched, never another host.
    pub async fn thumbnail(&self, path: &str) -> Result<Vec<u8>, MetaError> {
        let url = &self.base;
        let request = |reason: String| MetaError::Request {
            url: url.clone(),
            reason,
        };
        let path = path.strip_prefix(url.as_str()).unwrap_or(path);
        if !path.starts_with('/') || path.starts_with("//") || path.contains("..") {
            return Err(request(format!(
                "not a thumbnail path of this server: {path:?}"
            )));
        }
        let mut resp = self
            .client
            .get(format!("{url}{path}"))
            .header("Authorization", format!("Token {}", self.token))
            .send()
            .await
            .map_err(|e| request(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(MetaError::Status {
                url: url.clone(),
                status,
            });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| request(e.without_url().to_string()))?
        {
            if bytes.len() + chunk.len() > MAX_THUMBNAIL {
                return Err(request("thumbnail too big".into()));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// What TubeArchivist knows of video `video_id`; `Ok(None)` when it does not
    /// know it.
    pub async fn entry(&self, video_id: &str) -> Result<Option<TaEntry>, MetaError> {
        let url = &self.base;
        if !is_youtube_id(video_id) {
            return Ok(None); // never put anything else into the URL
        }
        let request = |reason: String| MetaError::Request {
            url: url.clone(),
            reason,
        };
        let resp = self
            .client
            .get(format!("{url}/api/video/{video_id}/"))
            .header("Authorization", format!("Token {}", self.token))
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| request(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        match status {
            200 => {}
            404 => return Ok(None),
            401 | 403 => {
                return Err(MetaError::Unauthorized {
                    url: url.clone(),
                    status,
                });
            }
            _ => {
                return Err(MetaError::Status {
                    url: url.clone(),
                    status,
                });
            }
        }
        let answer: TaAnswer = resp
            .json()
            .await
            .map_err(|e| request(format!("unexpected answer: {}", e.without_url())))?;
        let video = match answer {
            TaAnswer::Wrapped { data } => data,
            TaAnswer::Bare(v) => v,
        };
        let Some(title) = video.title.filter(|t| !t.trim().is_empty()) else {
            return Ok(None);
        };
        let id = video.youtube_id.unwrap_or_else(|| video_id.to_string());
        let meta = SourceMeta {
            title: title.trim().to_string(),
            creator: video
                .channel
                .and_then(|c| c.channel_name)
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty()),
            url: Some(format!("https://www.youtube.com/watch?v={id}")),
            origin: MetaOrigin::TubeArchivist,
        };
        Ok(Some(TaEntry {
            meta,
            thumbnail: video.vid_thumb_url.filter(|t| !t.trim().is_empty()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::extract::Path as UrlPath;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::get;

    #[test]
    fn youtube_ids_in_file_names() {
        let id = |s: &str| youtube_id(Path::new(s));
        assert_eq!(
            id("Song title [dQw4w9WgXcQ].mp4").as_deref(),
            Some("dQw4w9WgXcQ")
        );
        assert_eq!(
            id("/ta/UCxyz/dQw4w9WgXcQ.mp4").as_deref(),
            Some("dQw4w9WgXcQ")
        );
        assert_eq!(
            id("[live] Show [a-b_c1234XY].mkv").as_deref(),
            Some("a-b_c1234XY")
        );
        assert_eq!(id("Show [2019] remaster.mp4"), None);
        assert_eq!(id("short [abc].mp4"), None);
        assert_eq!(id("toolong [dQw4w9WgXcQQ].mp4"), None);
        assert_eq!(id("bad chars [dQw4w9WgXc!].mp4"), None);
        assert_eq!(id("holiday_2019.mp4"), None);
    }

    #[test]
    fn file_name_titles_drop_the_id_and_underscores() {
        let t = |s: &str| SourceMeta::from_file_name(Path::new(s)).title;
        assert_eq!(t("/v/My_great_trip [dQw4w9WgXcQ].mp4"), "My great trip");
        assert_eq!(t("/v/plain.mkv"), "plain");
        assert_eq!(t("/v/[dQw4w9WgXcQ].mp4"), "[dQw4w9WgXcQ]");
    }

    #[test]
    fn sidecar_then_tags_then_file_name() {
        let d = tempfile::tempdir().unwrap();
        let video = d.path().join("Trip [dQw4w9WgXcQ].mp4");
        std::fs::write(&video, b"v").unwrap();
        let m = local(&video, Some("Tag title"), Some("Tag artist"));
        assert_eq!(m.origin, MetaOrigin::Tags);
        assert_eq!(
            (m.title.as_str(), m.creator.as_deref()),
            ("Tag title", Some("Tag artist"))
        );
        let m = local(&video, None, Some("  "));
        assert_eq!((m.origin, m.title.as_str()), (MetaOrigin::FileName, "Trip"));

        let side = d.path().join("Trip [dQw4w9WgXcQ].info.json");
        std::fs::write(&side, b"{not json").unwrap();
        assert_eq!(
            local(&video, Some("T"), None).origin,
            MetaOrigin::Tags,
            "a broken sidecar falls through"
        );
        std::fs::write(
            &side,
            br#"{"id":"dQw4w9WgXcQ","title":"A \"quoted\": title","channel":"Chan","webpage_url":"https://youtu.be/x","formats":[]}"#,
        )
        .unwrap();
        let m = local(&video, Some("T"), Some("A"));
        assert_eq!(m.origin, MetaOrigin::InfoJson);
        assert_eq!(m.title, "A \"quoted\": title");
        assert_eq!(
            m.creator.as_deref(),
            Some("Chan"),
            "channel when there is no uploader"
        );
        assert_eq!(m.url.as_deref(), Some("https://youtu.be/x"));
        std::fs::write(&side, br#"{"title":"X","uploader":"Up","channel":"Chan"}"#).unwrap();
        assert_eq!(local(&video, None, None).creator.as_deref(), Some("Up"));
    }

    /// A local server that answers like TubeArchivist's API.
    async fn fake_tubearchivist() -> String {
        async fn video(UrlPath(id): UrlPath<String>, headers: HeaderMap) -> (StatusCode, String) {
            if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Token secret") {
                return (
                    StatusCode::UNAUTHORIZED,
                    r#"{"detail":"Invalid token."}"#.into(),
                );
            }
            match id.as_str() {
                "dQw4w9WgXcQ" => (
                    StatusCode::OK,
                    r#"{"youtube_id":"dQw4w9WgXcQ","title":"Never Gonna","channel":{"channel_id":"UC1","channel_name":"Rick"},"vid_thumb_url":"/x.jpg"}"#.into(),
                ),
                "oldWrapped1" => (
                    StatusCode::OK,
                    r#"{"data":{"youtube_id":"oldWrapped1","title":"Old shape","channel":{"channel_name":"Chan"}},"config":{}}"#.into(),
                ),
                "notJson0000" => (StatusCode::OK, "<html>".into()),
                "serverErr00" => (StatusCode::INTERNAL_SERVER_ERROR, String::new()),
                _ => (StatusCode::NOT_FOUND, r#"{"detail":"Not found."}"#.into()),
            }
        }
        async fn thumb(headers: HeaderMap) -> (StatusCode, Vec<u8>) {
            match headers.get("authorization").and_then(|v| v.to_str().ok()) {
                Some("Token secret") => (StatusCode::OK, b"JPEG bytes".to_vec()),
                _ => (StatusCode::UNAUTHORIZED, Vec::new()),
            }
        }
        let app = Router::new()
            .route("/api/video/{id}/", get(video))
            .route("/x.jpg", get(thumb));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        format!("http://{addr}/")
    }

    #[tokio::test]
    async fn tubearchivist_lookups() {
        let base = fake_tubearchivist().await;
        let ta = TubeArchivist::new(&base, "secret").unwrap();
        let m = ta.lookup("dQw4w9WgXcQ").await.unwrap().unwrap();
        assert_eq!(m.title, "Never Gonna");
        assert_eq!(m.creator.as_deref(), Some("Rick"));
        assert_eq!(
            m.url.as_deref(),
            Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
        );
        assert_eq!(m.origin, MetaOrigin::TubeArchivist);
        // Its thumbnail: a path on the same server, fetched with the token.
        let e = ta.entry("dQw4w9WgXcQ").await.unwrap().unwrap();
        assert_eq!(e.thumbnail.as_deref(), Some("/x.jpg"));
        assert_eq!(ta.thumbnail("/x.jpg").await.unwrap(), b"JPEG bytes");
        let absolute = format!("{}/x.jpg", base.trim_end_matches('/'));
        assert_eq!(ta.thumbnail(&absolute).await.unwrap(), b"JPEG bytes");
        for elsewhere in [
            "http://example.com/x.jpg",
            "//example.com/x.jpg",
            "/a/../x.jpg",
            "x.jpg",
        ] {
            assert!(ta.thumbnail(elsewhere).await.is_err(), "{elsewhere}");
        }
        let m = ta.lookup("oldWrapped1").await.unwrap().unwrap();
        assert_eq!(
            (m.title.as_str(), m.creator.as_deref()),
            ("Old shape", Some("Chan"))
        );
        assert_eq!(ta.lookup("unknown0000").await.unwrap(), None);
        assert_eq!(
            ta.lookup("../../etc/p").await.unwrap(),
            None,
            "not an id: never requested"
        );
        let e = ta.lookup("notJson0000").await.unwrap_err();
        assert!(matches!(e, MetaError::Request { .. }), "{e}");
        let e = ta.lookup("serverErr00").await.unwrap_err();
        assert!(matches!(e, MetaError::Status { status: 500, .. }), "{e}");

        let wrong = TubeArchivist::new(&base, "nope").unwrap();
        let e = wrong.lookup("dQw4w9WgXcQ").await.unwrap_err();
        assert!(
            matches!(e, MetaError::Unauthorized { status: 401, .. }),
            "{e}"
        );
        assert!(
            !e.to_string().contains("nope"),
            "the token never shows: {e}"
        );
        assert!(!format!("{wrong:?}").contains("nope"));

        // Nothing listening.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let down = TubeArchivist::new(&format!("http://127.0.0.1:{port}"), "secret").unwrap();
        let e = down.lookup("dQw4w9WgXcQ").await.unwrap_err();
        assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
        assert!(TubeArchivist::new("ftp://x", "t").is_err());
        assert!(TubeArchivist::new("not a url", "t").is_err());
    }
}
