//! Generated documents kept in the repository: the tests of each generator
//! (`settings::docs`, `http::api_docs`) compare what it makes with the file, and
//! fail naming the file when it is stale; with `SHUFFLECAST_BLESS` set they write
//! it instead. A generated part of a hand-written file lies between two marker
//! lines, `<what>: begin` and `<what>: end` (in a comment of the file's syntax:
//! `<!-- … -->` in Markdown, `# …` in YAML), which [`splice`] keeps.

use std::path::Path;

/// Replaces what lies between the marker lines `<what>: begin` and `<what>: end`
/// of `text` with `body`; `None` when a marker is missing.
pub fn splice(text: &str, what: &str, body: &str) -> Option<String> {
    let (begin, end) = (format!("{what}: begin"), format!("{what}: end"));
    let b = text.find(&begin)?;
    let b = b + text[b..].find('\n')? + 1;
    let e = text[b..].find(&end)? + b;
    let e = text[..e].rfind('\n').map_or(b, |i| i + 1);
    Some(format!("{}{}{}", &text[..b], body, &text[e..]))
}

/// Compares `file` (relative to the crate root) with what it should be, `want` of
/// what it holds now; with SHUFFLECAST_BLESS set, writes it. Returns the file's
/// name when it is stale (and not written).
pub fn check(file: &str, want: impl Fn(&str) -> String) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splicing_keeps_the_markers() {
        let what = "generated from the settings table";
        let t = "a\n<!-- generated from the settings table: begin -->\nold\n<!-- generated from the settings table: end -->\nz\n";
        assert_eq!(
            splice(t, what, "new\n").unwrap(),
            "a\n<!-- generated from the settings table: begin -->\nnew\n<!-- generated from the settings table: end -->\nz\n"
        );
        assert_eq!(splice("a\nb\n", what, "new\n"), None);
    }
}
