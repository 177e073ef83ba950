//! The test's syslog collector: a Python TLS server (ssl module) that parses RFC 5425
//! octet-counting frames and appends each message, re-framed, to a file; certificates
//! from rcgen.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use labguard_testkit::KillOnDrop;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

const RECEIVER: &str = r#"
import os, socket, ssl, sys, threading
port, cert, key, out, mode, client_ca = sys.argv[1:7]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
if mode == "tls11":
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
ctx.load_cert_chain(cert, key)
if client_ca != "-":
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(client_ca)
lock = threading.Lock()

def serve(raw):
    try:
        conn = ctx.wrap_socket(raw, server_side=True)
    except Exception as e:
        with open(out + ".err", "a") as f:
            f.write("handshake: %s\n" % type(e).__name__)
        raw.close()
        return
    buf = b""
    if os.environ.get("SIEM_DEBUG"):
        with open(out + ".err", "a") as f:
            f.write("conn %s\n" % conn.version())
    while True:
        try:
            data = conn.recv(65536)
        except Exception:
            break
        if not data:
            break
        if os.environ.get("SIEM_DEBUG"):
            with open(out + ".err", "a") as f:
                f.write("recv %d\n" % len(data))
            with open(out + ".raw", "ab") as f:
                f.write(data)
        buf += data
        while True:
            sp = buf.find(b" ")
            if sp < 0:
                break
            digits = buf[:sp]
            if not digits.isdigit() or digits.startswith(b"0"):
                with open(out + ".err", "a") as f:
                    f.write("bad frame\n")
                conn.close()
                return
            n = int(digits)
            if len(buf) < sp + 1 + n:
                break
            msg = buf[sp + 1: sp + 1 + n]
            buf = buf[sp + 1 + n:]
            with lock, open(out, "ab") as f:
                f.write(b"%d " % len(msg) + msg)
                f.flush()
                os.fsync(f.fileno())
    conn.close()

srv = socket.create_server(("127.0.0.1", int(port)))
print("ready", flush=True)
while True:
    raw, _ = srv.accept()
    # One connection at a time, as a collector's ordered input would: the next sender's
    # bytes are read only after the previous connection closed.
    serve(raw)
"#;

/// A CA and a server certificate for `localhost` / 127.0.0.1 signed by it, as files.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub issuer: Issuer<'static, KeyPair>,
}

pub fn pki(name: &str) -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca_key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(rcgen::DnType::CommonName, name);
    let ca_pem = p.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(p, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let w = |f: &str, body: &str| {
        let p = dir.path().join(f);
        std::fs::write(&p, body).unwrap();
        p
    };
    Pki {
        ca: w("ca.pem", &ca_pem),
        cert: w("server.pem", &cert.pem()),
        key: w("server.key", &key.serialize_pem()),
        dir,
        issuer,
    }
}

/// A client certificate from `pki`'s CA: (cert PEM, key PEM).
pub fn client_cert(pki: &Pki) -> (Vec<u8>, Vec<u8>) {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["labguard-node".to_string()])
        .unwrap()
        .signed_by(&key, &pki.issuer)
        .unwrap();
    (cert.pem().into_bytes(), key.serialize_pem().into_bytes())
}

/// Starts the receiver on `port` with `pki`'s server certificate, appending to `out`;
/// `mode` is `tls` or `tls11`; `client_ca` demands client certificates from that CA.
pub fn start(port: u16, pki: &Pki, out: &Path, mode: &str, client_ca: Option<&Path>) -> KillOnDrop {
    let script = pki.dir.path().join("receiver.py");
    std::fs::write(&script, RECEIVER).unwrap();
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(port.to_string())
        .arg(&pki.cert)
        .arg(&pki.key)
        .arg(out)
        .arg(mode)
        .arg(client_ca.map_or("-".into(), |p| p.display().to_string()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    KillOnDrop(child)
}

/// Every message the receiver wrote, once it has written audit entry `last` (or 10 s
/// passed), and a moment more so a late duplicate would show.
pub fn received_through(out: &Path, last: u64) -> Vec<String> {
    let want = format!("id=\"audit-{last}\"");
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < end && !received(out).iter().any(|m| m.contains(&want)) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    received(out)
}

/// Every message the receiver wrote so far, in order.
pub fn received(out: &Path) -> Vec<String> {
    let bytes = std::fs::read(out).unwrap_or_default();
    let mut d = labguard_siem::Deframer::new(labguard_siem::MAX_FRAME);
    d.push(&bytes);
    let mut msgs = vec![];
    while let Some(m) = d.next_frame().unwrap() {
        msgs.push(String::from_utf8(m).unwrap());
    }
    assert_eq!(d.pending(), 0, "a partial frame in the receiver's file");
    msgs
}

/// The `id` parameter of each message.
pub fn ids(msgs: &[String]) -> Vec<String> {
    msgs.iter()
        .map(|m| {
            let at = m.find(" id=\"").expect("id param") + 5;
            let end = m[at..].find('"').unwrap();
            m[at..at + end].to_string()
        })
        .collect()
}
