//! The Prometheus page.

use reqwest::{Client, Method};
use shufflecast::testkit::http::call;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_the_stream_the_encodes_and_the_requests_by_route() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = super::on_air(dir.path(), &[]).await;
    let c = Client::new();
    // What the counters below must have seen.
    c.get(s.url("/api/status")).send().await.unwrap();
    for _ in 0..2 {
        call(
            &c,
            Method::POST,
            &s.url("/api/skip_to_next"),
            None,
            None,
            None,
        )
        .await;
    }
    c.get(s.url("/api/nothing")).send().await.unwrap();

    let r = c.get(s.url("/metrics")).send().await.unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let m = r.text().await.unwrap();
    let value = |line_start: &str| -> f64 {
        m.lines()
            .find(|l| l.starts_with(line_start))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {line_start} in:\n{m}"))
    };
    assert!(value("shufflecast_segments_published_total{channel=\"main\"} ") >= 1.0);
    value("shufflecast_underruns_total{channel=\"main\"} ");
    assert!(
        value(
            "shufflecast_http_requests_total{route=\"/api/status\",method=\"GET\",status=\"200\"}"
        ) >= 1.0
    );
    assert!(
        value(
            "shufflecast_http_requests_total{route=\"/api/skip_to_next\",method=\"POST\",status=\"401\"}"
        ) >= 2.0
    );
    assert!(
        value("shufflecast_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}")
            >= 1.0
    );
    assert!(value("shufflecast_http_response_bytes_total ") > 0.0);
    assert!(value("shufflecast_ffmpeg_exits_total{outcome=\"success\"}") >= 1.0);
    assert!(value("shufflecast_clips_encoded_total{channel=\"main\"} ") >= 1.0);
    value("shufflecast_viewers{channel=\"main\"} ");
    value("shufflecast_chunks{channel=\"main\",state=\"ready\"}");
    for line in m.lines().filter(|l| !l.starts_with('#')) {
        assert!(
            line.starts_with("shufflecast_")
                && line.rsplit(' ').next().unwrap().parse::<f64>().is_ok(),
            "{line}"
        );
    }
    s.stop().await;
}

/// The expectation [`metrics_families_are_the_ones_dashboards_know`] checks against:
/// the families the hand-written page had, so that a change of how the page is made
/// keeps every name, type, HELP text and label a dashboard may use.
const FAMILIES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/it/api/metrics_families.txt"
);

/// Labels whose values are fixed by the server (not channels, routes or statuses):
/// their values are part of the expectation.
const FIXED_LABELS: [&str; 4] = ["outcome", "state", "le", "kind"];

/// Every metric family of the page: each name with its type, label names, the
/// values of its fixed labels and its HELP, as [`FAMILIES`] holds them. Set
/// `BLESS_METRICS=1` to write the file from the page instead (and review the diff).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_families_are_the_ones_dashboards_know() {
    let _limit = crate::limit::fast(600);
    let dir = tempfile::tempdir().unwrap();
    let s = super::on_air(dir.path(), &[]).await;
    let c = Client::new();
    // A request by route, and a continuous stream's client (its counters are
    // written only for channels that had one).
    c.get(s.url("/api/status")).send().await.unwrap();
    let mut ts = c.get(s.url("/stream/main.ts")).send().await.unwrap();
    assert_eq!(ts.status(), 200);
    ts.chunk().await.unwrap();
    drop(ts);

    let page = c
        .get(s.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let got = families(&page);
    if std::env::var_os("BLESS_METRICS").is_some() {
        std::fs::write(FAMILIES, &got).unwrap();
    }
    let want = std::fs::read_to_string(FAMILIES).unwrap();
    let diff = diff_lines(&want, &got);
    assert!(
        diff.is_empty(),
        "the metric families differ from {FAMILIES}:\n{diff}\n(the page:\n{page})"
    );
    s.stop().await;
}

/// A family as the page showed it.
#[derive(Default)]
struct Family {
    kind: String,
    help: Option<String>,
    /// Names of its samples (`_bucket`, `_sum`… of a histogram).
    samples: std::collections::BTreeSet<String>,
    labels: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
}

/// The page's families, sorted by name, two lines each: the shape (`name type
/// [labels] fixed-label=values… samples=…` when the samples are not named as the
/// family), then its HELP. Comment lines other than HELP and TYPE are kept too.
fn families(page: &str) -> String {
    use std::collections::BTreeMap;
    let mut fams: BTreeMap<String, Family> = BTreeMap::new();
    let mut others = Vec::new();
    let mut current = String::new();
    for line in page.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            fams.entry(name.to_string()).or_default().help = Some(help.to_string());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            fams.entry(name.to_string()).or_default().kind = kind.to_string();
            current = name.to_string();
        } else if line.starts_with('#') {
            others.push(format!("other line: {line}"));
        } else {
            let (name, labels) = sample(line);
            let of = |suffix: &str| name.strip_suffix(suffix) == Some(current.as_str());
            let family = if name == current || ["_bucket", "_sum", "_count"].iter().any(|s| of(s)) {
                current.clone()
            } else {
                name.clone()
            };
            let f = fams.entry(family).or_default();
            f.samples.insert(name);
            for (k, v) in labels {
                f.labels.entry(k).or_default().insert(v);
            }
        }
    }
    let mut out = String::new();
    for (name, f) in &fams {
        let kind = if f.kind.is_empty() {
            "(no TYPE)"
        } else {
            &f.kind
        };
        let labels: Vec<&str> = f.labels.keys().map(String::as_str).collect();
        out += &format!("{name} {kind} [{}]", labels.join(","));
        for (label, values) in &f.labels {
            if FIXED_LABELS.contains(&label.as_str()) {
                let v: Vec<&str> = values.iter().map(String::as_str).collect();
                out += &format!(" {label}={}", v.join("|"));
            }
        }
        if f.samples.iter().any(|s| s != name) {
            let s: Vec<&str> = f.samples.iter().map(String::as_str).collect();
            out += &format!(" samples={}", s.join("|"));
        }
        let help = f.help.as_deref().unwrap_or("(no HELP)");
        out += &format!("\n{name} HELP {help}\n");
    }
    for o in others {
        out += &format!("{o}\n");
    }
    out
}

/// A sample line's metric name and labels (values unescaped).
fn sample(line: &str) -> (String, Vec<(String, String)>) {
    let Some((name, rest)) = line.split_once('{') else {
        let name = line.split(' ').next().unwrap();
        return (name.to_string(), Vec::new());
    };
    let mut labels = Vec::new();
    let mut chars = rest.chars();
    loop {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        let key = key.trim_start_matches(',').trim();
        if key.is_empty() || key.starts_with('}') {
            break;
        }
        assert_eq!(chars.next(), Some('"'), "{line}");
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(e) => value.push(e),
                    None => panic!("{line}"),
                },
                c => value.push(c),
            }
        }
        labels.push((key.to_string(), value));
    }
    (name.to_string(), labels)
}

/// The lines of `want` not in `got` (missing) and of `got` not in `want` (new).
fn diff_lines(want: &str, got: &str) -> String {
    let mut out = String::new();
    for l in want.lines().filter(|l| !got.lines().any(|g| g == *l)) {
        out += &format!("- missing from the page: {l}\n");
    }
    for l in got.lines().filter(|l| !want.lines().any(|w| w == *l)) {
        out += &format!("+ new on the page:       {l}\n");
    }
    out
}
