//! Every setting, declared once.
//!
//! The table (`table.rs`, rows of the `declare!` macro of `spec.rs`) gives each
//! setting its name, variables (the original tool's names kept), flag, type,
//! default, bounds, section (and so its scope: server-wide or per channel), when a
//! change applies, its rule beyond bounds (`rules.rs`) and its help. Everything
//! else is derived from it:
//!
//! - the typed [`Config`] (one struct per section) and its defaults;
//! - the command line (`config::ServeArgs`, flags and help) and the layering of
//!   flags > environment > `.env` > default, with errors naming the setting as the
//!   user wrote it (`config`);
//! - one set of validation rules ([`validate`]);
//! - the settings API (`api.rs`): the editable settings as JSON ([`view`]), a
//!   request body ([`Patch`]), a JSON schema ([`schema`]) from which the web client
//!   renders its form;
//! - the overrides saved through the API ([`stored`], versioned field by field);
//! - `.env.example`, the settings table of `docs/settings.md` and the compose file's
//!   environment ([`docs`]; a test fails when they are stale).
//!
//! The files import one another in one direction only: `cron` < `kinds` < `spec`
//! < `rules` < `table` < `api` < `stored`, `docs`.

mod api;
pub mod cron;
pub mod docs;
pub mod kinds;
mod rules;
mod spec;
pub mod stored;
mod table;
#[cfg(test)]
mod tests;

pub use api::{Invalid, Patch, Settings, restart_fields, schema, view};
pub use kinds::{Bytes, Kind, LogFormat, Slug};
pub use spec::{Apply, Problem, Section};
pub use stored::{Loaded, Stored, StoredForm, load, save, saved};
pub use table::{
    Channel, Config, Meta, Ops, Output, Rule, SPECS, Scope, Security, Server, Spec, spec, validate,
};
