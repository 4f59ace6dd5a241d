//! The shape of the code, read from the sources: which file imports which, the
//! import cycles between files, imports that point up the layers, the biggest
//! files and the longest functions. The invariant tests in `src/lib.rs` and
//! `examples/house.rs` (the figures, for any checkout) both read it.
//!
//! File A imports file B when A's production code (items under `#[cfg(test)]`
//! are left out) names a path that resolves to an item defined in B: a `use`
//! line, an inline `crate::…`, `super::…` or `self::…` path, or a path through a
//! child module. A `pub use` is followed to the file that defines the item, so
//! a re-export neither hides an import nor counts as one itself.
//!
//! The layers are written once, in `docs/architecture.md` (Invariants, "Layers"),
//! and read from there ([`Layers::from_doc`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Rust source split into its code (comments dropped, literals blanked, line
/// breaks kept) and its string literals, each with the line it starts on.
pub fn split_source(text: &str) -> (String, Vec<(usize, String)>) {
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

/// `code` (from [`split_source`]) with every item under `#[cfg(test)]` (or
/// `#[cfg(any(test, …))]`) blanked, line breaks kept: the production code.
pub fn production(code: &str) -> String {
    let lines: Vec<&str> = code.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim_start();
        if !(t.starts_with("#[cfg(test)]") || t.starts_with("#[cfg(any(test")) {
            out.push(lines[i].to_string());
            i += 1;
            continue;
        }
        // Skip the attribute and the item after it: to its `;` or its closing brace.
        let mut depth = 0i32;
        let mut opened = false;
        loop {
            out.push(String::new());
            let l = lines[i];
            let body = if i == lines.len() - 1 || !l.trim_start().starts_with("#[") {
                l
            } else {
                ""
            };
            for ch in body.chars() {
                match ch {
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            i += 1;
            let ended_item = (opened && depth <= 0) || (!opened && body.trim_end().ends_with(';'));
            if ended_item || i >= lines.len() {
                break;
            }
        }
    }
    out.join("\n")
}

/// One source file of the crate.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the crate root, e.g. `src/http/wire.rs`.
    pub rel: String,
    /// Module path, e.g. `["http", "wire"]`; `[]` for `src/lib.rs`.
    pub module: Vec<String>,
    /// Every line of the file (tests included).
    pub lines: usize,
    /// The production code, from [`split_source`] and [`production`].
    pub code: String,
}

/// Every `.rs` file of the library under `root/src` (not `main.rs`, a crate of
/// its own), sorted.
pub fn source_files(root: &Path) -> Vec<SourceFile> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&root.join("src"), &mut paths);
    paths.sort();
    // Files that are a test module of their parent (`#[cfg(test)] mod tests;`).
    let mut test_only = BTreeSet::new();
    for p in &paths {
        let text = std::fs::read_to_string(p).unwrap();
        let code = split_source(&text).0;
        let lines: Vec<&str> = code.lines().map(str::trim).collect();
        let dir = if p.ends_with("mod.rs") || p.ends_with("lib.rs") {
            p.parent().unwrap().to_path_buf()
        } else {
            p.with_extension("")
        };
        for w in lines.windows(2) {
            let declared = w[1]
                .strip_prefix("mod ")
                .or_else(|| w[1].strip_prefix("pub mod "));
            if w[0].starts_with("#[cfg(test)]")
                && let Some(name) = declared.and_then(|d| d.strip_suffix(';'))
            {
                test_only.insert(dir.join(format!("{name}.rs")));
                test_only.insert(dir.join(name).join("mod.rs"));
            }
        }
    }
    paths
        .into_iter()
        .filter(|p| !p.ends_with("src/main.rs"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let test = test_only.contains(&p);
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let mut module: Vec<String> = rel
                .trim_start_matches("src/")
                .trim_end_matches(".rs")
                .split('/')
                .map(str::to_string)
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            SourceFile {
                rel,
                module,
                lines: text.lines().count(),
                code: if test {
                    String::new()
                } else {
                    production(&split_source(&text).0)
                },
            }
        })
        .collect()
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// The paths a `use` tree names, brace groups expanded, aliases dropped:
/// `crate::a::{b::C, d as e}` gives `crate::a::b::C` and `crate::a::d`.
fn expand_use(tree: &str) -> Vec<String> {
    let tree: String = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    fn go(prefix: &str, t: &str, out: &mut Vec<String>) {
        let t = t.trim();
        if let Some(open) = t.find('{') {
            let head = t[..open].trim().trim_end_matches("::");
            let inner = &t[open + 1..t.rfind('}').unwrap_or(t.len())];
            let base = join(prefix, head);
            let (mut depth, mut from) = (0, 0);
            for (i, ch) in inner.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        go(&base, &inner[from..i], out);
                        from = i + 1;
                    }
                    _ => {}
                }
            }
            go(&base, &inner[from..], out);
        } else if t == "self" {
            out.push(prefix.to_string());
        } else if !t.is_empty() {
            let t = t.split(" as ").next().unwrap().trim();
            let t = t.strip_suffix("::self").unwrap_or(t);
            out.push(join(prefix, t));
        }
    }
    fn join(a: &str, b: &str) -> String {
        match (a.is_empty(), b.is_empty()) {
            (true, _) => b.to_string(),
            (_, true) => a.to_string(),
            _ => format!("{a}::{b}"),
        }
    }
    let mut out = Vec::new();
    go("", &tree, &mut out);
    out
}

