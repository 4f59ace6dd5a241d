//! Clip and slate encodes: the argument lists that make every clip spliceable.
//!
//! The splicer joins clips without re-encoding, so every clip from any source, and
//! every slate, must come out with byte-identical SPS/PPS and start on an IDR frame.
//! Everything that could leak from the source into the SPS is therefore pinned here:
//! frame size and rate, sample aspect ratio, pixel format, colour description,
//! profile/level, GOP structure and B-frames.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use super::look::{self, Look};
use super::run::{self, TempOut, file_arg, os_args};
use super::{Encoder, Ffmpeg, OutputProfile, ProbeInfo, TranscodeError};

/// What every frame is told it is before it reaches the encoder: progressive,
/// BT.709, limited range. Encoders read these frame properties (and the options of
/// [`encoder_args`]) for the VUI; nothing of the source's tags may get through.
pub(crate) const PIN_FRAME: &str =
    "setparams=field_mode=prog:range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709";

/// Any SEI left (an encoder's own version string, a driver's extras) is dropped:
/// clips carry SPS, PPS and slices only.
const DROP_SEI: &str = "filter_units=remove_types=6";

/// One clip to cut and encode.
#[derive(Clone, Copy, Debug)]
pub struct ClipRequest<'a> {
    /// The source video.
    pub src: &'a Path,
    /// What ffprobe said about `src`.
    pub info: &'a ProbeInfo,
    /// Where in the source the clip starts, in seconds.
    pub start: f64,
    /// Exact number of frames to output.
    pub frames: u32,
    /// The channel's output profile.
    pub profile: &'a OutputProfile,
    /// The encoder to use.
    pub encoder: &'a Encoder,
    /// The MPEG-TS file to write.
    pub out: &'a Path,
    /// Colour grade and video wall ([`Look::NONE`] for neither).
    pub look: &'a Look,
    /// Text to burn in (a creator or a title), if any.
    pub watermark: Option<&'a str>,
    /// Where to write the clip's picture (a JPEG of its middle frame, made by the
    /// same ffmpeg run); `None` for no picture.
    pub thumbnail: Option<&'a Path>,
}

/// Where an encode is, from ffmpeg's `-progress` output.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EncodeProgress {
    /// Frames written so far.
    pub frames: u64,
    /// Output time written so far.
    pub out_time: Duration,
    /// Encode speed, 1.0 = real time; `None` until ffmpeg knows.
    pub speed: Option<f64>,
}

/// Reads ffmpeg's `-progress` lines (`key=value`, a block ending in `progress=…`).
#[derive(Default)]
pub(crate) struct ProgressParser {
    current: EncodeProgress,
}

impl ProgressParser {
    /// Takes one line; returns the progress at the end of each block.
    pub(crate) fn line(&mut self, line: &str) -> Option<EncodeProgress> {
        let (key, value) = line.trim().split_once('=')?;
        let value = value.trim();
        match key {
            "frame" => self.current.frames = value.parse().unwrap_or(self.current.frames),
            // out_time_ms is in microseconds too (an old ffmpeg misnomer); prefer _us.
            "out_time_us" | "out_time_ms" => {
                if let Ok(us) = value.parse::<u64>() {
                    self.current.out_time = Duration::from_micros(us);
                }
            }
            "speed" => {
                self.current.speed = value
                    .trim_end_matches('x')
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0)
            }
            "progress" => return Some(self.current.clone()),
            _ => {}
        }
        None
    }
}

/// The text file a watermark is read from, beside the output (hidden, removed after).
fn watermark_path(out: &Path) -> std::path::PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.with_file_name(format!(".{name}.watermark.txt"))
}

/// The H.264 level for a profile: the smallest of 4.1, 4.2, 5.1, 5.2, 6.2 that fits its frame size and rate.
pub fn h264_level(p: &OutputProfile) -> &'static str {
    let mbs = u64::from(p.width.div_ceil(16)) * u64::from(p.height.div_ceil(16));
    let mb_rate = mbs * u64::from(p.fps);
    // (level, MaxFS, MaxMBPS) from table A-1 of the H.264 spec.
    const LEVELS: [(&str, u64, u64); 5] = [
        ("4.1", 8192, 245_760),
        ("4.2", 8704, 522_240),
        ("5.1", 36_864, 983_040),
        ("5.2", 36_864, 2_073_600),
        ("6.2", 139_264, 16_711_680),
    ];
    LEVELS
        .iter()
        .find(|(_, fs, mbps)| mbs <= *fs && mb_rate <= *mbps)
        .map_or("6.2", |(l, _, _)| l)
}

/// The full ffmpeg argument list for a clip (writes to `req.out`).
pub fn clip_args(req: &ClipRequest<'_>, threads: Option<u32>) -> Vec<OsString> {
    fixed_clip_args(req, threads, &Fix::default())
}

/// A correction for a retry, when a clip's parameter sets came out unlike the
/// reference's (see `verify`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fix {
    /// Deinterlace every frame, whatever the source's flags say (field coding leaked).
    pub deinterlace_all: bool,
    /// An extra bitstream filter that rewrites the VUI to the reference's values.
    pub bsf: Option<String>,
}

/// [`clip_args`] with a correction applied.
pub(crate) fn fixed_clip_args(
    req: &ClipRequest<'_>,
    threads: Option<u32>,
    fix: &Fix,
) -> Vec<OsString> {
    if req.look.video_wall {
        return wall_args(req, threads, fix);
    }
    let mut a = common_args();
    a.extend(hw_input_args(req.encoder));
    if let Some(t) = threads {
        a.extend(os_args(["-threads".to_string(), t.to_string()]));
    }
    // Rotation is honoured by ffmpeg's autorotation, which runs before our filters,
    // so the fit below already sees displayed dimensions.
    a.extend(os_args(["-autorotate", "1"]));
    if req.start > 0.0 {
        // Before -i: a fast keyframe seek, then exact trimming to `start` by decoding.
        a.extend(os_args(["-ss".to_string(), format!("{:.3}", req.start)]));
    }
    a.push("-i".into());
    a.push(file_arg(req.src));
    let chain = clip_filter(req, fix);
    match req.thumbnail {
        None => {
            let mut vf = chain;
            vf.extend(upload_filter(req.encoder));
            a.extend(os_args(["-map", "0:v:0", "-an", "-sn", "-dn"]));
            a.extend(os_args(["-vf".to_string(), vf.join(",")]));
        }
        Some(_) => {
            let graph = vec![format!("[0:v:0]{}", chain.join(","))];
            a.extend(complex_graph(graph, req, threads));
        }
    }
    a.extend(os_args(["-frames:v".to_string(), req.frames.to_string()]));
    a.extend(output_args(req.profile, req.encoder, threads, fix, req.out));
    a.extend(req.thumbnail.map(picture_output).unwrap_or_default());
    a
}

/// The `-filter_complex` of a clip whose frames (pinned, padded, not yet on the
/// GPU) leave the last chain of `graph`, mapped to the clip's output as `[vout]`.
/// With a picture asked for, the frames are split there: one branch goes on to
/// the encoder exactly as without a picture, the other picks the middle frame for
/// [`picture_output`] (`[pic]`). Split before any upload, so the picture is made on
/// the CPU from the very frames the encoder gets.
fn complex_graph(
    mut graph: Vec<String>,
    req: &ClipRequest<'_>,
    threads: Option<u32>,
) -> Vec<OsString> {
    let upload = upload_filter(req.encoder);
    let last = graph.pop().unwrap_or_default();
    if req.thumbnail.is_some() {
        match upload {
            Some(u) => {
                graph.push(format!("{last},split=2[enc][pic]"));
                graph.push(format!("[enc]{u}[vout]"));
            }
            None => graph.push(format!("{last},split=2[vout][pic]")),
        }
        graph.push(format!(
            "[pic]select=eq(n\\,{}),{}[picout]",
            req.frames / 2,
            super::picture::scale_to(super::picture::PICTURE_WIDTH)
        ));
    } else {
        graph.push(match upload {
            Some(u) => format!("{last},{u}[vout]"),
            None => format!("{last}[vout]"),
        });
    }
    let mut a = Vec::new();
    if let Some(t) = threads {
        // -filter_threads is for simple graphs only: a complex one has its own.
        a.extend(os_args([
            "-filter_complex_threads".to_string(),
            t.to_string(),
        ]));
    }
    a.extend(os_args([
        "-filter_complex".to_string(),
        graph.join(";"),
        "-map".to_string(),
        "[vout]".to_string(),
        "-an".to_string(),
        "-sn".to_string(),
        "-dn".to_string(),
    ]));
    a
}

