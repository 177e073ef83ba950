use thiserror::Error;

/// Why QC input was refused. Messages name fields, never values: delta-check inputs are
/// patient results.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum QcError {
    #[error("{field} is not valid: {why}")]
    Invalid {
        field: &'static str,
        why: &'static str,
    },
    #[error("control series for different analytes cannot be evaluated together")]
    MixedAnalytes,
    #[error("the previous result is for a different {field}")]
    Mismatch { field: &'static str },
    #[error("delta table: {0}")]
    Table(String),
}
