//! Pictures: a clip's (made by the clip's own encode, see `clip::complex_graph`),
//! a chunk's strip of its clips' pictures, a source video's poster, and a channel's
//! logo as a PNG (its image converted, or drawn from its number and name).
//!
//! The others are small JPEGs. All are written like every output: under a temporary
//! name, renamed when whole. Only images are decoded here, or one frame of a
//! source: a picture never costs a second decode of a clip.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::TranscodeError;
use super::ffmpeg::Ffmpeg;
use super::filters::{source_filters, tone_map};
use super::look::{escape_filter_value, watermark_text};
use super::probe::ProbeInfo;
use super::run::{self, TempOut, file_arg, os_args};

/// Width of a clip's picture and of a poster, pixels.
pub const PICTURE_WIDTH: u32 = 320;
/// Width of each picture in a chunk's strip, pixels.
pub const STRIP_TILE_WIDTH: u32 = 160;
/// Most pictures in a strip: more would make the tiles too small to tell apart.
pub const STRIP_MAX: usize = 6;

/// The demuxers an image input may be read by (the format is read from its bytes,
/// so a file that is really a playlist or a video is refused, not followed).
const IMAGE_FORMATS: &str = "image2,jpeg_pipe,png_pipe,webp_pipe";

/// The input options of an image file `path`.
fn image_input(path: &Path) -> Vec<OsString> {
    let mut a = os_args(["-format_whitelist", IMAGE_FORMATS, "-i"]);
    a.push(file_arg(path));
    a
}

/// A picture run decodes one image or one frame: anything slower is stuck.
const PICTURE_TIMEOUT: Duration = Duration::from_secs(60);

/// Scales to `width` with the display aspect kept (anamorphic sources are not
/// squeezed), an even height, square pixels, in the JPEG encoder's full-range
/// format.
pub(crate) fn scale_to(width: u32) -> String {
    format!(
        "scale=w={width}:h='max(2,trunc({width}/dar/2+0.5)*2)':flags=bicubic,setsar=1,format=yuvj420p"
    )
}

/// The options that write one frame to `out` with the encoder options `codec`.
fn one_frame_output(codec: &[&str], out: &Path) -> Vec<OsString> {
    let mut a = os_args(["-frames:v", "1"]);
    a.extend(os_args(codec));
    a.extend(os_args(["-f", "image2", "-update", "1", "-y"]));
    a.push(file_arg(out));
    a
}

/// The options that write one frame to `out` as a JPEG.
pub(crate) fn jpeg_output(out: &Path) -> Vec<OsString> {
    one_frame_output(&["-c:v", "mjpeg", "-q:v", "4"], out)
}

/// The options that write one frame to `out` as a PNG.
fn png_output(out: &Path) -> Vec<OsString> {
    one_frame_output(&["-c:v", "png"], out)
}

/// Global options of a picture run.
fn common_args() -> Vec<OsString> {
    os_args(["-nostdin", "-hide_banner", "-loglevel", "error"])
}

/// The arguments of a poster: one frame at `at` seconds into `src` (a fast seek
/// to the keyframe before it, no decoding up to the exact time), deinterlaced and
/// tone-mapped like a clip, [`PICTURE_WIDTH`] wide.
pub(crate) fn poster_args(src: &Path, info: &ProbeInfo, at: f64, out: &Path) -> Vec<OsString> {
    let mut a = common_args();
    a.extend(os_args(["-threads", "1", "-autorotate", "1"]));
    if at > 0.0 {
        a.extend(os_args([
            "-noaccurate_seek".to_string(),
            "-ss".to_string(),
            format!("{at:.3}"),
        ]));
    }
    a.push("-i".into());
    a.push(file_arg(src));
    // A poster is never retried: only interlaced sources are deinterlaced.
    let mut f = source_filters(info, false);
    f.extend(tone_map(info));
    f.push(scale_to(PICTURE_WIDTH));
    a.extend(os_args(["-map", "0:v:0", "-an", "-sn", "-dn"]));
    a.extend(os_args(["-vf".to_string(), f.join(",")]));
    a.extend(jpeg_output(out));
    a
}

