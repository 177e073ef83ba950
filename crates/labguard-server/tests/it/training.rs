//! Training over the API: a learner takes a course and passes its quiz (randomized order,
//! graded once, certificate verifiable), cannot touch someone else's attempt, the attempt
//! limit holds; remedial training from a phishing click shows up in "my training" and is
//! cleared by passing the phishing course; auditors read campaign reports.

use axum::http::StatusCode;
use labguard_core::{Id, Role};
use labguard_testkit::server::*;
use labguard_training::{certificate, quiz, Certificate, PHISHING_COURSE_ID};
use serde_json::{json, Value};

fn start(env: &Env, s: &Session, course: &str) -> (Id, Value) {
    let (st, v, _) = env.call(json_req(
        "POST",
        &format!("/api/v1/training/courses/{course}/attempts"),
        Some(s),
        &json!({}),
    ));
    assert_eq!(st, StatusCode::CREATED, "{}: {v}", env.name);
    (
        Id::parse_str(v["attempt_id"].as_str().unwrap()).unwrap(),
        v["quiz"].clone(),
    )
}

/// An HTML page with the session cookie: (status, body).
fn page(env: &Env, uri: &str, s: &Session) -> (StatusCode, String) {
    env.rt.block_on(async {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let resp = env
            .app
            .clone()
            .oneshot(get_req(uri, Some(s)))
            .await
            .unwrap();
        let st = resp.status();
        let b = resp.into_body().collect().await.unwrap().to_bytes();
        (st, String::from_utf8_lossy(&b).into_owned())
    })
}

/// A urlencoded form post with the session cookie (no CSRF header: forms carry a field).
fn form(env: &Env, uri: &str, s: &Session, body: &str) -> (StatusCode, String) {
    env.rt.block_on(async {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let req = axum::http::Request::builder()
            .method("POST")
            .uri(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", &s.cookie)
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        let resp = env.app.clone().oneshot(req).await.unwrap();
        let st = resp.status();
        let b = resp.into_body().collect().await.unwrap().to_bytes();
        (st, String::from_utf8_lossy(&b).into_owned())
    })
}

fn key_for(env: &Env, attempt: Id) -> quiz::Answers {
    let a = env
        .store
        .attempt(&labguard_store::Actor::operator(), attempt)
        .unwrap();
    let c = labguard_app::training::course(
        &env.store,
        &labguard_store::Actor::operator(),
        &a.course_id,
    )
    .unwrap();
    quiz::answer_key(&c, a.seed)
}

#[test]
fn take_a_course_and_pass_its_quiz() {
    for kind in backends() {
        let env = env(kind, "training");
        let pw = env.add_user("ana", Role::Phlebotomist);
        let ana = enroll(&env, "ana", &pw);
        let pw = env.add_user("bo", Role::LabTechnologist);
        let bo = enroll(&env, "bo", &pw);

        let (st, v, _) = env.call(get_req("/api/v1/training/courses", Some(&ana)));
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v.as_array().unwrap().len(), 6, "{kind}");
        let (st, v, _) = env.call(get_req(
            "/api/v1/training/courses/hipaa-security-basics",
            Some(&ana),
        ));
        assert_eq!(st, StatusCode::OK);
        assert!(v["lessons"][0]["html"].as_str().unwrap().starts_with('<'));
        let (st, _, _) = env.call(get_req("/api/v1/training/courses/nope", Some(&ana)));
        assert_eq!(st, StatusCode::NOT_FOUND);

        // A failed attempt, then a pass.
        let (a1, q1) = start(&env, &ana, "hipaa-security-basics");
        assert!(q1["questions"].as_array().unwrap().len() >= 3);
        assert!(
            !q1.to_string().contains("\"correct\""),
            "no answers sent: {q1}"
        );
        let (st, v, _) = env.call(json_req(
            "POST",
            &format!("/api/v1/training/attempts/{a1}"),
            Some(&ana),
            &json!({"answers": {}}),
        ));
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["grade"]["passed"], false);
        assert!(v["certificate"].is_null());

        let (a2, q2) = start(&env, &ana, "hipaa-security-basics");
        // Another person cannot submit Ana's attempt.
        let key = key_for(&env, a2);
        let (st, _, _) = env.call(json_req(
            "POST",
            &format!("/api/v1/training/attempts/{a2}"),
            Some(&bo),
            &json!({"answers": key}),
        ));
        assert_eq!(st, StatusCode::NOT_FOUND);
        // Garbage answers are a 422, not a 500.
        let (st, _, _) = env.call(json_req(
            "POST",
            &format!("/api/v1/training/attempts/{a2}"),
            Some(&ana),
            &json!({"answers": {"no-such-question": ["x"]}}),
        ));
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
        let ids: Vec<&str> = q2["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), key.len());
        let (st, v, _) = env.call(json_req(
            "POST",
            &format!("/api/v1/training/attempts/{a2}"),
            Some(&ana),
            &json!({"answers": key}),
        ));
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["grade"]["passed"], true, "{v}");
        assert_eq!(v["grade"]["score_percent"], 100);
        let cert: Certificate = serde_json::from_value(v["certificate"].clone()).unwrap();
        let ck = env.store.certificate_key().unwrap();
        assert!(certificate::verify_certificate(ck.as_slice(), &cert));
        let mut forged = cert.clone();
        forged.score_percent = 99;
        assert!(!certificate::verify_certificate(ck.as_slice(), &forged));
        // Graded once.
        let (st, _, _) = env.call(json_req(
            "POST",
            &format!("/api/v1/training/attempts/{a2}"),
            Some(&ana),
            &json!({"answers": key}),
        ));
        assert_eq!(st, StatusCode::CONFLICT);

        let (st, v, _) = env.call(get_req("/api/v1/training/me", Some(&ana)));
        assert_eq!(st, StatusCode::OK);
        let entries = v["transcript"]["entries"].as_array().unwrap();
        assert!(
            entries
                .iter()
                .any(|e| e["course_id"] == "hipaa-security-basics"
                    && e["status"] == "completed"
                    && e["score_percent"] == 100),
            "{v}"
        );

        // The attempt limit.
        for _ in 0..3 {
            start(&env, &bo, "passwords-mfa");
            let (a, _) = start(&env, &bo, "passwords-mfa");
            let (st, _, _) = env.call(json_req(
                "POST",
                &format!("/api/v1/training/attempts/{a}"),
                Some(&bo),
                &json!({"answers": {}}),
            ));
            assert_eq!(st, StatusCode::OK);
        }
        let used = env
            .store
            .attempts_used(
                &labguard_store::Actor::operator(),
                env.store
                    .account_by_username("bo")
                    .unwrap()
                    .unwrap()
                    .staff
                    .id,
                "passwords-mfa",
                1,
            )
            .unwrap();
        assert_eq!(used, 3);
    }
}

