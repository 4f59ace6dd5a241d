//! The programme guide: what XMLTV apps (Plex, Jellyfin, Emby, Kodi) and the web
//! client's guide show. Programmes are the slots of a fixed grid ([`grid`]), not
//! chunks: whatever airs within a slot belongs to it. A slot's times are a promise
//! kept from the moment it is first listed; its title and description say what
//! is known of it: the clips forecast to air in it ([`forecast`]) once the chunks
//! that hold them are made, else the channel's own programme title and
//! description ([`ChannelText`]). The rules are written down in `docs/guide.md`.

pub mod forecast;
pub mod grid;

use std::time::{Duration, SystemTime};

use crate::db::slots::Slot;
use crate::engine::live::Live;
use crate::lineup::def::ChannelDef;
use crate::schedule::Playout;
use crate::settings::Config;

pub use forecast::{Airing, Forecast, forecast, unix};
pub use grid::ProgrammeGrid;

/// The most clips a programme's description lists by name.
const LISTED_CLIPS: usize = 500;

/// What a channel says of the programmes whose clips are not made yet.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelText {
    /// PROGRAMME_TITLE, else the channel's name.
    pub title: String,
    /// PROGRAMME_DESCRIPTION, else a sentence naming what the channel airs.
    pub description: String,
}

impl ChannelText {
    /// The text of the channel `def` with the effective settings `c`.
    pub fn new(def: &ChannelDef, c: &Config) -> ChannelText {
        let ch = &c.channel;
        let title = ch
            .programme_title
            .clone()
            .unwrap_or_else(|| def.name.clone());
        let description = ch
            .programme_description
            .clone()
            .unwrap_or_else(|| what_it_airs(def, c));
        ChannelText { title, description }
    }
}

/// "A, B and C" of `items`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [a] => a.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// A sentence naming what the channel airs: its creators, its globs, its folders.
fn what_it_airs(def: &ChannelDef, c: &Config) -> String {
    let s = &def.sources;
    let quoted = |v: &[String]| -> Vec<String> { v.iter().map(|p| format!("\"{p}\"")).collect() };
    let folders: Vec<String> = c
        .channel
        .videos
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let mut what = if !s.creators.is_empty() {
        format!("videos by {}", and_list(&s.creators))
    } else if !s.include.is_empty() {
        format!("videos matching {}", and_list(&quoted(&s.include)))
    } else if folders.is_empty() {
        "the demo library".to_string()
    } else {
        format!("the videos in {}", and_list(&folders))
    };
    if !s.exclude.is_empty() {
        what.push_str(&format!(" (but not {})", and_list(&quoted(&s.exclude))));
    }
    let music = if c.channel.audio.is_some() {
        "with music underneath"
    } else {
        "one after another"
    };
    format!("Short clips from {what}, {music}, never the same part twice until a video is used up.")
}

/// A programme: a slot of the grid and what is known to air in it.
#[derive(Clone, Debug)]
pub struct Programme {
    /// When it starts, Unix seconds.
    pub start: i64,
    /// When it ends, Unix seconds.
    pub stop: i64,
    /// The clips that aired or are forecast to air within it, in order (a clip
    /// across a boundary belongs to both programmes).
    pub clips: Vec<Airing>,
    /// What airs is known to its end (else from some point on, or at all, not yet).
    pub whole: bool,
    /// It holds the channel's now.
    pub on_air: bool,
}

impl Programme {
    /// Its clips are known (some of them at least).
    pub fn known(&self) -> bool {
        !self.clips.is_empty()
    }

    /// Its title: its clips' ("Big Buck Bunny, bikes and 12 more",
    /// [`crate::schedule::human_title`]), else the channel's.
    pub fn title(&self, text: &ChannelText) -> String {
        crate::schedule::human_title(self.clips.iter().map(|a| a.clip.title.as_str()))
            .unwrap_or_else(|| text.title.clone())
    }

    /// Its description: a line per clip ("Title (Creator)"), then, where what
    /// airs is not known to its end, the channel's description; only the
    /// channel's when nothing is known.
    pub fn description(&self, text: &ChannelText) -> String {
        if !self.known() {
            return text.description.clone();
        }
        // A line per clip; clips of one video in a row make one line ("×3").
        let mut lines: Vec<(String, usize)> = Vec::new();
        for a in &self.clips {
            let mut line = a.clip.title.clone();
            if let Some(c) = &a.clip.creator {
                line.push_str(&format!(" ({c})"));
            }
            match lines.last_mut() {
                Some((last, n)) if *last == line => *n += 1,
                _ => lines.push((line, 1)),
            }
        }
        let mut out = String::new();
        for (line, n) in lines.iter().take(LISTED_CLIPS) {
            out.push_str(line);
            if *n > 1 {
                out.push_str(&format!(" ×{n}"));
            }
            out.push('\n');
        }
        if lines.len() > LISTED_CLIPS {
            out.push_str(&format!("… and {} more\n", lines.len() - LISTED_CLIPS));
        }
        if !self.whole {
            out.push_str(&format!("Then: {}", text.description));
        }
        out.trim_end().to_string()
    }

    /// Every clip known in it airs for the first time (XMLTV's `<new/>`).
    pub fn new_clips(&self) -> bool {
        self.known() && self.clips.iter().all(|a| a.first)
    }

