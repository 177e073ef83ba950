//! The phishing loop from outside, as a lab runs it: `labguard serve` over real HTTPS, a real
//! SMTP server on 127.0.0.1 receiving the campaign, the tracking link taken out of the
//! received mail and followed with curl, then the report and the remedial assignment read
//! back through the CLI.

use crate::common::*;
use labguard_testkit::https::curl;
use labguard_testkit::sink::Sink;
use labguard_testkit::spawn_serve;
use labguard_training::phishing::tokens_in_text;
use serde_json::Value;

fn serve(dd: &str, db: &Db) -> (KillOnDrop, String) {
    let port = free_port();
    let global: Vec<&str> = db.0.iter().map(String::as_str).collect();
    let extra = ["--lab-name", "Northside Lab"];
    spawn_serve(serve_cmd(&global, dd, port, &extra), port)
}

/// (status, body) of a request.
fn http(method: &str, url: &str, data: Option<&str>) -> (u16, String) {
    let mut args = vec!["-X", method, "-w", "\n%{http_code}", url];
    if let Some(d) = data {
        args.extend(["--data", d]);
    }
    let (out, ok) = curl(&args);
    assert!(ok, "curl {url}");
    let (body, code) = out.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap(), body.to_string())
}

/// Where the lab's data lives: extra global arguments for every command (none for SQLite,
/// `--database URL --pg-schema S` for PostgreSQL).
struct Db(Vec<String>);

impl Db {
    fn args(&self, a: &[&str]) -> Vec<String> {
        a.iter()
            .map(|s| s.to_string())
            .chain(self.0.iter().cloned())
            .collect()
    }
    fn run(&self, a: &[&str]) -> std::process::Output {
        let v = self.args(a);
        run(&v.iter().map(String::as_str).collect::<Vec<_>>())
    }
    fn ok(&self, a: &[&str]) -> String {
        let v = self.args(a);
        ok(&v.iter().map(String::as_str).collect::<Vec<_>>())
    }
    fn json(&self, a: &[&str]) -> Value {
        let out = self.ok(a);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{a:?}: {e}: {out}"))
    }
    fn add_user(&self, dd: &str, name: &str, role: &str, email: &str) {
        self.ok(&[
            "users",
            "add",
            "--data-dir",
            dd,
            "--username",
            name,
            "--role",
            role,
            "--email",
            email,
        ]);
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let [_, url, _, schema] = self.0.as_slice() {
            labguard_testkit::drop_pg_schema(url, Some(schema));
        }
    }
}

fn token_for(sink: &Sink, to: &str, base: &str) -> String {
    let mails = sink.received_for(to);
    assert_eq!(mails.len(), 1, "{to}: one copy");
    let tokens = tokens_in_text(&mails[0].decoded(), base);
    assert_eq!(tokens.len(), 1, "{to}");
    tokens[0].as_str().to_string()
}

#[test]
fn click_in_a_real_mail_is_recorded_and_assigns_remedial_training() {
    phishing_loop(Db(vec![]));
}

#[test]
fn the_phishing_loop_works_on_postgresql_too() {
    let schema = format!("phish_{}", std::process::id());
    phishing_loop(Db(vec![
        "--database".into(),
        pg_url(),
        "--pg-schema".into(),
        schema,
    ]));
}

