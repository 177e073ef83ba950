//! The CLI driven from outside, as an operator or an auditor would.

use crate::common::*;

#[test]
fn init_add_find_verify_and_tamper() {
    let t = tempfile::tempdir().unwrap();
    let dd = t.path().join("lab");
    let dd = d(&dd);
    ok(&["init", "--data-dir", dd]);
    // Init never touches an existing database.
    assert!(fails(&["init", "--data-dir", dd]).contains("already"));
    let kek = std::fs::metadata(t.path().join("lab/kek.key")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(kek.permissions().mode() & 0o777, 0o600);
    ok(&[
        "patients",
        "add",
        "--data-dir",
        dd,
        "--mrn",
        "M-100",
        "--family",
        "Wolkenstein",
        "--given",
        "Odalys",
        "--birth-date",
        "1984-07-09",
    ]);
    let out = ok(&["patients", "find", "--data-dir", dd, "--mrn", "M-100"]);
    assert!(
        out.contains("Wolkenstein") && out.contains("1984-07-09"),
        "{out}"
    );
    let json = ok(&[
        "patients",
        "find",
        "--data-dir",
        dd,
        "--mrn",
        "M-100",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[0]["given"], "Odalys");
    assert!(
        fails(&["patients", "find", "--data-dir", dd, "--mrn", "M-404"])
            .contains("no matching patient")
    );
    assert!(fails(&[
        "patients",
        "add",
        "--data-dir",
        dd,
        "--mrn",
        "M-100",
        "--family",
        "X",
        "--given",
        "Y",
        "--birth-date",
        "1990-01-01",
    ])
    .contains("already exists"));
    assert!(fails(&[
        "patients",
        "add",
        "--data-dir",
        dd,
        "--mrn",
        "M-101",
        "--family",
        "X",
        "--given",
        "Y",
        "--birth-date",
        "1990-13-01",
    ])
    .contains("YYYY-MM-DD"));
    let out = ok(&["audit", "verify", "--data-dir", dd]);
    assert!(out.contains("audit log intact"), "{out}");

    // Change one audit entry's bytes directly in the SQLite file.
    let db = rusqlite::Connection::open(t.path().join("lab/labguard.db")).unwrap();
    let n: i64 = db
        .query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))
        .unwrap();
    assert!(n >= 4);
    db.execute("UPDATE audit_log SET entry = CAST(REPLACE(CAST(entry AS TEXT), 'operator', 'operatos') AS BLOB) WHERE seq = 2", []).unwrap();
    drop(db);
    let err = fails(&["audit", "verify", "--data-dir", dd]);
    assert!(err.contains("entry 2"), "{err}");
}

#[test]
fn proofs_round_trip_through_the_cli_and_agree_with_the_corpus() {
    let t = tempfile::tempdir().unwrap();
    let dd = t.path().join("lab");
    let dd = d(&dd);
    ok(&["demo", "--data-dir", dd, "--seed-only", "--patients", "5"]);
    let proof = ok(&["audit", "proof", "--data-dir", dd, "--index", "3"]);
    let pf = t.path().join("p.json");
    std::fs::write(&pf, &proof).unwrap();
    assert!(ok(&["audit", "verify-proof", d(&pf)]).contains("verifies"));
    let mut v: serde_json::Value = serde_json::from_str(&proof).unwrap();
    v["leafIdx"] = serde_json::json!(4);
    std::fs::write(&pf, v.to_string()).unwrap();
    fails(&["audit", "verify-proof", d(&pf)]);
    let cons = ok(&["audit", "consistency", "--data-dir", dd, "--from", "7"]);
    std::fs::write(&pf, &cons).unwrap();
    ok(&["audit", "verify-proof", d(&pf)]);

    // Every vector of the transparency-dev corpus, through the binary.
    let corpus =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../labguard-audit/testdata/merkle");
    let mut n = 0;
    for kind in ["inclusion", "consistency"] {
        for dir in std::fs::read_dir(corpus.join(kind)).unwrap() {
            for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
                let f = f.unwrap().path();
                let text = std::fs::read_to_string(&f).unwrap();
                let want_err =
                    serde_json::from_str::<serde_json::Value>(&text).unwrap()["wantErr"] == true;
                let o = run(&["audit", "verify-proof", d(&f)]);
                assert_eq!(!o.status.success(), want_err, "{}", f.display());
                n += 1;
            }
        }
    }
    assert!(n > 80, "only {n} vectors");
}

#[test]
fn key_rotation_keeps_data_readable_and_resumes() {
    let t = tempfile::tempdir().unwrap();
    let dd = t.path().join("lab");
    let dd = d(&dd);
    ok(&["demo", "--data-dir", dd, "--seed-only", "--patients", "20"]);
    let before = ok(&[
        "results",
        "show",
        "--data-dir",
        dd,
        "--mrn",
        "DEMO-000003",
        "--format",
        "json",
    ]);
    let out = ok(&["keys", "rotate", "--data-dir", dd, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["to_version"], 2);
    assert_eq!(v["finished"], true);
    assert!(v["rows_reencrypted"].as_u64().unwrap() > 100);
    let after = ok(&[
        "results",
        "show",
        "--data-dir",
        dd,
        "--mrn",
        "DEMO-000003",
        "--format",
        "json",
    ]);
    assert_eq!(before, after);
    let db = rusqlite::Connection::open(t.path().join("lab/labguard.db")).unwrap();
    let old: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM results WHERE key_version < 2",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old, 0);
    let retired: i64 = db.query_row("SELECT COUNT(*) FROM keys WHERE purpose = 'data' AND state = 'retired' AND length(wrapped) = 0", [], |r| r.get(0)).unwrap();
    assert_eq!(retired, 1);
    drop(db);
    assert!(ok(&["audit", "verify", "--data-dir", dd]).contains("intact"));
}

#[test]
fn keys_status_shows_seals_per_data_key_version() {
    let t = tempfile::tempdir().unwrap();
    let dd = t.path().join("lab");
    let dd = d(&dd);
    ok(&["init", "--data-dir", dd]);
    ok(&[
        "patients",
        "add",
        "--data-dir",
        dd,
        "--mrn",
        "M-200",
        "--family",
        "Quillfeather",
        "--given",
        "Ansel",
        "--birth-date",
        "1990-01-02",
    ]);
    let out = ok(&["keys", "status", "--data-dir", dd, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let keys = v["data_keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{out}");
    assert_eq!(keys[0]["version"], 1);
    assert!(keys[0]["seals"].as_u64().unwrap() > 0, "{out}");
    assert!(
        keys[0]["fraction_of_limit"].as_f64().unwrap() < 1e-6,
        "{out}"
    );
    assert_eq!(v["seal_limit"], 1u64 << 31);
    ok(&["keys", "rotate", "--data-dir", dd]);
    let text = ok(&["keys", "status", "--data-dir", dd]);
    assert!(text.contains("v1") && text.contains("retired"), "{text}");
    assert!(text.contains("v2") && text.contains("active"), "{text}");
}
