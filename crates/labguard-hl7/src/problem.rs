//! Problems found while mapping a message, located by segment/field position so they can
//! be logged and sent back in ERR segments without ever quoting patient data.

use std::fmt;

use labguard_core::DomainError;
use thiserror::Error;

use crate::message::Segment;
use crate::timestamp::TimestampError;

/// HL7 table 0357, message error condition codes (the ones a receiver uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0: message accepted.
    Accepted,
    /// 100: segment sequence error.
    SegmentSequence,
    /// 101: required field missing.
    RequiredFieldMissing,
    /// 102: data type error.
    DataType,
    /// 103: table value not found.
    TableValueNotFound,
    /// 200: unsupported message type.
    UnsupportedMessageType,
    /// 201: unsupported event code.
    UnsupportedEventCode,
    /// 202: unsupported processing id.
    UnsupportedProcessingId,
    /// 203: unsupported version id.
    UnsupportedVersionId,
    /// 204: unknown key identifier.
    UnknownKeyIdentifier,
    /// 205: duplicate key identifier.
    DuplicateKeyIdentifier,
    /// 206: application record locked.
    RecordLocked,
    /// 207: application internal error.
    ApplicationInternalError,
}

impl ErrorCode {
    /// The numeric code as written in ERR-3 (or ERR-1 before v2.5).
    pub fn code(self) -> u16 {
        match self {
            ErrorCode::Accepted => 0,
            ErrorCode::SegmentSequence => 100,
            ErrorCode::RequiredFieldMissing => 101,
            ErrorCode::DataType => 102,
            ErrorCode::TableValueNotFound => 103,
            ErrorCode::UnsupportedMessageType => 200,
            ErrorCode::UnsupportedEventCode => 201,
            ErrorCode::UnsupportedProcessingId => 202,
            ErrorCode::UnsupportedVersionId => 203,
            ErrorCode::UnknownKeyIdentifier => 204,
            ErrorCode::DuplicateKeyIdentifier => 205,
            ErrorCode::RecordLocked => 206,
            ErrorCode::ApplicationInternalError => 207,
        }
    }

    /// The description table 0357 gives.
    pub fn text(self) -> &'static str {
        match self {
            ErrorCode::Accepted => "Message accepted",
            ErrorCode::SegmentSequence => "Segment sequence error",
            ErrorCode::RequiredFieldMissing => "Required field missing",
            ErrorCode::DataType => "Data type error",
            ErrorCode::TableValueNotFound => "Table value not found",
            ErrorCode::UnsupportedMessageType => "Unsupported message type",
            ErrorCode::UnsupportedEventCode => "Unsupported event code",
            ErrorCode::UnsupportedProcessingId => "Unsupported processing id",
            ErrorCode::UnsupportedVersionId => "Unsupported version id",
            ErrorCode::UnknownKeyIdentifier => "Unknown key identifier",
            ErrorCode::DuplicateKeyIdentifier => "Duplicate key identifier",
            ErrorCode::RecordLocked => "Application record locked",
            ErrorCode::ApplicationInternalError => "Application internal error",
        }
    }
}

/// Where in a message something was found: HL7's ERL data type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Location {
    /// Segment name, e.g. `OBX` (only well-formed names are kept; others read `???`).
    pub segment: String,
    /// Which occurrence of that segment name (1 = first OBX), as ERL-2 counts.
    pub occurrence: usize,
    /// 1-based position of the segment in the message.
    pub index: usize,
    /// Field number (HL7 numbering), when the problem is in one field.
    pub field: Option<usize>,
    /// Component number within the field.
    pub component: Option<usize>,
}

impl Location {
    /// The location of a whole segment; `occurrence` counts segments of its name.
    pub fn segment(seg: &Segment<'_>, occurrence: usize) -> Location {
        let name = seg.name();
        let ok = name.len() == 3 && name.bytes().all(|b| b.is_ascii_alphanumeric());
        Location {
            segment: if ok { name.to_string() } else { "???".into() },
            occurrence,
            index: seg.index(),
            field: None,
            component: None,
        }
    }

