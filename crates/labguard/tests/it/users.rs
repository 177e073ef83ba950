//! `labguard users` and `labguard access-review` from the console, and `labguard serve`
//! answering over HTTPS with the account the CLI made.

use crate::common::*;

#[test]
fn users_add_list_disable_and_access_review() {
    let t = tempfile::tempdir().unwrap();
    let dd = t.path().join("lab");
    let dd = d(&dd);
    ok(&["init", "--data-dir", dd, "--admin", "none"]);
    let json = ok(&[
        "users",
        "add",
        "--data-dir",
        dd,
        "--username",
        "paula",
        "--role",
        "pathologist",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["role"], "pathologist");
    assert!(v["otpauth_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/labguard:paula?"));
    assert!(v["password"].as_str().unwrap().len() >= 20);
    assert_eq!(v["recovery_codes"].as_array().unwrap().len(), 10);
    assert!(fails(&[
        "users",
        "add",
        "--data-dir",
        dd,
        "--username",
        "x",
        "--role",
        "root"
    ])
    .contains("role"));
    ok(&[
        "user",
        "add",
        "--data-dir",
        dd,
        "--username",
        "ada",
        "--role",
        "auditor",
    ]);
    let list = ok(&["users", "list", "--data-dir", dd]);
    assert!(
        list.contains("paula") && list.contains("pathologist") && list.contains("ada"),
        "{list}"
    );
    let review = ok(&["access-review", "--data-dir", dd]);
    assert!(review.contains("2 accounts: 2 enabled"), "{review}");
    let out = ok(&["users", "disable", "--data-dir", dd, "paula"]);
    assert!(out.contains("disabled paula"), "{out}");
    let review = ok(&["access-review", "--data-dir", dd, "--format", "json"]);
    let r: serde_json::Value = serde_json::from_str(&review).unwrap();
    assert_eq!(r["counts"]["disabled"], 1);
    assert!(fails(&["users", "disable", "--data-dir", dd, "nobody"]).contains("not found"));
}
