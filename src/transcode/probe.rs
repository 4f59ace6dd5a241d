//! ffprobe: what a video or music file contains.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::TranscodeError;
use super::ffmpeg::Ffmpeg;
use super::run::{self, file_arg, os_args};

/// How long ffprobe may take on one file (a slow network disk, a huge file).
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// What ffprobe says about a video file. Serializable: the library stores it, so an
/// unchanged file is never probed twice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProbeInfo {
    /// Duration in seconds (> 0).
    pub duration: f64,
    /// Stored (coded) width in pixels, before rotation.
    pub width: u32,
    /// Stored (coded) height in pixels, before rotation.
    pub height: u32,
    /// Frames per second; 0.0 when the file does not say.
    pub fps: f64,
    /// Clockwise rotation applied for display: 0, 90, 180 or 270.
    pub rotation: u32,
    /// The video is interlaced (field order other than progressive/unknown).
    pub interlaced: bool,
    /// The container's title tag, if any.
    #[serde(default)]
    pub title: Option<String>,
    /// The container's artist (or album artist) tag, if any.
    #[serde(default)]
    pub artist: Option<String>,
    /// How the video stream says its colours are coded (absent in probes stored
    /// before it was recorded: those read as untagged SDR).
    #[serde(default)]
    pub color: ColorTags,
}

/// A video stream's colour description, in ffprobe's names (`None`: not tagged).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ColorTags {
    /// Transfer characteristic, e.g. `bt709`, `smpte2084` (PQ), `arib-std-b67` (HLG).
    pub transfer: Option<String>,
    /// Colour primaries, e.g. `bt709`, `bt2020`.
    pub primaries: Option<String>,
    /// Matrix coefficients, e.g. `bt709`, `bt2020nc`.
    pub matrix: Option<String>,
    /// `tv` (limited) or `pc` (full).
    pub range: Option<String>,
    /// Pixel format, e.g. `yuv420p10le`, `yuvj422p`.
    pub pix_fmt: Option<String>,
}

impl ColorTags {
    /// The HDR transfer in zimg's names (`smpte2084`, `arib-std-b67`), `None` for SDR.
    pub fn hdr_transfer(&self) -> Option<&'static str> {
        match self.transfer.as_deref()? {
            "smpte2084" => Some("smpte2084"),
            "arib-std-b67" => Some("arib-std-b67"),
            _ => None,
        }
    }

    /// Full-range samples: tagged `pc`, or a `yuvj` (JPEG) pixel format.
    pub fn full_range(&self) -> bool {
        self.range.as_deref() == Some("pc")
            || self
                .pix_fmt
                .as_deref()
                .is_some_and(|f| f.starts_with("yuvj"))
    }
}

impl ProbeInfo {
    /// Width and height as displayed, after rotation.
    pub fn display_size(&self) -> (u32, u32) {
        if self.rotation % 180 == 90 {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}

#[derive(Deserialize, Default)]
struct Probe {
    #[serde(default)]
    streams: Vec<Stream>,
    #[serde(default)]
    format: Option<Format>,
}

#[derive(Deserialize, Default)]
struct Format {
    format_name: Option<String>,
    duration: Option<String>,
    #[serde(default)]
    tags: HashMap<String, Value>,
}

// Loose types (Value) where ffprobe versions differ, so one odd field cannot reject a file.
#[derive(Deserialize, Default)]
struct Stream {
    codec_type: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    avg_frame_rate: Option<String>,
    r_frame_rate: Option<String>,
    field_order: Option<String>,
    duration: Option<String>,
    pix_fmt: Option<String>,
    color_range: Option<String>,
    color_space: Option<String>,
    color_transfer: Option<String>,
    color_primaries: Option<String>,
    #[serde(default)]
    tags: HashMap<String, Value>,
    #[serde(default)]
    side_data_list: Vec<Value>,
    #[serde(default)]
    disposition: HashMap<String, Value>,
}

impl Ffmpeg {
    /// Probes a video file; `Unusable` when it has no video, no duration, or is not media.
    pub async fn probe(&self, path: &Path) -> Result<ProbeInfo, TranscodeError> {
        let json = self.ffprobe_json(path).await?;
        parse_video(&json, path)
    }

    /// Probes a music file and returns its duration in seconds; `Unusable` without audio or duration.
    pub async fn probe_audio(&self, path: &Path) -> Result<f64, TranscodeError> {
        let json = self.ffprobe_json(path).await?;
        parse_audio(&json, path)
    }

    async fn ffprobe_json(&self, path: &Path) -> Result<Vec<u8>, TranscodeError> {
        let unusable = |reason: String| TranscodeError::Unusable {
            path: path.to_path_buf(),
            reason,
        };
        let meta = tokio::fs::metadata(path)
            .await
            .map_err(|e| TranscodeError::io(format!("reading {}", path.display()), e))?;
        if !meta.is_file() {
            return Err(unusable("not a regular file".into()));
        }
        if meta.len() == 0 {
            return Err(unusable("empty file (0 bytes)".into()));
        }
        let mut args = os_args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
        ]);
        args.push(file_arg(path));
        match run::run(&self.ffprobe, &args, PROBE_TIMEOUT).await {
            Ok(json) => Ok(json),
            // ffprobe failing on a file means the file is not media we can read.
            Err(e @ TranscodeError::Failed { .. }) => {
                Err(unusable(format!("ffprobe cannot read it: {}", e.cause())))
            }
            Err(e) => Err(e),
        }
    }
}

