//! Single sign-on against a real OpenID Connect provider (the npm package `oidc-provider`,
//! `tests/oidc/provider.mjs`, installed outside git by scripts/test.sh or here), driven
//! through headless Chromium; the doors (state, browser binding, flooding, return paths)
//! over HTTPS with curl; and forged ID tokens against the crate's verification.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::Utc;
use labguard_core::Role;
use labguard_identity::oidc::{FlowLimits, MfaPolicy, RoleMap};
use labguard_identity::HashParams;
use labguard_server::oidc::{verify_id_token, Oidc, OidcConfig};
use labguard_server::{AppState, Settings};
use labguard_store::{Actor, DataDir, Store, StoreOptions};
use labguard_testkit::https::{curl, totp_code};
use labguard_testkit::{free_port, KillOnDrop};
use serde_json::{json, Value};

use crate::webdriver::{require_chromedriver, screenshots, Driver};

const PROVIDER_VERSION: &str = "9.13.3";
const CLIENT_SECRET: &str = "test-client-secret-0123456789abcdef";

/// Where oidc-provider is installed: `LABGUARD_OIDC_PROVIDER_DIR`, else under /var/tmp.
/// Installed here when missing (scripts/test.sh does it first, so CI is offline-safe after).
fn provider_dir() -> PathBuf {
    let dir = std::env::var_os("LABGUARD_OIDC_PROVIDER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/labguard-oidc-provider"));
    if !dir.join("node_modules/oidc-provider/package.json").exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let ok = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg(format!("oidc-provider@{PROVIDER_VERSION}"))
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok,
            "npm install oidc-provider failed (scripts/test.sh installs it)"
        );
    }
    dir
}

struct Sso {
    _dir: tempfile::TempDir,
    _idp: KillOnDrop,
    _rt: tokio::runtime::Runtime,
    store: Arc<Store>,
    state: AppState,
    base: String,
    issuer: String,
}

