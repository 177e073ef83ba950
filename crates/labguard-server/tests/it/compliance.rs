//! The compliance routes and dashboard over real stores: the auditor and the security
//! officer read status and every report format; other roles are refused.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use labguard_compliance::collect::{collect_all, NoExternalFacts};
use labguard_core::Role;
use labguard_store::{run_kind, Actor};
use labguard_testkit::server::*;
use tower::ServiceExt;

/// (status, content type, body bytes)
fn fetch(env: &Env, req: Request<Body>) -> (StatusCode, String, Vec<u8>) {
    env.rt.block_on(async {
        let resp = env.app.clone().oneshot(req).await.unwrap();
        let st = resp.status();
        let ct = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (st, ct, bytes)
    })
}

#[test]
fn status_reports_and_dashboard_for_readers_only() {
    for kind in backends() {
        let env = env(kind, "compliance");
        let op = Actor::operator();
        env.store
            .record_run(
                &op,
                run_kind::AUDIT_VERIFY,
                true,
                Some(10),
                &serde_json::json!({}),
            )
            .unwrap();
        for _ in 0..2 {
            let facts = env.store.compliance_facts(&op).unwrap();
            let ev = collect_all(&facts, &NoExternalFacts, env.now());
            env.store.save_evidence(&op, &ev).unwrap();
            let r = env.store.compliance_report(&op, None).unwrap();
            env.store
                .record_score(&op, r.overall, &r.safeguards)
                .unwrap();
            env.advance(86_400);
        }
        let pw = env.add_user("aud", Role::Auditor);
        let aud = enroll(&env, "aud", &pw);
        let pw = env.add_user("tech", Role::LabTechnologist);
        let tech = enroll(&env, "tech", &pw);

        let (st, v, _) = env.call(get_req("/api/v1/compliance/status", Some(&aud)));
        assert_eq!(st, StatusCode::OK, "{kind}: {v}");
        assert_eq!(v["collected"], true);
        assert_eq!(v["trend"].as_array().unwrap().len(), 2);
        assert_eq!(v["safeguards"].as_array().unwrap().len(), 5);
        let spec = |c: &str| {
            v["specs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["citation"] == c)
                .unwrap()["status"]
                .clone()
        };
        assert_eq!(spec("164.312(b)"), "met");
        assert_eq!(spec("164.308(a)(7)(ii)(A)"), "not-met");

        let (st, ct, body) = fetch(&env, get_req("/api/v1/compliance/report", Some(&aud)));
        assert_eq!(st, StatusCode::OK);
        assert!(ct.starts_with("text/html"), "{ct}");
        assert!(String::from_utf8(body).unwrap().contains("<svg"));
        let (st, ct, body) = fetch(
            &env,
            get_req("/api/v1/compliance/report?format=pdf", Some(&aud)),
        );
        assert_eq!((st, ct.as_str()), (StatusCode::OK, "application/pdf"));
        assert!(body.starts_with(b"%PDF-"));
        let (st, ct, body) = fetch(
            &env,
            get_req("/api/v1/compliance/report?format=oscal", Some(&aud)),
        );
        assert_eq!(st, StatusCode::OK);
        assert!(ct.starts_with("application/json"));
        let o: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(
            o["assessment-results"]["results"][0]["findings"]
                .as_array()
                .unwrap()
                .len()
                > 50
        );
        let (st, _, _) = fetch(
            &env,
            get_req("/api/v1/compliance/report?format=docx", Some(&aud)),
        );
        assert!(st.is_client_error(), "{st}");

        // Others are refused, on the API and the page.
        let (st, _, _) = env.call(get_req("/api/v1/compliance/status", Some(&tech)));
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _, _) = fetch(
            &env,
            get_req("/api/v1/compliance/report?format=pdf", Some(&tech)),
        );
        assert_eq!(st, StatusCode::FORBIDDEN);
        let (st, _, _) = fetch(&env, get_req("/compliance", Some(&tech)));
        assert_eq!(st, StatusCode::FORBIDDEN);

        // The dashboard: score, the three charts, the gaps to act on.
        let (st, _, body) = fetch(&env, get_req("/compliance", Some(&aud)));
        assert_eq!(st, StatusCode::OK);
        let page = String::from_utf8(body).unwrap();
        for id in [
            "compliance-score",
            "safeguard-chart",
            "trend-chart",
            "risk-chart",
            "gaps",
        ] {
            assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert_eq!(page.matches("<svg").count(), 3);
        assert!(page.contains("nav-compliance"));
    }
}

/// "Collect evidence now": the security officer runs the collectors from the dashboard's
/// API; the evidence and a new score point are stored; the auditor may read but not collect.
#[test]
fn the_security_officer_collects_evidence_on_demand() {
    for kind in backends() {
        let env = env(kind, "collectnow");
        let pw = env.add_user("sec", Role::SecurityOfficer);
        let sec = enroll(&env, "sec", &pw);
        let pw = env.add_user("aud2", Role::Auditor);
        let aud = enroll(&env, "aud2", &pw);
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/compliance/collect",
            Some(&aud),
            &serde_json::json!({}),
        ));
        assert_eq!(st, StatusCode::FORBIDDEN, "{kind}: {v}");
        let (st, v, _) = env.call(get_req("/api/v1/compliance/status", Some(&aud)));
        assert_eq!(
            (st, v["collected"].as_bool()),
            (StatusCode::OK, Some(false))
        );
        let (st, v, _) = env.call(json_req(
            "POST",
            "/api/v1/compliance/collect",
            Some(&sec),
            &serde_json::json!({}),
        ));
        assert_eq!(st, StatusCode::OK, "{kind}: {v}");
        assert!(v["evidence"].as_u64().unwrap() >= 10, "{v}");
        let (_, v, _) = env.call(get_req("/api/v1/compliance/status", Some(&aud)));
        assert_eq!(v["collected"], true, "{kind}");
        assert_eq!(v["trend"].as_array().unwrap().len(), 1, "{kind}: {v}");
    }
}
