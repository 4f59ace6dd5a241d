//! The relative links of the README and `docs/*.md`: each must name a file of the
//! repository and, when it has a `#anchor` into a Markdown file, a heading of that
//! file. Anchors follow GitHub's rule ([`anchor`]). Links to other sites (`http://`,
//! `https://`, `mailto:`) are not fetched; links inside code are not links.

use std::path::Path;

/// The anchor GitHub gives a heading (a repeated heading gets `-1`, `-2`…, see
/// [`anchors`]): the one rule the generated API page's table of contents follows.
pub use crate::http::api_docs::anchor;

/// `text` without its code: fenced blocks and inline code spans become spaces,
/// lines kept, so a link's line number stays right and code is never read as one.
fn prose(text: &str) -> String {
    blank_code_spans(&without_fences(text))
}

/// `text` with its fenced code blocks as spaces, lines kept.
fn without_fences(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut fence: Option<String> = None;
    for line in text.split_inclusive('\n') {
        let lead = line.trim_start();
        let mark: String = lead.chars().take_while(|&c| c == '`' || c == '~').collect();
        let blank =
            |l: &str| -> String { l.chars().map(|c| if c == '\n' { c } else { ' ' }).collect() };
        match &fence {
            Some(open) => {
                if mark.len() >= open.len() && mark.starts_with(&open[..1]) {
                    fence = None;
                }
                out.push_str(&blank(line));
            }
            None if mark.len() >= 3 => {
                fence = Some(mark);
                out.push_str(&blank(line));
            }
            None => out.push_str(line),
        }
    }
    out
}

/// Inline code (a run of backticks up to the next run of the same length) as spaces.
fn blank_code_spans(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let run = |i: usize| chars[i..].iter().take_while(|&&c| c == '`').count();
    let mut out = chars.clone();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            i += 1;
            continue;
        }
        let n = run(i);
        let mut j = i + n;
        let close = loop {
            match chars[j..].iter().position(|&c| c == '`') {
                None => break None,
                Some(k) if run(j + k) == n => break Some(j + k),
                Some(k) => j += k + run(j + k),
            }
        };
        let Some(close) = close else {
            i += n;
            continue;
        };
        for c in &mut out[i..close + n] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        i = close + n;
    }
    out.into_iter().collect()
}

/// The anchors of a Markdown text's `#` headings, in order, repeated ones
/// numbered as GitHub numbers them.
pub fn anchors(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in without_fences(text).lines() {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let title = line[hashes..].trim().trim_end_matches('#');
        // A link in a heading counts by its text.
        let title = links_as_text(title);
        let base = anchor(&title);
        let seen = out
            .iter()
            .filter(|a| **a == base || a.strip_prefix(&format!("{base}-")).is_some_and(is_number))
            .count();
        out.push(if seen == 0 {
            base
        } else {
            format!("{base}-{seen}")
        });
    }
    out
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit())
}

/// `[text](target)` as `text`.
fn links_as_text(s: &str) -> String {
    let mut out = s.to_string();
    while let Some(mid) = out.find("](") {
        let (Some(open), Some(close)) = (out[..mid].rfind('['), out[mid..].find(')')) else {
            break;
        };
        out = format!(
            "{}{}{}",
            &out[..open],
            &out[open + 1..mid],
            &out[mid + close + 1..]
        );
    }
    out
}

/// Every link target of a Markdown text, with its line: inline links and images
/// (`[text](target "title")`) and reference definitions (`[name]: target`).
pub fn links(text: &str) -> Vec<(usize, String)> {
    let text = prose(text);
    let line_of = |at: usize| text[..at].matches('\n').count() + 1;
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(k) = text[from..].find("](") {
        let start = from + k + 2;
        let mut depth = 1;
        let end = text[start..].char_indices().find_map(|(i, c)| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                '\n' => return Some(None),
                _ => {}
            }
            (depth == 0).then_some(Some(start + i))
        });
        from = start;
        if let Some(Some(end)) = end {
            out.push((line_of(start), target(&text[start..end])));
            from = end;
        }
    }
    for (i, line) in text.lines().enumerate() {
        let l = line.trim_start();
        if l.starts_with('[')
            && let Some((_, rest)) = l.split_once("]: ")
            && !l.starts_with("[^")
        {
            out.push((i + 1, target(rest)));
        }
    }
    // Stable: links of a line stay in the order they are written.
    out.sort_by_key(|(line, _)| *line);
    out
}

/// The target of a link's parentheses: without `<…>` and without a title.
fn target(inside: &str) -> String {
    let t = inside.trim();
    if let Some(rest) = t.strip_prefix('<') {
        return rest.split('>').next().unwrap_or("").to_string();
    }
    t.split_whitespace().next().unwrap_or("").to_string()
}