/// A `use` statement: the line it starts on, whether it is `pub`, its paths.
struct UseStmt {
    line: usize,
    public: bool,
    paths: Vec<String>,
}

fn use_statements(code: &str) -> Vec<UseStmt> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut pos = 0;
    while let Some(off) = code[pos..].find("use ") {
        let at = pos + off;
        pos = at + 4;
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
            continue;
        }
        let line_start = code[..at].rfind('\n').map_or(0, |i| i + 1);
        let lead = code[line_start..at].trim();
        let public = lead.starts_with("pub");
        if !(lead.is_empty() || lead.starts_with("pub")) {
            continue;
        }
        let Some(end) = code[at..].find(';') else {
            break;
        };
        let tree = &code[at + 4..at + end];
        out.push(UseStmt {
            line: code[..at].matches('\n').count() + 1,
            public,
            paths: expand_use(tree),
        });
        pos = at + end;
    }
    out
}

/// Names a file defines: items, and modules it declares.
fn definitions(code: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    const KINDS: [&str; 9] = [
        "struct",
        "enum",
        "fn",
        "trait",
        "type",
        "const",
        "static",
        "union",
        "macro_rules!",
    ];
    let (mut items, mut mods) = (BTreeSet::new(), BTreeSet::new());
    let words: Vec<&str> = code
        .split(|c: char| c.is_whitespace() || "(){}<>;:,&=".contains(c))
        .filter(|w| !w.is_empty())
        .collect();
    for w in words.windows(2) {
        if KINDS.contains(&w[0]) && is_ident(w[1]) {
            items.insert(w[1].to_string());
        }
    }
    for l in code.lines() {
        let t = l.trim();
        let t = t
            .strip_prefix("pub(crate) ")
            .or_else(|| t.strip_prefix("pub "))
            .unwrap_or(t);
        if let Some(rest) = t.strip_prefix("mod ") {
            let name = rest.trim_end_matches([';', '{', ' ']).trim();
            if is_ident(name) && t.ends_with(';') {
                mods.insert(name.to_string());
            }
        }
    }
    (items, mods)
}

/// One import of one file by another.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Import {
    /// The importing file (relative path).
    pub from: String,
    /// The line the path is written on.
    pub line: usize,
    /// The file the named item is defined in.
    pub to: String,
    /// The path as written (expanded from its `use` tree).
    pub path: String,
}

/// The import graph of a crate's files.
pub struct Graph {
    /// Every file.
    pub files: Vec<SourceFile>,
    /// Every import between two different files.
    pub imports: Vec<Import>,
}

struct Index<'a> {
    files: &'a [SourceFile],
    by_module: BTreeMap<Vec<String>, usize>,
    items: Vec<BTreeSet<String>>,
    reexports: Vec<BTreeMap<String, String>>,
    globs: Vec<Vec<String>>,
}

