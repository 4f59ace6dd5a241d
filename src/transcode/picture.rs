//! Pictures: a clip's (made by the clip's own encode, see `clip::complex_graph`),
//! a chunk's strip of its clips' pictures, and a source video's poster.
//!
//! All are small JPEGs written like every output: under a temporary name, renamed
//! when whole. Only images are decoded here, or one frame of a source: a picture
//! never costs a second decode of a clip.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::run::{self, TempOut, file_arg, os_args};
use super::{Ffmpeg, ProbeInfo, TranscodeError};

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

/// The options that write one frame to `out` as a JPEG.
pub(crate) fn jpeg_output(out: &Path) -> Vec<OsString> {
    let mut a = os_args([
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
    ]);
    a.push(file_arg(out));
    a
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
    let mut f = super::clip::source_filters(info, &super::Fix::default());
    f.extend(super::clip::tone_map(info));
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
    use crate::testkit::media::{self, args, ff, ffmpeg};

    fn strings(a: &[OsString]) -> Vec<String> {
        a.iter().map(|s| s.to_string_lossy().into_owned()).collect()
    }

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
}
