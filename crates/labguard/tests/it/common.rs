//! The CLI tests' harness: the `labguard` binary this crate built, run with arguments; the
//! rest (data dirs, ports, children, HTTPS) is the testkit's.

#![allow(dead_code)]

use std::process::{Command, Output};

pub use labguard_testkit::{all_bytes, contains, d, free_port, pg_url, KillOnDrop};

pub fn bin() -> Command {
    labguard_testkit::labguard_command(env!("CARGO_BIN_EXE_labguard"))
}

/// Runs labguard with `args`, returning the output (never panics on a non-zero exit).
pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("spawn labguard")
}

pub fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "labguard {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn fails(args: &[&str]) -> String {
    let o = run(args);
    assert!(!o.status.success(), "labguard {args:?} should have failed");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `labguard serve` on a free port with the MLLP listeners off, `global` arguments before
/// the subcommand and `extra` after it; not yet spawned.
pub fn serve_cmd(global: &[&str], dd: &str, port: u16, extra: &[&str]) -> Command {
    let mut c = bin();
    c.args(global)
        .args(["serve", "--data-dir", dd, "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--mllp-tls-listen", "off", "--mllp-tcp-listen", "off"])
        .args(extra);
    c
}

/// Runs labguard with `args` (it must succeed) and parses its output as one JSON value.
pub fn json(args: &[&str]) -> serde_json::Value {
    let out = ok(args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}
