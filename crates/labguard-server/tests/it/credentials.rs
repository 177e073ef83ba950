//! Credentials over time: password changes under the NIST policy, and TOTP secrets and
//! break-glass reasons that must survive a key rotation.

use axum::http::StatusCode;
use labguard_core::{Id, Role};
use labguard_store::Actor;
use labguard_testkit::server::*;
use serde_json::json;

#[test]
fn password_change_follows_the_policy_and_explains_refusals() {
    let env = env("sqlite", "password");
    let pw = env.add_user("tess", Role::LabTechnologist);
    let s = enroll(&env, "tess", &pw);
    let change = |new: &str| {
        env.call(json_req(
            "POST",
            "/api/v1/me/password",
            Some(&s),
            &json!({"current_password": pw, "new_password": new}),
        ))
    };
    let (st, v, _) = change("password1");
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_str().unwrap().contains("breached")),
        "{v}"
    );
    let (st, v, _) = change("tess-test-lab-2026");
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (st, v, _) = change("short");
    assert!(
        v["problems"][0].as_str().unwrap().contains("at least 8"),
        "{v}"
    );
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    // Any Unicode, no composition rules.
    let (st, v, _) = change("ünïcode ferns whisper quietly");
    assert_eq!(st, StatusCode::NO_CONTENT, "{v}");
    let (st, _, _) = env.call(json_req(
        "POST",
        "/api/v1/auth/sign-in",
        None,
        &json!({"username": "tess", "password": "ünïcode ferns whisper quietly"}),
    ));
    assert_eq!(st, StatusCode::OK);
}

#[test]
fn totp_secrets_and_break_glass_reasons_survive_key_rotation() {
    for kind in backends() {
        let env = env(kind, "rotate");
        let seed = seed(&env);
        let pw = env.add_user("pat", Role::Pathologist);
        let s = enroll(&env, "pat", &pw);
        let (st, _, _) = env.call(json_req(
            "POST",
            "/api/v1/break-glass",
            Some(&s),
            &json!({"patient_id": seed.patient.id, "reason": "on-call review of a critical value"}),
        ));
        assert_eq!(st, StatusCode::CREATED);
        let report = env
            .store
            .rotate_keys(
                &Actor::operator(),
                &labguard_store::RotateOptions::default(),
                &mut |_, _| {},
            )
            .unwrap();
        assert!(report.finished);
        env.advance(30);
        let again = enroll_again(&env, "pat", &pw, &s.totp_secret);
        let (st, _, _) = env.call(get_req("/api/v1/me", Some(&again)));
        assert_eq!(st, StatusCode::OK, "{kind}: TOTP unreadable after rotation");
        let so = Actor::staff(Id::new_v4().to_string(), Role::SecurityOfficer);
        let alerts = env.store.list_alerts(&so, 10).unwrap();
        assert_eq!(
            alerts[0].reason.as_deref(),
            Some("on-call review of a critical value")
        );
    }
}
