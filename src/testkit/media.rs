//! Media made with ffmpeg's synthetic (lavfi) sources, and ffmpeg and ffprobe as
//! the independent judges of what our code writes. Blocking: tests call these
//! between the steps they time, never on a path under test.

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tokio::sync::OnceCell;

use crate::transcode::Ffmpeg;

/// How to get a missing tool, for the messages of tests that need it.
pub const INSTALL_DEPS: &str = "scripts/install-deps.sh installs it";

/// How to get a missing player or validator (`--test` adds them).
pub const INSTALL_TEST_DEPS: &str = "scripts/install-deps.sh --test installs it";

/// The located ffmpeg, one thread per process so that parallel tests fit on a
/// small machine; for tests of our own [`Ffmpeg`] calls.
pub async fn ff() -> Ffmpeg {
    static FF: OnceCell<Ffmpeg> = OnceCell::const_new();
    FF.get_or_init(|| async {
        Ffmpeg::locate()
            .await
            .unwrap_or_else(|e| panic!("{e} ({INSTALL_DEPS})"))
            .with_threads(1)
    })
    .await
    .clone()
}

/// Arguments from string literals.
pub fn args<const N: usize>(a: [&str; N]) -> Vec<OsString> {
    a.iter().map(OsString::from).collect()
}

/// An argument list as strings, to compare and search (lossy where not UTF-8).
pub fn strings(a: &[OsString]) -> Vec<String> {
    a.iter().map(|s| s.to_string_lossy().into_owned()).collect()
}

/// The value following `flag` in an argument list (its last occurrence, the one
/// ffmpeg keeps); panics when `flag` is not there.
pub fn arg_value<'a>(a: &'a [String], flag: &str) -> &'a str {
    let i = a
        .iter()
        .rposition(|x| x == flag)
        .unwrap_or_else(|| panic!("no {flag} in {a:?}"));
    &a[i + 1]
}

/// Runs `program` with `args` to its end; returns what it did. Panics only when it
/// cannot run, naming how to install it.
pub fn output<I, S>(program: &str, args: I) -> std::process::Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}): {INSTALL_DEPS}"))
}

/// Runs `program` with `args`; returns its standard output. Panics when it cannot
/// run (naming how to install it) or fails (with its standard error).
pub fn run<I, S>(program: &str, args: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().into()).collect();
    let out = output(program, &args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs ffmpeg with `args` (quiet, overwriting outputs); returns its standard
/// output, panicking with its errors on failure.
pub fn ffmpeg<I, S>(args: I) -> Vec<u8>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut all = self::args(["-hide_banner", "-nostdin", "-v", "error", "-y"]);
    all.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
    run("ffmpeg", all)
}

/// Writes `path`, H.264 (libx264 ultrafast, one thread) from the lavfi source
/// `lavfi` (e.g. `testsrc2=size=320x180:rate=30:duration=6`), with `extra` output
/// options before the file name.
pub fn make_video_with(path: &Path, lavfi: &str, extra: &[&str]) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let mut a = args(["-f", "lavfi", "-i", lavfi]);
    a.extend(args([
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-threads",
        "1",
    ]));
    a.extend(extra.iter().map(OsString::from));
    a.push(path.into());
    ffmpeg(a);
}

/// Writes `path`, H.264 from the lavfi source `lavfi` ([`make_video_with`]).
pub fn make_video(path: &Path, lavfi: &str) {
    make_video_with(path, lavfi, &[]);
}

/// Writes `path`, a stereo sine tone of `freq` Hz lasting `secs`, in the format
/// its extension names.
pub fn make_tone(path: &Path, freq: u32, secs: f64) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let source = format!("sine=f={freq}:d={secs}");
    let mut a = args(["-f", "lavfi", "-i", &source, "-ac", "2"]);
    a.push(path.into());
    ffmpeg(a);
}

