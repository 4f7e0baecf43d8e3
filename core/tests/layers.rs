//! The core's modules form layers with arrows one way (ARCHITECTURE.md): a module uses only
//! modules of a lower layer. This test reads `use crate::…` / `crate::…` paths in the sources
//! (comments and doc comments aside) and fails on an arrow that points up or sideways, so a
//! module cycle cannot come back unnoticed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

/// Each module's layer; keep in step with ARCHITECTURE.md's diagram.
const LAYERS: &[(&str, u32)] = &[
    ("error", 0),
    ("secret", 0),
    ("urls", 0),
    ("time", 0),
    ("http", 1),
    ("scopes", 1),
    ("seal", 1),
    ("webhook", 1),
    ("headers", 2),
    ("config", 2),
    ("classify", 3),
    ("auth", 3),
    ("api", 3),
    ("token", 4),
    ("ratelimit", 4),
    ("session", 5),
    ("call", 6),
    ("shared", 6),
    ("pool", 7),
    ("lifecycle", 8),
];

fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_owned()
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modules_use_only_lower_layers() {
    let layer: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut seen_modules = Vec::new();
    let mut violations = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        if module == "lib" {
            continue;
        }
        let Some(&own) = layer.get(module.as_str()) else {
            panic!("module `{module}` has no layer in LAYERS (and none in ARCHITECTURE.md)");
        };
        seen_modules.push(module.clone());
        let text = std::fs::read_to_string(file).unwrap();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            let mut rest = line;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                let name: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                if name.is_empty() || name == module {
                    continue; // a root re-export (`crate::Secret`) or the module itself
                }
                match layer.get(name.as_str()) {
                    Some(&theirs) if theirs < own => {}
                    Some(&theirs) => violations.push(format!(
                        "{}: `{module}` (layer {own}) uses `{name}` (layer {theirs})",
                        file.display()
                    )),
                    None => violations.push(format!("{}: `{module}` uses unknown `crate::{name}`", file.display())),
                }
            }
        }
    }
    assert!(violations.is_empty(), "arrows must point down:\n{}", violations.join("\n"));
    for (name, _) in LAYERS {
        assert!(seen_modules.iter().any(|m| m == name), "LAYERS names `{name}`, which has no source file");
    }
}
