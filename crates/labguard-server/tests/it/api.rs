//! API tests on SQLite and PostgreSQL: the authorization matrix (every route × every role),
//! sign-in with pyotp codes, bad input, leavers and break-glass.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use labguard_core::{Id, Role};
use labguard_server::routes::{route_list, Rule, RULES};
use labguard_store::Actor;
use labguard_testkit::server::*;
use serde_json::json;

#[test]
fn every_route_has_a_rule_and_an_openapi_entry() {
    let routes: BTreeSet<_> = route_list().into_iter().collect();
    let rules: BTreeSet<_> = RULES.iter().map(|(m, p, _)| (*m, *p)).collect();
    assert_eq!(
        routes, rules,
        "routes and RULES differ: add a rule for each new route"
    );
    assert_eq!(
        routes.len(),
        route_list().len(),
        "a route is registered twice"
    );
    let doc = serde_json::to_value(<labguard_server::routes::ApiDoc as utoipa::OpenApi>::openapi())
        .unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in item.as_object().unwrap().keys() {
            documented.insert((m.to_uppercase(), path.clone()));
        }
    }
    let rules: BTreeSet<_> = RULES
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, rules, "OpenAPI paths differ from the routes");
}

/// The request a role makes to exercise `(method, path)` with valid input.
fn request_for(method: &str, path: &str, s: &Session, seed: &Seed, role: Role) -> Request<Body> {
    let pid = seed.patient.id.to_string();
    let tag = role.code();
    let uri = path
        .replace("{id}/verify", &format!("{}/verify", seed.result))
        .replace("alerts/{id}", &format!("alerts/{}", Id::new_v4()))
        .replace("cases/{id}", "cases/1")
        .replace("{id}", &pid)
        .replace("{patient_id}", &pid)
        .replace("{username}", "no-such-user")
        .replace("{course_id}", "hipaa-security-basics");
    let uri = match (method, path) {
        ("GET", "/api/v1/results") => format!("{uri}?accession=ACC-1"),
        _ => uri,
    };
    let body = match path {
        "/api/v1/auth/sign-in" => json!({"username": "nobody", "password": "wrong password here"}),
        "/api/v1/auth/mfa" => json!({"code": "000000"}),
        "/api/v1/patients/search" => json!({"mrn": "MRN-1001"}),
        "/api/v1/mfa/confirm" => json!({"code": "000000"}),
        "/api/v1/specimens" => {
            json!({"patient_id": pid, "accession": format!("ACC-{tag}"), "container": "edta", "body_site": "left arm"})
        }
        "/api/v1/results" => {
            json!({"patient_id": pid, "analyte": "2823-3", "analyte_name": "Potassium", "value": "4.1", "units": "mmol/L", "reference_range": "3.5-5.1"})
        }
        "/api/v1/break-glass" => {
            json!({"patient_id": pid, "reason": "critical potassium call at night, no one else on shift"})
        }
        "/api/v1/accounts" => {
            json!({"username": format!("new-{tag}"), "display_name": "New", "role": "auditor", "email": "n@example.invalid"})
        }
        "/api/v1/tokens" => json!({"label": "integration"}),
        "/api/v1/me/password" => {
            json!({"current_password": "not it", "new_password": "correct horse battery staple"})
        }
        "/api/v1/training/attempts/{id}" => json!({"answers": {}}),
        "/api/v1/training/rules" => {
            json!({"course_id": "hipaa-security-basics", "to": "all", "due_days": 30, "recurrence": "annual"})
        }
        "/api/v1/phishing/campaigns" => {
            json!({"name": format!("drill {tag}"), "template": "courier-delivery", "to": ["all"],
                   "smtp": "smtp://127.0.0.1:2525", "from": "it@example.invalid",
                   "base_url": "https://127.0.0.1:8443"})
        }
        "/api/v1/tokens/revoke" => {
            json!({"token": "lgt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
        }
        "/api/v1/privacy/cases/{id}/assign" => json!({"to": "no-such-user"}),
        "/api/v1/privacy/cases/{id}/note" => json!({"text": "checked the worklist"}),
        "/api/v1/privacy/cases/{id}/close" => {
            json!({"outcome": "appropriate", "why": "covering a colleague's bench"})
        }
        "/api/v1/privacy/patients/{id}/flag" => json!({"restricted": true}),
        _ => json!({}),
    };
    if method == "GET" {
        get_req(&uri, Some(s))
    } else {
        json_req(method, &uri, Some(s), &body)
    }
}

#[test]
fn authorization_matrix_every_route_every_role() {
    for kind in backends() {
        let env = env(kind, "matrix");
        let seed = seed(&env);
        for role in Role::ALL {
            // Each role's wrong passwords and codes count against the one test source
            // address (as they would for a real client); let its delay run out between
            // roles rather than loosen the throttle.
            env.advance(120);
            let name = format!("u-{}", role.code());
            let pw = env.add_user(&name, role);
            let s = enroll(&env, &name, &pw);
            // Sign-out last: it ends the session the other calls use.
            let mut rules: Vec<_> = RULES.to_vec();
            rules.sort_by_key(|(_, p, _)| *p == "/api/v1/auth/sign-out");
            for (method, path, rule) in rules {
                let (st, v, _) = env.call(request_for(method, path, &s, &seed, role));
                let denied = st == StatusCode::FORBIDDEN && v["error"] == "forbidden";
                let expect = rule.allows(role);
                assert_eq!(
                    !denied,
                    expect,
                    "{kind}: {method} {path} as {role}: got {st} {v}, expected {}",
                    if expect { "allowed" } else { "denied" }
                );
                assert!(
                    st.is_client_error() || st.is_success(),
                    "{kind}: {method} {path} as {role}: {st} {v}"
                );
                if rule != Rule::Public {
                    assert_ne!(
                        v["error"], "unauthenticated",
                        "{kind}: {method} {path} as {role}"
                    );
                }
            }
        }
    }
}

#[test]
fn sign_in_with_pyotp_codes_refuses_replay_and_is_generic_on_failure() {
    for kind in backends() {
        let env = env(kind, "signin");
        let pw = env.add_user("phleb", Role::Phlebotomist);
        let first = enroll(&env, "phleb", &pw);
        let (st, _, _) = env.call(json_req(
            "POST",
            "/api/v1/auth/sign-out",
            Some(&first),
            &json!({}),
        ));
        assert_eq!(st, StatusCode::NO_CONTENT);
        let (st, v, _) = env.call(get_req("/api/v1/me", Some(&first)));
        assert_eq!(
            st,
            StatusCode::UNAUTHORIZED,
            "{kind}: signed-out session still works: {v}"
        );

        // Wrong password and unknown user answer identically.
        let (st1, v1, _) = env.call(json_req(
            "POST",
            "/api/v1/auth/sign-in",
            None,
            &json!({"username": "phleb", "password": "not the password"}),
        ));
        let (st2, v2, _) = env.call(json_req(
            "POST",
            "/api/v1/auth/sign-in",
            None,
            &json!({"username": "nobody-at-all", "password": "not the password"}),
        ));
        assert_eq!((st1, &v1), (st2, &v2));
        assert_eq!(st1, StatusCode::UNAUTHORIZED);

        env.advance(30);
        let (st, v, ck) = env.call(json_req(
            "POST",
            "/api/v1/auth/sign-in",
            None,
            &json!({"username": "PHLEB", "password": pw}),
        ));
        assert_eq!(st, StatusCode::OK, "{kind}: {v}");
        assert_eq!(v["stage"], "mfa");
        let pending = Session {
            cookie: cookie_of(&ck),
            csrf: v["csrf_token"].as_str().unwrap().into(),
            totp_secret: first.totp_secret.clone(),
        };
        // Not usable for patient data until the code is in.
        let (st, v, _) = env.call(search_mrn("X", Some(&pending)));
        assert_eq!(
            (st, v["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("mfa-required"))
        );
        let (st, _, _) = env.call(json_req(
            "POST",
            "/api/v1/auth/mfa",
            Some(&pending),
            &json!({"code": "000000"}),
        ));
        assert_eq!(st, StatusCode::UNAUTHORIZED);
        let code = pyotp(&first.totp_secret, env.now());
        let (st, v, ck) = env.call(json_req(
            "POST",
            "/api/v1/auth/mfa",
            Some(&pending),
            &json!({"code": code}),
        ));
        assert_eq!(st, StatusCode::OK, "{kind}: {v}");
        let full = Session {
            cookie: cookie_of(&ck),
            csrf: v["csrf_token"].as_str().unwrap().into(),
            totp_secret: String::new(),
        };
        assert_ne!(
            full.cookie, pending.cookie,
            "session id must change at sign-in"
        );
        let (st, v, _) = env.call(get_req("/api/v1/me", Some(&full)));
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v["role"], "phlebotomist");

        // The same code again (same step) is a replay.
        let (_, v, ck) = env.call(json_req(
            "POST",
            "/api/v1/auth/sign-in",
            None,
            &json!({"username": "phleb", "password": pw}),
        ));
        let again = Session {
            cookie: cookie_of(&ck),
            csrf: v["csrf_token"].as_str().unwrap().into(),
            totp_secret: String::new(),
        };
        let (st, _, _) = env.call(json_req(
            "POST",
            "/api/v1/auth/mfa",
            Some(&again),
            &json!({"code": code}),
        ));
        assert_eq!(
            st,
            StatusCode::UNAUTHORIZED,
            "{kind}: replayed TOTP code accepted"
        );

        // Failures lock the account; an administrator unlocks it.
        for _ in 0..12 {
            env.advance(400);
            env.call(json_req(
                "POST",
                "/api/v1/auth/sign-in",
                None,
                &json!({"username": "phleb", "password": "wrong wrong wrong"}),
            ));
        }
        let (st, _, _) = env.call(json_req(
            "POST",
            "/api/v1/auth/sign-in",
            None,
            &json!({"username": "phleb", "password": pw}),
        ));
        assert_eq!(
            st,
            StatusCode::TOO_MANY_REQUESTS,
            "{kind}: locked account signed in"
        );
        env.store
            .unlock_account(&Actor::operator(), "phleb")
            .unwrap();
        let (st, _, _) = env.call(json_req(
            "POST",
            "/api/v1/auth/sign-in",
            None,
            &json!({"username": "phleb", "password": pw}),
        ));
        assert_eq!(st, StatusCode::OK);
        let actions: Vec<String> = env
            .store
            .audit_entries(&Actor::operator(), 0, 10_000)
            .unwrap()
            .into_iter()
            .map(|(_, e)| e.action)
            .collect();
        for a in [
            "auth.sign-in",
            "auth.sign-in-failure",
            "auth.lock",
            "auth.unlock",
            "mfa.enroll",
            "session.revoke",
        ] {
            assert!(
                actions.iter().any(|x| x == a),
                "{kind}: no {a} in the audit log"
            );
        }
    }
}

#[test]
fn bad_input_gets_a_clear_4xx_and_changes_nothing() {
    for kind in backends() {
        let env = env(kind, "badinput");
        let seed = seed(&env);
        let pw = env.add_user("phleb", Role::Phlebotomist);
        let s = enroll(&env, "phleb", &pw);
        let before = env.store.counts().unwrap();
        let pid = seed.patient.id.to_string();
        let draw = json!({"patient_id": pid, "accession": "ACC-X", "container": "edta", "body_site": "arm"});

        let big = json!({"patient_id": pid, "accession": "A", "container": "edta", "body_site": "x".repeat(200_000)});
        let (st, v, _) = env.call(json_req("POST", "/api/v1/specimens", Some(&s), &big));
        assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{v}");

        let mut r = json_req("POST", "/api/v1/specimens", Some(&s), &draw);
        *r.body_mut() = Body::from("{\"patient_id\": ");
        let (st, v, _) = env.call(r);
        assert_eq!(
            (st, v["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid-json"))
        );

        let mut r = json_req("POST", "/api/v1/specimens", Some(&s), &draw);
        r.headers_mut()
            .insert(header::CONTENT_TYPE, "text/plain".parse().unwrap());
        let (st, _, _) = env.call(r);
        assert_eq!(st, StatusCode::UNSUPPORTED_MEDIA_TYPE);

        // NUL inside a string (PostgreSQL text cannot hold it): a clear 422, nothing stored.
        let nul = json!({"patient_id": pid, "accession": "ACC-NUL", "container": "edta", "body_site": "arm\u{0}"});
        let (st, v, _) = env.call(json_req("POST", "/api/v1/specimens", Some(&s), &nul));
        assert_eq!(
            (st, v["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid-fields")),
            "{kind}: {v}"
        );
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/tokens",
            Some(&s),
            &json!({"label": "in\u{0}tegration"}),
        ));
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{kind}: {v}");

        let unknown = json!({"patient_id": pid, "accession": "A", "container": "edta", "body_site": "x", "admin": true});
        let (st, _, _) = env.call(json_req("POST", "/api/v1/specimens", Some(&s), &unknown));
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

        for path in [
            "/api/v1/patients/..%2F..%2Fetc%2Fpasswd",
            "/api/v1/patients/1'%20OR%20'1'='1",
            "/api/v1/../../etc/passwd",
        ] {
            let (st, v, _) = env.call(get_req(path, Some(&s)));
            assert!(st.is_client_error(), "{path}: {st} {v}");
            assert!(v["error"].is_string(), "{path}: no JSON error: {v}");
        }
        let (st, v, _) = env.call(search_mrn("' OR 1=1 --", Some(&s)));
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v, json!([]), "SQL metacharacters matched something");
        let (st, _, _) = env.call(json_req(
            "POST",
            "/api/v1/auth/sign-in",
            None,
            &json!({"username": "phleb' OR '1'='1", "password": "x' OR '1'='1"}),
        ));
        assert_eq!(st, StatusCode::UNAUTHORIZED);

        let forged = Session {
            csrf: "forged".into(),
            ..s.clone()
        };
        let (st, v, _) = env.call(json_req("POST", "/api/v1/specimens", Some(&forged), &draw));
        assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
        let mut nocsrf = json_req("POST", "/api/v1/specimens", Some(&s), &draw);
        nocsrf.headers_mut().remove("x-csrf-token");
        let (st, _, _) = env.call(nocsrf);
        assert_eq!(st, StatusCode::FORBIDDEN);

        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/patients/search",
            Some(&s),
            &json!({}),
        ));
        assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");

        assert_eq!(
            env.store.counts().unwrap(),
            before,
            "{kind}: bad input changed data"
        );

        // Idle timeout: 15 minutes without a request ends the session.
        env.advance(16 * 60);
        let (st, v, _) = env.call(json_req("POST", "/api/v1/specimens", Some(&s), &draw));
        assert_eq!(
            (st, v["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("session-expired"))
        );
        let (st, _, _) = env.call(get_req("/api/v1/me", Some(&s)));
        assert_eq!(st, StatusCode::UNAUTHORIZED);
        assert_eq!(env.store.counts().unwrap(), before);
    }
}

