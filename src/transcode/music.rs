//! The music bed: tracks and silence as AAC-LC ADTS, ready for the splicer.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use super::error::TranscodeError;
use super::ffmpeg::Ffmpeg;
use super::run::{self, TempOut, file_arg, os_args};

/// The music bed's AAC bit rate, kb/s: what every rung of a channel carries.
pub const MUSIC_KBPS: u32 = 160;

/// Sample rate of the music bed.
pub const MUSIC_SAMPLE_RATE: u32 = crate::media::AUDIO_RATE;
/// Default loudness of the music bed, LUFS integrated (EBU R128 measure): the usual
/// target of streaming services, loud enough on a phone.
pub const DEFAULT_MUSIC_LUFS: f64 = -16.0;
/// True peak ceiling, dBTP, and loudness range target, LU, of the normalization.
const TRUE_PEAK: f64 = -1.5;
const LOUDNESS_RANGE: f64 = 11.0;
/// Fade-in at the start of every track, seconds.
const FADE_IN: f64 = 1.0;
/// Fade-out at the end of every track, seconds.
const FADE_OUT: f64 = 1.5;

/// The AAC-LC 48 kHz stereo ADTS output options shared by tracks and silence.
fn aac_output(threads: Option<u32>, out: &Path) -> Vec<OsString> {
    let mut a = Vec::new();
    if let Some(t) = threads {
        a.extend(os_args(["-threads".to_string(), t.to_string()]));
    }
    a.extend(os_args([
        "-c:a".to_string(),
        "aac".to_string(),
        // Over twice as fast as the default (twoloop) and as good at this bitrate.
        "-aac_coder".to_string(),
        "fast".to_string(),
        "-profile:a".to_string(),
        "aac_low".to_string(),
        "-b:a".to_string(),
        format!("{MUSIC_KBPS}k"),
        "-ar".to_string(),
        MUSIC_SAMPLE_RATE.to_string(),
        "-ac".to_string(),
        "2".to_string(),
        "-f".to_string(),
        "adts".to_string(),
        "-y".to_string(),
    ]));
    a.push(file_arg(out));
    a
}

fn quiet() -> Vec<OsString> {
    os_args(["-nostdin", "-hide_banner", "-loglevel", "error", "-nostats"])
}

/// The ffmpeg arguments that encode a track of `duration` seconds with its fades.
pub(crate) fn track_args(
    src: &Path,
    duration: f64,
    loudnorm: Option<&str>,
    threads: Option<u32>,
    out: &Path,
) -> Vec<OsString> {
    // Short tracks get shorter fades, so the two never overlap.
    let fade_in = FADE_IN.min(duration / 4.0);
    let fade_out = FADE_OUT.min(duration / 4.0);
    let out_start = (duration - fade_out).max(0.0);
    let mut a = quiet();
    a.push("-i".into());
    a.push(file_arg(src));
    a.extend(os_args([
        "-map".to_string(),
        "0:a:0".to_string(),
        // Cover art, subtitles and data never reach the bed.
        "-vn".to_string(),
        "-sn".to_string(),
        "-dn".to_string(),
        "-af".to_string(),
        format!(
            "{}aresample={MUSIC_SAMPLE_RATE},afade=t=in:st=0:d={fade_in:.3},afade=t=out:st={out_start:.3}:d={fade_out:.3}",
            loudnorm.map(|l| format!("{l},")).unwrap_or_default()
        ),
        // Anything past the probed end (an estimated duration) is cut, not aired loud after the fade.
        "-t".to_string(),
        format!("{duration:.3}"),
    ]));
    a.extend(aac_output(threads, out));
    a
}

/// The ffmpeg arguments that encode `secs` of silence.
pub(crate) fn silence_args(secs: f64, threads: Option<u32>, out: &Path) -> Vec<OsString> {
    let mut a = quiet();
    a.extend(os_args([
        "-f".to_string(),
        "lavfi".to_string(),
        "-i".to_string(),
        format!("anullsrc=r={MUSIC_SAMPLE_RATE}:cl=stereo"),
        "-t".to_string(),
        format!("{:.3}", secs.max(0.001)),
    ]));
    a.extend(aac_output(threads, out));
    a
}

/// What loudnorm's first pass measured.
#[derive(Debug, PartialEq)]
struct Loudness {
    input_i: f64,
    input_tp: f64,
    input_lra: f64,
    input_thresh: f64,
    target_offset: f64,
}

