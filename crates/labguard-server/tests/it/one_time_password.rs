//! An account an administrator creates gets a one-time password: after sign-in (and TOTP
//! enrollment) it may only choose its own password; then everything its role allows opens.

use axum::http::StatusCode;
use labguard_core::Role;
use labguard_testkit::server::*;
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

/// Every route the server has (the API from its route table, checked against the OpenAPI
/// document; the pages and form posts read from the routers' source), asked by a signed-in
/// account that still holds its one-time password: only the password change and sign-out
/// get past the gate, and every other caller of the principal is refused.
#[test]
fn the_one_time_password_gate_holds_on_every_route() {
    use labguard_server::auth::ONE_TIME_PASSWORD_ROUTES;
    use labguard_server::routes::{route_list, ApiDoc, Rule, RULES};
    use utoipa::OpenApi;

    let env = env("sqlite", "otpwalk");
    let seed = seed(&env);
    let admin_pw = env.add_user("walk-admin", Role::Administrator);
    let admin = enroll(&env, "walk-admin", &admin_pw);
    let (st, v, _) = env.call(json_req(
        "POST",
        "/api/v1/accounts",
        Some(&admin),
        &json!({"username": "walker", "display_name": "Walker", "role": "administrator", "email": "w@example.invalid"}),
    ));
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let s = enroll(&env, "walker", v["initial_password"].as_str().unwrap());

    let documented: std::collections::BTreeSet<String> =
        ApiDoc::openapi().paths.paths.keys().cloned().collect();
    let api = route_list();
    for (_, path) in &api {
        assert!(documented.contains(*path), "{path} is not in OpenAPI");
    }
    let public: Vec<&str> = RULES
        .iter()
        .filter(|(_, _, r)| *r == Rule::Public)
        .map(|(_, p, _)| *p)
        .collect();
    // Pages and form posts: every `.route("…", get(…)/post(…))` of the UI routers.
    let mut pages = Vec::new();
    for file in [
        "ui.rs",
        "ui_admin.rs",
        "ui_devices.rs",
        "ui_training.rs",
        "compliance.rs",
    ] {
        let src =
            std::fs::read_to_string(format!("{}/src/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        for chunk in src.split(".route(").skip(1) {
            let Some(path) = chunk
                .trim_start()
                .strip_prefix('"')
                .and_then(|c| c.split('"').next())
            else {
                continue;
            };
            let call = chunk.split(".route(").next().unwrap_or("");
            let call = call.split("\n        )").next().unwrap_or(call);
            for (m, needle) in [("GET", "get("), ("POST", "post(")] {
                if call.contains(needle) {
                    pages.push((m, path.to_string()));
                }
            }
        }
    }
    assert!(
        pages
            .iter()
            .any(|(m, p)| *m == "POST" && p == "/training/attempt/{id}"),
        "the page walker found no form posts: {pages:?}"
    );
    // Pages anyone may open (no principal is resolved there).
    let open_pages = [
        "/",
        "/sign-in",
        "/denied",
        "/static/app.js",
        "/static/style.css",
    ];

    let fill = |p: &str| {
        p.replace("{id}", &labguard_core::Id::new_v4().to_string())
            .replace("{patient_id}", &seed.patient.id.to_string())
            .replace("{username}", "walker")
            .replace("{course_id}", "hipaa-security-basics")
            .replace("{name}", "no-such-device")
    };
    let mut walked = 0;
    for (m, path) in api
        .iter()
        .map(|(m, p)| (*m, p.to_string()))
        .chain(pages.iter().cloned())
    {
        let exempt = ONE_TIME_PASSWORD_ROUTES
            .iter()
            .any(|(em, ep)| *em == m && *ep == path);
        if exempt || public.contains(&path.as_str()) || open_pages.contains(&path.as_str()) {
            continue;
        }
        let uri = fill(&path);
        let is_api = path.starts_with("/api/");
        let req = match (m, is_api) {
            ("GET", _) => get_req(&uri, Some(&s)),
            ("POST", true) => json_req("POST", &uri, Some(&s), &json!({})),
            _ => axum::http::Request::builder()
                .method("POST")
                .uri(&uri)
                .header(axum::http::header::COOKIE, &s.cookie)
                .header(
                    axum::http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(axum::body::Body::from(format!("csrf={}", s.csrf)))
                .unwrap(),
        };
        let (st, v, hdrs) = env.call_with_headers(req);
        if is_api {
            assert_eq!(
                (st, v["error"].as_str()),
                (StatusCode::FORBIDDEN, Some("password-change-required")),
                "{m} {path}: {v}"
            );
        } else {
            assert_eq!(st, StatusCode::SEE_OTHER, "{m} {path}");
            assert_eq!(
                hdrs.get("location").and_then(|l| l.to_str().ok()),
                Some("/change-password"),
                "{m} {path}"
            );
        }
        walked += 1;
    }
    assert!(walked > api.len(), "walked {walked} routes");
    // The exempt routes still answer (the change itself is tested above).
    let (st, _, _) = env.call(get_req("/change-password", Some(&s)));
    assert_eq!(st, StatusCode::OK);
    let (st, _, _) = env.call(json_req(
        "POST",
        "/api/v1/auth/sign-out",
        Some(&s),
        &json!({}),
    ));
    assert_eq!(st, StatusCode::NO_CONTENT);
}
