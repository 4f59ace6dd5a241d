//! The settings as the API sees them: the editable settings and their values
//! ([`Settings`], [`view`]), a change of them ([`Patch`], refused as [`Invalid`]),
//! laying a change over settings ([`Config::with`]), and the JSON schema the web
//! client renders its form from ([`schema`], also the OpenAPI document's).

use serde_json::{Value as Json, json};

use super::spec::{Apply, Section};
use super::table::{Config, GROUPS, SPECS, Spec, spec};

/// A value the API or a stored override refused: the setting and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", field.map(|f| format!("{f}: ")).unwrap_or_default())]
pub struct Invalid {
    /// The setting, as the API names it; none for a name that is no setting.
    pub field: Option<&'static str>,
    /// Why, in words.
    pub reason: String,
}

impl Invalid {
    /// `reason` as the problem of `field`.
    pub fn of(field: &'static str, reason: String) -> Invalid {
        Invalid {
            field: Some(field),
            reason,
        }
    }
}

/// The settings the API may change, with their values: the body of
/// `GET /api/settings`. Its schema is [`schema`]'s.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(transparent)]
pub struct Settings(pub serde_json::Map<String, Json>);

/// The settings the API may change, with their values in `c`.
pub fn view(c: &Config) -> Settings {
    Settings(
        SPECS
            .iter()
            .filter(|s| s.meta.apply.editable())
            .map(|s| (s.key.to_string(), (s.ops.get)(c)))
            .collect(),
    )
}

/// [`schema`] as an OpenAPI schema; every field required (a response) or none (a
/// patch).
fn openapi_schema(all_required: bool) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    let mut s = schema();
    let o = s.as_object_mut().expect("an object");
    o.remove("$schema");
    if all_required {
        let keys = o["x-order"].clone();
        o.insert("required".into(), keys);
    } else {
        o.insert("title".into(), json!("SettingsPatch"));
    }
    serde_json::from_value(s).expect("the settings schema is an OpenAPI schema")
}

impl utoipa::PartialSchema for Settings {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        openapi_schema(true)
    }
}

impl utoipa::ToSchema for Settings {
    fn name() -> std::borrow::Cow<'static, str> {
        "Settings".into()
    }
}

impl utoipa::PartialSchema for Patch {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        openapi_schema(false)
    }
}

impl utoipa::ToSchema for Patch {
    fn name() -> std::borrow::Cow<'static, str> {
        "SettingsPatch".into()
    }
}

/// The editable settings applied at the next start only.
pub fn restart_fields() -> Vec<&'static str> {
    SPECS
        .iter()
        .filter(|s| s.meta.apply == Apply::Restart)
        .map(|s| s.key)
        .collect()
}

/// A change of editable settings: any subset, each value already known to parse.
/// Unknown names and values of the wrong type are refused when it is read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Patch(serde_json::Map<String, Json>);

impl Patch {
    /// Reads a change, naming the first unknown or malformed field.
    pub fn from_map(map: serde_json::Map<String, Json>) -> Result<Patch, Invalid> {
        Patch::read(map, |s| s.meta.apply.editable())
    }

    /// Reads a channel's settings: any setting of the [`Section::Channel`] section,
    /// whatever its [`Apply`] (a channel's own folders are part of what defines it,
    /// though the settings API cannot change the server-wide ones). Names the first
    /// unknown or malformed field.
    pub fn channel_from_map(map: serde_json::Map<String, Json>) -> Result<Patch, Invalid> {
        Patch::read(map, |s| s.section == Section::Channel)
    }

    /// Reads the settings `accept` lets through, each with its type's parser.
    fn read(
        map: serde_json::Map<String, Json>,
        accept: impl Fn(&Spec) -> bool,
    ) -> Result<Patch, Invalid> {
        let mut out = serde_json::Map::new();
        for (k, v) in map {
            let spec = spec(&k).filter(|s| accept(s)).ok_or_else(|| Invalid {
                field: None,
                reason: format!("unknown setting `{k}`"),
            })?;
            let mut c = Config::default();
            (spec.ops.set)(&mut c, &v).map_err(|reason| Invalid {
                field: Some(spec.key),
                reason,
            })?;
            // Kept as the type writes it (3 as 3.0, text trimmed), so that two
            // patches that mean the same compare equal.
            out.insert(k, (spec.ops.get)(&c));
        }
        Ok(Patch(out))
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields and values, as JSON.
    pub fn values(&self) -> &serde_json::Map<String, Json> {
        &self.0
    }

    /// The fields it sets, in order.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(|k| k.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Patch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = serde_json::Map::deserialize(d)?;
        Patch::from_map(map).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Patch {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Config {
    /// These settings with `p` laid over them (not validated: see [`validate`](super::validate)).
    pub fn with(&self, p: &Patch) -> Config {
        let mut c = self.clone();
        for (k, v) in &p.0 {
            if let Some(s) = spec(k) {
                // Checked when the patch was read.
                let _ = (s.ops.set)(&mut c, v);
            }
        }
        c
    }

    /// The editable settings whose value differs between `self` and `other`.
    pub fn differences(&self, other: &Config, apply: Apply) -> Vec<&'static str> {
        SPECS
            .iter()
            .filter(|s| s.meta.apply == apply && (s.ops.get)(self) != (s.ops.get)(other))
            .map(|s| s.key)
            .collect()
    }
}

/// Where `s`'s group comes in a form: the place of its group in [`GROUPS`].
fn group_rank(s: &Spec) -> usize {
    GROUPS
        .iter()
        .position(|g| *g == s.meta.group)
        .unwrap_or(GROUPS.len())
}

/// The JSON schema of the editable settings, annotated for forms: `title` (the
/// label), `description` (the help), `default`, bounds, and `x-apply` (live or
/// restart), `x-group`, `x-step`, `x-unit`, `x-scope`, `x-env`, with `x-order`
/// listing the fields in the table's order.
pub fn schema() -> Json {
    let defaults = Config::default();
    let mut editable: Vec<&Spec> = SPECS.iter().filter(|s| s.meta.apply.editable()).collect();
    editable.sort_by_key(|s| group_rank(s));
    let mut props = serde_json::Map::new();
    for s in &editable {
        let m = &s.meta;
        let mut p = (s.ops.schema)();
        let o = p.as_object_mut().expect("a schema is an object");
        o.insert("title".into(), json!(m.label));
        o.insert("description".into(), json!(s.help));
        o.insert("default".into(), (s.ops.get)(&defaults));
        if let Some(v) = m.min {
            o.insert("minimum".into(), json!(v));
        }
        if let Some(v) = m.max {
            o.insert("maximum".into(), json!(v));
        }
        if let Some(v) = m.multiple {
            o.insert("multipleOf".into(), json!(v));
        }
        if let Some(v) = m.step {
            o.insert("x-step".into(), json!(v));
        }
        if !m.unit.is_empty() {
            o.insert("x-unit".into(), json!(m.unit));
        }
        o.insert("x-apply".into(), json!(m.apply.name()));
        o.insert("x-group".into(), json!(m.group));
        o.insert("x-scope".into(), json!(s.section.scope()));
        o.insert("x-env".into(), json!(s.var()));
        props.insert(s.key.into(), p);
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Settings",
        "type": "object",
        "additionalProperties": false,
        "properties": props,
        "x-order": editable.iter().map(|s| s.key).collect::<Vec<_>>(),
    })
}
