//! How each audited table is laid out: which columns are ciphertext, and the fixed column
//! order that row hashes, rotation and verification share.

use labguard_crypto::{FieldRef, KeyRing};
use serde::de::DeserializeOwned;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::backend::{Row, Value};
pub(crate) use crate::rows::{
    HELD_RESULTS, INBOUND_MESSAGES, ORDERS, PATIENTS, RESULTS, SPECIMENS,
};
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

/// Tables whose rows hold patient data, in foreign-key order.
pub(crate) const PHI_TABLES: [&TableSpec; 6] = [
    &PATIENTS,
    &SPECIMENS,
    &ORDERS,
    &RESULTS,
    &INBOUND_MESSAGES,
    &HELD_RESULTS,
];

/// Tables whose rows verify checks against their last audited write's hash: patient data
/// and privacy cases.
pub(crate) const ROW_HASHED: [&TableSpec; 7] = [
    &PATIENTS,
    &SPECIMENS,
    &ORDERS,
    &RESULTS,
    &INBOUND_MESSAGES,
    &HELD_RESULTS,
    &crate::privacy_cases::CASES,
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

    /// Rewrites every column after `id` (parameters: the columns in order, then the id).
    pub fn update_sql(&self) -> String {
        let sets: Vec<String> = self.columns.iter().map(|c| format!("{c} = ?")).collect();
        format!("UPDATE {} SET {} WHERE id = ?", self.name, sets.join(", "))
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

/// Opens one sealed field; a failed authentication names the table, row and column.
fn open_raw(
    ring: &KeyRing,
    table: &str,
    id: &str,
    column: &str,
    value: &Value,
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    ring.open(&FieldRef::new(table, id, column), value.as_blob()?)
        .map_err(|e| match e {
            labguard_crypto::CryptoError::Authentication => StoreError::Corrupt(format!(
                "{table} row {id}, column {column}: ciphertext failed authentication"
            )),
            other => StoreError::Crypto(other),
        })
}

pub(crate) fn open<T: DeserializeOwned>(
    ring: &KeyRing,
    table: &str,
    id: &str,
    column: &str,
    value: &Value,
) -> Result<T, StoreError> {
    let pt = open_raw(ring, table, id, column, value)?;
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
    reseal_as(ring, (table, id), (column, column), value)
}

/// Moves an encrypted value from one column of a row to another: each column binds its own
/// ciphertexts, so the value is opened under `from` and sealed again under `to`.
pub(crate) fn reseal_as(
    ring: &KeyRing,
    (table, id): (&str, &str),
    (from, to): (&str, &str),
    value: &Value,
) -> Result<Value, StoreError> {
    let pt = open_raw(ring, table, id, from, value)?;
    Ok(Value::Blob(ring.seal(&FieldRef::new(table, id, to), &pt)?))
}

/// Builds one row's column values in the spec's order. Every value names its column, which
/// must be the next one of the spec and sealed exactly when the spec lists it as encrypted,
/// so a row type and its column list cannot drift apart silently.
pub(crate) struct Encoder<'a> {
    spec: &'static TableSpec,
    ring: &'a KeyRing,
    id: &'a str,
    values: Vec<Value>,
}

impl<'a> Encoder<'a> {
    pub fn new(spec: &'static TableSpec, ring: &'a KeyRing, id: &'a str) -> Self {
        Encoder {
            spec,
            ring,
            id,
            values: Vec::with_capacity(spec.columns.len()),
        }
    }

    pub fn ring(&self) -> &KeyRing {
        self.ring
    }

    fn next(&self, column: &str, sealed: bool) -> Result<(), StoreError> {
        let table = self.spec.name;
        if self.spec.columns.get(self.values.len()) != Some(&column) {
            return Err(StoreError::Backend(format!(
                "{table}.{column} written out of column order"
            )));
        }
        if self.spec.encrypted.contains(&column) != sealed {
            return Err(StoreError::Backend(format!(
                "{table}.{column} sealed where the column list says otherwise"
            )));
        }
        Ok(())
    }

    pub fn plain(&mut self, column: &str, value: impl Into<Value>) -> Result<(), StoreError> {
        self.next(column, false)?;
        self.values.push(value.into());
        Ok(())
    }

    /// The active data-key version, which every sealed column of the row is under.
    pub fn key_version(&mut self) -> Result<(), StoreError> {
        let v = i64::from(self.ring.active_version());
        self.plain("key_version", v)
    }

    /// A sealed column holding `value` as JSON.
    pub fn sealed<T: Serialize + ?Sized>(
        &mut self,
        column: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        self.next(column, true)?;
        let v = seal(self.ring, self.spec.name, self.id, column, value)?;
        self.values.push(v);
        Ok(())
    }

    /// A sealed column holding raw bytes (not JSON-encoded).
    pub fn sealed_bytes(&mut self, column: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.next(column, true)?;
        let ct = self
            .ring
            .seal(&FieldRef::new(self.spec.name, self.id, column), bytes)?;
        self.values.push(Value::Blob(ct));
        Ok(())
    }

    pub fn finish(self) -> Result<Vec<Value>, StoreError> {
        if self.values.len() != self.spec.columns.len() {
            return Err(StoreError::Backend(format!(
                "{} row written without all its columns",
                self.spec.name
            )));
        }
        Ok(self.values)
    }
}

/// Reads the columns of a row selected with `select_sql`, by name.
pub(crate) struct Decoder<'a> {
    spec: &'static TableSpec,
    ring: &'a KeyRing,
    pub id: String,
    values: Vec<Value>,
}

impl<'a> Decoder<'a> {
    pub fn new(spec: &'static TableSpec, ring: &'a KeyRing, row: Row) -> Result<Self, StoreError> {
        let (id, values) = split_row(row)?;
        Ok(Decoder {
            spec,
            ring,
            id,
            values,
        })
    }

    pub fn raw(&self, column: &str) -> Result<&Value, StoreError> {
        self.values
            .get(self.spec.index_of(column)?)
            .ok_or_else(|| StoreError::Corrupt(format!("{} row too short", self.spec.name)))
    }

    pub fn text(&self, column: &str) -> Result<&str, StoreError> {
        self.raw(column)?.as_text()
    }

    pub fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        Ok(self.raw(column)?.opt_text()?.map(str::to_string))
    }

    /// Opens a sealed JSON column.
    pub fn sealed<T: DeserializeOwned>(&self, column: &str) -> Result<T, StoreError> {
        open(
            self.ring,
            self.spec.name,
            &self.id,
            column,
            self.raw(column)?,
        )
    }
}
