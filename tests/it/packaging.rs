//! The container's command line, run natively: the binary started exactly as the
//! Dockerfile starts it (its ENV, WORKDIR and CMD, read from the Dockerfile itself
//! so the two cannot drift apart), with the image's paths moved into a temporary
//! root. Read-only media folders, JSON logs, and a `docker stop` (SIGTERM) in the
//! middle of an encode followed by a restart on the same data folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{self, Server, parse_playlist};

/// The frame rate in force: neither the image nor these tests set FPS.
const DEFAULT_FPS: f64 = 30.0;

/// What the Dockerfile's final stage sets up for the process.
struct Image {
    env: Vec<(String, String)>,
    workdir: String,
    args: Vec<String>,
}

fn image() -> Image {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile");
    let text = std::fs::read_to_string(&path).expect("the Dockerfile at the repository root");
    let joined = text.replace("\\\n", " ");
    let final_stage = joined
        .rsplit_once("\nFROM ")
        .map(|(_, s)| s)
        .expect("a final stage");
    let mut image = Image {
        env: Vec::new(),
        workdir: "/".into(),
        args: Vec::new(),
    };
    let mut entrypoint: Vec<String> = Vec::new();
    for line in final_stage.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("ENV ") {
            for pair in rest.split_whitespace() {
                let (k, v) = pair.split_once('=').expect("ENV KEY=VALUE");
                image.env.push((k.into(), v.into()));
            }
        } else if let Some(dir) = line.strip_prefix("WORKDIR ") {
            image.workdir = dir.trim().into();
        } else if let Some(json) = line.strip_prefix("ENTRYPOINT ") {
            entrypoint = serde_json::from_str(json).expect("ENTRYPOINT in exec form");
        } else if let Some(json) = line.strip_prefix("CMD ") {
            image.args = serde_json::from_str(json).expect("CMD in exec form");
        }
    }
    assert_eq!(
        entrypoint,
        ["shufflecast"],
        "the image runs the binary itself"
    );
    assert!(!image.env.is_empty(), "ENV in the final stage");
    image
}

/// A temporary stand-in for the container's file system: the image's absolute
/// paths live under `root`.
struct Root {
    _dir: tempfile::TempDir,
    root: PathBuf,
    image: Image,
}

impl Root {
    fn new() -> Root {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let image = image();
        let r = Root {
            _dir: dir,
            root,
            image,
        };
        for (_, v) in &r.image.env {
            if v.starts_with('/') {
                std::fs::create_dir_all(r.path(v)).unwrap();
            }
        }
        std::fs::create_dir_all(r.path(&r.image.workdir)).unwrap();
        r
    }

