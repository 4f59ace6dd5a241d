//! The control API, the IPTV playlist and guide, the web client's files and their
//! security, on the whole server run in this process (`testkit::server`), one test
//! per route family so that a failure in one does not hide the others.
//!
//! A family that needs a stream on air gets the demo channel ([`on_air`]); one that
//! does not gets a server with an empty video folder ([`quiet`]): nothing to
//! encode, so it starts in a moment and leaves the CPU to the others.

mod auth;
mod channels;
mod chunks;
mod events;
mod generation;
mod guide;
mod hls;
mod iptv;
mod ladder;
mod logos;
mod metrics;
mod music;
mod openapi;
mod original;
mod previews;
mod settings;
mod stats;
mod status;
mod system;
mod thumbnails;
mod tuner;
mod viewers;
mod web;

use std::path::Path;

use shufflecast::testkit::server::TestServer;

/// The admin token of every test server here.
pub const TOKEN: &str = "test-admin-token-123";

/// A small, quick channel: 320x180, chunks of 12 s in clips of 4 s.
pub const SMALL: [&str; 10] = [
    "--width",
    "320",
    "--height",
    "180",
    "--chunk-duration",
    "12",
    "--clip-min",
    "4",
    "--clip-max",
    "4",
];

/// The demo channel (no video folder) at [`SMALL`] with the admin [`TOKEN`] and
/// the flags `extra`, once its first segment is on air (asked with the viewer
/// token when `extra` sets one).
pub async fn on_air(dir: &Path, extra: &[&str]) -> TestServer {
    let mut args = vec!["--admin-token", TOKEN];
    args.extend(SMALL);
    args.extend(extra);
    let server = TestServer::start(dir, &args).await;
    // With a viewer token, the playlist answers only with it.
    let token = extra
        .iter()
        .position(|a| *a == "--viewer-token")
        .and_then(|i| extra.get(i + 1));
    let playlist = match token {
        Some(t) => format!("/hls/stream.m3u8?token={t}"),
        None => "/hls/stream.m3u8".to_string(),
    };
    server
        .wait_200(&playlist, shufflecast::testkit::PATIENCE)
        .await;
    server
}

/// The flags of a server of the channels file `file` at [`SMALL`], with the admin
/// [`TOKEN`] and one ready chunk a channel (so that several channels fill up soon).
pub fn channels_args(file: &str) -> Vec<&str> {
    let mut args = vec![
        "--admin-token",
        TOKEN,
        "--channels",
        file,
        "--ready-chunks",
        "1",
    ];
    args.extend(SMALL);
    args
}

/// The guide `xml` read by a real XML parser (its DOCTYPE allowed).
pub fn xmltv_doc(xml: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse_with_options(
        xml,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}:\n{xml}"))
}

/// A server at [`SMALL`] with the admin [`TOKEN`] and the flags `extra` whose
/// video folder is empty: its API answers, nothing is encoded or aired.
pub async fn quiet(dir: &Path, extra: &[&str]) -> TestServer {
    let videos = dir.join("no-videos");
    std::fs::create_dir_all(&videos).unwrap();
    let videos = videos.display().to_string();
    let mut args = vec!["--admin-token", TOKEN, "--videos", &videos];
    args.extend(SMALL);
    args.extend(extra);
    TestServer::start(dir, &args).await
}