#[test]
fn leaver_disable_ends_sessions_and_tokens_and_break_glass_raises_an_alert() {
    for kind in backends() {
        let env = env(kind, "leaver");
        let seed = seed(&env);
        let pw = env.add_user("fd", Role::FrontDesk);
        let fd = enroll(&env, "fd", &pw);
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/tokens",
            Some(&fd),
            &json!({"label": "kiosk"}),
        ));
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let token = v["token"].as_str().unwrap().to_string();
        let bearer = |uri: &str| {
            Request::builder()
                .uri(uri)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap()
        };
        let bearer_search = |mrn: &str| {
            Request::builder()
                .method("POST")
                .uri("/api/v1/patients/search")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({ "mrn": mrn }).to_string()))
                .unwrap()
        };
        let (st, _, _) = env.call(bearer_search("MRN-1001"));
        assert_eq!(st, StatusCode::OK);
        // Front desk sees demographics, not results.
        let (st, _, _) = env.call(bearer(&format!(
            "/api/v1/patients/{}/results",
            seed.patient.id
        )));
        assert_eq!(st, StatusCode::FORBIDDEN);

        // Break-glass: reason required; then the results open, and an alert is raised.
        let (st, _, _) = env.call(json_req(
            "POST",
            "/api/v1/break-glass",
            Some(&fd),
            &json!({"patient_id": seed.patient.id, "reason": "x"}),
        ));
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        let (st, v, _) = env
            .call(json_req("POST", "/api/v1/break-glass", Some(&fd), &json!({"patient_id": seed.patient.id, "reason": "patient collapsed at the desk, paramedics ask for glucose"})))
            ;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let (st, v, _) = env.call(get_req(
            &format!("/api/v1/break-glass/{}", seed.patient.id),
            Some(&fd),
        ));
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["results"][0]["value"], "91");
        let so = Actor::staff(Id::new_v4().to_string(), Role::SecurityOfficer);
        let alerts = env.store.list_alerts(&so, 10).unwrap();
        assert_eq!(alerts.len(), 1);
        assert_eq!(alerts[0].kind, "break-glass");
        assert!(alerts[0].reason.as_deref().unwrap().contains("paramedics"));
        let flagged = env
            .store
            .audit_entries(&Actor::operator(), 0, 10_000)
            .unwrap()
            .into_iter()
            .filter(|(_, e)| {
                e.reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with("break-glass grant"))
            })
            .count();
        assert!(
            flagged >= 3,
            "{kind}: grant, patient read and result read must be flagged"
        );
        // The grant ends after its hour.
        env.advance(61 * 60);
        let fd2 = enroll_again(&env, "fd", &pw, &fd.totp_secret);
        let (st, _, _) = env.call(get_req(
            &format!("/api/v1/break-glass/{}", seed.patient.id),
            Some(&fd2),
        ));
        assert_eq!(st, StatusCode::FORBIDDEN);

        let (s, t) = env.store.disable_account(&Actor::operator(), "fd").unwrap();
        assert!(s >= 1 && t == 1, "{kind}: {s} sessions, {t} tokens");
        let (st, _, _) = env.call(bearer_search("MRN-1001"));
        assert_eq!(st, StatusCode::UNAUTHORIZED);
        let (st, _, _) = env.call(get_req("/api/v1/me", Some(&fd2)));
        assert_eq!(st, StatusCode::UNAUTHORIZED);
        let (st, _, _) = env.call(json_req(
            "POST",
            "/api/v1/auth/sign-in",
            None,
            &json!({"username": "fd", "password": pw}),
        ));
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
}

