//! The machinery of the settings table: what a declaration says ([`Spec`]: its
//! [`Section`], when a change [`Apply`]s, its [`Meta`] and what its type gives,
//! [`Ops`]) and the [`declare!`] macro that turns the table's rows into the typed
//! sections and the list of declarations.
//!
//! It is generic over the configuration `C` the table generates, so that it does
//! not depend on the table (`table.rs` names `Spec<Config>` simply [`Spec`]).

use std::path::PathBuf;

use serde_json::Value as Json;

/// Which part of the configuration a setting belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The process: folders, listening, jobs, logs, integrations.
    Server,
    /// The output profile every clip of every channel is encoded to.
    Output,
    /// What a channel airs and how: sources, music, clip lengths, chunks, look.
    /// Per channel; these are the defaults of every channel.
    Channel,
    /// Tokens.
    Security,
}

impl Section {
    /// `server` or `channel`: whether the setting can differ between channels.
    pub fn scope(self) -> &'static str {
        match self {
            Section::Channel => "channel",
            _ => "server",
        }
    }
}

/// When a changed setting takes effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Apply {
    /// Editable through the API; applies to the next clip or chunk.
    Live,
    /// Editable through the API; applies at the next start.
    Restart,
    /// Set by flag, environment or `.env` only.
    Start,
}

impl Apply {
    /// Whether the API may change it.
    pub fn editable(self) -> bool {
        self != Apply::Start
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Apply::Live => "live",
            Apply::Restart => "restart",
            Apply::Start => "start",
        }
    }
}

/// What is wrong with a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Out of range or malformed, with why in words.
    Reason(String),
    /// A folder setting names something that is not a folder.
    MissingFolder(PathBuf),
}

impl From<String> for Problem {
    fn from(s: String) -> Self {
        Problem::Reason(s)
    }
}

/// A rule beyond the bounds of one setting, which may look at others.
pub type Rule<C> = fn(&C) -> Result<(), Problem>;

/// The declared facts of a setting other than its name, type and default; the
/// table gives the ones that differ from [`Meta::BASE`].
#[derive(Debug)]
pub struct Meta<C: 'static> {
    /// Environment variables, in order of precedence (the first is the one to use).
    pub env: &'static [&'static str],
    /// The long flag, without `--`; none for a setting read from the environment only.
    pub flag: Option<&'static str>,
    /// The placeholder of the flag's value in `--help`.
    pub value_name: &'static str,
    /// When a change applies.
    pub apply: Apply,
    /// Short label of the web form (editable settings).
    pub label: &'static str,
    /// Group of the web form and of `.env.example`.
    pub group: &'static str,
    /// Smallest value (numbers).
    pub min: Option<f64>,
    /// Largest value (numbers).
    pub max: Option<f64>,
    /// Values must be a multiple of this (numbers).
    pub multiple: Option<f64>,
    /// Step of the web form's number field.
    pub step: Option<f64>,
    /// Unit, in words, as messages say it (`seconds`).
    pub unit: &'static str,
    /// An example value for `.env.example`, where the default is nothing.
    pub example: Option<&'static str>,
    /// How the default reads where it is not a value (`demo library`).
    pub default_text: Option<&'static str>,
    /// Never shown: values are hidden in errors and never on the wire.
    pub secret: bool,
    /// A rule beyond the bounds, which may look at other settings.
    pub check: Option<Rule<C>>,
}

// By hand: derived, they would ask `C` to be `Copy` too.
impl<C> Clone for Meta<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for Meta<C> {}

impl<C> Meta<C> {
    /// What a declaration does not say.
    pub const BASE: Meta<C> = Meta {
        env: &[],
        flag: None,
        value_name: "VALUE",
        apply: Apply::Start,
        label: "",
        group: "",
        min: None,
        max: None,
        multiple: None,
        step: None,
        unit: "",
        example: None,
        default_text: None,
        secret: false,
        check: None,
    };
}

/// What the table derives for each setting from its type.
pub struct Ops<C: 'static> {
    /// The default, as text.
    pub default_text: fn() -> String,
    /// The JSON schema of the type.
    pub schema: fn() -> Json,
    /// Read from several values (a repeated flag).
    pub list: bool,
    /// A number.
    pub number: bool,
    /// Sets the value from a variable's text.
    pub parse: fn(&mut C, &str) -> Result<(), String>,
    /// Sets the value from a flag's values.
    pub parse_flags: fn(&mut C, &[String]) -> Result<(), String>,
    /// The value on the wire.
    pub get: fn(&C) -> Json,
    /// Sets the value from the wire.
    pub set: fn(&mut C, &Json) -> Result<(), String>,
    /// The value as a number, for bounds.
    pub value: fn(&C) -> Option<f64>,
    /// The value as text (for messages).
    pub text: fn(&C) -> String,
}

impl<C> Clone for Ops<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for Ops<C> {}

