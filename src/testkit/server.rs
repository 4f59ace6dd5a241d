//! The whole server in the test's own runtime: [`TestServer`] builds the [`App`]
//! from command-line flags and runs it on a listener bound to `127.0.0.1:0` and
//! kept (no port found by binding and releasing one, which another test may take
//! in between). Dropping it, or [`TestServer::stop`], shuts the server down as a
//! signal would.
//!
//! For the tests of what the server does over HTTP. Where the binary itself is
//! under test (its command line, signals, logs, crashes, packaging), tests run it
//! as a user would instead.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::{App, Options};
use crate::config::{Cli, Command, Config};

/// A server running in this process, stopped on drop.
pub struct TestServer {
    /// Where it answers: `http://127.0.0.1:<port>`.
    pub base: String,
    /// Its data folder.
    pub data: PathBuf,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Starts a server with the flags `args` of `shufflecast serve`, working in
    /// `dir` (its `.env`; its data in `dir/data` and no web client unless `args`
    /// say otherwise), with the default clock.
    pub async fn start(dir: &Path, args: &[&str]) -> TestServer {
        TestServer::start_with(dir, args, Options::default()).await
    }

    /// Starts a server like [`TestServer::start`] with `options` (a clock, a start
    /// time). Panics when it cannot start, with the reason.
    pub async fn start_with(dir: &Path, args: &[&str], options: Options) -> TestServer {
        init_logging();
        let config = config(dir, args);
        let data = config.server.data.clone();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = App::build(config, options)
            .await
            .unwrap_or_else(|e| panic!("the server does not start: {e}"));
        let stop = CancellationToken::new();
        let signal = stop.clone();
        let task = tokio::spawn(app.run(listener, async move { signal.cancelled().await }));
        TestServer {
            base,
            data,
            stop,
            task: Some(task),
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits until the playlist answers 200 (a segment is on air); returns the time
    /// it took.
    pub async fn wait_ready(&self, limit: Duration) -> Duration {
        self.wait_200("/hls/stream.m3u8", limit).await
    }

    /// Polls `path` until it answers 200, failing early if the server stopped;
    /// returns the time it took.
    pub async fn wait_200(&self, path: &str, limit: Duration) -> Duration {
        let task = &self.task;
        super::http::wait_200(&self.url(path), limit, || {
            match task.as_ref().is_some_and(|t| t.is_finished()) {
                true => Err("the server stopped".into()),
                false => Ok(()),
            }
        })
        .await
        .unwrap_or_else(|| panic!("{path} not 200 after {limit:?}"))
    }

    /// Shuts the server down as a signal would and waits until every task of it
    /// has stopped; panics if that fails or takes more than 30 s.
    pub async fn stop(mut self) {
        self.stop.cancel();
        let task = self.task.take().expect("running");
        tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("the server stops within 30 s")
            .expect("the server's task did not panic")
            .expect("the server ran without an HTTP error");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // It stops on its own; what is left when the test's runtime ends is dropped
        // with it (an ffmpeg run dropped kills its process).
        self.stop.cancel();
    }
}

/// The configuration of `shufflecast serve args` run in `dir`, with an empty
/// environment (a test sees no setting of the machine it runs on), its data in
/// `dir/data` and its web client in `dir/web` unless `args` give them, and no
/// HDHomeRun discovery unless they ask (its UDP port is one for the machine, and
/// tests run side by side).
pub fn config(dir: &Path, args: &[&str]) -> Config {
    let mut argv: Vec<String> = vec!["shufflecast".into(), "serve".into()];
    for (flag, default) in [("--data", "data"), ("--web-dir", "web")] {
        if !args.contains(&flag) {
            argv.push(flag.into());
            argv.push(dir.join(default).display().to_string());
        }
    }
    if !args.contains(&"--discovery") {
        argv.extend(["--discovery".into(), "false".into()]);
    }
    // One rung unless a test asks for a ladder: most tests read the media playlist
    // at /hls/…/stream.m3u8, and a rung more is an encode more.
    if !args.contains(&"--renditions") {
        argv.extend(["--renditions".into(), "none".into()]);
    }
    argv.extend(args.iter().map(|a| a.to_string()));
    let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    let Command::Serve(serve) = cli.command else {
        panic!("{argv:?}: not a serve command line")
    };
    Config::resolve(&serve, &|_| None, &dir.join(".env")).unwrap_or_else(|e| panic!("{e}"))
}

/// Logs to the test's output when `RUST_LOG` is set (once per process).
fn init_logging() {
    if let Ok(filter) = std::env::var("RUST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}
