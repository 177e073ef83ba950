//! `Tx::insert_deferred` on both backends: PostgreSQL holds the rows and sends them as
//! multi-row INSERTs, so the transaction must still read its own rows, keep each
//! statement's rows in order, and fail as a whole on a conflict among held rows.

use crate::common::*;
use labguard_store::testing::{Backend, Value};
use labguard_store::StoreError;

fn backend(env: &Env) -> Box<dyn Backend> {
    labguard_testkit::data::backend(&env.data)
}

const SPOOL: &str = "INSERT INTO siem_spool (sink, seq, bytes, event) VALUES (?, ?, ?, ?)";
const META: &str = "INSERT INTO meta (key, value) VALUES (?, ?)";

fn spool_row(seq: i64) -> Vec<Value> {
    vec![
        "deferred-test".into(),
        Value::Int(seq),
        Value::Int(seq * 10),
        format!("event {seq}").into(),
    ]
}

#[test]
fn held_rows_are_read_back_in_the_transaction_and_committed_in_order() {
    for env in envs("deferred") {
        let _store = init(&env);
        let b = backend(&env);
        let mut tx = b.begin().unwrap();
        // Interleaved statements, more rows than one chunk holds.
        for seq in 0..600 {
            tx.insert_deferred(SPOOL, &spool_row(seq)).unwrap();
            if seq % 200 == 0 {
                tx.insert_deferred(META, &[format!("deferred-{seq}").into(), "v".into()])
                    .unwrap();
            }
        }
        let seen = tx
            .query(
                "SELECT COUNT(*) FROM siem_spool WHERE sink = ?",
                &["deferred-test".into()],
            )
            .unwrap();
        assert_eq!(
            seen[0][0],
            Value::Int(600),
            "{}: reads its own rows",
            env.name
        );
        tx.insert_deferred(SPOOL, &spool_row(600)).unwrap();
        tx.commit().unwrap();

        let rows = raw(
            &env,
            "SELECT seq, bytes, event FROM siem_spool WHERE sink = 'deferred-test' ORDER BY seq",
            &[],
        );
        assert_eq!(rows.len(), 601, "{}", env.name);
        for (i, r) in rows.iter().enumerate() {
            let seq = i as i64;
            assert_eq!(
                r,
                &vec![
                    Value::Int(seq),
                    Value::Int(seq * 10),
                    Value::Text(format!("event {seq}"))
                ],
                "{}",
                env.name
            );
        }
        let meta = raw(
            &env,
            "SELECT key FROM meta WHERE key LIKE 'deferred-%' ORDER BY key",
            &[],
        );
        assert_eq!(meta.len(), 3, "{}", env.name);
    }
}

#[test]
fn a_conflict_among_held_rows_fails_the_whole_transaction() {
    for env in envs("deferred_conflict") {
        let _store = init(&env);
        let b = backend(&env);
        let mut tx = b.begin().unwrap();
        let row = spool_row(1);
        // SQLite refuses the second row at once; PostgreSQL at the commit that sends them.
        let outcome = tx
            .insert_deferred(SPOOL, &spool_row(0))
            .and_then(|()| tx.insert_deferred(SPOOL, &row))
            .and_then(|()| tx.insert_deferred(SPOOL, &row));
        let outcome = match outcome {
            Ok(()) => tx.commit(),
            Err(e) => {
                drop(tx);
                Err(e)
            }
        };
        assert!(
            matches!(outcome, Err(StoreError::Conflict)),
            "{}: {outcome:?}",
            env.name
        );
        let rows = raw(
            &env,
            "SELECT seq FROM siem_spool WHERE sink = 'deferred-test'",
            &[],
        );
        assert!(rows.is_empty(), "{}: nothing of it was stored", env.name);
    }
}