/// One setting's declaration.
pub struct Spec<C: 'static> {
    /// The name on the wire, in stored overrides and in channel files (`clip_min`).
    pub key: &'static str,
    /// The section, hence the scope.
    pub section: Section,
    /// One line of help.
    pub help: &'static str,
    /// Everything else declared.
    pub meta: Meta<C>,
    /// What its type gives.
    pub ops: Ops<C>,
}

impl<C> Clone for Spec<C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for Spec<C> {}

impl<C> std::fmt::Debug for Spec<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key)
    }
}

impl<C> Spec<C> {
    /// The variable a user sets it with.
    pub fn var(&self) -> &'static str {
        self.meta.env.first().copied().unwrap_or(self.key)
    }

    /// The default as a reader sees it.
    pub fn default_display(&self) -> String {
        match self.meta.default_text {
            Some(t) => t.to_string(),
            None => Some((self.ops.default_text)())
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "none".into()),
        }
    }

    /// Checks the bounds and the rule of this setting in `c`.
    pub fn check(&self, c: &C) -> Result<(), Problem> {
        let m = &self.meta;
        if let Some(v) = (self.ops.value)(c) {
            let in_range = m.min.is_none_or(|min| v >= min) && m.max.is_none_or(|max| v <= max);
            let multiple = m.multiple.is_none_or(|k| (v / k).fract() == 0.0);
            if !(in_range && multiple) {
                return Err(Problem::Reason(self.bounds_text()));
            }
        }
        match m.check {
            Some(rule) => rule(c),
            None => Ok(()),
        }
    }

    /// The bounds in words: "must be between 1 and 16", "must be at least 0.5 seconds".
    pub(super) fn bounds_text(&self) -> String {
        let m = &self.meta;
        let unit = if m.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", m.unit)
        };
        let range = match (m.min, m.max) {
            (Some(a), Some(b)) => format!("between {a} and {b}{unit}"),
            (Some(a), None) => format!("at least {a}{unit}"),
            (None, Some(b)) => format!("at most {b}{unit}"),
            (None, None) => String::new(),
        };
        match m.multiple {
            Some(2.0) => format!("must be an even number {range}"),
            Some(k) => format!("must be a multiple of {k} {range}"),
            None => format!("must be {range}"),
        }
    }
}

/// Declares every setting: one struct per section with its defaults, `Config`
/// (a field per section) and `SPECS` (every declaration, in the order of the
/// rows). Each row is `field: Type = default, "help" { meta fields }`, the meta
/// fields those of [`Meta`] that differ from [`Meta::BASE`]; they are read where
/// the macro is used (`table.rs`), so a rule there names what is in scope there.
macro_rules! declare {
    ($(
        $(#[doc = $sdoc:literal])*
        $Section:ident $section:ident ($Kind:ident) {
            $(
                $field:ident : $ty:ty = $default:expr, $help:literal
                { $($key:ident : $val:expr),* $(,)? }
            )*
        }
    )*) => {
        $(
            $(#[doc = $sdoc])*
            #[derive(Clone, Debug)]
            pub struct $Section {
                $( #[doc = $help] pub $field: $ty, )*
            }

            impl Default for $Section {
                fn default() -> Self {
                    Self { $( $field: $default, )* }
                }
            }
        )*

        /// Every setting, resolved and validated, in typed sections.
        #[derive(Clone, Debug, Default)]
        pub struct Config {
            $( $(#[doc = $sdoc])* pub $section: $Section, )*
        }

        /// Every setting's declaration, in the order of the table.
        pub static SPECS: &[$crate::settings::spec::Spec<Config>] = &[$($(
            $crate::settings::spec::Spec {
                key: stringify!($field),
                section: $crate::settings::spec::Section::$Kind,
                help: $help,
                meta: $crate::settings::spec::Meta {
                    $($key: $val,)* ..$crate::settings::spec::Meta::BASE
                },
                ops: $crate::settings::spec::Ops {
                    default_text: || <$ty as $crate::settings::kinds::Kind>::text(&$default),
                    schema: <$ty as $crate::settings::kinds::Kind>::schema,
                    list: <$ty as $crate::settings::kinds::Kind>::LIST,
                    number: <$ty as $crate::settings::kinds::Kind>::NUMBER,
                    parse: |c, t| { c.$section.$field = <$ty as $crate::settings::kinds::Kind>::parse(t)?; Ok(()) },
                    parse_flags: |c, t| { c.$section.$field = <$ty as $crate::settings::kinds::Kind>::parse_all(t)?; Ok(()) },
                    get: |c| <$ty as $crate::settings::kinds::Kind>::to_json(&c.$section.$field),
                    set: |c, v| { c.$section.$field = <$ty as $crate::settings::kinds::Kind>::from_json(v)?; Ok(()) },
                    value: |c| <$ty as $crate::settings::kinds::Kind>::number(&c.$section.$field),
                    text: |c| <$ty as $crate::settings::kinds::Kind>::text(&c.$section.$field),
                },
            },
        )*)*];
    };
}

pub(super) use declare;
