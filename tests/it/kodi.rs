//! Kodi (Debian's, with its IPTV Simple client) shows our guide, our logos and
//! plays a channel: the real Kodi, headless in Xvfb on Mesa's software GL, told
//! through its JSON-RPC web interface what a user would do with a remote. A missing
//! Kodi fails the test, saying how to install it (scripts/install-deps.sh --test).

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use shufflecast::testkit::guide::{Listed, assert_promises_kept, programmes};

use crate::harness::{self, Server, need};

/// The server's time zone, -03:30 (or -02:30): its grid and episode numbers are
/// in it, its guide's times in UTC.
const SERVER_TZ: &str = "America/St_Johns";
/// Kodi's own time zone (`locale.timezone`), +05:30: Kodi's log is in it, its
/// JSON-RPC times are UTC.
const KODI_TZ: (&str, &str) = ("India", "Asia/Kolkata");
/// Where the IPTV Simple client keeps the addon's settings, and its copy of the
/// last guide it fetched (`epgCache`).
const ADDON_DATA: &str = ".kodi/userdata/addon_data/pvr.iptvsimple";
/// Kodi's window of the TV channels list, and the yes/no dialog that asks at the
/// first start whether to enable an add-on the package manager installed.
const TV_CHANNELS: i64 = 10700;
const YES_NO_DIALOG: i64 = 10100;

/// Sends SIGTERM to the process group of `child` (started in a group of its own),
/// waits up to `limit` for the whole group to go, then kills what is left.
fn stop_group(child: &mut Child, limit: Duration) {
    let pgid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    // SAFETY: kill(2) on the group this test started; the group's id is its
    // leader's pid, not reused while any member of the group lives.
    let signal = |sig| unsafe { libc::kill(-pgid, sig) };
    signal(libc::SIGTERM);
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        let _ = child.try_wait();
        if signal(0) != 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(libc::SIGKILL);
    let _ = child.wait();
}

/// An X server of its own for Kodi (Xvfb on a free display), stopped on drop.
struct Display {
    child: Child,
    /// `:N`, as `DISPLAY` takes it.
    name: String,
    /// The pipe Xvfb told its display number on, kept open.
    _told: std::io::BufReader<std::process::ChildStdout>,
}

impl Display {
    /// Starts Xvfb on the first free display; it says which on its stdout once
    /// it accepts clients.
    async fn start(logs: &Path) -> Display {
        let mut cmd = Command::new("Xvfb");
        cmd.args(["-displayfd", "1", "-screen", "0", "1280x720x24"])
            .args(["-nolisten", "tcp"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(logs.join("xvfb.log")).unwrap());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().expect("Xvfb starts");
        let mut told = std::io::BufReader::new(child.stdout.take().unwrap());
        let read = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            told.read_line(&mut line).map(|_| (line, told))
        });
        let (line, told) = tokio::time::timeout(Duration::from_secs(60), read)
            .await
            .expect("Xvfb names its display within a minute")
            .unwrap()
            .unwrap();
        let n = line.trim();
        assert!(
            !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()),
            "Xvfb named no display ({line:?}): {}",
            std::fs::read_to_string(logs.join("xvfb.log")).unwrap_or_default()
        );
        Display {
            child,
            name: format!(":{n}"),
            _told: told,
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        stop_group(&mut self.child, Duration::from_secs(10));
    }
}

/// Kodi on `display` with a profile of its own in `home`, its web server (JSON-RPC)
/// on a free loopback port, stopped with its whole process group on drop.
struct Kodi {
    child: Mutex<Child>,
    home: PathBuf,
    rpc: String,
    client: reqwest::Client,
}

