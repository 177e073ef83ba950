//! curl as the HTTPS client of a spawned `labguard serve` (its certificate is self-signed,
//! so `-k`), and TOTP codes from Python's pyotp, as an authenticator app would make them.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

/// curl against the self-signed server with `args`: (stdout, exit ok).
pub fn curl(args: &[&str]) -> (String, bool) {
    let o = Command::new("curl")
        .args(["-sk", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl");
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        o.status.success(),
    )
}

/// The HTTP status of a GET (0 if there was no answer), with an optional Authorization
/// header value.
pub fn status(url: &str, auth: Option<&str>) -> u16 {
    let header = auth.map(|a| format!("Authorization: {a}"));
    let mut args = vec!["-o", "/dev/null", "-w", "%{http_code}"];
    if let Some(h) = &header {
        args.extend(["-H", h.as_str()]);
    }
    args.push(url);
    curl(&args).0.trim().parse().unwrap_or(0)
}

/// Who is calling: a browser session (cookie and CSRF token) or an API token.
#[derive(Clone, Debug)]
pub enum Who {
    Session { cookie: String, csrf: String },
    Token(String),
}

/// An answer: status, headers in order, body.
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The session this answer set: its `__Host-lgs` cookie and the body's CSRF token.
    pub fn session(&self) -> Who {
        let cookie = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v)
            .find(|v| v.starts_with("__Host-lgs=") && !v.contains("Max-Age=0"))
            .map(|v| v.split(';').next().unwrap().to_string())
            .expect("a session cookie");
        Who::Session {
            cookie,
            csrf: self.json()["csrf_token"].as_str().unwrap().to_string(),
        }
    }
}

/// One HTTPS request with curl. `body` is JSON unless it starts with `form:`.
pub fn call(method: &str, url: &str, who: Option<&Who>, body: Option<&str>) -> Resp {
    let mut c = Command::new("curl");
    c.args(["-sk", "--max-time", "20", "-i", "-X", method, url]);
    match who {
        Some(Who::Session { cookie, csrf }) => {
            c.args(["-H", &format!("Cookie: {cookie}")]);
            c.args(["-H", &format!("X-CSRF-Token: {csrf}")]);
        }
        Some(Who::Token(t)) => {
            c.args(["-H", &format!("Authorization: Bearer {t}")]);
        }
        None => {}
    }
    match body {
        Some(b) if b.starts_with("form:") => {
            c.args(["-H", "Content-Type: application/x-www-form-urlencoded"]);
            c.args(["--data-binary", &b[5..]]);
        }
        Some(b) => {
            c.args(["-H", "Content-Type: application/json", "--data-binary", b]);
        }
        None => {}
    }
    let o = c.output().expect("curl");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Resp {
        status,
        headers,
        body: body.to_string(),
    }
}

/// The TOTP code for the base32 `secret` at `unix` seconds, from pyotp.
pub fn totp_at(secret: &str, unix: i64) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).at(int(sys.argv[2])))",
            secret,
            &unix.to_string(),
        ])
        .output()
        .expect("python3 with pyotp (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "pyotp: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Seconds since the epoch, by the wall clock (what an authenticator app reads).
pub fn unix_now() -> i64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970");
    i64::try_from(d.as_secs()).expect("seconds fit i64")
}

/// The TOTP code for `secret`, `ahead` 30-second steps from now, from pyotp.
pub fn totp_code(secret: &str, ahead: i64) -> String {
    totp_at(secret, unix_now() + 30 * ahead)
}

/// The current TOTP code for an otpauth:// URI, computed by pyotp.
pub fn totp_now_uri(uri: &str) -> String {
    let o = Command::new("python3")
        .args([
            "-c",
            "import sys, pyotp; print(pyotp.parse_uri(sys.argv[1]).now())",
            uri,
        ])
        .output()
        .expect("python3 with pyotp");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

/// Signs `username` in at `base` with `password`, then the code `ahead` steps from now for
/// the enrolled `totp_secret`: a full session.
pub fn sign_in(base: &str, username: &str, password: &str, totp_secret: &str, ahead: i64) -> Who {
    let body = json!({"username": username, "password": password}).to_string();
    let r = call(
        "POST",
        &format!("{base}/api/v1/auth/sign-in"),
        None,
        Some(&body),
    );
    assert_eq!(r.status, 200, "sign-in: {}", r.body);
    assert_eq!(
        r.json()["stage"],
        "mfa",
        "an enrolled account is asked for a code"
    );
    let pending = r.session();
    let body = json!({"code": totp_code(totp_secret, ahead)}).to_string();
    let r = call(
        "POST",
        &format!("{base}/api/v1/auth/mfa"),
        Some(&pending),
        Some(&body),
    );
    assert_eq!(r.status, 200, "mfa: {}", r.body);
    r.session()
}
