//! The HDHomeRun tuner (what Plex, Jellyfin and Emby add) and the continuous
//! MPEG-TS it lists: found by libhdhomerun's own client, described as Jellyfin's
//! HdHomerunHost reads it, and one clean transport stream, judged packet by
//! packet by our reading of ISO/IEC 13818-1 and by ffprobe and ffmpeg.

use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::Value;
use shufflecast::media::h264;
use shufflecast::media::ts::{PACKET_SIZE, PMT_PID, VIDEO_PID};
use shufflecast::testkit::http::{json, text, until};
use shufflecast::testkit::media::{decode, packets, timestamp_steps};

/// Debian's hdhomerun-config (libhdhomerun's client) finds the tuner on loopback
/// with the id `discover.json` gives. Slow tier (it needs hdhomerun-config), in a
/// network namespace of the test's own: UDP port 65001 is one for the machine, and
/// a running shufflecast holds it.
#[test]
fn hdhomerun_config_finds_the_tuner_by_the_id_it_describes() {
    let Some(_limit) = crate::limit::slow(600) else {
        return;
    };
    shufflecast::testkit::netns::with_discovery_port(|| async {
        let dir = tempfile::tempdir().unwrap();
        let s = super::quiet(dir.path(), &["--discovery", "true"]).await;
        let d = json(&Client::new(), &s.url("/discover.json")).await;
        let id = d["DeviceID"].as_str().unwrap().to_string();
        let found = discover_until_found(&id).await;
        assert!(found.contains("127.0.0.1"), "{found}");
        s.stop().await;
    });
}

/// The documents carry what Jellyfin reads, with its types; device.xml parses; the
/// id survives a restart; the guide names every channel by the lineup's
/// GuideNumber, so Plex and Jellyfin attach it unmapped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tuner_describes_itself_as_clients_read_it() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let args = ["--tuner-count", "3"];
    let s = super::quiet(dir.path(), &args).await;
    let c = Client::new();

    let d = json(&c, &s.url("/discover.json")).await;
    for key in [
        "FriendlyName",
        "Manufacturer",
        "ModelNumber",
        "FirmwareName",
        "FirmwareVersion",
        "DeviceID",
        "DeviceAuth",
        "BaseURL",
        "LineupURL",
    ] {
        assert!(d[key].is_string(), "{key} is a string: {d}");
    }
    assert_eq!(d["TunerCount"], 3, "{d}");
    let model = d["ModelNumber"].as_str().unwrap();
    assert!(
        !model.to_ascii_lowercase().contains("hdtc"),
        "Jellyfin would transcode: {model}"
    );
    assert_eq!(d["BaseURL"], s.base, "{d}");
    assert_eq!(d["LineupURL"], s.url("/lineup.json"), "{d}");
    let id = d["DeviceID"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 8);
    assert!(
        id.parse::<shufflecast::hdhomerun::DeviceId>().is_ok(),
        "{id}"
    );

    let lineup = json(&c, &s.url("/lineup.json")).await;
    let entries = lineup.as_array().expect("an array");
    assert_eq!(entries.len(), 1, "{lineup}");
    let e = &entries[0];
    for key in [
        "GuideNumber",
        "GuideName",
        "VideoCodec",
        "AudioCodec",
        "URL",
    ] {
        assert!(e[key].is_string(), "{key} is a string: {e}");
    }
    assert_eq!(e["GuideNumber"], "1");
    assert_eq!(e["VideoCodec"], "H264");
    assert_eq!(e["AudioCodec"], "AAC");
    // 0/1, which Jellyfin's bool-or-number reader takes; 320x180 is not HD.
    assert_eq!(e["HD"], 0);
    assert_eq!(e["URL"], s.url("/stream/main.ts"), "no query string");

    let status = json(&c, &s.url("/lineup_status.json")).await;
    assert_eq!(status["ScanInProgress"], 0);
    assert_eq!(status["ScanPossible"], 1);
    assert!(status["Source"].is_string() && status["SourceList"].is_array());
    let scan = c
        .post(s.url("/lineup.post?scan=start&source=Cable"))
        .send()
        .await
        .unwrap();
    assert_eq!(scan.status(), 200);

    let xml = text(&c, &s.url("/device.xml")).await;
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
    let el = |name: &str| {
        doc.descendants()
            .find(|n| n.has_tag_name(name))
            .and_then(|n| n.text())
            .unwrap_or_else(|| panic!("no {name}: {xml}"))
            .to_string()
    };
    assert_eq!(el("URLBase"), s.base);
    assert!(el("UDN").starts_with("uuid:"), "{xml}");
    assert_eq!(el("serialNumber"), id);

    // The guide's channel carries the GuideNumber as a display name (the guide
    // with programmes is validated in `iptv`).
    let epg = text(&c, &s.url("/epg.xml")).await;
    assert!(
        epg.contains("<display-name>1</display-name>"),
        "the lineup's GuideNumber: {epg}"
    );

    // The same device after a restart.
    s.stop().await;
    let s = super::quiet(dir.path(), &[]).await;
    let again = json(&c, &s.url("/discover.json")).await;
    assert_eq!(again["DeviceID"], id.as_str());
    assert_eq!(again["DeviceAuth"], d["DeviceAuth"]);
    s.stop().await;
}

