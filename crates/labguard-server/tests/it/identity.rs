//! Identity hardening on both backends, with a clock the test moves: pending enrolment and
//! its key rotation, MFA freshness for API tokens, and an administrator's password reset.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use labguard_core::{Id, Role};
use labguard_store::Actor;
use labguard_testkit::server::*;
use serde_json::json;

fn bearer(uri: &str, token: &str) -> Request<Body> {
    Request::builder()
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

#[test]
fn minting_a_token_needs_mfa_within_fifteen_minutes() {
    for kind in backends() {
        let env = env(kind, "fresh");
        let pw = env.add_user("ivo", Role::LabTechnologist);
        let s = enroll(&env, "ivo", &pw);
        // Busy for 20 minutes (never idle for 15), so only the MFA age matters.
        for _ in 0..4 {
            env.advance(5 * 60);
            let (st, _, _) = env.call(get_req("/api/v1/me", Some(&s)));
            assert_eq!(st, StatusCode::OK, "{kind}");
        }
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/tokens",
            Some(&s),
            &json!({"label": "late"}),
        ));
        assert_eq!(st, StatusCode::FORBIDDEN, "{kind}: {v}");
        assert_eq!(v["error"], "mfa-reauth-required");
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/auth/reauth",
            Some(&s),
            &json!({"code": "000000"}),
        ));
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{kind}: {v}");
        let code = pyotp(&s.totp_secret, env.now());
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/auth/reauth",
            Some(&s),
            &json!({"code": code}),
        ));
        assert_eq!(st, StatusCode::NO_CONTENT, "{kind}: {v}");
        // A replayed code does not re-authenticate a second time.
        let (st, _, _) = env.call(json_req(
            "POST",
            "/api/v1/auth/reauth",
            Some(&s),
            &json!({"code": code}),
        ));
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{kind}");
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/tokens",
            Some(&s),
            &json!({"label": "fresh"}),
        ));
        assert_eq!(st, StatusCode::CREATED, "{kind}: {v}");
        let token = v["token"].as_str().unwrap().to_string();
        // Last use is written at most once a minute.
        let (st, _, _) = env.call(bearer("/api/v1/me", &token));
        assert_eq!(st, StatusCode::OK);
        let first = last_use(&env, &s);
        env.advance(30);
        env.call(bearer("/api/v1/me", &token));
        assert_eq!(last_use(&env, &s), first, "{kind}");
        env.advance(31);
        env.call(bearer("/api/v1/me", &token));
        assert_ne!(last_use(&env, &s), first, "{kind}");
    }
}

/// The `last_used_at` of the session owner's newest token, as the API lists it.
fn last_use(env: &Env, s: &Session) -> String {
    let (st, v, _) = env.call(get_req("/api/v1/tokens", Some(s)));
    assert_eq!(st, StatusCode::OK, "{v}");
    v[0]["last_used_at"].to_string()
}

#[test]
fn an_administrator_reset_ends_sessions_revokes_tokens_and_gives_a_one_time_password() {
    for kind in backends() {
        let env = env(kind, "reset");
        let admin_pw = env.add_user("adm", Role::Administrator);
        let admin = enroll(&env, "adm", &admin_pw);
        let pw = env.add_user("lu", Role::Phlebotomist);
        let lu = enroll(&env, "lu", &pw);
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/tokens",
            Some(&lu),
            &json!({"label": "scanner"}),
        ));
        assert_eq!(st, StatusCode::CREATED, "{kind}: {v}");
        let token = v["token"].as_str().unwrap().to_string();

        // Not an administrator: refused.
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/accounts/adm/reset-password",
            Some(&lu),
            &json!({}),
        ));
        assert_eq!(st, StatusCode::FORBIDDEN, "{kind}: {v}");
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/accounts/lu/reset-password",
            Some(&admin),
            &json!({}),
        ));
        assert_eq!(st, StatusCode::OK, "{kind}: {v}");
        assert_eq!(v["sessions_ended"], 1, "{kind}: {v}");
        assert_eq!(v["tokens_revoked"], 1, "{kind}: {v}");
        let one_time = v["one_time_password"].as_str().unwrap().to_string();
        assert_eq!(
            env.call(get_req("/api/v1/me", Some(&lu))).0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            env.call(bearer("/api/v1/me", &token)).0,
            StatusCode::UNAUTHORIZED
        );
        // The old password is gone; the new one still needs the authenticator, then a change.
        let (st, _, _) = env.call(json_req(
            "POST",
            "/api/v1/auth/sign-in",
            None,
            &json!({"username": "lu", "password": pw}),
        ));
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{kind}");
        env.advance(30);
        let again = enroll_again(&env, "lu", &one_time, &lu.totp_secret);
        let (st, v, _) = env.call(get_req("/api/v1/training/me", Some(&again)));
        assert_eq!(st, StatusCode::FORBIDDEN, "{kind}: {v}");
        assert_eq!(v["error"], "password-change-required");
    }
}

