//! An attacker with a stolen session, a stolen token or a one-time password against a real
//! `labguard serve` on 127.0.0.1 (HTTPS, curl as the client, TOTP codes from Python's
//! pyotp as an authenticator app makes them). Every loop is bounded and stops by itself.
//!
//! Each account spends at most two TOTP steps (the current one and the next, both inside
//! the verifier's skew), so no test waits for the clock; further proofs use recovery codes.

use crate::common::*;
use labguard_testkit::https::{call, sign_in, totp_code as code, Resp, Who};
use labguard_testkit::spawn_serve;
use serde_json::{json, Value};

struct Lab {
    _dir: tempfile::TempDir,
    dd: String,
    base: String,
    _server: KillOnDrop,
}

/// A fresh lab and `labguard serve` on it, with `extra` serve flags.
fn lab(extra: &[&str]) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let dd = d(&dir.path().join("lab")).to_string();
    ok(&["init", "--data-dir", &dd, "--admin", "none"]);
    let port = free_port();
    let (server, base) = spawn_serve(serve_cmd(&[], &dd, port, extra), port);
    Lab {
        _dir: dir,
        dd,
        base,
        _server: server,
    }
}

/// What `users add` hands over: a one-time password and an enrolled authenticator.
struct User {
    name: String,
    password: String,
    totp: String,
    recovery: Vec<String>,
}

impl Lab {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn add_user(&self, name: &str, role: &str) -> User {
        let out = ok(&[
            "users",
            "add",
            "--data-dir",
            &self.dd,
            "--username",
            name,
            "--role",
            role,
            "--format",
            "json",
        ]);
        let v: Value = serde_json::from_str(&out).unwrap();
        User {
            name: name.into(),
            password: v["password"].as_str().unwrap().into(),
            totp: v["totp_secret"].as_str().unwrap().into(),
            recovery: v["recovery_codes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_string())
                .collect(),
        }
    }

    fn sign_in_password(&self, u: &User) -> Resp {
        let body = json!({"username": u.name, "password": u.password}).to_string();
        call("POST", &self.url("/api/v1/auth/sign-in"), None, Some(&body))
    }

    /// Password, then the code `ahead` steps from now: a full session.
    fn sign_in(&self, u: &User, ahead: i64) -> Who {
        sign_in(&self.base, &u.name, &u.password, &u.totp, ahead)
    }

    fn post(&self, path: &str, who: &Who, body: &Value) -> Resp {
        call("POST", &self.url(path), Some(who), Some(&body.to_string()))
    }

    fn get(&self, path: &str, who: &Who) -> Resp {
        call("GET", &self.url(path), Some(who), None)
    }

