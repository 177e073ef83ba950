//! Parallel wrong guesses against one account are counted one by one: the throttle lets
//! exactly its allowance of failures through before slowing the rest down, however many
//! arrive at once.

use axum::http::StatusCode;
use labguard_core::Role;
use labguard_testkit::server::*;
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
        let statuses = parallel_guesses(&env, std::slice::from_ref(&env.app));
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

/// Two labguard nodes on one PostgreSQL: guesses spread over both are still counted one by
/// one (advisory locks), so adding nodes does not multiply an attacker's allowance.
#[test]
fn parallel_guesses_across_two_nodes_lose_no_count() {
    if !backends().contains(&"postgres") {
        return;
    }
    let allowance = labguard_identity::ThrottlePolicy::default()
        .account
        .delay_after as usize;
    let env = env("postgres", "race2");
    env.add_user("target", Role::Pathologist);
    let store2 = std::sync::Arc::new(
        env.data
            .open(labguard_store::StoreOptions {
                node: "second".into(),
                clock: env.state.clock.clone(),
                ..labguard_store::StoreOptions::default()
            })
            .unwrap(),
    );
    let settings = labguard_server::Settings {
        hash_params: labguard_identity::HashParams::TESTING,
        lab_name: "Test Lab".into(),
        ..labguard_server::Settings::default()
    };
    let node2 = labguard_server::app(
        labguard_server::AppState::with_clock(store2, settings, env.state.clock.clone()).unwrap(),
    );
    let statuses = parallel_guesses(&env, &[env.app.clone(), node2]);
    let evaluated = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(evaluated, allowance, "{statuses:?}");
}

/// 24 wrong passwords for `target` at once, spread over the given nodes in turn.
fn parallel_guesses(env: &Env, nodes: &[axum::Router]) -> Vec<StatusCode> {
    env.rt.block_on(async {
        let handles: Vec<_> = (0..24)
            .map(|i| {
                let app = nodes[i % nodes.len()].clone();
                let req = json_req(
                    "POST",
                    "/api/v1/auth/sign-in",
                    None,
                    &json!({"username": "target", "password": format!("wrong guess number {i}")}),
                );
                tokio::spawn(async move { app.oneshot(req).await.unwrap().status() })
            })
            .collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    })
}
