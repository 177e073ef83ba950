//! Every transparency-dev/merkle proof vector in `testdata/merkle/` must verify
//! exactly when `wantErr` is false.

use std::fs;
use std::path::{Path, PathBuf};

use labguard_audit::{verify_proof_json, ProofKind};

fn vector_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read testdata dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            vector_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

#[test]
fn all_corpus_vectors_agree_with_want_err() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/merkle");
    let mut files = Vec::new();
    vector_files(&root, &mut files);
    files.sort();
    assert!(
        files.len() > 80,
        "expected the full vector set, found {} files",
        files.len()
    );

    let (mut accepted, mut rejected) = (0, 0);
    for path in &files {
        let text = fs::read_to_string(path).expect("read vector");
        let meta: serde_json::Value = serde_json::from_str(&text).expect("vector is JSON");
        let want_err = meta["wantErr"].as_bool().unwrap_or(false);
        let result = verify_proof_json(&text);
        assert_eq!(
            result.is_err(),
            want_err,
            "{}: wantErr={want_err}, got {result:?}",
            path.display()
        );
        if let Ok(kind) = result {
            let in_inclusion_dir = path.components().any(|c| c.as_os_str() == "inclusion");
            assert_eq!(
                matches!(kind, ProofKind::Inclusion { .. }),
                in_inclusion_dir,
                "{}",
                path.display()
            );
            accepted += 1;
        } else {
            rejected += 1;
        }
    }
    // Each of the six vector directories has one happy path.
    assert_eq!(accepted, 6);
    assert_eq!(accepted + rejected, files.len());
}