/// Runs `hdhomerun_config discover 127.0.0.1` until it names `id` (the responder
/// starts with the server), returning what it printed.
async fn discover_until_found(id: &str) -> String {
    let t0 = Instant::now();
    loop {
        let out = tokio::process::Command::new("hdhomerun_config")
            .args(["discover", "127.0.0.1"])
            .output()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "hdhomerun_config: {e}: {}",
                    crate::harness::INSTALL_TEST_DEPS
                )
            });
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if printed.to_ascii_uppercase().contains(id) {
            return printed;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "hdhomerun_config never found {id}: {printed}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Reads `url` for `secs` seconds (or until it ends), returning the bytes.
async fn capture(c: &Client, url: &str, secs: u64) -> Vec<u8> {
    let mut r = c.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    assert_eq!(r.headers()["content-type"], "video/mp2t");
    let mut out = Vec::new();
    let end = Instant::now() + Duration::from_secs(secs);
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(end.into(), r.chunk()).await {
        out.extend_from_slice(&chunk);
    }
    out
}

/// What our reading of ISO/IEC 13818-1 finds in a transport stream.
#[derive(Debug, Default)]
struct TsReport {
    packets: usize,
    /// Packets whose continuity counter does not follow the last one of its PID
    /// (payload-carrying packets only, 2.4.3.3).
    cc_errors: Vec<(usize, u16, u8, u8)>,
    /// Packets with discontinuity_indicator set.
    discontinuities: usize,
    /// PIDs of the first packets.
    first_pids: Vec<u16>,
    /// random_access_indicator of the first video PES start.
    first_video_random_access: Option<bool>,
}

fn check_ts(ts: &[u8]) -> TsReport {
    assert_eq!(ts.len() % PACKET_SIZE, 0, "whole packets");
    let mut r = TsReport::default();
    let mut last: std::collections::HashMap<u16, u8> = Default::default();
    for (i, p) in ts.chunks(PACKET_SIZE).enumerate() {
        assert_eq!(p[0], 0x47, "sync byte of packet {i}");
        let pid = u16::from_be_bytes([p[1] & 0x1F, p[2]]);
        let start = p[1] & 0x40 != 0;
        let control = (p[3] >> 4) & 0b11;
        let cc = p[3] & 0x0F;
        let has_af = control & 0b10 != 0 && p[4] > 0;
        let discontinuity = has_af && p[5] & 0x80 != 0;
        r.discontinuities += usize::from(discontinuity);
        if r.first_pids.len() < 3 {
            r.first_pids.push(pid);
        }
        if pid == VIDEO_PID && start && r.first_video_random_access.is_none() {
            r.first_video_random_access = Some(has_af && p[5] & 0x40 != 0);
        }
        if control & 0b01 != 0 {
            if let Some(&prev) = last.get(&pid)
                && !discontinuity
                && cc != (prev + 1) & 0x0F
            {
                r.cc_errors.push((i, pid, prev, cc));
            }
            last.insert(pid, cc);
        }
        r.packets += 1;
    }
    r
}

/// The continuous stream for 30 s through several clip switches: PAT and PMT
/// first, then a keyframe; every continuity counter follows on; video DTS and
/// audio PTS step one frame everywhere; ffmpeg decodes it without an error; a
/// second client at the same time gets the very same bytes from where it joined;
/// Jellyfin's `?transcode=` is ignored; and /metrics counts the clients and bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_continuous_stream_is_one_clean_transport_stream_for_every_client() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = super::on_air(dir.path(), &[]).await;
    let c = Client::new();
    let url = s.url("/stream/main.ts");
    let second = {
        let (c, url) = (c.clone(), s.url("/stream/main.ts?transcode=heavy"));
        tokio::spawn(async move {
            // Deliberately late: a client that joins mid-stream.
            tokio::time::sleep(Duration::from_secs(5)).await;
            capture(&c, &url, 10).await
        })
    };
    let ts = capture(&c, &url, 30).await;
    let other = second.await.unwrap();

    let r = check_ts(&ts);
    assert_eq!(r.first_pids[..2], [0, PMT_PID], "PAT and PMT first");
    assert_eq!(r.first_video_random_access, Some(true), "a keyframe first");
    assert!(r.cc_errors.is_empty(), "continuity: {:?}", r.cc_errors);
    assert_eq!(r.discontinuities, 0);
    // 30 s of 2 s segments, less the start-up of the request.
    assert!(r.packets > 1000, "{} packets", r.packets);

    let file = dir.path().join("continuous.ts");
    std::fs::write(&file, &ts).unwrap();
    let pk = packets(&file);
    let first_video = pk.iter().find(|p| p.kind == "video").expect("video");
    assert!(
        first_video.key,
        "ffprobe: the first video packet is a keyframe"
    );
    let (video, audio) = timestamp_steps(&file);
    // 30 fps: 3000 ticks a frame; AAC: 1024 samples at 48 kHz, 1920 ticks.
    assert!(video.len() > 600, "{} video steps", video.len());
    assert!(
        video.iter().all(|&d| d == 3000),
        "video DTS steps {video:?}"
    );
    assert!(
        audio.iter().all(|&d| d == 1920),
        "audio PTS steps {audio:?}"
    );
    let (frames, errors) = decode(&file);
    assert!(frames as usize > video.len(), "{frames} frames");
    assert!(errors.trim().is_empty(), "decode errors: {errors}");

    // The second client's stream is the first's, from where it joined.
    assert!(other.len() > 100 * PACKET_SIZE, "{} bytes", other.len());
    let head = &other[..20 * PACKET_SIZE];
    let at = (0..ts.len() / PACKET_SIZE)
        .find(|i| ts[i * PACKET_SIZE..].starts_with(head))
        .expect("the second client's bytes are in the first's stream");
    let shared = (ts.len() - at * PACKET_SIZE).min(other.len());
    assert_eq!(
        ts[at * PACKET_SIZE..at * PACKET_SIZE + shared],
        other[..shared],
        "the same bytes"
    );

    let metrics = text(&c, &s.url("/metrics")).await;
    let value = |name: &str| shufflecast::testkit::http::metric(&metrics, name);
    assert_eq!(
        value("shufflecast_ts_clients_opened_total{channel=\"main\"}"),
        2.0
    );
    let bytes = value("shufflecast_ts_bytes_total{channel=\"main\"}");
    assert!(
        bytes >= (ts.len() + other.len()) as f64,
        "{bytes} bytes counted"
    );
    // A stream open when the server stops ends with it, not after the grace
    // period the server gives other connections.
    let mut held = c.get(&url).send().await.unwrap();
    held.chunk().await.unwrap().expect("the newest segment");
    let t0 = Instant::now();
    s.stop().await;
    let stopped = t0.elapsed();
    assert!(
        stopped < Duration::from_secs(4),
        "stopped after {stopped:?}"
    );
    let ended = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(Some(_)) = held.chunk().await {}
    })
    .await;
    assert!(ended.is_ok(), "the stream ended with the server");
}