impl Index<'_> {
    /// A path written in file `f`, made absolute: (module segments, rest), or
    /// `None` for a path outside the crate.
    fn absolute(&self, f: usize, path: &str) -> Option<Vec<String>> {
        let segs: Vec<String> = path.split("::").map(|s| s.trim().to_string()).collect();
        let here = &self.files[f].module;
        let mut abs: Vec<String>;
        let mut rest = &segs[..];
        match segs.first().map(String::as_str) {
            Some("crate") => {
                abs = vec![];
                rest = &segs[1..];
            }
            Some("self") => {
                abs = here.clone();
                rest = &segs[1..];
            }
            Some("super") => {
                abs = here.clone();
                while rest.first().is_some_and(|s| s == "super") {
                    abs.pop()?;
                    rest = &rest[1..];
                }
            }
            Some(first) => {
                let mut child = here.clone();
                child.push(first.to_string());
                if !self.by_module.contains_key(&child) {
                    return None;
                }
                abs = here.clone();
            }
            None => return None,
        }
        abs.extend(rest.iter().cloned());
        Some(abs)
    }

    /// The file defining the item an absolute path names (following `pub use`).
    fn resolve(&self, abs: &[String], depth: usize) -> Option<usize> {
        let k = (0..=abs.len())
            .rev()
            .find(|&k| self.by_module.contains_key(&abs[..k]))?;
        let f = self.by_module[&abs[..k]];
        let Some(name) = abs.get(k) else {
            return Some(f);
        };
        if self.items[f].contains(name) || depth > 8 {
            return Some(f);
        }
        if let Some(target) = self.reexports[f].get(name) {
            let mut next = self.absolute(f, target)?;
            next.extend(abs[k + 1..].iter().cloned());
            return self.resolve(&next, depth + 1).or(Some(f));
        }
        // Through a glob re-export: the module that defines (or re-exports) it.
        for glob in &self.globs[f] {
            let Some(mut next) = self.absolute(f, glob) else {
                continue;
            };
            next.push(name.clone());
            if let Some(to) = self.resolve(&next, depth + 1)
                && (self.items[to].contains(name) || self.reexports[to].contains_key(name))
            {
                return Some(to);
            }
        }
        Some(f)
    }
}

/// Inline paths in code: `crate::…`, `super::…`, `self::…` and `child::…`.
fn inline_paths(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, l) in code.lines().enumerate() {
        let t = l.trim_start();
        if t.starts_with("use ") || t.starts_with("pub use ") || t.starts_with("pub(crate) use ") {
            continue;
        }
        let chars: Vec<char> = l.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let starts = (i == 0
                || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_' || chars[i - 1] == ':'))
                && (chars[i].is_alphabetic() || chars[i] == '_');
            if !starts {
                i += 1;
                continue;
            }
            let mut j = i;
            while j < chars.len()
                && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == ':')
            {
                j += 1;
            }
            let token: String = chars[i..j].iter().collect();
            let token = token.trim_end_matches(':').to_string();
            if token.contains("::") {
                out.push((n + 1, token));
            }
            i = j.max(i + 1);
        }
    }
    out
}

