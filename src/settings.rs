//! Settings an operator changes at run time (PUT /api/settings): typed, validated,
//! stored in the database, applied live where the running parts allow it and at the
//! next start otherwise. Nothing here is ever written to `.env` or reaches a shell.
//!
//! Precedence: flags, environment, `.env` and defaults make the `Config`; settings
//! saved through the API are laid over it at start.

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::db::{self, Db, DbError};
use crate::schedule::cron::CronSchedule;
use crate::schedule::generator::{GeneratorSettings, WatermarkMode};
use crate::transcode::{ColorGrade, HwAccel};

/// Every editable setting, as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Settings {
    /// Shortest clip, seconds (live).
    pub clip_min: f64,
    /// Longest clip, seconds (live).
    pub clip_max: f64,
    /// Length of a chunk, seconds (live).
    pub chunk_duration: f64,
    /// Most chunks kept (live).
    pub max_chunks: usize,
    /// Never-aired chunks kept ready (live).
    pub ready_chunks: usize,
    /// Chunks per generation run (live).
    pub chunks_per_run: usize,
    /// Most bytes of chunks; 0: no limit (live).
    pub disk_budget: u64,
    /// Cron expression of scheduled runs; empty: none (live).
    pub schedule: String,
    /// Colour grade (live: new clips).
    pub color_grade: ColorGrade,
    /// Three-panel wall (live: new clips).
    pub video_wall: bool,
    /// Burned-in text (live: new clips).
    pub watermark: WatermarkMode,
    /// Watermark when the creator is unknown; empty: the title (live).
    pub watermark_fallback: String,
    /// Chunks built at once (next start).
    pub generator_jobs: usize,
    /// none, nvidia, vaapi, qsv or auto (next start).
    pub hw_accel: String,
    /// Output width (next start; chunks of another size are remade).
    pub width: u32,
    /// Output height (next start).
    pub height: u32,
    /// Output frame rate (next start).
    pub fps: u32,
    /// Video bitrate cap, kb/s (next start).
    pub video_bitrate: u32,
    /// Music loudness target, LUFS (next start: tracks are re-encoded).
    pub music_loudness: f64,
}

/// Fields applied only at the next start.
pub const RESTART_FIELDS: &[&str] = &[
    "generator_jobs",
    "hw_accel",
    "width",
    "height",
    "fps",
    "video_bitrate",
    "music_loudness",
];

/// A PUT body: any subset of the fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Patch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip_min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip_max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk_duration: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_chunks: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_chunks: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunks_per_run: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_budget: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_grade: Option<ColorGrade>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_wall: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watermark: Option<WatermarkMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watermark_fallback: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator_jobs: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hw_accel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fps: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_bitrate: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub music_loudness: Option<f64>,
}

/// A value out of range: the field and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Invalid {
    /// The field, as the API names it.
    pub field: &'static str,
    /// Why, in words.
    pub reason: String,
}

macro_rules! lay {
    ($s:ident, $p:ident, $($f:ident),*) => { $( if let Some(v) = $p.$f.clone() { $s.$f = v; } )* };
}

impl Settings {
    /// The settings a configuration gives.
    pub fn from_config(c: &Config) -> Settings {
        Settings {
            clip_min: c.clip_min,
            clip_max: c.clip_max,
            chunk_duration: c.chunk_duration,
            max_chunks: c.max_chunks,
            ready_chunks: c.ready_chunks,
            chunks_per_run: c.chunks_per_run,
            disk_budget: c.disk_budget.unwrap_or(0),
            schedule: c
                .schedule
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_default(),
            color_grade: c.look.grade,
            video_wall: c.look.video_wall,
            watermark: c.watermark,
            watermark_fallback: c.watermark_fallback.clone().unwrap_or_default(),
            generator_jobs: c.generator_jobs,
            hw_accel: format!("{:?}", c.hw_accel).to_lowercase(),
            width: c.profile.width,
            height: c.profile.height,
            fps: c.profile.fps,
            video_bitrate: c.profile.video_kbps,
            music_loudness: c.music_lufs,
        }
    }

