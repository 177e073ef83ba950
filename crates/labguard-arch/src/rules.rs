//! The layering rules of ARCHITECTURE.md, as plain functions over parsed metadata and
//! source text, so each can be shown to fail (see the tests below).

use std::fmt;

use crate::metadata::{DepKind, Package};
use crate::source::{code_only, find_word, line_of, path_heads};

/// The crates ARCHITECTURE.md calls pure: no I/O, no clock, no randomness of their own.
pub const PURE: &[&str] = &[
    "labguard-core",
    "labguard-crypto",
    "labguard-audit",
    "labguard-hl7",
    "labguard-astm",
    "labguard-identity",
    "labguard-devices",
    "labguard-training",
    "labguard-compliance",
    "labguard-qc",
    "labguard-poct",
    "labguard-privacy",
    "labguard-siem",
];

/// Crates whose purpose is I/O (sockets, files, databases, mail, async runtimes). A pure
/// crate may not take them as a normal or build dependency; dev-dependencies are fine.
/// Workspace crates outside `PURE` count as I/O too (checked separately, so new edges such
/// as labguard-app are covered without listing them).
pub const IO_DEPS: &[&str] = &[
    "tokio",
    "tokio-util",
    "tokio-rustls",
    "tokio-postgres",
    "async-std",
    "smol",
    "mio",
    "socket2",
    "reqwest",
    "ureq",
    "hyper",
    "hyper-util",
    "axum",
    "tower-http",
    "lettre",
    "rusqlite",
    "postgres",
    "sqlx",
    "tempfile",
    "walkdir",
    "notify",
    // Randomness from the OS: pure crates take it as an argument (crypto uses ring's).
    "getrandom",
    "rand",
];

/// The HTTP server stack, and the only crates that may depend on it (any kind).
pub const HTTP_STACK: &[&str] = &["axum", "axum-core", "hyper", "hyper-util", "tower-http"];
pub const HTTP_ALLOWED: &[(&str, &str)] = &[
    ("labguard-server", "the HTTPS edge"),
    (
        "labguard-testkit",
        "the in-process router for tests, behind its `server` feature",
    ),
];

/// Uses in a pure crate's src that are not I/O, each with why.
pub const PURE_EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "crates/labguard-core/src/admission.rs",
        "std::net",
        "IpAddr values only: the per-source connection caps key on the peer address; no socket",
    ),
    (
        "crates/labguard-crypto/src/rng.rs",
        "SystemRandom",
        "the one randomness source: data keys, nonces and tokens need the OS generator",
    ),
];

/// Crates that may name the store's backend (and its audit appends) in src.
pub const STORE_EXEMPT: &[(&str, &str)] = &[
    ("labguard-store", "the store itself"),
    (
        "labguard-testkit",
        "test support: drops the per-test PostgreSQL schema",
    ),
];

/// Backend names and audit appends outside the store that are tolerated for now. Empty
/// since the audit bench became a store method (`Store::bench_append_audit`); never add
/// one: an entry that no longer matches anything fails the test.
pub const KNOWN_VIOLATIONS: &[(&str, &str)] = &[];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub rule: &'static str,
    /// A crate name, or `file:line`.
    pub at: String,
    pub what: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.rule, self.at, self.what)
    }
}

/// One `.rs` file under a crate's src, its path relative to the workspace root.
pub struct SourceFile {
    pub krate: String,
    pub path: String,
    pub text: String,
}

/// One use found in a file.
struct Finding {
    path: String,
    line: usize,
    what: String,
}

/// Rule a: pure crates take no I/O crate as a normal or build dependency.
pub fn pure_deps(packages: &[Package]) -> Vec<Violation> {
    let mut out = vec![];
    for p in packages.iter().filter(|p| PURE.contains(&p.name.as_str())) {
        for d in p.deps.iter().filter(|d| d.kind != DepKind::Dev) {
            let io = IO_DEPS.contains(&d.name.as_str());
            let impure_sibling = d.name.starts_with("labguard") && !PURE.contains(&d.name.as_str());
            if io || impure_sibling {
                out.push(Violation {
                    rule: "pure-deps",
                    at: p.name.clone(),
                    what: format!("{:?} dependency on {} (I/O)", d.kind, d.name),
                });
            }
        }
    }
    out
}

/// Every crate in `PURE` is in the workspace (a renamed crate must not drop out silently).
pub fn pure_present(packages: &[Package]) -> Vec<Violation> {
    PURE.iter()
        .filter(|name| !packages.iter().any(|p| p.name == **name))
        .map(|name| Violation {
            rule: "pure-deps",
            at: (*name).to_string(),
            what: "listed as pure but not in the workspace: update PURE".into(),
        })
        .collect()
}

