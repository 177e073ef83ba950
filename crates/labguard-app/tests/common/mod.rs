//! Harness: a real data dir on SQLite and on PostgreSQL (its own schema, dropped after),
//! opened as several nodes.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use labguard_store::{DataDir, PgBackend, Store, StoreOptions};

pub struct Env {
    pub name: &'static str,
    pub _dir: tempfile::TempDir,
    pub data: DataDir,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let labguard_store::Location::Postgres { url, schema } = &self.data.location {
            if let Ok(pg) = PgBackend::connect(url, schema.as_deref()) {
                let _ = pg.drop_schema();
            }
        }
    }
}

static N: AtomicU32 = AtomicU32::new(0);

/// A fresh SQLite data dir and (unless LABGUARD_SKIP_PG) a fresh PostgreSQL schema.
pub fn envs(test: &str) -> Vec<Env> {
    let mut v = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    v.push(Env {
        name: "sqlite",
        data: DataDir::sqlite(dir.path().join("data")),
        _dir: dir,
    });
    if std::env::var("LABGUARD_SKIP_PG").is_err() {
        let url = std::env::var("LABGUARD_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = format!(
            "app_{test}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        let dir = tempfile::tempdir().unwrap();
        v.push(Env {
            name: "postgres",
            data: DataDir::postgres(dir.path().join("data"), &url, Some(&schema)),
            _dir: dir,
        });
    }
    v
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
