//! Harness: the testkit's data dirs (SQLite, and PostgreSQL in its own schema dropped
//! after), opened as several nodes.

#![allow(dead_code)]

use labguard_store::{Store, StoreOptions};
pub use labguard_testkit::TestData as Env;

/// A fresh SQLite data dir and (unless LABGUARD_SKIP_PG) a fresh PostgreSQL schema.
pub fn envs(test: &str) -> Vec<Env> {
    labguard_testkit::data_dirs("app", test)
}

pub fn opts(node: &str) -> StoreOptions {
    StoreOptions {
        node: node.into(),
        ..StoreOptions::default()
    }
}

/// Initialises the data dir, then opens it as `n` nodes, each its own Store.
pub fn nodes(env: &Env, n: usize) -> Vec<Store> {
    drop(env.data.init(opts("init")).unwrap());
    (0..n)
        .map(|i| env.data.open(opts(&format!("node-{i}"))).unwrap())
        .collect()
}
