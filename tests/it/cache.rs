//! A cache in front: Debian's nginx runs deploy/nginx-cache.conf (the very file a
//! user drops into /etc/nginx/conf.d/, three lines adapted as the file says) in
//! front of the demo channel, and 200 simulated HLS players watch through it. The
//! origin must see about one request per segment and one playlist request per
//! second or two, not one per player, and no player may miss a segment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use shufflecast::testkit::server::TestServer;

use crate::harness;

/// Debian's nginx (`nginx` package; `scripts/install-deps.sh --test`).
const NGINX: &str = "/usr/sbin/nginx";
/// The file under test.
const CONF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nginx-cache.conf");

const PLAYERS: usize = 200;
/// Players join one after another over this time, as an audience would...
const JOINING: Duration = Duration::from_secs(4);
/// ...and all stop this long after the first joined: each watches 28-32 s.
const WATCH: Duration = Duration::from_secs(32);
const VIEWER_TOKEN: &str = "cache-viewer-token-789";
const ADMIN_TOKEN: &str = "cache-admin-token-789";

/// deploy/nginx-cache.conf with the three lines its header names rewritten: the
/// upstream's address, the port viewers connect to, the cache folder. Each must be
/// there exactly once, so the test runs the file as shipped.
fn adapt(conf: &str, upstream: &str, port: u16, cache: &Path) -> String {
    let mut found = [0; 3];
    let out: Vec<String> = conf
        .lines()
        .map(|line| {
            let t = line.trim();
            let indent = &line[..line.len() - line.trim_start().len()];
            if t == "server 127.0.0.1:8081;" {
                found[0] += 1;
                format!("{indent}server {upstream};")
            } else if t == "listen 8080;" {
                found[1] += 1;
                format!("{indent}listen 127.0.0.1:{port};")
            } else if let Some(rest) =
                t.strip_prefix("proxy_cache_path /var/cache/nginx/shufflecast ")
            {
                found[2] += 1;
                format!("{indent}proxy_cache_path {} {rest}", cache.display())
            } else {
                line.to_string()
            }
        })
        .collect();
    assert_eq!(
        found,
        [1, 1, 1],
        "{CONF}: the upstream server, listen and proxy_cache_path lines, once each"
    );
    out.join("\n") + "\n"
}

/// nginx running the adapted file, on a free loopback port, everything it writes
/// in its own folder; stopped on drop.
struct Nginx {
    child: Child,
    base: String,
    dir: PathBuf,
}

impl Nginx {
    fn start(dir: &Path, upstream: &str) -> Nginx {
        let runs = Command::new(NGINX)
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            runs,
            "{NGINX} is not installed: {}",
            harness::INSTALL_TEST_DEPS
        );
        std::fs::create_dir_all(dir).unwrap();
        let port = harness::free_port();
        let site = adapt(
            &std::fs::read_to_string(CONF).unwrap(),
            upstream,
            port,
            &dir.join("cache"),
        );
        std::fs::write(dir.join("nginx-cache.conf"), site).unwrap();
        // What Debian's /etc/nginx/nginx.conf gives the file (an http{} block that
        // includes it), with every path in `dir`. As root (here), the workers would
        // switch to nobody, who cannot write to `dir`: they stay root.
        // SAFETY: geteuid has no preconditions.
        let user = if unsafe { libc::geteuid() } == 0 {
            "user root;"
        } else {
            ""
        };
        let d = dir.display();
        let main = format!(
            "{user}
worker_processes 2;
pid {d}/nginx.pid;
events {{ worker_connections 2048; }}
http {{
    log_format cache '$request_uri $status $upstream_cache_status $upstream_addr $request_time $body_bytes_sent $msec';
    access_log {d}/access.log cache;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/nginx-cache.conf;
}}
"
        );
        std::fs::write(dir.join("nginx.conf"), main).unwrap();
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(dir)
            .args(["-e", "stderr", "-c"])
            .arg(dir.join("nginx.conf"))
            .args(["-g", "daemon off; error_log stderr;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("nginx.err")).unwrap())
            .spawn()
            .expect("nginx starts");
        Nginx {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir: dir.to_path_buf(),
        }
    }

    /// Waits until nginx answers (anything, even a 503 passed on).
    async fn wait_up(&mut self) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("nginx exited with {status}: {}", self.errors());
            }
            if harness::get_text(&self.base, "/healthz").await.0 != 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("nginx does not answer after 10 s: {}", self.errors());
    }

    fn errors(&self) -> String {
        std::fs::read_to_string(self.dir.join("nginx.err")).unwrap_or_default()
    }

    /// The access log: (URI, status, cache status, upstream address) per request.
    fn log(&self) -> Vec<(String, String, String, String)> {
        std::fs::read_to_string(self.dir.join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                (f.len() >= 4).then(|| {
                    (
                        f[0].to_string(),
                        f[1].to_string(),
                        f[2].to_string(),
                        f[3].to_string(),
                    )
                })
            })
            .collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        shufflecast::testkit::procfs::terminate(&mut self.child, Duration::from_secs(5));
    }
}

