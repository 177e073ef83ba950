//! The case book at scale: thousands of alerts filed into hundreds of cases are rows, so no
//! stored value grows with the log (the book used to be one JSON value, which SQLite
//! refused past 1 GB at about 10 million entries); a case still opens with all its alerts,
//! the list counts them, and verify checks every case row.

use crate::common::*;
use chrono::{TimeDelta, Utc};
use labguard_store::testing::Value;

fn int(env: &Env, sql: &str) -> i64 {
    match raw(env, sql, &[]).first().and_then(|r| r.first()) {
        Some(Value::Int(i)) => *i,
        other => panic!("{}: {sql}: {other:?}", env.name),
    }
}

/// The longest value any privacy table keeps.
fn widest(env: &Env) -> i64 {
    [
        "SELECT MAX(LENGTH(state)) FROM privacy_scan_state",
        "SELECT MAX(LENGTH(cases)) FROM privacy_scan_state",
        "SELECT MAX(LENGTH(alert)) FROM privacy_alerts",
        "SELECT MAX(LENGTH(history)) FROM privacy_cases",
        "SELECT MAX(LENGTH(false_positives)) FROM privacy_cases",
    ]
    .iter()
    .map(|q| int(env, q))
    .max()
    .unwrap_or(0)
}

#[test]
fn many_alerts_are_rows_and_no_value_grows_with_the_log() {
    for env in envs("privacy_scale") {
        let n = env.name;
        let store = init(&env);
        let later = Utc::now() + TimeDelta::days(3650);
        store
            .bench_append_accesses(0, 30_000, 10_000, &mut |_| {})
            .unwrap();
        let first = store.privacy_scan(&op(), later).unwrap();
        assert!(first.alerts > 5_000, "{n}: {} alerts", first.alerts);
        let after_first = widest(&env);
        store
            .bench_append_accesses(30_000, 30_000, 10_000, &mut |_| {})
            .unwrap();
        let second = store.privacy_scan(&op(), later).unwrap();
        assert_eq!(second.examined, 30_000, "{n}");
        let after_second = widest(&env);

        // Twice the log, twice the alerts: the largest value (the scan state, whose
        // baselines are capped per user and role) grows by far less, and the alerts' JSON
        // together is several times larger than it.
        assert_eq!(
            int(&env, "SELECT LENGTH(cases) FROM privacy_scan_state"),
            0,
            "{n}"
        );
        let all_alerts = int(&env, "SELECT SUM(LENGTH(alert)) FROM privacy_alerts");
        assert!(
            after_second * 4 < after_first * 5 && all_alerts > 3 * after_second,
            "{n}: widest {after_first} then {after_second}, alerts {all_alerts}"
        );

        // The list counts what the rows hold, and one case opens with all its alerts.
        let cases = store.privacy_cases(&op(), false).unwrap();
        assert!(cases.len() > 100, "{n}: {} cases", cases.len());
        let listed: u64 = cases.iter().map(|c| c.alerts).sum();
        let filed = int(
            &env,
            "SELECT COUNT(*) FROM privacy_alerts WHERE case_id IS NOT NULL",
        );
        assert_eq!(listed, u64::try_from(filed).unwrap(), "{n}");
        let big = cases.iter().max_by_key(|c| c.alerts).unwrap();
        let case = store.privacy_case(&op(), big.case.id.0).unwrap();
        assert_eq!(case.alerts.len() as u64, big.alerts, "{n}");
        assert_eq!(case.counted() as u64, big.counted, "{n}");
        assert!(case.alerts.windows(2).all(|w| w[0].id < w[1].id), "{n}");

        // Every case row was written with its hash in the log.
        store.verify(&mut |_, _| {}).unwrap();
        raw(
            &env,
            "UPDATE privacy_cases SET status = 'closed-appropriate' WHERE number = ?",
            &[Value::Int(i64::try_from(big.case.id.0).unwrap())],
        );
        let err = store.verify(&mut |_, _| {}).unwrap_err().to_string();
        assert!(err.contains("privacy_cases"), "{n}: {err}");
    }
}

/// A store from before v18 kept its case book as one JSON value: the first privacy call
/// moves it into rows, each audited with its hash, and the moved cases verify.
#[test]
fn an_old_json_case_book_moves_into_rows() {
    for env in envs("privacy_book_upgrade") {
        let n = env.name;
        let store = init(&env);
        store
            .bench_append_accesses(0, 2_000, 1_000, &mut |_| {})
            .unwrap();
        store
            .privacy_scan(&op(), Utc::now() + TimeDelta::days(3650))
            .unwrap();
        let listed = store.privacy_cases(&op(), false).unwrap();
        let cases: Vec<_> = listed
            .iter()
            .map(|c| store.privacy_case(&op(), c.case.id.0).unwrap())
            .collect();
        let next = cases.iter().map(|c| c.id.0).max().unwrap() + 1;
        // As v13 kept it: the cases, with their alerts, in one value; no case rows.
        let book = serde_json::json!({
            "period": "week",
            "utc_offset_minutes": 0,
            "next_id": next,
            "cases": cases,
        });
        raw(&env, "DELETE FROM privacy_cases", &[]);
        raw(
            &env,
            "UPDATE privacy_scan_state SET cases = ? WHERE id = 1",
            &[Value::Text(book.to_string())],
        );
        let moved = store.privacy_cases(&op(), false).unwrap();
        assert_eq!(moved, listed, "{n}");
        assert_eq!(
            int(&env, "SELECT LENGTH(cases) FROM privacy_scan_state"),
            0,
            "{n}"
        );
        let log = store.audit_entries(&op(), 0, 100_000).unwrap();
        let opened = log
            .iter()
            .filter(|(_, e)| e.action == "privacy.case.open" && e.content_hash.is_some())
            .count();
        // Once by the scan that opened each case, once by the move.
        assert_eq!(opened, 2 * cases.len(), "{n}");
        store.verify(&mut |_, _| {}).unwrap();
    }
}