    /// This location narrowed to a field.
    pub fn field(&self, field: usize) -> Location {
        Location {
            field: Some(field),
            component: None,
            ..self.clone()
        }
    }

    /// This location narrowed to a component of a field.
    pub fn component(&self, field: usize, component: usize) -> Location {
        Location {
            field: Some(field),
            component: Some(component),
            ..self.clone()
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.segment)?;
        if let Some(n) = self.field {
            write!(f, "-{n}")?;
            if let Some(c) = self.component {
                write!(f, ".{c}")?;
            }
        }
        write!(f, " (segment {})", self.index)
    }
}

/// What kind of problem was found. Never carries the offending value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProblemKind {
    #[error("required segment is missing")]
    MissingSegment,
    #[error("segment is out of sequence")]
    OutOfSequence,
    #[error("required value is missing")]
    MissingValue,
    #[error("{0}")]
    BadTimestamp(TimestampError),
    #[error("observation identifier is not coded in LOINC (coding system is not LN)")]
    NotLoinc,
    #[error("LOINC code is malformed or its check digit does not match")]
    InvalidLoinc,
    #[error("value is not in HL7 table {table}")]
    UnknownCode { table: &'static str },
    #[error("result status says there is no result to file")]
    NoResult,
    #[error("{field} is not valid: {why}")]
    Invalid {
        field: &'static str,
        why: &'static str,
    },
    #[error("message type is not ORU^R01 or OUL^R22")]
    UnsupportedMessageType,
}

impl ProblemKind {
    /// The table 0357 code to report this problem with in an ERR segment.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            ProblemKind::MissingSegment | ProblemKind::OutOfSequence => ErrorCode::SegmentSequence,
            ProblemKind::MissingValue => ErrorCode::RequiredFieldMissing,
            ProblemKind::BadTimestamp(_) | ProblemKind::InvalidLoinc => ErrorCode::DataType,
            ProblemKind::Invalid { .. } => ErrorCode::DataType,
            ProblemKind::NotLoinc | ProblemKind::UnknownCode { .. } | ProblemKind::NoResult => {
                ErrorCode::TableValueNotFound
            }
            ProblemKind::UnsupportedMessageType => ErrorCode::UnsupportedMessageType,
        }
    }

    /// Converts a core validation error without its value (`DomainError::Unknown` carries
    /// the offending text, which may be patient data).
    pub(crate) fn from_domain(e: &DomainError) -> ProblemKind {
        match e {
            DomainError::Missing { .. } => ProblemKind::MissingValue,
            DomainError::TooLong { field, .. } => ProblemKind::Invalid {
                field,
                why: "too long",
            },
            DomainError::Invalid { field, why } => ProblemKind::Invalid { field, why },
            DomainError::Unknown { kind, .. } => ProblemKind::Invalid {
                field: kind,
                why: "unknown value",
            },
        }
    }
}

/// A record kind a problem caused to be left out of the mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Record {
    Patient,
    Specimen,
    Order,
    Result,
}

/// One problem found while reading or mapping a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub location: Location,
    pub kind: ProblemKind,
    /// The record left out because of this problem, if any; `None` means the problem
    /// was noted but the data was still mapped (e.g. a bad optional timestamp).
    pub dropped: Option<Record>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.kind)?;
        if let Some(r) = self.dropped {
            write!(f, "; {r:?} left out")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

/// A value together with the problems found while producing it: old instruments send
/// imperfect messages, and the usable part is worth keeping.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped<T> {
    pub value: T,
    pub problems: Vec<Problem>,
}

impl<T> Mapped<T> {
    /// True when nothing was left out.
    pub fn is_complete(&self) -> bool {
        self.problems.iter().all(|p| p.dropped.is_none())
    }
}