impl Kodi {
    /// Writes a profile whose IPTV Simple client reads the M3U and the guide of
    /// the server at `base`, and starts Kodi with it.
    fn start(home: &Path, display: &Display, base: &str) -> Kodi {
        let port = harness::free_port();
        let userdata = home.join(".kodi/userdata");
        std::fs::create_dir_all(home.join(ADDON_DATA)).unwrap();
        let settings = |pairs: &[(&str, &str)]| {
            let lines: String = pairs
                .iter()
                .map(|(id, v)| format!("    <setting id=\"{id}\">{v}</setting>\n"))
                .collect();
            format!("<settings version=\"2\">\n{lines}</settings>\n")
        };
        let port_text = port.to_string();
        std::fs::write(
            userdata.join("guisettings.xml"),
            settings(&[
                ("services.webserver", "true"),
                ("services.webserverport", &port_text),
                ("services.webserverauthentication", "false"),
                // Our numbers (tvg-chno), not Kodi's 1, 2, 3...
                ("pvrmanager.usebackendchannelnumbers", "true"),
                ("locale.timezonecountry", KODI_TZ.0),
                ("locale.timezone", KODI_TZ.1),
                // No look for add-on updates on the Internet.
                ("general.addonupdates", "2"),
            ]),
        )
        .unwrap();
        let (m3u, epg) = (format!("{base}/iptv.m3u"), format!("{base}/epg.xml"));
        // The ids are the add-on's (resources/settings.xml); 1 is a remote path.
        std::fs::write(
            home.join(ADDON_DATA).join("settings.xml"),
            settings(&[
                ("m3uPathType", "1"),
                ("m3uUrl", &m3u),
                ("epgPathType", "1"),
                ("epgUrl", &epg),
                ("epgCache", "true"),
                ("logoPathType", "1"),
                ("logoFromEpg", "1"),
            ]),
        )
        .unwrap();
        let mut cmd = Command::new("kodi");
        cmd.current_dir(home)
            .env("HOME", home)
            .env("DISPLAY", &display.name)
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(home.join("kodi.out")).unwrap())
            .stderr(std::fs::File::create(home.join("kodi.err")).unwrap());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().expect("kodi starts");
        Kodi {
            child: Mutex::new(child),
            home: home.to_path_buf(),
            rpc: format!("http://127.0.0.1:{port}/jsonrpc"),
            client: reqwest::Client::new(),
        }
    }

    /// Calls `method`; its result, or what went wrong.
    async fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let r = self
            .client
            .post(&self.rpc)
            .json(&body)
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| format!("{method}: {e}"))?;
        let v: Value = r.json().await.map_err(|e| format!("{method}: {e}"))?;
        v.get("result")
            .cloned()
            .ok_or_else(|| format!("{method}: {v}"))
    }

    /// The time of `player` within what it plays, in milliseconds.
    async fn player_time(&self, player: i64) -> Result<i64, String> {
        let props = json!({"playerid": player, "properties": ["time"]});
        let t = &self.call("Player.GetProperties", props).await?["time"];
        let part = |k: &str| t[k].as_i64().unwrap_or(0);
        Ok(
            ((part("hours") * 60 + part("minutes")) * 60 + part("seconds")) * 1000
                + part("milliseconds"),
        )
    }

    /// Kodi's log (in its profile's temp folder).
    fn log(&self) -> String {
        std::fs::read_to_string(self.home.join(".kodi/temp/kodi.log")).unwrap_or_default()
    }

    /// The end of Kodi's log, for a failure's message.
    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }

    /// The guide the IPTV Simple client fetched last, as it kept it.
    fn fetched_guide(&self) -> String {
        std::fs::read_to_string(self.home.join(ADDON_DATA).join("xmltv.xml.cache"))
            .unwrap_or_default()
    }

    /// Calls `f` every half second until it gives a value; fails naming `what` and
    /// the last thing `f` saw after `limit`, or at once if Kodi exits.
    async fn until<T>(
        &self,
        what: &str,
        limit: Duration,
        mut f: impl AsyncFnMut() -> Result<T, String>,
    ) -> T {
        let t0 = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.lock().unwrap().try_wait() {
                panic!(
                    "Kodi exited ({status}) waiting for {what}:\n{}",
                    self.log_tail()
                );
            }
            match f().await {
                Ok(v) => return v,
                Err(last) if t0.elapsed() > limit => panic!(
                    "{what}: not after {limit:?}; last: {last}\nKodi's log:\n{}",
                    self.log_tail()
                ),
                Err(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }
}

impl Drop for Kodi {
    /// Kodi's profile is a temporary one: little to save, so a short grace.
    fn drop(&mut self) {
        stop_group(self.child.get_mut().unwrap(), Duration::from_secs(3));
    }
}

/// XML text as it reads: the five predefined entities replaced.
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Kodi's JSON-RPC time (`2026-12-07 05:25:00`, UTC) as Unix seconds.
fn kodi_secs(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_default();
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("{v}: {e}"))
        .and_utc()
        .timestamp()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Kodi's broadcasts of a channel from the first programme of `listed` on, each
/// checked against the one listed at its place: times, title, plot, season and
/// episode. `Err` says the first difference.
fn same_programmes(kodi: &[Value], listed: &[Listed]) -> Result<(), String> {
    let from = listed.first().ok_or("no programme listed")?.start;
    let mut shown: Vec<&Value> = kodi
        .iter()
        .filter(|b| kodi_secs(&b["starttime"]) >= from)
        .collect();
    shown.sort_by_key(|b| kodi_secs(&b["starttime"]));
    if shown.len() != listed.len() {
        return Err(format!(
            "Kodi has {} programmes from {from}, the guide {}",
            shown.len(),
            listed.len()
        ));
    }
    for (b, l) in shown.iter().zip(listed) {
        let (season, episode) = l
            .onscreen
            .as_deref()
            .and_then(|s| s.strip_prefix('S')?.split_once('E'))
            .and_then(|(s, e)| Some((s.parse::<i64>().ok()?, e.parse::<i64>().ok()?)))
            .ok_or_else(|| format!("no S…E… episode number in {l:?}"))?;
        let same = kodi_secs(&b["starttime"]) == l.start
            && kodi_secs(&b["endtime"]) == l.stop
            && b["title"].as_str() == Some(unescape(&l.title).as_str())
            && b["plot"].as_str() == Some(unescape(&l.desc).as_str())
            && b["seasonnum"].as_i64() == Some(season)
            && b["episodenum"].as_i64() == Some(episode);
        if !same {
            return Err(format!("Kodi shows {b} where the guide lists {l:?}"));
        }
    }
    Ok(())
}

/// The server's count of HLS requests (playlists and segments, all channels).
async fn hls_requests(base: &str) -> u64 {
    let (_, text) = harness::get_text(base, "/metrics").await;
    text.lines()
        .filter(|l| {
            l.starts_with("shufflecast_http_requests_total{route=\"/hls/{channel}/{file}\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Two channels (one with 5-minute programmes) in Kodi's IPTV Simple client: Kodi
/// lists them with our numbers and logos, shows every programme of the guide it
/// fetched with its times, title, description and episode number two days ahead,
/// decodes the logos, and plays a channel through clip switches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kodi_shows_the_guide_and_logos_and_plays_a_channel() {
    let Some(_limit) = crate::limit::slow(900) else {
        return;
    };
    need("kodi");
    need("Xvfb");
    assert!(
        Path::new("/usr/share/kodi/addons/pvr.iptvsimple/addon.xml").exists(),
        "Kodi's IPTV Simple client (kodi-pvr-iptvsimple) is not installed: {}",
        harness::INSTALL_TEST_DEPS
    );
    let t0 = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("channels.toml");
    std::fs::write(
        &file,
        "[[channel]]\nslug = \"alpha\"\nname = \"Alpha\"\nnumber = 2\nprogramme_minutes = 5\n\n\
         [[channel]]\nslug = \"beta\"\nname = \"Beta\"\nnumber = 3\n",
    )
    .unwrap();
    let file = file.display().to_string();
    let mut args = vec!["--channels", &file];
    args.extend(crate::api::SMALL);
    let mut server = Server::start_in(dir.path(), "server", &args, |cmd| {
        cmd.env("TZ", SERVER_TZ);
    });
    for slug in ["alpha", "beta"] {
        let playlist = format!("/hls/{slug}/stream.m3u8");
        server
            .wait_200(&playlist, shufflecast::testkit::PATIENCE)
            .await;
    }
    let base = server.base.clone();
    let display = Display::start(dir.path()).await;
    let home = dir.path().join("kodi");
    let kodi = Kodi::start(&home, &display, &base);
    let secs = Duration::from_secs;

    kodi.until("Kodi's JSON-RPC", secs(240), async || {
        kodi.call("JSONRPC.Ping", json!({})).await
    })
    .await;
    // Debian's Kodi finds the client the package manager installed disabled.
    let addon = json!({"addonid": "pvr.iptvsimple", "properties": ["enabled"]});
    let details = kodi.call("Addons.GetAddonDetails", addon).await.unwrap();
    if details["addon"]["enabled"] != true {
        let on = json!({"addonid": "pvr.iptvsimple", "enabled": true});
        kodi.call("Addons.SetAddonEnabled", on).await.unwrap();
    }

    // The channels, with our numbers and logos, each with what is on now and next.
    let want = [("alpha", "Alpha", 2), ("beta", "Beta", 3)];
    let channels = kodi
        .until("both channels in Kodi", secs(240), async || {
            let props = ["icon", "channelnumber", "broadcastnow", "broadcastnext"];
            let r = kodi
                .call(
                    "PVR.GetChannels",
                    json!({"channelgroupid": "alltv", "properties": props}),
                )
                .await?;
            let list = r["channels"].as_array().cloned().unwrap_or_default();
            let complete = list.len() == want.len()
                && list.iter().all(|c| c["broadcastnext"]["title"].is_string());
            if complete {
                Ok(list)
            } else {
                Err(r.to_string())
            }
        })
        .await;
    let mut ids = Vec::new();
    for (slug, name, number) in want {
        let c = channels
            .iter()
            .find(|c| c["label"] == name)
            .unwrap_or_else(|| panic!("{name} not in {channels:?}"));
        assert_eq!(c["channelnumber"], number, "{c}");
        assert_eq!(c["icon"], format!("{base}/logos/{slug}"), "{c}");
        assert!(c["broadcastnow"]["title"].is_string(), "{c}");
        ids.push((slug, c["channelid"].as_i64().unwrap()));
    }

    // Every programme of the guide Kodi fetched, as Kodi shows it: the same times
    // (Kodi's JSON-RPC gives UTC whatever its zone), title, description, season and
    // episode (numbered in the server's zone). The copy Kodi keeps is the reference:
    // the titles of known programmes grow as chunks are made, so a guide fetched
    // by the test a moment later may differ; its times may not.
    let fetched = kodi
        .until("Kodi's programmes are the guide's", secs(240), async || {
            let xml = kodi.fetched_guide();
            let listed = programmes(&xml);
            for (slug, id) in &ids {
                let props = [
                    "title",
                    "plot",
                    "starttime",
                    "endtime",
                    "episodenum",
                    "episodename",
                    "seasonnum",
                ];
                let r = kodi
                    .call(
                        "PVR.GetBroadcasts",
                        json!({"channelid": id, "properties": props}),
                    )
                    .await?;
                let shown = r["broadcasts"].as_array().cloned().unwrap_or_default();
                let ours = listed.get(&format!("{slug}.local")).map_or(&[][..], |l| l);
                same_programmes(&shown, ours).map_err(|e| format!("{slug}: {e}"))?;
                let last = shown.iter().map(|b| kodi_secs(&b["endtime"])).max();
                if last.is_none_or(|t| t < now() + 40 * 3600) {
                    return Err(format!("{slug}: Kodi's guide ends at {last:?}"));
                }
            }
            Ok(xml)
        })
        .await;
    assert!(fetched.contains("generator-info-name=\"shufflecast\""));
    let (_, fresh) = harness::get_text(&base, "/epg.xml").await;
    assert_promises_kept(&fetched, &fresh, now(), "the guide Kodi fetched");

    // The logos, decoded: the channels window shows them, Kodi's texture cache holds
    // them with their size, and its log has no complaint about them.
    kodi.until("the TV channels window", secs(120), async || {
        let r = kodi
            .call(
                "GUI.GetProperties",
                json!({"properties": ["currentwindow"]}),
            )
            .await?;
        match r["currentwindow"]["id"].as_i64() {
            Some(TV_CHANNELS) => return Ok(()),
            Some(YES_NO_DIALOG) => kodi.call("Input.Back", json!({})).await?,
            _ => {
                let w = json!({"window": "tvchannels"});
                kodi.call("GUI.ActivateWindow", w).await?
            }
        };
        Err(r.to_string())
    })
    .await;
    for (slug, _) in &ids {
        let url = format!("{base}/logos/{slug}")
            .replace(':', "%3a")
            .replace('/', "%2f");
        let texture = kodi
            .until(
                &format!("{slug}'s logo in Kodi's textures"),
                secs(120),
                async || {
                    let filter = json!({"field": "url", "operator": "contains", "value": url});
                    let props = ["url", "cachedurl", "sizes"];
                    let r = kodi
                        .call(
                            "Textures.GetTextures",
                            json!({"properties": props, "filter": filter}),
                        )
                        .await?;
                    r["textures"].get(0).cloned().ok_or_else(|| r.to_string())
                },
            )
            .await;
        let size = &texture["sizes"][0];
        assert!(
            size["width"].as_i64() > Some(0) && size["height"].as_i64() > Some(0),
            "{texture}"
        );
        let cached = texture["cachedurl"].as_str().unwrap();
        assert!(
            home.join(".kodi/userdata/Thumbnails").join(cached).exists(),
            "{texture}"
        );
    }
    let log = kodi.log();
    for line in log.lines() {
        // An image Kodi cannot decode, or an error about one of our URLs.
        let undecodable = line.contains("Could not find suitable input format");
        let about_ours = line.contains("logos") || line.contains(&base);
        let bad = undecodable || (line.contains(" error ") && about_ours);
        assert!(!bad, "Kodi's log: {line}");
    }

    // A channel plays: Kodi's player time moves on while it fetches segment after
    // segment (3 are 6 s: a clip switch, clips being 4 s), decoding H.264 and AAC.
    let (_, alpha) = ids[0];
    let open = json!({"item": {"channelid": alpha}});
    kodi.call("Player.Open", open).await.unwrap();
    let player = kodi
        .until("a video player", secs(120), async || {
            let r = kodi.call("Player.GetActivePlayers", json!({})).await?;
            r.as_array()
                .and_then(|a| a.iter().find(|p| p["type"] == "video"))
                .and_then(|p| p["playerid"].as_i64())
                .ok_or_else(|| r.to_string())
        })
        .await;
    let first_requests = hls_requests(&base).await;
    let mut last = kodi
        .until("the player's time", secs(120), async || {
            kodi.player_time(player).await
        })
        .await;
    let mut played = 0;
    kodi.until(
        "4 s played and 3 more HLS requests",
        secs(180),
        async || {
            // The time is within the programme: it starts again at a new one.
            let t = kodi.player_time(player).await?;
            played += (t - last).max(0);
            last = t;
            let requests = hls_requests(&base).await - first_requests;
            if played >= 4000 && requests >= 3 {
                Ok(())
            } else {
                Err(format!("{played} ms played, {requests} HLS requests"))
            }
        },
    )
    .await;
    let labels = [
        "VideoPlayer.VideoCodec",
        "VideoPlayer.AudioCodec",
        "Player.Process(videowidth)",
    ];
    let seen = kodi
        .call("XBMC.GetInfoLabels", json!({"labels": labels}))
        .await
        .unwrap();
    assert_eq!(seen[labels[0]], "h264", "{seen}");
    assert_eq!(seen[labels[1]], "aac", "{seen}");
    assert_eq!(seen[labels[2]], "320", "{seen}");
    let props = ["title", "channel", "channelnumber"];
    let item = kodi
        .call(
            "Player.GetItem",
            json!({"playerid": player, "properties": props}),
        )
        .await
        .unwrap();
    assert_eq!(item["item"]["type"], "channel", "{item}");
    assert_eq!(item["item"]["channel"], "Alpha", "{item}");
    assert_eq!(item["item"]["channelnumber"], 2, "{item}");
    eprintln!(
        "Kodi saw the guide, the logos and a channel in {:?}",
        t0.elapsed()
    );
}