#[test]
fn patient_search_takes_a_body_and_the_old_query_string_does_not_search() {
    for kind in backends() {
        let env = env(kind, "search_body");
        let seed = seed(&env);
        let pw = env.add_user("desk", Role::FrontDesk);
        let s = enroll(&env, "desk", &pw);
        // Patient reads only: reading the log is itself audited.
        let audited = || {
            env.store
                .audit_entries(&Actor::operator(), 0, 100_000)
                .unwrap()
                .into_iter()
                .filter(|(_, e)| e.resource == "patient")
                .count()
        };
        // The old GET with identifiers in the URL: 410 with a pointer, no search, no read.
        for uri in [
            "/api/v1/patients?mrn=MRN-1001",
            "/api/v1/patients?family=Quill&given=Ottoline&birth_date=1970-01-02",
        ] {
            let before = audited();
            let (st, v, _) = env.call(get_req(uri, Some(&s)));
            assert_eq!(st, StatusCode::GONE, "{kind}: {uri}: {v}");
            assert!(
                v["message"]
                    .as_str()
                    .unwrap()
                    .contains("POST /api/v1/patients/search"),
                "{kind}: {v}"
            );
            let text = v.to_string();
            assert!(
                !text.contains("Quill") && !text.contains(&seed.patient.id.to_string()),
                "{kind}: the old GET returned patient data: {text}"
            );
            assert_eq!(audited(), before, "{kind}: the old GET read a patient");
        }
        let before = audited();
        // The same search as a body finds the patient.
        let (st, v, _) = env.call(search_mrn("MRN-1001", Some(&s)));
        assert_eq!(st, StatusCode::OK, "{kind}: {v}");
        assert_eq!(v[0]["id"], seed.patient.id.to_string());
        assert!(audited() > before, "{kind}: the search was not audited");
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/patients/search",
            Some(&s),
            &json!({"family": "Quill", "given": "Ottoline", "birth_date": "1970-01-02"}),
        ));
        assert_eq!(st, StatusCode::OK, "{kind}: {v}");
        assert_eq!(v[0]["mrn"], "MRN-1001");
        // Unknown fields are refused, not ignored.
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/patients/search",
            Some(&s),
            &json!({"mrn": "MRN-1001", "ssn": "x"}),
        ));
        assert!(st.is_client_error(), "{kind}: {st} {v}");
    }
}

