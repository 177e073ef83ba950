//! Column decoders shared by every store file: stored times, ids, JSON and cells of a
//! positional row. Errors name what was malformed, never the value.

use chrono::{DateTime, Utc};
use labguard_core::Id;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::backend::{Row, Value};
use crate::StoreError;

/// Parses a stored RFC 3339 time.
pub(crate) fn parse_time_text(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|_| StoreError::Corrupt("malformed timestamp".into()))
}

pub(crate) fn parse_time(v: &Value) -> Result<DateTime<Utc>, StoreError> {
    parse_time_text(v.as_text()?)
}

pub(crate) fn opt_time(v: &Value) -> Result<Option<DateTime<Utc>>, StoreError> {
    v.opt_text()?.map(parse_time_text).transpose()
}

pub(crate) fn id_from_text(s: &str) -> Result<Id, StoreError> {
    Id::parse_str(s).map_err(|_| StoreError::Corrupt("malformed id".into()))
}

pub(crate) fn parse_id(v: &Value) -> Result<Id, StoreError> {
    id_from_text(v.as_text()?)
}

/// Cell `i` of a positional row as text (`None` for NULL).
pub(crate) fn text(r: &Row, i: usize) -> Result<Option<String>, StoreError> {
    Ok(cell(r, i)?.opt_text()?.map(str::to_string))
}

pub(crate) fn int(r: &Row, i: usize) -> Result<i64, StoreError> {
    cell(r, i)?.as_int()
}

fn cell(r: &Row, i: usize) -> Result<&Value, StoreError> {
    r.get(i)
        .ok_or_else(|| StoreError::Corrupt("row shape".into()))
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("encoding JSON: {e}")))
}

/// Decodes a JSON text column; `what` names the record in the error.
pub(crate) fn from_json<T: DeserializeOwned>(v: &Value, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(v.as_text()?).map_err(|_| StoreError::Corrupt(format!("{what} record")))
}
