//! shufflecast: a never-ending TV channel from a folder of videos.
//!
//! # Layout
//!
//! Data flows one way: video folders → [`library`] (what is there) → [`schedule`]
//! (what to cut next) → [`transcode`] (ffmpeg encodes clips once, ahead of time, to
//! one output profile) → [`channel`] (our splicer re-stamps the clips' access units
//! onto one continuous timeline, muxes the music bed in, and cuts HLS segments) →
//! [`http`] (playlist and segments to viewers).
//!
//! - [`channels`]: what a channel is (slug, name, number, sources, settings over
//!   the server's defaults), read from a channels file or the API.
//! - [`config`]: raw flags, environment and `.env` → a validated [`config::Config`].
//! - [`media`]: pure media code: MPEG-TS mux/demux, H.264 and ADTS parsing, HLS
//!   playlists, 90 kHz timestamps. No IO, no tokio.
//! - [`transcode`]: the only module that spawns processes (ffmpeg, ffprobe).
//! - [`app`]: wires the pieces together; [`app::App`] (build, then run) is the
//!   testable entry point.
//!
//! See `docs/architecture.md` for the invariants.

#![warn(missing_docs)]

pub mod app;
pub mod clock;
pub mod config;
pub mod db;
pub mod engine;
pub mod guide;
pub mod hdhomerun;
pub mod http;
pub mod library;
pub mod lineup;
pub mod media;
pub mod schedule;
pub mod settings;
pub mod station;
pub mod stats;
pub mod system;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod transcode;

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    /// Every `.rs` file under `src/`.
    fn sources() -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        let mut files = Vec::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        assert!(files.len() > 20, "src/ found");
        files.sort();
        files
    }

    /// Rust source split into its code (comments dropped, literals blanked, line
    /// breaks kept) and its string literals, each with the line it starts on.
    fn split_source(text: &str) -> (String, Vec<(usize, String)>) {
        let c: Vec<char> = text.chars().collect();
        let (mut code, mut literals) = (String::new(), Vec::new());
        let (mut i, mut line) = (0, 1);
        let ident = |k: usize| k > 0 && (c[k - 1].is_alphanumeric() || c[k - 1] == '_');
        // Pushes c[from..to] to `code` as blanks, keeping its line breaks.
        let blank = |code: &mut String, line: &mut usize, from: usize, to: usize| {
            for &ch in &c[from..to.min(c.len())] {
                code.push(if ch == '\n' { '\n' } else { ' ' });
                *line += (ch == '\n') as usize;
            }
        };
        while i < c.len() {
            let at = |k: usize| c.get(k).copied().unwrap_or('\0');
            if c[i] == '/' && at(i + 1) == '/' {
                let end = (i..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len());
                blank(&mut code, &mut line, i, end);
                i = end;
            } else if c[i] == '/' && at(i + 1) == '*' {
                let end = (i + 2..c.len())
                    .find(|&k| c[k] == '*' && at(k + 1) == '/')
                    .map_or(c.len(), |k| k + 2);
                blank(&mut code, &mut line, i, end);
                i = end;
            } else if !ident(i) && (c[i] == 'r' || (c[i] == 'b' && at(i + 1) == 'r')) && {
                let mut k = i + 1 + (c[i] == 'b') as usize;
                while at(k) == '#' {
                    k += 1;
                }
                at(k) == '"'
            } {
                // A raw string: r"…", r#"…"#, br"…".
                let start = i + 1 + (c[i] == 'b') as usize;
                let hashes = (start..).take_while(|&k| at(k) == '#').count();
                let body = start + hashes + 1;
                let closing: String = std::iter::once('"')
                    .chain(std::iter::repeat_n('#', hashes))
                    .collect();
                let end = (body..c.len())
                    .find(|&k| {
                        c[k..]
                            .iter()
                            .take(closing.len())
                            .copied()
                            .eq(closing.chars())
                    })
                    .unwrap_or(c.len());
                literals.push((line, c[body..end].iter().collect()));
                blank(&mut code, &mut line, i, end + closing.len());
                i = end + closing.len();
            } else if c[i] == '"' {
                let mut k = i + 1;
                while k < c.len() && c[k] != '"' {
                    k += if c[k] == '\\' { 2 } else { 1 };
                }
                literals.push((line, c[i + 1..k.min(c.len())].iter().collect()));
                blank(&mut code, &mut line, i, k + 1);
                i = k + 1;
            } else if c[i] == '\'' && at(i + 1) == '\\' {
                // An escaped char literal: '\n', '\'', '\u{…}'.
                let end = (i + 3..c.len()).find(|&k| c[k] == '\'').unwrap_or(c.len());
                blank(&mut code, &mut line, i, end + 1);
                i = end + 1;
            } else if c[i] == '\'' && at(i + 2) == '\'' {
                // A char literal such as '"' (else a lifetime, left as code).
                blank(&mut code, &mut line, i, i + 3);
                i += 3;
            } else {
                code.push(c[i]);
                line += (c[i] == '\n') as usize;
                i += 1;
            }
        }
        (code, literals)
    }

    /// The SQL statement a string literal holds, by its opening words (any case).
    fn sql_in(literal: &str) -> Option<&'static str> {
        let lower = literal.to_lowercase();
        let words: Vec<&str> = lower
            .split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
            .filter(|w| !w.is_empty())
            .collect();
        let pair = |a: &str, b: &[&str]| words.windows(2).any(|w| w[0] == a && b.contains(&w[1]));
        let has = |w: &str| words.contains(&w);
        let after = |a: &str, b: &str| {
            words
                .iter()
                .position(|w| *w == a)
                .is_some_and(|i| words[i + 1..].contains(&b))
        };
        [
            (after("select", "from"), concat!("SEL", "ECT")),
            (pair("insert", &["into", "or"]), "INSERT"),
            (
                words.windows(3).any(|w| w[0] == "update" && w[2] == "set"),
                "UPDATE … SET",
            ),
            (pair("delete", &["from"]), concat!("DELETE", " FROM")),
            (
                pair("create", &["table", "index", "unique", "view", "trigger"]),
                "CREATE",
            ),
            (pair("replace", &["into"]), concat!("REPLACE", " INTO")),
            (has(concat!("prag", "ma")), concat!("PRAG", "MA")),
        ]
        .into_iter()
        .find_map(|(found, what)| found.then_some(what))
    }

    /// Calls on a database connection, by name.
    const CONNECTION_CALLS: [&str; 8] = [
        ".conn()",
        ".execute(",
        ".execute_batch(",
        ".prepare(",
        ".prepare_cached(",
        ".query_row(",
        ".transaction()",
        "rusqlite",
    ];

    /// Where `text` holds SQL or a connection: (line, what), in order.
    fn sql_offences(text: &str) -> Vec<(usize, String)> {
        let (code, literals) = split_source(text);
        let mut found: Vec<(usize, String)> = literals
            .iter()
            .filter_map(|(line, lit)| {
                sql_in(lit).map(|what| (*line, format!("{what} in a string")))
            })
            .collect();
        for (i, l) in code.lines().enumerate() {
            for call in CONNECTION_CALLS.iter().filter(|c| l.contains(*c)) {
                found.push((i + 1, format!("{call} on a connection")));
            }
        }
        found.sort();
        found
    }

    #[test]
    fn sql_offences_are_found_in_strings_and_calls_not_in_comments() {
        // Built at run time, so this file's own literals hold no statement.
        let (s, f, u) = (concat!("SEL", "ECT"), "FROM", concat!("UPD", "ATE"));
        let sl = s.to_lowercase();
        let src = format!(
            "// {s} id {f} videos in a comment\n\
             /* {s} * {f} t */ let c = '\"'; let d = '\\'';\n\
             let q = \"{sl} id\n    {f} videos\";\n\
             let r = r#\"{u} videos SET x = \"1\"\"#; fn f<'a>(x: &'a str) {{}}\n\
             db.conn().execute(\"{s} 1\", []);\n\
             let e = \"{sl} an encoder\"; let ok = \"deleted from the list\";"
        );
        assert_eq!(
            sql_offences(&src),
            [
                // The string opens on line 3 and goes on to line 4.
                (3, format!("{s} in a string")),
                (5, format!("{u} … SET in a string")),
                (6, ".conn() on a connection".to_string()),
                (6, ".execute( on a connection".to_string()),
            ]
        );
    }

    /// Storage in `src/db` only (docs/architecture.md, Invariants): no module but
    /// the stores holds SQL in a string literal or calls a database connection.
    /// Fails naming each file and line. (This file's keywords are split, as in the
    /// lock test below, so that neither it nor a grep for SQL matches itself.)
    #[test]
    fn sql_only_in_src_db() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut bad = Vec::new();
        for f in sources() {
            if f.starts_with(src.join("db")) {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap();
            let rel = f.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(&f);
            for (line, what) in sql_offences(&text) {
                bad.push(format!("{}:{line}: {what}", rel.display()));
            }
        }
        assert!(
            bad.is_empty(),
            "{} SQL offences outside src/db (move them behind a store method there):\n{}",
            bad.len(),
            bad.join("\n")
        );
    }

    /// One lock policy (docs/architecture.md, Invariants): shared state is guarded by
    /// `parking_lot` locks, which do not poison, so a panic while one is held cannot
    /// make every later request panic. Fails on std's `Mutex`/`RwLock` or on
    /// unwrapping a lock anywhere in `src/`. (The patterns are split so that this
    /// file does not match itself.)
    #[test]
    fn one_lock_policy_parking_lot_everywhere() {
        let std_sync = concat!("std", "::sync");
        let banned = [
            concat!(".lock", "().unwrap"),
            concat!(".lock", "().expect"),
            concat!(".read", "().unwrap"),
            concat!(".write", "().unwrap"),
            concat!("Poison", "Error"),
            concat!("into_inner", "())"),
        ];
        let mut bad = Vec::new();
        for f in &sources() {
            let text = std::fs::read_to_string(f).unwrap();
            for (i, line) in text.lines().enumerate() {
                let code = line.trim_start();
                if code.starts_with("//") {
                    continue;
                }
                let std_lock =
                    code.contains(std_sync) && (code.contains("Mutex") || code.contains("RwLock"));
                if std_lock || banned.iter().any(|b| code.contains(b)) {
                    bad.push(format!("{}:{}: {}", f.display(), i + 1, code));
                }
            }
        }
        assert!(
            bad.is_empty(),
            "use parking_lot's Mutex/RwLock (they do not poison):\n{}",
            bad.join("\n")
        );
    }
}