    /// Replaces the one-time password (the session survives).
    fn choose_password(&self, u: &mut User, who: &Who, new: &str) {
        let r = self.post(
            "/api/v1/me/password",
            who,
            &json!({"current_password": u.password, "new_password": new}),
        );
        assert_eq!(r.status, 204, "password change: {}", r.body);
        u.password = new.into();
    }
}

#[test]
fn mfa_downgrade_from_a_stolen_session_is_refused() {
    let lab = lab(&[]);
    let mut ana = lab.add_user("ana", "phlebotomist");
    let stolen = lab.sign_in(&ana, 0);
    lab.choose_password(&mut ana, &stolen, "amber kettle under the north bridge");

    // The session alone, the session and the password, a wrong code: all refused.
    for body in [
        json!({}),
        json!({"password": ana.password}),
        json!({"code": code(&ana.totp, 0)}),
    ] {
        let r = lab.post("/api/v1/mfa/enroll", &stolen, &body);
        assert_eq!(r.status, 403, "{body}: {}", r.body);
        assert_eq!(r.json()["error"], "reauth-required");
    }
    let r = lab.post(
        "/api/v1/mfa/enroll",
        &stolen,
        &json!({"password": "not the password", "recovery_code": ana.recovery[0]}),
    );
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(lab.get("/api/v1/me", &stolen).json()["mfa_enrolled"], true);

    // With both factors the enrolment starts, and is abandoned: nothing changes.
    let r = lab.post(
        "/api/v1/mfa/enroll",
        &stolen,
        &json!({"password": ana.password, "recovery_code": ana.recovery[1]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let abandoned = r.json()["secret_base32"].as_str().unwrap().to_string();
    assert_eq!(lab.get("/api/v1/me", &stolen).json()["mfa_enrolled"], true);

    // The password alone still leads to the code step, never to enrolment, and only the
    // authenticator in force opens it.
    let r = lab.sign_in_password(&ana);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["stage"], "mfa");
    let pending = r.session();
    let r = lab.post(
        "/api/v1/mfa/enroll",
        &pending,
        &json!({"password": ana.password}),
    );
    assert_eq!(r.status, 401, "enrolment from the code step: {}", r.body);
    let r = lab.post(
        "/api/v1/auth/mfa",
        &pending,
        &json!({"code": code(&abandoned, 0)}),
    );
    assert_eq!(r.status, 401, "the abandoned secret opened: {}", r.body);
    let r = lab.post(
        "/api/v1/auth/mfa",
        &pending,
        &json!({"code": code(&ana.totp, 1)}),
    );
    assert_eq!(r.status, 200, "the authenticator in force: {}", r.body);
    let owner = r.session();

    // The owner replaces the authenticator: the other session ends and an alert is raised.
    let r = lab.post(
        "/api/v1/mfa/enroll",
        &owner,
        &json!({"password": ana.password, "recovery_code": ana.recovery[2]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let new = r.json()["secret_base32"].as_str().unwrap().to_string();
    let r = lab.post(
        "/api/v1/mfa/confirm",
        &owner,
        &json!({"code": code(&new, 0)}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let owner = r.session();
    assert_eq!(lab.get("/api/v1/me", &stolen).status, 401, "stolen session");
    assert_eq!(lab.get("/api/v1/me", &owner).status, 200);

    let mut so = lab.add_user("sol", "security-officer");
    let s = lab.sign_in(&so, 0);
    lab.choose_password(&mut so, &s, "violet harbour past the grain silo");
    let alerts = lab.get("/api/v1/alerts", &s).json();
    assert!(
        alerts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "mfa-changed"),
        "{alerts}"
    );
}

#[test]
fn password_change_ends_other_sessions_and_tokens_and_wrong_current_passwords_are_throttled() {
    let lab = lab(&[]);
    let mut bo = lab.add_user("bo", "lab-technologist");
    let first = lab.sign_in(&bo, 0);
    lab.choose_password(&mut bo, &first, "copper lantern beside the quiet canal");
    let second = lab.sign_in(&bo, 1);
    let r = lab.post(
        "/api/v1/tokens",
        &second,
        &json!({"label": "analyser bridge"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let token = Who::Token(r.json()["token"].as_str().unwrap().to_string());
    assert_eq!(lab.get("/api/v1/me", &token).status, 200);
    assert_eq!(lab.get("/api/v1/me", &first).status, 200);

    let r = lab.post(
        "/api/v1/me/password",
        &second,
        &json!({"current_password": bo.password, "new_password": "woollen compass found in the attic",
                "revoke_tokens": true}),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(lab.get("/api/v1/me", &first).status, 401, "other session");
    assert_eq!(lab.get("/api/v1/me", &token).status, 401, "API token");
    assert_eq!(lab.get("/api/v1/me", &second).status, 200, "this session");

    // Guessing the current password from a stolen session: counted like sign-in failures.
    let mut answers = Vec::new();
    for i in 0..12 {
        let r = lab.post(
            "/api/v1/me/password",
            &second,
            &json!({"current_password": format!("guess number {i}"), "new_password": "x y z w v u t s"}),
        );
        answers.push(r.status);
        if r.status == 429 {
            assert!(r.header("retry-after").is_some(), "Retry-After");
            break;
        }
    }
    assert_eq!(answers, [401, 401, 401, 401, 401, 429], "{answers:?}");
    // The same counter holds sign-in for the account.
    bo.password = "woollen compass found in the attic".into();
    assert_eq!(lab.sign_in_password(&bo).status, 429);
}

#[test]
fn a_token_cannot_mint_a_token_and_token_lifetime_is_capped() {
    let lab = lab(&["--token-max-lifetime", "30d"]);
    let mut cy = lab.add_user("cy", "front-desk");
    let s = lab.sign_in(&cy, 0);
    lab.choose_password(&mut cy, &s, "granite meadow behind the old mill");
    for days in [0, 31, 4_000_000_000u32] {
        let r = lab.post(
            "/api/v1/tokens",
            &s,
            &json!({"label": "kiosk", "days": days}),
        );
        assert_eq!(r.status, 422, "{days} days: {}", r.body);
        assert_eq!(r.json()["error"], "token-lifetime");
    }
    let r = lab.post("/api/v1/tokens", &s, &json!({"label": "kiosk"}));
    assert_eq!(r.status, 201, "{}", r.body);
    let exp = chrono::DateTime::parse_from_rfc3339(r.json()["expires_at"].as_str().unwrap())
        .unwrap()
        .to_utc();
    let left = exp - chrono::Utc::now();
    assert!(left <= chrono::TimeDelta::days(30), "{left}");
    assert!(left > chrono::TimeDelta::days(29), "{left}");
    let token = Who::Token(r.json()["token"].as_str().unwrap().to_string());

    let r = lab.post("/api/v1/tokens", &token, &json!({"label": "renewal"}));
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["error"], "token-cannot-mint");

    // The list shows the token's last use (the refused request above used it).
    let v = lab.get("/api/v1/tokens", &s).json();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    assert!(list[0]["last_used_at"].is_string(), "{v}");
    assert_eq!(list[0]["label"], "kiosk");
    assert!(
        !v.to_string().contains("lgt_"),
        "the list shows no secret: {v}"
    );
}

#[test]
fn a_one_time_password_opens_no_form_post() {
    let lab = lab(&[]);
    let mut di = lab.add_user("di", "phlebotomist");
    let s = lab.sign_in(&di, 0);
    let Who::Session { csrf, .. } = &s else {
        unreachable!()
    };
    let form = format!("form:csrf={csrf}");
    let quiz = "/training/course/hipaa-security-basics/quiz";
    let r = call("POST", &lab.url(quiz), Some(&s), Some(&form));
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/change-password"));
    let r = lab.post(
        "/api/v1/training/courses/hipaa-security-basics/attempts",
        &s,
        &json!({}),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["error"], "password-change-required");
    assert_eq!(
        lab.get("/api/v1/me", &s).json()["error"],
        "password-change-required"
    );

    lab.choose_password(&mut di, &s, "saffron ladder near the blue gate");
    let r = call("POST", &lab.url(quiz), Some(&s), Some(&form));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("id=\"quiz\""), "{}", r.body);
}
