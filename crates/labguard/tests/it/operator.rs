//! First steps an operator takes from the console: `init` (with the first administrator),
//! `hl7 parse` on real files, and the demo's simulated analyzer delivering over mutual TLS.

use crate::common::*;

// The corpus files copied into the HL7 crate's test data (license in its README).
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../labguard-hl7/testdata/hl7");

#[test]
fn init_creates_the_first_administrator_with_a_one_time_enrollment() {
    let t = tempfile::tempdir().unwrap();
    let dd = t.path().join("lab");
    let out = ok(&["init", "--data-dir", d(&dd), "--admin", "ada"]);
    let secret = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("enrollment secret:"))
        .map(str::trim)
        .expect("an enrollment secret is printed");
    assert!(secret.len() >= 26, "{out}");
    assert!(out.contains("otpauth://totp/"), "{out}");
    let list = ok(&["users", "list", "--data-dir", d(&dd), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    let admins: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["role"] == "administrator")
        .collect();
    assert_eq!(admins.len(), 1, "{list}");
    assert_eq!(admins[0]["username"], "ada");
    assert_eq!(admins[0]["mfa_enrolled"], true);
    // The secret is shown once: it is nowhere in the data dir in the clear.
    assert!(!contains(&all_bytes(&dd), secret));
    // `--admin none` makes no account.
    let dd2 = t.path().join("lab2");
    ok(&["init", "--data-dir", d(&dd2), "--admin", "none"]);
    let list = ok(&["users", "list", "--data-dir", d(&dd2), "--format", "json"]);
    assert_eq!(list.trim(), "[]");
}

#[test]
fn hl7_parse_prints_structure_and_results_for_every_corpus_file() {
    let mut files: Vec<String> = std::fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap().path().to_str().unwrap().to_string())
        .filter(|p| p.ends_with(".hl7"))
        .collect();
    files.sort();
    assert!(files.len() >= 10);
    let mut args = vec!["hl7", "parse"];
    args.extend(files.iter().map(String::as_str));
    let out = ok(&args);
    let objs: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objs.len(), files.len(), "one object per message");
    for o in &objs {
        assert_eq!(o["segments"][0]["segment"], "MSH", "{}", o["file"]);
    }
    let oru = objs
        .iter()
        .find(|o| o["file"].as_str().unwrap().ends_with("LAB-ORU-1.hl7"))
        .unwrap();
    assert_eq!(oru["type"], "ORU^R01");
    let results = oru["lab"]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(results.iter().all(|r| r["analyte"].is_string()));
    let adt = objs
        .iter()
        .find(|o| o["file"].as_str().unwrap().ends_with("ADT-A01-01.hl7"))
        .unwrap();
    assert!(adt["lab"].is_null(), "an ADT carries no lab results");

    // A broken file: non-zero exit naming the file and the position.
    let t = tempfile::tempdir().unwrap();
    let bad = t.path().join("broken.hl7");
    std::fs::write(
        &bad,
        "MSH|^~\\&|A|B|C|D|20240101||ORU^R01|1|P|2.5.1\rPID|1\rMSH|^\r",
    )
    .unwrap();
    let err = fails(&["hl7", "parse", d(&bad)]);
    assert!(
        err.contains("broken.hl7") && err.contains("message 2 at byte"),
        "{err}"
    );
}

