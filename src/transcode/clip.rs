//! Clip encodes: the argument lists that make every clip spliceable.
//!
//! The splicer joins clips without re-encoding, so every clip from any source, and
//! every slate, must come out with byte-identical SPS/PPS and start on an IDR frame.
//! Everything that could leak from the source into the SPS is therefore pinned here
//! and in `encoder`: frame size and rate, sample aspect ratio, pixel format, colour
//! description, profile/level, GOP structure and B-frames.

use std::ffi::OsString;
use std::path::Path;

use super::encoder::{DROP_SEI, PIN_FRAME, encoder_args, hw_input_args, pix_fmt, upload_filter};
use super::filters::{scale_colour, source_filters, tone_map};
use super::look::{self, Look};
use super::picture::{PICTURE_WIDTH, jpeg_output, scale_to};
use super::probe::ProbeInfo;
use super::profile::{Encoder, OutputProfile};
use super::run::{file_arg, os_args};

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
    /// The lower rungs of the ladder, made by the same run from the same frames
    /// (`profile` and `out` are the top rung); empty for a single stream.
    pub rungs: &'a [RungOut<'a>],
}

/// A lower rung of a clip's ladder: the profile it is encoded to and its file.
#[derive(Clone, Copy, Debug)]
pub struct RungOut<'a> {
    /// The rung's profile (its size and bit rate; the rest is the top rung's).
    pub profile: &'a OutputProfile,
    /// The MPEG-TS file to write.
    pub out: &'a Path,
}

/// The lower rungs of a clip, owned: their profiles and their files beside the
/// clip's (`clip-0001.480p.ts`), from which a [`ClipRequest`] borrows its rungs.
#[derive(Clone, Debug, Default)]
pub struct RungFiles {
    profiles: Vec<OutputProfile>,
    files: Vec<std::path::PathBuf>,
}

impl RungFiles {
    /// The rungs `profiles` (the lower ones, highest first) of the clip at `top`.
    pub fn new(profiles: Vec<OutputProfile>, top: &Path) -> RungFiles {
        let files = profiles
            .iter()
            .map(|p| crate::clip::rung_file(top, p.height))
            .collect();
        RungFiles { profiles, files }
    }

    /// What the encode writes.
    pub fn outs(&self) -> Vec<RungOut<'_>> {
        self.profiles
            .iter()
            .zip(&self.files)
            .map(|(profile, out)| RungOut { profile, out })
            .collect()
    }

    /// Their heights, highest first.
    pub fn heights(&self) -> Vec<u32> {
        self.profiles.iter().map(|p| p.height).collect()
    }

    /// Their files, highest first.
    pub fn files(&self) -> &[std::path::PathBuf] {
        &self.files
    }
}

/// The text file a watermark is read from, beside the output (hidden, removed after).
pub(super) fn watermark_path(out: &Path) -> std::path::PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.with_file_name(format!(".{name}.watermark.txt"))
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
    if req.thumbnail.is_none() && req.rungs.is_empty() {
        let mut vf = chain;
        vf.extend(upload_filter(req.encoder));
        a.extend(os_args(["-map", "0:v:0", "-an", "-sn", "-dn"]));
        a.extend(os_args(["-vf".to_string(), vf.join(",")]));
    } else {
        let graph = vec![format!("[0:v:0]{}", chain.join(","))];
        a.extend(complex_graph(graph, req, threads));
    }
    a.extend(outputs(req, threads, fix));
    a
}

/// Every output of a clip's run: the top rung (`[vout]`, or the only stream of a
/// simple graph), each lower rung (`[vout1]`, ...), then the picture.
fn outputs(req: &ClipRequest<'_>, threads: Option<u32>, fix: &Fix) -> Vec<OsString> {
    let frames = os_args(["-frames:v".to_string(), req.frames.to_string()]);
    let mut a = frames.clone();
    a.extend(output_args(req.profile, req.encoder, threads, fix, req.out));
    for (i, rung) in req.rungs.iter().enumerate() {
        a.extend(os_args([
            "-map".to_string(),
            format!("[vout{}]", i + 1),
            "-an".to_string(),
            "-sn".to_string(),
            "-dn".to_string(),
        ]));
        a.extend(frames.clone());
        a.extend(output_args(
            rung.profile,
            req.encoder,
            threads,
            fix,
            rung.out,
        ));
    }
    a.extend(req.thumbnail.map(picture_output).unwrap_or_default());
    a
}

