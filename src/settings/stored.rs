//! The settings saved through the API: laid over flags, environment and `.env` at
//! start. Stored versioned and field by field (`{"version": 1, "values": {...}}`), one
//! JSON value per field as the API writes it: a release that renames or drops a
//! setting still reads every other one, and keeps the ones it does not know for the
//! release that does. Nothing here is ever written to `.env` or reaches a shell.

use serde_json::{Map, Value as Json};

use super::api::{Invalid, Patch};
use super::table::spec;
use crate::db::{Db, DbError};

/// The version of the stored form that this release writes.
pub const STORED_VERSION: u64 = 1;

/// The overrides as stored. Deliberately not a [`Patch`] (whose unknown fields a
/// request must be refused for).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stored {
    /// Every stored field with its value, fields this release does not know included.
    pub values: Map<String, Json>,
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
        Ok(Stored::parse(db.settings_overrides()?))
    }

    fn parse(raw: Option<String>) -> Stored {
        let Some(raw) = raw else {
            return Stored::default();
        };
        let unreadable = || Stored {
            values: Default::default(),
            form: StoredForm::Unreadable(raw.clone()),
        };
        let Ok(Json::Object(mut obj)) = serde_json::from_str(&raw) else {
            return unreadable();
        };
        // A legacy blob is a patch, which has no `version` field.
        if !obj.contains_key("version") {
            return Stored {
                values: obj,
                form: StoredForm::Legacy,
            };
        }
        match (
            obj.get("version").and_then(|v| v.as_u64()),
            obj.remove("values"),
        ) {
            (Some(version), Some(Json::Object(values))) => Stored {
                values,
                form: StoredForm::Versioned(version),
            },
            _ => unreadable(),
        }
    }

    /// The fields this release can use, and those it cannot.
    pub fn interpret(&self) -> Loaded {
        let mut out = Loaded::default();
        let mut good = Map::new();
        for (field, value) in &self.values {
            match spec(field).filter(|s| s.meta.apply.editable()) {
                None => out.unknown.push(field.clone()),
                Some(_) => {
                    match Patch::from_map([(field.clone(), value.clone())].into_iter().collect()) {
                        Err(Invalid { reason, .. }) => out.invalid.push((field.clone(), reason)),
                        Ok(_) => {
                            good.insert(field.clone(), value.clone());
                        }
                    }
                }
            }
        }
        out.patch = Patch::from_map(good).expect("every field parsed on its own");
        out
    }

    fn blob(values: &Map<String, Json>) -> String {
        let mut blob = Map::new();
        blob.insert("version".into(), STORED_VERSION.into());
        blob.insert("values".into(), Json::Object(values.clone()));
        Json::Object(blob).to_string()
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
            db.update_settings_overrides(|_| (Stored::blob(&stored.values), None, ()))?;
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
            "settings saved through the API cannot be read; ignoring them (the next save keeps a copy)"
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
    db.update_settings_overrides(|raw| {
        let mut stored = Stored::parse(raw);
        let aside = match &stored.form {
            StoredForm::Unreadable(raw) => Some(raw.clone()),
            _ => None,
        };
        stored.values.extend(p.values().clone());
        (
            Stored::blob(&stored.values),
            aside,
            stored.interpret().patch,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Config;

    fn patch(s: &str) -> Patch {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn saves_persist_field_by_field_and_apply() {
        let db = Db::in_memory().unwrap();
        save(&db, &patch(r#"{"clip_min": 3, "color_grade": "mono"}"#)).unwrap();
        let all = save(
            &db,
            &patch(r#"{"clip_max": 4, "width": 640, "height": 360}"#),
        )
        .unwrap();
        let c = Config::default().with(&all);
        assert_eq!(
            (
                c.channel.clip_min,
                c.channel.clip_max,
                c.output.profile().width,
                c.output.profile().gop_frames
            ),
            (3.0, 4.0, 640, 60)
        );
        assert_eq!(c.channel.color_grade, crate::transcode::ColorGrade::Mono);
        assert_eq!(saved(&db).unwrap(), all);
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
        serde_json::from_str(&db.settings_overrides().unwrap().unwrap()).unwrap()
    }

    #[test]
    fn overrides_of_the_unversioned_form_are_upgraded() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("shufflecast.db");
        {
            // Exactly what the first releases stored: a Patch, fields at the top.
            let db = Db::open(&path).unwrap();
            db.set_settings_overrides(
                r#"{"clip_min":3.0,"color_grade":"mono","width":640,"height":360}"#,
            )
            .unwrap();
        }
        let want = patch(r#"{"clip_min":3.0,"color_grade":"mono","width":640,"height":360}"#);
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
        let all = save(&db, &patch(r#"{"clip_max": 4}"#)).unwrap();
        assert_eq!(
            all,
            patch(r#"{"clip_min":3.0,"color_grade":"mono","width":640,"height":360,"clip_max":4}"#)
        );
    }

    #[test]
    fn unknown_fields_are_kept_and_values_that_no_longer_parse_skipped() {
        let d = tempfile::tempdir().unwrap();
        let db = Db::open(&d.path().join("shufflecast.db")).unwrap();
        // As a later (or earlier) release may leave it: a field this one does not
        // know, and a value it cannot read any more.
        db.set_settings_overrides(
            r#"{"version":1,"values":{"clip_min":3,"retired_knob":true,"color_grade":"sepia"}}"#,
        )
        .unwrap();
        let (loaded, log) = logged(|| load(&db).unwrap());
        assert_eq!(loaded.patch, patch(r#"{"clip_min": 3}"#));
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
        let all = save(&db, &patch(r#"{"clip_max": 8, "clip_min": 2}"#)).unwrap();
        assert_eq!(all, patch(r#"{"clip_max": 8, "clip_min": 2}"#));
        let stored = stored_json(&db);
        assert_eq!(stored["version"], 1);
        assert_eq!(
            stored["values"],
            serde_json::json!({"clip_min": 2.0, "clip_max": 8.0, "retired_knob": true, "color_grade": "sepia"})
        );
        // Setting the field again replaces the value that did not parse.
        save(&db, &patch(r#"{"color_grade": "warm"}"#)).unwrap();
        let loaded = load(&db).unwrap();
        assert_eq!(loaded.patch.values()["color_grade"], "warm");
        assert!(loaded.invalid.is_empty());
        assert_eq!(loaded.unknown, ["retired_knob"]);
        // The request body stays strict: a client's typo is refused.
        assert!(serde_json::from_str::<Patch>(r#"{"retired_knob": true}"#).is_err());
    }

    #[test]
    fn an_unreadable_blob_is_ignored_and_set_aside_by_the_next_save() {
        let db = Db::in_memory().unwrap();
        db.set_settings_overrides("{not json").unwrap();
        let (loaded, log) = logged(|| load(&db).unwrap());
        assert_eq!(loaded, Loaded::default());
        assert!(
            log.contains("WARN") && log.contains("cannot be read"),
            "{log}"
        );
        assert_eq!(
            db.settings_overrides().unwrap().as_deref(),
            Some("{not json"),
            "left as it is"
        );
        save(&db, &patch(r#"{"fps": 25}"#)).unwrap();
        assert_eq!(
            db.unreadable_settings_overrides().unwrap().as_deref(),
            Some("{not json")
        );
        assert_eq!(saved(&db).unwrap(), patch(r#"{"fps": 25}"#));
    }
}