/// The second output of a clip encode: its picture, from the graph's `[picout]`.
fn picture_output(path: &Path) -> Vec<OsString> {
    let mut a = os_args(["-map", "[picout]"]);
    a.extend(super::picture::jpeg_output(path));
    a
}

/// The filter chain of a clip: deinterlace, fit, pad, fixed rate and format, padded
/// end; the upload to the GPU (if any) is the caller's.
fn clip_filter(req: &ClipRequest<'_>, fix: &Fix) -> Vec<String> {
    let (w, h) = (req.profile.width, req.profile.height);
    let mut f = source_filters(req.info, fix);
    // Before scaling, so a 60 fps source only has half its frames scaled.
    f.push(format!("fps={}", req.profile.fps));
    // Fit the *display* aspect (dar includes the sample aspect ratio, so anamorphic
    // sources are not squeezed), rounded to even sizes for 4:2:0.
    f.push(format!(
        "scale=w='if(gt(dar*{h},{w}),{w},max(2,trunc({h}*dar/2+0.5)*2))'\
         :h='if(gt(dar*{h},{w}),max(2,trunc({w}/dar/2+0.5)*2),{h})'\
         :flags=bicubic{}",
        scale_colour(req.info)
    ));
    f.extend(tone_map(req.info));
    // Right after scale, so scale converts once and no second converter is auto-inserted.
    // The look's filters work on yuv420p; a GPU encoder's format follows them.
    let graded = req.look.grade.filter().is_some() || req.watermark.is_some();
    let fmt = if graded {
        "yuv420p"
    } else {
        pix_fmt(req.encoder)
    };
    f.push(format!("format={fmt}"));
    f.push(format!("pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black"));
    finish_chain(&mut f, req, graded);
    f
}

/// The first filters of every source: side data dropped (captions, HDR metadata,
/// stereo 3D, user data: an encoder would copy them into SEI or VUI), then
/// deinterlacing when the source is interlaced.
pub(super) fn source_filters(info: &ProbeInfo, fix: &Fix) -> Vec<String> {
    let mut f = vec!["sidedata=mode=delete".to_string()];
    if fix.deinterlace_all {
        f.push("yadif=mode=send_frame:parity=auto:deint=all".to_string());
    } else if info.interlaced {
        // send_frame keeps the frame rate; deint=interlaced leaves progressive frames alone.
        f.push("yadif=mode=send_frame:parity=auto:deint=interlaced".to_string());
    }
    f
}

/// The colour conversion options of the fit `scale`: to BT.709 limited range, except
/// for HDR, which [`tone_map`] converts (a matrix change on PQ or HLG values would be
/// wrong, so scale only resizes those).
fn scale_colour(info: &ProbeInfo) -> &'static str {
    if info.color.hdr_transfer().is_some() {
        ""
    } else {
        ":out_color_matrix=bt709:out_range=tv"
    }
}

/// PQ and HLG sources to BT.709 SDR (zimg's linearisation, then the Hable curve), so
/// they do not look washed out; `None` for SDR sources.
pub(super) fn tone_map(info: &ProbeInfo) -> Option<String> {
    let transfer = info.color.hdr_transfer()?;
    let c = &info.color;
    let primaries = c
        .primaries
        .as_deref()
        .filter(|p| *p == "bt2020")
        .unwrap_or("bt2020");
    let matrix = match c.matrix.as_deref() {
        Some("bt2020c") => "bt2020c",
        _ => "bt2020nc",
    };
    let range = if c.full_range() { "full" } else { "limited" };
    Some(format!(
        "zscale=tin={transfer}:pin={primaries}:min={matrix}:rin={range}:t=linear:npl=100,\
         format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=hable:desat=0,\
         zscale=t=bt709:m=bt709:r=limited"
    ))
}

/// The end of every clip chain: the look, square pixels, the encoder's format, the
/// padded end (the upload to the GPU comes after, see [`complex_graph`]).
fn finish_chain(f: &mut Vec<String>, req: &ClipRequest<'_>, graded: bool) {
    f.extend(req.look.grade.filter().map(str::to_string));
    if req.watermark.is_some() {
        f.push(look::watermark_filter(
            req.profile,
            &watermark_path(req.out),
        ));
    }
    f.push("setsar=1".to_string());
    f.push(PIN_FRAME.to_string());
    // Grading filters may hand on 4:4:4 or RGB: pin what the encoder gets.
    if graded {
        f.push(format!("format={}", pix_fmt(req.encoder)));
    }
    // A source that ends early repeats its last frame, so -frames:v is always reached.
    f.push(format!("tpad=stop_mode=clone:stop={}", req.frames));
}

/// A three-panel video wall: the source three times, at three moments, side by side.
fn wall_args(req: &ClipRequest<'_>, threads: Option<u32>, fix: &Fix) -> Vec<OsString> {
    let (w, h) = (req.profile.width, req.profile.height);
    // Even panel widths for 4:2:0; the pad centres the wall if 3 panels fall short.
    let pw = ((w / 3) & !1).max(2);
    let len = f64::from(req.frames) / f64::from(req.profile.fps.max(1));
    let duration = req.info.duration;
    let mut a = common_args();
    a.extend(hw_input_args(req.encoder));
    if let Some(t) = threads {
        a.extend(os_args(["-threads".to_string(), t.to_string()]));
    }
    let mut graph = Vec::new();
    for k in 0..3u32 {
        // Each panel a clip's length later; wrapped into the source when it is short.
        let mut at = req.start + f64::from(k) * len;
        if at + len > duration {
            at = (duration - len).max(0.0) * f64::from(k) / 3.0;
        }
        a.extend(os_args(["-autorotate", "1"]));
        if at > 0.0 {
            a.extend(os_args(["-ss".to_string(), format!("{at:.3}")]));
        }
        a.push("-i".into());
        a.push(file_arg(req.src));
        let mut p = source_filters(req.info, fix);
        p.push(format!("fps={}", req.profile.fps));
        // Fill the panel (crop the excess): a wall of letterboxed slivers looks broken.
        p.push(format!(
            "scale={pw}:{h}:force_original_aspect_ratio=increase:flags=bicubic{}",
            scale_colour(req.info)
        ));
        p.extend(tone_map(req.info));
        p.push(format!("crop={pw}:{h}"));
        p.push("setsar=1".to_string());
        p.push("format=yuv420p".to_string());
        graph.push(format!("[{k}:v:0]{}[p{k}]", p.join(",")));
    }
    let mut f = vec![
        "[p0][p1][p2]hstack=inputs=3".to_string(),
        format!("pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black"),
    ];
    finish_chain(&mut f, req, true);
    graph.push(f.join(","));
    a.extend(complex_graph(graph, req, threads));
    a.extend(os_args(["-frames:v".to_string(), req.frames.to_string()]));
    a.extend(output_args(req.profile, req.encoder, threads, fix, req.out));
    a.extend(req.thumbnail.map(picture_output).unwrap_or_default());
    a
}

/// Global options of every encode; progress goes to stdout so the frame count can be checked.
fn common_args() -> Vec<OsString> {
    os_args([
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostats",
        "-progress",
        "pipe:1",
    ])
}

/// Options the encoder needs before the input (the VA-API device).
pub(crate) fn hw_input_args(encoder: &Encoder) -> Vec<OsString> {
    match encoder {
        Encoder::Vaapi { device } => vec!["-vaapi_device".into(), device.clone().into_os_string()],
        _ => Vec::new(),
    }
}

/// The pixel format the encoder is fed.
pub(crate) fn pix_fmt(encoder: &Encoder) -> &'static str {
    match encoder {
        Encoder::X264 | Encoder::Nvenc => "yuv420p",
        Encoder::Vaapi { .. } | Encoder::Qsv => "nv12",
    }
}

/// The filter that moves frames to the GPU, for encoders that need it.
pub(crate) fn upload_filter(encoder: &Encoder) -> Option<String> {
    matches!(encoder, Encoder::Vaapi { .. }).then(|| "hwupload".to_string())
}

