//! Privacy monitoring API, attacked: every route without a session, with the wrong role
//! (refusals audited), without the CSRF token, with an oversize body; the person under
//! review cannot be assigned their own case; the auditor's dashboard carries no PHI; a
//! patient's access report holds nothing of another patient.

use axum::http::StatusCode;
use chrono::NaiveDate;
use labguard_audit::Outcome;
use labguard_core::{Patient, Role, Sex};
use labguard_store::Actor;
use labguard_testkit::server::*;
use serde_json::{json, Value};

const GETS: &[&str] = &[
    "/api/v1/privacy/cases",
    "/api/v1/privacy/cases/1",
    "/api/v1/privacy/patients/{pid}/access-report",
    "/api/v1/privacy/dashboard",
];

fn posts() -> Vec<(&'static str, Value)> {
    vec![
        ("/api/v1/privacy/scan", json!({})),
        ("/api/v1/privacy/cases/1/assign", json!({"to": "olive"})),
        ("/api/v1/privacy/cases/1/note", json!({"text": "asked her"})),
        (
            "/api/v1/privacy/cases/1/close",
            json!({"outcome": "sanction", "why": "no reason to open it"}),
        ),
        (
            "/api/v1/privacy/patients/{pid}/flag",
            json!({"restricted": true}),
        ),
    ]
}

fn patient_b(env: &Env) -> Patient {
    let p = Patient {
        id: labguard_core::Id::new_v4(),
        mrn: "MRN-2002".into(),
        family: "Marchbanks".into(),
        given: "Zebedee".into(),
        birth_date: NaiveDate::from_ymd_opt(1981, 3, 4).unwrap(),
        sex: Sex::Male,
        phone: None,
        email: None,
        address: None,
    };
    env.store.add_patient(&Actor::operator(), &p).unwrap();
    p
}

fn denied_privacy_entries(env: &Env, role: &str) -> usize {
    env.store
        .audit_entries(&Actor::operator(), 0, 100_000)
        .unwrap()
        .into_iter()
        .filter(|(_, e)| {
            e.role == role && e.action.starts_with("privacy.") && e.outcome == Outcome::Denied
        })
        .count()
}