fn phishing_loop(db: Db) {
    let t = tempfile::tempdir().unwrap();
    let dd = t.path().join("lab");
    let dd = d(&dd);
    db.ok(&["init", "--data-dir", dd, "--admin", "none"]);
    db.add_user(dd, "ana", "phlebotomist", "ana@lab.example.org");
    db.add_user(dd, "bo", "lab-technologist", "bo@lab.example.org");
    db.add_user(dd, "eve", "front-desk", "eve@elsewhere.example.com");
    db.ok(&["lab", "set-domains", "--data-dir", dd, "lab.example.org"]);

    let courses = db.json(&["training", "courses", "--data-dir", dd, "--format", "json"]);
    assert_eq!(courses.as_array().unwrap().len(), 6);
    assert!(courses
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == "phishing-social-engineering"));

    let sink = Sink::start().unwrap();
    let (_server, base) = serve(dd, &db);
    let smtp = sink.url();
    let create = |name: &str| {
        let o = db.run(&[
            "phishing",
            "create",
            "--data-dir",
            dd,
            "--name",
            name,
            "--template",
            "courier-delivery",
            "--to",
            "all",
            "--smtp",
            &smtp,
            "--from",
            "dispatch@lab.example.org",
            "--base-url",
            &base,
            "--rate",
            "600",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(err.contains("not mailing eve"), "{err}");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let id = create("November courier");
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    let o = db.run(&["phishing", "launch", "--data-dir", dd, &id]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The sink offers no STARTTLS: the officer is told the mail went out in the clear.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("2 mail(s) went out without TLS"), "{err}");
    assert_eq!(sink.received().len(), 2);
    assert!(sink.received_for("eve@elsewhere.example.com").is_empty());
    let ana = token_for(&sink, "ana@lab.example.org", &base);
    let bo = token_for(&sink, "bo@lab.example.org", &base);
    assert_ne!(ana, bo);

    // Ana opens, clicks and types a password; Bo reports.
    let (st, body) = http("GET", &format!("{base}/t/o/{ana}"), None);
    assert_eq!(st, 200);
    assert!(body.starts_with("GIF89a"));
    let (st, body) = http("GET", &format!("{base}/t/c/{ana}"), None);
    assert_eq!(st, 200);
    assert!(body.contains("Reschedule specimen pickup"), "{body}");
    assert!(body.contains(&format!("action=\"/t/s/{ana}\"")), "{body}");
    let (st, body) = http(
        "POST",
        &format!("{base}/t/s/{ana}"),
        Some("email=ana%40lab.example.org&password=Hunter2-SecretTyped"),
    );
    assert_eq!(st, 200);
    assert!(body.contains("phishing exercise"), "{body}");
    let (st, body) = http("GET", &format!("{base}/t/r/{bo}"), None);
    assert_eq!(st, 200);
    assert!(body.contains("Well spotted"));

    // Unknown, malformed and near-miss tokens: a bare 404.
    let mut near = ana.clone().into_bytes();
    near[5] = if near[5] == b'A' { b'B' } else { b'A' };
    let near = String::from_utf8(near).unwrap();
    for bad in [near.as_str(), "AAAA", "..%2f..%2fetc"] {
        let (st, body) = http("GET", &format!("{base}/t/c/{bad}"), None);
        assert_eq!((st, body.as_str()), (404, "not found"), "{bad}");
    }

    let r = db.json(&[
        "phishing",
        "report",
        "--data-dir",
        dd,
        &id,
        "--format",
        "json",
    ]);
    assert_eq!(r["sent"], 2, "{r}");
    assert_eq!(r["opened"], 1);
    assert_eq!(r["clicked"], 1);
    assert_eq!(r["submitted"], 1);
    assert_eq!(r["reported"], 1);
    assert!(r["time_to_first_report_secs"].is_i64(), "{r}");
    assert_eq!(r["by_role"]["phlebotomist"]["clicked"], 1);
    assert_eq!(r["by_role"]["lab-technologist"]["reported"], 1);
    let remedial = r["remedial_assigned"].as_array().unwrap();
    assert_eq!(remedial.len(), 1, "{r}");
    assert_eq!(remedial[0]["username"], "ana");
    assert_eq!(remedial[0]["course_id"], "phishing-social-engineering");

    let open = db.json(&[
        "training",
        "assignments",
        "--data-dir",
        dd,
        "--user",
        "ana",
        "--format",
        "json",
    ]);
    assert!(
        open.as_array()
            .unwrap()
            .iter()
            .any(|a| a["course_id"] == "phishing-social-engineering" && a["reason"] == "remedial"),
        "{open}"
    );

    // A second campaign: the first campaign's token records nothing for it.
    let id2 = create("December courier");
    db.ok(&["phishing", "launch", "--data-dir", dd, &id2]);
    assert_eq!(sink.received_for("ana@lab.example.org").len(), 2);
    let (st, _) = http("GET", &format!("{base}/t/c/{bo}"), None);
    assert_eq!(st, 200);
    let r2 = db.json(&[
        "phishing",
        "report",
        "--data-dir",
        dd,
        &id2,
        "--format",
        "json",
    ]);
    assert_eq!(
        (r2["sent"].as_i64(), r2["clicked"].as_i64()),
        (Some(2), Some(0)),
        "{r2}"
    );
    let r1 = db.json(&[
        "phishing",
        "report",
        "--data-dir",
        dd,
        &id,
        "--format",
        "json",
    ]);
    assert_eq!(r1["clicked"], 2);

    // Ana forwards the December mail to the reporting address.
    let fwd = t.path().join("forwarded.eml");
    let dec = sink.received_for("ana@lab.example.org")[1].data.clone();
    std::fs::write(&fwd, format!("Subject: Fwd: suspicious\r\n\r\n> {dec}")).unwrap();
    let v = db.json(&[
        "phishing",
        "reported",
        "--data-dir",
        dd,
        d(&fwd),
        "--format",
        "json",
    ]);
    assert_eq!(v["recorded"], 1, "{v}");
    let r2 = db.json(&[
        "phishing",
        "report",
        "--data-dir",
        dd,
        &id2,
        "--format",
        "json",
    ]);
    assert_eq!(r2["reported"], 1, "{r2}");
    assert_eq!(r2["by_role"]["phlebotomist"]["reported"], 1, "{r2}");

    // Training reminders go out by mail once; eve's address is outside the lab's domains.
    db.ok(&[
        "training",
        "assign",
        "--data-dir",
        dd,
        "--course",
        "passwords-mfa",
        "--to",
        "all",
        "--due-days",
        "3",
    ]);
    let before = sink.received().len();
    let remind = [
        "training",
        "remind",
        "--data-dir",
        dd,
        "--smtp",
        &smtp,
        "--from",
        "training@lab.example.org",
        "--base-url",
        &base,
    ];
    let o = db.run(&remind);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success(), "eve's reminder was refused: {out}");
    assert!(
        out.contains("sent to ana@lab.example.org: Training due in 7 days"),
        "{out}"
    );
    assert!(
        out.contains("NOT sent to eve@elsewhere.example.com"),
        "{out}"
    );
    assert_eq!(sink.received().len(), before + 2);
    let _ = db.run(&remind);
    assert_eq!(sink.received().len(), before + 2, "each reminder once");

    // Relaunching sends nobody a second copy.
    let before = sink.received().len();
    db.ok(&["phishing", "launch", "--data-dir", dd, &id]);
    assert_eq!(sink.received().len(), before);

    // What Ana typed is nowhere in the data dir, and the audit log still verifies.
    drop(_server);
    assert!(!contains(&all_bytes(t.path()), "Hunter2-SecretTyped"));
    db.ok(&["audit", "verify", "--data-dir", dd]);
}