    /// These settings with `p` laid over them.
    pub fn with(&self, p: &Patch) -> Settings {
        let mut s = self.clone();
        lay!(
            s,
            p,
            clip_min,
            clip_max,
            chunk_duration,
            max_chunks,
            ready_chunks,
            chunks_per_run,
            disk_budget,
            schedule,
            color_grade,
            video_wall,
            watermark,
            watermark_fallback,
            generator_jobs,
            hw_accel,
            width,
            height,
            fps,
            video_bitrate,
            music_loudness
        );
        s
    }

    /// Checks every value; the first one out of range is named.
    pub fn validate(&self, segment_duration: f64) -> Result<(), Invalid> {
        let bad = |field, reason: &str| {
            Err(Invalid {
                field,
                reason: reason.to_string(),
            })
        };
        if !(self.clip_min.is_finite() && self.clip_min >= 0.5) {
            return bad("clip_min", "must be at least 0.5 seconds");
        }
        if !(self.clip_max.is_finite() && self.clip_max <= 3600.0) {
            return bad("clip_max", "must be at most 3600 seconds");
        }
        if self.clip_max < self.clip_min {
            return bad("clip_max", "must not be below clip_min");
        }
        if !(self.chunk_duration.is_finite() && (1.0..=86_400.0).contains(&self.chunk_duration)) {
            return bad("chunk_duration", "must be between 1 and 86400 seconds");
        }
        if !(1..=100_000).contains(&self.max_chunks) {
            return bad("max_chunks", "must be between 1 and 100000");
        }
        if self.ready_chunks < 1 || self.ready_chunks >= self.max_chunks.max(2) {
            return bad("ready_chunks", "must be at least 1 and below max_chunks");
        }
        if !(1..=1000).contains(&self.chunks_per_run) {
            return bad("chunks_per_run", "must be between 1 and 1000");
        }
        if self.disk_budget != 0 && self.disk_budget < 1_000_000 {
            return bad(
                "disk_budget",
                "must be 0 (no limit) or at least 1000000 bytes",
            );
        }
        if !self.schedule.trim().is_empty()
            && let Err(e) = self.schedule.parse::<CronSchedule>()
        {
            return Err(Invalid {
                field: "schedule",
                reason: e.to_string(),
            });
        }
        if self.watermark_fallback.chars().count() > 200 {
            return bad("watermark_fallback", "must be at most 200 characters");
        }
        if !(1..=16).contains(&self.generator_jobs) {
            return bad("generator_jobs", "must be between 1 and 16");
        }
        if let Err(e) = self.hw_accel.parse::<HwAccel>() {
            return Err(Invalid {
                field: "hw_accel",
                reason: e.to_string(),
            });
        }
        if !((16..=7680).contains(&self.width) && self.width.is_multiple_of(2)) {
            return bad(
                "width",
                "must be an even number of pixels between 16 and 7680",
            );
        }
        if !((16..=4320).contains(&self.height) && self.height.is_multiple_of(2)) {
            return bad(
                "height",
                "must be an even number of pixels between 16 and 4320",
            );
        }
        let gop = segment_duration * self.fps as f64;
        if !((1..=120).contains(&self.fps)
            && 90_000u32.is_multiple_of(self.fps)
            && (gop - gop.round()).abs() < 1e-9)
        {
            return bad(
                "fps",
                "must divide 90000 and make whole-frame segments (24, 25, 30, 50, 60)",
            );
        }
        if !(100..=100_000).contains(&self.video_bitrate) {
            return bad("video_bitrate", "must be between 100 and 100000 kb/s");
        }
        if !(-40.0..=-5.0).contains(&self.music_loudness) {
            return bad("music_loudness", "must be between -40 and -5 LUFS");
        }
        Ok(())
    }

    /// Lays these settings over a configuration (at start).
    pub fn apply_to(&self, c: &mut Config) {
        c.clip_min = self.clip_min;
        c.clip_max = self.clip_max;
        c.chunk_duration = self.chunk_duration;
        c.max_chunks = self.max_chunks;
        c.ready_chunks = self.ready_chunks;
        c.chunks_per_run = self.chunks_per_run;
        c.disk_budget = (self.disk_budget > 0).then_some(self.disk_budget);
        c.schedule = self.schedule.parse().ok();
        c.look.grade = self.color_grade;
        c.look.video_wall = self.video_wall;
        c.watermark = self.watermark;
        c.watermark_fallback = Some(self.watermark_fallback.clone()).filter(|s| !s.is_empty());
        c.generator_jobs = self.generator_jobs;
        if let Ok(hw) = self.hw_accel.parse() {
            c.hw_accel = hw;
        }
        let gop = (c.segment_duration * self.fps as f64).round() as u32;
        c.profile.width = self.width;
        c.profile.height = self.height;
        c.profile.fps = self.fps;
        c.profile.gop_frames = gop;
        c.profile.video_kbps = self.video_bitrate;
        c.music_lufs = self.music_loudness;
    }