impl Loudness {
    fn second_pass(&self, target_lufs: f64) -> Option<String> {
        let all = [
            self.input_i,
            self.input_tp,
            self.input_lra,
            self.input_thresh,
            self.target_offset,
        ];
        // Silence measures -inf: no gain can bring it anywhere.
        if all.iter().any(|v| !v.is_finite()) {
            return None;
        }
        Some(format!(
            "loudnorm=I={target_lufs}:TP={TRUE_PEAK}:LRA={LOUDNESS_RANGE}:measured_I={:.2}:measured_TP={:.2}\
             :measured_LRA={:.2}:measured_thresh={:.2}:offset={:.2}:linear=true",
            self.input_i, self.input_tp, self.input_lra, self.input_thresh, self.target_offset
        ))
    }
}

/// loudnorm's JSON block, from the last lines of ffmpeg's stderr.
fn parse_loudnorm(tail: &[String]) -> Option<Loudness> {
    let start = tail.iter().rposition(|l| l.trim() == "{")?;
    let end = start + tail[start..].iter().position(|l| l.trim() == "}")?;
    let json = tail[start..=end].join("\n");
    let v: serde_json::Value = serde_json::from_str(&json).ok()?;
    // Values are strings: "-23.54", "-inf", "inf".
    let num = |k: &str| -> Option<f64> {
        let s = v.get(k)?.as_str()?.trim();
        match s {
            "-inf" => Some(f64::NEG_INFINITY),
            "inf" => Some(f64::INFINITY),
            _ => s.parse().ok(),
        }
    };
    Some(Loudness {
        input_i: num("input_i")?,
        input_tp: num("input_tp")?,
        input_lra: num("input_lra")?,
        input_thresh: num("input_thresh")?,
        target_offset: num("target_offset")?,
    })
}

/// Audio encodes run far faster than real time; this only catches a hung process.
fn audio_timeout(secs: f64) -> Duration {
    Duration::from_secs(120) + Duration::from_secs_f64(secs.clamp(0.0, 86_400.0) / 2.0)
}

impl Ffmpeg {
    /// Encodes a music track to AAC-LC 48 kHz stereo ADTS at `out`, with a 1 s
    /// fade-in and a 1.5 s fade-out, normalized to `target_lufs` integrated loudness
    /// (EBU R128) in two passes: the first measures, the second applies one gain
    /// (loudnorm's linear mode), so the music keeps its dynamics.
    pub async fn encode_track(
        &self,
        src: &Path,
        out: &Path,
        target_lufs: f64,
    ) -> Result<(), TranscodeError> {
        let duration = self.probe_audio(src).await?;
        let loudnorm = self.measure_loudness(src, duration, target_lufs).await?;
        let tmp = TempOut::beside(out).await?;
        let args = track_args(src, duration, loudnorm.as_deref(), self.threads, tmp.path());
        run::run_nice(&self.ffmpeg, &args, audio_timeout(duration), self.nice).await?;
        tmp.commit().await
    }

    /// The second-pass loudnorm filter for `src`, from a first, measuring pass.
    /// `None` when there is nothing to normalize (digital silence measures -inf).
    async fn measure_loudness(
        &self,
        src: &Path,
        duration: f64,
        target_lufs: f64,
    ) -> Result<Option<String>, TranscodeError> {
        let mut a = os_args([
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "info",
            "-nostats",
            "-i",
        ]);
        a.push(file_arg(src));
        a.extend(os_args([
            "-map".to_string(),
            "0:a:0".to_string(),
            "-vn".to_string(),
            "-sn".to_string(),
            "-dn".to_string(),
            "-af".to_string(),
            format!(
                "loudnorm=I={target_lufs}:TP={TRUE_PEAK}:LRA={LOUDNESS_RANGE}:print_format=json"
            ),
            "-f".to_string(),
            "null".to_string(),
            "-".to_string(),
        ]));
        let tail =
            run::run_stderr_tail(&self.ffmpeg, &a, audio_timeout(duration), self.nice).await?;
        let Some(m) = parse_loudnorm(&tail) else {
            tracing::warn!(track = %src.display(), "no loudness measurement; encoding without normalization");
            return Ok(None);
        };
        Ok(m.second_pass(target_lufs))
    }

