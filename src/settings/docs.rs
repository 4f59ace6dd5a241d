//! The documents derived from the settings table: `.env.example`, the README's
//! settings table and the compose file's `environment:` block. Each is generated
//! here; a test compares them with the files in the repository and fails when one
//! is stale (`SHUFFLECAST_BLESS=1 cargo test --lib settings::docs` rewrites them).

use super::spec::Apply;
use super::table::{GROUPS, SPECS, Spec};

/// `.env.example`: every setting, commented out, with its help and default.
pub fn env_example() -> String {
    let mut out = String::from(
        "# shufflecast settings. Copy to .env in the folder you start shufflecast from.\n\
         # Command-line flags beat environment variables, which beat this file.\n\
         # Names are the original tool's, so an existing .env keeps working.\n\
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

/// The README's table: flag, variables, default, when a change applies, meaning.
pub fn readme_table() -> String {
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
    use std::path::Path;

    const BEGIN: &str = "generated from the settings table: begin";
    const END: &str = "generated from the settings table: end";

    /// Replaces what lies between the two marker lines of `text` with `body`.
    fn splice(text: &str, body: &str) -> Option<String> {
        let b = text.find(BEGIN)?;
        let b = b + text[b..].find('\n')? + 1;
        let e = text[b..].find(END)? + b;
        let e = text[..e].rfind('\n').map_or(b, |i| i + 1);
        Some(format!("{}{}{}", &text[..b], body, &text[e..]))
    }

    /// Compares `file` with what it should be; with SHUFFLECAST_BLESS set, writes it.
    fn check(file: &str, want: impl Fn(&str) -> String) -> Option<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        let want = want(&have);
        if have == want {
            return None;
        }
        if std::env::var_os("SHUFFLECAST_BLESS").is_some() {
            std::fs::write(&path, &want).unwrap();
            return None;
        }
        Some(file.to_string())
    }

    #[test]
    fn generated_documents_are_up_to_date() {
        let stale: Vec<String> = [
            check(".env.example", |_| env_example()),
            check("README.md", |have| {
                splice(have, &readme_table()).expect("README.md has the settings markers")
            }),
            check("docker-compose.yml", |have| {
                splice(have, &compose_environment())
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

    #[test]
    fn splicing_keeps_the_markers() {
        let t = "a\n<!-- generated from the settings table: begin -->\nold\n<!-- generated from the settings table: end -->\nz\n";
        assert_eq!(
            splice(t, "new\n").unwrap(),
            "a\n<!-- generated from the settings table: begin -->\nnew\n<!-- generated from the settings table: end -->\nz\n"
        );
    }
}
