//! `/healthz`, the one door a service manager calls without signing in: it answers "ok"
//! when the database answers, reveals nothing else, and takes no other method or input.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use labguard_testkit::server::*;

#[test]
fn healthz_says_ok_to_a_stranger_and_nothing_more() {
    for kind in backends() {
        let env = env(kind, "healthz");
        seed(&env);
        let (st, body) = env.call_text(get_req("/healthz", None));
        assert_eq!((st, body.as_str()), (StatusCode::OK, "ok"), "{kind}");
        for method in ["POST", "PUT", "DELETE"] {
            let req = Request::builder()
                .method(method)
                .uri("/healthz")
                .body(Body::from("x".repeat(10_000)))
                .unwrap();
            let (st, body) = env.call_text(req);
            assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED, "{kind} {method}");
            assert!(!body.contains("Quill"), "{kind}");
        }
        let (st, body) = env.call_text(get_req("/healthz?mrn=MRN-1001", None));
        assert_eq!((st, body.as_str()), (StatusCode::OK, "ok"), "{kind}");
    }
}
