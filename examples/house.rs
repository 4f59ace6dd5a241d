//! The shape of the code, as figures: import cycles between files, imports that
//! do not point down the layers of `docs/architecture.md`, the biggest file, the
//! longest production function and the lines of production code.
//!
//! Run: `cargo run --example house` (this checkout), or
//!      `cargo run --example house -- /path/to/another/checkout` (any commit: the
//!      layers are read from that checkout's docs, when it states them).

use std::path::PathBuf;

use shufflecast::testkit::house::{self, Graph, Layers};

fn main() {
    let root = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let graph = Graph::read(&root);
    let cycles = graph.cycles();
    println!("files: {}", graph.files.len());
    println!(
        "import cycles between files: {} ({} files in them)",
        cycles.len(),
        cycles.iter().map(Vec::len).sum::<usize>()
    );
    for c in &cycles {
        println!("  {}", c.join(" ⇄ "));
    }
    let doc = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap_or_default();
    if doc.contains("Layers, lowest first:") {
        let bad = Layers::from_doc(&doc).offences(&graph);
        println!("imports that do not point down the layers: {}", bad.len());
        for b in &bad {
            println!("  {b}");
        }
    } else {
        println!("imports that do not point down the layers: (no layers stated in its docs)");
    }
    if let Some(big) = graph.files.iter().max_by_key(|f| f.lines) {
        println!("largest file: {} ({} lines)", big.rel, big.lines);
    }
    println!(
        "files over 900 lines: {}",
        graph.files.iter().filter(|f| f.lines > 900).count()
    );
    let long = house::long_functions(&graph.files, 0);
    if let Some((len, at)) = long.first() {
        println!("longest production function: {at} ({len} lines)");
    }
    println!(
        "production functions over 80 lines: {}",
        long.iter().filter(|(n, _)| *n > 80).count()
    );
    let code: usize = graph
        .files
        .iter()
        .map(|f| f.code.lines().filter(|l| !l.trim().is_empty()).count())
        .sum();
    println!("lines of production code (no tests, comments or blank lines): {code}");
}