fn start(limits: FlowLimits) -> Sso {
    let pdir = provider_dir();
    let idp_port = free_port();
    let port = free_port();
    // One copy per provider, next to its node_modules (ESM resolves from the script).
    let script = pdir.join(format!("provider-{idp_port}.mjs"));
    std::fs::write(&script, include_str!("../oidc/provider.mjs")).unwrap();
    let redirect = format!("https://127.0.0.1:{port}/auth/oidc/callback");
    let child = Command::new("node")
        .arg(&script)
        .env("PORT", idp_port.to_string())
        .env("CLIENT_ID", "labguard")
        .env("CLIENT_SECRET", CLIENT_SECRET)
        .env("REDIRECT_URI", &redirect)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("node");
    let idp = KillOnDrop(child);
    let issuer = format!("http://127.0.0.1:{idp_port}");
    let t0 = Instant::now();
    while curl(&["-f", &format!("{issuer}/.well-known/openid-configuration")])
        .0
        .is_empty()
    {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "oidc-provider did not start"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        DataDir::sqlite(dir.path().join("data"))
            .init(StoreOptions::default())
            .unwrap(),
    );
    let oidc = Oidc::new(OidcConfig {
        issuer: issuer.clone(),
        client_id: "labguard".into(),
        client_secret: Some(zeroize::Zeroizing::new(CLIENT_SECRET.into())),
        redirect_url: redirect,
        roles: RoleMap::parse(&["groups=lab-techs -> lab-technologist"]).unwrap(),
        mfa: MfaPolicy::default(),
        scopes: vec![
            "profile".into(),
            "email".into(),
            "groups".into(),
            "offline_access".into(),
        ],
        ca_pem: None,
        // The tests run the check themselves ("the next check"), not on a timer.
        check_every: Duration::from_secs(3600),
        limits,
    })
    .unwrap();
    let settings = Settings {
        hash_params: HashParams::TESTING,
        oidc: Some(Arc::new(oidc)),
        ..Settings::default()
    };
    let state = AppState::new(store.clone(), settings).unwrap();
    let k = labguard_server::tls::sealed_self_signed(&store, dir.path()).unwrap();
    let tls = labguard_server::tls::server_config_pem(&k.cert_pem, &k.key_pem).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.spawn(labguard_server::serve(
        state.clone(),
        ([127, 0, 0, 1], port).into(),
        tls,
        labguard_server::listener::Limits::default(),
    ));
    let base = format!("https://127.0.0.1:{port}");
    let t0 = Instant::now();
    while labguard_testkit::https::status(&format!("{base}/health"), None) != 200 {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Sso {
        _dir: dir,
        _idp: idp,
        _rt: rt,
        store,
        state,
        base,
        issuer,
    }
}

impl Sso {
    fn check(&self) -> usize {
        self._rt
            .block_on(labguard_server::oidc::check_once(&self.state))
    }

    fn actions(&self) -> Vec<(String, String)> {
        self.store
            .audit_entries(&Actor::operator(), 0, 10_000)
            .unwrap()
            .into_iter()
            .map(|(_, e)| (e.action, e.reason.unwrap_or_default()))
            .collect()
    }
}

/// Through the sign-in page's link to the directory's login form and back.
fn directory_sign_in(d: &Driver, s: &Sso, login: &str, start: &str) {
    d.go(&format!("{}{start}", s.base));
    if start == "/sign-in" {
        d.click("#sso-link");
    }
    d.wait_js(
        "the directory's login form",
        "return !!document.getElementById('login')",
    );
    d.type_into("#login", login);
    d.type_into("#password", &format!("{login}-pw"));
    d.click("#submit");
}

fn me(d: &Driver) -> Value {
    let t = d.js(
        "var x = new XMLHttpRequest(); x.open('GET', '/api/v1/me', false); x.send(); return x.status + ' ' + x.responseText;",
    );
    let t = t.as_str().unwrap_or("").to_string();
    let (code, body) = t.split_once(' ').unwrap_or(("0", ""));
    json!({"status": code.parse::<u16>().unwrap_or(0), "body": serde_json::from_str::<Value>(body).unwrap_or(Value::Null)})
}

#[test]
fn browser_directory_sign_in_maps_roles_refuses_unmapped_asks_totp_and_ends_disabled() {
    require_chromedriver();
    let s = start(FlowLimits::default());
    let shots = screenshots();

    // alice: lab-techs with MFA at the directory. The return path tries to leave the site.
    let d = Driver::start(shots.clone());
    directory_sign_in(&d, &s, "alice", "/auth/oidc/start?return=//evil.example/x");
    d.wait_js(
        "the app page",
        "return location.pathname === '/app' && location.hostname === '127.0.0.1' && !!document.getElementById('who')",
    );
    d.shot("sso-01-alice");
    let m = me(&d);
    assert_eq!(m["status"], 200, "{m}");
    assert_eq!(m["body"]["role"], "lab-technologist");
    assert_eq!(m["body"]["stage"], "full");
    let alice = s.store.account_by_username("alice").unwrap().unwrap();
    assert_eq!(alice.staff.role, Role::LabTechnologist);
    assert!(!labguard_identity::verify_password(
        "",
        &alice.password_hash
    ));
    drop(d);

    // bob: no rule matches his groups: refused, no account, audited.
    let d = Driver::start(shots.clone());
    directory_sign_in(&d, &s, "bob", "/sign-in");
    d.wait_js(
        "the refusal",
        "return (document.getElementById('sso-message') || {}).textContent === 'no role rule matches your directory groups'",
    );
    d.shot("sso-02-bob-refused");
    assert_eq!(me(&d)["status"], 401);
    assert!(s.store.account_by_username("bob").unwrap().is_none());
    drop(d);

    // carol: mapped, password only at the directory: labguard asks for its own TOTP first.
    let d = Driver::start(shots.clone());
    directory_sign_in(&d, &s, "carol", "/sign-in");
    d.wait_js(
        "TOTP set-up",
        "return location.search === '?sso=1' && (document.getElementById('totp-secret') || {}).textContent.length > 10",
    );
    d.shot("sso-03-carol-totp");
    assert_eq!(me(&d)["body"]["stage"], "enroll");
    // Not yet a full session: patient data is out of reach.
    let denied = d.js("var x = new XMLHttpRequest(); x.open('GET', '/api/v1/results', false); x.send(); return x.status;");
    assert_eq!(denied, json!(403));
    let secret = d
        .js("return document.getElementById('totp-secret').textContent")
        .as_str()
        .unwrap()
        .to_string();
    d.type_into("#enroll-code", &totp_code(&secret, 0));
    d.click("#enroll-form button");
    d.wait_js(
        "recovery codes",
        "return !document.getElementById('recovery').hidden",
    );
    assert_eq!(me(&d)["body"]["stage"], "full");
    drop(d);

    // dave: signed in; the check passes while the directory vouches, ends him once disabled.
    let d = Driver::start(shots);
    directory_sign_in(&d, &s, "dave", "/sign-in");
    d.wait_js("the app page", "return location.pathname === '/app'");
    assert_eq!(me(&d)["body"]["stage"], "full");
    assert_eq!(s.check(), 0, "every directory account still refreshes");
    assert_eq!(me(&d)["status"], 200);
    curl(&["-X", "POST", &format!("{}/test/disable/dave", s.issuer)]);
    assert!(s.check() >= 1);
    assert_eq!(me(&d)["status"], 401);
    d.go(&format!("{}/app", s.base));
    d.wait_js(
        "the sign-in page",
        "return location.pathname === '/sign-in'",
    );
    d.shot("sso-04-dave-ended");
    drop(d);

    let acts = s.actions();
    let has = |a: &str, r: &str| acts.iter().any(|(x, y)| x == a && y.contains(r));
    assert!(
        has("account.create", "single sign-on, role lab-technologist"),
        "{acts:?}"
    );
    assert!(has("auth.sso.sign-in", "signed in"));
    assert!(has("auth.sso.refused", "no role rule matches"));
    assert!(has(
        "auth.sso.session-ended",
        "the directory refused the refresh"
    ));
}

/// `start` as curl sees it: the directory URL's `state` and the flow cookie.
fn begin(s: &Sso, from: Option<&str>) -> (String, String) {
    let mut args = vec!["-i".to_string()];
    if let Some(f) = from {
        args.extend(["--interface".into(), f.into()]);
    }
    args.push(format!("{}/auth/oidc/start", s.base));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, _) = curl(&a);
    let loc = out
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap_or_else(|| panic!("no redirect: {out}"))
        .trim();
    let state = loc
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("state="))
        .unwrap()
        .to_string();
    assert!(loc.contains("code_challenge_method=S256"), "PKCE: {loc}");
    let cookie = out
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    (state, cookie)
}