fn parse(json: &[u8], path: &Path) -> Result<Probe, TranscodeError> {
    serde_json::from_slice(json).map_err(|e| TranscodeError::Unusable {
        path: path.to_path_buf(),
        reason: format!("unreadable ffprobe output: {e}"),
    })
}

/// Turns ffprobe's JSON into a [`ProbeInfo`].
pub(crate) fn parse_video(json: &[u8], path: &Path) -> Result<ProbeInfo, TranscodeError> {
    let unusable = |reason: &str| TranscodeError::Unusable {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let probe = parse(json, path)?;
    let format = probe.format.unwrap_or_default();
    let format_name = format.format_name.as_deref().unwrap_or("");
    if format_name
        .split(',')
        .any(|f| f == "image2" || f.ends_with("_pipe"))
    {
        return Err(unusable("a still image, not a video"));
    }
    let video = probe
        .streams
        .iter()
        // Cover art inside audio or video files shows up as a one-frame video stream.
        .find(|s| s.codec_type.as_deref() == Some("video") && !flag(&s.disposition, "attached_pic"))
        .ok_or_else(|| unusable(no_video_reason(&probe.streams)))?;
    let (width, height) = match (video.width, video.height) {
        (Some(w), Some(h)) if w > 0 && h > 0 => (w, h),
        _ => return Err(unusable("video stream has no frame size")),
    };
    let duration = seconds(format.duration.as_deref())
        .or_else(|| seconds(video.duration.as_deref()))
        .ok_or_else(|| unusable("duration unknown or zero"))?;
    let fps = [&video.avg_frame_rate, &video.r_frame_rate]
        .into_iter()
        .filter_map(|r| rate(r.as_deref()?))
        // Some containers report their 90 kHz clock as r_frame_rate.
        .find(|&r| r <= 1000.0)
        .unwrap_or(0.0);
    let interlaced = matches!(
        video.field_order.as_deref(),
        Some(o) if o != "progressive" && o != "unknown"
    );
    Ok(ProbeInfo {
        duration,
        width,
        height,
        fps,
        rotation: rotation(video),
        interlaced,
        title: tag(&format.tags, &["title"]),
        artist: tag(&format.tags, &["artist", "album_artist"]),
        color: ColorTags {
            transfer: known(&video.color_transfer),
            primaries: known(&video.color_primaries),
            matrix: known(&video.color_space),
            range: known(&video.color_range),
            pix_fmt: known(&video.pix_fmt),
        },
    })
}

/// Why a file without a video stream to cut is not a video, in words.
fn no_video_reason(streams: &[Stream]) -> &'static str {
    let kind = |k: &str| streams.iter().any(|s| s.codec_type.as_deref() == Some(k));
    let cover = streams
        .iter()
        .any(|s| s.codec_type.as_deref() == Some("video") && flag(&s.disposition, "attached_pic"));
    match (cover, kind("audio")) {
        (true, _) => "only cover art: its one picture is an album cover, not a video stream",
        (false, true) => "audio only: no video stream",
        (false, false) => "no video stream",
    }
}

/// The duration of the first audio stream of ffprobe's JSON.
pub(crate) fn parse_audio(json: &[u8], path: &Path) -> Result<f64, TranscodeError> {
    let unusable = |reason: &str| TranscodeError::Unusable {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let probe = parse(json, path)?;
    let audio = probe
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("audio"))
        .ok_or_else(|| unusable("no audio stream"))?;
    let format = probe.format.unwrap_or_default();
    seconds(format.duration.as_deref())
        .or_else(|| seconds(audio.duration.as_deref()))
        .ok_or_else(|| unusable("duration unknown or zero"))
}

/// The first of `keys` among container tags, compared case-insensitively (Matroska
/// writes TITLE, MP4 title), trimmed; empty counts as absent.
fn tag(tags: &HashMap<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| {
        tags.iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(k))
            .and_then(|(_, v)| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    })
}

/// A colour tag, `None` when ffprobe says it is not set.
fn known(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty() && !matches!(*v, "unknown" | "unspecified" | "reserved"))
        .map(str::to_string)
}