/// The arguments that turn an image (a JPEG, PNG or WebP thumbnail) into a
/// picture [`PICTURE_WIDTH`] wide.
pub(crate) fn image_args(image: &Path, out: &Path) -> Vec<OsString> {
    let mut a = common_args();
    // The format is read from the bytes: downloaders do not always name a WebP .webp.
    a.extend(os_args(["-threads", "1"]));
    a.extend(image_input(image));
    a.extend(os_args(["-map", "0:v:0", "-vf"]));
    a.push(scale_to(PICTURE_WIDTH).into());
    a.extend(jpeg_output(out));
    a
}

/// The pictures of a strip: at most [`STRIP_MAX`], spread evenly over `all`, in order.
pub fn strip_pictures(all: &[PathBuf]) -> Vec<&PathBuf> {
    let n = all.len();
    if n <= STRIP_MAX {
        return all.iter().collect();
    }
    (0..STRIP_MAX).map(|k| &all[k * n / STRIP_MAX]).collect()
}

/// The arguments of a strip: each of `pictures` [`STRIP_TILE_WIDTH`] wide, side by
/// side (they are of one size: the clips of a chunk share one output profile).
pub(crate) fn strip_args(pictures: &[&PathBuf], out: &Path) -> Vec<OsString> {
    let mut a = common_args();
    a.extend(os_args(["-threads", "1"]));
    for p in pictures {
        a.extend(image_input(p));
    }
    let tile = scale_to(STRIP_TILE_WIDTH);
    let mut graph: Vec<String> = (0..pictures.len())
        .map(|i| format!("[{i}:v:0]{tile}[t{i}]"))
        .collect();
    let tiles: String = (0..pictures.len()).map(|i| format!("[t{i}]")).collect();
    graph.push(match pictures.len() {
        // hstack wants two inputs at least.
        1 => "[t0]null[strip]".to_string(),
        n => format!("{tiles}hstack=inputs={n}[strip]"),
    });
    a.extend(os_args([
        "-filter_complex".to_string(),
        graph.join(";"),
        "-map".to_string(),
        "[strip]".to_string(),
    ]));
    a.extend(jpeg_output(out));
    a
}

/// The longest side of a logo made from an image, pixels; an SVG is rendered this
/// wide (then fitted), however small its own size.
pub const LOGO_MAX: u32 = 512;
/// A drawn logo's width and height, pixels.
pub const DRAWN_LOGO_SIZE: u32 = 400;
/// What shapes a logo besides its inputs: changed whenever the conversion or the
/// drawing below changes, so that logos cached by an older release are made again.
pub const LOGO_RECIPE: &str = "logo-1";

/// The demuxers a logo image may be read by: SVG and GIF besides the posters' own.
const LOGO_FORMATS: &str = "image2,jpeg_pipe,png_pipe,webp_pipe,svg_pipe,gif,gif_pipe";

/// The arguments that turn the logo image `image` (SVG, WebP, GIF...) into a PNG:
/// its first frame, aspect and alpha kept, the longer side at most [`LOGO_MAX`]
/// (smaller images are not blown up); an SVG (`svg`) is rendered [`LOGO_MAX`] wide
/// by librsvg first.
pub(crate) fn logo_image_args(image: &Path, svg: bool, out: &Path) -> Vec<OsString> {
    let mut a = common_args();
    a.extend(os_args(["-threads", "1"]));
    if svg {
        // librsvg's own option: the drawing at this width, its aspect kept.
        a.extend(os_args(["-width".to_string(), LOGO_MAX.to_string()]));
    }
    a.extend(os_args(["-format_whitelist", LOGO_FORMATS, "-i"]));
    a.push(file_arg(image));
    a.extend(os_args([
        "-map".to_string(),
        "0:v:0".to_string(),
        "-vf".to_string(),
        format!(
            "scale=w='min({LOGO_MAX},iw)':h='min({LOGO_MAX},ih)'\
             :force_original_aspect_ratio=decrease,format=rgba"
        ),
    ]));
    a.extend(png_output(out));
    a
}

