//! Test set-up shared by every crate's tests (take it as a dev-dependency only):
//!
//! - [`data`]: a data dir on SQLite and on a fresh PostgreSQL schema (dropped when the test
//!   ends; `LABGUARD_TEST_PG` names the database, `LABGUARD_SKIP_PG` skips it), raw SQL
//!   against it as an attacker with database access would run it;
//! - [`process`]: a free port, a child process killed on drop, a `labguard` command with the
//!   caller's environment cleaned, a `labguard serve` spawned and waited for;
//! - [`https`]: curl as the HTTPS client of a spawned server, signing in with TOTP codes
//!   from Python's pyotp as an authenticator app makes them;
//! - [`hl7`], [`files`]: message builders and byte-level file checks.
//!
//! Behind features, for crates that would not otherwise link the heavy parts: `mail` (the
//! SMTP sink, [`sink`]: a server on 127.0.0.1 that keeps what it receives), `tokio` (a
//! runtime), `mllp` (an in-process MLLP listener and a mutual-TLS client), `server` (the
//! real router called in-process, with accounts that sign in).

pub mod data;
pub mod files;
pub mod hl7;
pub mod https;
pub mod process;
#[cfg(feature = "mail")]
pub mod sink;

#[cfg(feature = "mllp")]
pub mod mllp;
#[cfg(feature = "server")]
pub mod server;

pub use data::{backends, data_dirs, drop_pg_schema, pg_url, raw, schema_name, skip_pg};
pub use data::{TestData, PG_DEFAULT};
pub use files::{age_key, all_bytes, contains, d};
pub use process::{free_port, labguard_command, spawn_serve, spawn_serve_logging, KillOnDrop};

/// A multi-threaded runtime with two workers (the machine's cores), for sync tests that
/// drive async code with `block_on`.
#[cfg(feature = "tokio")]
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}
