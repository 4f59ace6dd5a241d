//! shufflecast: a never-ending TV channel from a folder of videos.
//!
//! # Layout
//!
//! Data flows one way: video folders → [`library`] (what is there) → [`schedule`]
//! (what to cut next) → [`transcode`] (ffmpeg encodes clips once, ahead of time, to
//! one output profile) → [`engine`] (our splicer re-stamps the clips' access units
//! onto one continuous timeline, muxes the music bed in, and cuts HLS segments) →
//! [`http`] (playlist and segments to viewers).
//!
//! - [`lineup`]: what a channel is (slug, name, number, sources, settings over
//!   the server's defaults), read from a channels file or the API.
//! - [`station`]: every channel on air, each through its own engine.
//! - [`clip`]: the one description of an encoded clip.
//! - [`config`]: raw flags, environment and `.env` → a validated [`config::Config`].
//! - [`media`]: pure media code: MPEG-TS mux/demux, H.264 and ADTS parsing, HLS
//!   playlists, 90 kHz timestamps. No IO, no tokio.
//! - [`transcode`]: the only module that spawns processes (ffmpeg, ffprobe).
//! - [`app`]: wires the pieces together; [`app::App`] (build, then run) is the
//!   testable entry point.
//!
//! Modules sit in layers and import only from the layers below; see
//! `docs/architecture.md` for the layers and the other invariants.

#![warn(missing_docs)]

pub mod app;
pub mod clip;
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

    use crate::testkit::house::{self, Graph, Layers, split_source};

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

    /// The crate's root and its layers, as `docs/architecture.md` states them.
    fn crate_and_layers() -> (PathBuf, Layers) {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
        (root, Layers::from_doc(&doc))
    }

    /// Layers (docs/architecture.md, Invariants): a file imports only from modules
    /// of a layer below its own, and inside `http/` and `transcode/` only from
    /// files ranked below its own. Fails naming file, line, path and why.
    #[test]
    fn imports_point_down_the_layers() {
        let (root, layers) = crate_and_layers();
        assert!(layers.modules.len() >= 8, "{layers:?}");
        let bad = layers.offences(&Graph::read(&root));
        assert!(
            bad.is_empty(),
            "{} imports that do not point down the layers (move the type down, \
             or call through a trait the lower layer owns):\n{}",
            bad.len(),
            bad.join("\n")
        );
    }

    /// No import cycle between files (docs/architecture.md, Invariants), inside a
    /// folder too.
    #[test]
    fn no_import_cycle_between_files() {
        let cycles = Graph::read(Path::new(env!("CARGO_MANIFEST_DIR"))).cycles();
        let text: Vec<String> = cycles.iter().map(|c| c.join(" ⇄ ")).collect();
        assert!(
            cycles.is_empty(),
            "files that import each other:\n{}",
            text.join("\n")
        );
    }

    /// Room to read (docs/architecture.md, Invariants): no source file over 900
    /// lines (its own tests count), no production function over 80.
    #[test]
    fn no_file_over_900_lines_no_function_over_80() {
        let graph = Graph::read(Path::new(env!("CARGO_MANIFEST_DIR")));
        let mut bad: Vec<String> = graph
            .files
            .iter()
            .filter(|f| f.lines > 900)
            .map(|f| format!("{}: {} lines", f.rel, f.lines))
            .collect();
        for (len, at) in house::long_functions(&graph.files, 80) {
            bad.push(format!("{at}: {len} lines"));
        }
        assert!(bad.is_empty(), "too big to read:\n{}", bad.join("\n"));
    }

    /// The checks above catch what they are for: an import up the layers, a cycle
    /// and a long function, in a small crate written here.
    #[test]
    fn an_upward_import_a_cycle_and_a_long_function_are_caught() {
        let dir = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write("src/lib.rs", "pub mod low;\npub mod high;\n");
        write(
            "src/low/mod.rs",
            "//! Low.\npub mod a;\npub mod b;\npub use a::A;\n",
        );
        write(
            "src/low/a.rs",
            "use super::b::B;\npub struct A;\npub fn f(_: B) {}\n",
        );
        let body = "    let x = 1;\n".repeat(81);
        write(
            "src/low/b.rs",
            &format!(
                "use crate::high::H;\npub struct B;\npub fn g(_: H) {{}}\n\
                 pub fn long() {{\n{body}}}\n\
                 #[cfg(test)]\nmod tests {{\n    use crate::high::Other;\n}}\n"
            ),
        );
        write(
            "src/high.rs",
            "use crate::low::A;\npub struct H;\npub fn h(_: A) {}\n",
        );
        let layers =
            Layers::from_doc("Layers, lowest first:\n```text\n1  low\n2  high\nlow/: a < b\n```\n");
        let graph = Graph::read(dir.path());
        let bad = layers.offences(&graph);
        assert_eq!(
            bad,
            [
                "src/low/a.rs:1: super::b::B → src/low/b.rs (`low/b` is not below `low/a`)",
                "src/low/b.rs:1: crate::high::H → src/high.rs (`high` is in a higher layer than `low`)",
            ],
            "the import of the test module is not counted"
        );
        assert_eq!(
            graph.cycles(),
            [vec!["src/high.rs", "src/low/a.rs", "src/low/b.rs"]]
        );
        let long = house::long_functions(&graph.files, 80);
        assert_eq!(long, [(83, "src/low/b.rs:4 long".to_string())]);
    }
}
