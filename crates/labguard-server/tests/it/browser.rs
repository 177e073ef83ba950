//! Browser tests in headless Chromium over WebDriver (Debian `chromium` + `chromium-driver`;
//! scripts/test.sh installs them): sign in with a TOTP code from pyotp, search a patient,
//! record a draw, meet a permission denied, and get logged off by the idle timeout.
//! Screenshots go to `<target>/tmp/browser-screenshots/` as artifacts. The WebDriver client
//! is `webdriver.rs`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, TimeDelta, Utc};
use labguard_core::{Id, Patient, Role, Sex};
use labguard_identity::{recovery, HashParams, TotpSecret};
use labguard_server::{AppState, Settings};
use labguard_store::{Actor, DataDir, StoreOptions};
use labguard_testkit::free_port;
use labguard_testkit::https::totp_code;
use serde_json::json;

use crate::webdriver::{require_chromedriver, screenshots, Driver};

const IDLE_SECS: i64 = 6;

/// A store, an enrolled account per (username, role), and the real HTTPS server.
pub(crate) struct Lab {
    _dir: tempfile::TempDir,
    pub(crate) store: Arc<labguard_store::Store>,
    pub(crate) base: String,
    _rt: tokio::runtime::Runtime,
    /// (username, password, TOTP secret in base32).
    people: Vec<(String, String, String)>,
}

pub(crate) fn lab(people: &[(&str, Role)], idle_secs: i64) -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::sqlite(dir.path().join("data"));
    let store = Arc::new(data.init(StoreOptions::default()).unwrap());
    let op = Actor::operator();
    let mut made = Vec::new();
    for (i, (username, role)) in people.iter().enumerate() {
        let (acct, password) = labguard_app::accounts::provision_account(
            &store,
            &op,
            username,
            &format!("{username} (test)"),
            *role,
            &format!("{username}@example.invalid"),
            &HashParams::TESTING,
        )
        .unwrap();
        let secret = TotpSecret::from_random_bytes([7 + i as u8; 20]);
        let user = acct.staff.id.to_string();
        store
            .start_mfa_enrollment(&op, &user, secret.as_bytes())
            .unwrap();
        let codes = recovery::generate(1, &[1u8; 10], Utc::now()).unwrap();
        store
            .confirm_mfa(
                &op,
                &user,
                &serde_json::to_string(&codes.stored).unwrap(),
                None,
                None,
            )
            .unwrap();
        made.push((
            username.to_string(),
            password.to_string(),
            secret.to_base32().to_string(),
        ));
    }
    let mut settings = Settings {
        hash_params: HashParams::TESTING,
        ..Settings::default()
    };
    settings.session.idle_timeout = TimeDelta::seconds(idle_secs);
    let state = AppState::new(store.clone(), settings).unwrap();
    let k = labguard_server::tls::sealed_self_signed(&store, dir.path()).unwrap();
    let tls = labguard_server::tls::server_config_pem(&k.cert_pem, &k.key_pem).unwrap();
    let port = free_port();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.spawn(labguard_server::serve(
        state,
        ([127, 0, 0, 1], port).into(),
        tls,
        labguard_server::listener::Limits::default(),
    ));
    Lab {
        _dir: dir,
        store,
        base: format!("https://127.0.0.1:{port}"),
        _rt: rt,
        people: made,
    }
}

/// Password, then the authenticator code from pyotp; ends on the app page.
pub(crate) fn sign_in(d: &Driver, lab: &Lab, who: usize, shot_prefix: Option<&str>) {
    let (username, password, secret) = &lab.people[who];
    d.go(&format!("{}/sign-in", lab.base));
    d.type_into("#username", username);
    d.type_into("#password", password);
    if let Some(p) = shot_prefix {
        d.shot(&format!("{p}-sign-in"));
    }
    d.click("#sign-in");
    d.wait_js(
        "the code form",
        "return !document.getElementById('mfa-form').hidden",
    );
    d.type_into("#code", &totp_code(secret, 0));
    if let Some(p) = shot_prefix {
        d.shot(&format!("{p}-totp"));
    }
    d.click("#verify");
    d.wait_js(
        "the app page",
        "return location.pathname === '/app' && !!document.getElementById('who')",
    );
}

