//! Several labguard nodes on one PostgreSQL database, and the database going away.

use std::sync::Arc;

use crate::common::*;
use labguard_store::{DataDir, StoreError};

#[test]
fn nodes_sharing_postgresql_get_one_gap_free_log() {
    if std::env::var("LABGUARD_SKIP_PG").is_ok() {
        return;
    }
    let env = envs("nodes").pop().unwrap();
    assert_eq!(env.name, "postgres");
    let first = init(&env);
    drop(first);
    // Four nodes, each its own Store (own pool, own key ring), writing at once.
    let nodes: Vec<Arc<labguard_store::Store>> = (0..4)
        .map(|i| {
            let mut o = opts();
            o.node = format!("node-{i}");
            o.checkpoint_every = 7;
            Arc::new(env.data.open(o).unwrap())
        })
        .collect();
    let handles: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(n, store)| {
            let store = Arc::clone(store);
            std::thread::spawn(move || {
                for k in 0..25 {
                    let p = patient(&format!("N{n}-{k}"), "Nodewright", "Quorra");
                    store.add_patient(&op(), &p).unwrap();
                    store.get_patient(&op(), p.id).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    nodes[0].checkpoint().unwrap();
    let rows = raw(&env, "SELECT seq FROM audit_log ORDER BY seq", &[]);
    let seqs: Vec<i64> = rows.iter().map(|r| r[0].as_int().unwrap()).collect();
    assert_eq!(
        seqs,
        (0..200).collect::<Vec<i64>>(),
        "log has gaps or duplicates"
    );
    let rep = nodes[3].verify(&mut |_, _| {}).unwrap();
    assert_eq!(rep.entries, 200);
    assert_eq!(rep.rows_checked, 100);
    assert!(rep.checkpoints > 10);
}

#[test]
fn a_database_that_is_gone_gives_a_clear_error() {
    let t = tempfile::tempdir().unwrap();
    let data = DataDir::sqlite(t.path().join("never-initialised"));
    let err = data.open(opts()).err().unwrap().to_string();
    assert!(
        err.contains("no key file") || err.contains("run `labguard init`"),
        "{err}"
    );
    let env = envs("gone").remove(0);
    init(&env);
    std::fs::remove_file(env.data.db_path()).unwrap();
    let err = env.data.open(opts()).err().unwrap().to_string();
    assert!(err.contains("no database at"), "{err}");
    // PostgreSQL that is not there.
    let pg = DataDir::postgres(
        t.path().join("pg"),
        "postgres://postgres@127.0.0.1:1/test",
        None,
    );
    std::fs::create_dir_all(&pg.path).unwrap();
    let err = pg.init(opts()).err().unwrap();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert!(
        err.to_string().contains("cannot connect to PostgreSQL"),
        "{err}"
    );
}

#[test]
fn a_locked_sqlite_database_reports_busy_and_loses_nothing() {
    let env = envs("locked").remove(0);
    let store = init(&env);
    let p = patient("MRN-L1", "Lockhart", "Severin");
    store.add_patient(&op(), &p).unwrap();
    // Another process holds the write lock (as a stuck tool would).
    let other = rusqlite::Connection::open(env.data.db_path()).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let err = labguard_store::testing::SqliteBackend::open_with_timeout(
        &env.data.db_path(),
        std::time::Duration::from_millis(50),
    )
    .and_then(|b| {
        use labguard_store::testing::Backend;
        b.begin().map(|_| ())
    })
    .unwrap_err();
    assert!(matches!(err, StoreError::Busy), "{err}");
    assert!(err.to_string().contains("busy"));
    other.execute_batch("ROLLBACK").unwrap();
    assert_eq!(store.get_patient(&op(), p.id).unwrap(), p);
}

/// The daily compliance collection is lab-wide: of several nodes racing for the same day
/// exactly one wins, and the next day is claimable again (the old scheduler ran per node).
#[test]
fn a_period_is_claimed_by_exactly_one_node() {
    if std::env::var("LABGUARD_SKIP_PG").is_ok() {
        return;
    }
    let env = envs("leases").pop().unwrap();
    assert_eq!(env.name, "postgres");
    drop(init(&env));
    let nodes: Vec<Arc<labguard_store::Store>> = (0..4)
        .map(|i| {
            let mut o = opts();
            o.node = format!("node-{i}");
            Arc::new(env.data.open(o).unwrap())
        })
        .collect();
    let now = chrono::Utc::now();
    for day in ["2026-12-07", "2026-12-08"] {
        let handles: Vec<_> = nodes
            .iter()
            .map(|store| {
                let store = Arc::clone(store);
                std::thread::spawn(move || {
                    (0..5)
                        .filter(|_| store.claim_period("compliance", day, now).unwrap())
                        .count()
                })
            })
            .collect();
        let wins: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(wins, 1, "{day} claimed {wins} times");
    }
    // An older period never takes the lease back.
    assert!(!nodes[0]
        .claim_period("compliance", "2026-12-07", now)
        .unwrap());
}
