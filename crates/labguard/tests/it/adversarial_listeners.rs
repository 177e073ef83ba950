//! The listeners against hostile clients, over real sockets and real TLS, with a real
//! `labguard serve` on 127.0.0.1: slow HTTPS clients (from their own process,
//! scripts/slow-connections.py) while a signed-in user is still answered, the per-source
//! cap, the global cap and a trickled body (the instrument listeners: adversarial_mllp.rs).
//! Every loop is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use labguard_testkit::https::curl;
use labguard_testkit::spawn_serve;
use serde_json::Value;

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(name)
}

/// `labguard serve` with the MLLP listeners off and `extra` flags; returns it and its port
/// once /health answers.
fn serve(dd: &str, extra: &[&str]) -> (KillOnDrop, u16) {
    let port = free_port();
    let (server, _) = spawn_serve(serve_cmd(&[], dd, port, extra), port);
    (server, port)
}

/// A data dir with seeded results and a pathologist; returns (dir, user json).
fn lab() -> (tempfile::TempDir, Value) {
    let dir = tempfile::tempdir().unwrap();
    let dd = d(dir.path());
    ok(&["init", "--data-dir", dd]);
    ok(&["demo", "--data-dir", dd, "--seed-only", "--patients", "20"]);
    let u = ok(&[
        "--format",
        "json",
        "users",
        "add",
        "--data-dir",
        dd,
        "--username",
        "slow-path",
        "--role",
        "pathologist",
    ]);
    let user: Value = serde_json::from_str(&u).unwrap();
    (dir, user)
}

/// Signs in (password, TOTP, replaces the one-time password) and returns an API token.
fn sign_in(port: u16, user: &Value) -> String {
    let o = Command::new("python3")
        .arg(script("signin.py"))
        .arg(format!("https://127.0.0.1:{port}"))
        .arg(user["username"].as_str().unwrap())
        .arg(user["password"].as_str().unwrap())
        .arg(user["totp_secret"].as_str().unwrap())
        .output()
        .expect("python3 scripts/signin.py (needs pyotp)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

/// Starts scripts/slow-connections.py with `args`; returns it and its stdout lines.
fn slow(args: &[&str]) -> (KillOnDrop, std::io::Lines<BufReader<ChildStdout>>) {
    let mut child = Command::new("python3")
        .arg(script("slow-connections.py"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 scripts/slow-connections.py");
    let out = child.stdout.take().unwrap();
    (KillOnDrop(child), BufReader::new(out).lines())
}

fn next_json(lines: &mut std::io::Lines<BufReader<ChildStdout>>) -> Value {
    let l = lines.next().expect("a line from the script").unwrap();
    serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l}"))
}

/// Eight loopback sources: 1,000 connections stay under the per-source cap (256).
const SOURCES: &str =
    "127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9";

#[test]
fn a_thousand_slow_https_connections_do_not_stop_a_signed_in_user() {
    let (dir, user) = lab();
    let dd = d(dir.path());
    let (_srv, port) = serve(dd, &["--header-timeout", "6s"]);
    let token = sign_in(port, &user);
    let url = format!("https://127.0.0.1:{port}/api/v1/results?accession=A00000010");
    let auth = format!("Authorization: Bearer {token}");

    let (_gen, mut lines) = slow(&[
        "https",
        "127.0.0.1",
        &port.to_string(),
        "--count",
        "1000",
        "--sources",
        SOURCES,
        "--wait",
        "30",
    ]);
    let held = next_json(&mut lines);
    assert_eq!(held["open"], 1000, "{held}");

    // While they are held, the signed-in user is answered, each request within 1 s.
    for _ in 0..5 {
        let t = Instant::now();
        let (code, ok) = curl(&["-o", "/dev/null", "-w", "%{http_code}", "-H", &auth, &url]);
        let took = t.elapsed();
        assert!(ok && code == "200", "lookup under load: {code}");
        assert!(took < Duration::from_secs(1), "lookup took {took:?}");
    }

    // One more source trying 300 at once: the per-source cap (256) refuses the rest.
    let (_one, mut one) = slow(&[
        "https",
        "127.0.0.1",
        &port.to_string(),
        "--count",
        "300",
        "--sources",
        "127.0.0.10",
        "--wait",
        "1",
    ]);
    let capped = next_json(&mut one);
    assert_eq!(capped["open"], 256, "{capped}");
    assert_eq!(capped["refused"], 44, "{capped}");

    // The server closed every slow connection itself, at the header deadline.
    let done = next_json(&mut lines);
    assert_eq!(done["closed_by_server"], 1000, "{done}");
    assert_eq!(done["still_open"], 0, "{done}");
    let first = done["close_after_min"].as_f64().unwrap();
    let last = done["close_after_max"].as_f64().unwrap();
    assert!(first >= 5.0, "closed before the header deadline: {done}");
    assert!(last <= 12.0, "held past the header deadline: {done}");
}

#[test]
fn a_trickled_request_body_fails_at_the_body_deadline() {
    let (dir, _user) = lab();
    let (_srv, port) = serve(d(dir.path()), &["--body-timeout", "2s"]);
    // A body declared as 1,000 bytes of which 11 come, then nothing (openssl s_client
    // writes exactly what it is given).
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-quiet",
            "-connect",
            &format!("127.0.0.1:{port}"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_client");
    let mut stdin = child.stdin.take().unwrap();
    let t = Instant::now();
    stdin
        .write_all(
            b"POST /api/v1/auth/sign-in HTTP/1.1\r\nHost: localhost\r\n\
              Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"username\"",
        )
        .unwrap();
    stdin.flush().unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut buf = Vec::new();
    // Bounded: the server answers (and closes) at the deadline; s_client ends with it.
    let reader = std::thread::spawn(move || {
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let mut waited = 0;
    while !reader.is_finished() && waited < 150 {
        std::thread::sleep(Duration::from_millis(100));
        waited += 1;
    }
    let took = t.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    drop(stdin);
    let buf = reader.join().unwrap();
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 4"), "answer: {text}");
    assert!(
        took >= Duration::from_millis(1800) && took < Duration::from_secs(10),
        "answered after {took:?}"
    );
}

#[test]
fn past_the_global_cap_connections_are_closed_unread() {
    let (dir, _user) = lab();
    let (_srv, port) = serve(
        d(dir.path()),
        &["--max-connections", "20", "--header-timeout", "30s"],
    );
    let (_gen, mut lines) = slow(&[
        "https",
        "127.0.0.1",
        &port.to_string(),
        "--count",
        "40",
        "--sources",
        SOURCES,
        "--wait",
        "10",
    ]);
    let held = next_json(&mut lines);
    assert_eq!(held["open"], 20, "{held}");
    assert_eq!(held["refused"], 20, "{held}");
    // A refused socket gets no TLS at all: the server closes it before reading the hello.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut b = [0u8; 16];
    let n = s.read(&mut b).unwrap_or(0);
    assert_eq!(
        n, 0,
        "a refused connection must be closed with nothing sent"
    );
}