/// Source videos of different sizes, frame rates and aspect ratios, one rotated and
/// one interlaced; short and small so tests stay quick on 2 cores.
pub fn make_sources(dir: &Path) -> Vec<PathBuf> {
    let p = |n: &str| dir.join(n);
    make_video(
        &p("wide-25fps.mp4"),
        "testsrc2=size=320x240:rate=25:duration=4",
    );
    make_video_with(
        &p("rotated.mp4"),
        "smptehdbars=size=240x320:rate=30:duration=4",
        &["-metadata:s:v:0", "rotate=90"],
    );
    make_video_with(
        &p("interlaced.mkv"),
        "mandelbrot=size=352x288:rate=25",
        &[
            "-t",
            "4",
            "-flags",
            "+ilme+ildct",
            "-x264-params",
            "interlaced=1:tff=1",
        ],
    );
    make_video(
        &p("square-24fps.mov"),
        "rgbtestsrc=size=200x200:rate=24:duration=4",
    );
    vec![
        p("wide-25fps.mp4"),
        p("rotated.mp4"),
        p("interlaced.mkv"),
        p("square-24fps.mov"),
    ]
}

/// Three 40 s sources, long enough for many clips (a first chunk that stays half
/// built, encodes of seconds to stop in the middle of).
pub fn make_long_sources(dir: &Path) {
    for (name, src) in [
        ("bars.mp4", "smptehdbars=size=320x240:rate=25"),
        ("test.mp4", "testsrc2=size=320x240:rate=25"),
        ("fractal.mp4", "mandelbrot=size=320x240:rate=25"),
    ] {
        make_video_with(&dir.join(name), src, &["-t", "40"]);
    }
}

/// Two short, distinct music tracks of `secs` seconds.
pub fn make_music(dir: &Path, secs: u32) -> Vec<PathBuf> {
    let a = dir.join("a-440.mp3");
    let b = dir.join("b-660.flac");
    make_tone(&a, 440, secs.into());
    make_tone(&b, 660, secs.into());
    vec![a, b]
}

/// ffprobe's JSON for `args` + `path`.
pub fn ffprobe_json(path: &Path, args: &[&str]) -> Value {
    let mut a = self::args(["-v", "error", "-of", "json"]);
    a.extend(args.iter().map(OsString::from));
    a.push(path.into());
    serde_json::from_slice(&run("ffprobe", a)).expect("ffprobe JSON")
}

/// ffprobe's streams of `path`, with frames counted (`nb_read_frames`).
pub fn streams(path: &Path) -> Vec<Value> {
    let j = ffprobe_json(path, &["-count_frames", "-show_streams", "-show_format"]);
    j["streams"].as_array().cloned().unwrap_or_default()
}

