//! `/metrics` over real HTTPS against `labguard serve`: 404 without a configured token,
//! 401 for a missing or wrong bearer token, 200 for the right one; a token file others can
//! read, or an oversized one, stops `serve` from starting.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use crate::common::{self, *};
use labguard_testkit::https::status;
use labguard_testkit::spawn_serve;

fn serve_cmd(dd: &str, port: u16, extra: &[&str]) -> Command {
    let mut c = common::serve_cmd(&[], dd, port, extra);
    c.env_remove("LABGUARD_METRICS_TOKEN");
    c
}

fn serve(dd: &str, extra: &[&str], env_token: Option<&str>) -> (KillOnDrop, String) {
    let port = free_port();
    let mut c = serve_cmd(dd, port, extra);
    if let Some(t) = env_token {
        c.env("LABGUARD_METRICS_TOKEN", t);
    }
    spawn_serve(c, port)
}

fn body(url: &str, auth: &str) -> String {
    let o = Command::new("curl")
        .args([
            "-sk",
            "--max-time",
            "20",
            "-H",
            &format!("Authorization: {auth}"),
        ])
        .arg(url)
        .output()
        .expect("curl");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

const TOKEN: &str = "scrape-7f3c9a0e5b1d4c2a8e6f";

#[test]
fn metrics_needs_a_configured_token_and_the_right_bearer() {
    let dir = tempfile::tempdir().unwrap();
    let dd = dir.path().join("data");
    let dd = d(&dd);
    ok(&["init", "--data-dir", dd, "--admin", "none"]);

    // No token configured: the route does not exist.
    let (srv, base) = serve(dd, &[], None);
    let url = format!("{base}/metrics");
    assert_eq!(status(&url, None), 404);
    assert_eq!(status(&url, Some(&format!("Bearer {TOKEN}"))), 404);
    drop(srv);

    // Token from a file.
    let tf = dir.path().join("metrics.token");
    std::fs::write(&tf, format!("{TOKEN}\n")).unwrap();
    std::fs::set_permissions(&tf, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (srv, base) = serve(dd, &["--metrics-token-file", d(&tf)], None);
    let url = format!("{base}/metrics");
    assert_eq!(status(&url, None), 401);
    assert_eq!(status(&url, Some("Bearer wrong-token-wrong-token")), 401);
    // One byte off at the end, a prefix, the token with a suffix, another scheme.
    let off = format!("Bearer {}X", &TOKEN[..TOKEN.len() - 1]);
    assert_eq!(status(&url, Some(&off)), 401);
    assert_eq!(status(&url, Some(&format!("Bearer {}", &TOKEN[..10]))), 401);
    assert_eq!(status(&url, Some(&format!("Bearer {TOKEN}x"))), 401);
    assert_eq!(status(&url, Some(&format!("Basic {TOKEN}"))), 401);
    assert_eq!(status(&url, Some("Bearer ")), 401);
    // A huge header is refused, not compared at length.
    let huge = format!("Bearer {}", "a".repeat(100_000));
    assert_ne!(status(&url, Some(&huge)), 200);
    assert_eq!(status(&url, Some(&format!("Bearer {TOKEN}"))), 200);
    let text = body(&url, &format!("Bearer {TOKEN}"));
    assert!(text.contains("labguard_http_requests_total"), "{text}");
    drop(srv);

    // Token from the environment.
    let (srv, base) = serve(dd, &[], Some(TOKEN));
    let url = format!("{base}/metrics");
    assert_eq!(status(&url, Some("Bearer nope-nope-nope-nope")), 401);
    assert_eq!(status(&url, Some(&format!("Bearer {TOKEN}"))), 200);
    drop(srv);

    // A token file others can read, an oversized one, or a short token: serve refuses.
    let port = free_port();
    std::fs::set_permissions(&tf, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = serve_cmd(dd, port, &["--metrics-token-file", d(&tf)])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("chmod 600"));
    let big = dir.path().join("big.token");
    std::fs::write(&big, "a".repeat(5000)).unwrap();
    std::fs::set_permissions(&big, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = serve_cmd(dd, port, &["--metrics-token-file", d(&big)])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("larger than"));
    let o = serve_cmd(dd, port, &[])
        .env("LABGUARD_METRICS_TOKEN", "short")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("at least 16"));
}
