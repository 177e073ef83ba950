#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub fn bin() -> Command {
    // LABGUARD_TEST_BIN pins a copy of the binary: builds from other worktrees sharing
    // the target dir can replace CARGO_BIN_EXE_labguard while tests run.
    let exe = std::env::var("LABGUARD_TEST_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_labguard").to_string());
    let mut c = Command::new(exe);
    c.env_remove("LABGUARD_KEK")
        .env_remove("LABGUARD_DATABASE_URL")
        .env_remove("LABGUARD_DATA_DIR");
    c
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

pub fn pg_url() -> String {
    std::env::var("LABGUARD_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A child process (a `labguard serve`, a load generator) killed and reaped when the test
/// ends, passing or failing, so no server outlives its test.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port free on 127.0.0.1 at the time of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