    /// Lays the live fields over the generator's settings.
    pub fn apply_live(&self, g: &mut GeneratorSettings) {
        g.clip_min = self.clip_min;
        g.clip_max = self.clip_max;
        g.chunk_duration = self.chunk_duration;
        g.max_chunks = self.max_chunks;
        g.ready_target = self.ready_chunks;
        g.chunks_per_run = self.chunks_per_run;
        g.disk_budget = (self.disk_budget > 0).then_some(self.disk_budget);
        g.schedule = self.schedule.parse().ok();
        g.look.grade = self.color_grade;
        g.look.video_wall = self.video_wall;
        g.watermark = self.watermark;
        g.watermark_fallback = Some(self.watermark_fallback.clone()).filter(|s| !s.is_empty());
    }
}

/// Where the overrides are stored, in the `meta` table.
const KEY: &str = "settings_overrides";
/// Where a stored blob that cannot be read at all is set aside before a save
/// replaces it.
const UNREADABLE_KEY: &str = "settings_overrides_unreadable";
/// The version of the stored form that this release writes.
pub const STORED_VERSION: u64 = 1;

/// The overrides as stored: `{"version": 1, "values": {"clip_min": 3, ...}}`, one
/// JSON value per field. Deliberately not [`Patch`] (whose unknown fields a request
/// must be refused for): a release that renames or drops a field still reads every
/// other one, and keeps the ones it does not know for the release that does.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stored {
    /// Every stored field with its value, fields this release does not know included.
    pub values: serde_json::Map<String, serde_json::Value>,
    /// The form it was found in.
    pub form: StoredForm,
}

/// The form stored overrides were found in.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum StoredForm {
    /// Nothing stored.
    #[default]
    Empty,
    /// The unversioned object of fields of the first releases (read as version 1).
    Legacy,
    /// `{"version": n, "values": {...}}`.
    Versioned(u64),
    /// Not something this release can read (kept aside, never applied).
    Unreadable(String),
}

/// What stored overrides give this release.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Loaded {
    /// The overrides that apply.
    pub patch: Patch,
    /// Stored fields this release does not know: kept in storage, not applied.
    pub unknown: Vec<String>,
    /// Stored fields whose value no longer parses, with why: kept, not applied.
    pub invalid: Vec<(String, String)>,
}

impl Stored {
    /// Reads the stored overrides, in whatever form they were saved.
    pub fn read(db: &Db) -> Result<Stored, DbError> {
        Stored::read_on(&db.conn())
    }

    fn read_on(conn: &Connection) -> Result<Stored, DbError> {
        let raw: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [KEY], |r| r.get(0))
            .optional()?;
        let Some(raw) = raw else {
            return Ok(Stored::default());
        };
        let unreadable = || Stored {
            values: Default::default(),
            form: StoredForm::Unreadable(raw.clone()),
        };
        let Ok(serde_json::Value::Object(mut obj)) = serde_json::from_str(&raw) else {
            return Ok(unreadable());
        };
        // A legacy blob is a Patch, which has no `version` field.
        if !obj.contains_key("version") {
            return Ok(Stored {
                values: obj,
                form: StoredForm::Legacy,
            });
        }
        match (
            obj.get("version").and_then(|v| v.as_u64()),
            obj.remove("values"),
        ) {
            (Some(version), Some(serde_json::Value::Object(values))) => Ok(Stored {
                values,
                form: StoredForm::Versioned(version),
            }),
            _ => Ok(unreadable()),
        }
    }

    /// The fields this release can use, and those it cannot.
    pub fn interpret(&self) -> Loaded {
        let mut out = Loaded::default();
        let mut good = serde_json::Map::new();
        for (field, value) in &self.values {
            let alone = |v: serde_json::Value| {
                serde_json::from_value::<Patch>(serde_json::Value::Object(
                    [(field.clone(), v)].into_iter().collect(),
                ))
            };
            // Every field of a Patch is optional, so null parses for each one it has.
            if alone(serde_json::Value::Null).is_err() {
                out.unknown.push(field.clone());
            } else if let Err(e) = alone(value.clone()) {
                out.invalid.push((field.clone(), e.to_string()));
            } else {
                good.insert(field.clone(), value.clone());
            }
        }
        out.patch = serde_json::from_value(serde_json::Value::Object(good))
            .expect("every field parsed on its own");
        out
    }

    fn write_on(
        conn: &Connection,
        values: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), DbError> {
        let blob = serde_json::json!({ "version": STORED_VERSION, "values": values });
        db::set_meta(conn, KEY, &blob.to_string())
    }
}