#[test]
fn privacy_api_refuses_strangers_wrong_roles_forgeries_and_self_review() {
    for kind in backends() {
        let env = env(kind, "privacy_api");
        let a = seed(&env).patient;
        let b = patient_b(&env);
        let pid = a.id.to_string();
        let fill = |p: &str| p.replace("{pid}", &pid);

        // The technologist opens two records outside any worklist.
        let pw = env.add_user("tess", Role::LabTechnologist);
        let tess = enroll(&env, "tess", &pw);
        for p in [&a, &b] {
            let (st, _, _) = env.call(get_req(&format!("/api/v1/patients/{}", p.id), Some(&tess)));
            assert_eq!(st, StatusCode::OK);
        }

        // No session: 401 everywhere.
        for p in GETS {
            let (st, _, _) = env.call(get_req(&fill(p), None));
            assert_eq!(st, StatusCode::UNAUTHORIZED, "{kind} GET {p}");
        }
        for (p, body) in posts() {
            let (st, _, _) = env.call(json_req("POST", &fill(p), None, &body));
            assert_eq!(st, StatusCode::UNAUTHORIZED, "{kind} POST {p}");
        }

        // Wrong role: 403, and each refusal is in the audit log.
        let before = denied_privacy_entries(&env, "lab-technologist");
        for p in GETS {
            let (st, v, _) = env.call(get_req(&fill(p), Some(&tess)));
            assert_eq!(st, StatusCode::FORBIDDEN, "{kind} GET {p} as tess: {v}");
        }
        for (p, body) in posts() {
            let (st, v, _) = env.call(json_req("POST", &fill(p), Some(&tess), &body));
            assert_eq!(st, StatusCode::FORBIDDEN, "{kind} POST {p} as tess: {v}");
        }
        let after = denied_privacy_entries(&env, "lab-technologist");
        assert!(
            after >= before + GETS.len() + posts().len() - 1,
            "{kind}: refusals not audited ({before} -> {after})"
        );

        // The accesses settle (the relationship window's far edge), then the officer scans.
        env.advance(2 * 86_400);
        let olive_pw = env.add_user("olive", Role::SecurityOfficer);
        let olive = enroll(&env, "olive", &olive_pw);
        let pw = env.add_user("audrey", Role::Auditor);
        let audrey = enroll(&env, "audrey", &pw);

        // The auditor may read the dashboard only.
        for p in &GETS[..3] {
            let (st, _, _) = env.call(get_req(&fill(p), Some(&audrey)));
            assert_eq!(st, StatusCode::FORBIDDEN, "{kind} GET {p} as auditor");
        }
        for (p, body) in posts() {
            let (st, _, _) = env.call(json_req("POST", &fill(p), Some(&audrey), &body));
            assert_eq!(st, StatusCode::FORBIDDEN, "{kind} POST {p} as auditor");
        }

        // CSRF: a POST without the token, or with a forged one, is refused and scans nothing.
        for csrf in [None, Some("forged")] {
            let mut r = json_req("POST", "/api/v1/privacy/scan", Some(&olive), &json!({}));
            match csrf {
                None => {
                    r.headers_mut().remove("x-csrf-token");
                }
                Some(f) => {
                    r.headers_mut().insert("x-csrf-token", f.parse().unwrap());
                }
            }
            let (st, _, _) = env.call(r);
            assert_eq!(st, StatusCode::FORBIDDEN, "{kind}: scan without CSRF");
        }

        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/privacy/scan",
            Some(&olive),
            &json!({}),
        ));
        assert_eq!(st, StatusCode::OK, "{kind}: {v}");
        let alerts = v["new_alerts"].as_array().unwrap();
        assert!(!alerts.is_empty(), "{kind}: no alerts: {v}");
        for al in alerts {
            assert_eq!(al["staff"], "tess");
            assert!(al["patient"].as_str().unwrap().starts_with("pt-"));
            assert!(al["explanation"].as_str().unwrap().contains("tess"));
        }
        let raw = v.to_string();
        for phi in ["Quill", "Ottoline", "MRN-1001", "Marchbanks", "MRN-2002"] {
            assert!(!raw.contains(phi), "{kind}: scan output names {phi}");
        }

        let (st, v, _) = env.call(get_req("/api/v1/privacy/cases?open=true", Some(&olive)));
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v[0]["staff"], "tess");
        let case = v[0]["id"].as_u64().unwrap();
        let (st, v, _) = env.call(get_req(
            &format!("/api/v1/privacy/cases/{case}"),
            Some(&olive),
        ));
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["staff_name"], "tess");
        assert!(!v["alerts"].as_array().unwrap().is_empty());

        // Oversize body: 413, before any work.
        let big = json!({"text": "x".repeat(2_000_000)});
        let (st, _, _) = env.call(json_req(
            "POST",
            &format!("/api/v1/privacy/cases/{case}/note"),
            Some(&olive),
            &big,
        ));
        assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{kind}");

        // The case cannot be assigned to the person it is about.
        let (st, v, _) = env.call(json_req(
            "POST",
            &format!("/api/v1/privacy/cases/{case}/assign"),
            Some(&olive),
            &json!({"to": "tess"}),
        ));
        assert_eq!(st, StatusCode::FORBIDDEN, "{kind}: {v}");
        assert_eq!(v["error"], "self-review");
        // Closing before assignment is a state conflict, not a server error.
        let close = json!({"outcome": "sanction", "why": "opened two records with no order"});
        let (st, v, _) = env.call(json_req(
            "POST",
            &format!("/api/v1/privacy/cases/{case}/close"),
            Some(&olive),
            &close,
        ));
        assert_eq!(st, StatusCode::CONFLICT, "{kind}: {v}");
        for (step, body) in [
            ("assign", json!({"to": "olive"})),
            ("note", json!({"text": "asked tess; no order, no call"})),
            ("close", close.clone()),
        ] {
            let (st, v, _) = env.call(json_req(
                "POST",
                &format!("/api/v1/privacy/cases/{case}/{step}"),
                Some(&olive),
                &body,
            ));
            assert_eq!(st, StatusCode::OK, "{kind} {step}: {v}");
        }
        let (st, _, _) = env.call(json_req(
            "POST",
            &format!("/api/v1/privacy/cases/{case}/close"),
            Some(&olive),
            &close,
        ));
        assert_eq!(st, StatusCode::CONFLICT, "{kind}: closed twice");

        // Review steps need a fresh second factor: 16 minutes on (active, so the session
        // does not idle out), a note is refused until the officer signs in again.
        for _ in 0..4 {
            env.advance(4 * 60);
            for s in [&olive, &audrey] {
                let (st, v, _) = env.call(get_req("/api/v1/me", Some(s)));
                assert_eq!(st, StatusCode::OK, "{kind}: {v}");
            }
        }
        let (st, v, _) = env.call(json_req(
            "POST",
            &format!("/api/v1/privacy/cases/{case}/note"),
            Some(&olive),
            &json!({"text": "late note"}),
        ));
        assert_eq!(st, StatusCode::FORBIDDEN, "{kind}: {v}");
        assert_eq!(v["error"], "mfa-reauth-required");
        let olive = enroll_again(&env, "olive", &olive_pw, &olive.totp_secret);
        let (st, v, _) = env.call(json_req(
            "POST",
            &format!("/api/v1/privacy/cases/{case}/note"),
            Some(&olive),
            &json!({"text": "late note"}),
        ));
        assert_eq!(
            st,
            StatusCode::CONFLICT,
            "{kind}: a closed case takes no notes: {v}"
        );

        // The auditor's dashboard: lettered users, none of the seeded names or MRNs.
        let (st, body) = env.call_text(get_req("/api/v1/privacy/dashboard", Some(&audrey)));
        assert_eq!(st, StatusCode::OK, "{kind}: {body}");
        assert!(body.contains("User A"), "{body}");
        for phi in [
            "Quill",
            "Ottoline",
            "MRN-1001",
            "Marchbanks",
            "Zebedee",
            "MRN-2002",
            "tess",
            "olive",
            &a.id.to_string(),
            &b.id.to_string(),
        ] {
            assert!(!body.contains(phi), "{kind}: auditor dashboard has {phi}");
        }
        let (st, body) = env.call_text(get_req("/api/v1/privacy/dashboard", Some(&olive)));
        assert_eq!(st, StatusCode::OK);
        assert!(body.contains("tess"), "{kind}: officer sees names: {body}");

        // The pages: the officer's dashboard with its chart and the case, the auditor's
        // lettered, the technologist refused.
        let (st, html) = env.call_text(get_req("/privacy", Some(&olive)));
        assert_eq!(st, StatusCode::OK, "{kind}");
        for want in [
            "id=\"detector-chart\"",
            "<polyline",
            "id=\"top-users\"",
            "id=\"backlog\"",
        ] {
            assert!(html.contains(want), "{kind}: dashboard lacks {want}");
        }
        assert!(!html.contains("<script>") && !html.contains("style=\""));
        let (st, html) = env.call_text(get_req(&format!("/privacy/cases/{case}"), Some(&olive)));
        assert_eq!(st, StatusCode::OK, "{kind}");
        assert!(html.contains("id=\"case-alerts\"") && html.contains("olive noted: asked tess"));
        let (st, html) = env.call_text(get_req("/privacy", Some(&audrey)));
        assert_eq!(st, StatusCode::OK);
        for phi in ["Quill", "MRN-1001", "Marchbanks", "tess", "olive"] {
            assert!(!html.contains(phi), "{kind}: auditor page has {phi}");
        }
        let (st, _) = env.call_text(get_req(&format!("/privacy/cases/{case}"), Some(&audrey)));
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _) = env.call_text(get_req("/privacy", Some(&tess)));
        assert!(
            st == StatusCode::FORBIDDEN || st.is_redirection(),
            "{kind}: {st}"
        );

        // Patient A's access report: tess's read and the officer's, who saw A's name on the
        // case page; nothing of B.
        let (st, v, _) = env.call(get_req(&fill(GETS[2]), Some(&olive)));
        assert_eq!(st, StatusCode::OK, "{kind}: {v}");
        assert_eq!(v["rows"].as_array().unwrap().len(), 2, "{kind}: {v}");
        assert_eq!(v["rows"][0]["role"], "lab-technologist", "{kind}: {v}");
        assert_eq!(v["rows"][1]["role"], "security-officer", "{kind}: {v}");
        let (st, html) = env.call_text(get_req(
            &format!(
                "{}?format=html&from=2026-11-01&to=2026-12-31",
                fill(GETS[2])
            ),
            Some(&olive),
        ));
        assert_eq!(st, StatusCode::OK);
        assert!(!html.contains("<script"));
        let (_, json_text) = env.call_text(get_req(&fill(GETS[2]), Some(&olive)));
        for text in [&json_text, &html] {
            for other in ["Marchbanks", "Zebedee", "MRN-2002", &b.id.to_string()] {
                assert!(!text.contains(other), "{kind}: A's report has B's {other}");
            }
        }
        let (st, _, _) = env.call(get_req(
            "/api/v1/privacy/patients/not-an-id/access-report",
            Some(&olive),
        ));
        assert_eq!(st, StatusCode::BAD_REQUEST);
        let (st, _, _) = env.call(get_req(
            &format!(
                "/api/v1/privacy/patients/{}/access-report",
                labguard_core::Id::new_v4()
            ),
            Some(&olive),
        ));
        assert_eq!(st, StatusCode::NOT_FOUND);

        // Flagging: B becomes restricted; an unknown patient is 404.
        let (st, v, _) = env.call(json_req(
            "POST",
            &format!("/api/v1/privacy/patients/{}/flag", b.id),
            Some(&olive),
            &json!({"restricted": true}),
        ));
        assert_eq!(st, StatusCode::OK, "{v}");
        let (st, _, _) = env.call(json_req(
            "POST",
            &format!(
                "/api/v1/privacy/patients/{}/flag",
                labguard_core::Id::new_v4()
            ),
            Some(&olive),
            &json!({"deceased": true}),
        ));
        assert_eq!(st, StatusCode::NOT_FOUND);
    }
}
