//! Data dirs for tests: SQLite in a temporary directory, PostgreSQL in a fresh schema.

use std::sync::atomic::{AtomicU32, Ordering};

use labguard_store::testing::{Backend, PgBackend, Row, SqliteBackend, Value};
use labguard_store::{DataDir, Location};

pub const PG_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PostgreSQL database tests use: `LABGUARD_TEST_PG`, or the local default.
pub fn pg_url() -> String {
    std::env::var("LABGUARD_TEST_PG").unwrap_or_else(|_| PG_DEFAULT.into())
}

/// Whether PostgreSQL is skipped (`LABGUARD_SKIP_PG` set).
pub fn skip_pg() -> bool {
    std::env::var("LABGUARD_SKIP_PG").is_ok()
}

/// The backends a test runs on: SQLite, and PostgreSQL unless skipped.
pub fn backends() -> Vec<&'static str> {
    if skip_pg() {
        vec!["sqlite"]
    } else {
        vec!["sqlite", "postgres"]
    }
}

/// Drops a test's PostgreSQL schema; errors are ignored (the test is over either way).
pub fn drop_pg_schema(url: &str, schema: Option<&str>) {
    if let Ok(pg) = PgBackend::connect(url, schema) {
        let _ = pg.drop_schema();
    }
}

/// A fresh schema name, unique per process and call: `{prefix}_{test}_{pid}_{n}`. All of a
/// crate's tests share one process, so the counter (not the pid) keeps them apart.
pub fn schema_name(prefix: &str, test: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{test}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// A data dir in its own temporary directory; a PostgreSQL one's schema is dropped on drop.
pub struct TestData {
    pub name: &'static str,
    pub dir: tempfile::TempDir,
    pub data: DataDir,
}

impl TestData {
    /// On `kind` ("sqlite" or "postgres"); the schema is named after `prefix` and `test`.
    pub fn new(kind: &'static str, prefix: &str, test: &str) -> TestData {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("data");
        let data = if kind == "sqlite" {
            DataDir::sqlite(path)
        } else {
            DataDir::postgres(path, &pg_url(), Some(&schema_name(prefix, test)))
        };
        TestData {
            name: kind,
            dir,
            data,
        }
    }
}

impl Drop for TestData {
    fn drop(&mut self) {
        if let Location::Postgres { url, schema } = &self.data.location {
            drop_pg_schema(url, schema.as_deref());
        }
    }
}

/// One fresh data dir per backend in `backends()`.
pub fn data_dirs(prefix: &str, test: &str) -> Vec<TestData> {
    backends()
        .into_iter()
        .map(|kind| TestData::new(kind, prefix, test))
        .collect()
}

/// A raw backend on the data dir's database, behind labguard's back.
pub fn backend(data: &DataDir) -> Box<dyn Backend> {
    match &data.location {
        Location::Sqlite => Box::new(SqliteBackend::open(&data.db_path(), false).unwrap()),
        Location::Postgres { url, schema } => {
            Box::new(PgBackend::connect(url, schema.as_deref()).unwrap())
        }
    }
}

/// Runs SQL directly against the data dir's database, as an attacker with file or DB access
/// would: the rows of a SELECT, nothing for anything else.
pub fn raw(data: &DataDir, sql: &str, params: &[Value]) -> Vec<Row> {
    let backend = backend(data);
    let mut tx = backend.begin().unwrap();
    let rows = if sql.trim_start().to_uppercase().starts_with("SELECT") {
        tx.query(sql, params).unwrap()
    } else {
        tx.execute(sql, params).unwrap();
        vec![]
    };
    tx.commit().unwrap();
    rows
}
