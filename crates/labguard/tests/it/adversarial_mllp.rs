//! The instrument listeners of a real `labguard serve` against hostile peers, over real
//! sockets and real mutual TLS: an unlisted peer on the legacy port (closed unread, audited
//! once per minute), a refused sender closed after its AR, 500 idle connections refused past
//! the caps while an enrolled analyzer still gets AA, and a slowloris frame cut at the frame
//! deadline. Idle load comes from its own process (scripts/slow-connections.py); every loop
//! is bounded.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use labguard_hl7::mllp::frame;
use labguard_mllp::client::{ack_code, tls_client_config, Client};
use labguard_store::{DataDir, StoreOptions};
use labguard_testkit::hl7::oru_mrn1 as oru;
use labguard_testkit::rt;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Lab {
    dir: tempfile::TempDir,
    certs: PathBuf,
}

impl Lab {
    fn dd(&self) -> &str {
        d(self.dir.path())
    }
}

/// A data dir with a patient, a mutual-TLS analyzer (certificates in `certs/`) and a
/// legacy analyzer allowed from 127.0.0.1.
fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let dd = d(dir.path()).to_string();
    let certs = dir.path().join("certs");
    ok(&["init", "--data-dir", &dd]);
    for (name, app, extra) in [
        ("chem-tls", "CHEM", vec!["--out", d(&certs)]),
        (
            "chem-legacy",
            "LEGACY",
            vec!["--legacy-tcp", "--allow", "127.0.0.1"],
        ),
    ] {
        let mut a = vec![
            "devices",
            "enroll",
            "--data-dir",
            &dd,
            "--name",
            name,
            "--sending-app",
            app,
            "--sending-facility",
            "CORELAB",
            "--analytes",
            "2345-7",
        ];
        a.extend(extra);
        ok(&a);
    }
    ok(&[
        "patients",
        "add",
        "--data-dir",
        &dd,
        "--mrn",
        "MRN-1",
        "--family",
        "Brightwater",
        "--given",
        "Tamsin",
        "--birth-date",
        "1980-01-02",
    ]);
    Lab { dir, certs }
}

struct Served {
    proc: KillOnDrop,
    tls: SocketAddr,
    tcp: SocketAddr,
}