/// A media playlist, leniently: (media sequence, target duration, segment URIs),
/// or what is wrong with it.
fn parse(text: &str) -> Result<(u64, u64, Vec<String>), String> {
    if !text.starts_with("#EXTM3U\n") {
        return Err(format!("not a playlist: {text:?}"));
    }
    let (mut seq, mut target) = (None, None);
    let mut uris = Vec::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            seq = v.parse().ok();
        } else if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            target = v.parse().ok();
        } else if !line.is_empty() && !line.starts_with('#') {
            uris.push(line.to_string());
        }
    }
    match (seq, target) {
        (Some(s), Some(t)) if !uris.is_empty() => Ok((s, t, uris)),
        _ => Err(format!("no sequence, target duration or segment: {text:?}")),
    }
}

/// What one player saw.
#[derive(Default)]
struct Played {
    playlists: u64,
    /// The media sequence numbers of the segments it got, in order.
    seqs: Vec<u64>,
    /// The segments' URIs, for the count of distinct ones.
    uris: Vec<String>,
    /// How long each segment took to come.
    segment_times: Vec<Duration>,
    errors: Vec<String>,
}

/// A tiny deterministic generator for the players' jitter (xorshift).
fn jitter(state: &mut u64) -> f64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state % 10_000) as f64 / 10_000.0
}

/// Plays the live stream at `base` until `until` as an HLS player does: the
/// playlist every half target duration (with jitter), starting three segments
/// from the live edge, then every new segment the playlist lists, in order.
async fn play(client: reqwest::Client, base: String, seed: u64, until: Instant) -> Played {
    let mut p = Played::default();
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let playlist = format!("{base}/hls/stream.m3u8?token={VIEWER_TOKEN}");
    let mut next: Option<u64> = None;
    let mut last_edge = 0;
    while Instant::now() < until {
        let mut pause = Duration::from_secs(1);
        match fetch_playlist(&client, &playlist).await {
            Err(e) => p.errors.push(e),
            Ok((seq, target, uris)) => {
                p.playlists += 1;
                pause = Duration::from_secs(target) / 2;
                let edge = seq + uris.len() as u64 - 1;
                if edge < last_edge {
                    p.errors
                        .push(format!("playlist went back: edge {edge} after {last_edge}"));
                }
                last_edge = last_edge.max(edge);
                let from = *next.get_or_insert(seq + uris.len().saturating_sub(3) as u64);
                if seq > from {
                    p.errors.push(format!(
                        "missed segments {from}..{seq}: they left the playlist"
                    ));
                }
                for (i, uri) in uris.iter().enumerate() {
                    let n = seq + i as u64;
                    if n < next.unwrap() {
                        continue;
                    }
                    let t = Instant::now();
                    match fetch_segment(&client, &format!("{base}/hls/{uri}")).await {
                        Ok(()) => {
                            p.segment_times.push(t.elapsed());
                            p.seqs.push(n);
                            p.uris.push(uri.clone());
                        }
                        Err(e) => p.errors.push(format!("segment {n} {uri}: {e}")),
                    }
                    next = Some(n + 1);
                }
            }
        }
        tokio::time::sleep(pause.mul_f64(0.75 + 0.5 * jitter(&mut rng))).await;
    }
    p
}

