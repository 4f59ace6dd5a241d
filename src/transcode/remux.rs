//! Remuxing without re-encoding: a chunk's joined clips into MP4, for the
//! original's `/chunks/<name>.mp4`.

use std::path::Path;
use std::time::Duration;

use super::error::TranscodeError;
use super::ffmpeg::Ffmpeg;
use super::run::{self, TempOut, file_arg, os_args};

/// A remux copies packets: minutes of video take well under a second, so a slow
/// one is a stuck one.
const REMUX_TIMEOUT: Duration = Duration::from_secs(120);

impl Ffmpeg {
    /// Copies the streams of the MPEG-TS `src` into the MP4 `out` (moov first, so a
    /// player can start before the end), without re-encoding.
    pub async fn remux_mp4(&self, src: &Path, out: &Path) -> Result<(), TranscodeError> {
        let tmp = TempOut::beside(out).await?;
        let mut args = os_args([
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "mpegts",
            "-i",
        ]);
        args.push(file_arg(src));
        args.extend(os_args([
            "-map",
            "0",
            "-c",
            "copy",
            "-map_metadata",
            "-1",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            "-y",
        ]));
        args.push(file_arg(tmp.path()));
        run::run(&self.ffmpeg, &args, REMUX_TIMEOUT).await?;
        tmp.commit().await
    }
}
