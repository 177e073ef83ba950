//! The real router over a real store (SQLite file, or a fresh PostgreSQL schema), called
//! in-process; a clock the test moves; accounts that sign in with TOTP codes from Python's
//! pyotp, as an authenticator app would make them.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::NaiveDate;
use chrono::{DateTime, TimeZone, Utc};
use http_body_util::BodyExt;
use labguard_core::{
    AbnormalFlag, ContainerType, Id, LabResult, LoincCode, Patient, ReferenceRange, ResultStatus,
    Role, Sex, Specimen,
};
use labguard_identity::HashParams;
use labguard_server::{app, AppState, Settings};
use labguard_store::{Actor, DataDir, Store, StoreOptions};
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt;

pub struct Env {
    pub name: &'static str,
    pub _dir: tempfile::TempDir,
    pub data: DataDir,
    pub store: Arc<Store>,
    pub state: AppState,
    pub app: Router,
    /// Seconds added to the base time.
    pub offset: Arc<AtomicI64>,
    pub rt: tokio::runtime::Runtime,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let labguard_store::Location::Postgres { url, schema } = &self.data.location {
            crate::drop_pg_schema(url, schema.as_deref());
        }
    }
}

fn base() -> DateTime<Utc> {
    // Middle of a TOTP step, so a code stays valid while a test runs.
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 10).unwrap()
}

pub use crate::backends;

type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The base time moved by `offset` seconds, read on every call.
fn clock_of(offset: &Arc<AtomicI64>) -> Clock {
    let o = offset.clone();
    Arc::new(move || base() + chrono::TimeDelta::seconds(o.load(Ordering::SeqCst)))
}

/// The router's state and router over `store`, on `clock`, for "Test Lab".
fn node_env(
    name: &'static str,
    dir: TempDir,
    data: DataDir,
    store: Store,
    offset: Arc<AtomicI64>,
) -> Env {
    let store = Arc::new(store);
    let settings = Settings {
        hash_params: HashParams::TESTING,
        lab_name: "Test Lab".into(),
        ..Settings::default()
    };
    let state = AppState::with_clock(store.clone(), settings, clock_of(&offset)).unwrap();
    Env {
        name,
        _dir: dir,
        data,
        app: app(state.clone()),
        store,
        state,
        offset,
        rt: crate::rt(),
    }
}

pub fn env(kind: &'static str, test: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let data = if kind == "sqlite" {
        DataDir::sqlite(dir.path().join("data"))
    } else {
        let schema = crate::schema_name("srv", test);
        DataDir::postgres(dir.path().join("data"), &crate::pg_url(), Some(&schema))
    };
    let offset = Arc::new(AtomicI64::new(0));
    let store = data
        .init(StoreOptions {
            node: "test".into(),
            clock: clock_of(&offset),
            ..StoreOptions::default()
        })
        .unwrap_or_else(|e| panic!("{kind}: init: {e}"));
    node_env(kind, dir, data, store, offset)
}

impl Env {
    /// A second labguard node on this node's database (same data dir, same clock), as a
    /// load balancer would put beside it.
    pub fn second_node(&self, node: &str) -> Env {
        let store = self
            .data
            .open(StoreOptions {
                node: node.into(),
                clock: clock_of(&self.offset),
                ..StoreOptions::default()
            })
            .unwrap_or_else(|e| panic!("{}: open as {node}: {e}", self.name));
        let dir = tempfile::tempdir().unwrap();
        node_env(
            self.name,
            dir,
            self.data.clone(),
            store,
            self.offset.clone(),
        )
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.state.now()
    }

    pub fn advance(&self, secs: i64) {
        self.offset.fetch_add(secs, Ordering::SeqCst);
    }

    /// Sends one request through the whole app (middleware included).
    pub fn call(&self, req: Request<Body>) -> (StatusCode, Value, Vec<String>) {
        self.rt.block_on(self.call_async(req))
    }

    async fn call_async(&self, req: Request<Body>) -> (StatusCode, Value, Vec<String>) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let cookies = resp
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, v, cookies)
    }

    /// Like `call`, with the response headers.
    pub fn call_with_headers(
        &self,
        req: Request<Body>,
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        self.rt.block_on(async {
            let resp = self.app.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            let headers = resp.headers().clone();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                headers,
            )
        })
    }

    /// Like `call`, for pages: the status and the body as text.
    pub fn call_text(&self, req: Request<Body>) -> (StatusCode, String) {
        self.rt.block_on(async {
            let resp = self.app.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8_lossy(&bytes).into_owned())
        })
    }

    /// Creates an account as the console operator; returns its initial password.
    pub fn add_user(&self, username: &str, role: Role) -> String {
        let (_, pw) = labguard_app::accounts::provision_account(
            &self.store,
            &Actor::operator(),
            username,
            username,
            role,
            "someone@example.invalid",
            &HashParams::TESTING,
        )
        .unwrap();
        pw.to_string()
    }
}

/// A signed-in browser: its cookie and CSRF token.
#[derive(Clone, Debug)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
    pub totp_secret: String,
}

pub fn cookie_of(set_cookies: &[String]) -> String {
    set_cookies
        .iter()
        .find(|c| c.starts_with("__Host-lgs=") && !c.contains("Max-Age=0"))
        .map(|c| c.split(';').next().unwrap().to_string())
        .expect("a session cookie")
}

