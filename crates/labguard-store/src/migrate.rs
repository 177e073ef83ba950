//! Schema migrations, one SQL file each for both backends (the few differing lines marked),
//! applied in order, once each.

use crate::backend::{Tx, Value};
use crate::StoreError;

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    /// The SQL for both dialects: a line starting `-- sqlite: ` or `-- postgres: ` belongs
    /// to that dialect only (the prefix is dropped), and `{blob}` is the dialect's byte
    /// string type. Only `version` and `name` are recorded as applied, but the rendered text
    /// is kept byte-identical to what earlier releases ran (see the test below).
    pub source: &'static str,
}

/// Which SQL dialect a migration is rendered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "init",
        source: include_str!("../migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "identity",
        source: include_str!("../migrations/0002_identity.sql"),
    },
    Migration {
        version: 3,
        name: "instruments",
        source: include_str!("../migrations/0003_instruments.sql"),
    },
    Migration {
        version: 4,
        name: "devices",
        source: include_str!("../migrations/0004_devices.sql"),
    },
    Migration {
        version: 5,
        name: "training",
        source: include_str!("../migrations/0005_training.sql"),
    },
    Migration {
        version: 6,
        name: "compliance",
        source: include_str!("../migrations/0006_compliance.sql"),
    },
    Migration {
        version: 7,
        name: "password_change",
        source: include_str!("../migrations/0007_password_change.sql"),
    },
    Migration {
        version: 8,
        name: "identity_hardening",
        source: include_str!("../migrations/0008_identity_hardening.sql"),
    },
    Migration {
        version: 9,
        name: "sealed_keys",
        source: include_str!("../migrations/0009_sealed_keys.sql"),
    },
    Migration {
        version: 10,
        name: "job_leases",
        source: include_str!("../migrations/0010_job_leases.sql"),
    },
    Migration {
        version: 11,
        name: "delivery_tls",
        source: include_str!("../migrations/0011_delivery_tls.sql"),
    },
    Migration {
        version: 12,
        name: "result_integrity",
        source: include_str!("../migrations/0012_result_integrity.sql"),
    },
    Migration {
        version: 13,
        name: "privacy",
        source: include_str!("../migrations/0013_privacy.sql"),
    },
    Migration {
        version: 14,
        name: "qc_recall",
        source: include_str!("../migrations/0014_qc_recall.sql"),
    },
    Migration {
        version: 15,
        name: "listen",
        source: include_str!("../migrations/0015_listen.sql"),
    },
    Migration {
        version: 16,
        name: "siem",
        source: include_str!("../migrations/0016_siem.sql"),
    },
    Migration {
        version: 17,
        name: "priv",
        source: include_str!("../migrations/0017_priv.sql"),
    },
    Migration {
        version: 18,
        name: "privacy_cases",
        source: include_str!("../migrations/0018_privacy_cases.sql"),
    },
    Migration {
        version: 19,
        name: "oidc",
        source: include_str!("../migrations/0019_oidc.sql"),
    },
];

impl Migration {
    /// The script for `dialect`.
    pub fn sql(&self, dialect: Dialect) -> String {
        render(self.source, dialect)
    }
}

