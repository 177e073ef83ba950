//! A whole run of `labguard serve` at trace level, HTTPS and MLLP, good and bad input
//! carrying a seeded patient: the log (JSON lines on stderr) must name none of the
//! patient's identifiers, while still showing what happened (request and conversation
//! spans, message outcomes). `/metrics` then counts the same events, without identifiers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::*;
use labguard_testkit::https::{call, sign_in};
use labguard_testkit::spawn_serve_logging;
use serde_json::{json, Value};

const FAMILY: &str = "Quizzlewhitt";
const GIVEN: &str = "Ophelia";
const MRN: &str = "MRN-PHI-93817";
const TOKEN: &str = "scrape-0a1b2c3d4e5f60718293";

/// An ORU^R01 from CHEM/CORELAB for the seeded patient, `obx_value` as OBX-5.
fn oru(control: &str, mrn: &str, obx_value: &str) -> String {
    format!(
        "MSH|^~\\&|CHEM|CORELAB|LABGUARD|LAB|20261102093000||ORU^R01^ORU_R01|{control}|P|2.5.1\r\
         PID|1||{mrn}^^^LAB^MR||{FAMILY}^{GIVEN}||19310227|F\r\
         OBR|1|PL{control}|FI{control}|2345-7^Glucose^LN|||20261102083000\r\
         OBX|1|NM|2345-7^Glucose^LN||{obx_value}|mg/dL|70-99|N|||F|||20261102090000\r"
    )
}