/// Encoder options, identical for clips, slates and test encodes.
pub(crate) fn encoder_args(p: &OutputProfile, encoder: &Encoder) -> Vec<OsString> {
    let level = h264_level(p);
    let (gop, kbps) = (p.gop_frames.max(1).to_string(), p.video_kbps.max(1));
    let (rate, buf) = (format!("{kbps}k"), format!("{}k", kbps * 2));
    let rate_args = ["-b:v", &rate, "-maxrate", &rate, "-bufsize", &buf];
    // The IDR at every GOP boundary is also forced, in case an encoder drifts.
    let force = format!("expr:eq(mod(n,{gop}),0)");
    let gop_args = ["-g", &gop, "-bf", "2", "-force_key_frames", &force];
    let mut a: Vec<&str> = Vec::new();
    let qsv_level = level.replace('.', "");
    match encoder {
        Encoder::X264 => {
            a.extend(["-c:v", "libx264", "-preset", "veryfast"]);
            a.extend(["-profile:v", "high", "-level:v", level]);
            a.extend(rate_args);
            a.extend(gop_args);
            a.extend([
                "-keyint_min",
                &gop,
                "-sc_threshold",
                "0",
                "-forced-idr",
                "1",
            ]);
            // Closed GOPs and SPS/PPS before every IDR, whatever x264's defaults; the
            // VUI written out in x264's own terms, which win over anything libavcodec
            // derives from the input (chroma location 0 is "left", written as absent).
            a.extend([
                "-x264-params",
                "open-gop=0:scenecut=0:repeat-headers=1:colorprim=bt709:transfer=bt709\
                 :colormatrix=bt709:range=tv:chromaloc=0:sar=1/1:overscan=undef:videoformat=undef",
            ]);
            a.extend(["-a53cc", "0", "-udu_sei", "0"]);
        }
        Encoder::Nvenc => {
            a.extend(["-c:v", "h264_nvenc", "-preset", "p4", "-tune", "hq"]);
            a.extend(["-profile:v", "high", "-level:v", level, "-rc", "vbr"]);
            a.extend(rate_args);
            a.extend(gop_args);
            a.extend(["-b_ref_mode", "disabled", "-forced-idr", "1"]);
            a.extend(["-no-scenecut", "1", "-strict_gop", "1"]);
            a.extend(["-a53cc", "0", "-udu_sei", "0", "-extra_sei", "0"]);
        }
        Encoder::Vaapi { .. } => {
            a.extend([
                "-c:v",
                "h264_vaapi",
                "-profile:v",
                "high",
                "-level:v",
                level,
            ]);
            a.extend(["-rc_mode", "VBR"]);
            a.extend(rate_args);
            a.extend(gop_args);
            // 0: every I frame is an IDR frame. No SEI: its timing variant would add
            // HRD parameters to the SPS.
            a.extend(["-idr_interval", "0", "-sei", "0"]);
        }
        Encoder::Qsv => {
            // h264_qsv takes the level as a plain number (41, not 4.1).
            a.extend([
                "-c:v",
                "h264_qsv",
                "-preset",
                "medium",
                "-profile:v",
                "high",
            ]);
            a.extend(["-level:v", &qsv_level]);
            a.extend(rate_args);
            a.extend(gop_args);
            a.extend(["-idr_interval", "0", "-look_ahead", "0", "-forced_idr", "1"]);
            // pic_timing SEI would put pic_struct into the SPS.
            a.extend(["-a53cc", "0", "-pic_timing_sei", "0"]);
        }
    }
    // Pinned so that a source's colour tags can never reach the SPS's VUI.
    a.extend(["-colorspace", "bt709", "-color_primaries", "bt709"]);
    a.extend(["-color_trc", "bt709", "-color_range", "tv"]);
    a.extend(["-chroma_sample_location", "left"]);
    a.extend(["-bsf:v", DROP_SEI]);
    os_args(a)
}

/// Encoder, thread and MPEG-TS output options, ending with the output file.
fn output_args(
    p: &OutputProfile,
    encoder: &Encoder,
    threads: Option<u32>,
    fix: &Fix,
    out: &Path,
) -> Vec<OsString> {
    let mut a = Vec::new();
    if let Some(t) = threads {
        a.extend(os_args([
            "-filter_threads".to_string(),
            t.to_string(),
            "-threads".to_string(),
            t.to_string(),
        ]));
    }
    a.extend(encoder_args(p, encoder));
    if let Some(bsf) = &fix.bsf {
        // The last -bsf:v wins: the whole chain again, with the correction.
        a.extend(os_args(["-bsf:v".to_string(), format!("{DROP_SEI},{bsf}")]));
    }
    // No container metadata or chapters of the source in a clip.
    a.extend(os_args(["-map_metadata", "-1", "-map_chapters", "-1"]));
    a.extend(os_args(["-f", "mpegts", "-y"]));
    a.push(file_arg(out));
    a
}

/// The ffmpeg arguments of a slate: background, optional text, same encoder options as clips.
pub(crate) fn slate_args(
    p: &OutputProfile,
    encoder: &Encoder,
    frames: u32,
    threads: Option<u32>,
    with_text: bool,
    out: &Path,
) -> Vec<OsString> {
    let (w, h) = (p.width, p.height);
    let mut a = common_args();
    a.extend(hw_input_args(encoder));
    a.extend(os_args([
        "-f".to_string(),
        "lavfi".to_string(),
        "-i".to_string(),
        format!("color=c=0x0b1320:s={w}x{h}:r={}", p.fps),
    ]));
    let mut f = Vec::new();
    if with_text {
        let (big, small) = ((h / 8).max(8), (h / 22).max(6));
        f.push(format!(
            "drawtext=text='shufflecast':fontcolor=white:fontsize={big}\
             :x=(w-text_w)/2:y=(h-text_h)/2-{}",
            h / 14
        ));
        f.push(format!(
            "drawtext=text='next clip coming up':fontcolor=0xa8b4c8:fontsize={small}\
             :x=(w-text_w)/2:y=h/2+{}",
            h / 12
        ));
    } else {
        // Without fonts: a plain bar, so the slate is still recognisably not a clip.
        f.push(format!(
            "drawbox=x={}:y={}:w={}:h={}:color=0x3a4a66:t=fill",
            w / 4,
            h / 2 - (h / 60).max(1),
            w / 2,
            (h / 30).max(2)
        ));
    }
    f.push("setsar=1".to_string());
    f.push(PIN_FRAME.to_string());
    f.push(format!("format={}", pix_fmt(encoder)));
    f.extend(upload_filter(encoder));
    a.extend(os_args(["-vf".to_string(), f.join(",")]));
    a.extend(os_args(["-frames:v".to_string(), frames.to_string()]));
    a.extend(output_args(p, encoder, threads, &Fix::default(), out));
    a
}

/// The number of frames ffmpeg's `-progress` output says it wrote.
fn progress_frames(stdout: &[u8]) -> Option<u32> {
    String::from_utf8_lossy(stdout)
        .lines()
        .rev()
        .filter_map(|l| l.trim().strip_prefix("frame="))
        .find_map(|n| n.trim().parse().ok())
}

/// An encode may legitimately take long on a slow CPU, but must not hang the channel forever.
fn encode_timeout(frames: u32, fps: u32) -> Duration {
    let secs = f64::from(frames) / f64::from(fps.max(1));
    Duration::from_secs(120) + Duration::from_secs_f64(secs * 30.0)
}

impl Ffmpeg {
    /// Cuts `req.frames` frames from `req.start` in `req.src` and encodes them to `req.out` (MPEG-TS, video only).
    pub async fn encode_clip(&self, req: &ClipRequest<'_>) -> Result<(), TranscodeError> {
        let (tx, _) = tokio::sync::watch::channel(EncodeProgress::default());
        self.encode_clip_with_progress(req, &tx).await
    }

    /// [`Ffmpeg::encode_clip`], publishing progress on `progress` as ffmpeg reports it
    /// (about twice a second).
    pub async fn encode_clip_with_progress(
        &self,
        req: &ClipRequest<'_>,
        progress: &tokio::sync::watch::Sender<EncodeProgress>,
    ) -> Result<(), TranscodeError> {
        self.encode_clip_fixed(req, progress, &Fix::default(), None)
            .await
    }