impl Graph {
    /// Reads the crate at `root` (the folder holding `src/`).
    pub fn read(root: &Path) -> Graph {
        let files = source_files(root);
        let by_module = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.module.clone(), i))
            .collect();
        let defs: Vec<_> = files.iter().map(|f| definitions(&f.code)).collect();
        let uses: Vec<Vec<UseStmt>> = files.iter().map(|f| use_statements(&f.code)).collect();
        let mut reexports = vec![BTreeMap::new(); files.len()];
        let mut globs = vec![Vec::new(); files.len()];
        for (i, stmts) in uses.iter().enumerate() {
            for s in stmts.iter().filter(|s| s.public) {
                for p in &s.paths {
                    match p.strip_suffix("::*") {
                        Some(module) => globs[i].push(module.to_string()),
                        None => {
                            let name = p.rsplit("::").next().unwrap().to_string();
                            reexports[i].insert(name, p.clone());
                        }
                    }
                }
            }
        }
        let index = Index {
            files: &files,
            by_module,
            items: defs.iter().map(|d| d.0.clone()).collect(),
            reexports,
            globs,
        };
        let mut imports = BTreeSet::new();
        for (i, f) in files.iter().enumerate() {
            let mut named: Vec<(usize, String)> = uses[i]
                .iter()
                .filter(|s| !s.public)
                .flat_map(|s| s.paths.iter().map(move |p| (s.line, p.clone())))
                .collect();
            named.extend(inline_paths(&f.code));
            for (line, path) in named {
                let Some(abs) = index.absolute(i, &path) else {
                    continue;
                };
                let Some(to) = index.resolve(&abs, 0) else {
                    continue;
                };
                if to != i && !is_ancestor(&files[to].module, &f.module, &path) {
                    imports.insert(Import {
                        from: f.rel.clone(),
                        line,
                        to: files[to].rel.clone(),
                        path,
                    });
                }
            }
        }
        Graph {
            files,
            imports: imports.into_iter().collect(),
        }
    }

    /// Groups of files that import each other (strongly connected, two or more).
    pub fn cycles(&self) -> Vec<Vec<String>> {
        let names: Vec<&str> = self.files.iter().map(|f| f.rel.as_str()).collect();
        let id = |s: &str| names.iter().position(|n| *n == s).unwrap();
        let mut next = vec![BTreeSet::new(); names.len()];
        for im in &self.imports {
            next[id(&im.from)].insert(id(&im.to));
        }
        let reach = |from: usize| {
            let mut seen = BTreeSet::from([from]);
            let mut todo = vec![from];
            while let Some(n) = todo.pop() {
                for &m in &next[n] {
                    if seen.insert(m) {
                        todo.push(m);
                    }
                }
            }
            seen
        };
        let reaches: Vec<BTreeSet<usize>> = (0..names.len()).map(reach).collect();
        let mut done = BTreeSet::new();
        let mut out = Vec::new();
        for a in 0..names.len() {
            if done.contains(&a) {
                continue;
            }
            let group: Vec<usize> = (0..names.len())
                .filter(|&b| reaches[a].contains(&b) && reaches[b].contains(&a))
                .collect();
            done.extend(group.iter().copied());
            if group.len() > 1 {
                out.push(group.iter().map(|&g| names[g].to_string()).collect());
            }
        }
        out
    }
}

/// A `use super::…` that names nothing but an enclosing module itself (a glob
/// of the parent, say) is no import of a file.
fn is_ancestor(to: &[String], from: &[String], path: &str) -> bool {
    path.ends_with('*') && from.starts_with(to)
}

/// The layers of the crate: top-level modules, lowest first, each importing
/// only from layers below it; and, inside the folders listed, the order of
/// their files.
#[derive(Debug, Default)]
pub struct Layers {
    /// Top-level modules by layer, lowest first.
    pub modules: Vec<Vec<String>>,
    /// For a folder (`http`), its files by rank, lowest first (`urls`, `wire`…).
    pub inside: BTreeMap<String, Vec<Vec<String>>>,
}

