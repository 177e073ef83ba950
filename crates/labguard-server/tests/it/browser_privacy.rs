//! The privacy dashboard in headless Chromium (the harness is `browser.rs`'s): a member of
//! staff opens a record with no care link, a scan files a case; the security officer sees
//! the case, the chart and the alert behind it; an auditor sees the chart and lettered
//! users only: no staff name, no patient name or MRN, no case pages.

use chrono::{NaiveDate, TimeDelta, Utc};
use labguard_core::{Id, Patient, Role, Sex, Staff};
use labguard_store::Actor;

use crate::browser::{lab, sign_in};
use crate::webdriver::{require_chromedriver, screenshots, Driver};

#[test]
fn browser_privacy_dashboard_for_the_officer_and_pseudonymous_for_the_auditor() {
    require_chromedriver();
    let lab = lab(
        &[("sol", Role::SecurityOfficer), ("aud", Role::Auditor)],
        900,
    );
    let (store, base) = (&lab.store, &lab.base);
    let op = Actor::operator();
    let patient = Patient {
        id: Id::new_v4(),
        mrn: "MRN-PRIV-77".into(),
        family: "Quillfeather".into(),
        given: "Ottoline".into(),
        birth_date: NaiveDate::from_ymd_opt(1971, 2, 3).unwrap(),
        sex: Sex::Female,
        phone: None,
        email: None,
        address: None,
    };
    store.add_patient(&op, &patient).unwrap();
    let snoop = Staff {
        id: Id::new_v4(),
        username: "nosy.desk".into(),
        display_name: "Nosy Parker".into(),
        role: Role::FrontDesk,
        email: "nosy@example.invalid".into(),
        active: true,
    };
    store.add_staff(&op, &snoop).unwrap();
    let nosy = Actor::staff(snoop.id.to_string(), Role::FrontDesk);
    store.get_patient(&nosy, patient.id).unwrap();
    let scan = store
        .privacy_scan(&op, Utc::now() + TimeDelta::days(2))
        .unwrap();
    assert_eq!(scan.cases_touched.len(), 1, "{scan:?}");
    let case = scan.cases_touched[0];

    let d = Driver::start(screenshots());
    sign_in(&d, &lab, 0, None);
    d.go(&format!("{base}/privacy"));
    d.wait_js(
        "the officer's dashboard",
        "return !!document.getElementById('detector-chart') \
         && document.querySelectorAll('#cases tbody tr').length === 1 \
         && document.getElementById('cases').innerText.includes('nosy.desk')",
    );
    assert_eq!(
        d.js("return document.getElementById('open-cases').innerText"),
        serde_json::json!("1")
    );
    // The chart draws the day's no-relationship alert as a line of its own.
    d.wait_js(
        "the no-relationship line in the chart",
        "return Array.from(document.querySelectorAll('#detector-chart polyline title'))          .some(t => t.textContent === 'no-relationship: 1')",
    );
    d.shot("privacy-01-officer-dashboard");
    d.click(&format!("a[href='/privacy/cases/{case}']"));
    d.wait_js(
        "the case page",
        "return !!document.getElementById('case-alerts') \
         && document.getElementById('case-alerts').innerText.includes('no-relationship')",
    );
    // The reviewer sees who the patient is (an audited demographics read).
    d.wait_js(
        "the case's patient by name",
        "return document.getElementById('case-patients').innerText.includes('Quillfeather') \
         && document.getElementById('case-alerts').innerText.includes('Quillfeather')",
    );
    d.shot("privacy-02-officer-case");
    d.go(&format!("{base}/app"));
    d.click("#sign-out");
    d.wait_js(
        "the sign-in page",
        "return location.pathname === '/sign-in'",
    );

    // The auditor: the same chart and counts, users by letter, nothing that names anyone.
    sign_in(&d, &lab, 1, None);
    d.go(&format!("{base}/privacy"));
    d.wait_js(
        "the auditor's dashboard",
        "return !!document.getElementById('detector-chart') \
         && document.getElementById('top-users').innerText.includes('User A')",
    );
    d.shot("privacy-03-auditor-dashboard");
    let html = d.js("return document.documentElement.outerHTML");
    let html = html.as_str().unwrap();
    assert!(html.contains("pseudonymous view"), "{html}");
    for secret in [
        "nosy.desk",
        "Nosy Parker",
        "Quillfeather",
        "Ottoline",
        "MRN-PRIV-77",
        &snoop.id.to_string(),
        &patient.id.to_string(),
    ] {
        assert!(!html.contains(secret), "the auditor's page shows {secret}");
    }
    assert!(
        !html.contains("id=\"cases\""),
        "case list shown to the auditor"
    );
    d.go(&format!("{base}/privacy/cases/{case}"));
    d.wait_js(
        "the denied case page",
        "return document.body.innerText.includes('Permission denied')",
    );
}
