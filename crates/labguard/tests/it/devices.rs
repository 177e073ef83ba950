//! `labguard devices …` end to end through the binary: inventory, SBOM and advisory
//! imports (idempotent, hostile input refused whole), the JSON report, VEX export, the
//! exposure scan against a listener on 127.0.0.1, and assessments.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::common::*;
use serde_json::Value;

fn testdata(p: &str) -> String {
    format!(
        "{}/../labguard-devices/testdata/{p}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn json(args: &[&str]) -> Value {
    crate::common::json(&[args, &["--format", "json"]].concat())
}

fn lab(dir: &Path) -> String {
    let data = dir.join("data");
    let d = data.to_str().unwrap().to_string();
    ok(&["init", "--data-dir", &d]);
    ok(&[
        "devices",
        "add",
        "--data-dir",
        &d,
        "--name",
        "an-1",
        "--kind",
        "analyzer",
        "--manufacturer",
        "Example Diagnostics",
        "--model",
        "HemaLyzer 5",
        "--firmware",
        "4.2.0",
        "--address",
        "10.20.0.15",
        "--stores-phi",
        "--connectivity",
        "hl7-mllp",
    ]);
    d
}

fn find<'a>(report: &'a Value, device: &str) -> &'a Value {
    report["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == device)
        .unwrap_or_else(|| panic!("{device} not in report"))
}

