//! `labguard compliance` and `labguard incidents` end to end: operations record their runs,
//! collect turns them into evidence, the status and the three report formats show it, the
//! security officer re-authenticates to attest, and breach clocks are listed.

use crate::common::*;
use labguard_testkit::age_key;
use labguard_testkit::https::totp_now_uri as totp_now;

fn status_json(dd: &str) -> serde_json::Value {
    serde_json::from_str(&ok(&[
        "compliance",
        "status",
        "--data-dir",
        dd,
        "--format",
        "json",
    ]))
    .unwrap()
}

fn spec_status(v: &serde_json::Value, citation: &str) -> String {
    v["specs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["citation"] == citation)
        .unwrap_or_else(|| panic!("no {citation}"))["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Adds `sam`, a security officer, and returns `users add`'s JSON (password, TOTP secret).
fn add_security_officer(dd: &str) -> serde_json::Value {
    serde_json::from_str(&ok(&[
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
    .unwrap()
}

#[test]
fn collect_status_report_attest_and_incidents() {
    let t = tempfile::tempdir().unwrap();
    let lab = t.path().join("lab");
    let dd = d(&lab);
    ok(&["init", "--data-dir", dd, "--admin", "olga.okafor"]);
    let so = add_security_officer(dd);
    let ana: serde_json::Value = serde_json::from_str(&ok(&[
        "users",
        "add",
        "--data-dir",
        dd,
        "--username",
        "ana",
        "--role",
        "lab-technologist",
        "--format",
        "json",
    ]))
    .unwrap();
    ok(&[
        "users",
        "add",
        "--data-dir",
        dd,
        "--username",
        "lee",
        "--role",
        "front-desk",
    ]);

    // Nothing collected yet.
    let v = status_json(dd);
    assert_eq!(v["collected"], false);
    assert_eq!(spec_status(&v, "164.312(b)"), "needs-person");

    // Operations record their runs; a leaver is disabled at once.
    ok(&["audit", "verify", "--data-dir", dd]);
    ok(&["access-review", "--data-dir", dd]);
    ok(&["users", "leave", "lee", "--data-dir", dd]);
    let (key, recipient) = age_key(t.path());
    let bk = t.path().join("lab.age");
    ok(&[
        "backup",
        "create",
        "--data-dir",
        dd,
        "--to",
        d(&bk),
        "--recipient",
        &recipient,
    ]);
    let drill = t.path().join("drill");
    ok(&[
        "backup",
        "restore",
        "--data-dir",
        d(&drill),
        "--from",
        d(&bk),
        "--identity",
        d(&key),
        "--record-to",
        dd,
    ]);
    ok(&[
        "compliance",
        "risk",
        "seed",
        "--data-dir",
        dd,
        "--owner",
        "sam",
        "--due",
        "2099-01-01",
    ]);
    ok(&[
        "compliance",
        "risk",
        "set",
        "ransomware",
        "--data-dir",
        dd,
        "--residual-likelihood",
        "2",
        "--treatment",
        "mitigating",
    ]);
    let hist = ok(&[
        "compliance",
        "risk",
        "history",
        "ransomware",
        "--data-dir",
        dd,
    ]);
    assert_eq!(hist.lines().count(), 2, "{hist}");
    assert!(fails(&[
        "compliance",
        "risk",
        "set",
        "ransomware",
        "--data-dir",
        dd,
        "--impact",
        "9"
    ])
    .contains("1 to 5"));

    let collected = ok(&["compliance", "collect", "--data-dir", dd]);
    assert!(collected.contains("overall score"), "{collected}");
    let v = status_json(dd);
    assert_eq!(v["collected"], true);
    for (c, want) in [
        ("164.312(b)", "met"),                  // audit verified just now
        ("164.308(a)(7)(ii)(A)", "met"),        // backup under 48 hours old
        ("164.308(a)(7)(ii)(D)", "met"),        // restore drill recorded with its duration
        ("164.308(a)(4)(ii)(C)", "met"),        // access review done
        ("164.312(d)", "met"),                  // every account enrolled in TOTP
        ("164.312(a)(2)(i)", "met"),            // named accounts
        ("164.308(a)(3)(ii)(C)", "met"),        // leaver disabled within the hour
        ("164.312(a)(2)(iii)", "needs-person"), // the server has not run here
        ("164.308(a)(1)(ii)(A)", "partly-met"), // register kept, inventory not connected
        ("164.310(b)", "needs-person"),         // not attested yet
    ] {
        assert_eq!(spec_status(&v, c), want, "{c}");
    }
    let score0 = v["overall"].as_f64().unwrap();
    assert!(score0 > 0.0);

    // Attest: wrong password refused, missing TOTP refused, then signed.
    let pw = so["password"].as_str().unwrap();
    let uri = so["otpauth_uri"].as_str().unwrap();
    let attest_as = |officer: &str, password: &str, code: Option<&str>| {
        let mut c = bin();
        c.args([
            "compliance",
            "attest",
            "--data-dir",
            dd,
            "--officer",
            officer,
            "--subject",
            "workstation-controls",
            "--statement",
            "Screens face away from the waiting room; locks fitted",
        ])
        .env("LABGUARD_OFFICER_PASSWORD", password);
        if let Some(code) = code {
            c.args(["--totp", code]);
        }
        c.output().unwrap()
    };
    let attest = |password: &str, code: Option<&str>| attest_as("sam", password, code);
    let o = attest("wrong-password-here", Some("000000"));
    assert!(!o.status.success());
    let o = attest(pw, None);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--totp"));
    let o = attest(pw, Some(&totp_now(uri)));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Not a security officer: refused even with their own right password and code.
    let o = attest_as(
        "ana",
        ana["password"].as_str().unwrap(),
        Some(&totp_now(ana["otpauth_uri"].as_str().unwrap())),
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("re-authentication failed"));
    ok(&["compliance", "collect", "--data-dir", dd]);
    let v = status_json(dd);
    assert_eq!(spec_status(&v, "164.310(b)"), "met");
    assert!(v["overall"].as_f64().unwrap() > score0);

    // Incidents and breach clocks.
    let add = ok(&[
        "incidents",
        "add",
        "--data-dir",
        dd,
        "--title",
        "Laptop stolen from car",
        "--kind",
        "lost-laptop",
        "--discovered",
        "2028-12-31",
        "--affected",
        "700",
        "--state",
        "NJ=650",
        "--state",
        "NY=50",
    ]);
    assert!(add.contains("2029-03-01"), "{add}");
    let id = add.split_whitespace().nth(1).unwrap().to_string();
    let listed: serde_json::Value = serde_json::from_str(&ok(&[
        "incidents",
        "list",
        "--data-dir",
        dd,
        "--format",
        "json",
    ]))
    .unwrap();
    let dl = &listed[0]["deadlines"];
    assert_eq!(dl.as_array().unwrap().len(), 3, "{dl}"); // individuals, HHS, media (NJ)
    assert!(dl
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["due"] == "2029-03-01"));
    let assessed = ok(&["incidents", "assess", &id, "--data-dir", dd, "--secured"]);
    assert!(assessed.contains("Secured"), "{assessed}");
    assert!(fails(&[
        "incidents",
        "notify",
        &id,
        "--data-dir",
        dd,
        "--to",
        "media"
    ])
    .contains("owes no notice"));

    // Policies (versioned), BAAs, and what comes due.
    let policy = t.path().join("access.md");
    std::fs::write(&policy, "Access control policy (fictional)").unwrap();
    let today = chrono::Utc::now().date_naive();
    let past = (today - chrono::Duration::days(3)).to_string();
    let soon = (today - chrono::Duration::days(40)).to_string();
    for _ in 0..2 {
        ok(&[
            "compliance",
            "policy",
            "add",
            "--data-dir",
            dd,
            "--subject",
            "security-policies",
            "--title",
            "Access policy",
            "--file",
            d(&policy),
            "--owner",
            "sam",
            "--effective",
            "2025-01-01",
            "--review-due",
            &past,
        ]);
    }
    let pl = ok(&["compliance", "policy", "list", "--data-dir", dd]);
    assert!(
        pl.contains("v1") && pl.contains("keep until 2031-01-01"),
        "{pl}"
    );
    assert!(pl.contains("review OVERDUE by 3 days"), "{pl}");
    ok(&[
        "compliance",
        "baa",
        "add",
        "--data-dir",
        dd,
        "--vendor",
        "Courier Co (fictional)",
        "--services",
        "transport",
        "--signed",
        "2025-01-01",
        "--expires",
        "2025-12-31",
    ]);
    assert!(ok(&["compliance", "baa", "list", "--data-dir", dd]).contains("LAPSED"));
    ok(&[
        "incidents",
        "add",
        "--data-dir",
        dd,
        "--title",
        "Misdirected fax",
        "--kind",
        "misdirected",
        "--discovered",
        &soon,
        "--affected",
        "1",
    ]);
    let v = status_json(dd);
    let kinds: Vec<&str> = v["reminders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"policy") && kinds.contains(&"incident"),
        "{kinds:?}"
    );
    let text = ok(&["compliance", "status", "--data-dir", dd]);
    assert!(
        text.contains("coming due:") && text.contains("20 days left"),
        "{text}"
    );

    // The three report formats.
    let html_path = t.path().join("r.html");
    ok(&[
        "compliance",
        "report",
        "--data-dir",
        dd,
        "--format",
        "html",
        "--out",
        d(&html_path),
    ]);
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.contains("<svg") && html.contains("164.316(b)(2)(i)"));
    assert!(html.contains("Courier Co (fictional)") && html.contains("Screens face away"));
    let pdf_path = t.path().join("r.pdf");
    ok(&[
        "compliance",
        "report",
        "--data-dir",
        dd,
        "--format",
        "pdf",
        "--out",
        d(&pdf_path),
    ]);
    assert!(std::fs::read(&pdf_path).unwrap().starts_with(b"%PDF-"));
    let oscal = ok(&[
        "compliance",
        "report",
        "--data-dir",
        dd,
        "--format",
        "oscal",
    ]);
    let o: serde_json::Value = serde_json::from_str(&oscal).unwrap();
    assert_eq!(
        o["assessment-results"]["metadata"]["oscal-version"],
        "1.1.2"
    );
    assert!(fails(&["compliance", "report", "--data-dir", dd]).contains("--format"));

    // Everything above is in the audit log, which still verifies.
    ok(&["audit", "verify", "--data-dir", dd]);
}

/// The officer's re-authentication counts failures in the sign-in throttle: once the
/// allowance of wrong codes is spent, even the right password and code are refused.
#[test]
fn attest_reauthentication_is_throttled_like_sign_in() {
    let t = tempfile::tempdir().unwrap();
    let lab = t.path().join("lab");
    let dd = d(&lab);
    ok(&["init", "--data-dir", dd, "--admin", "olga.okafor"]);
    let so = add_security_officer(dd);
    let pw = so["password"].as_str().unwrap();
    let attest = |code: &str| {
        bin()
            .args(["compliance", "attest", "--data-dir", dd, "--officer", "sam"])
            .args([
                "--subject",
                "workstation-controls",
                "--statement",
                "Screens locked",
            ])
            .args(["--totp", code])
            .env("LABGUARD_OFFICER_PASSWORD", pw)
            .output()
            .unwrap()
    };
    let stderr = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    let mut wrong = 0;
    loop {
        let o = attest("000000");
        assert!(!o.status.success());
        if stderr(&o).contains("too many failed attempts") {
            break;
        }
        wrong += 1;
        assert!(wrong <= 10, "never throttled: {}", stderr(&o));
    }
    assert!(wrong >= 3, "throttled after {wrong} wrong codes");
    let o = attest(&totp_now(so["otpauth_uri"].as_str().unwrap()));
    assert!(!o.status.success(), "a right code got past the throttle");
    assert!(
        stderr(&o).contains("too many failed attempts"),
        "{}",
        stderr(&o)
    );
}