    /// Writes `secs` of digital silence as AAC-LC 48 kHz stereo ADTS at `out`.
    pub async fn encode_silence(&self, out: &Path, secs: f64) -> Result<(), TranscodeError> {
        let tmp = TempOut::beside(out).await?;
        let args = silence_args(secs, self.threads, tmp.path());
        run::run(&self.ffmpeg, &args, audio_timeout(secs)).await?;
        tmp.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::media::{self, args, ff, ffmpeg, strings};

    #[test]
    fn track_args_fade_and_format() {
        let a = strings(&track_args(
            Path::new("a.mp3"),
            200.0,
            None,
            None,
            Path::new("o.aac"),
        ));
        let af = &a[a.iter().position(|x| x == "-af").unwrap() + 1];
        assert_eq!(
            af,
            "aresample=48000,afade=t=in:st=0:d=1.000,afade=t=out:st=198.500:d=1.500"
        );
        let s = a.join(" ");
        assert!(s.contains("-map 0:a:0 -vn -sn -dn"), "{s}");
        assert!(
            s.contains(
                "-c:a aac -aac_coder fast -profile:a aac_low -b:a 160k -ar 48000 -ac 2 -f adts -y file:o.aac"
            ),
            "{s}"
        );
        // A 2 s jingle: fades shrink to a quarter of it each.
        let a = strings(&track_args(
            Path::new("a.mp3"),
            2.0,
            Some("loudnorm=I=-16"),
            Some(1),
            Path::new("o.aac"),
        ));
        let af = &a[a.iter().position(|x| x == "-af").unwrap() + 1];
        assert!(af.ends_with("d=0.500,afade=t=out:st=1.500:d=0.500"), "{af}");
    }

    async fn check_adts(path: &Path, secs: f64) {
        assert_eq!(media::format_name(path), "aac");
        let streams = media::streams(path);
        assert_eq!(streams.len(), 1);
        let s = &streams[0];
        assert_eq!(s["codec_name"], "aac");
        assert_eq!(s["profile"], "LC");
        assert_eq!(s["sample_rate"], "48000");
        assert_eq!(s["channels"], 2);
        // ADTS has no duration field: count frames of 1024 samples instead.
        let frames: f64 = s["nb_read_frames"].as_str().unwrap().parse().unwrap();
        let got = frames * 1024.0 / 48_000.0;
        assert!((got - secs).abs() < 0.2, "{got} vs {secs}");
    }

    #[tokio::test]
    async fn encodes_a_track_with_cover_art_to_adts() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("song.mp3");
        // Mono 44.1 kHz mp3 with a cover picture: must come out stereo 48 kHz, audio only.
        let mut a = args(["-f", "lavfi", "-i", "sine=f=330:r=44100:d=3"]);
        a.extend(args(["-f", "lavfi", "-i", "color=c=red:s=64x64:d=1"]));
        a.extend(args([
            "-map",
            "0:a",
            "-map",
            "1:v",
            "-frames:v",
            "1",
            "-c:a",
            "libmp3lame",
        ]));
        a.extend(args([
            "-c:v",
            "mjpeg",
            "-disposition:v",
            "attached_pic",
            "-id3v2_version",
            "3",
        ]));
        a.push(src.clone().into());
        ffmpeg(a);
        let out = dir.path().join("bed/song.aac");
        let ff = ff().await;
        ff.encode_track(&src, &out, DEFAULT_MUSIC_LUFS)
            .await
            .unwrap();
        check_adts(&out, 3.0).await;

        // The fades really are there: the very start and the very end are near silent.
        let mut a = args(["-i"]);
        a.push(file_arg(&out));
        a.extend(args(["-f", "s16le", "-ac", "1", "-ar", "48000", "pipe:1"]));
        let pcm = ffmpeg(a);
        let samples: Vec<i16> = pcm
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        let peak = |s: &[i16]| s.iter().map(|x| x.unsigned_abs()).max().unwrap_or(0);
        let loud = peak(&samples[samples.len() / 2 - 4800..samples.len() / 2 + 4800]);
        // Skip the encoder's priming delay at the start.
        assert!(peak(&samples[1024..1024 + 480]) < loud / 5, "fade-in");
        assert!(
            peak(&samples[samples.len() - 960..]) < loud / 10,
            "fade-out"
        );
    }

