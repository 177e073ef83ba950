//! AES-GCM usage per data-key version: every seal is counted durably in the committing
//! transaction, the count survives a restart, the 2^30 warning raises one security alert,
//! and at 2^31 sealing is refused with `KeyExhausted` until `keys rotate` starts a new
//! version with a count of zero. Both backends.

use crate::common::*;
use labguard_crypto::{CryptoError, SEAL_LIMIT, SEAL_WARN};
use labguard_store::testing::Value;
use labguard_store::{RotateOptions, Store, StoreError};

fn seals(store: &Store, version: u32) -> u64 {
    store
        .key_usage()
        .unwrap()
        .into_iter()
        .find(|u| u.version == version)
        .map(|u| u.seals)
        .unwrap_or_else(|| panic!("no data key v{version}"))
}

fn raw_seals(env: &Env, version: u32) -> i64 {
    raw(
        env,
        "SELECT seals FROM key_usage WHERE version = ?",
        &[Value::Int(version.into())],
    )
    .first()
    .and_then(|r| r.first().cloned())
    .map(|v| v.as_int().unwrap())
    .unwrap_or(0)
}

fn key_usage_alerts(env: &Env) -> i64 {
    raw(
        env,
        "SELECT COUNT(*) FROM alerts WHERE kind = 'key-usage'",
        &[],
    )[0][0]
        .as_int()
        .unwrap()
}

/// `seal_key_once` seals exactly one value per call.
fn seal_one(store: &Store, name: &str) -> Result<(), StoreError> {
    store
        .seal_key_once(&op(), name, "cert", "-----BEGIN TEST-----")
        .map(|_| ())
}

#[test]
fn the_seal_counter_advances_by_exactly_the_seals_made_across_a_restart() {
    for env in envs("usage_count") {
        let store = init(&env);
        let base = seals(&store, 1);
        for i in 0..7 {
            seal_one(&store, &format!("k{i}")).unwrap();
        }
        assert_eq!(seals(&store, 1), base + 7, "{}", env.name);
        // Patient writes are counted too, the same number per identical write.
        let p = patient("MRN-U1", "Usage", "One");
        store.add_patient(&op(), &p).unwrap();
        let per_patient = seals(&store, 1) - base - 7;
        assert!(
            per_patient > 0,
            "{}: a patient write sealed nothing?",
            env.name
        );
        for i in 2..5 {
            store
                .add_patient(&op(), &patient(&format!("MRN-U{i}"), "Usage", "Many"))
                .unwrap();
        }
        let before = seals(&store, 1);
        assert_eq!(before, base + 7 + 4 * per_patient, "{}", env.name);
        drop(store);

        // Nothing was left in memory: the restarted store sees the same count.
        let store = env.data.open(opts()).unwrap();
        assert_eq!(seals(&store, 1), before, "{}", env.name);
        assert_eq!(raw_seals(&env, 1), before as i64);
        seal_one(&store, "after-restart").unwrap();
        assert_eq!(seals(&store, 1), before + 1);
    }
}

#[test]
fn near_the_limit_the_warning_fires_once_and_sealing_is_refused_until_rotation() {
    for env in envs("usage_limit") {
        let store = init(&env);
        seal_one(&store, "first").unwrap();
        drop(store);

        // Just below the warning threshold.
        raw(
            &env,
            "UPDATE key_usage SET seals = ? WHERE version = 1",
            &[Value::Int(SEAL_WARN as i64 - 1)],
        );
        let store = env.data.open(opts()).unwrap();
        seal_one(&store, "below").unwrap();
        assert_eq!(key_usage_alerts(&env), 1, "{}: no alert at 2^30", env.name);
        seal_one(&store, "above").unwrap();
        assert_eq!(
            key_usage_alerts(&env),
            1,
            "{}: the alert repeated",
            env.name
        );
        drop(store);

        // One seal short of the limit: that one passes, the next is refused.
        raw(
            &env,
            "UPDATE key_usage SET seals = ? WHERE version = 1",
            &[Value::Int(SEAL_LIMIT as i64 - 1)],
        );
        let store = env.data.open(opts()).unwrap();
        seal_one(&store, "last").unwrap();
        let err = seal_one(&store, "refused").unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Crypto(CryptoError::KeyExhausted { version: 1, .. })
            ),
            "{}: {err:?}",
            env.name
        );
        assert!(err.to_string().contains("labguard keys rotate"), "{err}");
        let p = patient("MRN-L1", "Limit", "Reached");
        assert!(matches!(
            store.add_patient(&op(), &p),
            Err(StoreError::Crypto(CryptoError::KeyExhausted { .. }))
        ));
        assert!(store.sealed_key("refused").unwrap().is_none());
        assert_eq!(raw_seals(&env, 1), SEAL_LIMIT as i64, "{}", env.name);

        // Rotation starts v2 at zero; sealing works again.
        let r = store
            .rotate_keys(&op(), &RotateOptions::default(), &mut |_, _| {})
            .unwrap();
        assert!(r.finished);
        assert_eq!(r.to_version, 2);
        store.add_patient(&op(), &p).unwrap();
        seal_one(&store, "after-rotation").unwrap();
        let v2 = seals(&store, 2);
        assert!(v2 > 0 && v2 < 100, "{}: v2 count {v2}", env.name);
        assert_eq!(seals(&store, 1), SEAL_LIMIT, "{}", env.name);
    }
}