impl Layers {
    /// Reads the fenced block after the line `Layers, lowest first:` in a
    /// markdown text: lines `N  a b c` for the top-level modules, and lines
    /// `folder/: a < b c < d` for the order inside a folder.
    pub fn from_doc(doc: &str) -> Layers {
        let start = doc
            .find("Layers, lowest first:")
            .expect("docs/architecture.md states the layers (\"Layers, lowest first:\")");
        let block = &doc[start..];
        let open = block.find("```").unwrap() + 3;
        let body = &block[open..];
        let body = &body[body.find('\n').unwrap() + 1..body.find("```").unwrap()];
        let mut layers = Layers::default();
        for l in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some((folder, order)) = l.split_once("/:") {
                let ranks = order
                    .split('<')
                    .map(|r| r.split_whitespace().map(str::to_string).collect())
                    .collect();
                layers.inside.insert(folder.trim().to_string(), ranks);
            } else {
                let mut words = l.split_whitespace();
                words.next(); // the layer's number
                let modules: Vec<String> = words
                    .take_while(|w| !w.starts_with('('))
                    .map(str::to_string)
                    .collect();
                layers.modules.push(modules);
            }
        }
        layers
    }

    fn rank(ranks: &[Vec<String>], name: &str) -> Option<usize> {
        ranks.iter().position(|r| r.iter().any(|n| n == name))
    }

    /// Every import that does not point down: "file:line: path → file (why)".
    pub fn offences(&self, graph: &Graph) -> Vec<String> {
        let module_of = |rel: &str| -> Vec<String> {
            graph
                .files
                .iter()
                .find(|f| f.rel == rel)
                .map(|f| f.module.clone())
                .unwrap_or_default()
        };
        let mut out = Vec::new();
        for f in &graph.files {
            let top = f.module.first().map_or("lib", String::as_str);
            if top != "lib" && top != "testkit" && Self::rank(&self.modules, top).is_none() {
                out.push(format!("{}: module `{top}` is in no layer", f.rel));
            }
            if let Some(ranks) = self.inside.get(top)
                && f.module.len() >= 2
                && Self::rank(ranks, &f.module[1]).is_none()
            {
                out.push(format!(
                    "{}: file `{}` is in no rank of {top}/",
                    f.rel, f.module[1]
                ));
            }
        }
        for im in &graph.imports {
            let (a, b) = (module_of(&im.from), module_of(&im.to));
            let (ta, tb) = (
                a.first().map_or("lib", String::as_str),
                b.first().map_or("lib", String::as_str),
            );
            if ta == "lib" || ta == "testkit" {
                continue;
            }
            let why = if ta != tb {
                match (Self::rank(&self.modules, ta), Self::rank(&self.modules, tb)) {
                    (Some(x), Some(y)) if y < x => None,
                    (Some(x), Some(y)) if y == x => {
                        Some(format!("`{tb}` is in the same layer as `{ta}`"))
                    }
                    (Some(_), Some(_)) => Some(format!("`{tb}` is in a higher layer than `{ta}`")),
                    _ => Some("a module in no layer".to_string()),
                }
            } else if let Some(ranks) = self.inside.get(ta) {
                let name = |m: &[String]| m.get(1).cloned().unwrap_or_else(|| "mod".to_string());
                let (na, nb) = (name(&a), name(&b));
                match (Self::rank(ranks, &na), Self::rank(ranks, &nb)) {
                    (Some(x), Some(y)) if y < x => None,
                    (Some(_), Some(_)) if na == nb => None,
                    _ => Some(format!("`{ta}/{nb}` is not below `{ta}/{na}`")),
                }
            } else {
                None
            };
            if let Some(why) = why {
                out.push(format!(
                    "{}:{}: {} → {} ({why})",
                    im.from, im.line, im.path, im.to
                ));
            }
        }
        out
    }
}

/// A function longer than a limit: (lines, "file:line name").
pub fn long_functions(files: &[SourceFile], max: usize) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for f in files {
        let lines: Vec<&str> = f.code.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            let t = l.trim_start();
            let indent = l.len() - t.len();
            let sig = t
                .split_whitespace()
                .skip_while(|w| {
                    w.starts_with("pub") || ["const", "async", "unsafe", "extern"].contains(w)
                })
                .collect::<Vec<_>>();
            // A declaration, or a body that closes on its own line.
            if sig.first() != Some(&"fn") || t.ends_with(';') || t.ends_with('}') {
                continue;
            }
            let name: String = sig
                .get(1)
                .unwrap_or(&"")
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let end = lines[i + 1..].iter().position(|m| {
                let mt = m.trim_start();
                m.len() - mt.len() == indent && mt.starts_with('}')
            });
            if let Some(e) = end {
                let len = e + 2;
                if len > max {
                    out.push((len, format!("{}:{} {name}", f.rel, i + 1)));
                }
            }
        }
    }
    out.sort_by(|a, b| b.cmp(a));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_trees_expand() {
        assert_eq!(
            expand_use("crate::a::{b::C, d as e, f::{self, G}}"),
            [
                "crate::a::b::C",
                "crate::a::d",
                "crate::a::f",
                "crate::a::f::G"
            ]
        );
    }

    #[test]
    fn test_items_are_left_out() {
        let code = "fn a() {}\n#[cfg(test)]\nmod tests {\n    fn b() {}\n}\nfn c() {}\n#[cfg(test)]\nmod more;\nfn d() {}";
        let p = production(code);
        assert!(p.contains("fn a") && p.contains("fn c") && p.contains("fn d"));
        assert!(!p.contains("fn b") && !p.contains("more"));
        assert_eq!(p.lines().count(), code.lines().count());
    }
}