#[test]
fn demo_analyzer_delivers_results_over_mutual_tls() {
    let t = tempfile::tempdir().unwrap();
    let dd = t.path().join("demo");
    let out = ok(&[
        "demo",
        "--data-dir",
        d(&dd),
        "--patients",
        "10",
        "--messages",
        "3",
        "--interval",
        "0",
        "--listen",
        "127.0.0.1:0",
        "--mllp-tls-listen",
        "127.0.0.1:0",
        "--mllp-tcp-listen",
        "off",
    ]);
    assert!(out.contains("over mutual TLS"), "{out}");
    assert_eq!(out.matches("ACK AA").count(), 3, "{out}");
    // The listener filed them, as the enrolled device, with the original message kept.
    let db = dd.join("labguard.db");
    let c = rusqlite::Connection::open(&db).unwrap();
    let inbound: i64 = c
        .query_row("SELECT COUNT(*) FROM inbound_messages", [], |r| r.get(0))
        .unwrap();
    // Three ORU^R01 from chem-1 (HL7); from heme-1 (ASTM over mutual TLS) its QC run and
    // three blood counts; from gluco-1 (POCT1-A2) its control run and three readings.
    assert_eq!(inbound, 11, "{out}");
    assert!(
        out.contains("gluco-1 -> POCT1-A2 docking: 4 of 4 observation messages accepted"),
        "{out}"
    );
    // One bedside reading was taken under a badge no one on the staff list wears.
    let unknown_operator: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM held_results WHERE reasons LIKE '%unknown-operator%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unknown_operator, 1, "{out}");
    assert!(out.contains("heme-1 -> ASTM QC run"), "{out}");
    assert_eq!(
        out.matches("blood count for a demo patient: Delivered")
            .count(),
        3,
        "{out}"
    );
    // The control run broke 1-3s: a qc-rejected alert.
    let qc_alerts: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM instrument_alerts WHERE kind = 'qc-rejected'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(qc_alerts >= 1, "no qc-rejected alert in the demo: {out}");
    // Messages 2 and 3 carry one patient's potassium, 4.1 then 6.9 mmol/L ten minutes
    // later: the second is held by the delta check for the review queue.
    let delta_held: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM held_results WHERE state = 'held' AND reasons LIKE '%delta-check%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(delta_held >= 1, "no delta-check hold in the demo: {out}");
    // Weeks of history and a snooping technologist: the scan opened her case, with each
    // kind of snooping the demo plays, and nobody else's.
    assert!(out.contains("a snooping technologist"), "{out}");
    let mut detectors: Vec<String> = c
        .prepare("SELECT DISTINCT detector FROM privacy_alerts ORDER BY detector")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    detectors.sort();
    for d in [
        "after-hours",
        "co-worker",
        "no-relationship",
        "same-surname",
        "volume",
    ] {
        assert!(
            detectors.iter().any(|x| x == d),
            "no {d} alert: {detectors:?}"
        );
    }
    let cases = ok(&["privacy", "cases", "--data-dir", d(&dd), "--format", "json"]);
    let cases: serde_json::Value = serde_json::from_str(&cases).unwrap();
    let cases = cases.as_array().unwrap();
    assert!(!cases.is_empty(), "no privacy case");
    assert!(
        cases.iter().all(|c| c["staff"] == "tess.tech"),
        "a case for someone who did not snoop: {cases:?}"
    );
    let devices = ok(&["devices", "list", "--data-dir", d(&dd)]);
    assert!(devices.contains("chem-1\tactive\tmutual TLS"), "{devices}");
    // A second run reuses the analyzer's enrollment rather than enrolling another.
    ok(&[
        "demo",
        "--data-dir",
        d(&dd),
        "--messages",
        "1",
        "--interval",
        "0",
        "--listen",
        "127.0.0.1:0",
        "--mllp-tls-listen",
        "127.0.0.1:0",
        "--mllp-tcp-listen",
        "off",
    ]);
    let devices = ok(&["devices", "list", "--data-dir", d(&dd)]);
    assert!(!devices.contains("chem-1-2"), "{devices}");
    assert!(
        devices.contains("heme-1\tactive\tmutual TLS\tastm"),
        "{devices}"
    );
    assert!(!devices.contains("heme-1-2"), "{devices}");
    assert!(!devices.contains("gluco-1-2"), "{devices}");
    assert!(
        devices.contains("gluco-1\tactive\tmutual TLS\tpoct"),
        "{devices}"
    );
    ok(&["audit", "verify", "--data-dir", d(&dd)]);
}

#[test]
fn a_closed_output_pipe_ends_the_command_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let files: Vec<String> = std::fs::read_dir(CORPUS)
        .unwrap()
        .map(|e| e.unwrap().path().to_str().unwrap().to_string())
        .collect();
    // Far more output than a pipe buffers, so the writer meets the closed pipe.
    let mut args = vec!["hl7".to_string(), "parse".to_string()];
    for _ in 0..40 {
        args.extend(files.iter().cloned());
    }
    let mut child = bin()
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The reader is gone now (`| head -c 16`).
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(141), "{out:?}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
