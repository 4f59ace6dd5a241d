//! The IPTV playlist and the XMLTV guide.

use reqwest::Client;
use shufflecast::testkit::http::text;

/// The guide passes the XMLTV project's own validator (`tv_validate_file`, from
/// Debian's xmltv-util, which `scripts/install-deps.sh --test` installs: a missing
/// tool fails the test), and the playlist names the stream, a logo, the guide and
/// the guide's channel id (the name slugified).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playlist_names_the_guides_channel_and_the_guide_validates() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = super::on_air(dir.path(), &["--channel-name", "Late Night TV"]).await;
    let c = Client::new();

    let m3u = text(&c, &s.url("/iptv.m3u")).await;
    assert!(m3u.starts_with("#EXTM3U url-tvg=\""), "{m3u}");
    assert!(m3u.contains("tvg-logo="), "{m3u}");
    assert!(m3u.contains(&s.url("/hls/main/stream.m3u8")), "{m3u}");
    assert!(m3u.contains("tvg-chno=\"1\""), "{m3u}");

    // The guide, as the XMLTV project judges it.
    let xml = text(&c, &s.url("/epg.xml")).await;
    validate_xmltv(dir.path(), &xml);
    let doc = super::xmltv_doc(&xml);
    let id = doc
        .descendants()
        .find(|n| n.has_tag_name("channel"))
        .and_then(|n| n.attribute("id"))
        .expect("a channel id")
        .to_string();
    assert_eq!(id, "late-night-tv.local");
    let tvg_id = m3u
        .split("tvg-id=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no tvg-id: {m3u}"));
    assert_eq!(tvg_id, id, "the playlist's channel is the guide's");
    s.stop().await;
}

/// The guide `xml` passes the XMLTV project's validator, `tv_validate_file`: in the
/// slow tier (`RUN_SLOW_TESTS`), so that a plain `cargo test` needs only ffmpeg;
/// the tests parse the guide with a real XML parser in both.
pub fn validate_xmltv(dir: &std::path::Path, xml: &str) {
    if !shufflecast::testkit::tier::run_slow("tv_validate_file on the guide") {
        return;
    }
    let file = dir.join("epg.xml");
    std::fs::write(&file, xml).unwrap();
    // The DTD xmltv-util ships, not the copy it would fetch from the web.
    let dtd = "/usr/share/xmltv/xmltv.dtd";
    assert!(
        std::path::Path::new(dtd).is_file(),
        "{dtd} missing: install xmltv-util (scripts/install-deps.sh --test)"
    );
    let out = std::process::Command::new("tv_validate_file")
        .args(["--dtd-file", dtd])
        .arg(&file)
        .output()
        .expect("tv_validate_file runs (xmltv-util: scripts/install-deps.sh --test installs it)");
    assert!(
        out.status.success(),
        "tv_validate_file: {}{}\n{xml}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