#[test]
fn a_pending_authenticator_survives_key_rotation_and_replaces_the_old_one_only_on_confirm() {
    for kind in backends() {
        let env = env(kind, "pending");
        let pw = env.add_user("ro", Role::Pathologist);
        let s = enroll(&env, "ro", &pw);
        env.advance(30);
        let code = pyotp(&s.totp_secret, env.now());
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/mfa/enroll",
            Some(&s),
            &json!({"password": pw, "code": code}),
        ));
        assert_eq!(st, StatusCode::OK, "{kind}: {v}");
        let new = v["secret_base32"].as_str().unwrap().to_string();
        let report = env
            .store
            .rotate_keys(
                &Actor::operator(),
                &labguard_store::RotateOptions::default(),
                &mut |_, _| {},
            )
            .unwrap_or_else(|e| panic!("{kind}: rotate: {e}"));
        assert!(report.finished, "{kind}");
        // The old authenticator still works for sign-in while the new one is pending.
        env.advance(30);
        let other = enroll_again(&env, "ro", &pw, &s.totp_secret);
        let (st, v, ck) = env.call(json_req(
            "POST",
            "/api/v1/mfa/confirm",
            Some(&s),
            &json!({"code": pyotp(&new, env.now())}),
        ));
        assert_eq!(st, StatusCode::OK, "{kind}: {v}");
        let current = Session {
            cookie: cookie_of(&ck),
            csrf: v["csrf_token"].as_str().unwrap().into(),
            totp_secret: new.clone(),
        };
        assert_eq!(
            env.call(get_req("/api/v1/me", Some(&other))).0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            env.call(get_req("/api/v1/me", Some(&s))).0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            env.call(get_req("/api/v1/me", Some(&current))).0,
            StatusCode::OK
        );
        let so = Actor::staff(Id::new_v4().to_string(), Role::SecurityOfficer);
        let alerts = env.store.list_alerts(&so, 10).unwrap();
        assert!(alerts.iter().any(|a| a.kind == "mfa-changed"), "{kind}");
        // Now only the new authenticator signs in.
        env.advance(30);
        let (st, v, ck) = env.call(json_req(
            "POST",
            "/api/v1/auth/sign-in",
            None,
            &json!({"username": "ro", "password": pw}),
        ));
        assert_eq!((st, v["stage"].as_str()), (StatusCode::OK, Some("mfa")));
        let pending = Session {
            cookie: cookie_of(&ck),
            csrf: v["csrf_token"].as_str().unwrap().into(),
            totp_secret: String::new(),
        };
        let (st, _, _) = env.call(json_req(
            "POST",
            "/api/v1/auth/mfa",
            Some(&pending),
            &json!({"code": pyotp(&s.totp_secret, env.now())}),
        ));
        assert_eq!(
            st,
            StatusCode::UNAUTHORIZED,
            "{kind}: the old authenticator"
        );
        let (st, _, _) = env.call(json_req(
            "POST",
            "/api/v1/auth/mfa",
            Some(&pending),
            &json!({"code": pyotp(&new, env.now())}),
        ));
        assert_eq!(st, StatusCode::OK, "{kind}: the new authenticator");
    }
}
