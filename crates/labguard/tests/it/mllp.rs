//! The instrument listener as a separate process: `labguard devices` and `labguard mllp
//! serve`, and kill -9 while a client streams messages, ten rounds: every message that
//! got an AA is in the database after restart, and resends never make a second copy.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use labguard_hl7::mllp::{frame, MllpDecoder};
use labguard_store::{DataDir, StoreOptions};
use labguard_testkit::hl7::oru_mrn1;

/// Starts `labguard mllp serve` on an ephemeral plain-TCP port; returns it and the port.
pub(crate) fn serve(db: &[&str]) -> (Child, u16) {
    let mut child = bin()
        .args(db)
        .args([
            "mllp",
            "serve",
            "--tls-listen",
            "off",
            "--tcp-listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn labguard mllp serve");
    let out = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(out).lines();
    let line = lines.next().expect("a listening line").expect("utf-8 line");
    let port = line
        .split("listening on ")
        .nth(1)
        .and_then(|a| a.split_whitespace().next())
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, port)
}

/// Sends messages until the connection breaks; records each control id that got an AA.
/// Returns the control id left unacknowledged (to resend), None if it could not connect.
pub(crate) fn stream(
    port: u16,
    round: usize,
    resend: Option<String>,
    acked: Arc<Mutex<Vec<String>>>,
) -> Option<String> {
    stream_until(port, round, resend, acked, &AtomicBool::new(false)).err()
}

/// [`stream`] that also stops, cleanly (`Ok`), once `stop` is set.
pub(crate) fn stream_until(
    port: u16,
    round: usize,
    resend: Option<String>,
    acked: Arc<Mutex<Vec<String>>>,
    stop: &AtomicBool,
) -> Result<(), String> {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return Err(resend.unwrap_or_default());
    };
    let mut dec = MllpDecoder::new();
    let mut buf = [0u8; 4096];
    let mut i = 0usize;
    let mut next = resend;
    loop {
        if stop.load(Ordering::SeqCst) && next.is_none() {
            return Ok(());
        }
        let control = next.take().unwrap_or_else(|| {
            i += 1;
            format!("R{round:02}-{i:05}")
        });
        if s.write_all(&frame(oru_mrn1("CHEM", &control).as_bytes()))
            .is_err()
        {
            return Err(control);
        }
        let ack = loop {
            if let Some(f) = dec.next_frame() {
                break f.ok();
            }
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break None,
                Ok(n) => dec.push(&buf[..n]),
            }
        };
        match ack {
            Some(a) if String::from_utf8_lossy(&a).contains(&format!("MSA|AA|{control}")) => {
                acked.lock().unwrap().push(control);
            }
            // No ACK: the sender does not know whether it was stored, so it resends.
            _ => return Err(control),
        }
    }
}

