//! Test set-up shared by every crate's tests (take it as a dev-dependency only): a data dir
//! on SQLite and on a fresh PostgreSQL schema (dropped when the test ends;
//! `LABGUARD_TEST_PG` names the database, `LABGUARD_SKIP_PG` skips it), a free port, a
//! child process killed on drop, and a `labguard serve` spawned and waited for.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use labguard_store::testing::PgBackend;
use labguard_store::{DataDir, Location};

#[cfg(feature = "mail")]
pub use labguard_mail::sink;

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

/// A fresh schema name, unique per process and call: `{prefix}_{test}_{pid}_{n}`.
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

/// A TCP port free on 127.0.0.1 at the time of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("an ephemeral port on 127.0.0.1")
        .port()
}

/// A child process (a `labguard serve`, a load generator) killed and reaped when the test
/// ends, passing or failing, so no server outlives its test.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns `serve` (a `labguard serve … --listen 127.0.0.1:{port}` command), waits for its
/// "serving https://" line and for `/health` to answer 200 (curl, bounded tries), and
/// returns it with its base URL.
pub fn spawn_serve(mut serve: Command, port: u16) -> (KillOnDrop, String) {
    let child = serve
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn labguard serve");
    let mut server = KillOnDrop(child);
    // The server prints its address once it is about to accept connections.
    let out = server.0.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(out).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(first.contains("serving https://"), "{first}");
    std::thread::spawn(move || for _ in lines {});
    let base = format!("https://127.0.0.1:{port}");
    for _ in 0..100 {
        let code = Command::new("curl")
            .args(["-sk", "--max-time", "20", "-o", "/dev/null"])
            .args(["-w", "%{http_code}", &format!("{base}/health")])
            .output()
            .expect("curl");
        if code.stdout == b"200" {
            return (server, base);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("labguard serve did not come up");
}
