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
