//! The two tiers of the test suite. A plain `cargo test` runs the unit tests and
//! the in-process API tests, needing only ffmpeg; the slow scenarios (crash storms,
//! the varied library, the cache with nginx, real players, packaging, restarts, the
//! real discovery port) run when [`VAR`] is set, which `scripts/test.sh` (and so CI)
//! always does. A skipped test says so on stderr (`--nocapture` shows it) and passes.

/// The variable that turns the slow tier on (any value but empty or `0`).
pub const VAR: &str = "RUN_SLOW_TESTS";

/// Whether the slow tier runs.
pub fn slow_tests_enabled() -> bool {
    std::env::var_os(VAR).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Whether the slow test `what` runs now; when it does not, says so.
pub fn run_slow(what: &str) -> bool {
    if slow_tests_enabled() {
        return true;
    }
    eprintln!("skipped {what}: a slow test; set {VAR}=1 to run it (scripts/test.sh does)");
    false
}