/// `target` seen from the folder `dir` (relative to the repository's root, `""` for
/// the root), as a path from the root; `None` when it climbs out of the repository.
fn resolve(dir: &str, target: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    if target.starts_with('/') {
        parts.clear();
    }
    for p in target.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Why a link of `file` to `link` is broken, if it is. `lookup` gives a file of the
/// repository by its path from the root: its text (empty for a folder), `None`
/// when it does not exist.
fn broken(file: &str, link: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    if link.is_empty() {
        return Some("an empty link".into());
    }
    if link.contains("://") || link.starts_with("mailto:") {
        return None;
    }
    let (path, fragment) = link.split_once('#').unwrap_or((link, ""));
    let dir = file.rsplit_once('/').map_or("", |(d, _)| d);
    let to = if path.is_empty() {
        file.to_string()
    } else {
        match resolve(dir, path) {
            Some(to) => to,
            None => return Some("outside the repository".into()),
        }
    };
    let Some(text) = lookup(&to) else {
        return Some(format!("no file {to}"));
    };
    let markdown = to.to_lowercase().ends_with(".md");
    if fragment.is_empty() || !markdown || anchors(&text).iter().any(|a| a == fragment) {
        return None;
    }
    Some(format!("no heading #{fragment} in {to}"))
}

/// Every broken relative link of `sources` (path from the root, text), as
/// "file:line: link (why)".
pub fn broken_links(
    sources: &[(String, String)],
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (file, text) in sources {
        for (line, link) in links(text) {
            if let Some(why) = broken(file, &link, lookup) {
                out.push(format!("{file}:{line}: {link} ({why})"));
            }
        }
    }
    out
}

/// The README and every `docs/*.md` of the repository at `root`, by path from the
/// root, in order.
pub fn documents(root: &Path) -> Vec<(String, String)> {
    let mut names = vec!["README.md".to_string()];
    let mut docs: Vec<String> = std::fs::read_dir(root.join("docs"))
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".md"))
                .map(|n| format!("docs/{n}"))
                .collect()
        })
        .unwrap_or_default();
    docs.sort();
    names.extend(docs);
    names
        .into_iter()
        .map(|n| {
            let text = std::fs::read_to_string(root.join(&n)).unwrap_or_default();
            (n, text)
        })
        .collect()
}

/// A file of the repository at `root` for [`broken_links`]: its text, empty for a
/// folder or a file that is not UTF-8.
pub fn on_disk(root: &Path, rel: &str) -> Option<String> {
    let p = root.join(rel);
    if p.is_dir() {
        return Some(String::new());
    }
    std::fs::read(p)
        .ok()
        .map(|b| String::from_utf8(b).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The README and `docs/` (docs/architecture.md, Invariants): every relative
    /// link names a file that exists and, into Markdown, a heading it has.
    #[test]
    fn every_relative_link_of_the_readme_and_docs_resolves() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let docs = documents(root);
        let names: Vec<&str> = docs.iter().map(|(n, _)| n.as_str()).collect();
        assert!(docs.len() >= 5, "README.md and docs/ read: {names:?}");
        let bad = broken_links(&docs, &|rel| on_disk(root, rel));
        assert!(bad.is_empty(), "broken links:\n{}", bad.join("\n"));
    }

    #[test]
    fn a_missing_file_a_wrong_anchor_and_a_climb_out_are_caught_and_code_is_not_a_link() {
        let files: BTreeMap<&str, &str> = [
            (
                "README.md",
                "# Intro\n\nSee [watching](docs/watching.md#the-web-client), \
                 [x](docs/gone.md) and [y](docs/watching.md#no-such-part).\n\
                 [up](../outside.md) [here](#intro) [there](#nowhere)\n\
                 `[code](docs/gone.md)` and [web](https://example.com/x#y)\n\
                 ```\n[fenced](docs/gone.md)\n```\n[ref]: docs/gone2.md\n",
            ),
            (
                "docs/watching.md",
                "# Watching\n\n## The web client\n\n[back](../README.md#intro) \
                 [deploy](../deploy/) [same](#watching) [dup](#watching-1)\n\n\
                 ## Watching\n\n### `GET /hls/{file}`\n\n[op](#get-hlsfile)\n",
            ),
            ("deploy", ""),
        ]
        .into_iter()
        .collect();
        let sources: Vec<(String, String)> = files
            .iter()
            .filter(|(n, _)| n.ends_with(".md"))
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        let lookup = |rel: &str| files.get(rel).map(|t| t.to_string());
        assert_eq!(
            broken_links(&sources, &lookup),
            [
                "README.md:3: docs/gone.md (no file docs/gone.md)",
                "README.md:3: docs/watching.md#no-such-part (no heading #no-such-part in docs/watching.md)",
                "README.md:4: ../outside.md (outside the repository)",
                "README.md:4: #nowhere (no heading #nowhere in README.md)",
                "README.md:9: docs/gone2.md (no file docs/gone2.md)",
            ]
        );
    }

    #[test]
    fn anchors_follow_githubs_rule() {
        assert_eq!(
            anchor("Live TV in Plex, Jellyfin and Emby"),
            "live-tv-in-plex-jellyfin-and-emby"
        );
        assert_eq!(anchor("`GET /api/chunks/{id}`"), "get-apichunksid");
        assert_eq!(anchor("Stopping, and logs"), "stopping-and-logs");
        assert_eq!(anchor("TV mode: the_remote"), "tv-mode-the_remote");
        assert_eq!(
            anchors("# A\n## A\n```\n# not a heading\n```\n### A\n#nope\n## [Linked](x.md) b\n"),
            ["a", "a-1", "a-2", "linked-b"]
        );
    }
}
