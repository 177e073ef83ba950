//! Parallel wrong guesses against one account are counted one by one: the throttle lets
//! exactly its allowance of failures through before slowing the rest down, however many
//! arrive at once.

mod common;

use axum::http::StatusCode;
use common::*;
use labguard_core::Role;
use serde_json::json;
use tower::ServiceExt;

#[test]
fn parallel_failed_sign_ins_lose_no_count() {
    let allowance = labguard_identity::ThrottlePolicy::default()
        .account
        .delay_after as usize;
    for kind in backends() {
        let env = env(kind, "race");
        env.add_user("target", Role::Pathologist);
        let statuses: Vec<StatusCode> = env.rt.block_on(async {
            let handles: Vec<_> = (0..24)
                .map(|i| {
                    let (app, req) = (
                        env.app.clone(),
                        json_req(
                            "POST",
                            "/api/v1/auth/sign-in",
                            None,
                            &json!({"username": "target", "password": format!("wrong guess number {i}")}),
                        ),
                    );
                    tokio::spawn(async move { app.oneshot(req).await.unwrap().status() })
                })
                .collect();
            let mut out = Vec::new();
            for h in handles {
                out.push(h.await.unwrap());
            }
            out
        });
        let evaluated = statuses
            .iter()
            .filter(|s| **s == StatusCode::UNAUTHORIZED)
            .count();
        let slowed = statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert_eq!(
            (evaluated, slowed),
            (allowance, 24 - allowance),
            "{kind}: {statuses:?}"
        );
    }
}