/// Sends one MLLP frame and returns the ACK's text (empty if the connection closed).
fn send(port: u16, msg: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = s.write_all(format!("\x0b{msg}\x1c\r").as_bytes());
    let mut ack = Vec::new();
    let mut byte = [0u8; 1];
    while !ack.ends_with(b"\x1c\r") {
        match s.read(&mut byte) {
            Ok(1) => ack.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&ack).into_owned()
}

fn metrics(base: &str) -> String {
    let o = std::process::Command::new("curl")
        .args(["-sk", "--max-time", "20", "-H"])
        .arg(format!("Authorization: Bearer {TOKEN}"))
        .arg(format!("{base}/metrics"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_trace_level_run_logs_no_phi_and_metrics_count_without_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let dd = dir.path().join("lab");
    let dd = d(&dd);
    ok(&["init", "--data-dir", dd, "--admin", "none"]);
    ok(&[
        "patients",
        "add",
        "--data-dir",
        dd,
        "--mrn",
        MRN,
        "--family",
        FAMILY,
        "--given",
        GIVEN,
        "--birth-date",
        "1931-02-27",
    ]);
    ok(&[
        "devices",
        "enroll",
        "--data-dir",
        dd,
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
    let user: Value = serde_json::from_str(&ok(&[
        "users",
        "add",
        "--data-dir",
        dd,
        "--username",
        "tech.ana",
        "--role",
        "lab-technologist",
        "--format",
        "json",
    ]))
    .unwrap();

    let (port, mllp) = (free_port(), free_port());
    let mllp_addr = format!("127.0.0.1:{mllp}");
    let mut cmd = bin();
    cmd.args(["serve", "--data-dir", dd, "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--mllp-tls-listen", "off", "--mllp-tcp-listen", &mllp_addr])
        .env("RUST_LOG", "debug")
        .env("LABGUARD_LOG_FORMAT", "json")
        .env("LABGUARD_METRICS_TOKEN", TOKEN);
    let log_path = dir.path().join("serve.log");
    let (srv, base) = spawn_serve_logging(cmd, port, &log_path);

    // Instruments: a result filed, an unknown patient (held), malformed fields, garbage.
    assert!(send(mllp, &oru("C1", MRN, "95")).contains("MSA|AA|C1"));
    assert!(send(mllp, &oru("C2", "MRN-PHI-00000", "96")).contains("|C2"));
    let bad = send(mllp, &oru("C3", MRN, &format!("{FAMILY}-{MRN}")));
    assert!(bad.contains("|C3"), "{bad}");
    let _ = send(mllp, &format!("PID|1||{MRN}||{FAMILY}^{GIVEN}\r"));

    // People: a signed-in search and a patient read, bad requests naming the patient.
    let who = sign_in(
        &base,
        "tech.ana",
        user["password"].as_str().unwrap(),
        user["totp_secret"].as_str().unwrap(),
        0,
    );
    let url = |p: &str| format!("{base}{p}");
    let r = call(
        "POST",
        &url("/api/v1/me/password"),
        Some(&who),
        Some(
            &json!({
                "current_password": user["password"],
                "new_password": "correct horse battery staple lab"
            })
            .to_string(),
        ),
    );
    assert_eq!(r.status, 204, "password change: {}", r.body);
    let found = call(
        "POST",
        &url("/api/v1/patients/search"),
        Some(&who),
        Some(&json!({ "mrn": MRN }).to_string()),
    );
    assert_eq!(found.status, 200, "{}", found.body);
    assert!(
        found.body.contains(FAMILY),
        "the search must find the patient"
    );
    let id = serde_json::from_str::<Value>(&found.body).unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        call(
            "GET",
            &url(&format!("/api/v1/patients/{id}")),
            Some(&who),
            None
        )
        .status,
        200
    );
    let long = json!({ "mrn": format!("{MRN}{}", "9".repeat(80)) }).to_string();
    let r = call(
        "POST",
        &url("/api/v1/patients/search"),
        Some(&who),
        Some(&long),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    let r = call(
        "POST",
        &url("/api/v1/patients/search"),
        None,
        Some(&json!({ "family": FAMILY }).to_string()),
    );
    assert_eq!(r.status, 401);
    let r = call(
        "GET",
        &url(&format!("/api/v1/patients/{MRN}?family={FAMILY}")),
        Some(&who),
        None,
    );
    assert!(r.status >= 400, "{}", r.status);

    // Metrics count the same events, by fixed labels only.
    let mut text = String::new();
    for _ in 0..50 {
        text = metrics(&base);
        if text.contains(r#"labguard_instrument_messages_total{protocol="hl7",outcome="filed"} 3"#)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for want in [
        r#"labguard_instrument_messages_total{protocol="hl7",outcome="filed"} 3"#,
        r#"labguard_instrument_messages_total{protocol="hl7",outcome="rejected"}"#,
        r#"labguard_instrument_connections_total{protocol="hl7",outcome="accepted"} 4"#,
        r#"labguard_http_requests_total{method="POST",status="4xx"}"#,
        r#"labguard_http_request_duration_seconds_count{route="/api/v1/patients/{id}"}"#,
        "labguard_sign_ins_total 1",
        "# EOF",
    ] {
        assert!(text.contains(want), "/metrics lacks {want}:\n{text}");
    }
    for secret in [FAMILY, MRN, "127.0.0.1", "chem-legacy", "tech.ana", &id] {
        assert!(!text.contains(secret), "/metrics names {secret}");
    }
    drop(srv);

    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    // The log shows what happened: requests with their ids, conversations with theirs.
    let has = |f: &dyn Fn(&Value) -> bool| lines.iter().any(f);
    assert!(
        has(&|v| v["message"] == "request" && v["span"]["id"].is_string()),
        "no request events in the log"
    );
    assert!(
        has(&|v| v["message"] == "message filed"
            && v["span"]["name"] == "conversation"
            && v["span"]["device"] == "chem-legacy"),
        "no conversation-scoped 'message filed' event in the log"
    );
    assert!(has(&|v| v["message"] == "message rejected (AR/AE answered)"));
    for phi in [
        FAMILY,
        &FAMILY.to_lowercase(),
        GIVEN,
        MRN,
        "PHI-93817",
        "19310227",
        "1931-02-27",
        &id,
    ] {
        if let Some(l) = log.lines().find(|l| l.contains(phi)) {
            panic!("the log names {phi}: {l}");
        }
    }
}
