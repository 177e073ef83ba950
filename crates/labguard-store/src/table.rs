//! How each audited table is laid out: which columns are ciphertext, and the fixed column
//! order that row hashes, rotation and verification share.

use labguard_crypto::{FieldRef, KeyRing};
use serde::de::DeserializeOwned;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::backend::{Row, Value};
use crate::StoreError;

pub(crate) struct TableSpec {
    pub name: &'static str,
    /// Resource name used in audit entries.
    pub resource: &'static str,
    /// Every column after `id`, in the order rows are selected and hashed.
    pub columns: &'static [&'static str],
    /// The subset of `columns` holding ciphertext.
    pub encrypted: &'static [&'static str],
    /// Column naming the patient a row belongs to (`id` itself for patients).
    pub patient_column: Option<&'static str>,
}

pub(crate) const PATIENTS: TableSpec = TableSpec {
    name: "patients",
    resource: "patient",
    columns: &[
        "key_version",
        "mrn_bidx",
        "name_dob_bidx",
        "mrn",
        "family",
        "given",
        "birth_date",
        "sex",
        "phone",
        "email",
        "address",
        "created_at",
    ],
    encrypted: &[
        "mrn",
        "family",
        "given",
        "birth_date",
        "sex",
        "phone",
        "email",
        "address",
    ],
    patient_column: Some("id"),
};

pub(crate) const SPECIMENS: TableSpec = TableSpec {
    name: "specimens",
    resource: "specimen",
    columns: &[
        "patient_id",
        "key_version",
        "accession_bidx",
        "accession",
        "collector",
        "collected_at",
        "container",
        "body_site",
        "created_at",
    ],
    encrypted: &[
        "accession",
        "collector",
        "collected_at",
        "container",
        "body_site",
    ],
    patient_column: Some("patient_id"),
};

pub(crate) const ORDERS: TableSpec = TableSpec {
    name: "orders",
    resource: "order",
    columns: &[
        "patient_id",
        "specimen_id",
        "key_version",
        "ordering_provider",
        "tests",
        "placed_at",
        "created_at",
    ],
    encrypted: &["ordering_provider", "tests", "placed_at"],
    patient_column: Some("patient_id"),
};

pub(crate) const RESULTS: TableSpec = TableSpec {
    name: "results",
    resource: "result",
    columns: &[
        "patient_id",
        "specimen_id",
        "order_id",
        "key_version",
        "status",
        "performing_device",
        "verified_by",
        "analyte",
        "analyte_name",
        "value",
        "units",
        "reference_range",
        "abnormal_flag",
        "observed_at",
        "created_at",
    ],
    encrypted: &[
        "analyte",
        "analyte_name",
        "value",
        "units",
        "reference_range",
        "abnormal_flag",
        "observed_at",
    ],
    patient_column: Some("patient_id"),
};

/// Tables whose rows hold patient data, in foreign-key order.
pub(crate) const PHI_TABLES: [&TableSpec; 6] = [
    &PATIENTS,
    &SPECIMENS,
    &ORDERS,
    &RESULTS,
    &crate::instruments::INBOUND_MESSAGES,
    &crate::instruments::HELD_RESULTS,
];

impl TableSpec {
    pub fn select_sql(&self) -> String {
        format!("SELECT id, {} FROM {}", self.columns.join(", "), self.name)
    }

    pub fn insert_sql(&self) -> String {
        let marks = vec!["?"; self.columns.len() + 1].join(", ");
        format!(
            "INSERT INTO {} (id, {}) VALUES ({marks})",
            self.name,
            self.columns.join(", ")
        )
    }

    pub fn index_of(&self, column: &str) -> Result<usize, StoreError> {
        self.columns
            .iter()
            .position(|c| *c == column)
            .ok_or_else(|| StoreError::Corrupt(format!("{}.{column} unknown", self.name)))
    }