    #[tokio::test]
    async fn encodes_silence_to_adts() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("silence.aac");
        ff().await.encode_silence(&out, 2.0).await.unwrap();
        check_adts(&out, 2.0).await;
    }

    #[tokio::test]
    async fn a_video_without_audio_is_not_a_track() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("v.mp4");
        let mut a = args([
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x64:duration=1",
            "-c:v",
            "libx264",
        ]);
        a.push(src.clone().into());
        ffmpeg(a);
        let out = dir.path().join("o.aac");
        let err = ff()
            .await
            .encode_track(&src, &out, DEFAULT_MUSIC_LUFS)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, TranscodeError::Unusable { reason, .. } if reason.contains("no audio")),
            "{err:?}"
        );
        assert!(!out.exists());
    }

    /// Integrated loudness of a file, LUFS, measured by ffmpeg's ebur128 filter.
    fn integrated_loudness(path: &Path) -> f64 {
        let out = std::process::Command::new("ffmpeg")
            .args(["-nostdin", "-hide_banner", "-nostats", "-i"])
            .arg(path)
            .args(["-af", "ebur128", "-f", "null", "-"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        // The summary's "I:" line comes last.
        err.lines()
            .rev()
            .filter_map(|l| l.trim().strip_prefix("I:"))
            .find_map(|v| v.trim().trim_end_matches("LUFS").trim().parse().ok())
            .unwrap_or_else(|| panic!("no loudness in: {err}"))
    }

    #[tokio::test]
    async fn tracks_are_normalized_to_the_same_loudness() {
        let dir = tempfile::tempdir().unwrap();
        let ff = ff().await;
        let mut measured = Vec::new();
        for (name, volume, target) in [
            ("quiet", 0.03, -16.0),
            ("loud", 0.9, -16.0),
            ("broadcast", 0.9, -23.0),
        ] {
            let src = dir.path().join(format!("{name}.wav"));
            // A chord of two tones with a slow tremolo: music-like, not a constant test tone.
            let mut a = args(["-f", "lavfi", "-i"]);
            a.push("aevalsrc=0.5*sin(2*PI*220*t)+0.4*sin(2*PI*330*t)*(0.6+0.4*sin(2*PI*0.5*t)):s=44100:d=12".to_string().into());
            a.extend(args(["-af"]));
            a.push(format!("volume={volume}").into());
            a.push(src.clone().into());
            ffmpeg(a);
            let before = integrated_loudness(&src);
            let out = dir.path().join(format!("{name}.aac"));
            ff.encode_track(&src, &out, target).await.unwrap();
            check_adts(&out, 12.0).await;
            let after = integrated_loudness(&out);
            assert!(
                (after - target).abs() < 1.5,
                "{name}: {before:.1} LUFS became {after:.1}, wanted {target}"
            );
            measured.push(before);
        }
        assert!(
            measured[1] - measured[0] > 20.0,
            "the sources really differ: {measured:?}"
        );
    }

    #[tokio::test]
    async fn silence_is_encoded_without_normalization() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("silence.wav");
        ffmpeg(args([
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=44100:cl=stereo",
            "-t",
            "3",
            src.to_str().unwrap(),
        ]));
        let out = dir.path().join("silence.aac");
        let (ff, runs) = recording(dir.path()).await;
        ff.encode_track(&src, &out, -16.0).await.unwrap();
        check_adts(&out, 3.0).await;
        // The measuring pass ran, found -inf (no gain can bring silence anywhere),
        // and the encode has no loudnorm: nothing is normalized.
        let runs = std::fs::read_to_string(runs).unwrap();
        let runs: Vec<&str> = runs.lines().collect();
        assert_eq!(runs.len(), 2, "a measure, then the encode: {runs:#?}");
        assert!(
            runs[0].contains("loudnorm=") && runs[0].contains("print_format=json"),
            "{}",
            runs[0]
        );
        assert!(
            runs[1].contains(" -af aresample=48000,afade="),
            "{}",
            runs[1]
        );
        assert!(!runs[1].contains("loudnorm"), "{}", runs[1]);
    }

    /// The test ffmpeg, behind a script that first appends its arguments to the
    /// file returned (one line a run).
    async fn recording(dir: &Path) -> (Ffmpeg, std::path::PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let real = ff().await;
        let (script, runs) = (dir.join("ffmpeg"), dir.join("runs"));
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
                runs.display(),
                real.ffmpeg.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let ff = Ffmpeg {
            ffmpeg: script,
            ..real
        };
        (ff, runs)
    }

    #[test]
    fn loudnorm_measurement_parses() {
        let tail: Vec<String> = [
            "[Parsed_loudnorm_0 @ 0x5581] ",
            "{",
            "\t\"input_i\" : \"-27.61\",",
            "\t\"input_tp\" : \"-4.47\",",
            "\t\"input_lra\" : \"18.06\",",
            "\t\"input_thresh\" : \"-39.20\",",
            "\t\"output_i\" : \"-16.58\",",
            "\t\"output_tp\" : \"-1.50\",",
            "\t\"output_lra\" : \"14.78\",",
            "\t\"output_thresh\" : \"-27.71\",",
            "\t\"normalization_type\" : \"dynamic\",",
            "\t\"target_offset\" : \"0.58\"",
            "}",
        ]
        .map(String::from)
        .to_vec();
        let m = parse_loudnorm(&tail).unwrap();
        assert_eq!(m.input_i, -27.61);
        let f = m.second_pass(-16.0).unwrap();
        assert!(
            f.contains("measured_I=-27.61") && f.contains("linear=true") && f.contains("I=-16"),
            "{f}"
        );
        let silent: Vec<String> = tail.iter().map(|l| l.replace("-27.61", "-inf")).collect();
        assert!(
            parse_loudnorm(&silent)
                .unwrap()
                .second_pass(-16.0)
                .is_none()
        );
        assert!(parse_loudnorm(&["no json here".to_string()]).is_none());
    }
}