/// The `-filter_complex` of a clip whose frames (pinned, padded, not yet on the
/// GPU) leave the last chain of `graph`, mapped to the clip's output as `[vout]`.
/// The frames are split there, once per output: the top rung goes on to the
/// encoder exactly as without a split; each lower rung is scaled from the same
/// finished frames (the look, the watermark and the letterbox are made once) to
/// `[vout1]`, `[vout2]`, ...; with a picture asked for, one more branch picks the
/// middle frame for [`picture_output`] (`[pic]`). Split before any upload, so the
/// picture is made on the CPU from the very frames the encoder gets.
fn complex_graph(
    mut graph: Vec<String>,
    req: &ClipRequest<'_>,
    threads: Option<u32>,
) -> Vec<OsString> {
    let upload = upload_filter(req.encoder);
    let last = graph.pop().unwrap_or_default();
    // Without an upload, the top branch is the output itself.
    let top = if upload.is_some() { "[top]" } else { "[vout]" };
    let mut branches = vec![top.to_string()];
    branches.extend((1..=req.rungs.len()).map(|i| format!("[rung{i}]")));
    if req.thumbnail.is_some() {
        branches.push("[pic]".to_string());
    }
    graph.push(if branches.len() == 1 {
        format!("{last}{top}")
    } else {
        format!("{last},split={}{}", branches.len(), branches.concat())
    });
    if let Some(u) = &upload {
        graph.push(format!("[top]{u}[vout]"));
    }
    for (i, rung) in req.rungs.iter().enumerate() {
        let p = rung.profile;
        let mut chain = vec![
            format!("scale={}:{}:flags=bicubic", p.width, p.height),
            "setsar=1".to_string(),
        ];
        chain.extend(upload.clone());
        graph.push(format!("[rung{}]{}[vout{}]", i + 1, chain.join(","), i + 1));
    }
    if req.thumbnail.is_some() {
        graph.push(format!(
            "[pic]select=eq(n\\,{}),{}[picout]",
            req.frames / 2,
            scale_to(PICTURE_WIDTH)
        ));
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
    a.extend(jpeg_output(path));
    a
}

/// The filter chain of a clip: deinterlace, fit, pad, fixed rate and format, padded
/// end; the upload to the GPU (if any) is the caller's.
fn clip_filter(req: &ClipRequest<'_>, fix: &Fix) -> Vec<String> {
    let (w, h) = (req.profile.width, req.profile.height);
    let mut f = source_filters(req.info, fix.deinterlace_all);
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
        let mut p = source_filters(req.info, fix.deinterlace_all);
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
    a.extend(outputs(req, threads, fix));
    a
}

/// Global options of every encode; progress goes to stdout so the frame count can be checked.
pub(super) fn common_args() -> Vec<OsString> {
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

/// Encoder, thread and MPEG-TS output options, ending with the output file.
pub(super) fn output_args(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::clip::source_info;
    use crate::testkit::media::{arg_value, strings};
    use crate::transcode::ColorGrade;
    use std::path::PathBuf;

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
        let info = source_info(interlaced);
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
        assert_eq!(arg_value(&a, "-map"), "0:v:0");
        assert_eq!(arg_value(&a, "-autorotate"), "1");
        assert_eq!(arg_value(&a, "-loglevel"), "error");
        assert_eq!(arg_value(&a, "-frames:v"), "360");
        assert_eq!(arg_value(&a, "-f"), "mpegts");
        assert_eq!(arg_value(&a, "-c:v"), "libx264");
        assert_eq!(arg_value(&a, "-preset"), "veryfast");
        assert_eq!(arg_value(&a, "-profile:v"), "high");
        assert_eq!(arg_value(&a, "-level:v"), "4.1");
        assert_eq!(arg_value(&a, "-b:v"), "3000k");
        assert_eq!(arg_value(&a, "-maxrate"), "3000k");
        assert_eq!(arg_value(&a, "-bufsize"), "6000k");
        assert_eq!(arg_value(&a, "-g"), "180");
        assert_eq!(arg_value(&a, "-keyint_min"), "180");
        assert_eq!(arg_value(&a, "-sc_threshold"), "0");
        assert_eq!(arg_value(&a, "-bf"), "2");
        assert_eq!(arg_value(&a, "-force_key_frames"), "expr:eq(mod(n,180),0)");
        assert!(arg_value(&a, "-x264-params").contains("open-gop=0"));
        assert_eq!(arg_value(&a, "-colorspace"), "bt709");
        assert_eq!(arg_value(&a, "-color_range"), "tv");
        assert!(!a.iter().any(|x| x == "-tune" || x == "-threads"));
        let vf = arg_value(&a, "-vf");
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
        assert_eq!(arg_value(&a, "-a53cc"), "0");
        assert_eq!(arg_value(&a, "-udu_sei"), "0");
        assert_eq!(arg_value(&a, "-chroma_sample_location"), "left");
        assert!(arg_value(&a, "-x264-params").contains(":chromaloc=0:sar=1/1"));
        assert_eq!(arg_value(&a, "-bsf:v"), DROP_SEI);
        assert_eq!(arg_value(&a, "-map_metadata"), "-1");
        assert!(!vf.contains("zscale"), "SDR is not tone-mapped: {vf}");
    }

    #[test]
    fn hdr_is_tone_mapped_and_a_fix_reaches_the_arguments() {
        let mut i = source_info(false);
        i.color.transfer = Some("smpte2084".into());
        i.color.primaries = Some("bt2020".into());
        i.color.matrix = Some("bt2020nc".into());
        let profile = profile();
        let req = ClipRequest::test(Path::new("hdr.mkv"), &i, Path::new("o.ts"))
            .frames(30)
            .profile(&profile);
        let a = strings(&clip_args(&req, None));
        let vf = arg_value(&a, "-vf");
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
        assert!(arg_value(&a, "-vf").contains("yadif=mode=send_frame:parity=auto:deint=all"));
        assert_eq!(
            arg_value(&a, "-bsf:v"),
            format!("{DROP_SEI},h264_metadata=colour_primaries=1")
        );
    }

    #[test]
    fn interlaced_threads_and_no_seek() {
        let a = build(&Encoder::X264, true, Some(2));
        assert!(arg_value(&a, "-vf").starts_with("sidedata=mode=delete,yadif=mode=send_frame"));
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
        assert_eq!(arg_value(&a, "-filter_threads"), "2");

        let info = source_info(false);
        let profile = profile();
        let req = ClipRequest::test(Path::new("a.mp4"), &info, Path::new("o.ts"))
            .frames(10)
            .profile(&profile);
        assert!(!strings(&clip_args(&req, None)).iter().any(|x| x == "-ss"));
    }

    #[test]
    fn nvenc_args() {
        let a = build(&Encoder::Nvenc, false, None);
        assert_eq!(arg_value(&a, "-c:v"), "h264_nvenc");
        assert_eq!(arg_value(&a, "-preset"), "p4");
        assert_eq!(arg_value(&a, "-rc"), "vbr");
        assert_eq!(arg_value(&a, "-level:v"), "4.1");
        assert_eq!(arg_value(&a, "-maxrate"), "3000k");
        assert_eq!(arg_value(&a, "-g"), "180");
        assert_eq!(arg_value(&a, "-bf"), "2");
        assert_eq!(arg_value(&a, "-forced-idr"), "1");
        assert_eq!(arg_value(&a, "-no-scenecut"), "1");
        assert!(arg_value(&a, "-vf").contains(",format=yuv420p,"));
        for (flag, v) in [("-a53cc", "0"), ("-udu_sei", "0"), ("-extra_sei", "0")] {
            assert_eq!(arg_value(&a, flag), v, "{flag}");
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
        assert_eq!(arg_value(&a, "-c:v"), "h264_vaapi");
        assert_eq!(arg_value(&a, "-rc_mode"), "VBR");
        assert_eq!(arg_value(&a, "-idr_interval"), "0");
        assert_eq!(arg_value(&a, "-g"), "180");
        assert_eq!(arg_value(&a, "-bf"), "2");
        let vf = arg_value(&a, "-vf");
        assert!(vf.starts_with("sidedata=mode=delete,yadif"), "{vf}");
        assert_eq!(arg_value(&a, "-sei"), "0");
        assert!(vf.contains(",format=nv12,"), "{vf}");
        assert!(vf.ends_with(",hwupload"), "{vf}");
    }

    #[test]
    fn qsv_args() {
        let a = build(&Encoder::Qsv, false, None);
        assert_eq!(arg_value(&a, "-c:v"), "h264_qsv");
        assert_eq!(arg_value(&a, "-level:v"), "41");
        assert_eq!(arg_value(&a, "-look_ahead"), "0");
        assert_eq!(arg_value(&a, "-idr_interval"), "0");
        assert_eq!(arg_value(&a, "-forced_idr"), "1");
        assert_eq!(arg_value(&a, "-a53cc"), "0");
        assert_eq!(arg_value(&a, "-pic_timing_sei"), "0");
        assert_eq!(arg_value(&a, "-g"), "180");
        let vf = arg_value(&a, "-vf");
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
            let vf = arg_value(&a, "-vf");
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
                assert_eq!(arg_value(&a, flag), v, "{enc} {flag}");
            }
        }
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
        let info = source_info(true);
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
        let graph = arg_value(&with, "-filter_complex");
        assert_eq!(graph.matches("split").count(), 1, "{graph}");
        assert_eq!(clip_output(&plain), clip_output(&with));
        assert_eq!(
            plain[..plain.iter().position(|x| x == "-i").unwrap()],
            with[..with.iter().position(|x| x == "-i").unwrap()]
        );
        // The split comes after every filter the encoder's frames went through.
        let vf = arg_value(&plain, "-vf");
        assert_eq!(
            graph,
            format!(
                "[0:v:0]{vf},split=2[vout][pic];[pic]select=eq(n\\,180),{}[picout]",
                super::super::picture::scale_to(320)
            )
        );
        assert_eq!(values(&with, "-map"), ["[vout]", "[picout]"]);
        // A complex graph takes its own thread limit.
        assert_eq!(arg_value(&with, "-filter_complex_threads"), "2");
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
        assert!(arg_value(&plain, "-vf").ends_with(",hwupload"));
        let graph = arg_value(&with, "-filter_complex");
        let (frames, rest) = graph.split_once(",split=2[top][pic];").unwrap();
        assert!(!frames.contains("hwupload"), "{graph}");
        assert!(
            rest.starts_with("[top]hwupload[vout];[pic]select="),
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
        let before = arg_value(&plain, "-filter_complex");
        let graph = arg_value(&with, "-filter_complex");
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
}
