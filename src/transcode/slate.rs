//! The slate: what airs while no clip is ready ("shufflecast / next clip coming
//! up"), encoded with the clips' own options so it splices between them.

use std::ffi::OsString;
use std::path::Path;

use super::clip::{Fix, common_args, output_args};
use super::encoder::{PIN_FRAME, hw_input_args, pix_fmt, upload_filter};
use super::error::TranscodeError;
use super::ffmpeg::Ffmpeg;
use super::profile::{Encoder, OutputProfile};
use super::run::{TempOut, os_args};

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

impl Ffmpeg {
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
                    e.cause()
                );
                self.encode(&args(false), frames, profile.fps).await?;
            }
            Err(e) => return Err(e),
        }
        tmp.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::media::{arg_value, strings};
    use crate::transcode::encoder::encoder_args;

    #[test]
    fn slate_args_share_the_encoder_options() {
        let p = OutputProfile::new(1280, 720, 30, 6);
        for enc in [Encoder::X264, Encoder::Nvenc, Encoder::Qsv] {
            let slate = strings(&slate_args(&p, &enc, 30, None, true, Path::new("s.ts")));
            let enc_args = strings(&encoder_args(&p, &enc));
            let at = slate.iter().position(|x| *x == enc_args[0]).unwrap();
            assert_eq!(&slate[at..at + enc_args.len()], &enc_args[..]);
            assert!(arg_value(&slate, "-vf").contains("drawtext"));
        }
        let plain = strings(&slate_args(
            &p,
            &Encoder::X264,
            30,
            None,
            false,
            Path::new("s.ts"),
        ));
        assert!(!arg_value(&plain, "-vf").contains("drawtext"));
    }
}
