//! The `shufflecast` binary: parses the command line, sets up logging, and hands
//! over to [`shufflecast::app::serve`].

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use shufflecast::config::{Cli, Command, Config};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        // Colours for a terminal only: a log file or journald gets plain text.
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let cwd = std::env::current_dir().context("cannot read the working folder")?;
            let config = Config::from_env(&args, &cwd)?;
            let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            rt.block_on(async {
                let listener = tokio::net::TcpListener::bind(config.listen)
                    .await
                    .with_context(|| format!("cannot listen on {}", config.listen))?;
                let shutdown = async {
                    shutdown_signal().await;
                    tracing::info!("stopping");
                };
                shufflecast::app::serve(config, listener, shutdown, Default::default()).await?;
                Ok(())
            })
        }
    }
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