    /// One encode of a clip, with `fix` applied; when `reference` is given, the
    /// clip's parameter sets must equal it, or nothing is written and the error is
    /// [`TranscodeError::Mismatch`].
    pub(crate) async fn encode_clip_fixed(
        &self,
        req: &ClipRequest<'_>,
        progress: &tokio::sync::watch::Sender<EncodeProgress>,
        fix: &Fix,
        reference: Option<&crate::media::h264::ParameterSets>,
    ) -> Result<(), TranscodeError> {
        let tmp = TempOut::beside(req.out).await?;
        let picture = match req.thumbnail {
            Some(p) => Some((p, TempOut::beside(p).await?)),
            None => None,
        };
        let req = ClipRequest {
            out: tmp.path(),
            thumbnail: picture.as_ref().map(|(_, t)| t.path()),
            ..*req
        };
        let text_file = watermark_path(req.out);
        if let Some(text) = req.watermark {
            tokio::fs::write(&text_file, look::watermark_text(text))
                .await
                .map_err(|e| TranscodeError::io(format!("writing {}", text_file.display()), e))?;
        }
        let args = fixed_clip_args(&req, self.threads, fix);
        let mut parser = ProgressParser::default();
        let mut on_line = |line: &str| {
            if let Some(p) = parser.line(line) {
                progress.send_replace(p);
            }
        };
        let result = self
            .encode_with(&args, req.frames, req.profile.fps, &mut on_line)
            .await;
        if req.watermark.is_some() {
            let _ = tokio::fs::remove_file(&text_file).await;
        }
        result?;
        if let Some(reference) = reference {
            super::verify::check(tmp.path(), reference).await?;
        }
        tmp.commit().await?;
        // After the clip, so a picture never exists without its clip. A clip without
        // its picture is still a clip: it shows none.
        if let Some((target, pic)) = picture {
            if pic.path().is_file() {
                if let Err(e) = pic.commit().await {
                    tracing::warn!(picture = %target.display(), error = %e, "the clip's picture could not be kept");
                }
            } else {
                tracing::warn!(picture = %target.display(), "ffmpeg wrote no picture for the clip");
            }
        }
        Ok(())
    }

    /// Encodes a `frames`-long slate ("shufflecast / next clip coming up") to `out`, spliceable between clips.
    pub async fn encode_slate(
        &self,
        profile: &OutputProfile,
        encoder: &Encoder,
        frames: u32,
        out: &Path,
    ) -> Result<(), TranscodeError> {
        let tmp = TempOut::beside(out).await?;
        let args = |text| slate_args(profile, encoder, frames, self.threads, text, tmp.path());
        match self.encode(&args(true), frames, profile.fps).await {
            Ok(()) => {}
            // Most likely drawtext without any font installed: a slate without text will do.
            Err(e @ TranscodeError::Failed { .. }) => {
                tracing::warn!(
                    "slate with text failed ({}); making a plain slate instead",
                    run::cause(&e)
                );
                self.encode(&args(false), frames, profile.fps).await?;
            }
            Err(e) => return Err(e),
        }
        tmp.commit().await
    }

    /// Runs one encode and checks that it wrote exactly `frames` frames.
    pub(crate) async fn encode(
        &self,
        args: &[OsString],
        frames: u32,
        fps: u32,
    ) -> Result<(), TranscodeError> {
        self.encode_with(args, frames, fps, &mut |_| {}).await
    }

