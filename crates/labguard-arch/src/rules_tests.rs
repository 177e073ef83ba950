//! Each rule broken on purpose, on fake metadata and fake sources: the checks can fail.

use super::*;
use crate::metadata::parse;

/// A fake package: its name and its dependencies with their `kind` (None: normal).
type Fake<'a> = (&'a str, &'a [(&'a str, Option<&'a str>)]);

/// `cargo metadata` JSON for fake packages, parsed.
fn metadata(packages: &[Fake]) -> Vec<Package> {
    let packages: Vec<serde_json::Value> = packages
        .iter()
        .map(|(name, deps)| {
            serde_json::json!({
                "name": name,
                "manifest_path": format!("/ws/crates/{name}/Cargo.toml"),
                "dependencies": deps.iter().map(|(d, kind)| serde_json::json!({
                    "name": d, "kind": kind, "req": "*",
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let json = serde_json::json!({ "packages": packages, "workspace_members": [] });
    parse(&json.to_string()).unwrap()
}

/// The real pure crates with harmless dependencies, plus `extra`.
fn workspace_with(extra: Fake) -> Vec<Package> {
    let mut all: Vec<Fake> = PURE
        .iter()
        .map(|n| (*n, &[("serde", None), ("labguard-core", None)][..]))
        .filter(|(n, _)| *n != extra.0)
        .collect();
    all.push(extra);
    metadata(&all)
}

fn file(krate: &str, path: &str, text: &str) -> SourceFile {
    SourceFile {
        krate: krate.into(),
        path: path.into(),
        text: text.into(),
    }
}

#[test]
fn clean_metadata_passes() {
    let ws = workspace_with(("labguard-server", &[("axum", None), ("tokio", None)]));
    assert_eq!(pure_deps(&ws), []);
    assert_eq!(pure_present(&ws), []);
    assert_eq!(http_stack(&ws), []);
}

#[test]
fn pure_crate_taking_tokio_fails() {
    let ws = workspace_with((
        "labguard-core",
        &[("chrono", None), ("tokio", None), ("tempfile", Some("dev"))],
    ));
    let v = pure_deps(&ws);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].at, "labguard-core");
    assert!(v[0].what.contains("tokio"), "{}", v[0]);
}

#[test]
fn pure_crate_taking_an_edge_crate_or_build_io_fails() {
    let ws = workspace_with((
        "labguard-hl7",
        &[
            ("labguard-core", None),
            ("labguard-store", None),
            ("rusqlite", Some("build")),
        ],
    ));
    let v = pure_deps(&ws);
    let what: Vec<&str> = v.iter().map(|v| v.what.as_str()).collect();
    assert_eq!(
        what,
        [
            "Normal dependency on labguard-store (I/O)",
            "Build dependency on rusqlite (I/O)"
        ]
    );
}

#[test]
fn a_pure_crate_missing_from_the_workspace_fails() {
    let ws = metadata(&[("labguard-core", &[])]);
    let v = pure_present(&ws);
    assert_eq!(v.len(), PURE.len() - 1);
    assert!(v.iter().any(|v| v.at == "labguard-audit"));
}

#[test]
fn http_stack_outside_the_server_fails() {
    let ws = workspace_with(("labguard-mllp", &[("hyper", None), ("tokio", None)]));
    let v = http_stack(&ws);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(
        v[0].to_string(),
        "[http-stack] labguard-mllp: Normal dependency on hyper"
    );
    // Dev-dependencies count too: only the server and the testkit link axum.
    let ws = workspace_with(("labguard-mail", &[("axum", Some("dev"))]));
    assert_eq!(http_stack(&ws).len(), 1);
    let ws = workspace_with(("labguard-testkit", &[("axum", None)]));
    assert_eq!(http_stack(&ws), []);
}

#[test]
fn pure_source_using_files_sockets_or_processes_fails() {
    let files = [
        file(
            "labguard-crypto",
            "crates/labguard-crypto/src/kek.rs",
            "use std::fs;\nfn load() { let _ = std::process::id(); }\n",
        ),
        file(
            "labguard-identity",
            "crates/labguard-identity/src/lib.rs",
            "use std::{io, net::TcpStream};\n",
        ),
    ];
    let v = pure_sources(&files, &[]);
    let got: Vec<String> = v.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "[pure-src] crates/labguard-crypto/src/kek.rs:1: std::fs",
            "[pure-src] crates/labguard-crypto/src/kek.rs:2: std::process",
            "[pure-src] crates/labguard-identity/src/lib.rs:1: std::net",
            "[pure-src] crates/labguard-identity/src/lib.rs:1: TcpStream",
        ]
    );
}

#[test]
fn pure_source_reading_the_clock_or_os_randomness_fails() {
    let files = [file(
        "labguard-compliance",
        "crates/labguard-compliance/src/evidence.rs",
        "use ring::rand::SecureRandom;\n\
         fn at() { let _ = chrono::Utc::now(); let _ = uuid::Uuid::new_v4(); }\n\
         fn r() { let _ = rand::random::<u8>(); }\n",
    )];
    let what: Vec<String> = pure_sources(&files, &[])
        .into_iter()
        .map(|v| v.what)
        .collect();
    assert_eq!(what, ["rand::", "Utc::now", "new_v4"]);
}

#[test]
fn comments_strings_tests_and_edge_crates_are_not_pure_source_uses() {
    let files = [
        file(
            "labguard-core",
            "crates/labguard-core/src/lib.rs",
            "//! Never std::fs.\nconst M: &str = \"std::net\";\n\
             #[cfg(test)]\nmod tests { use std::fs; }\n",
        ),
        file(
            "labguard-mllp",
            "crates/labguard-mllp/src/server.rs",
            "use std::net::TcpStream;\n",
        ),
    ];
    assert_eq!(pure_sources(&files, &[]), []);
}

#[test]
fn pure_exceptions_allow_their_use_and_go_stale() {
    let files = [file(
        "labguard-core",
        "crates/labguard-core/src/admission.rs",
        "use std::net::IpAddr;\n",
    )];
    let ok = [("crates/labguard-core/src/admission.rs", "std::net")];
    assert_eq!(pure_sources(&files, &ok), []);
    let stale = [("crates/labguard-core/src/admission.rs", "std::fs")];
    let v = pure_sources(&files, &stale);
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v[1].what.contains("gone"), "{}", v[1]);
}

#[test]
fn naming_the_backend_outside_the_store_fails() {
    let files = [
        file(
            "labguard-server",
            "crates/labguard-server/src/a.rs",
            "use labguard_store::{Actor, Backend, Store};\nuse serde_json::Value;\n",
        ),
        file(
            "labguard-mllp",
            "crates/labguard-mllp/src/b.rs",
            "fn f(u: &str) { let _ = labguard_store::PgBackend::connect(u, None); }\n\
             fn g(r: labguard_store::Row) {}\n",
        ),
        file(
            "labguard",
            "crates/labguard/src/c.rs",
            "fn h(s: &Store) { s.append_batch(&[]); s.append_entries(&[]); }\n",
        ),
        // The store itself, and the testkit, may.
        file(
            "labguard-store",
            "crates/labguard-store/src/store.rs",
            "use crate::backend::Backend; fn a(s: &Store) { s.append_entries(&[]); }\n",
        ),
        file(
            "labguard-testkit",
            "crates/labguard-testkit/src/lib.rs",
            "use labguard_store::PgBackend;\n",
        ),
    ];
    let got: Vec<String> = store_boundary(&files, &[])
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got,
        [
            "[store-boundary] crates/labguard-server/src/a.rs:1: Backend",
            "[store-boundary] crates/labguard-mllp/src/b.rs:1: PgBackend",
            "[store-boundary] crates/labguard-mllp/src/b.rs:2: Row",
            "[store-boundary] crates/labguard/src/c.rs:1: append_entries",
            "[store-boundary] crates/labguard/src/c.rs:1: append_batch",
        ]
    );
}

#[test]
fn known_violations_are_allowed_only_while_they_exist() {
    let files = [file(
        "labguard",
        "crates/labguard/src/bench.rs",
        "fn b(s: &Store) { s.append_batch(&[]); }\n",
    )];
    let known = [("crates/labguard/src/bench.rs", "append_batch")];
    assert_eq!(store_boundary(&files, &known), []);
    // Fixed code with the entry left in the list: the list must shrink.
    let fixed = [file(
        "labguard",
        "crates/labguard/src/bench.rs",
        "fn b() {}\n",
    )];
    let v = store_boundary(&fixed, &known);
    assert_eq!(v.len(), 1);
    assert_eq!(
        v[0].to_string(),
        "[store-boundary] crates/labguard/src/bench.rs: KNOWN_VIOLATIONS lists `append_batch` but it is gone: remove the entry"
    );
}
