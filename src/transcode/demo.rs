//! The demo library: generated videos and music, so a fresh install has something to air.
//!
//! Fast start matters (the first segment of a fresh install should air within seconds),
//! so the work is split in two:
//!
//! 1. [`make_first_demo_video`] makes only the quickest video (under a second), so the
//!    first clip can be cut from it right away.
//! 2. [`make_demo_library`] makes everything still missing, one file at a time (the music
//!    tracks right after the first video), and is meant to run in the background
//!    while the channel already airs the first video. The music folder is rescanned by
//!    the caller; until a track exists, the bed is silence.
//!
//! Every file is written under a hidden temporary name (`.<name>.<pid>-<n>.part`) and
//! renamed when complete, so a library scan never sees a half-made file. Files that
//! already exist are kept, so later starts cost nothing.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::TranscodeError;
use super::ffmpeg::Ffmpeg;
use super::run::{self, TempOut, file_arg, os_args};

/// Where the demo library's files are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoLibrary {
    /// The folder of demo videos (`<dir>/videos`).
    pub videos: PathBuf,
    /// The folder of demo music (`<dir>/music`).
    pub music: PathBuf,
}

impl DemoLibrary {
    /// The folders of the demo library under `dir` (nothing is created).
    pub fn under(dir: &Path) -> DemoLibrary {
        DemoLibrary {
            videos: dir.join("videos"),
            music: dir.join("music"),
        }
    }
}

/// Generating one file takes a few seconds; far longer means ffmpeg is stuck.
const MAKE_TIMEOUT: Duration = Duration::from_secs(300);

/// One generated file: where it goes, and the ffmpeg input and output options that make it.
struct DemoFile {
    name: &'static str,
    /// Input options (a lavfi graph).
    input: Vec<String>,
    /// Output options (codec, format), before the output file.
    output: Vec<String>,
    /// The same with a graph that needs no fonts, tried when the first fails.
    fallback_input: Option<Vec<String>>,
}

fn lavfi(graph: String) -> Vec<String> {
    vec!["-f".into(), "lavfi".into(), "-i".into(), graph]
}