    /// [`Self::encode`], with each line of ffmpeg's progress output handed to `on_line`.
    async fn encode_with(
        &self,
        args: &[OsString],
        frames: u32,
        fps: u32,
        on_line: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), TranscodeError> {
        if frames == 0 {
            return Err(TranscodeError::Failed {
                program: "ffmpeg".into(),
                status: "not run".into(),
                last_lines: "asked for 0 frames".into(),
            });
        }
        // The no-progress watchdog: the frame count of the -progress lines must grow.
        let (seen, progress) = tokio::sync::watch::channel(0u64);
        let mut watch_line = |line: &str| {
            if let Some(n) = line
                .strip_prefix("frame=")
                .and_then(|n| n.trim().parse::<u64>().ok())
            {
                seen.send_if_modified(|best| {
                    let grew = n > *best;
                    *best = (*best).max(n);
                    grew
                });
            }
            on_line(line);
        };
        let stall = run::Stall {
            limit: self.stall,
            progress,
        };
        let stdout = run::run_watched(
            &self.ffmpeg,
            args,
            encode_timeout(frames, fps),
            self.nice,
            &mut watch_line,
            stall,
        )
        .await?;
        match progress_frames(&stdout) {
            Some(n) if n == frames => Ok(()),
            got => Err(TranscodeError::Failed {
                program: run::program_name(&self.ffmpeg),
                status: "exit status: 0".into(),
                last_lines: format!(
                    "wrote {} frames instead of {frames} (clip start beyond the end of the source?)",
                    got.map_or("an unknown number of".to_string(), |n| n.to_string())
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::clip::TEST_PROFILE;
    use crate::testkit::media::{self, args, ff, ffmpeg};
    use crate::transcode::ColorGrade;
    use std::path::PathBuf;

    fn strings(a: &[OsString]) -> Vec<String> {
        a.iter().map(|s| s.to_string_lossy().into_owned()).collect()
    }

    /// The value following `flag` (the last occurrence).
    fn value<'a>(a: &'a [String], flag: &str) -> &'a str {
        let i = a
            .iter()
            .rposition(|x| x == flag)
            .unwrap_or_else(|| panic!("no {flag} in {a:?}"));
        &a[i + 1]
    }

    fn info(interlaced: bool) -> ProbeInfo {
        ProbeInfo {
            duration: 30.0,
            width: 1920,
            height: 1080,
            fps: 25.0,
            rotation: 0,
            interlaced,
            title: None,
            artist: None,
            color: Default::default(),
        }
    }

    fn profile() -> OutputProfile {
        OutputProfile {
            width: 1280,
            height: 720,
            fps: 30,
            gop_frames: 180,
            video_kbps: 3000,
        }
    }

    fn build(encoder: &Encoder, interlaced: bool, threads: Option<u32>) -> Vec<String> {
        let info = info(interlaced);
        let profile = profile();
        let req = ClipRequest::test(
            Path::new("-weird name.mp4"),
            &info,
            Path::new("/tmp/out dir/clip.ts"),
        )
        .at(12.5)
        .frames(360)
        .profile(&profile)
        .encoder(encoder);
        strings(&clip_args(&req, threads))
    }

    #[test]
    fn levels() {
        let l = |w, h, fps| h264_level(&OutputProfile::new(w, h, fps, 2));
        assert_eq!(l(640, 360, 30), "4.1");
        assert_eq!(l(1280, 720, 60), "4.1");
        assert_eq!(l(1920, 1080, 30), "4.1");
        assert_eq!(l(1920, 1080, 60), "4.2");
        assert_eq!(l(2560, 1440, 30), "5.1");
        assert_eq!(l(3840, 2160, 30), "5.1");
        assert_eq!(l(3840, 2160, 60), "5.2");
    }

    #[test]
    fn x264_args() {
        let a = build(&Encoder::X264, false, None);
        // Seek before the input, input given as file: so "-weird" is no option.
        let ss = a.iter().position(|x| x == "-ss").unwrap();
        let i = a.iter().position(|x| x == "-i").unwrap();
        assert!(ss < i);
        assert_eq!(a[ss + 1], "12.500");
        assert_eq!(a[i + 1], "file:-weird name.mp4");
        assert_eq!(a.last().unwrap(), "file:/tmp/out dir/clip.ts");
        for flag in ["-nostdin", "-an", "-sn", "-dn", "-y"] {
            assert!(a.iter().any(|x| x == flag), "{flag}");
        }
        assert_eq!(value(&a, "-map"), "0:v:0");
        assert_eq!(value(&a, "-autorotate"), "1");
        assert_eq!(value(&a, "-loglevel"), "error");
        assert_eq!(value(&a, "-frames:v"), "360");
        assert_eq!(value(&a, "-f"), "mpegts");
        assert_eq!(value(&a, "-c:v"), "libx264");
        assert_eq!(value(&a, "-preset"), "veryfast");
        assert_eq!(value(&a, "-profile:v"), "high");
        assert_eq!(value(&a, "-level:v"), "4.1");
        assert_eq!(value(&a, "-b:v"), "3000k");
        assert_eq!(value(&a, "-maxrate"), "3000k");
        assert_eq!(value(&a, "-bufsize"), "6000k");
        assert_eq!(value(&a, "-g"), "180");
        assert_eq!(value(&a, "-keyint_min"), "180");
        assert_eq!(value(&a, "-sc_threshold"), "0");
        assert_eq!(value(&a, "-bf"), "2");
        assert_eq!(value(&a, "-force_key_frames"), "expr:eq(mod(n,180),0)");
        assert!(value(&a, "-x264-params").contains("open-gop=0"));
        assert_eq!(value(&a, "-colorspace"), "bt709");
        assert_eq!(value(&a, "-color_range"), "tv");
        assert!(!a.iter().any(|x| x == "-tune" || x == "-threads"));
        let vf = value(&a, "-vf");
        assert!(!vf.contains("yadif"), "{vf}");
        assert!(vf.starts_with("sidedata=mode=delete,fps=30,scale="), "{vf}");
        assert!(
            vf.contains("pad=1280:720:(ow-iw)/2:(oh-ih)/2:color=black"),
            "{vf}"
        );
        assert!(vf.contains(",format=yuv420p,"), "{vf}");
        assert!(
            vf.ends_with(&format!(
                "setsar=1,{PIN_FRAME},tpad=stop_mode=clone:stop=360"
            )),
            "{vf}"
        );
        // Nothing of the source reaches the bitstream: no captions or user data, a
        // chroma location, no SEI, no container metadata.
        assert_eq!(value(&a, "-a53cc"), "0");
        assert_eq!(value(&a, "-udu_sei"), "0");
        assert_eq!(value(&a, "-chroma_sample_location"), "left");
        assert!(value(&a, "-x264-params").contains(":chromaloc=0:sar=1/1"));
        assert_eq!(value(&a, "-bsf:v"), DROP_SEI);
        assert_eq!(value(&a, "-map_metadata"), "-1");
        assert!(!vf.contains("zscale"), "SDR is not tone-mapped: {vf}");
    }

    #[test]
    fn hdr_is_tone_mapped_and_a_fix_reaches_the_arguments() {
        let mut i = info(false);
        i.color.transfer = Some("smpte2084".into());
        i.color.primaries = Some("bt2020".into());
        i.color.matrix = Some("bt2020nc".into());
        let profile = profile();
        let req = ClipRequest::test(Path::new("hdr.mkv"), &i, Path::new("o.ts"))
            .frames(30)
            .profile(&profile);
        let a = strings(&clip_args(&req, None));
        let vf = value(&a, "-vf");
        assert!(
            vf.contains("zscale=tin=smpte2084:pin=bt2020:min=bt2020nc:rin=limited:t=linear"),
            "{vf}"
        );
        assert!(vf.contains("tonemap=tonemap=hable"), "{vf}");
        // The resize leaves PQ values alone; zscale converts them.
        assert!(!vf.contains("out_color_matrix"), "{vf}");
        let fix = Fix {
            deinterlace_all: true,
            bsf: Some("h264_metadata=colour_primaries=1".into()),
        };
        let a = strings(&fixed_clip_args(&req, None, &fix));
        assert!(value(&a, "-vf").contains("yadif=mode=send_frame:parity=auto:deint=all"));
        assert_eq!(
            value(&a, "-bsf:v"),
            format!("{DROP_SEI},h264_metadata=colour_primaries=1")
        );
    }

    #[test]
    fn interlaced_threads_and_no_seek() {
        let a = build(&Encoder::X264, true, Some(2));
        assert!(value(&a, "-vf").starts_with("sidedata=mode=delete,yadif=mode=send_frame"));
        // Once for the decoder (before -i), once for the encoder.
        let i = a.iter().position(|x| x == "-i").unwrap();
        let threads: Vec<_> = a
            .iter()
            .enumerate()
            .filter(|(_, x)| *x == "-threads")
            .map(|(n, _)| n)
            .collect();
        assert_eq!(threads.len(), 2);
        assert!(threads[0] < i && threads[1] > i);
        assert_eq!(value(&a, "-filter_threads"), "2");

        let info = info(false);
        let profile = profile();
        let req = ClipRequest::test(Path::new("a.mp4"), &info, Path::new("o.ts"))
            .frames(10)
            .profile(&profile);
        assert!(!strings(&clip_args(&req, None)).iter().any(|x| x == "-ss"));
    }

    #[test]
    fn nvenc_args() {
        let a = build(&Encoder::Nvenc, false, None);
        assert_eq!(value(&a, "-c:v"), "h264_nvenc");
        assert_eq!(value(&a, "-preset"), "p4");
        assert_eq!(value(&a, "-rc"), "vbr");
        assert_eq!(value(&a, "-level:v"), "4.1");
        assert_eq!(value(&a, "-maxrate"), "3000k");
        assert_eq!(value(&a, "-g"), "180");
        assert_eq!(value(&a, "-bf"), "2");
        assert_eq!(value(&a, "-forced-idr"), "1");
        assert_eq!(value(&a, "-no-scenecut"), "1");
        assert!(value(&a, "-vf").contains(",format=yuv420p,"));
        for (flag, v) in [("-a53cc", "0"), ("-udu_sei", "0"), ("-extra_sei", "0")] {
            assert_eq!(value(&a, flag), v, "{flag}");
        }
        assert!(
            !a.iter()
                .any(|x| x == "-x264-params" || x == "-vaapi_device")
        );
    }

    #[test]
    fn vaapi_args() {
        let enc = Encoder::Vaapi {
            device: PathBuf::from("/dev/dri/renderD129"),
        };
        let a = build(&enc, true, None);
        let dev = a.iter().position(|x| x == "-vaapi_device").unwrap();
        assert!(dev < a.iter().position(|x| x == "-i").unwrap());
        assert_eq!(a[dev + 1], "/dev/dri/renderD129");
        assert_eq!(value(&a, "-c:v"), "h264_vaapi");
        assert_eq!(value(&a, "-rc_mode"), "VBR");
        assert_eq!(value(&a, "-idr_interval"), "0");
        assert_eq!(value(&a, "-g"), "180");
        assert_eq!(value(&a, "-bf"), "2");
        let vf = value(&a, "-vf");
        assert!(vf.starts_with("sidedata=mode=delete,yadif"), "{vf}");
        assert_eq!(value(&a, "-sei"), "0");
        assert!(vf.contains(",format=nv12,"), "{vf}");
        assert!(vf.ends_with(",hwupload"), "{vf}");
    }

    #[test]
    fn qsv_args() {
        let a = build(&Encoder::Qsv, false, None);
        assert_eq!(value(&a, "-c:v"), "h264_qsv");
        assert_eq!(value(&a, "-level:v"), "41");
        assert_eq!(value(&a, "-look_ahead"), "0");
        assert_eq!(value(&a, "-idr_interval"), "0");
        assert_eq!(value(&a, "-forced_idr"), "1");
        assert_eq!(value(&a, "-a53cc"), "0");
        assert_eq!(value(&a, "-pic_timing_sei"), "0");
        assert_eq!(value(&a, "-g"), "180");
        let vf = value(&a, "-vf");
        assert!(
            vf.contains(",format=nv12,") && !vf.contains("hwupload"),
            "{vf}"
        );
    }

    /// What must hold on every encoder path, GPU ones included (they cannot run
    /// here): the frames pinned, the colour description and chroma location given,
    /// SEI dropped, no container metadata.
    #[test]
    fn every_encoder_gets_the_same_pins() {
        for enc in [
            Encoder::X264,
            Encoder::Nvenc,
            Encoder::Qsv,
            Encoder::Vaapi {
                device: PathBuf::from("/dev/dri/renderD128"),
            },
        ] {
            let a = build(&enc, true, None);
            let vf = value(&a, "-vf");
            assert!(vf.starts_with("sidedata=mode=delete,"), "{enc}: {vf}");
            assert!(
                vf.contains(&format!("setsar=1,{PIN_FRAME},")),
                "{enc}: {vf}"
            );
            for (flag, v) in [
                ("-colorspace", "bt709"),
                ("-color_primaries", "bt709"),
                ("-color_trc", "bt709"),
                ("-color_range", "tv"),
                ("-chroma_sample_location", "left"),
                ("-bsf:v", DROP_SEI),
                ("-map_metadata", "-1"),
            ] {
                assert_eq!(value(&a, flag), v, "{enc} {flag}");
            }
        }
    }

    #[test]
    fn slate_args_share_the_encoder_options() {
        let p = profile();
        for enc in [Encoder::X264, Encoder::Nvenc, Encoder::Qsv] {
            let slate = strings(&slate_args(&p, &enc, 30, None, true, Path::new("s.ts")));
            let enc_args = strings(&encoder_args(&p, &enc));
            let at = slate.iter().position(|x| *x == enc_args[0]).unwrap();
            assert_eq!(&slate[at..at + enc_args.len()], &enc_args[..]);
            assert!(value(&slate, "-vf").contains("drawtext"));
        }
        let plain = strings(&slate_args(
            &p,
            &Encoder::X264,
            30,
            None,
            false,
            Path::new("s.ts"),
        ));
        assert!(!value(&plain, "-vf").contains("drawtext"));
    }

    /// `flag`'s values, every occurrence.
    fn values<'a>(a: &'a [String], flag: &str) -> Vec<&'a str> {
        a.iter()
            .enumerate()
            .filter(|(_, x)| *x == flag)
            .map(|(i, _)| a[i + 1].as_str())
            .collect()
    }

    /// The clip's arguments for `encoder` without a picture and with one.
    fn with_and_without_picture(encoder: &Encoder, look: &Look) -> (Vec<String>, Vec<String>) {
        let info = info(true);
        let profile = profile();
        let req = ClipRequest::test(Path::new("in.mp4"), &info, Path::new("/c/clip-0003.ts"))
            .at(2.0)
            .frames(360)
            .profile(&profile)
            .encoder(encoder)
            .look(look);
        let plain = strings(&clip_args(&req, Some(2)));
        let pic = Path::new("/c/.clip-0003.jpg.1-2.part");
        let with = strings(&clip_args(&req.thumbnail(Some(pic)), Some(2)));
        (plain, with)
    }

    /// The arguments of the clip's own output: from its `-frames:v` to its file.
    fn clip_output(a: &[String]) -> &[String] {
        let from = a.iter().position(|x| x == "-frames:v").unwrap();
        let to = a.iter().position(|x| x == "file:/c/clip-0003.ts").unwrap();
        &a[from..=to]
    }

    #[test]
    fn a_picture_is_a_second_output_of_the_same_run_and_the_encoder_branch_is_unchanged() {
        let (plain, with) = with_and_without_picture(&Encoder::X264, &Look::NONE);
        // One run, one input, one split; the clip's output exactly as without a picture.
        assert_eq!(values(&with, "-i"), ["file:in.mp4"]);
        let graph = value(&with, "-filter_complex");
        assert_eq!(graph.matches("split").count(), 1, "{graph}");
        assert_eq!(clip_output(&plain), clip_output(&with));
        assert_eq!(
            plain[..plain.iter().position(|x| x == "-i").unwrap()],
            with[..with.iter().position(|x| x == "-i").unwrap()]
        );
        // The split comes after every filter the encoder's frames went through.
        let vf = value(&plain, "-vf");
        assert_eq!(
            graph,
            format!(
                "[0:v:0]{vf},split=2[vout][pic];[pic]select=eq(n\\,180),{}[picout]",
                super::super::picture::scale_to(320)
            )
        );
        assert_eq!(values(&with, "-map"), ["[vout]", "[picout]"]);
        // A complex graph takes its own thread limit.
        assert_eq!(value(&with, "-filter_complex_threads"), "2");
        // The picture: after the clip's output, one JPEG frame.
        let tail = &with[with
            .iter()
            .position(|x| x == "file:/c/clip-0003.ts")
            .unwrap()
            + 1..];
        assert_eq!(
            tail,
            [
                "-map",
                "[picout]",
                "-frames:v",
                "1",
                "-c:v",
                "mjpeg",
                "-q:v",
                "4",
                "-f",
                "image2",
                "-update",
                "1",
                "-y",
                "file:/c/.clip-0003.jpg.1-2.part"
            ]
        );
        // No picture asked for, no picture made (the slate's and the reference's way).
        assert!(
            !plain
                .iter()
                .any(|x| x.contains("mjpeg") || x.contains("split"))
        );
    }

    #[test]
    fn the_upload_to_the_gpu_comes_after_the_split() {
        let vaapi = Encoder::Vaapi {
            device: PathBuf::from("/dev/dri/renderD128"),
        };
        let (plain, with) = with_and_without_picture(&vaapi, &Look::NONE);
        assert!(value(&plain, "-vf").ends_with(",hwupload"));
        let graph = value(&with, "-filter_complex");
        let (frames, rest) = graph.split_once(",split=2[enc][pic];").unwrap();
        assert!(!frames.contains("hwupload"), "{graph}");
        assert!(
            rest.starts_with("[enc]hwupload[vout];[pic]select="),
            "{graph}"
        );
        assert_eq!(rest.matches("hwupload").count(), 1, "{graph}");
        assert_eq!(clip_output(&plain), clip_output(&with));
    }

    #[test]
    fn the_video_wall_makes_its_picture_from_the_wall() {
        let wall = Look {
            grade: ColorGrade::Warm,
            video_wall: true,
        };
        let (plain, with) = with_and_without_picture(&Encoder::X264, &wall);
        assert_eq!(values(&with, "-i").len(), 3, "three panels, one run");
        let before = value(&plain, "-filter_complex");
        let graph = value(&with, "-filter_complex");
        let (frames, pic) = graph.split_once(",split=2[vout][pic];").unwrap();
        assert_eq!(
            format!("{frames}[vout]"),
            before,
            "the wall's frames as without a picture"
        );
        assert!(
            pic.starts_with("[pic]select=eq(n\\,180),scale=w=320"),
            "{graph}"
        );
        assert_eq!(clip_output(&plain), clip_output(&with));
        assert_eq!(values(&with, "-map"), ["[vout]", "[picout]"]);
    }

    #[test]
    fn parses_progress() {
        let out = b"frame=10\nfps=0.0\nprogress=continue\nframe=60\nprogress=end\n";
        assert_eq!(progress_frames(out), Some(60));
        assert_eq!(progress_frames(b""), None);
    }

    // ---- real encodes ----

    fn make_source(dir: &Path, name: &str, lavfi: &str, extra: &[&str]) -> PathBuf {
        let path = dir.join(name);
        media::make_video_with(&path, lavfi, extra);
        path
    }

    /// Encodes a clip and checks everything the splicer relies on; returns its parameter sets.
    async fn encode_and_check(
        ff: &Ffmpeg,
        src: &Path,
        start: f64,
        frames: u32,
        out: &Path,
    ) -> media::H264Summary {
        let info = ff.probe(src).await.unwrap();
        let req = ClipRequest::test(src, &info, out).at(start).frames(frames);
        ff.encode_clip(&req).await.unwrap();
        check_clip(out, frames).await
    }

    async fn check_clip(out: &Path, frames: u32) -> media::H264Summary {
        let streams = media::streams(out);
        assert_eq!(streams.len(), 1, "video only: {streams:?}");
        let v = &streams[0];
        assert_eq!(v["codec_type"], "video");
        assert_eq!(v["width"], 320);
        assert_eq!(v["height"], 180);
        assert_eq!(v["pix_fmt"], "yuv420p");
        assert_eq!(v["profile"], "High");
        assert_eq!(v["nb_read_frames"], frames.to_string());
        let h264 = media::h264_summary(out);
        assert_eq!(h264.access_units, frames as usize);
        let gop = TEST_PROFILE.gop_frames as usize;
        let want: Vec<usize> = (0..frames as usize).step_by(gop).collect();
        assert_eq!(
            h264.idr_positions, want,
            "IDR exactly every GOP, first frame IDR"
        );
        assert_eq!(h264.sps.len(), 1);
        assert_eq!(h264.pps.len(), 1);
        // No stray temporary files beside the output.
        let dir = out.parent().unwrap();
        for e in std::fs::read_dir(dir).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(!name.ends_with(".part"), "{name}");
        }
        h264
    }

