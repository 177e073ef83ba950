//! The one storage trait. A backend runs parameterized SQL inside transactions; everything
//! that knows about encryption and the audit log is written once above it (`store.rs`).

use crate::StoreError;

/// A SQL value. Only the four types the schema uses, so both backends map them exactly.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    pub fn as_int(&self) -> Result<i64, StoreError> {
        match self {
            Value::Int(i) => Ok(*i),
            _ => Err(StoreError::Corrupt("expected an integer column".into())),
        }
    }

    pub fn as_text(&self) -> Result<&str, StoreError> {
        match self {
            Value::Text(s) => Ok(s),
            _ => Err(StoreError::Corrupt("expected a text column".into())),
        }
    }

    pub fn as_blob(&self) -> Result<&[u8], StoreError> {
        match self {
            Value::Blob(b) => Ok(b),
            _ => Err(StoreError::Corrupt("expected a blob column".into())),
        }
    }

    pub fn opt_text(&self) -> Result<Option<&str>, StoreError> {
        match self {
            Value::Null => Ok(None),
            other => other.as_text().map(Some),
        }
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Blob(v.to_vec())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

pub type Row = Vec<Value>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

/// A storage engine. SQL is written with `?` placeholders; backends translate as needed.
pub trait Backend: Send + Sync {
    fn kind(&self) -> BackendKind;
    /// Opens a read-write transaction. On PostgreSQL several nodes may do this at once;
    /// ordering between them comes from row locks (see the audit head).
    fn begin(&self) -> Result<Box<dyn Tx + '_>, StoreError>;
    /// A transaction for holding cross-node locks while the holder makes store calls of
    /// its own: on PostgreSQL from a pool of its own, so the holder never needs two
    /// connections of one pool.
    fn begin_locks(&self) -> Result<Box<dyn Tx + '_>, StoreError> {
        self.begin()
    }
    /// Applies pending migrations; safe to call on every start and from several nodes.
    fn migrate(&self) -> Result<(), StoreError>;
    /// Writes a consistent snapshot of the whole database as a new SQLite file (backups,
    /// and moving a lab between backends).
    fn export_sqlite(&self, dest: &std::path::Path) -> Result<(), StoreError>;
}

/// Every table, in an order that satisfies foreign keys when copied.
pub(crate) const ALL_TABLES: &[&str] = &[
    "meta",
    "keys",
    "staff",
    "devices",
    "patients",
    "specimens",
    "orders",
    "results",
    "instrument_enrollments",
    "inbound_messages",
    "held_results",
    "instrument_alerts",
    "audit_log",
    "audit_head",
    "audit_checkpoints",
    "key_rotation",
    "sealed_keys",
    "key_usage",
    "accounts",
    "sessions",
    "api_tokens",
    "sign_in_throttle",
    "break_glass",
    "alerts",
    "training_courses",
    "training_rules",
    "training_attempts",
    "training_completions",
    "training_reminders",
    "phishing_campaigns",
    "phishing_recipients",
    "phishing_events",
    "phishing_deliveries",
    "compliance_runs",
    "compliance_evidence",
    "compliance_scores",
    "policy_documents",
    "baas",
    "attestations",
    "risks",
    "risk_history",
    "incidents",
    "staff_departures",
    "device_changes",
    "device_sboms",
    "sbom_components",
    "advisories",
    "kev_entries",
    "vex_documents",
    "device_findings",
    "compensating_controls",
    "device_assessments",
    "network_links",
    "exposure_scans",
    "device_finding_counts",
    // The SIEM cursor travels with the log it points into, so a lab moved between
    // backends does not send its whole history again.
    "siem_cursor",
    "siem_spool",
    "siem_sent_alerts",
    // Privacy monitoring: the cases are row-hashed (verify of the copy needs every one),
    // and the cursor, alerts and tunings travel with the log they describe.
    "privacy_scan_state",
    "privacy_alerts",
    "privacy_staff_profiles",
    "privacy_patient_flags",
    "privacy_tunings",
    "privacy_cases",
    "privacy_patient_refs",
    "oidc_links",
];

/// Tables whose migration writes a row the copy replaces.
const SEEDED_BY_MIGRATION: &[&str] = &["privacy_scan_state"];

/// Copies every table from `src` (inside its snapshot transaction) into a fresh SQLite file.
pub(crate) fn copy_into_sqlite(src: &mut dyn Tx, dest: &std::path::Path) -> Result<(), StoreError> {
    let out = crate::sqlite::SqliteBackend::open(dest, true)?;
    out.migrate()?;
    let mut otx = out.begin()?;
    for table in ALL_TABLES {
        if SEEDED_BY_MIGRATION.contains(table) {
            otx.execute(&format!("DELETE FROM {table}"), &[])?;
        }
        let mut insert: Option<String> = None;
        src.for_each(&format!("SELECT * FROM {table}"), &[], &mut |row| {
            let sql = insert.get_or_insert_with(|| {
                format!(
                    "INSERT INTO {table} VALUES ({})",
                    vec!["?"; row.len()].join(", ")
                )
            });
            otx.execute(sql, &row)?;
            Ok(())
        })?;
    }
    otx.commit()
}

/// An open transaction. Dropping it without `commit` rolls back.
pub trait Tx {
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError>;
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;
    /// Visits rows one at a time, for scans too big to hold (verify, rotation, backup).
    fn for_each(
        &mut self,
        sql: &str,
        params: &[Value],
        f: &mut dyn FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Locks the audit head row for the rest of the transaction (no-op where the
    /// transaction already holds the database's write lock).
    fn lock_audit_head(&mut self) -> Result<(), StoreError>;
    fn commit(self: Box<Self>) -> Result<(), StoreError>;

    /// Inserts one row with a plain `INSERT INTO t (…) VALUES (…)` (nothing after the
    /// values tuple) whose affected-row count the caller does not need. A backend may hold
    /// the row and send it, with the transaction's other held rows of the same statement,
    /// as one multi-row INSERT just before its next statement of any other kind or its
    /// commit; an error (a conflict) then surfaces from that call, and the transaction is
    /// lost either way. Held rows go out grouped by statement in the order each statement
    /// was first held, so a caller holds a parent row before any row that references it.
    fn insert_deferred(&mut self, sql: &str, params: &[Value]) -> Result<(), StoreError> {
        self.execute(sql, params).map(|_| ())
    }

    /// Runs a script of `;`-separated statements without parameters (migrations).
    fn execute_script(&mut self, sql: &str) -> Result<(), StoreError> {
        for stmt in crate::migrate::statements(sql) {
            self.execute(&stmt, &[])?;
        }
        Ok(())
    }
}

pub(crate) fn query_one(
    tx: &mut dyn Tx,
    sql: &str,
    params: &[Value],
) -> Result<Option<Row>, StoreError> {
    Ok(tx.query(sql, params)?.into_iter().next())
}