fn callback(s: &Sso, query: &str, cookie: Option<&str>) -> (u16, String) {
    let mut args = vec!["-w".to_string(), "\n%{http_code}".into()];
    if let Some(c) = cookie {
        args.extend(["-H".into(), format!("Cookie: {c}")]);
    }
    args.push(format!("{}/auth/oidc/callback?{query}", s.base));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, _) = curl(&a);
    let (body, code) = out.rsplit_once('\n').unwrap();
    (code.trim().parse().unwrap(), body.to_string())
}

#[test]
fn callback_doors_state_binding_replay_and_flooding() {
    let s = start(FlowLimits {
        max_total: 100,
        max_per_source: 5,
        ttl: chrono::TimeDelta::minutes(10),
    });
    // No flow at all.
    let (code, body) = callback(&s, "code=abc&state=nothing", None);
    assert_eq!(code, 400);
    assert!(body.contains("not started in this browser"));
    // A stolen state without the browser's cookie: refused, and the flow is burned.
    let (state, cookie) = begin(&s, None);
    assert_eq!(
        callback(&s, &format!("code=abc&state={state}"), None).0,
        400
    );
    assert_eq!(
        callback(&s, &format!("code=abc&state={state}"), Some(&cookie)).0,
        400,
        "the stolen state burned the flow"
    );
    // The right browser with a forged code: the exchange fails (refused, audited) ...
    let (state, cookie) = begin(&s, None);
    let (code, body) = callback(&s, &format!("code=forged&state={state}"), Some(&cookie));
    assert_eq!(code, 403, "{body}");
    // ... and the state cannot be replayed.
    assert_eq!(
        callback(&s, &format!("code=forged&state={state}"), Some(&cookie)).0,
        400
    );
    // Another flow's cookie does not open this one.
    let (state_a, _cookie_a) = begin(&s, None);
    let (_state_b, cookie_b) = begin(&s, None);
    assert_eq!(
        callback(&s, &format!("code=x&state={state_a}"), Some(&cookie_b)).0,
        400
    );
    assert!(s
        .actions()
        .iter()
        .any(|(a, r)| a == "auth.sso.refused" && r.contains("could not be verified")));
    // Flooding: one source gets its share of flows under way, then 429; another still starts.
    let mut refused = false;
    for _ in 0..10 {
        let (o, _) = curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("{}/auth/oidc/start", s.base),
        ]);
        if o.trim() == "429" {
            refused = true;
            break;
        }
    }
    assert!(refused, "flows from one source are bounded");
    // The loopback alias 127.0.0.2 is another source.
    let (state, _) = begin(&s, Some("127.0.0.2"));
    assert!(!state.is_empty());
}

// ---- forged ID tokens against the verification sign-in uses ----

struct Idp {
    key: ring::signature::EcdsaKeyPair,
    jwks: String,
    public: Vec<u8>,
    meta: String,
}