#[test]
fn remedial_training_from_a_click_and_reports_for_auditors() {
    for kind in backends() {
        let env = env(kind, "remedial");
        let pw = env.add_user("ana", Role::Phlebotomist);
        let ana = enroll(&env, "ana", &pw);
        let pw = env.add_user("so", Role::SecurityOfficer);
        let so = enroll(&env, "so", &pw);
        let pw = env.add_user("aud", Role::Auditor);
        let aud = enroll(&env, "aud", &pw);

        let sink = labguard_testkit::sink::Sink::start().unwrap();
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/phishing/campaigns",
            Some(&so),
            &json!({"name": "firmware", "template": "vendor-firmware", "to": ["phlebotomist"],
                    "smtp": sink.url(), "from": "service@example.invalid",
                    "base_url": "https://127.0.0.1:8443", "window_hours": 720}),
        ));
        assert_eq!(st, StatusCode::CREATED, "{v}");
        assert_eq!(v["recipients"], 1);
        // A NUL in a field is a clear 422 (PostgreSQL could not store it anyway).
        let (st, _, _) = env.call(json_req(
            "POST",
            "/api/v1/phishing/campaigns",
            Some(&so),
            &json!({"name": "a\u{0}b", "template": "vendor-firmware", "to": ["all"],
                    "smtp": "smtp://127.0.0.1:2525", "from": "service@example.invalid",
                    "base_url": "https://127.0.0.1:8443"}),
        ));
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{kind}");
        let cid = Id::parse_str(v["campaign_id"].as_str().unwrap()).unwrap();
        // Only the security officer launches; sending runs in the background.
        let launch = format!("/api/v1/phishing/campaigns/{cid}/launch");
        let (st, _, _) = env.call(json_req("POST", &launch, Some(&aud), &json!({})));
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _, _) = env.call(json_req("POST", &launch, Some(&so), &json!({})));
        assert_eq!(st, StatusCode::ACCEPTED);
        let mut mails = vec![];
        for _ in 0..200 {
            // Wait for the store, not just the sink: the report below reads "sent".
            let sent = env
                .store
                .campaign_recipients(&labguard_store::Actor::operator(), cid)
                .unwrap()[0]
                .status
                == labguard_store::DeliveryStatus::Sent;
            mails = sink.received();
            if sent {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert_eq!(mails.len(), 1, "{kind}: the campaign mail arrived");
        let tokens = labguard_training::phishing::tokens_in_text(
            &mails[0].decoded(),
            "https://127.0.0.1:8443",
        );
        let token = tokens[0].clone();
        let (st, _, _) = env.call(get_req(&format!("/t/c/{}", token.as_str()), None));
        assert_eq!(st, StatusCode::OK);

        let (_, v, _) = env.call(get_req("/api/v1/training/me", Some(&ana)));
        let remedial = v["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["course_id"] == PHISHING_COURSE_ID)
            .cloned()
            .unwrap_or_else(|| panic!("{kind}: no remedial assignment: {v}"));
        assert_eq!(remedial["reason"], "remedial");

        // Passing the phishing course closes it.
        let (a, _) = start(&env, &ana, PHISHING_COURSE_ID);
        let key = key_for(&env, a);
        let (st, v, _) = env.call(json_req(
            "POST",
            &format!("/api/v1/training/attempts/{a}"),
            Some(&ana),
            &json!({"answers": key}),
        ));
        assert_eq!(
            (st, v["grade"]["passed"].clone()),
            (StatusCode::OK, json!(true))
        );
        let (_, v, _) = env.call(get_req("/api/v1/training/me", Some(&ana)));
        assert!(
            !v["assignments"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["course_id"] == PHISHING_COURSE_ID),
            "{v}"
        );

        // The auditor reads the report; the phlebotomist may not.
        let url = format!("/api/v1/phishing/campaigns/{cid}/report");
        let (st, v, _) = env.call(get_req(&url, Some(&aud)));
        assert_eq!(st, StatusCode::OK);
        assert_eq!(
            (v["sent"].clone(), v["clicked"].clone()),
            (json!(1), json!(1))
        );
        assert_eq!(v["remedial_assigned"][0]["username"], "ana");
        // The sink has no STARTTLS: the report counts the mail that went out in the clear,
        // and the page warns about it.
        assert_eq!(v["delivery"]["sent_without_tls"], json!(1), "{v}");
        let (st, _, _) = env.call(get_req(&url, Some(&ana)));
        assert_eq!(st, StatusCode::FORBIDDEN);
        // The report page draws the charts; the hygiene page lists the panel.
        let (st, html) = page(&env, &format!("/phishing/{cid}"), &aud);
        assert_eq!(st, StatusCode::OK);
        assert!(
            html.contains("Click rate by role") && html.contains("<svg"),
            "{html}"
        );
        assert!(html.contains("<li>ana (phlebotomist)"), "{html}");
        assert!(
            html.contains("id=\"sent-without-tls\">1 mail(s) went out without TLS"),
            "{html}"
        );
        let (st, html) = page(&env, &format!("/phishing/{cid}"), &ana);
        assert_eq!(st, StatusCode::FORBIDDEN);
        assert!(html.contains("Permission denied"));
        let (st, html) = page(&env, "/hygiene", &aud);
        assert_eq!(st, StatusCode::OK);
        assert!(
            html.contains("MFA coverage: <strong>100%</strong>"),
            "{html}"
        );

        // A quiz form post without the page's CSRF token is refused.
        let (st, _) = form(
            &env,
            "/training/course/passwords-mfa/quiz",
            &ana,
            "csrf=wrong",
        );
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, html) = form(
            &env,
            "/training/course/passwords-mfa/quiz",
            &ana,
            &format!("csrf={}", ana.csrf),
        );
        assert_eq!(st, StatusCode::OK, "{html}");
        assert!(html.contains("id=\"quiz\""));

        let (st, v, _) = env.call(get_req("/api/v1/security/hygiene", Some(&aud)));
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v["active_accounts"], 3, "{v}");
        assert_eq!(v["mfa_coverage_percent"], 100.0);
    }
}