#[test]
fn inventory_imports_report_and_vex_export() {
    let dir = tempfile::tempdir().unwrap();
    let d = lab(dir.path());
    // A legacy plain-TCP instrument of the same name as a new device is linked to it.
    ok(&[
        "devices",
        "enroll",
        "--data-dir",
        &d,
        "--name",
        "heme-1",
        "--facility",
        "LAB",
        "--legacy-tcp",
        "--allow",
        "10.0.0.9",
    ]);
    ok(&[
        "devices",
        "add",
        "--data-dir",
        &d,
        "--name",
        "heme-1",
        "--kind",
        "analyzer",
        "--manufacturer",
        "Example Diagnostics",
        "--model",
        "HemaLyzer 5",
        "--firmware",
        "4.2.0",
        "--address",
        "10.0.0.9",
    ]);
    ok(&[
        "devices",
        "enroll",
        "--data-dir",
        &d,
        "--name",
        "gluc-1",
        "--facility",
        "LAB",
        "--protocol",
        "poct",
        "--legacy-tcp",
        "--allow",
        "10.0.0.7",
    ]);
    let inv = json(&["devices", "inventory", "--data-dir", &d]);
    // The enrolment's protocol is in the inventory JSON (and `devices list`).
    let gluc = inv
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["asset"]["id"] == "gluc-1")
        .unwrap();
    assert_eq!(gluc["instrument"]["protocol"], "poct", "{gluc}");
    assert!(ok(&["devices", "list", "--data-dir", &d]).contains("\tpoct\t"));
    let names: Vec<&str> = inv
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["asset"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["an-1", "gluc-1", "heme-1"]);
    // Enrolled instruments still work as before.
    assert!(ok(&["devices", "list", "--data-dir", &d]).contains("legacy plain TCP"));

    // CycloneDX XML and SPDX 2.3 JSON import too.
    ok(&[
        "devices",
        "add",
        "--data-dir",
        &d,
        "--name",
        "cent-1",
        "--kind",
        "centrifuge",
        "--manufacturer",
        "Spinwell",
        "--model",
        "SW-24",
        "--firmware",
        "1.1.5",
    ]);
    ok(&[
        "devices",
        "add",
        "--data-dir",
        &d,
        "--name",
        "gluc-dock",
        "--kind",
        "glucose-meter",
        "--manufacturer",
        "Pointcare",
        "--model",
        "Dock",
        "--firmware",
        "3.0.2",
    ]);
    let x = json(&[
        "devices",
        "import-sbom",
        "--data-dir",
        &d,
        "--device",
        "cent-1",
        &testdata("lab/centrifuge.cdx-1.4.xml"),
    ]);
    assert!(x["components"].as_u64().unwrap() > 0, "{x}");
    let x = json(&[
        "devices",
        "import-sbom",
        "--data-dir",
        &d,
        "--device",
        "gluc-dock",
        &testdata("spdx/glucose-dock-2.3.spdx.json"),
    ]);
    assert!(x["components"].as_u64().unwrap() > 0, "{x}");
    let sbom = testdata("lab/analyzer-firmware.cdx-1.6.json");
    for dev in ["an-1", "heme-1"] {
        ok(&[
            "devices",
            "import-sbom",
            "--data-dir",
            &d,
            "--device",
            dev,
            &sbom,
        ]);
    }
    let advisories = [
        testdata("osv"),
        testdata("kev/known_exploited_vulnerabilities.json"),
        testdata("csaf/hemalyzer-vex-2.0.json"),
        testdata("lab/nvd-hemalyzer-log4shell.json"),
    ];
    let mut args = vec!["devices", "import-advisories", "--data-dir", &d];
    args.extend(advisories.iter().map(String::as_str));
    let first = json(&args);
    assert!(first["new"].as_u64().unwrap() > 1000, "{first}");
    assert_eq!(first["vex_documents_new"], 1);
    let again = json(&args);
    assert_eq!(
        (again["new"].as_u64(), again["updated"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(again["unchanged"], first["new"]);

    let report = json(&["devices", "report", "--data-dir", &d]);
    let an = find(&report, "an-1");
    let f = &an["findings"][0];
    assert_eq!(f["id"], "CVE-2021-23337");
    assert_eq!(f["aliases"][0], "GHSA-35jh-r3h4-6jhm");
    assert_eq!(
        (f["component"].as_str(), f["component_version"].as_str()),
        (Some("lodash"), Some("4.17.15"))
    );
    assert_eq!(f["kev"], false);
    assert_eq!(f["severity"], "critical");
    // Critical: 15 days from first sight.
    let t = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!((t(&f["deadline"]) - t(&f["first_seen"])).num_days(), 15);
    assert_eq!(f["overdue"], false);
    // The vendor's CSAF not_affected statement suppresses Log4Shell, justification shown.
    let sup = an["suppressed"].as_array().unwrap();
    let l4j = sup
        .iter()
        .find(|s| s["id"] == "CVE-2021-44228")
        .expect("log4shell suppressed");
    assert_eq!(l4j["vex_status"], "not_affected");
    assert_eq!(l4j["vex_justification"], "vulnerable_code_not_present");
    // heme-1 is the same device on a legacy plain-TCP link: weaker authentication raises it.
    let heme = find(&report, "heme-1");
    assert_eq!(heme["weak_authentication"], true);
    let factors = heme["findings"][0]["risk_factors"].to_string();
    assert!(factors.contains("plain-TCP"), "{factors}");
    assert!(find(&report, "gluc-1")["weak_authentication"] == true);
    assert!(!report["remediation"].as_array().unwrap().is_empty());
    let base = an["findings"][0]["score"].as_f64().unwrap();

    // A compensating control lowers the score; the change is in the history.
    ok(&[
        "devices",
        "control",
        "--data-dir",
        &d,
        "--device",
        "an-1",
        "--description",
        "VLAN 20, ACL to LIS only",
    ]);
    let report = json(&["devices", "report", "--data-dir", &d, "--device", "an-1"]);
    let after = find(&report, "an-1")["findings"][0]["score"]
        .as_f64()
        .unwrap();
    assert!(after < base, "{after} < {base}");
    // First sight is kept between reports; the lower priority (high) allows 30 days.
    let g = &find(&report, "an-1")["findings"][0];
    assert_eq!(g["first_seen"], f["first_seen"]);
    assert_eq!(g["severity"], "high");
    assert_eq!((t(&g["deadline"]) - t(&g["first_seen"])).num_days(), 30);
    ok(&[
        "devices",
        "update",
        "--data-dir",
        &d,
        "--name",
        "an-1",
        "--firmware",
        "4.3.0",
    ]);
    let hist = ok(&["devices", "history", "--data-dir", &d, "an-1"]);
    for want in [
        "device.create",
        "sbom.import",
        "device.control.add",
        "device.update",
        "firmware_version: \"4.2.0\" -> \"4.3.0\"",
    ] {
        assert!(hist.contains(want), "{want} missing from\n{hist}");
    }

    // With a zero-day policy the same findings are overdue on the next report: flagged,
    // alerted, and first in the fleet list.
    let report = json(&[
        "devices",
        "report",
        "--data-dir",
        &d,
        "--critical-days",
        "0",
        "--high-days",
        "0",
    ]);
    let first = &report["remediation"][0];
    assert_eq!(first["overdue"], true, "{first}");
    assert!(report["overdue_findings"].as_u64().unwrap() >= 2);
    assert!(
        report["alerts"][0].as_str().unwrap().contains("overdue"),
        "{}",
        report["alerts"]
    );

    // VEX export: a CycloneDX document labguard-devices reads back.
    let out = dir.path().join("heme-1.vex.json");
    ok(&[
        "devices",
        "export-vex",
        "--data-dir",
        &d,
        "--device",
        "heme-1",
        "--out",
        out.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&out).unwrap();
    let doc = labguard_devices::advisory::parse_cyclonedx_vex(&bytes).unwrap();
    let ids: Vec<&str> = doc
        .statements
        .iter()
        .map(|s| s.vulnerability.as_str())
        .collect();
    assert!(ids.contains(&"CVE-2021-23337"), "{ids:?}");
    assert!(ids.contains(&"CVE-2021-44228"), "{ids:?}");
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    let l4j = v["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "CVE-2021-44228")
        .unwrap();
    assert_eq!(l4j["analysis"]["state"], "not_affected");
    assert_eq!(l4j["analysis"]["justification"], "code_not_present");

    // Assessments: the operator signs off; the schedule shows the next due date.
    let a = json(&[
        "devices",
        "assess",
        "--data-dir",
        &d,
        "--device",
        "an-1",
        "--pass",
        "encryption-on,backups",
        "--fail",
        "default-passwords-changed",
        "--finding",
        "service account on vendor password",
        "--evidence",
        out.to_str().unwrap(),
        "--sign-off",
    ]);
    assert!(a["signed_off_by"]
        .as_str()
        .unwrap()
        .starts_with("operator:"));
    assert!(a["evidence"][0].as_str().unwrap().contains("sha256:"));
    assert!(fails(&[
        "devices",
        "assess",
        "--data-dir",
        &d,
        "--device",
        "an-1",
        "--pass",
        "vibes"
    ])
    .contains("unknown checklist item"));
    let sched = json(&["devices", "schedule", "--data-dir", &d]);
    assert_eq!(sched.as_array().unwrap().len(), 5);
    ok(&["audit", "verify", "--data-dir", &d]);
}

fn zip_file(path: &Path, entries: &[(&str, &[u8])]) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn hostile_inputs_are_refused_whole_with_file_and_entry_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = lab(dir.path());
    let p = |n: &str| -> PathBuf { dir.path().join(n) };
    let good = std::fs::read(testdata("osv/GHSA-35jh-r3h4-6jhm.json")).unwrap();

    // A zip bomb: one entry inflating past the per-entry cap, after a good record.
    let zeros = vec![b' '; 17 * 1024 * 1024];
    zip_file(
        &p("bomb.zip"),
        &[("GHSA-good.json", &good), ("boom.json", &zeros)],
    );
    let err = fails(&[
        "devices",
        "import-advisories",
        "--data-dir",
        &d,
        p("bomb.zip").to_str().unwrap(),
    ]);
    assert!(
        err.contains("bomb.zip") && err.contains("boom.json"),
        "{err}"
    );
    // A bad record inside an archive: named, and the good one before it not kept either.
    zip_file(
        &p("bad.zip"),
        &[("GHSA-good.json", &good), ("bad.json", b"{\"id\": 5}")],
    );
    let err = fails(&[
        "devices",
        "import-advisories",
        "--data-dir",
        &d,
        p("bad.zip").to_str().unwrap(),
    ]);
    assert!(
        err.contains("bad.zip") && err.contains("entry bad.json"),
        "{err}"
    );
    // Deep nesting and garbage.
    let deep = format!(
        "{{\"id\":\"X-1\",\"affected\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    std::fs::write(p("deep.json"), deep).unwrap();
    let err = fails(&[
        "devices",
        "import-advisories",
        "--data-dir",
        &d,
        p("deep.json").to_str().unwrap(),
    ]);
    assert!(
        err.contains("deep.json") && err.contains("nothing imported"),
        "{err}"
    );
    std::fs::write(
        p("deep-sbom.json"),
        format!(
            "{{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",\"components\":{}",
            "[".repeat(100_000)
        ),
    )
    .unwrap();
    let err = fails(&[
        "devices",
        "import-sbom",
        "--data-dir",
        &d,
        "--device",
        "an-1",
        p("deep-sbom.json").to_str().unwrap(),
    ]);
    assert!(err.contains("deep-sbom.json"), "{err}");
    let err = fails(&[
        "devices",
        "import-advisories",
        "--data-dir",
        &d,
        &testdata("lab/analyzer-firmware.cdx-1.6.json"),
    ]);
    assert!(err.contains("without vulnerabilities"), "{err}");
    std::fs::write(p("junk.zip"), b"PK\x03\x04 not really").unwrap();
    let err = fails(&[
        "devices",
        "import-advisories",
        "--data-dir",
        &d,
        p("junk.zip").to_str().unwrap(),
    ]);
    assert!(err.contains("junk.zip"), "{err}");

    // Nothing of any of them was stored: the report has no findings at all.
    ok(&[
        "devices",
        "import-sbom",
        "--data-dir",
        &d,
        "--device",
        "an-1",
        &testdata("lab/analyzer-firmware.cdx-1.6.json"),
    ]);
    let report = json(&["devices", "report", "--data-dir", &d]);
    assert_eq!(
        find(&report, "an-1")["findings"].as_array().unwrap().len(),
        0
    );
    // A sound archive imports (every entry), and the same record on its own is then unchanged.
    let other = std::fs::read(testdata("osv/GHSA-p6mc-m468-83gw.json")).unwrap();
    zip_file(
        &p("good.zip"),
        &[
            ("a/GHSA-35jh-r3h4-6jhm.json", &good),
            ("a/GHSA-p6mc-m468-83gw.json", &other),
            ("README.md", b"not json"),
        ],
    );
    let s = json(&[
        "devices",
        "import-advisories",
        "--data-dir",
        &d,
        p("good.zip").to_str().unwrap(),
    ]);
    assert_eq!(
        (s["new"].as_u64(), s["files"].as_u64()),
        (Some(2), Some(1)),
        "{s}"
    );
    let s = json(&[
        "devices",
        "import-advisories",
        "--data-dir",
        &d,
        &testdata("osv/GHSA-35jh-r3h4-6jhm.json"),
    ]);
    assert_eq!(
        (s["new"].as_u64(), s["unchanged"].as_u64()),
        (Some(0), Some(1)),
        "{s}"
    );
    let report = json(&["devices", "report", "--data-dir", &d]);
    assert_eq!(
        find(&report, "an-1")["findings"].as_array().unwrap().len(),
        2
    );
}

#[test]
fn every_cyclonedx_corpus_file_imports() {
    let corpus =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../labguard-devices/testdata/cyclonedx");
    let dir = tempfile::tempdir().unwrap();
    let d = lab(dir.path());
    let mut files = Vec::new();
    fn walk(p: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "json" || x == "xml") {
                out.push(p);
            }
        }
    }
    walk(&corpus, &mut files);
    files.sort();
    assert!(files.len() >= 40, "{}", files.len());
    let (mut boms, mut vex) = (0, 0);
    for (i, f) in files.iter().enumerate() {
        let name = f.file_name().unwrap().to_str().unwrap();
        let path = f.to_str().unwrap();
        if name.starts_with("vex") {
            ok(&["devices", "import-advisories", "--data-dir", &d, path]);
            vex += 1;
        } else {
            ok(&[
                "devices",
                "import-sbom",
                "--data-dir",
                &d,
                "--device",
                "an-1",
                "--firmware-version",
                &format!("v{i}"),
                path,
            ]);
            boms += 1;
        }
    }
    assert!(boms >= 10 && vex >= 20, "{boms} {vex}");
}

#[test]
fn scan_reports_open_telnet_on_the_configured_address_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = lab(dir.path());
    // Without an address configured the scan refuses to run.
    ok(&[
        "devices",
        "add",
        "--data-dir",
        &d,
        "--name",
        "cent-1",
        "--kind",
        "centrifuge",
        "--manufacturer",
        "Spinwell",
        "--model",
        "SW-24",
    ]);
    assert!(
        fails(&["devices", "scan", "--data-dir", &d, "--device", "cent-1"])
            .contains("no network address")
    );

    let telnet = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tport = telnet.local_addr().unwrap().port();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    ok(&[
        "devices",
        "add",
        "--data-dir",
        &d,
        "--name",
        "ws-1",
        "--kind",
        "workstation",
        "--manufacturer",
        "Generic",
        "--model",
        "PC",
        "--address",
        "127.0.0.1",
    ]);
    let ports = format!("{tport}:telnet,{closed}:ftp");
    let r = json(&[
        "devices",
        "scan",
        "--data-dir",
        &d,
        "--device",
        "ws-1",
        "--ports",
        &ports,
        "--timeout-ms",
        "2000",
    ]);
    assert_eq!(r["address"], "127.0.0.1");
    assert_eq!(r["open_ports"], serde_json::json!([tport]));
    let f = &r["findings"][0];
    assert_eq!(
        (
            f["port"].as_u64(),
            f["level"].as_str(),
            f["service"].as_str()
        ),
        (Some(u64::from(tport)), Some("high"), Some("telnet"))
    );
    assert!(ok(&["devices", "history", "--data-dir", &d, "ws-1"]).contains("device.create"));
    // The newest scan shows in the device's report entry.
    let report = json(&["devices", "report", "--data-dir", &d, "--device", "ws-1"]);
    let exp = &find(&report, "ws-1")["exposure"];
    assert_eq!(exp["findings"][0]["service"], "telnet", "{exp}");
    drop(telnet);
}
