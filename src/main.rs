//! The `shufflecast` binary: parses the command line, sets up logging, and hands
//! over to [`shufflecast::app::App`].

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use shufflecast::app::App;
use shufflecast::config::{Cli, Command, Config, LogFormat, LogSettings};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = match &cli.command {
        Command::Serve(args) => {
            // An unreadable working folder is reported by run(); here it only means no .env.
            let cwd = std::env::current_dir().unwrap_or_default();
            LogSettings::from_env(args, &cwd)
        }
        Command::Openapi => return print_openapi(),
    };
    let log = match log {
        Ok(log) => log,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(&log);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A collector that parses every line as JSON must not choke on the last one.
            match log.format {
                LogFormat::Json => tracing::error!(error = format!("{e:#}"), "stopped"),
                LogFormat::Text => eprintln!("error: {e:#}"),
            }
            ExitCode::FAILURE
        }
    }
}

fn init_logging(log: &LogSettings) {
    let filter = log
        .filter
        .as_deref()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| "info,tower_http=warn".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match log.format {
        // Fields at the top level, beside "message": what log collectors index.
        LogFormat::Json => builder.json().flatten_event(true).init(),
        // Colours for a terminal only: a log file or journald gets plain text.
        LogFormat::Text => builder.with_ansi(std::io::stdout().is_terminal()).init(),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let cwd = std::env::current_dir().context("cannot read the working folder")?;
            let config = Config::from_env(&args, &cwd)?;
            let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            rt.block_on(async {
                let listener = tokio::net::TcpListener::bind(config.server.listen_addr())
                    .await
                    .with_context(|| format!("cannot listen on {}", config.server.listen_addr()))?;
                let shutdown = async {
                    shutdown_signal().await;
                    tracing::info!("stopping");
                };
                let data = config.server.data.clone();
                let served = match App::build(config, Default::default()).await {
                    Ok(app) => app.run(listener, shutdown).await.context("HTTP server"),
                    Err(e) => Err(e.into()),
                };
                // No child outlives us, not even as a zombie: those still running
                // (music, probes, the slate) are killed and every one is reaped; then
                // no partial output is left (one could be created after its run's
                // cleanup, by a child not dead yet).
                let (killed, all) =
                    shufflecast::transcode::stop_children(std::time::Duration::from_secs(10)).await;
                if all {
                    tracing::info!(killed, "every child process stopped and reaped");
                } else {
                    tracing::warn!(killed, "some child processes did not stop in 10 s");
                }
                shufflecast::transcode::remove_partials(&data);
                served?;
                Ok(())
            })
        }
        // Answered in main, before any logging.
        Command::Openapi => Ok(()),
    }
}

/// For `scripts/wire-check.sh`, which generates the web client's types from it: no
/// settings read, no server started.
fn print_openapi() -> ExitCode {
    let doc = shufflecast::http::document();
    println!("{}", doc.to_pretty_json().expect("the document serializes"));
    ExitCode::SUCCESS
}

/// Ctrl-C or SIGTERM (what `docker stop` and systemd send): a graceful stop, so
/// ffmpeg children are killed and temporary files removed.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