/// The overrides saved through the API (quietly: for the API's answers).
pub fn saved(db: &Db) -> Result<Patch, DbError> {
    Ok(Stored::read(db)?.interpret().patch)
}

/// The overrides saved through the API, at start: what cannot be applied is named
/// in a warning and stays stored; an unversioned blob of an earlier release is
/// rewritten in the versioned form.
pub fn load(db: &Db) -> Result<Loaded, DbError> {
    let stored = Stored::read(db)?;
    let loaded = stored.interpret();
    match &stored.form {
        StoredForm::Empty | StoredForm::Versioned(STORED_VERSION) => {}
        StoredForm::Legacy => {
            Stored::write_on(&db.conn(), &stored.values)?;
            tracing::info!(
                version = STORED_VERSION,
                "settings saved through the API upgraded to the versioned form"
            );
        }
        StoredForm::Versioned(v) => tracing::warn!(
            version = v,
            supported = STORED_VERSION,
            "settings saved through the API come from another release; applying the fields this one knows"
        ),
        StoredForm::Unreadable(raw) => tracing::warn!(
            stored = %raw,
            "settings saved through the API cannot be read; ignoring them (the next save keeps a copy under {UNREADABLE_KEY})"
        ),
    }
    if !loaded.unknown.is_empty() {
        tracing::warn!(
            fields = %loaded.unknown.join(", "),
            "settings saved through the API name fields this release does not know; they stay stored but do not apply"
        );
    }
    for (field, error) in &loaded.invalid {
        tracing::warn!(
            field = %field,
            error = %error,
            "a setting saved through the API no longer parses; skipping it (it stays stored)"
        );
    }
    Ok(loaded)
}