    /// Where the image's absolute `path` is in this root.
    fn path(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    fn var(&self, name: &str) -> PathBuf {
        let (_, v) = self
            .image
            .env
            .iter()
            .find(|(k, _)| k == name)
            .unwrap_or_else(|| panic!("the Dockerfile sets {name}"));
        self.path(v)
    }

    /// Starts the binary as the container would: the image's arguments, working
    /// folder and environment (and PATH, which a container has too, for ffmpeg),
    /// nothing else, plus `extra` variables. Logs go to `run/`.
    fn start(&self, run: &str, extra: &[(&str, &str)]) -> Server {
        let port = harness::free_port();
        let logs = self.root.join(run);
        std::fs::create_dir_all(&logs).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_shufflecast"));
        cmd.args(&self.image.args)
            .current_dir(self.path(&self.image.workdir))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        for (k, v) in &self.image.env {
            if k == "PORT" {
                cmd.env(k, port.to_string());
            } else if v.starts_with('/') {
                cmd.env(k, self.path(v));
            } else {
                cmd.env(k, v);
            }
        }
        cmd.envs(extra.iter().copied());
        // Its own process group, like a service or a shell's foreground job, so a
        // Ctrl-C can be sent to the group without reaching the test runner.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        Server::spawn(cmd, port, self.var("DATA_DIR"), &logs)
    }
}

/// Every file under `dir` with its size and modification time, and every folder.
fn listing(dir: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime, bool)> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            if m.is_dir() {
                todo.push(e.path());
            }
            out.insert(e.path(), (m.len(), m.modified().unwrap(), m.is_dir()));
        }
    }
    out
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Folders and their files made read-only, and writable again on drop (also after
/// a failed assertion), so that a non-root run can delete its temporary root.
struct ReadOnly(Vec<PathBuf>);

impl ReadOnly {
    fn new(dirs: &[&Path]) -> ReadOnly {
        for dir in dirs {
            for f in files_under(dir) {
                set_mode(&f, 0o444);
            }
            set_mode(dir, 0o555);
        }
        ReadOnly(dirs.iter().map(|d| d.to_path_buf()).collect())
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        for dir in &self.0 {
            // No unwrap: a panic while unwinding from another would abort the run.
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
        }
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    listing(dir)
        .into_iter()
        .filter(|(_, (_, _, is_dir))| !is_dir)
        .map(|(p, _)| p)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_command_line_serves_read_only_media_and_logs_json() {
    let Some(_limit) = crate::limit::slow(900) else {
        return;
    };
    let r = Root::new();
    let videos = r.var("VIDEO_FOLDER");
    let audio = r.var("AUDIO_FOLDER");
    let web = r.var("WEB_DIR");
    harness::make_sources(&videos);
    harness::make_music(&audio, 4);
    std::fs::write(
        web.join("index.html"),
        "<!doctype html><title>shufflecast image web client</title>",
    )
    .unwrap();
    // The image mounts media with :ro. Tests run as root, which read-only modes do
    // not stop, so the listings before and after are what proves nothing wrote.
    let _writable_again = ReadOnly::new(&[&videos, &audio]);
    let before = (listing(&videos), listing(&audio));

    let mut server = r.start("text", &[]);
    let t = server
        .wait_200("/healthz", shufflecast::testkit::PATIENCE)
        .await;
    eprintln!("healthz after {t:?}");
    let t = server
        .wait_200("/readyz", shufflecast::testkit::PATIENCE)
        .await;
    eprintln!("readyz after {t:?}");
    // The default ladder: the multivariant playlist, then a rung's.
    let (status, multivariant) = harness::get_text(&server.base, "/hls/stream.m3u8").await;
    assert_eq!(status, 200);
    assert!(
        multivariant.contains("#EXT-X-STREAM-INF:"),
        "{multivariant}"
    );
    let (_, _, variants) = parse_playlist(&multivariant);
    let rung = variants[0].0.trim_end_matches("stream.m3u8");
    let (status, playlist) =
        harness::get_text(&server.base, &format!("/hls/{}", variants[0].0)).await;
    assert_eq!(status, 200);
    assert!(playlist.starts_with("#EXTM3U\n"), "{playlist}");
    let (_, _, items) = parse_playlist(&playlist);
    let seg = reqwest::get(format!("{}/hls/{rung}{}", server.base, items[0].0))
        .await
        .unwrap();
    assert_eq!(seg.status(), 200);
    assert_eq!(seg.headers()["content-type"], "video/mp2t");
    assert!(!seg.bytes().await.unwrap().is_empty());
    let (status, page) = harness::get_text(&server.base, "/").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("shufflecast image web client"),
        "WEB_DIR served at /: {page}"
    );
    // The image's settings are the ones in force: its folders, no demo library.
    let logs = server.logs();
    assert!(!logs.contains("demo library"), "{logs}");
    assert!(
        !logs.lines().any(|l| l.trim_start().starts_with('{')),
        "text logs by default: {logs}"
    );
    let status = server.stop_with(libc::SIGTERM, false, Duration::from_secs(30));
    assert!(status.success(), "{status}: {}", server.logs());
    drop(server);
    assert!(r.var("DATA_DIR").join("shufflecast.db").is_file());
    assert!(
        before == (listing(&videos), listing(&audio)),
        "the media folders are untouched"
    );

    // The same data folder with JSON logs: every line of both streams is an
    // object with a level and a message, including the shutdown's.
    let mut server = r.start("json", &[("LOG_FORMAT", "json")]);
    server
        .wait_200("/readyz", shufflecast::testkit::PATIENCE)
        .await;
    let status = server.stop_with(libc::SIGTERM, false, Duration::from_secs(30));
    assert!(status.success(), "{status}: {}", server.logs());
    let out = std::fs::read_to_string(&server.log).unwrap();
    let err = std::fs::read_to_string(server.log.with_file_name("server.err")).unwrap();
    let mut messages = Vec::new();
    for line in out.lines().chain(err.lines()) {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line:?}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
        messages.push(v["message"].as_str().expect("a message").to_string());
    }
    for m in ["continuing the stream of the last run", "stopping"] {
        assert!(
            messages.iter().any(|x| x.contains(m)),
            "{m:?} in {messages:?}"
        );
    }
    drop(server);
    assert!(before == (listing(&videos), listing(&audio)));
}

/// The image's channel airs the default ladder: its top rung's media playlist
/// (`/hls/stream.m3u8` is the multivariant one).
const TOP_PLAYLIST: &str = "/hls/main/720p/stream.m3u8";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_encode_stops_cleanly_and_the_next_start_continues() {
    let Some(_limit) = crate::limit::slow(900) else {
        return;
    };
    let r = Root::new();
    let videos = r.var("VIDEO_FOLDER");
    // Sources long enough for 10 s clips, each an encode of seconds to send SIGTERM
    // in the middle of; a short chunk, so that the restart finishes it soon.
    harness::make_long_sources(&videos);
    // The image's output size (1280x720) keeps encodes slow enough to catch one.
    let settings = [
        ("CLIP_MIN", "10"),
        ("CLIP_MAX", "10"),
        ("CHUNK_DURATION", "30"),
    ];
    let mut server = r.start("first", &settings);
    server
        .wait_200("/readyz", shufflecast::testkit::PATIENCE)
        .await;

    // Wait for a few segments on air, so the sequence has somewhere to go on from,
    // and then for a clip encode in progress in a chunk that already holds a clip,
    // so the stop leaves a half-built chunk with something in it.
    let pid = server.child.id();
    let t0 = Instant::now();
    let (job, before, encoders) = loop {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "no encode in progress seen: {}",
            server.logs()
        );
        let (_, playlist) = harness::get_text(&server.base, TOP_PLAYLIST).await;
        let (seq, _, items) = parse_playlist(&playlist);
        if seq + (items.len() as u64) < 3 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let jobs = harness::get_json(&server.base, "/api/jobs").await;
        let running = jobs["jobs"].as_array().and_then(|js| {
            js.iter()
                // With a second of encoding left at least, the stop reaches the job
                // before the chunk can complete.
                .find(|j| {
                    j["speed"].is_number()
                        && j["clips_done"].as_u64() >= Some(1)
                        && j["eta_secs"].as_f64().is_some_and(|e| e >= 1.0)
                })
        });
        if let Some(job) = running {
            let (_, playlist) = harness::get_text(&server.base, TOP_PLAYLIST).await;
            let encoders = harness::live_children(pid, "ffmpeg");
            if !encoders.is_empty() {
                assert_eq!(jobs["state"], "generating", "{jobs}");
                break (job.clone(), playlist, encoders);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let status = server.stop_with(libc::SIGTERM, false, Duration::from_secs(30));
    assert!(
        status.success(),
        "exit 0 on SIGTERM: {status}: {}",
        server.logs()
    );
    let chunk = job["chunk"].as_str().unwrap().to_string();
    eprintln!("stopped while encoding {job}");

    // No encoder outlives the server (a zombie is dead: only its parent's reaping
    // is missing, and that parent is gone).
    let t0 = Instant::now();
    loop {
        let alive: Vec<u32> = encoders
            .iter()
            .copied()
            .filter(|p| {
                harness::processes()
                    .iter()
                    .any(|q| q.pid == *p && q.comm == "ffmpeg" && q.state != 'Z')
            })
            .collect();
        if alive.is_empty() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "ffmpeg {alive:?} still running after the server stopped"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let data = r.var("DATA_DIR");
    let chunks_dir = crate::harness::classic(&data).join("chunks");
    let leftovers: Vec<_> = files_under(&chunks_dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "partial encodes left: {leftovers:?}");

    // Nothing looks ready that is not: in the database a chunk is ready only with
    // its full length recorded, and every recorded clip is a whole file.
    {
        let db = rusqlite::Connection::open_with_flags(
            data.join("shufflecast.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let mut st = db
            .prepare("SELECT id, state, target_secs FROM chunks ORDER BY id")
            .unwrap();
        let chunks: Vec<(String, String, f64)> = st
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let interrupted = chunks
            .iter()
            .find(|c| c.0 == chunk)
            .unwrap_or_else(|| panic!("{chunk} recorded: {chunks:?}"));
        assert_eq!(interrupted.1, "building", "{chunks:?}");
        for (id, state, target) in &chunks {
            let mut st = db
                .prepare(
                    "SELECT file, duration, size_bytes, rungs FROM clips WHERE chunk_id = ?1 ORDER BY idx",
                )
                .unwrap();
            let clips: Vec<(String, f64, i64, String)> = st
                .query_map([id], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let secs: f64 = clips.iter().map(|c| c.1).sum();
            if state == "ready" {
                assert!(
                    secs + 1e-6 >= *target,
                    "{id} ready with {secs} of {target} s"
                );
            } else {
                assert!(secs < *target, "{id} complete but still building");
            }
            for (file, duration, size, rungs) in &clips {
                let path = chunks_dir.join(id).join(file);
                // The clip's size counts its file and each of its rungs' (the
                // default ladder), all of them on disk.
                let len: u64 = std::iter::once(path.clone())
                    .chain(
                        rungs
                            .split(',')
                            .filter(|h| !h.is_empty())
                            .map(|h| shufflecast::clip::rung_file(&path, h.parse().unwrap())),
                    )
                    .map(|f| {
                        std::fs::metadata(&f)
                            .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
                            .len()
                    })
                    .sum();
                assert!(!rungs.is_empty(), "the default ladder: {file}");
                assert_eq!(len as i64, *size, "{} as recorded", path.display());
                if id == &chunk {
                    let (frames, errors) = harness::decode(&path);
                    assert!(errors.trim().is_empty(), "{}: {errors}", path.display());
                    assert_eq!(
                        frames,
                        (duration * DEFAULT_FPS).round() as u64,
                        "{}",
                        path.display()
                    );
                }
            }
        }
        assert!(
            chunks.iter().any(|c| c.0 == chunk && {
                let n: i64 = db
                    .query_row(
                        "SELECT count(*) FROM clips WHERE chunk_id = ?1",
                        [&c.0],
                        |r| r.get(0),
                    )
                    .unwrap();
                n >= 1
            }),
            "the interrupted chunk kept its finished clips"
        );
    }
    drop(server);

    // The next start: on air again, the sequence going on from where it stopped,
    // and the interrupted chunk finished.
    let (seq0, _, items0) = parse_playlist(&before);
    let last_seq = seq0 + items0.len() as u64 - 1;
    let mut server = r.start("second", &settings);
    server
        .wait_200("/readyz", shufflecast::testkit::PATIENCE)
        .await;
    let (_, after) = harness::get_text(&server.base, TOP_PLAYLIST).await;
    let (seq1, _, items1) = parse_playlist(&after);
    assert!(
        seq1 > last_seq,
        "sequence {seq1} follows {last_seq}:\n{before}\n{after}"
    );
    assert!(items1[0].2, "a discontinuity marks the restart:\n{after}");
    let t0 = Instant::now();
    loop {
        let c = harness::get_json(&server.base, &format!("/api/chunks/{chunk}")).await;
        if c["state"] == "ready" {
            assert!(c["duration"].as_f64().unwrap() >= 30.0 - 1e-6, "{c}");
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(400),
            "{chunk} not finished after the restart: {c}\n{}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let t0 = Instant::now();
    loop {
        let (_, later) = harness::get_text(&server.base, TOP_PLAYLIST).await;
        let (seq2, _, items2) = parse_playlist(&later);
        if seq2 + items2.len() as u64 > seq1 + items1.len() as u64 {
            break;
        }
        assert!(
            t0.elapsed() < shufflecast::testkit::PATIENCE,
            "the stream does not flow on:\n{after}\n{later}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Ctrl-C in a terminal: SIGINT to the whole foreground group, during an encode.
    // Only the server may act on it; an ffmpeg that got it would fail its encode and
    // the source would be set aside as broken.
    let pid = server.child.id();
    let t0 = Instant::now();
    while harness::live_children(pid, "ffmpeg").is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "no encode to interrupt: {}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = server.stop_with(libc::SIGINT, true, Duration::from_secs(30));
    assert!(status.success(), "{status}: {}", server.logs());
    let db = rusqlite::Connection::open_with_flags(
        data.join("shufflecast.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let broken: Vec<(String, String)> = db
        .prepare("SELECT path, error FROM videos WHERE error IS NOT NULL")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(broken.is_empty(), "Ctrl-C set sources aside: {broken:?}");
}
