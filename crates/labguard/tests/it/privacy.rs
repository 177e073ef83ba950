//! `labguard privacy` from the console: an empty log scans to nothing, the HR import keeps
//! good lines and names bad ones by number, the dashboard and case list answer, and a
//! flag without a flag is refused.

use crate::common::*;

#[test]
fn privacy_commands_scan_import_and_report() {
    let t = tempfile::tempdir().unwrap();
    let dd = t.path().join("lab");
    let dd = d(&dd);
    ok(&["init", "--data-dir", dd, "--admin", "none"]);
    ok(&[
        "users",
        "add",
        "--data-dir",
        dd,
        "--username",
        "ana",
        "--role",
        "front-desk",
        "--email",
        "ana@lab.example.org",
    ]);

    let scan = json(&["privacy", "scan", "--data-dir", dd, "--format", "json"]);
    assert_eq!(scan["examined"], 0);
    assert_eq!(scan["alerts"], 0);

    let csv = t.path().join("hr.csv");
    std::fs::write(
        &csv,
        "username,surname,address,department\nana,Lindqvist,1 Main St,front\nnobody,X,,\nbroken line\n",
    )
    .unwrap();
    let import = json(&[
        "privacy",
        "profile",
        "import",
        "--data-dir",
        dd,
        d(&csv),
        "--format",
        "json",
    ]);
    assert_eq!(import["imported"], 1);
    let lines: Vec<u64> = import["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4]);
    // Problems name line numbers, never the values on them.
    assert!(!import.to_string().contains("Lindqvist"));

    let cases = json(&[
        "privacy",
        "cases",
        "--open",
        "--data-dir",
        dd,
        "--format",
        "json",
    ]);
    assert_eq!(cases.as_array().map(Vec::len), Some(0));
    let dash = json(&["privacy", "dashboard", "--data-dir", dd, "--format", "json"]);
    assert_eq!(dash["open_cases"], 0);

    let err = fails(&["privacy", "flag", "--data-dir", dd, "--mrn", "MRN-1"]);
    assert!(err.contains("--restricted"), "{err}");
    fails(&["privacy", "case", "show", "--data-dir", dd, "7"]);
}

/// `patients access-report` (the name for `privacy access-report`) in JSON, HTML
/// and PDF, and `privacy tune add|list` as the re-authenticated officer: refused without the
/// code, recorded with it, then listed.
#[test]
fn patients_access_report_formats_and_tunings_from_the_console() {
    use labguard_testkit::https::totp_now_uri as totp_now;
    let t = tempfile::tempdir().unwrap();
    let dd = t.path().join("lab");
    let dd = d(&dd);
    ok(&["init", "--data-dir", dd, "--admin", "none"]);
    ok(&[
        "patients",
        "add",
        "--data-dir",
        dd,
        "--mrn",
        "MRN-77",
        "--family",
        "Quill",
        "--given",
        "Ottoline",
        "--birth-date",
        "1970-01-02",
    ]);
    ok(&["patients", "show", "--data-dir", dd, "--mrn", "MRN-77"]);
    let report = json(&[
        "patients",
        "access-report",
        "--data-dir",
        dd,
        "--mrn",
        "MRN-77",
        "--format",
        "json",
    ]);
    // The operator's own reads are not staff accesses: no rows, but a report.
    assert!(report["rows"].is_array(), "{report}");
    let html = ok(&[
        "patients",
        "access-report",
        "--data-dir",
        dd,
        "--mrn",
        "MRN-77",
        "--format",
        "html",
    ]);
    assert!(
        html.contains("Patient access report") && !html.contains("<script"),
        "{html}"
    );
    let pdf = run(&[
        "patients",
        "access-report",
        "--data-dir",
        dd,
        "--mrn",
        "MRN-77",
        "--format",
        "pdf",
    ]);
    assert!(pdf.status.success() && pdf.stdout.starts_with(b"%PDF-"));
    fails(&[
        "patients",
        "access-report",
        "--data-dir",
        dd,
        "--mrn",
        "MRN-NONE",
    ]);

    let so: serde_json::Value = serde_json::from_str(&ok(&[
        "users",
        "add",
        "--data-dir",
        dd,
        "--username",
        "sam",
        "--role",
        "security-officer",
        "--format",
        "json",
    ]))
    .unwrap();
    let pw = so["password"].as_str().unwrap();
    let uri = so["otpauth_uri"].as_str().unwrap();
    let tune = |code: Option<&str>| {
        let mut c = bin();
        c.args([
            "privacy",
            "tune",
            "add",
            "--data-dir",
            dd,
            "--role",
            "front-desk",
            "--detector",
            "same-surname",
            "--disable",
            "--why",
            "relatives registered together",
            "--as",
            "sam",
        ])
        .env("LABGUARD_OFFICER_PASSWORD", pw);
        if let Some(code) = code {
            c.args(["--totp", code]);
        }
        c.output().unwrap()
    };
    assert!(!tune(None).status.success(), "tuned without the code");
    let o = tune(Some(&totp_now(uri)));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let list = json(&[
        "privacy",
        "tune",
        "list",
        "--data-dir",
        dd,
        "--format",
        "json",
    ]);
    assert_eq!(list[0]["role"], "front-desk", "{list}");
    assert_eq!(list[0]["why"], "relatives registered together");
    let err = fails(&[
        "privacy",
        "tune",
        "add",
        "--data-dir",
        dd,
        "--role",
        "front-desk",
        "--detector",
        "co-worker",
        "--value",
        "3",
        "--why",
        "x",
        "--as",
        "sam",
    ]);
    assert!(err.contains("no setting"), "{err}");
    let props = json(&[
        "privacy",
        "tune",
        "propose",
        "--data-dir",
        dd,
        "--format",
        "json",
    ]);
    assert_eq!(props.as_array().map(Vec::len), Some(0));
}