fn render(source: &str, dialect: Dialect) -> String {
    let (mine, blob) = match dialect {
        Dialect::Sqlite => ("-- sqlite: ", "BLOB"),
        Dialect::Postgres => ("-- postgres: ", "BYTEA"),
    };
    let mut out = String::with_capacity(source.len());
    for line in source.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix(mine) {
            out.push_str(rest);
        } else if !(line.starts_with("-- sqlite: ") || line.starts_with("-- postgres: ")) {
            out.push_str(&line.replace("{blob}", blob));
        }
    }
    out
}

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
pub fn apply(tx: &mut dyn Tx, dialect: Dialect) -> Result<(), StoreError> {
    let migrations = MIGRATIONS;
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
        tx.execute_script(&m.sql(dialect))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
            &[Value::Int(m.version), Value::Text(m.name.into())],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Dialect, MIGRATIONS};

    /// SHA-256 of each script as earlier releases shipped it (one file per dialect):
    /// (version, SQLite, PostgreSQL). Deployments ran exactly these bytes.
    const SHIPPED: &[(i64, &str, &str)] = &[
        (
            1,
            "bfc97c38bc279149cbf73e3c92ff37e1b7d4907fca02fcd573d58ac159fff7b8",
            "861137d65b5f30da474fabd9189782189f206d5b2e36e236921eb1566ba06af1",
        ),
        (
            2,
            "e7e523ab42fd7bbcaf846463f381651b56ab3d16048d6f1b2ba64495c9eba0e6",
            "68ae8a34e9a86d562d4f26d190565c32a27c7a2353243f1371030e133bf0b8e8",
        ),
        (
            3,
            "cb3be7cd0f50ba1a737ac0976152eba43e68a1d42839b9dafd10b9e23fb994bc",
            "1a1e1b7a013342f8f9bba4e10bd852348739536f54d07ef85bae22b937f44df9",
        ),
        (
            4,
            "ae6996dde3a10f0b231416e20fea3967fc327757a997d8150d1cef8f506a326f",
            "e62712df2cd4a63962c042c792cbfd790d5aa42c953ea181304da84b503a3b6f",
        ),
        (
            5,
            "d153fea5b68a57cc2df3e55cb787b9fef88dc2a9e4e3aa6187197aa20f934192",
            "c45f6e24ef21c6df01039db02cda1281a75424c68d0d9166e673fb9b7ab4fcb3",
        ),
        (
            6,
            "a49f2210b415cd7275dcb05b4b5197a4cf1cfaacab15b5f59017e839d2b1364b",
            "8c6b74a7989548b06df27afbd3ca0644d48a2a5f97d013e4819fc7b7c5e3618c",
        ),
        (
            7,
            "59e9e20ded251b2a954aa8b134199289c176ee506792a9cf57e2d48beb57ebd1",
            "59e9e20ded251b2a954aa8b134199289c176ee506792a9cf57e2d48beb57ebd1",
        ),
        (
            8,
            "350bffb6ff8f43640e79cd6383387e51d52ed2e17fe018bd8ef3412a79ff612a",
            "07ed8c46a0b7bffc9a8bd7c603c298754d975feeebcc4f287aecc219d53b4362",
        ),
        (
            9,
            "68caa181c8cc0bd4431f171f2e178d008af35813ca6d28a6772426d775d26d6f",
            "f15277ed52d382a9ce3bd5e09d4fb4c8db21cae1c855e13054e338bf4c51737b",
        ),
        (
            10,
            "8e3a17407a35d4d7e50e50ef8887cdc71e68201138043e79b8f600088cc39513",
            "8e3a17407a35d4d7e50e50ef8887cdc71e68201138043e79b8f600088cc39513",
        ),
        (
            11,
            "5d1123de63009cf84f8a7c2b6e4a0b4acd8dd0402e966b6c3e81d65fceedae91",
            "5d1123de63009cf84f8a7c2b6e4a0b4acd8dd0402e966b6c3e81d65fceedae91",
        ),
        (
            12,
            "a05cdc1e55dcb6d9cfbd25f9bf0e79cf7a1fe471c979982cdb92ee300719a22c",
            "526ae5d8682f40afd50a40e050bdde291b451764f09d9f781f54920bfd27d8ad",
        ),
        (
            13,
            "0ab20c71690bf0a1c57e190d9e8ebd838eb807f8470dce697f92e04d55175cec",
            "5422b24cdbf3561d5fecc7e32a57d0601c013acaa4d4046e87be8ea66b2a3b9a",
        ),
        (
            14,
            "7a945ae63c17e513cb0659322099831541df916363e9ec6b8b78b8a0adc8a468",
            "7a945ae63c17e513cb0659322099831541df916363e9ec6b8b78b8a0adc8a468",
        ),
        (
            15,
            "e16d57fa913ec036adb190b60759907118c726c8a0d6d2e093eff890dc34ef98",
            "e16d57fa913ec036adb190b60759907118c726c8a0d6d2e093eff890dc34ef98",
        ),
        (
            16,
            "08343a4de1dbe4f6461d081ca1dc704bb91098671dde7619f02c77ac3ce883ba",
            "08343a4de1dbe4f6461d081ca1dc704bb91098671dde7619f02c77ac3ce883ba",
        ),
        (
            17,
            "0b7889f9008bbad2dde0a388815b3168413db3c1c000461e24160dad6c6a676f",
            "0b7889f9008bbad2dde0a388815b3168413db3c1c000461e24160dad6c6a676f",
        ),
        (
            18,
            "fd57fd5b3da6896fb1bc0d30c0e4224275751ed82923c1cd504a1e5c67186a02",
            "fd57fd5b3da6896fb1bc0d30c0e4224275751ed82923c1cd504a1e5c67186a02",
        ),
        (
            19,
            "57b22ff1a135ac1ae6317886a7e29e3b2e5db8644db19928f66b45ce94d86320",
            "181f305a274f82d89430aa728fdff4a774d0cf19a8f9be6a5a276bf8caeec57f",
        ),
    ];

    #[test]
    fn rendered_scripts_are_the_shipped_ones() {
        assert_eq!(MIGRATIONS.len(), SHIPPED.len());
        for (m, (version, sqlite, postgres)) in MIGRATIONS.iter().zip(SHIPPED) {
            assert_eq!(m.version, *version);
            for (d, want) in [(Dialect::Sqlite, sqlite), (Dialect::Postgres, postgres)] {
                let got = hex::encode(labguard_crypto::sha256(m.sql(d).as_bytes()));
                assert_eq!(got, *want, "migration {} for {d:?}", m.version);
            }
        }
    }
}