fn addr_after(line: &str, marker: &str) -> Option<SocketAddr> {
    line.split(marker)
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `labguard serve` with both MLLP listeners on ephemeral ports and `extra` flags.
fn serve(lab: &Lab, extra: &[&str]) -> Served {
    let port = free_port();
    let mut child = bin()
        .args([
            "serve",
            "--data-dir",
            lab.dd(),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--mllp-tls-listen",
            "127.0.0.1:0",
            "--mllp-tcp-listen",
            "127.0.0.1:0",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn labguard serve");
    let out = child.stdout.take().unwrap();
    let proc = KillOnDrop(child);
    let mut lines = BufReader::new(out).lines();
    let (mut tls, mut tcp) = (None, None);
    for _ in 0..10 {
        let Some(Ok(l)) = lines.next() else { break };
        tls = tls.or_else(|| addr_after(&l, "mutual TLS on "));
        tcp = tcp.or_else(|| addr_after(&l, "plain-TCP MLLP on "));
        if tls.is_some() && tcp.is_some() {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Served {
        proc,
        tls: tls.expect("the mutual-TLS address"),
        tcp: tcp.expect("the plain-TCP address"),
    }
}

/// The ACK code the enrolled mutual-TLS analyzer gets for one message.
fn enrolled_ack(
    rt: &tokio::runtime::Runtime,
    lab: &Lab,
    at: SocketAddr,
    control: &str,
) -> Option<String> {
    let read = |f: &str| std::fs::read_to_string(lab.certs.join(f)).unwrap();
    let cfg = tls_client_config(
        &read("ca.crt"),
        Some((&read("chem-tls.crt"), &read("chem-tls.key"))),
    )
    .unwrap();
    rt.block_on(async {
        let mut c = Client::tls(at, "localhost", cfg).await.ok()?;
        let ack = c.send(oru("CHEM", control).as_bytes()).await.ok()?;
        ack_code(&ack)
    })
}

/// Connects from `src` (any 127.x.y.z on Linux loopback).
async fn connect_from(src: &str, to: SocketAddr) -> tokio::net::TcpStream {
    let s = tokio::net::TcpSocket::new_v4().unwrap();
    s.bind(format!("{src}:0").parse().unwrap()).unwrap();
    s.connect(to).await.unwrap()
}

/// Everything the server sends until it closes (or `limit` passes): (bytes, closed).
async fn read_until_closed(s: &mut tokio::net::TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let until = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(until, s.read(&mut buf)).await {
            Err(_) => return (out, false),
            Ok(Ok(0)) | Ok(Err(_)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Open "delivery refused" alerts (one is written with each audit entry of a refusal).
fn refusals(lab: &Lab) -> Vec<String> {
    let store = DataDir::sqlite(lab.dir.path())
        .open(StoreOptions::default())
        .unwrap();
    store
        .open_alerts(10_000)
        .unwrap()
        .into_iter()
        .filter(|a| a.kind == "delivery-refused")
        .map(|a| a.detail)
        .collect()
}

fn stop(s: Served) {
    let pid = s.proc.0.id().to_string();
    let _ = Command::new("kill").args(["-INT", &pid]).status();
    let mut p = s;
    for _ in 0..100 {
        if let Ok(Some(_)) = p.proc.0.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("labguard serve did not stop on SIGINT");
}

#[test]
fn an_unlisted_legacy_peer_is_closed_unread_and_audited_once_however_often_it_retries() {
    let lab = lab();
    let srv = serve(&lab, &[]);
    let rt = rt();
    rt.block_on(async {
        for i in 0..200 {
            let mut s = connect_from("127.0.0.33", srv.tcp).await;
            // The server may already have closed: the write can fail, which is the point.
            let _ = s
                .write_all(&frame(oru("LEGACY", &format!("X{i}")).as_bytes()))
                .await;
            let (got, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
            assert!(closed, "attempt {i}: still open");
            assert!(got.is_empty(), "attempt {i}: the server answered");
        }
        // An allow-listed address with the wrong sender: AR for the first message, then
        // the connection is closed (a second message gets nothing).
        let mut s = connect_from("127.0.0.1", srv.tcp).await;
        s.write_all(&frame(oru("NOTME", "W1").as_bytes()))
            .await
            .unwrap();
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).contains("MSA|AR|W1"));
        let _ = s.write_all(&frame(oru("NOTME", "W2").as_bytes())).await;
        let (got, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
        assert!(closed && got.is_empty(), "answered after a refusal");
    });
    // Writes happen off the listener's threads: give them a moment (bounded).
    let mut seen = Vec::new();
    for _ in 0..50 {
        seen = refusals(&lab);
        if seen.len() >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let unlisted: Vec<_> = seen
        .iter()
        .filter(|d| d.starts_with("source-not-allowed"))
        .collect();
    assert_eq!(unlisted.len(), 1, "one entry within the minute: {seen:?}");
    assert_eq!(
        seen.iter()
            .filter(|d| d.starts_with("sender-mismatch"))
            .count(),
        1,
        "{seen:?}"
    );
    // At shutdown the refusals held since are written as one entry with their count.
    stop(srv);
    let seen = refusals(&lab);
    assert!(
        seen.iter().any(|d| d == "source-not-allowed (x199)"),
        "{seen:?}"
    );
    assert_eq!(seen.len(), 3, "{seen:?}");
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(name)
}

fn idle(to: SocketAddr, count: usize, sources: &str) -> (KillOnDrop, Value, ChildLines) {
    let mut child = Command::new("python3")
        .arg(script("slow-connections.py"))
        .args([
            "idle",
            &to.ip().to_string(),
            &to.port().to_string(),
            "--count",
            &count.to_string(),
            "--sources",
            sources,
            "--wait",
            "20",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 scripts/slow-connections.py");
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    let l = lines.next().expect("held line").unwrap();
    (KillOnDrop(child), serde_json::from_str(&l).unwrap(), lines)
}

type ChildLines = std::io::Lines<BufReader<ChildStdout>>;

#[test]
fn idle_connections_past_the_caps_are_refused_while_an_enrolled_analyzer_gets_aa() {
    let lab = lab();
    let srv = serve(&lab, &["--mllp-max-connections", "100"]);
    let rt = rt();
    // 500 idle sockets on the mutual-TLS port from five hosts: 16 each are held (the
    // per-source cap), the other 420 are closed at once.
    let (_a, held, _la) = idle(
        srv.tls,
        500,
        "127.0.0.40,127.0.0.41,127.0.0.42,127.0.0.43,127.0.0.44",
    );
    assert_eq!(held["open"], 80, "{held}");
    assert_eq!(held["refused"], 420, "{held}");
    // The enrolled analyzer still gets its AA, promptly.
    let t = Instant::now();
    assert_eq!(
        enrolled_ack(&rt, &lab, srv.tls, "OK1").as_deref(),
        Some("AA")
    );
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    std::thread::sleep(Duration::from_millis(300));
    // Three more hosts under their own cap meet the total cap (100): 20 more held.
    let (_b, more, _lb) = idle(srv.tls, 40, "127.0.0.50,127.0.0.51,127.0.0.52");
    assert_eq!(more["open"], 20, "{more}");
    assert_eq!(more["refused"], 20, "{more}");
    // The plain-TCP port shares the budget: an allow-listed legacy analyzer is refused
    // too while it is full, unread.
    rt.block_on(async {
        let mut s = connect_from("127.0.0.1", srv.tcp).await;
        let (got, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
        assert!(closed && got.is_empty());
    });
}

#[test]
fn a_trickled_frame_is_cut_at_the_frame_deadline_and_an_oversize_frame_closes() {
    let lab = lab();
    let srv = serve(
        &lab,
        &[
            "--mllp-frame-timeout",
            "3s",
            "--mllp-max-frame-bytes",
            "4096",
        ],
    );
    let rt = rt();
    rt.block_on(async {
        // One byte every 200 ms: an idle timer reset by each byte would never fire.
        let msg = frame(oru("LEGACY", "SLOW1").as_bytes());
        let mut s = connect_from("127.0.0.1", srv.tcp).await;
        let t = Instant::now();
        let mut cut = None;
        for b in msg.iter().take(60) {
            if s.write_all(&[*b]).await.is_err() {
                cut = Some(t.elapsed());
                break;
            }
            let mut one = [0u8; 64];
            match tokio::time::timeout(Duration::from_millis(200), s.read(&mut one)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    cut = Some(t.elapsed());
                    break;
                }
                _ => {}
            }
        }
        let cut = cut.expect("the trickled frame was never cut");
        assert!(
            cut >= Duration::from_millis(2800) && cut < Duration::from_secs(6),
            "cut after {cut:?}"
        );

        // A frame over the size limit closes the connection without an AA.
        let mut big = oru("LEGACY", "BIG1");
        big.push_str(&format!("NTE|1||{}\r", "x".repeat(8000)));
        let mut s = connect_from("127.0.0.1", srv.tcp).await;
        let _ = s.write_all(&frame(big.as_bytes())).await;
        let (got, closed) = read_until_closed(&mut s, Duration::from_secs(5)).await;
        assert!(closed, "oversize frame left open");
        assert!(!String::from_utf8_lossy(&got).contains("MSA|AA"));

        // A normal frame from the same analyzer is still filed.
        let mut s = connect_from("127.0.0.1", srv.tcp).await;
        s.write_all(&frame(oru("LEGACY", "FINE1").as_bytes()))
            .await
            .unwrap();
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).contains("MSA|AA|FINE1"));
    });
}
