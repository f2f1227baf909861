//! The runtime's layers import one way only: each file of `src/` imports (`use crate::…`)
//! only from its own layer or the layers before it, in the order `ARCHITECTURE.md` gives,
//! and never from the crate root.

use std::fs;
use std::path::Path;

/// The layers, bottom first.
const LAYERS: [&str; 11] = [
    "base", "hook", "books", "track", "view", "report", "export", "serve", "shutdown", "session",
    "seed",
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| *l == module)
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_import_points_down_or_sideways() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut wrong = Vec::new();
    for path in &all {
        let rel = path.strip_prefix(&src).unwrap();
        let first = rel.iter().next().unwrap().to_string_lossy();
        let own = first.trim_end_matches(".rs");
        if own == "lib" {
            continue;
        }
        let own_layer = layer_of(own).unwrap_or_else(|| panic!("{} is in no layer", rel.display()));
        let text = fs::read_to_string(path).unwrap();
        for (n, line) in text.lines().enumerate() {
            for (at, _) in line.match_indices("crate::") {
                if line[..at].matches('"').count() % 2 == 1 {
                    continue; // inside a string literal
                }
                if line[..at].ends_with('$') {
                    // `$crate::…` in an exported macro: a path the user's code expands to,
                    // through the public API, not an import of this file.
                    continue;
                }
                let rest = &line[at + "crate::".len()..];
                let module: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                match layer_of(&module) {
                    Some(l) if l <= own_layer => {}
                    Some(_) => {
                        wrong.push(format!("{}:{}: up into `{module}`", rel.display(), n + 1))
                    }
                    None if line.trim_start().starts_with("//") => {}
                    None => wrong.push(format!(
                        "{}:{}: crate-root item `{module}`",
                        rel.display(),
                        n + 1
                    )),
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{}",
        wrong.join("\n")
    );
}