/// One line of a drawn logo.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DrawnLine {
    /// What it says (user text: it reaches ffmpeg in a file, never in the filter).
    pub(crate) text: String,
    /// Font size, pixels.
    pub(crate) size: u32,
    /// Where its baseline is, pixels from the top.
    pub(crate) baseline: u32,
    /// Its colour, as ffmpeg reads colours.
    pub(crate) color: &'static str,
}

/// Room left around a drawn logo's text, pixels.
const DRAWN_MARGIN: u32 = 24;
/// The background of a drawn logo (the `/logo.svg` icon's).
const DRAWN_BACKGROUND: &str = "0x0b1320";
/// The largest font of a drawn logo's number, pixels: about 40 px at 100 px.
const NUMBER_MAX_SIZE: u32 = 150;
/// The name's font sizes, largest first.
const NAME_SIZES: [u32; 14] = [48, 46, 44, 42, 40, 38, 36, 34, 32, 30, 28, 26, 24, 22];
/// A name's font size that reads well at 100 px (about 8 px there): a name is
/// broken into more lines only to keep at least this size.
const NAME_READABLE: u32 = 34;
/// The most lines a name takes; a longer one is cut with an ellipsis.
const NAME_LINES: usize = 3;

/// Height of a digit or a capital in DejaVu Sans (fontconfig's "Sans"), in ems.
const CAP_HEIGHT: f64 = 0.73;

/// About how wide `s` is in DejaVu Sans at `size` pixels (its advances, rounded
/// up by class). ffmpeg cannot say before it draws; the margin takes what this
/// misses (a line of Os is 5% wider).
fn text_width(s: &str, size: u32) -> f64 {
    let ems: f64 = s
        .chars()
        .map(|c| match c {
            ' ' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' | 'i' | 'j' | 'l' | 'I' => 0.34,
            '(' | ')' | '[' | ']' | 'f' | 'r' | 't' => 0.42,
            'm' | 'w' | 'M' | 'W' | '@' | '%' | '—' | '…' => 1.0,
            // CJK and other wide scripts (drawn as boxes when the font lacks them).
            c if c as u32 >= 0x2e80 => 1.0,
            c if c.is_uppercase() => 0.75,
            _ => 0.64,
        })
        .sum();
    ems * f64::from(size) + f64::from(border(size)) * 2.0
}

/// The outline in the text's own colour that makes it bold (drawtext takes a font
/// family, not a weight), pixels.
fn border(size: u32) -> u32 {
    (size / 25).max(1)
}

