//! Channels' logos: every channel has a PNG or JPEG at `/logos/{slug}`, the URL the
//! playlist, the guide and the API give (Kodi cannot decode SVG, Plex reads logos
//! from the XMLTV guide only).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use reqwest::Client;
use shufflecast::testkit::http::{json, text};
use shufflecast::testkit::media::{args, ffmpeg, streams};
use shufflecast::testkit::server::TestServer;

/// The files of `dir` with their modification times.
fn files(dir: &Path) -> BTreeMap<String, SystemTime> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().modified().unwrap(),
            )
        })
        .collect()
}

/// GETs the logo at `url`: 200, a PNG or a JPEG an hour in caches, which ffprobe
/// decodes at least 100 px wide. Returns its bytes.
async fn raster(c: &Client, url: &str, dir: &Path) -> Vec<u8> {
    let r = c.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    let ty = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ty == "image/png" || ty == "image/jpeg", "{url}: {ty}");
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=3600",
        "{url}"
    );
    let bytes = r.bytes().await.unwrap().to_vec();
    let f = dir.join("logo.bin");
    std::fs::write(&f, &bytes).unwrap();
    let s = &streams(&f)[0];
    let codec = s["codec_name"].as_str().unwrap();
    assert_eq!(
        codec,
        if ty == "image/png" { "png" } else { "mjpeg" },
        "{url}"
    );
    assert!(s["width"].as_u64().unwrap() >= 100, "{url}: {s}");
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_channel_has_a_raster_logo_in_the_playlist_and_the_guide_made_once() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let videos = d.join("no-videos");
    std::fs::create_dir_all(&videos).unwrap();
    let png = d.join("own.png");
    let mut a = args(["-v", "error", "-f", "lavfi", "-i", "testsrc=size=300x200"]);
    a.extend(args(["-frames:v", "1", "-f", "image2", "-c:v", "png"]));
    a.push(png.clone().into());
    ffmpeg(a);
    let svg = d.join("own.svg");
    std::fs::write(
        &svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 128 128"><rect width="128" height="128" rx="24" fill="#0b1320"/><path d="M58 52l18 12-18 12z" fill="#7aa2ff"/></svg>"##,
    )
    .unwrap();
    let file = d.join("channels.toml");
    std::fs::write(
        &file,
        format!(
            r#"
[[channel]]
slug = "plain"
name = "Late: \"Night\" TV"
number = 99999
videos = "{v}"

[[channel]]
slug = "photo"
name = "Photo"
number = 2
videos = "{v}"
logo = "{png}"

[[channel]]
slug = "drawing"
name = "Drawing"
number = 3
videos = "{v}"
logo = "{svg}"
"#,
            v = videos.display(),
            png = png.display(),
            svg = svg.display(),
        ),
    )
    .unwrap();
    let file = file.display().to_string();
    let mut flags = vec!["--admin-token", super::TOKEN, "--channels", &file];
    flags.extend(super::SMALL);
    let s = TestServer::start(d, &flags).await;
    let c = Client::new();
    let slugs = ["drawing", "photo", "plain"];

    // The playlist's tvg-logo and the guide's <channel><icon>: the same URL.
    let m3u = text(&c, &s.url("/iptv.m3u")).await;
    let mut m3u_logos = BTreeMap::new();
    for line in m3u.lines().filter(|l| l.starts_with("#EXTINF")) {
        let attr = |name: &str| {
            line.split(&format!("{name}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or_else(|| panic!("no {name}: {line}"))
                .to_string()
        };
        let slug = attr("tvg-id").trim_end_matches(".local").to_string();
        m3u_logos.insert(slug, attr("tvg-logo"));
    }
    let xml = text(&c, &s.url("/epg.xml")).await;
    let doc = super::xmltv_doc(&xml);
    let mut icons = BTreeMap::new();
    for ch in doc.descendants().filter(|n| n.has_tag_name("channel")) {
        let id = ch.attribute("id").unwrap().trim_end_matches(".local");
        let icon = ch
            .children()
            .find(|n| n.has_tag_name("icon"))
            .and_then(|n| n.attribute("src"))
            .unwrap_or_else(|| panic!("{id}: no icon"));
        icons.insert(id.to_string(), icon.to_string());
    }
    assert_eq!(m3u_logos, icons, "{m3u}\n{xml}");
    let urls: Vec<String> = slugs.iter().map(|s| icons[*s].clone()).collect();
    for (slug, url) in slugs.iter().zip(&urls) {
        assert_eq!(*url, s.url(&format!("/logos/{slug}")));
    }

    // Each answers a raster image; a PNG of its own as it is.
    for url in &urls {
        raster(&c, url, d).await;
    }
    assert_eq!(raster(&c, &urls[1], d).await, std::fs::read(&png).unwrap());

    // The API gives the same URLs.
    let channels = json(&c, &s.url("/api/channels")).await;
    let guide = json(&c, &s.url("/api/guide")).await;
    for list in [&channels["channels"], &guide["channels"]] {
        let logos: BTreeMap<&str, &str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|ch| (ch["slug"].as_str().unwrap(), ch["logo"].as_str().unwrap()))
            .collect();
        let want: BTreeMap<&str, String> =
            slugs.iter().map(|s| (*s, format!("/logos/{s}"))).collect();
        assert_eq!(
            logos,
            want.iter().map(|(k, v)| (*k, v.as_str())).collect(),
            "{list}"
        );
    }

    // Made once: the SVG's conversion and the drawing are in the cache, and asked
    // again they are served from it, not made again.
    let cache = s.data.join("cache/logos");
    let made = files(&cache);
    assert_eq!(made.len(), 2, "{made:?}");
    assert!(made.keys().any(|n| n.starts_with("image-")), "{made:?}");
    assert!(made.keys().any(|n| n.starts_with("drawn-")), "{made:?}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    for url in &urls {
        raster(&c, url, d).await;
    }
    assert_eq!(files(&cache), made, "rewritten");

    // An unknown channel: a JSON 404. The server's own icon is still served.
    let r = c.get(s.url("/logos/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let r = c.get(s.url("/logo.svg")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/svg+xml");
    assert!(!m3u.contains("logo.svg") && !xml.contains("logo.svg"));
    s.stop().await;
}