/// Behind a load balancer, a form served by node A is posted to node B: B must accept A's
/// CSRF token (the key is derived from the lab's shared keys), and still refuse a forged
/// one or one made for another session.
#[test]
fn csrf_tokens_from_one_node_are_accepted_by_another_and_forgeries_by_neither() {
    for kind in backends() {
        let a = env(kind, "csrfnodes");
        let seed = seed(&a);
        let pw = a.add_user("phleb", Role::Phlebotomist);
        let s = enroll(&a, "phleb", &pw);
        let pw2 = a.add_user("phleb2", Role::Phlebotomist);
        let other = enroll(&a, "phleb2", &pw2);
        let b = a.second_node("node-b");
        let pid = seed.patient.id.to_string();
        let draw = |acc: &str| json!({"patient_id": pid, "accession": acc, "container": "edta", "body_site": "arm"});

        let (st, v, _) = b.call(json_req(
            "POST",
            "/api/v1/specimens",
            Some(&s),
            &draw("ACC-B1"),
        ));
        assert!(
            st.is_success(),
            "{kind}: node B refused node A's token: {st} {v}"
        );
        let (st, v, _) = a.call(json_req(
            "POST",
            "/api/v1/specimens",
            Some(&s),
            &draw("ACC-A1"),
        ));
        assert!(st.is_success(), "{kind}: node A: {st} {v}");

        let forged = Session {
            csrf: "forged".into(),
            ..s.clone()
        };
        let (st, _, _) = b.call(json_req(
            "POST",
            "/api/v1/specimens",
            Some(&forged),
            &draw("ACC-B2"),
        ));
        assert_eq!(st, StatusCode::FORBIDDEN, "{kind}: forged token accepted");
        let swapped = Session {
            csrf: other.csrf.clone(),
            ..s.clone()
        };
        let (st, _, _) = b.call(json_req(
            "POST",
            "/api/v1/specimens",
            Some(&swapped),
            &draw("ACC-B3"),
        ));
        assert_eq!(
            st,
            StatusCode::FORBIDDEN,
            "{kind}: another session's token accepted"
        );
    }
}