async fn fetch_playlist(
    client: &reqwest::Client,
    url: &str,
) -> Result<(u64, u64, Vec<String>), String> {
    let r = client.get(url).send().await.map_err(|e| format!("{e}"))?;
    if r.status() != 200 {
        return Err(format!("playlist: {}", r.status()));
    }
    parse(&r.text().await.map_err(|e| format!("playlist body: {e}"))?)
}

async fn fetch_segment(client: &reqwest::Client, url: &str) -> Result<(), String> {
    let r = client.get(url).send().await.map_err(|e| format!("{e}"))?;
    if r.status() != 200 {
        return Err(format!("{}", r.status()));
    }
    let body = r.bytes().await.map_err(|e| format!("body: {e}"))?;
    if body.is_empty() || body[0] != 0x47 || body.len() % 188 != 0 {
        return Err(format!(
            "not MPEG-TS: {} bytes, first {:?}",
            body.len(),
            body.first()
        ));
    }
    Ok(())
}

/// Requests to the origin's `/hls/{file}` route so far, every status, from its
/// /metrics.
async fn origin_hls_requests(base: &str) -> u64 {
    let (status, m) = harness::get_text(base, "/metrics").await;
    assert_eq!(status, 200, "/metrics");
    m.lines()
        .filter(|l| l.starts_with("shufflecast_http_requests_total{route=\"/hls/{file}\","))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_in_front_serves_200_players_with_about_one_origin_request_per_segment() {
    let Some(_limit) = crate::limit::slow(900) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // Not `api::on_air`: what the cache does before the first segment is tested too.
    let mut args = vec!["--admin-token", ADMIN_TOKEN, "--viewer-token", VIEWER_TOKEN];
    args.extend(crate::api::SMALL);
    let server = TestServer::start(dir.path(), &args).await;
    let origin = server.base.clone();
    let mut nginx = Nginx::start(
        &dir.path().join("nginx"),
        origin.trim_start_matches("http://"),
    );
    nginx.wait_up().await;
    let base = nginx.base.clone();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let playlist = format!("{base}/hls/stream.m3u8?token={VIEWER_TOKEN}");

    // Before the first segment the origin says 503 "starting" (no-store): it must
    // not stick in the cache once the stream is on air.
    let early = client.get(&playlist).send().await.unwrap().status();
    server
        .wait_200(
            &format!("/hls/stream.m3u8?token={VIEWER_TOKEN}"),
            shufflecast::testkit::PATIENCE,
        )
        .await;
    let r = client.get(&playlist).send().await.unwrap();
    assert_eq!(
        r.status(),
        200,
        "through the cache as soon as the origin is on air (before: {early})"
    );
    eprintln!("playlist through the cache before the first segment: {early}; once on air: 200");

    // 200 players, joining over a few seconds.
    let before = origin_hls_requests(&origin).await;
    let log_before = nginx.log().len();
    let t0 = Instant::now();
    let until = t0 + WATCH;
    let mut players = Vec::new();
    for i in 0..PLAYERS {
        let (client, base) = (client.clone(), base.clone());
        players.push(tokio::spawn(async move {
            tokio::time::sleep(JOINING.mul_f64(i as f64 / PLAYERS as f64)).await;
            play(client, base, i as u64 + 1, until).await
        }));
    }
    let mut played = Vec::new();
    for p in players {
        played.push(p.await.unwrap());
    }
    let secs = t0.elapsed().as_secs_f64();
    let origin_total = origin_hls_requests(&origin).await - before;

    // What the cache passed on, from its own log.
    let log: Vec<_> = nginx.log().into_iter().skip(log_before).collect();
    let upstream = |suffix: &str| {
        log.iter()
            .filter(|(uri, _, _, addr)| {
                addr != "-" && uri.split('?').next().unwrap().ends_with(suffix)
            })
            .count() as u64
    };
    let (origin_playlists, origin_segments) = (upstream(".m3u8"), upstream(".ts"));
    let mut cache_status: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, _, cs, _) in &log {
        *cache_status.entry(cs.as_str()).or_default() += 1;
    }

    let errors: Vec<&String> = played.iter().flat_map(|p| &p.errors).collect();
    let playlists: u64 = played.iter().map(|p| p.playlists).sum();
    let segments: u64 = played.iter().map(|p| p.seqs.len() as u64).sum();
    let distinct: BTreeSet<&String> = played.iter().flat_map(|p| &p.uris).collect();
    let distinct = distinct.len() as u64;
    let mut times: Vec<Duration> = played
        .iter()
        .flat_map(|p| p.segment_times.iter().copied())
        .collect();
    times.sort();
    let pct = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    let player_requests = playlists + segments;
    eprintln!(
        "{PLAYERS} players for {secs:.1} s through nginx: {player_requests} requests \
         ({playlists} playlists, {segments} segments of {distinct} distinct); \
         origin: {origin_total} requests by its /metrics, {} by nginx's log \
         ({origin_playlists} playlists = {:.2}/s, {origin_segments} segments = {:.2} per segment); \
         {:.0} player requests per origin request; segment time p50 {:?}, p99 {:?}, max {:?}; \
         cache status {cache_status:?}",
        origin_playlists + origin_segments,
        origin_playlists as f64 / secs,
        origin_segments as f64 / distinct.max(1) as f64,
        player_requests as f64 / origin_total.max(1) as f64,
        pct(0.5),
        pct(0.99),
        times.last().unwrap(),
    );

    assert!(
        errors.is_empty(),
        "{} player errors: {errors:?}",
        errors.len()
    );
    // Every player got every segment from the one it joined at, in order, up to the
    // live edge, and kept up with it.
    let newest = played
        .iter()
        .filter_map(|p| p.seqs.last())
        .max()
        .copied()
        .unwrap();
    for (i, p) in played.iter().enumerate() {
        assert!(
            p.seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "player {i}: a gap: {:?}",
            p.seqs
        );
        // 28 s or more of 2 s segments.
        assert!(p.seqs.len() >= 12, "player {i}: {:?}", p.seqs);
        // Up to the live edge when they all stopped: the last playlist a player
        // read was up to 1.25 s old and the cache's copy up to 2 s older.
        assert!(
            p.seqs.last().unwrap() + 3 >= newest,
            "player {i} fell behind: {:?}, newest {newest}",
            p.seqs
        );
    }
    // The origin's own count and nginx's agree (the test sends nothing else to the
    // origin's /hls while the players play).
    assert!(
        origin_total.abs_diff(origin_playlists + origin_segments) <= 2,
        "origin {origin_total}, nginx's log {origin_playlists} + {origin_segments}"
    );
    // Segments: one request each with the cache lock (the others wait for it); two
    // allowed for a lock that timed out on a busy machine.
    assert!(
        origin_segments >= distinct && origin_segments <= 2 * distinct,
        "{origin_segments} origin segment requests for {distinct} segments"
    );
    // Playlist: max-age=1 allows a refetch once a second at most, whatever the
    // number of players (the others get the cached one, or the previous one while
    // it is being refetched: use_stale updating). nginx counts whole seconds (fresh
    // until the second after next), so ~secs/2 in practice; bound: one per second of
    // play, plus 2 for the edges (the first fill, a refetch in the last second).
    assert!(
        origin_playlists as f64 <= secs + 2.0,
        "{origin_playlists} origin playlist requests in {secs:.1} s"
    );
    assert!(
        origin_total as f64 <= 2.0 * distinct as f64 + secs + 4.0,
        "{origin_total} origin requests"
    );
    // Not one per player: 200 players make ~1.5 requests per second each.
    assert!(
        player_requests >= 50 * origin_total,
        "{player_requests} vs {origin_total}"
    );

    // The rest of what the file promises, now that the cache holds segments.
    let seg = played[0].uris.last().unwrap().clone();
    let plain = seg.split('?').next().unwrap().to_string();
    let status = |r: &reqwest::Response| {
        (
            r.status().as_u16(),
            r.headers()
                .get("x-cache-status")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default(),
        )
    };
    let get = |path: String, bearer: Option<&str>| {
        let mut rb = client.get(format!("{base}{path}"));
        if let Some(t) = bearer {
            rb = rb.bearer_auth(t);
        }
        async move { rb.send().await.unwrap() }
    };
    // A segment every player fetched is a HIT.
    let r = get(format!("/hls/{seg}"), None).await;
    assert_eq!(status(&r), (200, "HIT".into()));
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    // Nothing splits the entry by request header: no Vary (CORS allows any
    // origin), so a web player on another site gets the same cached copy.
    assert!(r.headers().get("vary").is_none(), "{:?}", r.headers());
    let r = client
        .get(format!("{base}/hls/{seg}"))
        .header("origin", "https://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), (200, "HIT".into()));
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    // The token stays in the key: without it, or with a wrong one, a cached segment
    // is refused by the origin, and that 401 is not stored.
    for path in [plain.clone(), format!("{plain}?token=wrong"), plain.clone()] {
        let r = get(format!("/hls/{path}"), None).await;
        assert_eq!(r.status(), 401, "{path}");
    }
    assert_eq!(get("/hls/stream.m3u8".into(), None).await.status(), 401);
    // A token in a header is not in the key: such a request bypasses the cache and
    // leaves nothing a request without a token could get.
    let r = get(format!("/hls/{plain}"), Some(VIEWER_TOKEN)).await;
    assert_eq!(status(&r), (200, "BYPASS".into()));
    assert_eq!(get(format!("/hls/{plain}"), None).await.status(), 401);
    // A segment that is not there: 404 each time, never from the cache.
    for _ in 0..2 {
        let r = get(format!("/hls/nope-1.ts?token={VIEWER_TOKEN}"), None).await;
        assert_eq!(status(&r), (404, "MISS".into()));
    }
    // Server-sent events come through, now_playing at once. (This does not tell
    // `proxy_buffering off` from on: nginx forwards what it has read either way;
    // off matters for a viewer slower than the stream, whose backlog nginx would
    // otherwise gather in a temporary file.)
    let mut r = get(format!("/api/events?token={VIEWER_TOKEN}"), None).await;
    assert_eq!(r.status(), 200);
    let first = tokio::time::timeout(Duration::from_secs(3), r.chunk())
        .await
        .expect("the first event within 3 s through nginx")
        .unwrap()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&first).contains("event: now_playing"),
        "{first:?}"
    );
    drop(r);
    // The continuous MPEG-TS comes through as it is sent, uncached: the newest
    // segment at once, then the next as it is published (nginx buffering it would
    // hold the stream back or pile it up).
    let mut r = get(format!("/stream/{VIEWER_TOKEN}/main.ts"), None).await;
    assert_eq!(status(&r), (200, String::new()));
    let mut got = 0usize;
    let t0 = Instant::now();
    while got < 2 * 188 {
        let chunk = tokio::time::timeout(Duration::from_secs(1), r.chunk())
            .await
            .expect("the stream's first bytes within 1 s through nginx")
            .unwrap()
            .expect("an endless stream");
        got += chunk.len();
    }
    let first = t0.elapsed();
    // And it keeps coming.
    let before = got;
    while got == before || !got.is_multiple_of(188) {
        let chunk = tokio::time::timeout(Duration::from_secs(5), r.chunk())
            .await
            .expect("more of the stream within 5 s")
            .unwrap()
            .unwrap();
        got += chunk.len();
    }
    eprintln!("continuous stream through nginx: first bytes after {first:?}");
    drop(r);
    // The API is passed through, never cached.
    let r = get("/api/status".into(), Some(VIEWER_TOKEN)).await;
    assert_eq!(status(&r), (200, String::new()));

    // The shipped file draws no warning from nginx. One message is nginx's own
    // race and harmless (see "has too long header" in the file): a worker that
    // read the entry's header size just before another replaced the playlist with
    // one whose header is a byte longer (its Content-Length gained a digit). That
    // request goes to the origin; the players saw no error (checked above).
    let said = nginx.errors();
    let worse: Vec<&str> = said
        .lines()
        .filter(|l| {
            ["[warn]", "[error]", "[crit]", "[alert]", "[emerg]"]
                .iter()
                .any(|w| l.contains(w))
        })
        .filter(|l| !(l.contains("stream.m3u8") && l.contains("has too long header")))
        .collect();
    assert!(worse.is_empty(), "nginx said: {worse:#?}");

    drop(nginx);
    server.stop().await;
}
