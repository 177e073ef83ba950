//! Errors of the structural parser. Messages name positions, never content: the input is
//! patient data and these strings end up in logs.

use thiserror::Error;

/// Why a message could not be parsed at all.
///
/// Only problems that leave nothing usable are errors; oddities inside an otherwise
/// readable message are reported as [`ParseProblem`]s next to the parsed message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// The input is empty or holds only whitespace and segment terminators.
    #[error("message is empty")]
    Empty,
    /// The first segment is not MSH.
    #[error("message does not start with an MSH segment")]
    MissingMsh,
    /// The MSH segment ends before its separator and encoding characters.
    #[error("MSH segment is truncated before MSH-2")]
    TruncatedMsh,
    /// MSH-1/MSH-2 declare unusable delimiters.
    #[error("invalid delimiters in MSH-1/MSH-2: {why}")]
    InvalidDelimiters { why: &'static str },
    /// The input is larger than 4 GiB (field offsets are 32-bit).
    #[error("message is too large")]
    TooLarge,
    /// The bytes are not UTF-8 and the message declares a Unicode character set, so
    /// reading them any other way would corrupt data.
    #[error("invalid UTF-8 at byte offset {offset}")]
    InvalidUtf8 { offset: usize },
}

/// Something odd found while parsing that did not stop the parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseProblem {
    /// A segment's name is not three upper-case letters or digits. The segment is kept.
    #[error("segment {index} has an invalid segment name")]
    InvalidSegmentName { index: usize },
    /// A second MSH segment: this input holds more than one message (a batch), which this
    /// parser does not split. The segment is kept as a plain segment.
    #[error("segment {index} is a second MSH segment")]
    RepeatedMsh { index: usize },
}