/// The TOTP code for `secret` at `at`, from pyotp.
pub fn pyotp(secret: &str, at: DateTime<Utc>) -> String {
    crate::https::totp_at(secret, at.timestamp())
}

pub fn json_req(method: &str, uri: &str, s: Option<&Session>, body: &Value) -> Request<Body> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(s) = s {
        b = b
            .header(header::COOKIE, &s.cookie)
            .header("x-csrf-token", &s.csrf);
    }
    b.body(Body::from(body.to_string())).unwrap()
}

/// A patient search by MRN, as the UI sends it: a JSON body, never a query string.
pub fn search_mrn(mrn: &str, s: Option<&Session>) -> Request<Body> {
    json_req(
        "POST",
        "/api/v1/patients/search",
        s,
        &serde_json::json!({ "mrn": mrn }),
    )
}

pub fn get_req(uri: &str, s: Option<&Session>) -> Request<Body> {
    let mut b = Request::builder().method("GET").uri(uri);
    if let Some(s) = s {
        b = b.header(header::COOKIE, &s.cookie);
    }
    b.body(Body::empty()).unwrap()
}

/// First sign-in of a new account: password, TOTP enrolment (code from pyotp), and the
/// full session enrolment ends with.
pub fn enroll(env: &Env, username: &str, password: &str) -> Session {
    let (st, v, ck) = env.call(json_req(
        "POST",
        "/api/v1/auth/sign-in",
        None,
        &json!({"username": username, "password": password}),
    ));
    assert_eq!(st, StatusCode::OK, "{}: sign-in {v}", env.name);
    assert_eq!(v["stage"], "enroll");
    let s = Session {
        cookie: cookie_of(&ck),
        csrf: v["csrf_token"].as_str().unwrap().into(),
        totp_secret: String::new(),
    };
    let (st, v, _) = env.call(json_req("POST", "/api/v1/mfa/enroll", Some(&s), &json!({})));
    assert_eq!(st, StatusCode::OK, "{}: enroll {v}", env.name);
    let secret = v["secret_base32"].as_str().unwrap().to_string();
    assert!(v["otpauth_uri"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/"));
    assert!(v["qr_svg"].as_str().unwrap().contains("<svg"));
    let code = pyotp(&secret, env.now());
    let (st, v, ck) = env.call(json_req(
        "POST",
        "/api/v1/mfa/confirm",
        Some(&s),
        &json!({"code": code}),
    ));
    assert_eq!(st, StatusCode::OK, "{}: confirm {v}", env.name);
    assert_eq!(v["recovery_codes"].as_array().unwrap().len(), 10);
    Session {
        cookie: cookie_of(&ck),
        csrf: v["csrf_token"].as_str().unwrap().into(),
        totp_secret: secret,
    }
}

pub struct Seed {
    pub patient: Patient,
    pub result: Id,
}

/// One patient with a specimen (accession ACC-1) and a glucose result.
pub fn seed(env: &Env) -> Seed {
    let op = Actor::operator();
    let p = Patient {
        id: Id::new_v4(),
        mrn: "MRN-1001".into(),
        family: "Quill".into(),
        given: "Ottoline".into(),
        birth_date: NaiveDate::from_ymd_opt(1970, 1, 2).unwrap(),
        sex: Sex::Female,
        phone: None,
        email: None,
        address: None,
    };
    env.store.add_patient(&op, &p).unwrap();
    let s = Specimen {
        id: Id::new_v4(),
        patient_id: p.id,
        accession: "ACC-1".into(),
        collector: "seed".into(),
        collected_at: Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap(),
        container: ContainerType::Fluoride,
        body_site: "left arm".into(),
    };
    env.store.add_specimen(&op, &s).unwrap();
    let r = LabResult {
        id: Id::new_v4(),
        patient_id: p.id,
        specimen_id: Some(s.id),
        order_id: None,
        analyte: LoincCode::parse("2345-7").unwrap(),
        analyte_name: "Glucose".into(),
        value: "91".into(),
        units: "mg/dL".into(),
        reference_range: ReferenceRange::parse("70-99"),
        abnormal_flag: AbnormalFlag::Normal,
        status: ResultStatus::Preliminary,
        performing_device: None,
        verified_by: None,
        observed_at: Utc.with_ymd_and_hms(2026, 11, 25, 8, 30, 0).unwrap(),
    };
    env.store.add_result(&op, &r).unwrap();
    Seed {
        patient: p,
        result: r.id,
    }
}

/// Signs in an enrolled account with password and a fresh pyotp code.
pub fn enroll_again(env: &Env, user: &str, pw: &str, secret: &str) -> Session {
    let (st, v, ck) = env.call(json_req(
        "POST",
        "/api/v1/auth/sign-in",
        None,
        &json!({"username": user, "password": pw}),
    ));
    assert_eq!(st, StatusCode::OK, "{v}");
    let pending = Session {
        cookie: cookie_of(&ck),
        csrf: v["csrf_token"].as_str().unwrap().into(),
        totp_secret: String::new(),
    };
    let code = pyotp(secret, env.now());
    let (st, v, ck) = env.call(json_req(
        "POST",
        "/api/v1/auth/mfa",
        Some(&pending),
        &json!({"code": code}),
    ));
    assert_eq!(st, StatusCode::OK, "{v}");
    Session {
        cookie: cookie_of(&ck),
        csrf: v["csrf_token"].as_str().unwrap().into(),
        totp_secret: secret.into(),
    }
}
