//! Reading an XMLTV guide as an app does, and judging its promises: the programmes
//! an app stored keep their times in every later guide, and each channel's run
//! on its grid without a gap or an overlap.

use std::collections::BTreeMap;

use chrono::{TimeZone, Timelike};

/// A programme as an app stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    /// Start, Unix seconds.
    pub start: i64,
    /// Stop, Unix seconds.
    pub stop: i64,
    /// Its title (XML-escaped as written).
    pub title: String,
    /// Its description (XML-escaped as written), empty when none.
    pub desc: String,
    /// Its on-screen episode number (`S2026E12071030`), when it has one.
    pub onscreen: Option<String>,
}

/// `YYYYMMDDhhmmss +HHMM` as Unix seconds.
pub fn xmltv_secs(s: &str) -> i64 {
    chrono::DateTime::parse_from_str(s, "%Y%m%d%H%M%S %z")
        .unwrap_or_else(|e| panic!("{s:?}: {e}"))
        .timestamp()
}

/// The text of the first `<tag …>…</tag>` in `p`, if any.
fn element(p: &str, tag: &str) -> Option<String> {
    let at = p.find(&format!("<{tag}"))?;
    let body = at + p[at..].find('>')? + 1;
    let end = body + p[body..].find(&format!("</{tag}>"))?;
    Some(p[body..end].to_string())
}

/// Each channel's programmes in the guide `xml`, in document order.
pub fn programmes(xml: &str) -> BTreeMap<String, Vec<Listed>> {
    let mut out: BTreeMap<String, Vec<Listed>> = BTreeMap::new();
    for p in xml.split("<programme ").skip(1) {
        let p = p.split("</programme>").next().unwrap_or(p);
        let attr = |name: &str| {
            let at = p
                .find(&format!(" {name}=\""))
                .or_else(|| p.starts_with(&format!("{name}=\"")).then_some(0));
            let at = at.unwrap_or_else(|| panic!("no {name} in {p}"));
            let from = at + p[at..].find('"').unwrap() + 1;
            let end = from + p[from..].find('"').unwrap();
            p[from..end].to_string()
        };
        out.entry(attr("channel")).or_default().push(Listed {
            start: xmltv_secs(&attr("start")),
            stop: xmltv_secs(&attr("stop")),
            title: element(p, "title").unwrap_or_default(),
            desc: element(p, "desc").unwrap_or_default(),
            onscreen: p
                .split("<episode-num system=\"onscreen\">")
                .nth(1)
                .and_then(|rest| rest.split("</episode-num>").next())
                .map(str::to_string),
        });
    }
    out
}

/// Every programme of `before` whose stop is after `now` is in `after` with the
/// same start and stop, when `after` lists its time at all; `what` names the step.
pub fn assert_promises_kept(before: &str, after: &str, now: i64, what: &str) {
    let (b, a) = (programmes(before), programmes(after));
    for (ch, progs) in &b {
        let later = a
            .get(ch)
            .unwrap_or_else(|| panic!("{what}: channel {ch} is gone"));
        let horizon = later.last().map_or(i64::MIN, |p| p.stop);
        for p in progs.iter().filter(|p| p.stop > now && p.stop <= horizon) {
            assert!(
                later.iter().any(|q| q.start == p.start && q.stop == p.stop),
                "{what}: channel {ch}'s programme {}–{} ({}) is not in the new guide: {:?}",
                p.start,
                p.stop,
                p.title,
                later
                    .iter()
                    .filter(|q| q.stop > p.start && q.start < p.stop)
                    .collect::<Vec<_>>()
            );
        }
    }
}

/// How far the test's clock may be ahead of the server's when it read the guide.
const SLACK: i64 = 5;

/// Each channel of `xml` has programmes from one holding `now` to at least `hours`
/// later, back to back, each starting and stopping on the local grid of
/// one of `minutes` (a change of length leaves the slots already listed on the
/// old grid).
pub fn assert_grid(xml: &str, now: i64, hours: i64, minutes: &[u32]) {
    let on_grid = |t: i64| {
        let at = chrono::Local.timestamp_opt(t, 0).unwrap();
        let of_day = at.hour() * 60 + at.minute();
        at.second() == 0 && minutes.iter().any(|m| of_day.is_multiple_of(*m))
    };
    let all = programmes(xml);
    assert!(!all.is_empty(), "no programme at all: {xml}");
    for (ch, progs) in all {
        let first = &progs[0];
        // `now` is the test's, read a moment after the server's: a few seconds' slack.
        assert!(
            first.start <= now && now < first.stop + SLACK,
            "channel {ch}: its first programme ({}–{}) holds now ({now})",
            first.start,
            first.stop
        );
        let last = progs.last().unwrap();
        assert!(
            last.stop + SLACK >= now + hours * 3600,
            "channel {ch}: programmes until {} only, {hours} h asked",
            last.stop
        );
        for w in progs.windows(2) {
            assert_eq!(
                w[0].stop, w[1].start,
                "channel {ch}: a gap or an overlap between {:?} and {:?}",
                w[0], w[1]
            );
        }
        for p in &progs {
            assert!(p.stop > p.start, "channel {ch}: {p:?}");
            assert!(
                on_grid(p.start) && on_grid(p.stop),
                "channel {ch}: {p:?} is off the grid of {minutes:?} minutes"
            );
        }
    }
}
