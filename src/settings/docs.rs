//! The documents derived from the settings table: `.env.example`, the table of
//! every setting in `docs/settings.md` and the compose file's `environment:` block.
//! Each is generated here; a test compares them with the files in the repository
//! and fails when one is stale (`SHUFFLECAST_BLESS=1 cargo test --lib
//! settings::docs` rewrites them; the splicing is `testkit::generated`'s).

use super::spec::Apply;
use super::table::{GROUPS, SPECS, Spec};

/// `.env.example`: every setting, commented out, with its help and default.
pub fn env_example() -> String {
    let mut out = String::from(
        "# shufflecast settings. Copy to .env in the folder you start shufflecast from.\n\
         # Command-line flags beat environment variables, which beat this file.\n\
         # Names are the original tool's, so an existing .env keeps working.\n\
         # Every setting explained: docs/settings.md.\n\
         # Generated from the settings table (src/settings/table.rs): do not edit by hand.\n",
    );
    for group in GROUPS {
        out.push_str(&format!("\n# ---- {group} ----\n"));
        for s in SPECS.iter().filter(|s| s.meta.group == *group) {
            let mut text = format!("{}.", s.help);
            let also = &s.meta.env[1..];
            if !also.is_empty() {
                text.push_str(&format!(" Also read as {}.", also.join(", ")));
            }
            text.push_str(&format!(" Default: {}.", s.default_display()));
            match s.meta.apply {
                Apply::Live => text.push_str(" Changeable in the web client (live)."),
                Apply::Restart => {
                    text.push_str(" Changeable in the web client (at the next start).")
                }
                Apply::Start => {}
            }
            out.push('\n');
            out.push_str(&comment(&text, 80));
            let value = s.meta.example.map(str::to_string).unwrap_or_else(|| {
                if s.meta.default_text.is_some() {
                    String::new()
                } else {
                    (s.ops.default_text)()
                }
            });
            out.push_str(&format!("#{}={value}\n", s.var()));
        }
    }
    out
}

/// `text` as `# ` comment lines of at most `width` characters (words kept whole).
fn comment(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() + 1 + word.len() > width && line.len() > 1 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

fn flag_cell(s: &Spec) -> String {
    match s.meta.flag {
        Some(f) if s.ops.list => format!("`--{f} {}` (repeatable)", s.meta.value_name),
        Some(f) => format!("`--{f} {}`", s.meta.value_name),
        None => String::new(),
    }
}

/// The table of `docs/settings.md`: flag, variables, default, scope, when a change
/// applies, meaning.
pub fn settings_table() -> String {
    let mut out = String::from(
        "| flag | variable | default | scope | change | meaning |\n|---|---|---|---|---|---|\n",
    );
    for group in GROUPS {
        for s in SPECS.iter().filter(|s| s.meta.group == *group) {
            let vars: Vec<String> = s.meta.env.iter().map(|v| format!("`{v}`")).collect();
            let change = match s.meta.apply {
                Apply::Live => "live",
                Apply::Restart => "next start",
                Apply::Start => "",
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                flag_cell(s),
                vars.join(" or "),
                s.default_display().replace('|', "\\|"),
                s.section.scope(),
                change,
                s.help.replace('|', "\\|"),
            ));
        }
    }
    out
}

/// Folders are volumes in the compose file, not variables.
const COMPOSE_VOLUMES: &[&str] = &["videos", "audio", "data", "listen", "port", "web_dir"];

/// The compose file's `environment:` entries: every setting passed through with its
/// default (empty: unset, to shufflecast).
pub fn compose_environment() -> String {
    let mut out = String::new();
    for s in SPECS.iter().filter(|s| !COMPOSE_VOLUMES.contains(&s.key)) {
        let default = if s.meta.default_text.is_some() || s.meta.secret {
            String::new()
        } else {
            (s.ops.default_text)()
        };
        out.push_str(&format!(
            "      {var}: \"${{{var}:-{default}}}\"\n",
            var = s.var()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::generated::{check, splice};

    const MARKERS: &str = "generated from the settings table";

    #[test]
    fn generated_documents_are_up_to_date() {
        let stale: Vec<String> = [
            check(".env.example", |_| env_example()),
            check("docs/settings.md", |have| {
                splice(have, MARKERS, &settings_table())
                    .expect("docs/settings.md has the settings markers")
            }),
            check("docker-compose.yml", |have| {
                splice(have, MARKERS, &compose_environment())
                    .expect("docker-compose.yml has the settings markers")
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        assert!(
            stale.is_empty(),
            "{} stale: regenerate with `SHUFFLECAST_BLESS=1 cargo test --lib settings::docs`",
            stale.join(", ")
        );
    }
}