    /// The distinct creators of its clips, in order.
    pub fn creators(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in self.clips.iter().filter_map(|a| a.clip.creator.as_ref()) {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
        out
    }

    /// The chunk of its first clip (whose strip pictures it).
    pub fn first_chunk(&self) -> Option<&str> {
        self.clips.iter().find_map(|a| a.clip.chunk.as_deref())
    }
}

/// The programmes of `slots` on the channel of `live` and `playout`, each with
/// what its forecast from the first slot's start knows of it; `wall` is now when
/// nothing has aired yet.
pub fn programmes_of(
    live: &Live,
    playout: &Playout,
    slots: &[Slot],
    wall: SystemTime,
) -> Vec<Programme> {
    let from = slots.first().map_or(wall, |s| {
        SystemTime::UNIX_EPOCH + Duration::from_secs(s.start.max(0) as u64)
    });
    programmes(slots, &forecast(live, playout, from, wall))
}

/// The programmes of `slots` with what `f` knows of each.
pub fn programmes(slots: &[Slot], f: &Forecast) -> Vec<Programme> {
    // A clip belongs to a slot it overlaps by more than this (rounding).
    const EPS: f64 = 1e-3;
    let mut out = Vec::with_capacity(slots.len());
    let mut from = 0;
    for s in slots {
        let (start, stop) = (s.start as f64, s.stop as f64);
        while from < f.airings.len() && f.airings[from].stop <= start + EPS {
            from += 1;
        }
        let clips: Vec<Airing> = f.airings[from..]
            .iter()
            .take_while(|a| a.start < stop - EPS)
            .cloned()
            .collect();
        out.push(Programme {
            start: s.start,
            stop: s.stop,
            whole: !clips.is_empty() && f.known_until >= stop - EPS,
            clips,
            on_air: start <= f.now && f.now < stop,
        });
    }
    out
}

/// A clip for a test.
#[cfg(test)]
fn test_clip(
    id: &str,
    title: &str,
    creator: Option<&str>,
) -> std::sync::Arc<crate::engine::ClipInfo> {
    use crate::engine::ClipInfo;
    std::sync::Arc::new(ClipInfo {
        id: id.into(),
        title: title.into(),
        creator: creator.map(Into::into),
        chunk: id.split('/').next().map(Into::into),
        duration: 10.0,
        ..ClipInfo::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn airing(id: &str, title: &str, start: f64, stop: f64, first: bool) -> Airing {
        Airing {
            clip: test_clip(id, title, Some("Ann")),
            start,
            stop,
            first,
        }
    }

    #[test]
    fn a_programme_is_a_window_and_every_clip_within_it_belongs_to_it() {
        let slots = [
            Slot {
                start: 0,
                stop: 100,
            },
            Slot {
                start: 100,
                stop: 200,
            },
            Slot {
                start: 200,
                stop: 300,
            },
        ];
        let f = Forecast {
            now: 50.0,
            airings: vec![
                airing("a/0", "A", 40.0, 90.0, true),
                airing("a/1", "B", 90.0, 130.0, true),
                airing("b/0", "C", 130.0, 150.0, false),
            ],
            known_until: 150.0,
        };
        let p = programmes(&slots, &f);
        assert_eq!(p.len(), 3);
        assert!(p[0].on_air && !p[1].on_air);
        // Known from 40 s only, so not whole; the clip across 100 s is in both.
        assert_eq!(p[0].clips.len(), 2);
        assert!(p[0].whole, "known to its end (the forecast goes past 100)");
        assert_eq!(p[1].clips.len(), 2);
        assert!(!p[1].whole, "known until 150 of 200");
        assert!(!p[2].known());
        let text = ChannelText {
            title: "Mix".into(),
            description: "Short clips.".into(),
        };
        assert_eq!(p[0].title(&text), "A and B");
        assert_eq!(p[1].title(&text), "B and C");
        assert_eq!(p[2].title(&text), "Mix");
        assert_eq!(
            p[1].description(&text),
            "B (Ann)\nC (Ann)\nThen: Short clips."
        );
        assert_eq!(p[2].description(&text), "Short clips.");
        assert!(p[0].new_clips() && !p[1].new_clips() && !p[2].new_clips());
        assert_eq!(p[1].creators(), ["Ann"]);
        assert_eq!(p[1].first_chunk(), Some("a"));
    }

    #[test]
    fn the_channel_says_what_it_airs_unless_told() {
        let defaults = Config::default();
        let mut def = ChannelDef::classic(&defaults);
        let mut c = def.config(&defaults);
        c.channel.videos = vec!["/srv/videos/cats".into(), "/srv/dogs".into()];
        let t = ChannelText::new(&def, &c);
        assert_eq!(t.title, "shufflecast");
        assert!(
            t.description.contains("the videos in cats and dogs"),
            "{}",
            t.description
        );
        def.sources.creators = vec!["Blender".into(), "NASA".into(), "ESA".into()];
        def.sources.exclude = vec!["*trailer*".into()];
        let t = ChannelText::new(&def, &c);
        assert!(
            t.description
                .contains("videos by Blender, NASA and ESA (but not \"*trailer*\")"),
            "{}",
            t.description
        );
        c.channel.programme_title = Some("Late mix".into());
        c.channel.programme_description = Some("Anything goes.".into());
        assert_eq!(
            ChannelText::new(&def, &c),
            ChannelText {
                title: "Late mix".into(),
                description: "Anything goes.".into()
            }
        );
    }
}
