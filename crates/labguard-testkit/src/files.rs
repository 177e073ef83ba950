//! Paths and bytes: what a test looks for on disk.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A path as the `&str` a command line takes.
pub fn d(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Every byte of every file under `dir`.
pub fn all_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(all_bytes(&p));
        } else {
            out.extend(std::fs::read(&p).expect("read file"));
        }
    }
    out
}

pub fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// An age identity made by `age-keygen` in `dir`: (its file, its public recipient).
pub fn age_key(dir: &Path) -> (PathBuf, String) {
    let key = dir.join("backup-key.txt");
    let o = Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .output()
        .expect("age-keygen (Debian package age)");
    assert!(o.status.success());
    let o = Command::new("age-keygen")
        .arg("-y")
        .arg(&key)
        .output()
        .unwrap();
    (key, String::from_utf8(o.stdout).unwrap().trim().to_string())
}