/// A lab with the legacy analyzer `chem-legacy` (plain TCP from 127.0.0.1) and patient
/// MRN-1, through the CLI; `global` are the data-dir and database flags.
pub(crate) fn set_up_legacy_lab(global: &[&str]) {
    let with = |args: &[&str]| -> Vec<String> {
        global.iter().chain(args).map(|s| s.to_string()).collect()
    };
    let v = with(&["init"]);
    ok(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let v = with(&[
        "devices",
        "enroll",
        "--name",
        "chem-legacy",
        "--sending-app",
        "CHEM",
        "--sending-facility",
        "CORELAB",
        "--analytes",
        "2345-7",
        "--legacy-tcp",
        "--allow",
        "127.0.0.1",
    ]);
    let out = ok(&v.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.contains("weaker control"), "{out}");
    let v = with(&["devices", "list"]);
    let out = ok(&v.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.contains("chem-legacy\tactive\tlegacy plain TCP"),
        "{out}"
    );
    // A known patient, so delivered results are filed (an unknown MRN would be held).
    let v = with(&[
        "patients",
        "add",
        "--mrn",
        "MRN-1",
        "--family",
        "Brightwater",
        "--given",
        "Tamsin",
        "--birth-date",
        "1980-01-02",
    ]);
    ok(&v.iter().map(String::as_str).collect::<Vec<_>>());
}

fn kill_9_rounds(dir: &std::path::Path, db: &[&str], data: DataDir) {
    let dd = ["--data-dir", d(dir)];
    let with = |args: &[&str]| -> Vec<String> {
        dd.iter()
            .chain(db)
            .chain(args)
            .map(|s| s.to_string())
            .collect()
    };
    let global: Vec<&str> = dd.iter().chain(db).copied().collect();
    set_up_legacy_lab(&global);
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut pending: Option<String> = None;
    let serve_args: Vec<String> = dd.iter().chain(db).map(|s| s.to_string()).collect();
    let serve_args: Vec<&str> = serve_args.iter().map(String::as_str).collect();
    for round in 0..10 {
        let (mut child, port) = serve(&serve_args);
        let before = acked.lock().unwrap().len();
        let a = acked.clone();
        let resend = pending.take();
        let client = std::thread::spawn(move || stream(port, round, resend, a));
        // Let some messages through, then kill -9 mid-stream.
        for _ in 0..2000 {
            if acked.lock().unwrap().len() >= before + 5 + round * 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().expect("kill -9");
        child.wait().expect("reap");
        pending = client.join().expect("client thread");
    }
    let acked: Vec<String> = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 50,
        "too few messages acknowledged: {}",
        acked.len()
    );
    let store = data
        .open(StoreOptions::default())
        .expect("reopen after kill -9");
    let dev = store
        .instruments()
        .unwrap()
        .into_iter()
        .find(|e| e.name == "chem-legacy")
        .unwrap();
    let stored = store.message_control_ids(dev.id).unwrap();
    let unique: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(unique.len(), stored.len(), "a message was stored twice");
    for c in &acked {
        assert!(
            unique.contains(c),
            "{c} was acknowledged but is not in the database"
        );
    }
    store
        .verify(&mut |_, _| {})
        .expect("verify after kill -9 rounds");
    drop(store);

    // The filed results export as FHIR R4, valid for the Python fhir.resources package.
    let bundle = dir.join("bundle.json");
    let v = with(&["fhir", "export", "--mrn", "MRN-1", "--out", d(&bundle)]);
    ok(&v.iter().map(String::as_str).collect::<Vec<_>>());
    let check = "import json,sys\nfrom fhir.resources.R4B.bundle import Bundle\n\
                 b=Bundle.model_validate(json.load(open(sys.argv[1])))\n\
                 print(len([e for e in b.entry if e.resource.get_resource_type()=='Observation']))";
    let out = std::process::Command::new("python3")
        .args(["-c", check])
        .arg(&bundle)
        .output()
        .expect("python3 with fhir.resources");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    // Counted again now: on PostgreSQL a COMMIT the killed server had already sent can
    // land after the first count (the backend finishes it without its client).
    let store = data.open(StoreOptions::default()).expect("reopen");
    let stored_now = store.message_control_ids(dev.id).unwrap().len();
    assert!(stored_now >= unique.len(), "a stored message disappeared");
    assert_eq!(n, stored_now, "one Observation per stored message");
}

#[test]
fn kill_9_while_streaming_loses_no_acknowledged_message_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::sqlite(dir.path());
    kill_9_rounds(dir.path(), &[], data);
}

#[test]
fn kill_9_while_streaming_loses_no_acknowledged_message_postgres() {
    if std::env::var("LABGUARD_SKIP_PG").is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = pg_url();
    let schema = format!("k9_{}", std::process::id());
    let data = DataDir::postgres(dir.path(), &url, Some(&schema));
    kill_9_rounds(
        dir.path(),
        &["--database", &url, "--pg-schema", &schema],
        data.clone(),
    );
    labguard_testkit::drop_pg_schema(&url, Some(&schema));
}