fn flag(map: &HashMap<String, Value>, key: &str) -> bool {
    map.get(key).and_then(Value::as_i64).unwrap_or(0) != 0
}

fn seconds(s: Option<&str>) -> Option<f64> {
    s?.trim()
        .parse::<f64>()
        .ok()
        .filter(|d| d.is_finite() && *d > 0.0)
}

fn rate(s: &str) -> Option<f64> {
    let (n, d) = s.split_once('/').unwrap_or((s, "1"));
    let (n, d) = (n.trim().parse::<f64>().ok()?, d.trim().parse::<f64>().ok()?);
    let r = n / d;
    (r.is_finite() && r > 0.0).then_some(r)
}

/// Clockwise display rotation, normalised to 0/90/180/270.
fn rotation(s: &Stream) -> u32 {
    // The display matrix is what ffmpeg's autorotation obeys, so it wins over the legacy tag.
    // ffprobe prints it counter-clockwise (av_display_rotation_get); the `rotate` tag is clockwise.
    let from_matrix = s.side_data_list.iter().find_map(|sd| {
        if sd.get("side_data_type")?.as_str()? != "Display Matrix" {
            return None;
        }
        number(sd.get("rotation")?).map(|ccw| -ccw)
    });
    let from_tag = || s.tags.get("rotate").and_then(number);
    let degrees = from_matrix.or_else(from_tag).unwrap_or(0.0);
    let quarter_turns = (degrees / 90.0).round() as i64;
    (quarter_turns.rem_euclid(4) * 90) as u32
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::media::{args as test_args, ff, ffmpeg};

    #[test]
    fn parses_rotation_rate_and_interlacing() {
        let json = br#"{"streams":[
            {"codec_type":"audio","duration":"12.0"},
            {"codec_type":"video","width":1920,"height":1080,"avg_frame_rate":"0/0",
             "r_frame_rate":"30000/1001","field_order":"bt","duration":"9.5",
             "side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]}],
            "format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2"}}"#;
        let info = parse_video(json, Path::new("x.mov")).unwrap();
        assert_eq!(info.width, 1920);
        assert_eq!(info.height, 1080);
        assert!((info.fps - 29.97).abs() < 0.01);
        assert_eq!(info.duration, 9.5);
        assert_eq!(info.rotation, 90);
        assert_eq!(info.display_size(), (1080, 1920));
        assert!(info.interlaced);
    }

    #[test]
    fn rotation_normalisation() {
        let with = |sd: &str, tag: &str| {
            let json = format!(
                r#"{{"streams":[{{"codec_type":"video","width":2,"height":2,"side_data_list":[{sd}],"tags":{{{tag}}}}}],"format":{{"duration":"1"}}}}"#
            );
            parse_video(json.as_bytes(), Path::new("x"))
                .unwrap()
                .rotation
        };
        assert_eq!(with("", ""), 0);
        assert_eq!(
            with(r#"{"side_data_type":"Display Matrix","rotation":90}"#, ""),
            270
        );
        assert_eq!(
            with(r#"{"side_data_type":"Display Matrix","rotation":-180}"#, ""),
            180
        );
        assert_eq!(
            with(
                r#"{"side_data_type":"Display Matrix","rotation":-89.6}"#,
                ""
            ),
            90
        );
        assert_eq!(
            with(
                r#"{"side_data_type":"Display Matrix","rotation":0}"#,
                r#""rotate":"90""#
            ),
            0
        );
        assert_eq!(with("", r#""rotate":"-90""#), 270);
        assert_eq!(with("", r#""rotate":"450""#), 90);
    }

    #[test]
    fn rejects_what_is_not_a_video() {
        let reason = |json: &str| match parse_video(json.as_bytes(), Path::new("x")) {
            Err(TranscodeError::Unusable { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            reason(r#"{"streams":[{"codec_type":"audio"}],"format":{"duration":"3"}}"#),
            "audio only: no video stream"
        );
        let cover = r#"{"streams":[{"codec_type":"audio"},{"codec_type":"video","width":500,"height":500,"disposition":{"attached_pic":1}}],"format":{"duration":"3"}}"#;
        assert!(reason(cover).starts_with("only cover art"));
        assert_eq!(
            reason(r#"{"streams":[{"codec_type":"data"}],"format":{"duration":"3"}}"#),
            "no video stream"
        );
        let no_duration = r#"{"streams":[{"codec_type":"video","width":2,"height":2}],"format":{"duration":"N/A"}}"#;
        assert!(reason(no_duration).contains("duration"));
        let zero = r#"{"streams":[{"codec_type":"video","width":2,"height":2,"duration":"0.000"}],"format":{}}"#;
        assert!(reason(zero).contains("duration"));
        let png = r#"{"streams":[{"codec_type":"video","width":2,"height":2}],"format":{"format_name":"png_pipe","duration":"0.04"}}"#;
        assert!(reason(png).contains("still image"));
        assert!(reason("not json").contains("ffprobe output"));
    }

    #[tokio::test]
    async fn probes_a_real_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a b (1).mp4");
        let mut args = test_args([
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25:duration=2",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-threads",
            "1",
        ]);
        args.push(f.clone().into());
        ffmpeg(args);
        let info = ff().await.probe(&f).await.unwrap();
        assert_eq!((info.width, info.height), (320, 240));
        assert_eq!(info.fps, 25.0);
        assert!((info.duration - 2.0).abs() < 0.1, "{}", info.duration);
        assert_eq!(info.rotation, 0);
        assert!(!info.interlaced);
        assert_eq!(
            (info.title.as_deref(), info.artist.as_deref()),
            (None, None)
        );
    }

    #[tokio::test]
    async fn reads_title_and_artist_tags() {
        let dir = tempfile::tempdir().unwrap();
        for (name, artist_key) in [("t.mp4", "artist"), ("t.mkv", "ARTIST")] {
            let f = dir.path().join(name);
            let mut args = test_args([
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=160x120:rate=25:duration=1",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-threads",
                "1",
                "-metadata",
                "title=  Sunset: the \"best\" one  ",
            ]);
            args.push("-metadata".into());
            args.push(format!("{artist_key}=Some Creator").into());
            args.push(f.clone().into());
            ffmpeg(args);
            let info = ff().await.probe(&f).await.unwrap();
            assert_eq!(
                info.title.as_deref(),
                Some("Sunset: the \"best\" one"),
                "{name}"
            );
            assert_eq!(info.artist.as_deref(), Some("Some Creator"), "{name}");
            // Stored and read back by the library.
            let back: ProbeInfo =
                serde_json::from_str(&serde_json::to_string(&info).unwrap()).unwrap();
            assert_eq!(back, info);
        }
    }

    #[tokio::test]
    async fn rejects_empty_and_fake_files() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.mp4");
        std::fs::write(&empty, b"").unwrap();
        let fake = dir.path().join("notes.mp4");
        std::fs::write(&fake, "this is a text file, not a video\n".repeat(50)).unwrap();
        let ff = ff().await;
        for (path, want) in [(&empty, "empty"), (&fake, "ffprobe cannot read it")] {
            match ff.probe(path).await {
                Err(TranscodeError::Unusable { path: p, reason }) => {
                    assert_eq!(&p, path);
                    assert!(reason.contains(want), "{reason}");
                }
                other => panic!("{other:?}"),
            }
        }
        let missing = ff.probe(&dir.path().join("missing.mp4")).await;
        assert!(
            matches!(missing, Err(TranscodeError::Io { .. })),
            "{missing:?}"
        );
    }

    #[tokio::test]
    async fn detects_rotation() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.mp4");
        let rotated = dir.path().join("rotated.mp4");
        let mut args = test_args([
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=240x160:rate=30:duration=1",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-threads",
            "1",
        ]);
        args.push(plain.clone().into());
        ffmpeg(args);
        let mut args = test_args(["-i"]);
        args.push(plain.into());
        args.extend(test_args(["-c", "copy", "-metadata:s:v:0", "rotate=90"]));
        args.push(rotated.clone().into());
        ffmpeg(args);
        let info = ff().await.probe(&rotated).await.unwrap();
        // ffmpeg 5.1 turns the tag `rotate=90` into a display matrix of 90° counter-clockwise
        // (ffprobe: "rotation": 90), which is what its autorotation then applies: 270° clockwise.
        assert!(matches!(info.rotation, 90 | 270), "{}", info.rotation);
        assert_eq!((info.width, info.height), (240, 160));
        assert_eq!(info.display_size(), (160, 240));
    }

    #[tokio::test]
    async fn detects_interlacing() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("interlaced.mp4");
        let mut args = test_args([
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x240:rate=25:duration=1",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-threads",
            "1",
            "-flags",
            "+ilme+ildct",
            "-top",
            "1",
        ]);
        args.push(f.clone().into());
        ffmpeg(args);
        let info = ff().await.probe(&f).await.unwrap();
        assert!(info.interlaced);
    }

    #[tokio::test]
    async fn probes_audio() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tone.mp3");
        let mut args = test_args([
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:d=1.5",
            "-c:a",
            "libmp3lame",
        ]);
        args.push(f.clone().into());
        ffmpeg(args);
        let ff = ff().await;
        let d = ff.probe_audio(&f).await.unwrap();
        assert!((d - 1.5).abs() < 0.1, "{d}");
        assert!(matches!(
            ff.probe(&f).await,
            Err(TranscodeError::Unusable { .. })
        ));
    }
}