/// Rule b: only the HTTPS edge (and the testkit) links the HTTP server stack.
pub fn http_stack(packages: &[Package]) -> Vec<Violation> {
    let mut out = vec![];
    for p in packages {
        if HTTP_ALLOWED.iter().any(|(name, _)| *name == p.name) {
            continue;
        }
        for d in p
            .deps
            .iter()
            .filter(|d| HTTP_STACK.contains(&d.name.as_str()))
        {
            out.push(Violation {
                rule: "http-stack",
                at: p.name.clone(),
                what: format!("{:?} dependency on {}", d.kind, d.name),
            });
        }
    }
    out
}

/// Rule a, in the code: no sockets, files, processes, clock or OS randomness in a pure
/// crate's src (tests excluded), but for `exceptions` (`PURE_EXCEPTIONS`: file, use), each
/// of which must still exist.
pub fn pure_sources(files: &[SourceFile], exceptions: &[(&str, &str)]) -> Vec<Violation> {
    let mut findings = vec![];
    for f in files.iter().filter(|f| PURE.contains(&f.krate.as_str())) {
        let code = code_only(&f.text);
        let mut hit = |at: usize, what: String| {
            findings.push(Finding {
                path: f.path.clone(),
                line: line_of(&code, at),
                what,
            })
        };
        for (at, head) in path_heads(&code, "std") {
            if ["net", "fs", "process"].contains(&head.as_str()) {
                hit(at, format!("std::{head}"));
            }
        }
        // The `rand` crate, not a module of that name (`ring::rand`).
        let mut rand_roots: Vec<usize> = path_heads(&code, "rand")
            .into_iter()
            .map(|(at, _)| at)
            .filter(|&at| !code[..at].trim_end().ends_with("::"))
            .collect();
        rand_roots.dedup();
        for at in rand_roots {
            hit(at, "rand::".into());
        }
        for word in [
            "TcpStream",
            "TcpListener",
            "UdpSocket",
            "Utc::now",
            "Local::now",
            "SystemTime",
            "Instant::now",
            "SystemRandom",
            "OsRng",
            "thread_rng",
            "getrandom",
            "new_v4",
        ] {
            for at in find_word(&code, word) {
                hit(at, word.into());
            }
        }
    }
    apply_allowed(findings, exceptions, "pure-src", "PURE_EXCEPTIONS")
}

/// Rule c: outside the store, src code names no backend type and appends no audit entries
/// itself, but for `KNOWN_VIOLATIONS`, each of which must still exist.
pub fn store_boundary(files: &[SourceFile], known: &[(&str, &str)]) -> Vec<Violation> {
    let mut findings = vec![];
    for f in files
        .iter()
        .filter(|f| !STORE_EXEMPT.iter().any(|(k, _)| *k == f.krate))
    {
        let code = code_only(&f.text);
        let mut hit = |at: usize, what: &str| {
            findings.push(Finding {
                path: f.path.clone(),
                line: line_of(&code, at),
                what: what.into(),
            })
        };
        for word in [
            "SqliteBackend",
            "PgBackend",
            "append_entries",
            "append_batch",
        ] {
            for at in find_word(&code, word) {
                hit(at, word);
            }
        }
        for (at, head) in path_heads(&code, "labguard_store") {
            if ["Backend", "Tx", "Row", "Value"].contains(&head.as_str()) {
                hit(at, &head);
            }
        }
    }
    apply_allowed(findings, known, "store-boundary", "KNOWN_VIOLATIONS")
}

/// Findings not covered by `allowed`, plus every `allowed` entry that matched nothing.
fn apply_allowed(
    findings: Vec<Finding>,
    allowed: &[(&str, &str)],
    rule: &'static str,
    list: &str,
) -> Vec<Violation> {
    let mut out: Vec<Violation> = findings
        .iter()
        .filter(|f| !allowed.contains(&(f.path.as_str(), f.what.as_str())))
        .map(|f| Violation {
            rule,
            at: format!("{}:{}", f.path, f.line),
            what: f.what.clone(),
        })
        .collect();
    for (path, what) in allowed {
        if !findings.iter().any(|f| f.path == *path && f.what == *what) {
            out.push(Violation {
                rule,
                at: (*path).to_string(),
                what: format!("{list} lists `{what}` but it is gone: remove the entry"),
            });
        }
    }
    out
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