    #[tokio::test]
    async fn clips_from_different_sources_are_spliceable() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ff = ff().await;
        // 16:9 at 25 fps, tagged BT.601, with an audio track that must not come through.
        let wide = d.join("wide.mp4");
        let mut a = args([
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=640x360:rate=25:duration=3",
        ]);
        a.extend(args(["-f", "lavfi", "-i", "sine=d=3"]));
        a.extend(args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-threads",
            "1",
        ]));
        a.extend(args(["-c:a", "aac", "-color_primaries", "bt470bg"]));
        a.extend(args(["-colorspace", "bt470bg", "-color_trc", "gamma28"]));
        a.push(wide.clone().into());
        ffmpeg(a);
        // Portrait by rotation: stored 640x360, displayed 360x640, at 30 fps, full range.
        let stored = make_source(
            d,
            "stored.mp4",
            "testsrc2=size=640x360:rate=30:duration=3",
            &["-pix_fmt", "yuvj420p"],
        );
        let rotated = d.join("rotated.mp4");
        let mut a = args(["-i"]);
        a.push(stored.into());
        a.extend(args(["-c", "copy", "-metadata:s:v:0", "rotate=90"]));
        a.push(rotated.clone().into());
        ffmpeg(a);
        // Interlaced PAL.
        let pal = make_source(
            d,
            "pal.mp4",
            "testsrc2=size=720x576:rate=25:duration=3",
            &["-flags", "+ilme+ildct", "-top", "1", "-aspect", "16:9"],
        );

        // 10-bit 4:2:2, full range, 60 fps, in Matroska.
        let deep = make_source(
            d,
            "deep.mkv",
            "testsrc2=size=320x240:rate=60:duration=2",
            &["-pix_fmt", "yuv422p10le", "-color_range", "pc"],
        );

        let out = d.join("clips");
        let a = encode_and_check(&ff, &wide, 0.0, 60, &out.join("a.ts")).await;
        let b = encode_and_check(&ff, &rotated, 1.0, 60, &out.join("b.ts")).await;
        let c = encode_and_check(&ff, &pal, 0.5, 60, &out.join("c.ts")).await;
        // Another thread count must not change the parameter sets either.
        let ff2 = ff.clone().with_threads(2);
        let e = encode_and_check(&ff2, &wide, 1.2, 30, &out.join("e.ts")).await;
        let f = encode_and_check(&ff, &deep, 0.0, 30, &out.join("f.ts")).await;
        let slate = out.join("slate.ts");
        ff.encode_slate(&TEST_PROFILE, &Encoder::X264, 45, &slate)
            .await
            .unwrap();
        let s = check_clip(&slate, 45).await;
        // The font-less fallback slate too.
        let plain = out.join("plain.ts");
        let args = slate_args(&TEST_PROFILE, &Encoder::X264, 30, Some(1), false, &plain);
        ff.encode(&args, 30, TEST_PROFILE.fps).await.unwrap();
        let p = check_clip(&plain, 30).await;
        for other in [&b, &c, &e, &f, &s, &p] {
            assert_eq!(a.sps, other.sps, "SPS differs");
            assert_eq!(a.pps, other.pps, "PPS differs");
        }

        // Geometry: the portrait (rotated) source is pillarboxed to 102x180; the anamorphic
        // 16:9 PAL source fills the frame instead of being squeezed to 4:3 by its storage size.
        // (pad aligns x to the chroma grid: 108, not 109)
        assert_eq!(picture_columns(&out.join("b.ts")).await, (108, 209));
        assert_eq!(picture_columns(&out.join("c.ts")).await, (0, 319));
    }

    /// The invariant of pictures: made by the clip's own ffmpeg run, they change
    /// nothing of the clip, not a byte.
    #[tokio::test]
    async fn a_clip_with_its_picture_is_the_same_clip_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // ff() runs one thread: libx264 with more is not deterministic from run to
        // run (its frame threads), picture or not.
        let ff = ff().await;
        let src = make_source(
            d,
            "src.mp4",
            "testsrc2=size=640x360:rate=30:duration=4",
            &[],
        );
        let info = ff.probe(&src).await.unwrap();
        let wall = Look {
            grade: ColorGrade::None,
            video_wall: true,
        };
        for (name, look) in [("plain", &Look::NONE), ("wall", &wall)] {
            let (without, with) = (
                d.join(format!("{name}-a.ts")),
                d.join(format!("{name}-b.ts")),
            );
            let pic = d.join(format!("{name}-b.jpg"));
            let req = ClipRequest::test(&src, &info, &without)
                .at(0.5)
                .frames(60)
                .look(look);
            ff.encode_clip(&req).await.unwrap();
            let req = ClipRequest { out: &with, ..req }.thumbnail(Some(&pic));
            ff.encode_clip(&req).await.unwrap();
            assert!(
                std::fs::read(&without).unwrap() == std::fs::read(&with).unwrap(),
                "{name}: the clip changed with its picture"
            );
            let p = &media::streams(&pic)[0];
            assert_eq!(p["codec_name"], "mjpeg", "{name}");
            assert_eq!(
                (&p["width"], &p["height"]),
                (&320.into(), &180.into()),
                "{name}"
            );
            // Its middle frame: the picture is the clip's frame 30 (within JPEG's loss).
            if name == "plain" {
                let frame = |path: &Path, at: &str| {
                    let mut a = args(["-i"]);
                    a.push(run::file_arg(path));
                    a.extend(args([
                        "-vf",
                        at,
                        "-frames:v",
                        "1",
                        "-f",
                        "rawvideo",
                        "-pix_fmt",
                        "gray",
                        "pipe:1",
                    ]));
                    ffmpeg(a)
                };
                let shot = frame(&pic, "null");
                let diff = |n: u32| {
                    let f = frame(&with, &format!("select=eq(n\\,{n})"));
                    f.iter()
                        .zip(&shot)
                        .map(|(a, b)| (*a as i64 - *b as i64).abs())
                        .sum::<i64>()
                        / f.len() as i64
                };
                assert!(
                    diff(30) < 4 && diff(30) < diff(10),
                    "{} {}",
                    diff(30),
                    diff(10)
                );
            }
        }
        assert!(
            std::fs::read_dir(d).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".part"))
        );
    }

    #[tokio::test]
    async fn looks_keep_the_codec_parameters_and_change_the_picture() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ff = ff().await;
        let src = make_source(
            d,
            "src.mp4",
            "testsrc2=size=640x360:rate=30:duration=4",
            &[],
        );
        let info = ff.probe(&src).await.unwrap();
        let plain = encode_and_check(&ff, &src, 0.5, 30, &d.join("plain.ts")).await;
        // Text that would break a filter string if it were ever put in one.
        let hostile = "it's a \\ test: 100% [x],{y};'\"\n\u{1F3AC} %{pts} $(rm -rf /)";
        let looks = [
            (
                Look {
                    grade: ColorGrade::Moody,
                    video_wall: false,
                },
                None,
            ),
            (
                Look {
                    grade: ColorGrade::Mono,
                    video_wall: false,
                },
                Some(hostile),
            ),
            (
                Look {
                    grade: ColorGrade::Warm,
                    video_wall: true,
                },
                Some("Creator"),
            ),
            (
                Look {
                    grade: ColorGrade::None,
                    video_wall: true,
                },
                None,
            ),
            (Look::NONE, Some(hostile)),
        ];
        for (i, (look, watermark)) in looks.iter().enumerate() {
            let out = d.join(format!("look-{i}.ts"));
            let req = ClipRequest::test(&src, &info, &out)
                .at(0.5)
                .frames(30)
                .look(look)
                .watermark(*watermark);
            ff.encode_clip(&req)
                .await
                .unwrap_or_else(|e| panic!("{look:?} {watermark:?}: {e}"));
            let h = check_clip(&out, 30).await;
            assert_eq!(plain.sps, h.sps, "SPS differs with {look:?}");
            assert_eq!(plain.pps, h.pps, "PPS differs with {look:?}");
            let leftovers: Vec<_> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with('.'))
                .collect();
            assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
        }
        // Mono has no colour: every chroma sample of the first frame is neutral.
        let chroma = first_frame_chroma(&d.join("look-1.ts")).await;
        assert!(
            chroma.iter().all(|&c| (126..=130).contains(&c)),
            "chroma not neutral"
        );
        let chroma = first_frame_chroma(&d.join("plain.ts")).await;
        assert!(
            chroma.iter().any(|&c| !(120..=136).contains(&c)),
            "the source has colour"
        );
        // The wall: three panels side by side, not one picture.
        let wall = media::first_frame_gray(&d.join("look-3.ts"));
        let one = media::first_frame_gray(&d.join("plain.ts"));
        assert_ne!(wall, one);
        // The watermark changes the bottom-right corner only.
        let marked = media::first_frame_gray(&d.join("look-4.ts"));
        let (w, h) = (TEST_PROFILE.width as usize, TEST_PROFILE.height as usize);
        let diff = |x0: usize, y0: usize, x1: usize, y1: usize| {
            (y0..y1)
                .flat_map(|y| (x0..x1).map(move |x| (x, y)))
                .filter(|&(x, y)| (marked[y * w + x] as i32 - one[y * w + x] as i32).abs() > 24)
                .count()
        };
        assert!(
            diff(w / 2, h * 3 / 4, w, h) > 50,
            "watermark drawn bottom right"
        );
        assert_eq!(diff(0, 0, w / 2, h / 2), 0, "nothing drawn top left");
    }

    /// The U and V planes of the first frame.
    async fn first_frame_chroma(path: &Path) -> Vec<u8> {
        let mut a = args(["-i"]);
        a.push(run::file_arg(path));
        a.extend(args([
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            "pipe:1",
        ]));
        let frame = ffmpeg(a);
        let luma = (TEST_PROFILE.width * TEST_PROFILE.height) as usize;
        frame[luma..].to_vec()
    }

    #[tokio::test]
    async fn progress_is_reported_while_encoding() {
        let dir = tempfile::tempdir().unwrap();
        let ff = ff().await;
        let src = make_source(
            dir.path(),
            "src.mp4",
            "testsrc2=size=640x360:rate=30:duration=12",
            &[],
        );
        let info = ff.probe(&src).await.unwrap();
        let out = dir.path().join("clip.ts");
        let req = ClipRequest::test(&src, &info, &out).frames(300);
        let (tx, mut rx) = tokio::sync::watch::channel(EncodeProgress::default());
        let seen = tokio::spawn(async move {
            let mut updates = Vec::new();
            while rx.changed().await.is_ok() {
                updates.push(rx.borrow_and_update().clone());
            }
            updates
        });
        ff.encode_clip_with_progress(&req, &tx).await.unwrap();
        drop(tx);
        let updates = seen.await.unwrap();
        let last = updates.last().expect("progress reported");
        assert_eq!(last.frames, 300);
        assert!((last.out_time.as_secs_f64() - 10.0).abs() < 0.2, "{last:?}");
        assert!(last.speed.is_some_and(|s| s > 0.0), "{last:?}");
        assert!(updates.windows(2).all(|w| w[0].frames <= w[1].frames));
    }

    #[test]
    fn progress_parser_reads_blocks() {
        let mut p = ProgressParser::default();
        let block = "frame=42\nfps=30.1\nout_time_us=1400000\nout_time_ms=1400000\nspeed=1.52x\nprogress=continue\n";
        let got: Vec<EncodeProgress> = block.lines().filter_map(|l| p.line(l)).collect();
        assert_eq!(
            got,
            [EncodeProgress {
                frames: 42,
                out_time: Duration::from_millis(1400),
                speed: Some(1.52)
            }]
        );
        // Early blocks say N/A for speed; garbage lines are ignored.
        let mut p = ProgressParser::default();
        for l in ["frame=0", "speed=N/A", "nonsense", "out_time_us=N/A"] {
            assert!(p.line(l).is_none());
        }
        assert_eq!(p.line("progress=end").unwrap().speed, None);
    }

    /// The first and last column of the first frame holding anything brighter than black.
    async fn picture_columns(clip: &Path) -> (usize, usize) {
        let luma = media::first_frame_gray(clip);
        let (w, h) = (TEST_PROFILE.width as usize, TEST_PROFILE.height as usize);
        assert_eq!(luma.len(), w * h);
        let lit: Vec<usize> = (0..w)
            .filter(|&x| (0..h).any(|y| luma[y * w + x] > 40))
            .collect();
        (lit[0], *lit.last().unwrap())
    }

    #[tokio::test]
    async fn short_source_is_padded_to_the_frame_count() {
        let dir = tempfile::tempdir().unwrap();
        let ff = ff().await;
        let src = make_source(
            dir.path(),
            "short.mp4",
            "testsrc=size=160x120:rate=10:duration=1",
            &[],
        );
        // 1 s of source, 2.5 s asked, starting half-way through.
        encode_and_check(&ff, &src, 0.5, 75, &dir.path().join("out.ts")).await;
    }

    #[tokio::test]
    async fn start_beyond_the_end_fails() {
        let dir = tempfile::tempdir().unwrap();
        let ff = ff().await;
        let src = make_source(
            dir.path(),
            "short.mp4",
            "testsrc=size=160x120:rate=10:duration=1",
            &[],
        );
        let info = ff.probe(&src).await.unwrap();
        let out = dir.path().join("out.ts");
        let req = ClipRequest::test(&src, &info, &out).at(50.0).frames(30);
        let err = ff.encode_clip(&req).await.unwrap_err();
        assert!(matches!(err, TranscodeError::Failed { .. }), "{err:?}");
        assert!(!out.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[tokio::test]
    async fn corrupt_source_fails_with_ffmpeg_lines() {
        let dir = tempfile::tempdir().unwrap();
        let ff = ff().await;
        let src = dir.path().join("corrupt.mp4");
        std::fs::write(&src, "definitely not a video\n".repeat(100)).unwrap();
        let out = dir.path().join("out.ts");
        let info = info(false);
        let req = ClipRequest::test(&src, &info, &out).at(1.0).frames(30);
        match ff.encode_clip(&req).await {
            Err(TranscodeError::Failed {
                program,
                status,
                last_lines,
            }) => {
                assert_eq!(program, "ffmpeg");
                assert!(status.contains("exit status"), "{status}");
                assert!(last_lines.contains("corrupt.mp4"), "{last_lines}");
            }
            other => panic!("{other:?}"),
        }
        assert!(!out.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[tokio::test]
    async fn dropping_an_encode_kills_ffmpeg_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let ff = ff().await;
        let src = make_source(
            dir.path(),
            "src.mp4",
            "testsrc=size=160x120:rate=10:duration=1",
            &[],
        );
        let info = ff.probe(&src).await.unwrap();
        let out = dir.path().join("out.ts");
        let profile = OutputProfile::new(640, 360, 30, 2);
        let req = ClipRequest::test(&src, &info, &out)
            .frames(100_000)
            .profile(&profile);
        let r = tokio::time::timeout(Duration::from_millis(800), ff.encode_clip(&req)).await;
        assert!(r.is_err(), "still encoding");
        assert!(!out.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temp file removed"
        );
    }

    /// An Ffmpeg whose "ffmpeg" is a shell script with `body` (it gets the clip
    /// arguments; `$out` is the output path, and it writes its pid to `pid`).
    fn fake_ffmpeg(bin: &Path, body: &str, stall: Duration) -> Ffmpeg {
        use std::os::unix::fs::PermissionsExt;
        let script = bin.join("ffmpeg");
        let pid = bin.join("pid");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nfor a in \"$@\"; do out=\"${{a#file:}}\"; done\necho $$ > '{}'\n{body}\n",
                pid.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        Ffmpeg {
            ffmpeg: script,
            ffprobe: PathBuf::from("/nonexistent/ffprobe"),
            threads: Some(1),
            nice: 0,
            stall: Duration::from_secs(60),
            version: "fake".into(),
        }
        .with_stall_limit(stall)
    }

    fn fake_request<'a>(info: &'a ProbeInfo, out: &'a Path, frames: u32) -> ClipRequest<'a> {
        ClipRequest::test(Path::new("/nonexistent/source.mp4"), info, out).frames(frames)
    }

    #[tokio::test]
    async fn a_hung_ffmpeg_is_killed_after_the_stall_limit() {
        let bin = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        // One progress block, a partial output, then nothing: a hung decoder.
        let ff = fake_ffmpeg(
            bin.path(),
            "echo partial > \"$out\"\nprintf 'frame=3\\nfps=0.0\\nprogress=continue\\n'\nexec sleep 600",
            Duration::from_secs(1),
        );
        let info = info(false);
        let out = dir.path().join("out.ts");
        let started = std::time::Instant::now();
        let e = ff
            .encode_clip(&fake_request(&info, &out, 30))
            .await
            .unwrap_err();
        let took = started.elapsed();
        assert_eq!(e.to_string(), "ffmpeg made no progress for 1 s: killed");
        assert!(
            matches!(e, TranscodeError::Stalled { secs: 1, .. }),
            "{e:?}"
        );
        assert!(took >= Duration::from_secs(1), "killed too early: {took:?}");
        assert!(
            took < Duration::from_secs(60),
            "the watchdog fired, not the timeout"
        );
        // Killed and reaped: not even a zombie is left.
        let pid = std::fs::read_to_string(bin.path().join("pid")).unwrap();
        let pid = pid.trim();
        assert!(!pid.is_empty());
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} still there"
        );
        assert!(!out.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "the partial output is removed"
        );
    }

    #[tokio::test]
    async fn a_slow_encode_that_progresses_is_not_killed() {
        let bin = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        // Slower overall than the stall limit, but a new frame count every 0.2 s.
        let ff = fake_ffmpeg(
            bin.path(),
            "echo clip > \"$out\"\nfor n in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do\n\
             printf 'frame=%s\\nprogress=continue\\n' $n; sleep 0.2\ndone\n\
             printf 'frame=15\\nprogress=end\\n'",
            Duration::from_secs(2),
        );
        let info = info(false);
        let out = dir.path().join("out.ts");
        ff.encode_clip(&fake_request(&info, &out, 15))
            .await
            .unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "clip\n");
    }
}