/// Saves `p` over the overrides already stored, keeping every stored field it does
/// not set (unknown ones included); returns the overrides that apply.
pub fn save(db: &Db, p: &Patch) -> Result<Patch, DbError> {
    // One connection held throughout: two saves cannot interleave.
    let mut conn = db.conn();
    let tx = conn.transaction()?;
    let mut stored = Stored::read_on(&tx)?;
    if let StoredForm::Unreadable(raw) = &stored.form {
        db::set_meta(&tx, UNREADABLE_KEY, raw)?;
    }
    if let serde_json::Value::Object(new) = serde_json::to_value(p).expect("serializes") {
        stored.values.extend(new);
    }
    Stored::write_on(&tx, &stored.values)?;
    tx.commit()?;
    Ok(stored.interpret().patch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServeArgs;

    fn config() -> Config {
        let d = tempfile::tempdir().unwrap();
        Config::resolve(&ServeArgs::default(), &|_| None, &d.path().join(".env")).unwrap()
    }

    #[test]
    fn patches_validate_persist_and_apply() {
        let c = config();
        let s = Settings::from_config(&c);
        assert!(s.validate(2.0).is_ok());
        for (patch, field) in [
            (r#"{"clip_min": 0.1}"#, "clip_min"),
            (r#"{"clip_min": 9, "clip_max": 8}"#, "clip_max"),
            (r#"{"ready_chunks": 56}"#, "ready_chunks"),
            (r#"{"schedule": "at noon"}"#, "schedule"),
            (r#"{"hw_accel": "amd"}"#, "hw_accel"),
            (r#"{"width": 641}"#, "width"),
            (r#"{"fps": 7}"#, "fps"),
            (r#"{"music_loudness": 3}"#, "music_loudness"),
            (r#"{"disk_budget": 5}"#, "disk_budget"),
        ] {
            let p: Patch = serde_json::from_str(patch).unwrap();
            assert_eq!(
                s.with(&p).validate(2.0).unwrap_err().field,
                field,
                "{patch}"
            );
        }
        assert!(
            serde_json::from_str::<Patch>(r#"{"nope": 1}"#).is_err(),
            "unknown fields refused"
        );
        assert!(serde_json::from_str::<Patch>(r#"{"color_grade": "sepia"}"#).is_err());

        let db = Db::in_memory().unwrap();
        save(
            &db,
            &serde_json::from_str(r#"{"clip_min": 3, "color_grade": "mono"}"#).unwrap(),
        )
        .unwrap();
        let all = save(
            &db,
            &serde_json::from_str(r#"{"clip_max": 4, "width": 640, "height": 360}"#).unwrap(),
        )
        .unwrap();
        assert_eq!(
            (all.clip_min, all.clip_max, all.color_grade),
            (Some(3.0), Some(4.0), Some(ColorGrade::Mono))
        );
        let mut c2 = config();
        Settings::from_config(&c2)
            .with(&saved(&db).unwrap())
            .apply_to(&mut c2);
        assert_eq!(
            (
                c2.clip_min,
                c2.clip_max,
                c2.profile.width,
                c2.profile.gop_frames
            ),
            (3.0, 4.0, 640, 60)
        );
        assert_eq!(c2.look.grade, ColorGrade::Mono);
    }

    /// Runs `f` with the log captured, one line per event (`LEVEL message k=v...`);
    /// returns what it logged. (A tiny subscriber: tracing-subscriber in the lib's
    /// tests would bring regex-automata's impls into type inference elsewhere.)
    fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
        use std::fmt::Write as _;
        use std::sync::Arc;
        use tracing::field::{Field, Visit};

        struct Capture(Arc<parking_lot::Mutex<String>>);
        struct Line<'a>(&'a mut String);
        impl Visit for Line<'_> {
            fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                let _ = write!(self.0, " {}={value:?}", field.name());
            }
            fn record_str(&mut self, field: &Field, value: &str) {
                let _ = write!(self.0, " {}={value}", field.name());
            }
        }
        impl tracing::Subscriber for Capture {
            fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
                true
            }
            fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
                tracing::span::Id::from_u64(1)
            }
            fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
            fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
            fn event(&self, e: &tracing::Event<'_>) {
                let mut line = e.metadata().level().to_string();
                e.record(&mut Line(&mut line));
                let mut out = self.0.lock();
                out.push_str(&line);
                out.push('\n');
            }
            fn enter(&self, _: &tracing::span::Id) {}
            fn exit(&self, _: &tracing::span::Id) {}
        }
        let text = Arc::new(parking_lot::Mutex::new(String::new()));
        let t = tracing::subscriber::with_default(Capture(text.clone()), f);
        let out = text.lock().clone();
        (t, out)
    }

    fn stored_json(db: &Db) -> serde_json::Value {
        serde_json::from_str(&db.meta(KEY).unwrap().unwrap()).unwrap()
    }

    #[test]
    fn overrides_of_the_unversioned_form_are_upgraded() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("shufflecast.db");
        {
            // Exactly what the first releases stored: a Patch, fields at the top.
            let db = Db::open(&path).unwrap();
            db.set_meta(
                KEY,
                r#"{"clip_min":3.0,"color_grade":"mono","width":640,"height":360}"#,
            )
            .unwrap();
        }
        let want = Patch {
            clip_min: Some(3.0),
            color_grade: Some(ColorGrade::Mono),
            width: Some(640),
            height: Some(360),
            ..Patch::default()
        };
        {
            let db = Db::open(&path).unwrap();
            assert_eq!(saved(&db).unwrap(), want, "read as it is");
            let (loaded, log) = logged(|| load(&db).unwrap());
            assert_eq!(loaded.patch, want);
            assert!(loaded.unknown.is_empty() && loaded.invalid.is_empty());
            assert!(log.contains("upgraded"), "{log}");
            assert!(!log.contains("WARN"), "{log}");
        }
        let db = Db::open(&path).unwrap();
        assert_eq!(
            stored_json(&db),
            serde_json::json!({
                "version": 1,
                "values": {"clip_min": 3.0, "color_grade": "mono", "width": 640, "height": 360}
            })
        );
        assert_eq!(Stored::read(&db).unwrap().form, StoredForm::Versioned(1));
        assert_eq!(load(&db).unwrap().patch, want, "and read back the same");
        let all = save(&db, &serde_json::from_str(r#"{"clip_max": 4}"#).unwrap()).unwrap();
        assert_eq!(
            all,
            Patch {
                clip_max: Some(4.0),
                ..want
            }
        );
    }

    #[test]
    fn unknown_fields_are_kept_and_values_that_no_longer_parse_skipped() {
        let d = tempfile::tempdir().unwrap();
        let db = Db::open(&d.path().join("shufflecast.db")).unwrap();
        // As a later (or earlier) release may leave it: a field this one does not
        // know, and a value it cannot read any more.
        db.set_meta(
            KEY,
            r#"{"version":1,"values":{"clip_min":3,"retired_knob":true,"color_grade":"sepia"}}"#,
        )
        .unwrap();
        let (loaded, log) = logged(|| load(&db).unwrap());
        assert_eq!(
            loaded.patch,
            Patch {
                clip_min: Some(3.0),
                ..Patch::default()
            }
        );
        assert_eq!(loaded.unknown, ["retired_knob"]);
        assert_eq!(loaded.invalid.len(), 1);
        assert_eq!(loaded.invalid[0].0, "color_grade");
        assert!(
            loaded.invalid[0].1.contains("sepia"),
            "{:?}",
            loaded.invalid
        );
        let warnings: Vec<&str> = log.lines().filter(|l| l.contains("WARN")).collect();
        assert_eq!(warnings.len(), 2, "{log}");
        assert!(
            warnings[0].contains("does not know") && warnings[0].contains("retired_knob"),
            "{log}"
        );
        assert!(
            warnings[1].contains("no longer parses") && warnings[1].contains("color_grade"),
            "{log}"
        );
        // Loading changed nothing; a save keeps what it does not set.
        let all = save(
            &db,
            &serde_json::from_str(r#"{"clip_max": 8, "clip_min": 2}"#).unwrap(),
        )
        .unwrap();
        assert_eq!(
            (all.clip_min, all.clip_max, all.color_grade),
            (Some(2.0), Some(8.0), None)
        );
        let stored = stored_json(&db);
        assert_eq!(stored["version"], 1);
        assert_eq!(
            stored["values"],
            serde_json::json!({"clip_min": 2.0, "clip_max": 8.0, "retired_knob": true, "color_grade": "sepia"})
        );
        // Setting the field again replaces the value that did not parse.
        save(
            &db,
            &serde_json::from_str(r#"{"color_grade": "warm"}"#).unwrap(),
        )
        .unwrap();
        let loaded = load(&db).unwrap();
        assert_eq!(loaded.patch.color_grade, Some(ColorGrade::Warm));
        assert!(loaded.invalid.is_empty());
        assert_eq!(loaded.unknown, ["retired_knob"]);
        // The request body stays strict: a client's typo is refused.
        assert!(serde_json::from_str::<Patch>(r#"{"retired_knob": true}"#).is_err());
    }

    #[test]
    fn an_unreadable_blob_is_ignored_and_set_aside_by_the_next_save() {
        let db = Db::in_memory().unwrap();
        db.set_meta(KEY, "{not json").unwrap();
        let (loaded, log) = logged(|| load(&db).unwrap());
        assert_eq!(loaded, Loaded::default());
        assert!(
            log.contains("WARN") && log.contains("cannot be read"),
            "{log}"
        );
        assert_eq!(
            db.meta(KEY).unwrap().as_deref(),
            Some("{not json"),
            "left as it is"
        );
        save(&db, &serde_json::from_str(r#"{"fps": 25}"#).unwrap()).unwrap();
        assert_eq!(
            db.meta(UNREADABLE_KEY).unwrap().as_deref(),
            Some("{not json")
        );
        assert_eq!(saved(&db).unwrap().fps, Some(25));
    }
}