#[test]
fn browser_sign_in_search_draw_denied_and_idle_logoff() {
    require_chromedriver();
    let lab = lab(&[("pia", Role::Phlebotomist)], IDLE_SECS);
    let (store, base) = (&lab.store, &lab.base);
    let op = Actor::operator();
    let patient = Patient {
        id: Id::new_v4(),
        mrn: "MRN-2001".into(),
        family: "Thistlewaite".into(),
        given: "Barnaby".into(),
        birth_date: NaiveDate::from_ymd_opt(1980, 5, 6).unwrap(),
        sex: Sex::Male,
        phone: None,
        email: None,
        address: None,
    };
    store.add_patient(&op, &patient).unwrap();
    let shots = screenshots();
    let d = Driver::start(shots.clone());
    sign_in(&d, &lab, 0, Some("01"));
    // Search a patient and record a draw.
    d.type_into("#mrn", "MRN-2001");
    d.click("#search");
    d.wait_js(
        "the search result",
        "return document.getElementById('patients').innerText.includes('Thistlewaite')",
    );
    d.shot("03-search");
    d.click(".select-patient");
    d.type_into("#accession", "ACC-BROWSER-1");
    d.click("#record-draw");
    d.wait_js(
        "the draw confirmation",
        "return document.getElementById('draw-result').innerText.includes('Recorded')",
    );
    d.shot("04-draw");
    let s = store
        .find_specimen_by_accession(&op, "ACC-BROWSER-1")
        .unwrap()
        .expect("the draw was stored");
    assert_eq!(s.patient_id, patient.id);
    assert_eq!(s.collector, "pia");

    // A phlebotomist may not read results: the server says no, the page shows it.
    d.type_into("#results-accession", "ACC-BROWSER-1");
    d.click("#lookup-results");
    d.wait_js(
        "the permission-denied notice",
        "return !document.getElementById('denied').hidden",
    );
    d.shot("05-denied");
    d.go(&format!("{base}/dashboard"));
    d.wait_js(
        "the denied page",
        "return document.body.innerText.includes('Permission denied')",
    );
    d.shot("06-dashboard-denied");
    d.go(&format!("{base}/compliance"));
    d.wait_js(
        "the denied page for the compliance dashboard",
        "return document.body.innerText.includes('Permission denied')",
    );

    // Idle logoff: no activity for the timeout signs the browser out.
    d.go(&format!("{base}/app"));
    d.wait_js("the app page", "return location.pathname === '/app'");
    std::thread::sleep(Duration::from_secs(IDLE_SECS as u64 + 2));
    d.wait_js(
        "the idle sign-out",
        "return location.pathname === '/sign-in' && !!document.getElementById('expired')",
    );
    d.shot("07-idle-logoff");
    // And the server agrees: the old session no longer opens the app.
    d.go(&format!("{base}/app"));
    d.wait_js(
        "redirect to sign-in",
        "return location.pathname === '/sign-in'",
    );
    assert!(shots.join("07-idle-logoff.png").exists());
}

/// An auditor sees the compliance dashboard: score, three charts, what to act on.
#[test]
fn browser_auditor_sees_the_compliance_dashboard() {
    require_chromedriver();
    let lab = lab(&[("aud", Role::Auditor)], 900);
    let op = Actor::operator();
    let facts = lab.store.compliance_facts(&op).unwrap();
    let ev = labguard_compliance::collect::collect_all(
        &facts,
        &labguard_compliance::collect::NoExternalFacts,
        Utc::now(),
    );
    lab.store.save_evidence(&op, &ev).unwrap();
    let d = Driver::start(screenshots());
    sign_in(&d, &lab, 0, None);
    d.click("#nav-compliance");
    d.wait_js(
        "the compliance dashboard",
        "return location.pathname === '/compliance' && document.querySelectorAll('main svg').length === 3 \
         && !!document.getElementById('compliance-score')",
    );
    d.shot("08-compliance-dashboard");
}

