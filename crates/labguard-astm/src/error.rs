//! Errors of the record parser. Messages name positions, never content: the input is
//! patient data and these strings end up in logs.

use thiserror::Error;

/// Why a transmission could not be parsed at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("transmission is empty")]
    Empty,
    #[error("transmission does not start with an H record")]
    MissingHeader,
    #[error("H record ends before its delimiter definition")]
    TruncatedHeader,
    #[error("invalid delimiters in the H record: {why}")]
    InvalidDelimiters { why: &'static str },
}

/// Something odd found while parsing that did not stop the parse; the record is kept.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseProblem {
    #[error("record {index} has an unknown record type")]
    UnknownRecordType { index: usize },
    #[error("record {index} is a second H record")]
    RepeatedHeader { index: usize },
    #[error("record {index} follows the L record")]
    AfterTerminator { index: usize },
    #[error("the transmission has no L record (it may be incomplete)")]
    MissingTerminator,
}