const ISS: &str = "https://idp.lab.example";

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn idp() -> Idp {
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let public = key.public_key().as_ref().to_vec();
    let jwks =
        json!({"keys": [{"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": "k1",
        "x": b64(&public[1..33]), "y": b64(&public[33..65])}]})
        .to_string();
    let meta = json!({"issuer": ISS, "authorization_endpoint": format!("{ISS}/auth"),
        "token_endpoint": format!("{ISS}/token"), "jwks_uri": format!("{ISS}/jwks"),
        "response_types_supported": ["code"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256", "HS256", "none"]})
    .to_string();
    Idp {
        key,
        jwks,
        public,
        meta,
    }
}

fn claims(over: Value) -> Value {
    let now = Utc::now().timestamp();
    let mut c = json!({"iss": ISS, "sub": "u1", "aud": "labguard", "exp": now + 300, "iat": now,
        "nonce": "n-1", "amr": ["pwd", "mfa"], "groups": ["lab-techs"]});
    for (k, v) in over.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn es256(i: &Idp, c: &Value) -> String {
    let h = b64(json!({"alg": "ES256", "kid": "k1", "typ": "JWT"})
        .to_string()
        .as_bytes());
    let input = format!("{h}.{}", b64(c.to_string().as_bytes()));
    let sig = i
        .key
        .sign(&ring::rand::SystemRandom::new(), input.as_bytes())
        .unwrap();
    format!("{input}.{}", b64(sig.as_ref()))
}

fn hs256(key: &[u8], c: &Value) -> String {
    let h = b64(json!({"alg": "HS256", "kid": "k1", "typ": "JWT"})
        .to_string()
        .as_bytes());
    let input = format!("{h}.{}", b64(c.to_string().as_bytes()));
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    format!(
        "{input}.{}",
        b64(ring::hmac::sign(&k, input.as_bytes()).as_ref())
    )
}

fn check(i: &Idp, token: &str) -> Result<labguard_server::oidc::Verified, String> {
    verify_id_token(
        &i.meta,
        &i.jwks,
        "labguard",
        Some(CLIENT_SECRET),
        token,
        "n-1",
        Utc::now(),
    )
    .map_err(|e| e.to_string())
}

#[test]
fn forged_id_tokens_are_refused() {
    let i = idp();
    let good = check(&i, &es256(&i, &claims(json!({})))).expect("a genuine token verifies");
    assert_eq!(good.subject, "u1");
    assert_eq!(good.amr, vec!["pwd".to_string(), "mfa".to_string()]);
    assert_eq!(good.claims["groups"], json!(["lab-techs"]));

    let now = Utc::now().timestamp();
    for (what, c) in [
        ("nonce mismatch", json!({"nonce": "n-2"})),
        ("no nonce", json!({"nonce": null})),
        ("another issuer", json!({"iss": "https://evil.example"})),
        ("another audience", json!({"aud": "someone-else"})),
        ("expired", json!({"exp": now - 600, "iat": now - 1200})),
    ] {
        let mut c = claims(c);
        if c["nonce"].is_null() {
            c.as_object_mut().unwrap().remove("nonce");
        }
        assert!(check(&i, &es256(&i, &c)).is_err(), "{what} was accepted");
    }
    let c = claims(json!({}));
    // alg=none.
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"}).to_string().as_bytes()),
        b64(c.to_string().as_bytes())
    );
    assert!(check(&i, &none).is_err(), "alg none accepted");
    // HS256 keyed with the issuer's public key (the classic confusion), and with the client
    // secret (which the issuer's key set does not vouch for).
    assert!(
        check(&i, &hs256(&i.public, &c)).is_err(),
        "HS256 with the public key"
    );
    assert!(
        check(&i, &hs256(i.jwks.as_bytes(), &c)).is_err(),
        "HS256 with the JWKS"
    );
    assert!(
        check(&i, &hs256(CLIENT_SECRET.as_bytes(), &c)).is_err(),
        "HS256 with the client secret"
    );
    // Signed by another key under the same kid.
    let other = idp();
    assert!(check(&i, &es256(&other, &c)).is_err(), "another key");
    // A valid signature over altered claims.
    let t = es256(&i, &c);
    let mut parts: Vec<String> = t.split('.').map(str::to_string).collect();
    parts[1] = b64(claims(json!({"groups": ["lab-admins"]}))
        .to_string()
        .as_bytes());
    assert!(check(&i, &parts.join(".")).is_err(), "altered payload");
}
