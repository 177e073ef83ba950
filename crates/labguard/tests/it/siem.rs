//! `labguard siem export` and `labguard serve --siem-jsonl`: the events carry the audit
//! log's pseudonyms, never the patient's name, MRN or row id; the syslog form is
//! octet-counted RFC 5424.

use crate::common::*;

fn seed(dd: &str) {
    ok(&["init", "--data-dir", dd]);
    ok(&[
        "patients",
        "add",
        "--data-dir",
        dd,
        "--mrn",
        "M-SIEM-4411",
        "--family",
        "Trevelyan",
        "--given",
        "Oona",
        "--birth-date",
        "1984-07-09",
    ]);
    ok(&["patients", "find", "--data-dir", dd, "--mrn", "M-SIEM-4411"]);
}

fn no_phi(bytes: &[u8]) {
    for needle in ["M-SIEM-4411", "Trevelyan", "Oona", "1984-07-09"] {
        assert!(!labguard_testkit::contains(bytes, needle), "{needle}");
    }
}

#[test]
fn siem_export_prints_pseudonymous_json_lines_and_octet_counted_syslog() {
    let t = tempfile::tempdir().unwrap();
    let dd = t.path().join("lab");
    let dd = d(&dd);
    seed(dd);
    let out = ok(&["siem", "export", "--data-dir", dd, "--format", "jsonl"]);
    no_phi(out.as_bytes());
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines
        .iter()
        .any(|v| v["fields"]["action"] == "patient.create"));
    let seqs: Vec<&str> = lines
        .iter()
        .filter(|v| v["kind"] == "audit")
        .map(|v| v["fields"]["seq"].as_str().unwrap())
        .collect();
    assert_eq!(seqs[0], "0");

    let later = ok(&["siem", "export", "--data-dir", dd, "--since", "2"]);
    assert!(
        later.lines().next().unwrap().contains("\"seq\":\"2\""),
        "{later}"
    );

    let raw = bin()
        .args(["siem", "export", "--data-dir", dd, "--format", "syslog"])
        .output()
        .unwrap();
    assert!(raw.status.success());
    no_phi(&raw.stdout);
    let mut d = labguard_siem::Deframer::new(labguard_siem::MAX_FRAME);
    d.push(&raw.stdout);
    let mut n = 0;
    while let Some(m) = d.next_frame().unwrap() {
        let m = String::from_utf8(m).unwrap();
        assert!(
            m.starts_with('<') && m.contains(" labguard ") && m.contains("[labguard@32473 id=\""),
            "{m}"
        );
        n += 1;
    }
    assert_eq!(d.pending(), 0);
    assert!(n >= seqs.len());
}

#[test]
fn serve_streams_events_to_a_json_lines_file() {
    let t = tempfile::tempdir().unwrap();
    let dd = t.path().join("lab");
    let dd = d(&dd);
    seed(dd);
    let file = t.path().join("events.jsonl");
    let port = labguard_testkit::free_port();
    let cmd = serve_cmd(&[], dd, port, &["--siem-jsonl", d(&file)]);
    let (_serve, _base) = labguard_testkit::spawn_serve(cmd, port);
    let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut text = String::new();
    while std::time::Instant::now() < end && !text.contains("siem.forward") {
        std::thread::sleep(std::time::Duration::from_millis(100));
        text = std::fs::read_to_string(&file).unwrap_or_default();
    }
    assert!(text.contains("\"patient.create\""), "{text}");
    assert!(text.contains("siem.forward"), "the start is an event too");
    no_phi(text.as_bytes());
}
