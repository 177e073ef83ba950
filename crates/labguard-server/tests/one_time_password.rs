//! An account an administrator creates gets a one-time password: after sign-in (and TOTP
//! enrollment) it may only choose its own password; then everything its role allows opens.

mod common;

use axum::http::StatusCode;
use common::*;
use labguard_core::Role;
use serde_json::json;

#[test]
fn a_one_time_password_must_be_replaced_before_anything_else() {
    for kind in backends() {
        let env = env(kind, "onetime");
        seed(&env);
        let admin_pw = env.add_user("root-admin", Role::Administrator);
        let admin = enroll(&env, "root-admin", &admin_pw);
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/accounts",
            Some(&admin),
            &json!({"username": "newdesk", "display_name": "New Desk", "role": "front-desk", "email": "d@example.invalid"}),
        ));
        assert_eq!(st, StatusCode::CREATED, "{kind}: {v}");
        let one_time = v["initial_password"].as_str().unwrap().to_string();

        let s = enroll(&env, "newdesk", &one_time);
        let (st, v, _) = env.call(search_mrn("MRN-1001", Some(&s)));
        assert_eq!(st, StatusCode::FORBIDDEN, "{kind}: {v}");
        assert_eq!(v["error"], "password-change-required");
        // The web app sends the account to the password page, and that page opens.
        let (st, _, _) = env.call(get_req("/app", Some(&s)));
        assert_eq!(st, StatusCode::SEE_OTHER, "{kind}");
        let (st, _, _) = env.call(get_req("/change-password", Some(&s)));
        assert_eq!(st, StatusCode::OK, "{kind}");
        // Keeping the one-time password is refused with a reason.
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/me/password",
            Some(&s),
            &json!({"current_password": one_time, "new_password": one_time}),
        ));
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{kind}: {v}");
        assert!(v["problems"][0]
            .as_str()
            .unwrap()
            .contains("the one you have now"));
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/me/password",
            Some(&s),
            &json!({"current_password": one_time, "new_password": "quiet lantern over the marsh road"}),
        ));
        assert_eq!(st, StatusCode::NO_CONTENT, "{kind}: {v}");
        let (st, v, _) = env.call(search_mrn("MRN-1001", Some(&s)));
        assert_eq!(st, StatusCode::OK, "{kind}: {v}");
        assert_eq!(v[0]["family"], "Quill");
        let (st, _, _) = env.call(get_req("/app", Some(&s)));
        assert_eq!(st, StatusCode::OK, "{kind}");
    }
}