/// Quick to make and small enough: the channel re-encodes these anyway.
fn h264_mp4(fps: u32, secs: u32) -> Vec<String> {
    [
        "-t",
        &secs.to_string(),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "28",
        "-pix_fmt",
        "yuv420p",
        // Short GOPs: clip cuts seek to a keyframe and decode forward from it.
        "-g",
        &(2 * fps).to_string(),
        "-f",
        "mp4",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The demo videos, quickest first: distinct sizes, aspect ratios, frame rates and looks.
fn videos() -> Vec<DemoFile> {
    vec![
        // 16:9, 25 fps: the quickest to make (about 0.7 s on one core), so it comes first.
        DemoFile {
            name: "01-test-card.mp4",
            input: lavfi("testsrc2=size=640x360:rate=25".into()),
            output: h264_mp4(25, 30),
            fallback_input: None,
        },
        // 1:1, 30 fps: colour bars with a square gliding across them.
        DemoFile {
            name: "02-bars.mp4",
            input: lavfi(
                "smptehdbars=size=480x480:rate=30[bars];color=c=white:size=64x64:rate=30[sq];\
                 [bars][sq]overlay=x='mod(t*160,W-w)':y='(H-h)/2+150*sin(t*1.3)':shortest=1"
                    .into(),
            ),
            output: h264_mp4(30, 35),
            fallback_input: None,
        },
        // 4:3, 24 fps: Conway's game of life in colour, in 2×2 cells (a quarter of the work).
        DemoFile {
            name: "03-life.mp4",
            input: lavfi(
                "life=size=160x120:rate=24:ratio=0.2:mold=8:life_color=#40e0a0:death_color=#601040:mold_color=#102040,\
                 scale=320:240:flags=neighbor,format=yuv420p"
                    .into(),
            ),
            output: h264_mp4(24, 32),
            fallback_input: None,
        },
        // 9:16 portrait, 30 fps: drifting gradients with a bobbing title.
        DemoFile {
            name: "04-portrait.mp4",
            input: lavfi(
                "gradients=size=90x160:rate=30:speed=0.03:n=3,scale=360:640:flags=bilinear,\
                 drawtext=text='shufflecast':fontsize=44:fontcolor=white:borderw=2:bordercolor=black\
                 :x=(w-text_w)/2:y=(h-text_h)/2+220*sin(t*0.9)"
                    .into(),
            ),
            output: h264_mp4(30, 30),
            fallback_input: Some(lavfi(
                "gradients=size=90x160:rate=30:speed=0.03:n=3,scale=360:640:flags=bilinear[g];\
                 color=c=white:size=200x40:rate=30[bar];[g][bar]overlay=x=80:y='300+220*sin(t*0.9)':shortest=1"
                    .into(),
            )),
        },
        // 2.37:1, 50 fps: a tinted cellular automaton, letterboxed on air.
        DemoFile {
            name: "05-cinemascope.mp4",
            input: lavfi(
                "cellauto=size=128x54:rate=50:rule=30:random_fill_ratio=0.5,\
                 scale=512:216:flags=neighbor,format=yuv420p,lutyuv=u=100:v=168"
                    .into(),
            ),
            output: h264_mp4(50, 30),
            fallback_input: None,
        },
    ]
}

/// A looping chord progression as an ffmpeg audio graph.
///
/// The graph evaluates one pass of the progression at a low rate (the expression is
/// evaluated per sample, so this is what costs) and loops it; each chord fades in and out
/// within its slot so chord changes do not click.
fn chords(
    root_hz: f64,
    third: f64,
    semitones: &[i32],
    slot: f64,
    passes: u32,
    tremolo_hz: f64,
) -> String {
    const RATE: u32 = 22_050;
    let pass = slot * semitones.len() as f64;
    let mut shift = String::new();
    for (i, s) in semitones.iter().enumerate() {
        if i + 1 == semitones.len() {
            shift.push_str(&s.to_string());
        } else {
            shift.push_str(&format!("if(lt(t,{}),{s},", slot * (i + 1) as f64));
        }
    }
    shift.push_str(&")".repeat(semitones.len() - 1));
    let f = format!("{root_hz}*pow(2,{shift}/12)");
    let env =
        format!("min(1,mod(t,{slot})*30)*min(1,({slot}-mod(t,{slot}))*6)*exp(-0.4*mod(t,{slot}))");
    format!(
        "aevalsrc=exprs='0.3*{env}*(sin(2*PI*{f}*t)+0.8*sin(2*PI*{f}*{third}*t)\
         +0.7*sin(2*PI*{f}*1.4983*t)+0.6*sin(PI*{f}*t))':s={RATE}:d={pass},\
         aloop=loop={}:size={},tremolo=f={tremolo_hz}:d=0.3,aecho=0.8:0.6:60|90:0.3|0.2,\
         pan=stereo|c0=c0|c1=c0,aresample=44100",
        passes - 1,
        (pass * f64::from(RATE)).round() as u64
    )
}

/// The demo music: two tracks in different keys, tempos and formats.
fn tracks() -> Vec<DemoFile> {
    let strings = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        // A minor, 2 s chords, 48 s: Am F C G.
        DemoFile {
            name: "01-drift.mp3",
            input: lavfi(chords(220.0, 1.1892, &[0, 8, 3, 10], 2.0, 6, 5.0)),
            output: strings(&["-c:a", "libmp3lame", "-q:a", "5", "-f", "mp3"]),
            fallback_input: None,
        },
        // D major, 3 s chords, 54 s: D A Bm G.
        DemoFile {
            name: "02-glow.m4a",
            input: lavfi(chords(146.83, 1.2599, &[0, 7, 9, 5], 3.0, 4, 3.0)),
            output: strings(&[
                "-c:a",
                "aac",
                "-aac_coder",
                "fast",
                "-b:a",
                "128k",
                "-f",
                "mp4",
            ]),
            fallback_input: None,
        },
    ]
}

fn make_args(
    input: &[String],
    output: &[String],
    threads: Option<u32>,
    out: &Path,
) -> Vec<OsString> {
    let mut a = os_args(["-nostdin", "-hide_banner", "-loglevel", "error", "-nostats"]);
    a.extend(os_args(input));
    if let Some(t) = threads {
        a.extend(os_args(["-threads".to_string(), t.to_string()]));
    }
    a.extend(os_args(output));
    a.push("-y".into());
    a.push(file_arg(out));
    a
}

/// Makes `dir/<file.name>` unless it is already there.
async fn make(ff: &Ffmpeg, dir: &Path, file: &DemoFile) -> Result<(), TranscodeError> {
    let target = dir.join(file.name);
    if tokio::fs::metadata(&target)
        .await
        .is_ok_and(|m| m.len() > 0)
    {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let tmp = TempOut::beside(&target).await?;
    let args = make_args(&file.input, &file.output, ff.threads, tmp.path());
    let made = run::run_nice(&ff.ffmpeg, &args, MAKE_TIMEOUT, ff.nice).await;
    match (made, &file.fallback_input) {
        (Ok(_), _) => {}
        (Err(e @ TranscodeError::Failed { .. }), Some(fallback)) => {
            // Most likely drawtext without fonts: the fallback draws no text.
            tracing::warn!(
                "demo {} with text failed ({}); making it without text",
                file.name,
                e.cause()
            );
            let args = make_args(fallback, &file.output, ff.threads, tmp.path());
            run::run_nice(&ff.ffmpeg, &args, MAKE_TIMEOUT, ff.nice).await?;
        }
        (Err(e), _) => return Err(e),
    }
    tmp.commit().await?;
    tracing::info!(
        "made demo file {} in {} ms",
        target.display(),
        started.elapsed().as_millis()
    );
    Ok(())
}

/// Makes the quickest demo video under `dir` if missing (under 1 s), creates both folders, and returns them.
pub async fn make_first_demo_video(ff: &Ffmpeg, dir: &Path) -> Result<DemoLibrary, TranscodeError> {
    let lib = DemoLibrary::under(dir);
    // The music folder exists from the start, so a scanner finds it (empty) rather than an error.
    for d in [&lib.videos, &lib.music] {
        tokio::fs::create_dir_all(d)
            .await
            .map_err(|e| TranscodeError::io(format!("creating {}", d.display()), e))?;
    }
    make(ff, &lib.videos, &videos()[0]).await?;
    Ok(lib)
}

/// Makes every missing demo file under `dir` (5 videos, 2 tracks), one at a time:
/// the first video, the tracks (a few seconds each: the music's shuffle has both
/// soon, even on a busy machine), then the rest of the videos.
pub async fn make_demo_library(ff: &Ffmpeg, dir: &Path) -> Result<DemoLibrary, TranscodeError> {
    let lib = make_first_demo_video(ff, dir).await?;
    for t in &tracks() {
        make(ff, &lib.music, t).await?;
    }
    for v in &videos()[1..] {
        make(ff, &lib.videos, v).await?;
    }
    Ok(lib)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::media::ff;
    use std::collections::BTreeSet;
    use std::time::Instant;

    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn chord_graph_shape() {
        let g = chords(220.0, 1.1892, &[0, 8, 3], 2.0, 6, 5.0);
        assert!(g.contains("pow(2,if(lt(t,2),0,if(lt(t,4),8,3))/12)"), "{g}");
        assert!(g.contains(":d=6,aloop=loop=5:size=132300,"), "{g}");
    }

    /// Every graph renders, including the no-font fallbacks that only run on font-less machines.
    #[tokio::test]
    async fn all_graphs_render() {
        let ff = ff().await;
        let dir = tempfile::tempdir().unwrap();
        let graphs = videos()
            .into_iter()
            .chain(tracks())
            .flat_map(|f| [Some(f.input), f.fallback_input])
            .flatten();
        for input in graphs {
            let out = dir.path().join("x");
            let mut output: Vec<String> = ["-t", "0.1", "-f", "null"].map(String::from).to_vec();
            output.extend(["-threads".to_string(), "1".to_string()]);
            let mut a = make_args(&input, &output, None, &out);
            // To the null muxer, not a file.
            a.pop();
            a.push("-".into());
            run::run(ff.ffmpeg_path(), &a, MAKE_TIMEOUT)
                .await
                .unwrap_or_else(|e| panic!("{input:?}: {e}"));
        }
    }

    #[tokio::test]
    async fn makes_the_library_and_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let ff = ff().await;

        let t = Instant::now();
        let lib = make_first_demo_video(&ff, dir.path()).await.unwrap();
        eprintln!("first demo video: {} ms", t.elapsed().as_millis());
        assert_eq!(lib, DemoLibrary::under(dir.path()));
        assert_eq!(files(&lib.videos).len(), 1);
        assert_eq!(files(&lib.music).len(), 0);
        let first = ff.probe(&files(&lib.videos)[0]).await.unwrap();
        assert_eq!((first.width, first.height), (640, 360));

        let t = Instant::now();
        make_demo_library(&ff, dir.path()).await.unwrap();
        eprintln!("rest of the demo library: {} ms", t.elapsed().as_millis());

        let videos = files(&lib.videos);
        assert_eq!(videos.len(), 5, "{videos:?}");
        let mut sizes = BTreeSet::new();
        let mut rates = BTreeSet::new();
        for v in &videos {
            let info = ff.probe(v).await.unwrap();
            assert!(
                (29.0..=41.0).contains(&info.duration),
                "{v:?}: {}",
                info.duration
            );
            sizes.insert((info.width, info.height));
            rates.insert(info.fps as u32);
        }
        assert_eq!(sizes.len(), 5, "distinct sizes: {sizes:?}");
        assert!(rates.len() >= 3, "{rates:?}");

        let music = files(&lib.music);
        assert_eq!(music.len(), 2, "{music:?}");
        for m in &music {
            let d = ff.probe_audio(m).await.unwrap();
            assert!((40.0..=60.0).contains(&d), "{m:?}: {d}");
        }

        let t = Instant::now();
        make_demo_library(&ff, dir.path()).await.unwrap();
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "second call reuses the files"
        );
        assert_eq!(files(&lib.videos), videos);
        assert_eq!(files(&lib.music), music);
    }
}
