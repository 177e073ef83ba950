//! labguard's architecture test. The layering ARCHITECTURE.md describes (pure crates do no
//! I/O, only the HTTPS edge knows HTTP, only the store sees the backend and appends audit
//! entries) is checked by `tests::workspace_keeps_its_layers` against `cargo metadata` and
//! the crates' sources, so `cargo test --workspace` fails when a change breaks it.
//!
//! The rules are plain functions (`rules`) with tests that break each one on purpose.

pub mod metadata;
pub mod rules;
pub mod source;

use std::path::{Path, PathBuf};
use std::process::Command;

use metadata::Package;
use rules::SourceFile;

/// The workspace's packages, from `cargo metadata --format-version 1 --no-deps` run in `root`.
pub fn workspace_packages(root: &Path) -> Result<Vec<Package>, String> {
    // Cargo sets CARGO for the processes it runs, so this is the toolchain under test.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| format!("running cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    metadata::parse(&String::from_utf8_lossy(&out.stdout))
}

/// Every `.rs` file under each package's `src/`, but out-of-line `#[cfg(test)]` modules,
/// with paths relative to `root`.
pub fn workspace_sources(root: &Path, packages: &[Package]) -> Result<Vec<SourceFile>, String> {
    let mut files = vec![];
    for p in packages {
        let mut paths = vec![];
        rs_files(&Path::new(&p.dir).join("src"), &mut paths)?;
        let mut texts = vec![];
        for path in paths {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
            texts.push((path, text));
        }
        let test_files: Vec<PathBuf> = texts
            .iter()
            .flat_map(|(path, text)| source::test_module_files(path, text))
            .collect();
        for (path, text) in texts {
            if test_files.contains(&path) {
                continue;
            }
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            files.push(SourceFile {
                krate: p.name.clone(),
                path: rel,
                text,
            });
        }
    }
    Ok(files)
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        // A package without src/ (none today) has no sources to check.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("reading {}: {e}", dir.display())),
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("reading {}: {e}", dir.display()))?;
    paths.sort();
    for path in paths {
        if path.is_dir() {
            rs_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// Every rule over the workspace at `root`.
pub fn check_workspace(root: &Path) -> Result<Vec<rules::Violation>, String> {
    let root = root
        .canonicalize()
        .map_err(|e| format!("{}: {e}", root.display()))?;
    let packages = workspace_packages(&root)?;
    let files = workspace_sources(&root, &packages)?;
    let exceptions: Vec<(&str, &str)> = rules::PURE_EXCEPTIONS
        .iter()
        .map(|(file, what, _why)| (*file, *what))
        .collect();
    let mut v = rules::pure_present(&packages);
    v.extend(rules::pure_deps(&packages));
    v.extend(rules::http_stack(&packages));
    v.extend(rules::pure_sources(&files, &exceptions));
    v.extend(rules::store_boundary(&files, rules::KNOWN_VIOLATIONS));
    Ok(v)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    #[test]
    fn workspace_keeps_its_layers() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let violations = super::check_workspace(&root).unwrap();
        let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
        assert!(
            list.is_empty(),
            "the workspace breaks the layering of ARCHITECTURE.md \
             (rules and their allow-lists: crates/labguard-arch/src/rules.rs):\n  {}",
            list.join("\n  ")
        );
    }
}
