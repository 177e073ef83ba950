//! `labguard poct parse` on a real-shaped OBS.R01 and on hostile XML, and `labguard qc`
//! targets and history through the real binary.

use std::path::PathBuf;

use crate::common::*;
use serde_json::Value;

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../labguard-poct/testdata")
        .join(name)
}

#[test]
fn poct_parse_prints_results_with_patient_operator_and_lots() {
    let f = testdata("obs_r01.xml");
    let out = ok(&["poct", "parse", f.to_str().unwrap()]);
    let v: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["type"], "OBS.R01");
    assert_eq!(v["control_id"], "1043");
    let results = v["results"].as_array().unwrap();
    assert!(results.len() >= 2, "{v}");
    assert_eq!(results[0]["patient_id"], "MRN0042");
    assert_eq!(results[0]["analyte"], "41653-7");
    assert_eq!(results[0]["value"], "112");
    assert_eq!(results[0]["operator_id"], "RN-7781");
    assert_eq!(results[0]["reagent_lots"][0], "STRIP-2291");
    assert_eq!(results[1]["analyte"], "2345-7");
}

#[test]
fn poct_parse_refuses_entity_bombs_and_garbage_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.xml");
    std::fs::write(
        &bomb,
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]><OBS.R01><HDR><HDR.control_id V=\"&b;\"/></HDR></OBS.R01>",
    )
    .unwrap();
    let err = fails(&["poct", "parse", d(&bomb)]);
    assert!(err.contains("bomb.xml"), "{err}");
    assert!(!err.contains("aaaaaaaaaa"), "entity expanded: {err}");
    let junk = dir.path().join("junk.xml");
    std::fs::write(&junk, [0xff, 0xfe, b'<', 0, 0]).unwrap();
    let err = fails(&["poct", "parse", d(&junk)]);
    assert!(
        err.contains("junk.xml") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn qc_targets_are_validated_and_show_names_unknown_devices_and_levels() {
    let dir = tempfile::tempdir().unwrap();
    let dd = d(dir.path()).to_string();
    ok(&["init", "--data-dir", &dd]);
    ok(&[
        "devices",
        "enroll",
        "--data-dir",
        &dd,
        "--name",
        "chem-1",
        "--sending-app",
        "CHEM",
        "--sending-facility",
        "CORELAB",
        "--analytes",
        "2823-3",
        "--out",
        d(&dir.path().join("certs")),
    ]);
    let target = |level: &str, sd: &str| {
        vec![
            "qc".to_string(),
            "target".into(),
            "--data-dir".into(),
            dd.clone(),
            "--analyte".into(),
            "2823-3".into(),
            "--lot".into(),
            "LOT-7".into(),
            "--level".into(),
            level.into(),
            "--units".into(),
            "mmol/L".into(),
            "--mean".into(),
            "4.0".into(),
            "--sd".into(),
            sd.into(),
        ]
    };
    let args = target("1", "0.1");
    let out = ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.contains("LOT-7"), "{out}");
    let args = target("2", "0");
    let err = fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(err.contains("positive SD"), "{err}");
    let err = fails(&[
        "qc",
        "target",
        "--data-dir",
        &dd,
        "--analyte",
        "potassium",
        "--lot",
        "L",
        "--level",
        "1",
        "--units",
        "mmol/L",
        "--mean",
        "4",
        "--sd",
        "0.1",
    ]);
    assert!(err.contains("not a LOINC code"), "{err}");

    // No points yet: nothing printed; unknown device and level named.
    let out = ok(&[
        "qc",
        "show",
        "--data-dir",
        &dd,
        "--device",
        "chem-1",
        "--analyte",
        "2823-3",
    ]);
    assert!(out.trim().is_empty(), "{out}");
    let err = fails(&[
        "qc",
        "show",
        "--data-dir",
        &dd,
        "--device",
        "nope",
        "--analyte",
        "2823-3",
    ]);
    assert!(err.contains("\"nope\""), "{err}");
    let err = fails(&[
        "qc",
        "show",
        "--data-dir",
        &dd,
        "--device",
        "chem-1",
        "--analyte",
        "2823-3",
        "--svg",
        "9",
    ]);
    assert!(err.contains("level \"9\""), "{err}");
}

fn astm_testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../labguard-astm/testdata/chemistry.astm")
}

#[test]
fn astm_parse_reads_record_text_and_a_captured_e1381_transfer_alike() {
    let text = std::fs::read(astm_testdata()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<&[u8]> = text
        .split(|b| *b == b'\r')
        .filter(|r| !r.is_empty())
        .collect();
    let capture = dir.path().join("capture.bin");
    std::fs::write(&capture, labguard_astm::encode::wire(&records)).unwrap();

    let plain: Value =
        serde_json::from_str(&ok(&["astm", "parse", astm_testdata().to_str().unwrap()])).unwrap();
    let framed: Value = serde_json::from_str(&ok(&["astm", "parse", d(&capture)])).unwrap();
    assert_eq!(plain["framed"], false);
    assert_eq!(framed["framed"], true);
    assert_eq!(plain["sender"], "CHEMAN");
    assert_eq!(
        plain["records"], framed["records"],
        "unframing changed the records"
    );
    let results = plain["lab"]["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        framed["lab"]["results"].as_array().unwrap().len()
    );
    assert!(!results.is_empty(), "{plain}");
    assert!(results
        .iter()
        .any(|r| r["value"] == "5.6" && r["units"] == "mmol/L"));

    // A frame with a wrong checksum in a capture: named, not parsed into nonsense.
    let mut bad = labguard_astm::encode::wire(&records);
    let stx = bad.iter().position(|b| *b == 0x02).unwrap();
    bad[stx + 3] ^= 0x20;
    let broken = dir.path().join("broken.bin");
    std::fs::write(&broken, bad).unwrap();
    let out = run(&["astm", "parse", d(&broken)]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