    /// SHA-256 over every column but `id` (ids are bound in by the AEAD and the audit
    /// entry's resource id). Type-tagged and length-prefixed so no two rows collide.
    pub fn row_hash(&self, values: &[Value]) -> String {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(self.name.as_bytes());
        for v in values {
            match v {
                Value::Null => buf.push(0),
                Value::Int(i) => {
                    buf.push(1);
                    buf.extend_from_slice(&i.to_be_bytes());
                }
                Value::Text(s) => {
                    buf.push(2);
                    buf.extend_from_slice(&(s.len() as u64).to_be_bytes());
                    buf.extend_from_slice(s.as_bytes());
                }
                Value::Blob(b) => {
                    buf.push(3);
                    buf.extend_from_slice(&(b.len() as u64).to_be_bytes());
                    buf.extend_from_slice(b);
                }
            }
        }
        hex::encode(labguard_crypto::sha256(&buf))
    }
}

/// Splits a selected row into its id and the remaining columns.
pub(crate) fn split_row(row: Row) -> Result<(String, Vec<Value>), StoreError> {
    let mut it = row.into_iter();
    let id = match it.next() {
        Some(Value::Text(s)) => s,
        _ => return Err(StoreError::Corrupt("row without id".into())),
    };
    Ok((id, it.collect()))
}

pub(crate) fn seal<T: Serialize + ?Sized>(
    ring: &KeyRing,
    table: &str,
    id: &str,
    column: &str,
    value: &T,
) -> Result<Value, StoreError> {
    let pt = Zeroizing::new(
        serde_json::to_vec(value).map_err(|e| StoreError::Backend(format!("encode: {e}")))?,
    );
    Ok(Value::Blob(
        ring.seal(&FieldRef::new(table, id, column), &pt)?,
    ))
}

pub(crate) fn open<T: DeserializeOwned>(
    ring: &KeyRing,
    table: &str,
    id: &str,
    column: &str,
    value: &Value,
) -> Result<T, StoreError> {
    let pt = ring
        .open(&FieldRef::new(table, id, column), value.as_blob()?)
        .map_err(|e| match e {
            labguard_crypto::CryptoError::Authentication => StoreError::Corrupt(format!(
                "{table} row {id}, column {column}: ciphertext failed authentication"
            )),
            other => StoreError::Crypto(other),
        })?;
    serde_json::from_slice(&pt).map_err(|_| {
        StoreError::Corrupt(format!("{table} row {id}, column {column}: bad encoding"))
    })
}

/// Re-encrypts one field under the active key without decoding its plaintext.
pub(crate) fn reseal(
    ring: &KeyRing,
    table: &str,
    id: &str,
    column: &str,
    value: &Value,
) -> Result<Value, StoreError> {
    let f = FieldRef::new(table, id, column);
    let pt = ring.open(&f, value.as_blob()?).map_err(|e| match e {
        labguard_crypto::CryptoError::Authentication => StoreError::Corrupt(format!(
            "{table} row {id}, column {column}: ciphertext failed authentication"
        )),
        other => StoreError::Crypto(other),
    })?;
    Ok(Value::Blob(ring.seal(&f, &pt)?))
}

/// Moves an encrypted value from one column of a row to another: each column binds its own
/// ciphertexts, so the value is opened under `from` and sealed again under `to`.
pub(crate) fn reseal_as(
    ring: &KeyRing,
    (table, id): (&str, &str),
    (from, to): (&str, &str),
    value: &Value,
) -> Result<Value, StoreError> {
    let pt = ring
        .open(&FieldRef::new(table, id, from), value.as_blob()?)
        .map_err(|e| match e {
            labguard_crypto::CryptoError::Authentication => StoreError::Corrupt(format!(
                "{table} row {id}, column {from}: ciphertext failed authentication"
            )),
            other => StoreError::Crypto(other),
        })?;
    Ok(Value::Blob(ring.seal(&FieldRef::new(table, id, to), &pt)?))
}
