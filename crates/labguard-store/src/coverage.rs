//! Which mechanism protects each column of each audited table, checked against the live
//! schema. `audit verify` reads the columns the database really has and refuses any it
//! does not know how a tamper would be caught in: a migration that adds a column without
//! covering it here fails verification (and the tamper test) instead of silently opening
//! a hole.

use crate::backend::{BackendKind, Tx, Value};
use crate::StoreError;

/// How a column is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cover {
    /// Inside the row hash its last audited write recorded (and, for ciphertext, the AEAD).
    RowHash,
    /// The row's key: bound into the audit entry's resource id and each field's AEAD.
    RowId,
    /// Recomputed from the log by the Merkle verification (sequence, entry, leaf hash).
    Merkle,
    /// Inside (or checked against) a signed checkpoint note.
    Signed,
    /// Must equal a value recomputed from covered data on every verify.
    Derived,
}

/// An audited table and how each of its columns is covered.
pub struct Coverage {
    pub table: &'static str,
    pub columns: Vec<(&'static str, Cover)>,
}

/// Every audited table: the patient-data tables and privacy cases (row hashes), the
/// privacy scan's pseudonym table (recomputed) and the audit log itself.
pub fn audited() -> Vec<Coverage> {
    let mut out: Vec<Coverage> = crate::table::ROW_HASHED
        .iter()
        .map(|spec| Coverage {
            table: spec.name,
            columns: std::iter::once(("id", Cover::RowId))
                .chain(spec.columns.iter().map(|c| (*c, Cover::RowHash)))
                .collect(),
        })
        .collect();
    out.push(Coverage {
        table: "privacy_patient_refs",
        // Verify recomputes each pseudonym from its patient id.
        columns: vec![
            ("patient_ref", Cover::Derived),
            ("patient_id", Cover::Derived),
        ],
    });
    out.push(Coverage {
        table: "audit_log",
        columns: vec![
            ("seq", Cover::Merkle),
            ("entry", Cover::Merkle),
            ("leaf_hash", Cover::Merkle),
        ],
    });
    out.push(Coverage {
        table: "audit_checkpoints",
        columns: vec![
            ("size", Cover::Signed),
            ("note", Cover::Signed),
            // The `labguard-time` line of the signed note.
            ("created_at", Cover::Signed),
        ],
    });
    out.push(Coverage {
        table: "audit_head",
        columns: vec![
            ("id", Cover::Derived),
            // Size and frontier must reproduce the log's size and root.
            ("size", Cover::Merkle),
            ("frontier", Cover::Merkle),
            // Must name the latest signed checkpoint.
            ("last_checkpoint_size", Cover::Derived),
            ("last_checkpoint_at", Cover::Derived),
        ],
    });
    out
}

/// The columns the database really has for `table`.
pub(crate) fn live_columns(
    tx: &mut dyn Tx,
    kind: BackendKind,
    table: &str,
) -> Result<Vec<String>, StoreError> {
    let sql = match kind {
        BackendKind::Sqlite => "SELECT name FROM pragma_table_info(?)",
        BackendKind::Postgres => {
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name::text = ? ORDER BY ordinal_position"
        }
    };
    tx.query(sql, &[Value::Text(table.into())])?
        .into_iter()
        .map(|r| {
            r.first()
                .ok_or_else(|| StoreError::Corrupt("column listing".into()))?
                .as_text()
                .map(str::to_string)
        })
        .collect()
}

/// The first column of an audited table that no mechanism covers, as (table, column).
pub(crate) fn first_uncovered(
    tx: &mut dyn Tx,
    kind: BackendKind,
) -> Result<Option<(&'static str, String)>, StoreError> {
    for cov in audited() {
        for col in live_columns(tx, kind, cov.table)? {
            if !cov.columns.iter().any(|(c, _)| *c == col) {
                return Ok(Some((cov.table, col)));
            }
        }
    }
    Ok(None)
}