/// `text` in lines at most `width` pixels wide at `size`, broken between words (a
/// word longer than a line between characters).
fn wrap(text: &str, size: u32, width: f64) -> Vec<String> {
    let fits = |s: &str| text_width(s, size) <= width;
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let joined = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if fits(&joined) {
            line = joined;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for c in word.chars() {
            line.push(c);
            if !fits(&line) && line.chars().count() > 1 {
                line.pop();
                lines.push(std::mem::replace(&mut line, c.to_string()));
            }
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The largest of [`NAME_SIZES`] at which `name` takes at most `lines` lines of
/// `width` pixels, and those lines.
fn fit_name(name: &str, lines: usize, width: f64) -> Option<(u32, Vec<String>)> {
    NAME_SIZES.iter().find_map(|&size| {
        let wrapped = wrap(name, size, width);
        (wrapped.len() <= lines).then_some((size, wrapped))
    })
}

/// The lines of the logo drawn for channel `number` named `name`: the number big
/// and centred, the name below in the fewest lines that keep it at least
/// [`NAME_READABLE`] pixels (else as large as fits in [`NAME_LINES`] lines, the
/// last cut with an ellipsis if even the smallest size does not fit), the whole
/// block centred on a [`DRAWN_LOGO_SIZE`] square.
pub(crate) fn drawn_lines(number: u32, name: &str) -> Vec<DrawnLine> {
    let room = f64::from(DRAWN_LOGO_SIZE - 2 * DRAWN_MARGIN);
    let digits = number.to_string();
    let per_px = text_width(&digits, 100) / 100.0;
    let number_size = ((room / per_px) as u32).min(NUMBER_MAX_SIZE);
    let name = watermark_text(name);
    let (name_size, lines) = (1..=NAME_LINES)
        .find_map(|n| fit_name(&name, n, room).filter(|(size, _)| *size >= NAME_READABLE))
        .or_else(|| fit_name(&name, NAME_LINES, room))
        .unwrap_or_else(|| {
            let size = NAME_SIZES[NAME_SIZES.len() - 1];
            let mut lines = wrap(&name, size, room);
            lines.truncate(NAME_LINES);
            if let Some(last) = lines.last_mut() {
                while !last.is_empty() && text_width(&format!("{last}…"), size) > room {
                    last.pop();
                }
                *last = format!("{}…", last.trim_end());
            }
            (size, lines)
        });
    let (ns, fs) = (f64::from(number_size), f64::from(name_size));
    let gap = if lines.is_empty() { 0.0 } else { ns * 0.28 };
    let line_height = fs * 1.25;
    let name_height = match lines.len() {
        0 => 0.0,
        n => fs * CAP_HEIGHT + (n - 1) as f64 * line_height,
    };
    let top = (f64::from(DRAWN_LOGO_SIZE) - (ns * CAP_HEIGHT + gap + name_height)) / 2.0;
    let number_base = top + ns * CAP_HEIGHT;
    let mut out = vec![DrawnLine {
        text: digits,
        size: number_size,
        baseline: number_base.round() as u32,
        color: "0x7aa2ff",
    }];
    for (i, text) in lines.into_iter().enumerate() {
        out.push(DrawnLine {
            text,
            size: name_size,
            baseline: (number_base + gap + fs * CAP_HEIGHT + i as f64 * line_height).round() as u32,
            color: "white",
        });
    }
    out
}

/// The arguments that draw `lines` on a [`DRAWN_LOGO_SIZE`] square into the PNG
/// `out`, each line's text read from its file in `files` (same order) as it is:
/// `expansion=none`, and only our own file's path, escaped, in the filter.
pub(crate) fn drawn_args(lines: &[DrawnLine], files: &[&Path], out: &Path) -> Vec<OsString> {
    let mut graph = vec!["format=rgb24".to_string()];
    for (l, file) in lines.iter().zip(files) {
        graph.push(format!(
            "drawtext=textfile={}:expansion=none:fontsize={size}:fontcolor={color}\
             :borderw={b}:bordercolor={color}:x=(w-text_w)/2:y={base}-ascent",
            escape_filter_value(&file.to_string_lossy()),
            size = l.size,
            color = l.color,
            b = border(l.size),
            base = l.baseline,
        ));
    }
    let mut a = common_args();
    a.extend(os_args([
        "-threads".to_string(),
        "1".to_string(),
        "-f".to_string(),
        "lavfi".to_string(),
        "-i".to_string(),
        format!("color=c={DRAWN_BACKGROUND}:s={DRAWN_LOGO_SIZE}x{DRAWN_LOGO_SIZE}:r=1"),
        "-vf".to_string(),
        graph.join(","),
    ]));
    a.extend(png_output(out));
    a
}

impl Ffmpeg {
    /// Writes `out`, the poster of source `src` (probed as `info`): its frame at
    /// `at` seconds.
    pub async fn poster(
        &self,
        src: &Path,
        info: &ProbeInfo,
        at: f64,
        out: &Path,
    ) -> Result<(), TranscodeError> {
        self.picture_run(out, |tmp| poster_args(src, info, at, tmp))
            .await
    }

    /// Writes `out`, the picture of the image `image` (a downloader's thumbnail in
    /// any format ffmpeg reads), [`PICTURE_WIDTH`] wide.
    pub async fn picture_from_image(&self, image: &Path, out: &Path) -> Result<(), TranscodeError> {
        self.picture_run(out, |tmp| image_args(image, tmp)).await
    }

    /// [`Ffmpeg::picture_from_image`] of an image in memory (fetched from a
    /// server), kept in a temporary file beside `out` for ffmpeg to read.
    pub async fn picture_from_bytes(&self, image: &[u8], out: &Path) -> Result<(), TranscodeError> {
        let src = TempOut::beside(&out.with_extension("source")).await?;
        tokio::fs::write(src.path(), image)
            .await
            .map_err(|e| TranscodeError::io(format!("writing {}", src.path().display()), e))?;
        self.picture_from_image(src.path(), out).await
    }

    /// Writes `out`, the strip of `pictures` (see [`strip_pictures`] and
    /// [`strip_args`]); fails when there is none.
    pub async fn strip(&self, pictures: &[PathBuf], out: &Path) -> Result<(), TranscodeError> {
        let chosen = strip_pictures(pictures);
        if chosen.is_empty() {
            return Err(TranscodeError::Failed {
                program: "ffmpeg".into(),
                status: "not run".into(),
                last_lines: "no picture to make a strip of".into(),
            });
        }
        self.picture_run(out, |tmp| strip_args(&chosen, tmp)).await
    }

    /// Writes `out`, a PNG of the logo image `image` (see [`logo_image_args`]; an
    /// SVG is known by its extension).
    pub async fn logo_from_image(&self, image: &Path, out: &Path) -> Result<(), TranscodeError> {
        let svg = image
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
        self.picture_run(out, |tmp| logo_image_args(image, svg, tmp))
            .await
    }

    /// Writes `out`, the PNG logo of channel `number` named `name` (see
    /// [`drawn_lines`]); each line's text goes to a hidden file beside `out`,
    /// removed after.
    pub async fn drawn_logo(
        &self,
        number: u32,
        name: &str,
        out: &Path,
    ) -> Result<(), TranscodeError> {
        let lines = drawn_lines(number, name);
        let mut files = Vec::with_capacity(lines.len());
        for (i, l) in lines.iter().enumerate() {
            let f = TempOut::beside(&out.with_extension(format!("{i}.txt"))).await?;
            tokio::fs::write(f.path(), &l.text)
                .await
                .map_err(|e| TranscodeError::io(format!("writing {}", f.path().display()), e))?;
            files.push(f);
        }
        let paths: Vec<&Path> = files.iter().map(TempOut::path).collect();
        self.picture_run(out, |tmp| drawn_args(&lines, &paths, tmp))
            .await
    }

    /// Runs the arguments `args` makes for a temporary file beside `out`, and keeps
    /// that file as `out` when ffmpeg wrote it.
    async fn picture_run(
        &self,
        out: &Path,
        args: impl FnOnce(&Path) -> Vec<OsString>,
    ) -> Result<(), TranscodeError> {
        let tmp = TempOut::beside(out).await?;
        let args = args(tmp.path());
        run::run_nice(&self.ffmpeg, &args, PICTURE_TIMEOUT, self.nice).await?;
        if !tmp.path().is_file() {
            return Err(TranscodeError::Failed {
                program: run::program_name(&self.ffmpeg),
                status: "exit status: 0".into(),
                last_lines: format!("no picture written for {}", out.display()),
            });
        }
        tmp.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::media::{self, args, ff, ffmpeg, strings};

    #[test]
    fn a_strip_takes_at_most_six_pictures_spread_over_the_chunk() {
        let all: Vec<PathBuf> = (0..9).map(|i| PathBuf::from(format!("{i}.jpg"))).collect();
        let names = |v: Vec<&PathBuf>| {
            v.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(strip_pictures(&all)),
            ["0.jpg", "1.jpg", "3.jpg", "4.jpg", "6.jpg", "7.jpg"]
        );
        assert_eq!(strip_pictures(&all[..2]).len(), 2);
        let one = strip_args(&strip_pictures(&all[..1]), Path::new("s.jpg"));
        assert!(!strings(&one).iter().any(|a| a.contains("hstack")));
        let six = strings(&strip_args(&strip_pictures(&all), Path::new("s.jpg")));
        assert!(
            six.iter().any(|a| a.ends_with("hstack=inputs=6[strip]")),
            "{six:?}"
        );
        assert_eq!(six.iter().filter(|a| *a == "-i").count(), 6);
        assert_eq!(six.iter().filter(|a| *a == IMAGE_FORMATS).count(), 6);
        assert_eq!(six.last().unwrap(), "file:s.jpg");
    }

    #[test]
    fn a_poster_seeks_before_its_input() {
        let info = ProbeInfo {
            duration: 100.0,
            width: 1920,
            height: 1080,
            fps: 25.0,
            rotation: 0,
            interlaced: true,
            title: None,
            artist: None,
            color: Default::default(),
        };
        let a = strings(&poster_args(
            Path::new("-v.mp4"),
            &info,
            10.0,
            Path::new("p.jpg"),
        ));
        let (ss, i) = (
            a.iter().position(|x| x == "-ss").unwrap(),
            a.iter().position(|x| x == "-i").unwrap(),
        );
        assert!(ss < i && a[ss + 1] == "10.000" && a[i + 1] == "file:-v.mp4");
        assert!(a.contains(&"-noaccurate_seek".to_string()));
        let vf = &a[a.iter().position(|x| x == "-vf").unwrap() + 1];
        assert!(
            vf.contains("yadif") && vf.ends_with("format=yuvj420p"),
            "{vf}"
        );
    }

    /// Width, height and codec of a picture, as ffprobe reads it.
    fn judged(path: &Path) -> (String, u64, u64) {
        let s = &media::streams(path)[0];
        (
            s["codec_name"].as_str().unwrap().to_string(),
            s["width"].as_u64().unwrap(),
            s["height"].as_u64().unwrap(),
        )
    }

    #[tokio::test]
    async fn posters_strips_and_pictures_of_images_decode_at_their_width() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ff = ff().await;
        // Anamorphic 4:3 storage shown 16:9: the poster keeps the display aspect.
        let src = d.join("wide.mkv");
        media::make_video_with(
            &src,
            "testsrc2=size=480x360:rate=25:duration=4",
            &["-aspect", "16:9"],
        );
        let info = ff.probe(&src).await.unwrap();
        let poster = d.join("poster.jpg");
        ff.poster(&src, &info, 0.4, &poster).await.unwrap();
        assert_eq!(judged(&poster), ("mjpeg".into(), 320, 180));
        // A WebP thumbnail named .jpg, as downloaders sometimes leave them.
        let webp = d.join("thumb.jpg");
        let mut a = args([
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=640x480",
            "-frames:v",
            "1",
            "-f",
            "webp",
        ]);
        a.push(webp.clone().into());
        ffmpeg(a);
        let from_image = d.join("from-image.jpg");
        ff.picture_from_image(&webp, &from_image).await.unwrap();
        assert_eq!(judged(&from_image), ("mjpeg".into(), 320, 240));
        let from_bytes = d.join("from-bytes.jpg");
        ff.picture_from_bytes(&std::fs::read(&webp).unwrap(), &from_bytes)
            .await
            .unwrap();
        assert_eq!(judged(&from_bytes), ("mjpeg".into(), 320, 240));
        // Three 320x180 pictures: a strip of three 160x90 tiles.
        let strip = d.join("strip.jpg");
        let pics = vec![poster.clone(), poster.clone(), poster];
        ff.strip(&pics, &strip).await.unwrap();
        assert_eq!(judged(&strip), ("mjpeg".into(), 480, 90));
        // Not an image: an error, and nothing left behind; a video or a playlist
        // named like an image is not read as one.
        let junk = d.join("junk.png");
        std::fs::write(&junk, b"not a picture").unwrap();
        let playlist = d.join("list.jpg");
        std::fs::write(&playlist, "#EXTM3U\n#EXTINF:1,\nhttp://127.0.0.1:9/x.ts\n").unwrap();
        assert!(
            ff.picture_from_image(&playlist, &d.join("no.jpg"))
                .await
                .is_err()
        );
        let video = d.join("video.webp");
        std::fs::copy(&src, &video).unwrap();
        assert!(
            ff.picture_from_image(&video, &d.join("no.jpg"))
                .await
                .is_err()
        );
        assert!(
            ff.picture_from_image(&junk, &d.join("no.jpg"))
                .await
                .is_err()
        );
        assert!(ff.strip(&[], &d.join("no.jpg")).await.is_err());
        let names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !names.iter().any(|n| n.starts_with('.') || n == "no.jpg"),
            "{names:?}"
        );
    }

    #[test]
    fn a_drawn_logo_fits_its_square_whatever_the_name() {
        let room = f64::from(DRAWN_LOGO_SIZE - 2 * DRAWN_MARGIN);
        let long = "The Extremely Long Channel Name Of Documentaries About Everything Under The Sun And Beyond";
        for (number, name) in [
            (1, "News"),
            (99_999, "Late Night TV"),
            (42, long),
            (7, "Supercalifragilisticexpialidocious-Extraordinaire"),
            (12, "Télé Ünïcødé 日本語"),
            (3, ""),
        ] {
            let lines = drawn_lines(number, name);
            assert_eq!(lines[0].text, number.to_string());
            assert!(lines.len() <= 1 + NAME_LINES, "{name}: {lines:?}");
            for l in &lines {
                assert!(text_width(&l.text, l.size) <= room, "{name}: {l:?}");
                assert!(
                    l.baseline > l.size / 2 && l.baseline < DRAWN_LOGO_SIZE - DRAWN_MARGIN,
                    "{name}: {l:?}"
                );
            }
            // Readable at 100 px: the number at least 25 px there, the name 5.5.
            assert!(lines[0].size >= 100, "{lines:?}");
            assert!(lines.iter().skip(1).all(|l| l.size >= 22), "{lines:?}");
        }
        assert_eq!(drawn_lines(3, "").len(), 1);
        let short = drawn_lines(1, "News");
        assert_eq!((short.len(), short[1].size), (2, NAME_SIZES[0]));
        // One line rather than two while the font stays readable.
        let one = drawn_lines(2, "Late Night TV");
        assert_eq!(one.len(), 2, "{one:?}");
        assert!(one[1].size >= NAME_READABLE, "{one:?}");
        let cut = drawn_lines(42, long);
        assert_eq!(cut.len(), 1 + NAME_LINES);
        assert!(cut.last().unwrap().text.ends_with('…'), "{cut:?}");
        // One line of text per line: control characters and runs of spaces go.
        let tidy = drawn_lines(5, " a\n\tb  c ");
        assert_eq!(tidy[1].text, "a b c");
    }

    #[test]
    fn user_text_reaches_drawtext_only_through_its_files() {
        let name = "It's \"quoted\": a:b, [c]; d\\e %{n}";
        let lines = drawn_lines(12, name);
        let files: Vec<PathBuf> = (0..lines.len())
            .map(|i| PathBuf::from(format!("/data/a b:c/.x.{i}.txt")))
            .collect();
        let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        let a = strings(&drawn_args(&lines, &paths, Path::new("out.png")));
        let vf = &a[a.iter().position(|x| x == "-vf").unwrap() + 1];
        assert_eq!(vf.matches("drawtext=").count(), lines.len(), "{vf}");
        assert_eq!(vf.matches(":expansion=none:").count(), lines.len(), "{vf}");
        for word in ["quoted", "It", "%{n}"] {
            assert!(!vf.contains(word), "{word} in {vf}");
        }
        assert!(vf.contains("textfile=/data/a b\\\\:c/.x.0.txt:"), "{vf}");
        assert_eq!(a.last().unwrap(), "file:out.png");
    }

    #[tokio::test]
    async fn drawn_logos_are_pngs_with_the_text_inside_the_square() {
        let dir = tempfile::tempdir().unwrap();
        let ff = ff().await;
        let size = DRAWN_LOGO_SIZE as usize;
        for (i, (number, name)) in [
            (99_999, "Late Night TV"),
            (
                42,
                "The Extremely Long Channel Name Of Documentaries About Everything Under The Sun",
            ),
            (12, "Télé Ünïcødé: «Ça» 日本"),
            (3, "It's \"quoted\": a:b, [c]; d\\e %{n} %{pts}"),
            (1, ""),
        ]
        .into_iter()
        .enumerate()
        {
            let out = dir.path().join(format!("drawn-{i}.png"));
            ff.drawn_logo(number, name, &out)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let (codec, w, h) = judged(&out);
            assert_eq!((codec.as_str(), w, h), ("png", 400, 400), "{name}");
            let gray = media::first_frame_gray(&out);
            assert_eq!(gray.len(), size * size);
            let bright = |rows: std::ops::Range<usize>, cols: std::ops::Range<usize>| {
                rows.flat_map(|y| cols.clone().map(move |x| (y, x)))
                    .filter(|(y, x)| gray[y * size + x] > 100)
                    .count()
            };
            // Nothing touches the edges (nothing was cut off), the number is drawn,
            // and so is the name below it.
            let edge = 6;
            assert_eq!(bright(0..size, 0..edge), 0, "{name}: left edge");
            assert_eq!(bright(0..size, size - edge..size), 0, "{name}: right edge");
            assert_eq!(bright(0..edge, 0..size), 0, "{name}: top edge");
            assert_eq!(bright(size - edge..size, 0..size), 0, "{name}: bottom edge");
            let lines = drawn_lines(number, name);
            let below_number = lines[0].baseline as usize + 4;
            assert!(bright(0..below_number, 0..size) > 1000, "{name}: no number");
            let name_pixels = bright(below_number..size, 0..size);
            assert_eq!(name_pixels > 200, !name.is_empty(), "{name}: {name_pixels}");
        }
        // Only the logos are left: the text files are gone.
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| n.ends_with(".png") && !n.starts_with('.')),
            "{names:?}"
        );
    }

    #[tokio::test]
    async fn logo_images_become_pngs_fitted_in_512_with_alpha_kept() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let ff = ff().await;
        // A small SVG, transparent at its corners: rendered 512 wide, alpha kept.
        let svg = d.join("Logo.SVG");
        std::fs::write(
            &svg,
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 16"><circle cx="16" cy="8" r="7" fill="#7aa2ff"/></svg>"##,
        )
        .unwrap();
        let out = d.join("svg.png");
        ff.logo_from_image(&svg, &out).await.unwrap();
        assert_eq!(judged(&out), ("png".into(), 512, 256));
        assert_eq!(media::streams(&out)[0]["pix_fmt"], "rgba");
        let px = crate::testkit::media::first_frame(&out, "rgba");
        assert_eq!(px[3], 0, "a transparent corner");
        let centre = (128 * 512 + 256) * 4;
        assert_eq!(&px[centre..centre + 4], &[0x7a, 0xa2, 0xff, 0xff]);
        // A tall SVG: fitted, the longer side 512.
        let tall = d.join("tall.svg");
        std::fs::write(
            &tall,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 20 100"><rect width="20" height="100" fill="red"/></svg>"#,
        )
        .unwrap();
        ff.logo_from_image(&tall, &out).await.unwrap();
        assert_eq!(judged(&out), ("png".into(), 102, 512));
        // A big WebP is scaled down; a small GIF keeps its size.
        for (name, lavfi, format, size) in [
            ("big.webp", "testsrc=size=1024x480", "webp", (512, 240)),
            ("small.gif", "testsrc=size=100x80", "gif", (100, 80)),
        ] {
            let src = d.join(name);
            let mut a = args([
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                lavfi,
                "-frames:v",
                "1",
                "-f",
                format,
            ]);
            a.push(src.clone().into());
            ffmpeg(a);
            let out = d.join(format!("{name}.png"));
            ff.logo_from_image(&src, &out).await.unwrap();
            assert_eq!(judged(&out), ("png".into(), size.0, size.1), "{name}");
        }
        // A corrupt file is an error, and leaves nothing behind.
        for (name, bytes) in [
            (
                "broken.svg",
                &b"<svg xmlns=\"http://www.w3.org/2000/svg\"><rect"[..],
            ),
            ("broken.webp", &b"RIFF\x10\x00\x00\x00WEBPVP8 junk"[..]),
            ("broken.gif", &b"GIF89a\x01"[..]),
        ] {
            let src = d.join(name);
            std::fs::write(&src, bytes).unwrap();
            let out = d.join("no.png");
            assert!(ff.logo_from_image(&src, &out).await.is_err(), "{name}");
            assert!(!out.exists(), "{name}");
        }
        let hidden: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(hidden.is_empty(), "{hidden:?}");
    }
}
