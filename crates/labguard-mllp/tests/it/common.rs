//! The MLLP tests' fixtures over the testkit's harness: a real store (SQLite file, and
//! PostgreSQL in its own schema unless LABGUARD_SKIP_PG is set) and an in-process listener
//! on ephemeral ports.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use labguard_core::{Id, Patient, Sex};
use labguard_store::{Actor, Store, StoreOptions};
pub use labguard_testkit::hl7::{oru, oru_from};
pub use labguard_testkit::mllp::{tls_req, Running};
pub use labguard_testkit::{rt, TestData as Env};
use tokio::io::{AsyncRead, AsyncReadExt};

/// A fresh SQLite data dir and (unless LABGUARD_SKIP_PG) a fresh PostgreSQL schema.
pub fn envs(test: &str) -> Vec<Env> {
    labguard_testkit::data_dirs("m", test)
}

pub fn store(env: &Env) -> Arc<Store> {
    let opts = StoreOptions {
        node: "test-node".into(),
        ..StoreOptions::default()
    };
    Arc::new(env.data.init(opts).unwrap())
}

pub fn op() -> Actor {
    Actor::operator()
}

pub fn add_patient(store: &Store, mrn: &str) -> Patient {
    let p = Patient {
        id: Id::new_v4(),
        mrn: mrn.into(),
        family: "Brightwater".into(),
        given: "Tamsin".into(),
        birth_date: NaiveDate::from_ymd_opt(1980, 1, 2).unwrap(),
        sex: Sex::Female,
        phone: None,
        email: None,
        address: None,
    };
    store.add_patient(&op(), &p).unwrap();
    p
}

/// The listener on ephemeral loopback ports for `env`'s data dir.
pub async fn start(env: &Env, store: Arc<Store>) -> Running {
    labguard_testkit::mllp::start(&env.data.path, store).await
}

/// How many messages from `dev` are on file.
pub fn filed(store: &Store, dev: &labguard_store::Enrollment) -> usize {
    store.message_control_ids(dev.id).unwrap().len()
}

/// True once at least `n` refusal alerts starting with `why` are on file (they are
/// written off the connection's task, so this waits a bounded time).
pub fn alerted(store: &Store, why: &str, n: usize) -> bool {
    for _ in 0..100 {
        let got = store
            .open_alerts(100)
            .unwrap()
            .iter()
            .filter(|a| a.kind == "delivery-refused" && a.detail.starts_with(why))
            .count();
        if got >= n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// True when the server closes the connection (EOF or reset) within `secs`.
pub async fn closed<S: AsyncRead + Unpin>(s: &mut S, secs: u64) -> bool {
    let mut b = [0u8; 64];
    let wait = async {
        loop {
            match s.read(&mut b).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(secs), wait)
        .await
        .unwrap_or(false)
}