/// A client that connects and never reads is hung up on once it is more than the
/// live window behind, while a client reading alongside gets a clean stream;
/// TUNER_COUNT streams at most, the next gets a 503 until one closes; with a
/// viewer token, the stream opens with the token in its path (Plex drops query
/// strings) and the tuner's documents list such URLs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_is_dropped_without_harm_and_tuners_are_counted() {
    let _limit = crate::limit::fast(600);
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let token = "viewer-token-456";
    let s = super::on_air(
        dir.path(),
        &[
            "--playlist-segments",
            "3",
            "--tuner-count",
            "2",
            "--viewer-token",
            token,
        ],
    )
    .await;
    let c = Client::new();
    let open = s.url(&format!("/stream/{token}/main.ts"));
    assert_eq!(
        c.get(s.url("/stream/main.ts"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        c.get(s.url("/stream/wrong-token-1/main.ts"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let lineup: Value = json(&c, &s.url(&format!("/tuner/{token}/lineup.json"))).await;
    assert_eq!(lineup[0]["URL"], open.as_str(), "{lineup}");
    let d = json(&c, &s.url(&format!("/tuner/{token}/discover.json"))).await;
    assert_eq!(d["BaseURL"], s.url(&format!("/tuner/{token}")), "{d}");
    assert_eq!(
        c.get(s.url("/discover.json"))
            .send()
            .await
            .unwrap()
            .status(),
        401,
        "the root documents need the token too"
    );

    // The stalled client: a small receive buffer, a request, then nothing.
    let addr: std::net::SocketAddr = s.base.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(addr).await.unwrap();
    stalled
        .write_all(
            format!("GET /stream/{token}/main.ts HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    // The reading client, alongside.
    let reader = {
        let (c, open) = (c.clone(), open.clone());
        tokio::spawn(async move { capture(&c, &open, 40).await })
    };
    // Both tuners in use.
    let in_use = s.url(&format!("/metrics?token={token}"));
    until("both tuners in use", Duration::from_secs(30), async || {
        text(&c, &in_use)
            .await
            .contains("shufflecast_tuners_in_use 2")
    })
    .await;
    let third = c.get(&open).send().await.unwrap();
    assert_eq!(third.status(), 503, "TUNER_COUNT 2");
    assert!(third.text().await.unwrap().contains("tuners"));

    let metrics = || {
        let (c, url) = (c.clone(), s.url(&format!("/metrics?token={token}")));
        async move { text(&c, &url).await }
    };
    let t0 = Instant::now();
    loop {
        let m = metrics().await;
        if m.contains("shufflecast_ts_clients_dropped_total{channel=\"main\"} 1") {
            break;
        }
        assert!(
            t0.elapsed() < shufflecast::testkit::PATIENCE,
            "the stalled client was not dropped:\n{m}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let dropped_after = t0.elapsed();
    // Its connection is closed: reading on, it reaches the end.
    let mut sink = vec![0u8; 1 << 16];
    let end = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match stalled.read(&mut sink).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the stalled client's connection stays open");
    // A tuner is free again.
    let again = c.get(&open).send().await.unwrap();
    assert_eq!(again.status(), 200);
    drop(again);

    let ts = reader.await.unwrap();
    let r = check_ts(&ts);
    assert!(r.cc_errors.is_empty(), "continuity: {:?}", r.cc_errors);
    let file = dir.path().join("reader.ts");
    std::fs::write(&file, &ts).unwrap();
    let (video, _) = timestamp_steps(&file);
    assert!(
        video.iter().all(|&d| d == 3000),
        "video DTS steps {video:?}"
    );
    eprintln!(
        "stalled client dropped {:.1} s after the first poll; reader got {} packets",
        dropped_after.as_secs_f64(),
        r.packets
    );
    s.stop().await;
}

/// A channel restarted by an edit (a new music folder) keeps its live window, so
/// a client of its continuous stream stays on: the restarted muxer's counters are
/// flagged with discontinuity_indicator, once per PID, and nothing else breaks
/// continuity; video DTS still steps one frame and ffmpeg decodes it all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_continuous_stream_goes_on_across_a_channels_restart() {
    let _limit = crate::limit::fast(600);
    use reqwest::Method;
    use serde_json::json;
    use shufflecast::testkit::http::call;
    let dir = tempfile::tempdir().unwrap();
    let music = dir.path().join("music");
    std::fs::create_dir_all(&music).unwrap();
    shufflecast::testkit::media::make_music(&music, 20);
    let s = super::on_air(dir.path(), &[]).await;
    let c = Client::new();
    let videos = s.data.join("demo/videos").display().to_string();
    let body = |audio: Option<&str>| {
        let mut b = json!({"slug": "two", "name": "Two", "number": 2, "videos": [videos],
                           "clip_min": 4, "clip_max": 4});
        if let Some(a) = audio {
            b["audio"] = json!(a);
        }
        b.to_string()
    };
    let (st, v) = call(
        &c,
        Method::POST,
        &s.url("/api/channels"),
        Some(super::TOKEN),
        Some(&body(None)),
        None,
    )
    .await;
    assert_eq!(st, 201, "{v}");
    s.wait_200("/hls/two/stream.m3u8", shufflecast::testkit::PATIENCE)
        .await;
    let reader = {
        let (c, url) = (c.clone(), s.url("/stream/two.ts"));
        tokio::spawn(async move { capture(&c, &url, 24).await })
    };
    // The reader well into the stream before the edit: three segments aired since.
    let metrics = s.url("/metrics");
    let published = async || {
        let m = text(&c, &metrics).await;
        shufflecast::testkit::http::metric(
            &m,
            "shufflecast_segments_published_total{channel=\"two\"}",
        )
    };
    let joined = published().await;
    until(
        "three segments into the reader",
        shufflecast::testkit::PATIENCE,
        async || published().await >= joined + 3.0,
    )
    .await;
    let (st, v) = call(
        &c,
        Method::PUT,
        &s.url("/api/channels/two"),
        Some(super::TOKEN),
        Some(&body(Some(&music.display().to_string()))),
        None,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    let ts = reader.await.unwrap();
    let r = check_ts(&ts);
    assert!(r.cc_errors.is_empty(), "continuity: {:?}", r.cc_errors);
    assert_eq!(r.discontinuities, 4, "PAT, PMT, video and audio, once each");
    let file = dir.path().join("restart.ts");
    std::fs::write(&file, &ts).unwrap();
    let (video, _) = timestamp_steps(&file);
    assert!(video.len() > 300, "{} video steps", video.len());
    assert!(
        video.iter().all(|&d| d == 3000),
        "video DTS steps {video:?}"
    );
    let (_, errors) = decode(&file);
    assert!(errors.trim().is_empty(), "decode errors: {errors}");
    s.stop().await;
}

/// Runs `program` with `args` to its end without holding a runtime thread (the
/// server answers it from this process); panics, naming how to install it, when it
/// cannot run, and with its errors when it fails.
async fn tool(program: &str, args: &[&str]) -> (Vec<u8>, Duration) {
    let t0 = Instant::now();
    let out = tokio::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{program}: {e}: {}",
                shufflecast::testkit::media::INSTALL_DEPS
            )
        });
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.stdout, t0.elapsed())
}

/// What ffprobe, with its default probing, finds in `url`: the video stream's
/// codec, size and frame rates, the audio stream's codec and sample rate.
async fn probe_defaults(url: &str) -> (Value, Value) {
    let args = [
        "-v",
        "error",
        "-show_entries",
        "stream=codec_type,codec_name,width,height,r_frame_rate,avg_frame_rate,sample_rate",
        "-of",
        "json",
        url,
    ];
    let (out, took) = tool("ffprobe", &args).await;
    let j: Value = serde_json::from_slice(&out).unwrap();
    let of = |kind: &str| {
        j["streams"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["codec_type"] == kind))
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} stream in {url}: {j}"))
    };
    eprintln!("ffprobe (defaults) of {url}: {:.2} s", took.as_secs_f64());
    (of("video"), of("audio"))
}

/// A frame rate as ffprobe writes it ("30/1"); 0 for "0/0".
fn rate(v: &Value) -> f64 {
    let s = v.as_str().unwrap_or("0/0");
    let (n, d) = s.split_once('/').unwrap_or((s, "1"));
    let (n, d): (f64, f64) = (n.parse().unwrap_or(0.0), d.parse().unwrap_or(0.0));
    if d == 0.0 { 0.0 } else { n / d }
}

/// The NAL unit types of the first video packet ffprobe reads from `url` (its
/// bytes as ffprobe's demuxer delivers them, split by our Annex B reader), and
/// whether ffprobe flags it a keyframe.
async fn first_video_packet_nal_types(url: &str) -> (Vec<u8>, bool) {
    let args = [
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-read_intervals",
        "%+#1",
        "-show_packets",
        "-show_data",
        "-of",
        "json",
        url,
    ];
    let (out, _) = tool("ffprobe", &args).await;
    let j: Value = serde_json::from_slice(&out).unwrap();
    let p = &j["packets"][0];
    // ffprobe's hex dump: "00000000: 0000 0001 09f0 ...  ascii", 16 bytes a line.
    let mut bytes = Vec::new();
    for line in p["data"].as_str().expect("packet data").lines() {
        let Some((_, rest)) = line.split_once(": ") else {
            continue;
        };
        let hex: String = rest
            .chars()
            .take(39)
            .filter(|c| !c.is_whitespace())
            .collect();
        for pair in hex.as_bytes().chunks(2) {
            bytes.push(u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap());
        }
    }
    assert_eq!(
        bytes.len().to_string(),
        p["size"].as_str().unwrap_or_default(),
        "the whole packet"
    );
    let types = h264::nal_units(&bytes).map(h264::nal_type).collect();
    (types, p["flags"].as_str().unwrap_or("").starts_with('K'))
}

/// The first picture ffmpeg, with its default probing, decodes from `url`, as gray
/// bytes, and how long that took from its start.
async fn first_picture(url: &str) -> (Vec<u8>, Duration) {
    let args = [
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-i",
        url,
        "-frames:v",
        "1",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "gray",
        "pipe:1",
    ];
    tool("ffmpeg", &args).await
}

/// What ffmpeg and ffprobe with their default probing (and the tuner readers built
/// on them: Plex's, Jellyfin's) get, from the continuous stream and from one HLS
/// segment alike: the video's codec, size and frame rate, the audio's codec and
/// sample rate, a first video packet carrying SPS, PPS and an IDR slice, and a
/// picture. The continuous stream opens with the newest segments that hold more
/// than the probe window (5 s: three of 2 s), the very bytes HLS serves, so a
/// prober has them all at hand (how fast is `scripts/first-picture-bench.sh`'s
/// business: here only what is read).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_with_ffmpegs_defaults_gets_every_parameter_and_a_picture_from_the_stream_and_hls()
{
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = super::on_air(dir.path(), &[]).await;
    let c = Client::new();
    let playlist = s.url("/hls/stream.m3u8");
    let listed = |p: &str| -> Vec<String> {
        p.lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    let p = playlist.clone();
    let c2 = c.clone();
    shufflecast::testkit::http::until(
        "three segments on air",
        shufflecast::testkit::PATIENCE,
        async || listed(&text(&c2, &p).await).len() >= 3,
    )
    .await;

    // The continuous stream opens with the three newest segments (6 s > 5 s), byte
    // for byte: asked again when a segment came out in between.
    let mut tries = 0;
    loop {
        let before = listed(&text(&c, &playlist).await);
        let mut r = c.get(s.url("/stream/main.ts")).send().await.unwrap();
        let after = listed(&text(&c, &playlist).await);
        if before != after {
            tries += 1;
            assert!(tries < 5, "the playlist moved on every time");
            continue;
        }
        let mut expected = Vec::new();
        for name in &before[before.len() - 3..] {
            let seg = c.get(s.url(&format!("/hls/{name}"))).send().await.unwrap();
            expected.extend_from_slice(&seg.bytes().await.unwrap());
        }
        let mut got = Vec::new();
        while got.len() < expected.len() {
            let chunk = tokio::time::timeout(Duration::from_secs(10), r.chunk())
                .await
                .expect("the first segments at once")
                .unwrap()
                .expect("more");
            got.extend_from_slice(&chunk);
        }
        assert!(
            got[..expected.len()] == expected[..],
            "the continuous stream starts with the three newest segments"
        );
        break;
    }

    let newest = listed(&text(&c, &playlist).await).pop().unwrap();
    let segment = s.url(&format!("/hls/{newest}"));
    let stream = s.url("/stream/main.ts");
    for url in [&stream, &segment] {
        let (video, audio) = probe_defaults(url).await;
        assert_eq!(video["codec_name"], "h264", "{url}: {video}");
        assert_eq!(
            (&video["width"], &video["height"]),
            (&320.into(), &180.into())
        );
        assert_eq!(video["r_frame_rate"], "30/1", "{url}: {video}");
        let avg = rate(&video["avg_frame_rate"]);
        assert!((avg - 30.0).abs() < 0.5, "{url}: avg_frame_rate {avg}");
        assert_eq!(audio["codec_name"], "aac", "{url}: {audio}");
        assert_eq!(audio["sample_rate"], "48000", "{url}: {audio}");

        let (types, key) = first_video_packet_nal_types(url).await;
        assert!(key, "{url}: the first video packet is a keyframe");
        for (t, what) in [
            (h264::NAL_SPS, "an SPS"),
            (h264::NAL_PPS, "a PPS"),
            (h264::NAL_IDR, "an IDR slice"),
        ] {
            assert!(
                types.contains(&t),
                "{url}: {what} in the first video packet: {types:?}"
            );
        }
        let at = |t: u8| types.iter().position(|&x| x == t).unwrap();
        assert!(at(h264::NAL_SPS) < at(h264::NAL_PPS) && at(h264::NAL_PPS) < at(h264::NAL_IDR));
    }

    for url in [&stream, &playlist] {
        let (gray, took) = first_picture(url).await;
        assert_eq!(gray.len(), 320 * 180, "{url}: one 320x180 picture");
        eprintln!(
            "first picture (ffmpeg defaults) from {url}: {:.2} s",
            took.as_secs_f64()
        );
    }
    s.stop().await;
}
