//! A time limit for every end-to-end test, so a hung test is named instead of
//! hanging the run (libtest has none). Each test starts with [`fast`] (or, for the
//! slow tier, [`slow`]); a watchdog thread checks the limits of the tests running,
//! and when one is over, it prints the test's name, kills every process the test
//! binary started (servers, ffmpeg, players, nginx) and ends the run with a failure.
//! `main.rs` has a test that every test of this binary starts so.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The tests running now: (id, name, when it started or last waited, limit).
type Running = Mutex<Vec<(u64, String, Instant, Duration)>>;

fn running() -> &'static Arc<Running> {
    static RUNNING: OnceLock<Arc<Running>> = OnceLock::new();
    RUNNING.get_or_init(|| {
        let running: Arc<Running> = Arc::default();
        let watched = Arc::clone(&running);
        // SAFETY: registers a plain `extern "C" fn` that only reads an atomic and
        // calls `_exit`.
        unsafe { libc::atexit(fail_if_over) };
        std::thread::Builder::new()
            .name("time-limit watchdog".into())
            .spawn(move || watch(&watched))
            .expect("the watchdog starts");
        running
    })
}

/// Held by a running test; its drop ends the test's limit.
pub struct TimeLimit {
    id: u64,
}

/// Starts the calling test's time limit of `secs` seconds (a test of the fast tier,
/// which every `cargo test` runs).
pub fn fast(secs: u64) -> TimeLimit {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // libtest runs each test on a thread named after it.
    let name = std::thread::current()
        .name()
        .unwrap_or("an unnamed test")
        .to_string();
    let limit = Duration::from_secs(secs);
    running()
        .lock()
        .unwrap()
        .push((id, name, Instant::now(), limit));
    TimeLimit { id }
}

/// A slow-tier test's limit, or `None` (the test returns at once) when the slow
/// tier is off (`RUN_SLOW_TESTS`, see `shufflecast::testkit::tier`).
pub fn slow(secs: u64) -> Option<TimeLimit> {
    let name = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    shufflecast::testkit::tier::run_slow(&name).then(|| fast(secs))
}

impl TimeLimit {
    /// Starts the limit again: after waiting for the machine (`harness::exclusive`),
    /// which says nothing about this test.
    pub fn restart(&self) {
        if let Some(t) = running()
            .lock()
            .unwrap()
            .iter_mut()
            .find(|t| t.0 == self.id)
        {
            t.2 = Instant::now();
        }
    }
}

impl Drop for TimeLimit {
    fn drop(&mut self) {
        running().lock().unwrap().retain(|t| t.0 != self.id);
    }
}

fn watch(running: &Running) {
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let over = running
            .lock()
            .unwrap()
            .iter()
            .find(|t| t.2.elapsed() > t.3)
            .map(|t| (t.1.clone(), t.3));
        if let Some((name, limit)) = over {
            // Straight to the file descriptor: libtest captures `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "\n\nTIME LIMIT: test `{name}` still runs after its limit of {} s; \
                 stopping it, the processes it started and this run.\n",
                limit.as_secs()
            );
            OVER.store(true, std::sync::atomic::Ordering::SeqCst);
            kill_descendants(std::process::id());
            std::process::exit(101);
        }
    }
}

/// Set once a test is over its limit: the run fails even if the test, its child
/// killed, ends and libtest exits before the watchdog does.
static OVER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn fail_if_over() {
    if OVER.load(std::sync::atomic::Ordering::SeqCst) {
        // SAFETY: ends the process at once, as `exit` was about to.
        unsafe { libc::_exit(101) };
    }
}

/// SIGKILL to every process under `pid`, children first found, then theirs.
fn kill_descendants(pid: u32) {
    let all = crate::harness::processes();
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(all.iter().filter(|p| p.ppid == parent).map(|p| p.pid));
        i += 1;
    }
    for child in &tree[1..] {
        // SAFETY: kill(2) with SIGKILL on a pid read from /proc as our descendant
        // a moment ago; the run ends right after.
        unsafe { libc::kill(*child as libc::pid_t, libc::SIGKILL) };
    }
}

/// The tests of this binary that do not start with their time limit, as
/// `file:line fn`.
fn without_a_limit(root: &std::path::Path) -> Vec<String> {
    let mut missing = Vec::new();
    let mut files = vec![root.to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            if !(t.starts_with("#[test]") || t.starts_with("#[tokio::test")) {
                continue;
            }
            let open = (i..lines.len()).find(|j| lines[*j].trim_end().ends_with('{'));
            let first = open.and_then(|j| lines.get(j + 1)).copied().unwrap_or("");
            if !(first.contains("crate::limit::fast(") || first.contains("crate::limit::slow(")) {
                let name = open.map_or("", |j| lines[j].trim());
                missing.push(format!("{}:{} {name}", path.display(), i + 1));
            }
        }
    }
    missing.sort();
    missing
}

#[test]
fn every_test_starts_with_its_time_limit() {
    let _limit = crate::limit::fast(60);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it");
    let missing = without_a_limit(&root);
    assert!(
        missing.is_empty(),
        "end-to-end tests must start with `let _limit = crate::limit::fast(SECS);` or \
         `let Some(limit) = crate::limit::slow(SECS) else {{ return; }};`:\n{}",
        missing.join("\n")
    );
    // And the check sees a test without one.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.rs"),
        "#[test]\nfn ok() {\n    let _limit = crate::limit::fast(5);\n}\n\n#[tokio::test]\nasync fn bare() {\n    work();\n}\n",
    )
    .unwrap();
    assert_eq!(without_a_limit(dir.path()).len(), 1);
}

/// Run only by [`a_test_over_its_limit_is_named_and_stops_the_run`], in a child
/// process of its own: a test that hangs past its limit of a second.
#[test]
fn hangs_past_its_limit() {
    let _limit = crate::limit::fast(1);
    if std::env::var_os(HANG).is_none() {
        return;
    }
    let mut child = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .unwrap();
    let _ = writeln!(std::io::stderr(), "child {}", child.id());
    // The watchdog ends this process long before the child ends.
    let _ = child.wait();
}

/// Set in the child process that runs [`hangs_past_its_limit`].
const HANG: &str = "SHUFFLECAST_TEST_HANG";

#[test]
fn a_test_over_its_limit_is_named_and_stops_the_run() {
    let _limit = crate::limit::fast(120);
    let t0 = Instant::now();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "limit::hangs_past_its_limit", "--nocapture"])
        .env(HANG, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(101), "{stderr}");
    assert!(
        stderr.contains("TIME LIMIT: test `limit::hangs_past_its_limit`"),
        "{stderr}"
    );
    // Stopped at its limit, not at the end of its sleep, and its child with it.
    assert!(t0.elapsed() < Duration::from_secs(60), "{:?}", t0.elapsed());
    let child: u32 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("child ")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no child: {stderr}"));
    // A SIGKILL lands when the child next runs, which a busy machine delays.
    let alive = || {
        crate::harness::processes()
            .iter()
            .any(|p| p.pid == child && p.state != 'Z')
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!alive(), "the hung test's child {child} was killed");
}
