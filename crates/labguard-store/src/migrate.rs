//! Schema migrations, kept as SQL files per backend and applied in order, once each.

use crate::backend::{Tx, Value};
use crate::StoreError;

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const SQLITE_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "identity",
        sql: include_str!("../migrations/sqlite/0002_identity.sql"),
    },
    Migration {
        version: 3,
        name: "instruments",
        sql: include_str!("../migrations/sqlite/0003_instruments.sql"),
    },
    Migration {
        version: 4,
        name: "devices",
        sql: include_str!("../migrations/sqlite/0004_devices.sql"),
    },
    Migration {
        version: 5,
        name: "training",
        sql: include_str!("../migrations/sqlite/0005_training.sql"),
    },
    Migration {
        version: 6,
        name: "compliance",
        sql: include_str!("../migrations/sqlite/0006_compliance.sql"),
    },
    Migration {
        version: 7,
        name: "password_change",
        sql: include_str!("../migrations/sqlite/0007_password_change.sql"),
    },
    Migration {
        version: 8,
        name: "identity_hardening",
        sql: include_str!("../migrations/sqlite/0008_identity_hardening.sql"),
    },
    Migration {
        version: 9,
        name: "sealed_keys",
        sql: include_str!("../migrations/sqlite/0009_sealed_keys.sql"),
    },
    Migration {
        version: 10,
        name: "job_leases",
        sql: include_str!("../migrations/sqlite/0010_job_leases.sql"),
    },
    Migration {
        version: 11,
        name: "delivery_tls",
        sql: include_str!("../migrations/sqlite/0011_delivery_tls.sql"),
    },
];

pub const POSTGRES_MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "identity",
        sql: include_str!("../migrations/postgres/0002_identity.sql"),
    },
    Migration {
        version: 3,
        name: "instruments",
        sql: include_str!("../migrations/postgres/0003_instruments.sql"),
    },
    Migration {
        version: 4,
        name: "devices",
        sql: include_str!("../migrations/postgres/0004_devices.sql"),
    },
    Migration {
        version: 5,
        name: "training",
        sql: include_str!("../migrations/postgres/0005_training.sql"),
    },
    Migration {
        version: 6,
        name: "compliance",
        sql: include_str!("../migrations/postgres/0006_compliance.sql"),
    },
    Migration {
        version: 7,
        name: "password_change",
        sql: include_str!("../migrations/postgres/0007_password_change.sql"),
    },
    Migration {
        version: 8,
        name: "identity_hardening",
        sql: include_str!("../migrations/postgres/0008_identity_hardening.sql"),
    },
    Migration {
        version: 9,
        name: "sealed_keys",
        sql: include_str!("../migrations/postgres/0009_sealed_keys.sql"),
    },
    Migration {
        version: 10,
        name: "job_leases",
        sql: include_str!("../migrations/postgres/0010_job_leases.sql"),
    },
    Migration {
        version: 11,
        name: "delivery_tls",
        sql: include_str!("../migrations/postgres/0011_delivery_tls.sql"),
    },
];

/// The newest schema version this build knows.
pub fn latest(migrations: &[Migration]) -> i64 {
    migrations.iter().map(|m| m.version).max().unwrap_or(0)
}

/// Splits a migration script into statements after dropping `--` comments. Our scripts
/// have no `;` or `--` inside string literals.
pub fn statements(sql: &str) -> Vec<String> {
    let code: String = sql
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    code.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Applies what is missing, inside the caller's transaction (which holds the lock that
/// keeps two nodes from migrating at once).
pub fn apply(tx: &mut dyn Tx, migrations: &[Migration]) -> Result<(), StoreError> {
    tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)",
        &[],
    )?;
    let applied: Vec<i64> = tx
        .query("SELECT version FROM schema_migrations", &[])?
        .iter()
        .filter_map(|r| r.first().and_then(|v| v.as_int().ok()))
        .collect();
    let newest = applied.iter().copied().max().unwrap_or(0);
    if newest > latest(migrations) {
        return Err(StoreError::Unavailable(format!(
            "the database schema (v{newest}) is newer than this labguard build (v{}): upgrade labguard",
            latest(migrations)
        )));
    }
    // Apply every migration not yet recorded, in version order (not just those above the
    // newest: branches may land migrations out of order).
    let mut pending: Vec<&Migration> = migrations
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .collect();
    pending.sort_by_key(|m| m.version);
    for m in pending {
        tx.execute_script(m.sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
            &[Value::Int(m.version), Value::Text(m.name.into())],
        )?;
    }
    Ok(())
}