#[test]
fn browser_audit_verify_access_review_and_account_admin() {
    require_chromedriver();
    let lab = lab(
        &[("sol", Role::SecurityOfficer), ("ada", Role::Administrator)],
        900,
    );
    let d = Driver::start(screenshots());

    // The security officer verifies the log from the audit page and watches it finish.
    sign_in(&d, &lab, 0, None);
    d.go(&format!("{}/audit", lab.base));
    d.wait_js(
        "the audit entries",
        "return document.querySelectorAll('#audit-entries tbody tr').length > 0",
    );
    d.click("#verify-log");
    d.wait_js(
        "the verification to pass",
        "return document.getElementById('verify-status').innerText.includes('Log verified')",
    );
    d.shot("11-audit-verified");
    // The run itself is in the log.
    let (size, _) = lab.store.audit_head().unwrap();
    let recent = lab
        .store
        .audit_entries(&Actor::operator(), size.saturating_sub(20), 20)
        .unwrap();
    assert!(recent.iter().any(|(_, e)| e.action == "audit.verify"));

    // Access review: every account, with role and MFA status.
    d.go(&format!("{}/access-review", lab.base));
    d.wait_js(
        "the review table",
        "return document.getElementById('review').innerText.includes('ada')",
    );
    d.wait_js(
        "the review summary",
        "return document.getElementById('review-summary').innerText.includes('2 accounts')",
    );
    d.shot("12-access-review");
    // The security officer does not manage accounts.
    d.go(&format!("{}/accounts", lab.base));
    d.wait_js(
        "the denied page",
        "return document.body.innerText.includes('Permission denied')",
    );
    d.go(&format!("{}/app", lab.base));
    d.click("#sign-out");
    d.wait_js(
        "the sign-in page",
        "return location.pathname === '/sign-in'",
    );

    // The administrator creates an account and disables a leaver.
    sign_in(&d, &lab, 1, None);
    d.go(&format!("{}/accounts", lab.base));
    d.type_into("#new-username", "lenny");
    d.type_into("#new-display", "Lenny Leaver");
    d.type_into("#new-email", "lenny@example.invalid");
    d.click("#create-account");
    d.wait_js(
        "the one-time password",
        "return document.getElementById('account-created').innerText.includes('One-time password')",
    );
    d.shot("13-account-created");
    d.go(&format!("{}/accounts", lab.base));
    d.js("window.confirm = () => true; return true;");
    d.click("button.disable-account[data-username='lenny']");
    d.wait_js(
        "the leaver disabled",
        "return document.querySelector(\"button.disable-account[data-username='lenny']\").disabled",
    );
    let lenny = lab
        .store
        .list_accounts(&Actor::operator())
        .unwrap()
        .into_iter()
        .find(|a| a.staff.username == "lenny")
        .unwrap();
    assert!(lenny.disabled_at.is_some());
}

/// A phlebotomist opens Training, reads a course, takes its quiz in the server-rendered
/// form (this attempt's random order) and passes; the completion and its certificate are
/// stored. The answers are the attempt's key, worked out from the stored seed as a test
/// oracle, and clicked in the page like a learner would.
#[test]
fn browser_takes_a_course_and_passes_its_quiz() {
    require_chromedriver();
    let lab = lab(&[("tess", Role::Phlebotomist)], 900);
    let store = &lab.store;
    let acct = store.account_by_username("tess").unwrap().unwrap();
    let d = Driver::start(screenshots());
    sign_in(&d, &lab, 0, None);

    d.click("#nav-training");
    d.wait_js(
        "the course list",
        "return !!document.getElementById('course-hipaa-security-basics')",
    );
    d.shot("training-11-training");
    d.click("#course-hipaa-security-basics");
    d.wait_js(
        "the lessons",
        "return !!document.getElementById('lesson-0') && !!document.getElementById('start-quiz')",
    );
    d.shot("training-12-course");
    d.click("#start-quiz");
    d.wait_js("the quiz form", "return !!document.getElementById('quiz')");
    d.shot("training-13-quiz");
    let attempt = d.js("return document.getElementById('quiz').dataset.attempt");
    let attempt = Id::parse_str(attempt.as_str().unwrap()).unwrap();
    let a = store.attempt(&Actor::operator(), attempt).unwrap();
    let course =
        labguard_app::training::course(store, &Actor::operator(), "hipaa-security-basics").unwrap();
    let answers = labguard_training::quiz::answer_key(&course, a.seed);
    // The page shows the questions in this attempt's order.
    let shown = d.js(
        "return Array.from(document.querySelectorAll('fieldset.question')).map(f => f.id.slice(2))",
    );
    let want: Vec<String> = labguard_training::quiz::present(&course, a.seed)
        .questions
        .into_iter()
        .map(|q| q.id)
        .collect();
    assert_eq!(shown, json!(want));
    for (q, opts) in &answers {
        for o in opts {
            let e = d.find(&format!("[id='opt-{q}-{o}']"));
            d.cmd("POST", &format!("/element/{e}/click"), Some(json!({})));
        }
    }
    d.shot("training-14-answered");
    d.click("#submit-quiz");
    d.wait_js(
        "the result",
        "return !!document.getElementById('passed') || !!document.getElementById('failed') || !!document.getElementById('error')",
    );
    d.shot("training-15-passed");
    let text = d.js("return document.body.innerText");
    assert!(
        d.js("return !!document.getElementById('passed')") == json!(true),
        "{text}"
    );
    assert!(text.as_str().unwrap().contains("100%"), "{text}");
    let done = store
        .completion_records(&Actor::operator(), Some(acct.staff.id))
        .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0.course_id, "hipaa-security-basics");
    let shown_id = d.js("return document.getElementById('certificate-id').innerText");
    assert!(done[0].1.contains(shown_id.as_str().unwrap()));
    // The transcript lists it.
    d.click("#nav-training");
    d.wait_js(
        "the transcript",
        "return document.getElementById('transcript').innerText.includes('100%')",
    );
    d.shot("training-16-transcript");
}
