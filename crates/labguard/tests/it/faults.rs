//! Faults from outside: kill -9 mid-write and mid-rotation, damaged backups, and a search of
//! every byte on disk for the seeded patients' names.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use labguard_testkit::age_key;

fn count(db: &std::path::Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap_or(0)
}

fn wait_for(what: &str, deadline: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn kill_9_while_writing_loses_nothing_committed() {
    let t = tempfile::tempdir().unwrap();
    let dd = t.path().join("lab");
    ok(&["init", "--data-dir", d(&dd)]);
    let db = dd.join("labguard.db");
    for round in 0..3 {
        let mut child = bin()
            .args([
                "demo",
                "--data-dir",
                d(&dd),
                "--seed-only",
                "--patients",
                "5000",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let floor = 40 * (round + 1);
        wait_for("patients to be written", Duration::from_secs(60), || {
            count(&db, "SELECT COUNT(*) FROM patients") > floor
        });
        // SIGKILL: no destructor, no rollback handler, no final checkpoint.
        Command::new("kill")
            .args(["-9", &child.id().to_string()])
            .status()
            .unwrap();
        child.wait().unwrap();
        let out = ok(&["audit", "verify", "--data-dir", d(&dd), "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let rows = v["rows_checked"].as_u64().unwrap();
        assert!(rows > floor as u64, "round {round}: {out}");
        // Every committed patient still opens.
        ok(&[
            "patients",
            "find",
            "--data-dir",
            d(&dd),
            "--mrn",
            "DEMO-000001",
        ]);
        // The next run must start from a clean store; remove the demo's data so seeding restarts.
        if round < 2 {
            std::fs::remove_dir_all(&dd).unwrap();
            ok(&["init", "--data-dir", d(&dd)]);
        }
    }
}

#[test]
fn kill_9_during_rotation_then_resume() {
    let t = tempfile::tempdir().unwrap();
    let dd = t.path().join("lab");
    ok(&[
        "demo",
        "--data-dir",
        d(&dd),
        "--seed-only",
        "--patients",
        "300",
    ]);
    let db = dd.join("labguard.db");
    let mut child = bin()
        .args(["keys", "rotate", "--data-dir", d(&dd), "--batch-size", "4"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("rotation to be under way", Duration::from_secs(60), || {
        count(&db, "SELECT COUNT(*) FROM patients WHERE key_version = 2") > 20
    });
    Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    let left = count(&db, "SELECT COUNT(*) FROM results WHERE key_version = 1");
    assert!(
        left > 0,
        "rotation finished before the kill; the test proves nothing"
    );
    // Half-rotated data is fully readable (both versions live) and verifies.
    assert!(ok(&["keys", "status", "--data-dir", d(&dd)]).contains("in progress"));
    ok(&[
        "results",
        "show",
        "--data-dir",
        d(&dd),
        "--mrn",
        "DEMO-000299",
    ]);
    ok(&["audit", "verify", "--data-dir", d(&dd)]);
    let out = ok(&["keys", "rotate", "--data-dir", d(&dd)]);
    assert!(out.contains("resumed rotation to data key v2"), "{out}");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM results WHERE key_version = 1"),
        0
    );
    assert!(ok(&["keys", "status", "--data-dir", d(&dd)]).contains("no rotation"));
    ok(&["audit", "verify", "--data-dir", d(&dd)]);
}

/// Names of some seeded patients, learned through the audited CLI.
fn seeded_names(dd: &str) -> Vec<String> {
    let mut names = vec![];
    for i in [0, 7, 42, 99] {
        let out = ok(&[
            "patients",
            "show",
            "--data-dir",
            dd,
            "--mrn",
            &format!("DEMO-{i:06}"),
            "--format",
            "json",
        ]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        names.push(v["family"].as_str().unwrap().to_string());
        names.push(v["given"].as_str().unwrap().to_string());
    }
    names
}

#[test]
fn backups_decrypt_with_the_age_cli_verify_restore_and_reject_damage() {
    let t = tempfile::tempdir().unwrap();
    let dd = t.path().join("lab");
    let seed = run(&[
        "demo",
        "--data-dir",
        d(&dd),
        "--seed-only",
        "--patients",
        "200",
    ]);
    assert!(seed.status.success());
    let (key, recipient) = age_key(t.path());
    let bk = t.path().join("lab.age");
    let create = run(&[
        "backup",
        "create",
        "--data-dir",
        d(&dd),
        "--to",
        d(&bk),
        "--recipient",
        &recipient,
    ]);
    assert!(
        create.status.success(),
        "{}",
        String::from_utf8_lossy(&create.stderr)
    );

    // The age CLI decrypts it: a tar with the manifest, the snapshot and the key.
    let plain = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&key)
        .arg(&bk)
        .output()
        .unwrap();
    assert!(plain.status.success());
    let tar = plain.stdout;
    assert!(
        contains(&tar, "manifest.json")
            && contains(&tar, "labguard.db")
            && contains(&tar, "kek.key")
    );

    let names = seeded_names(d(&dd));
    let mut everything = all_bytes(&dd);
    everything.extend(std::fs::read(&bk).unwrap());
    everything.extend(&tar);
    for out in [&seed.stdout, &seed.stderr, &create.stdout, &create.stderr] {
        everything.extend(out.iter());
    }
    for n in &names {
        assert!(
            !contains(&everything, n),
            "{n} appears in plaintext on disk, in a backup or in output"
        );
    }

    let v = ok(&["backup", "verify", "--from", d(&bk), "--identity", d(&key)]);
    assert!(v.contains("backup intact"), "{v}");

    // Truncated, altered, and wrong identity: all refused with a clear reason.
    let bytes = std::fs::read(&bk).unwrap();
    let cut = t.path().join("cut.age");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let e = fails(&["backup", "verify", "--from", d(&cut), "--identity", d(&key)]);
    assert!(e.contains("truncated") || e.contains("decrypt"), "{e}");
    let bad = t.path().join("bad.age");
    let mut altered = bytes.clone();
    let mid = altered.len() / 2;
    altered[mid] ^= 0x40;
    std::fs::write(&bad, &altered).unwrap();
    fails(&["backup", "verify", "--from", d(&bad), "--identity", d(&key)]);
    let other_dir = t.path().join("other");
    std::fs::create_dir(&other_dir).unwrap();
    let (other, _) = age_key(&other_dir);
    let e = fails(&[
        "backup",
        "verify",
        "--from",
        d(&bk),
        "--identity",
        d(&other),
    ]);
    assert!(e.contains("cannot be decrypted"), "{e}");

    // Restore into a new dir: verified and timed; never over an existing one.
    let restored = t.path().join("restored");
    let out = ok(&[
        "backup",
        "restore",
        "--from",
        d(&bk),
        "--identity",
        d(&key),
        "--data-dir",
        d(&restored),
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert!(v["rows_checked"].as_u64().unwrap() > 200);
    let a = ok(&[
        "results",
        "show",
        "--data-dir",
        d(&dd),
        "--mrn",
        "DEMO-000011",
        "--format",
        "json",
    ]);
    let b = ok(&[
        "results",
        "show",
        "--data-dir",
        d(&restored),
        "--mrn",
        "DEMO-000011",
        "--format",
        "json",
    ]);
    assert_eq!(a, b);
    let e = fails(&[
        "backup",
        "restore",
        "--from",
        d(&bk),
        "--identity",
        d(&key),
        "--data-dir",
        d(&dd),
    ]);
    assert!(e.contains("already exists"), "{e}");
    let e = fails(&[
        "backup",
        "restore",
        "--from",
        d(&cut),
        "--identity",
        d(&key),
        "--data-dir",
        d(&t.path().join("r2")),
    ]);
    assert!(!e.is_empty());
    assert!(
        !t.path().join("r2").exists(),
        "a failed restore left a data dir behind"
    );
}

#[test]
fn the_cli_works_on_postgresql_too() {
    let t = tempfile::tempdir().unwrap();
    let dd = t.path().join("lab");
    let schema = format!("cli_{}", std::process::id());
    let url = pg_url();
    let pg = |args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        v.extend([
            "--data-dir".into(),
            d(&dd).into(),
            "--database".into(),
            url.clone(),
            "--pg-schema".into(),
            schema.clone(),
        ]);
        v
    };
    let call = |args: Vec<String>| ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    call(pg(&["init"]));
    call(pg(&["demo", "--seed-only", "--patients", "12"]));
    let out = call(pg(&["patients", "find", "--mrn", "DEMO-000004"]));
    assert!(out.contains("DEMO-000004"));
    call(pg(&["keys", "rotate"]));
    assert!(call(pg(&["audit", "verify"])).contains("intact"));
    let (key, recipient) = age_key(t.path());
    let bk = t.path().join("pg.age");
    call(pg(&[
        "backup",
        "create",
        "--to",
        d(&bk),
        "--recipient",
        &recipient,
    ]));
    ok(&["backup", "verify", "--from", d(&bk), "--identity", d(&key)]);
    labguard_store_drop(&url, &schema);
}

fn labguard_store_drop(url: &str, schema: &str) {
    let _ = Command::new("psql")
        .arg(url)
        .arg("-qc")
        .arg(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .output();
}
