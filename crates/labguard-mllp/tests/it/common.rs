//! The MLLP tests' fixtures over the testkit's harness: a real store (SQLite file, and
//! PostgreSQL in its own schema unless LABGUARD_SKIP_PG is set) and an in-process listener
//! on ephemeral ports.

#![allow(dead_code)]

use std::sync::Arc;

use chrono::NaiveDate;
use labguard_core::{Id, Patient, Sex};
use labguard_store::{Actor, Store, StoreOptions};
pub use labguard_testkit::hl7::{oru, oru_from};
pub use labguard_testkit::mllp::{tls_req, Running};
pub use labguard_testkit::{rt, TestData as Env};

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