/// ffprobe's format name of `path`.
pub fn format_name(path: &Path) -> String {
    ffprobe_json(path, &["-show_format"])["format"]["format_name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A packet as ffprobe sees it.
#[derive(Debug, Clone)]
pub struct Packet {
    /// "video" or "audio".
    pub kind: String,
    /// Presentation timestamp, 90 kHz (-1 when absent).
    pub pts: i64,
    /// Decoding timestamp, 90 kHz (the PTS when absent).
    pub dts: i64,
    /// A keyframe.
    pub key: bool,
}

/// Every packet of `path`, in file order.
pub fn packets(path: &Path) -> Vec<Packet> {
    let j = ffprobe_json(path, &["-show_entries", "packet=codec_type,pts,dts,flags"]);
    j["packets"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| Packet {
                    kind: p["codec_type"].as_str().unwrap_or("").to_string(),
                    pts: p["pts"].as_i64().unwrap_or(-1),
                    dts: p["dts"]
                        .as_i64()
                        .or_else(|| p["pts"].as_i64())
                        .unwrap_or(-1),
                    key: p["flags"].as_str().unwrap_or("").contains('K'),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Steps between consecutive values, modulo the 33-bit wrap.
pub fn steps(values: &[i64]) -> Vec<i64> {
    let wrap = 1i64 << 33;
    values
        .windows(2)
        .map(|w| (w[1] - w[0]).rem_euclid(wrap))
        .collect()
}

/// The steps between consecutive video DTS and between consecutive audio PTS of
/// `path`, as ffprobe reads them (wrap-aware).
pub fn timestamp_steps(path: &Path) -> (Vec<i64>, Vec<i64>) {
    let pk = packets(path);
    let of = |kind: &str| {
        let ts: Vec<i64> = pk
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| if kind == "video" { p.dts } else { p.pts })
            .collect();
        steps(&ts)
    };
    (of("video"), of("audio"))
}

/// Video frames in `path`, as ffprobe decodes them.
pub fn frame_count(path: &Path) -> u64 {
    let mut a = args([
        "-v",
        "error",
        "-count_frames",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=nb_read_frames",
        "-of",
        "csv=p=0",
    ]);
    a.push(path.into());
    let out = run("ffprobe", a);
    // ffprobe prints the stream once per program it belongs to: take the first.
    String::from_utf8_lossy(&out)
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Decodes `path` fully; returns (decoded video frames, ffmpeg's error lines).
pub fn decode(path: &Path) -> (u64, String) {
    let frames = frame_count(path);
    // Errors are the finding here, not a failure of the judge.
    let mut a = args(["-hide_banner", "-nostdin", "-v", "error", "-i"]);
    a.push(path.into());
    a.extend(args(["-f", "null", "-"]));
    let dec = output("ffmpeg", a);
    (frames, String::from_utf8_lossy(&dec.stderr).into_owned())
}

/// The SPS and PPS NAL units of a clip file as ffmpeg's own bitstream filter
/// extracts them (an independent reader: not our demuxer).
pub fn parameter_set_bytes(path: &Path) -> Vec<u8> {
    let mut a = args(["-i"]);
    a.push(path.into());
    a.extend(args([
        "-map",
        "0:v:0",
        "-c",
        "copy",
        "-bsf:v",
        "filter_units=pass_types=7-8",
        "-f",
        "h264",
        "-",
    ]));
    ffmpeg(a)
}

/// The first decoded frame of `path` as 8-bit gray pixels, row by row.
pub fn first_frame_gray(path: &Path) -> Vec<u8> {
    first_frame(path, "gray")
}

/// The first decoded frame of `path` in the raw pixel format `pix_fmt` (`gray`,
/// `rgba`, ...), row by row.
pub fn first_frame(path: &Path, pix_fmt: &str) -> Vec<u8> {
    let mut a = args(["-v", "error", "-i"]);
    a.push(path.into());
    a.extend(args([
        "-frames:v",
        "1",
        "-f",
        "rawvideo",
        "-pix_fmt",
        pix_fmt,
        "pipe:1",
    ]));
    ffmpeg(a)
}

/// What the H.264 elementary stream of a clip holds.
#[derive(Debug)]
pub struct H264Summary {
    /// Access units (frames), counted by access unit delimiters.
    pub access_units: usize,
    /// Indexes (decode order) of the access units holding an IDR slice.
    pub idr_positions: Vec<usize>,
    /// Distinct SPS NAL units, byte for byte.
    pub sps: BTreeSet<Vec<u8>>,
    /// Distinct PPS NAL units, byte for byte.
    pub pps: BTreeSet<Vec<u8>>,
}

/// Extracts the raw H.264 stream of an MPEG-TS file with ffmpeg and reads its NAL units.
pub fn h264_summary(path: &Path) -> H264Summary {
    let mut a = args(["-i"]);
    a.push(path.into());
    a.extend(args([
        "-map", "0:v:0", "-c:v", "copy", "-f", "h264", "pipe:1",
    ]));
    let es = ffmpeg(a);
    let mut s = H264Summary {
        access_units: 0,
        idr_positions: Vec::new(),
        sps: BTreeSet::new(),
        pps: BTreeSet::new(),
    };
    for nal in nal_units(&es) {
        match nal[0] & 0x1f {
            9 => s.access_units += 1,
            5 => {
                let au = s
                    .access_units
                    .checked_sub(1)
                    .expect("an AUD before the first slice");
                if s.idr_positions.last() != Some(&au) {
                    s.idr_positions.push(au);
                }
            }
            7 => {
                s.sps.insert(nal.to_vec());
            }
            8 => {
                s.pps.insert(nal.to_vec());
            }
            _ => {}
        }
    }
    s
}

/// Splits an Annex B byte stream into NAL units (without start codes or trailing zeros).
pub fn nal_units(es: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= es.len() {
        if es[i] == 0 && es[i + 1] == 0 && es[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut nals = Vec::new();
    for (n, &s) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(es.len(), |&next| next - 3);
        let mut nal = &es[s..end];
        while let [rest @ .., 0] = nal {
            nal = rest;
        }
        if !nal.is_empty() {
            nals.push(nal);
        }
    }
    nals
}

#[test]
fn splits_nal_units() {
    let es = [
        0, 0, 0, 1, 9, 0x10, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 0, 1, 0x68, 3,
    ];
    assert_eq!(
        nal_units(&es),
        vec![&[9, 0x10][..], &[0x67, 1, 2], &[0x68, 3]]
    );
}
