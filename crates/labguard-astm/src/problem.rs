//! Problems found while mapping a transmission, located by record type, position and
//! field so they can be logged without ever quoting patient data.

use std::fmt;

use labguard_core::DomainError;
use labguard_hl7::TimestampError;
use thiserror::Error;

use crate::record::Record;

/// Where in a transmission something was found.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Location {
    /// The record type letter (`R`), `?` when it is not a letter.
    pub record: char,
    /// Which record of that type (1 = the first R record).
    pub occurrence: usize,
    /// 1-based position of the record in the transmission.
    pub index: usize,
    /// Field number (LIS2-A2 numbering, the record type is field 1).
    pub field: Option<usize>,
    /// Component number within the field.
    pub component: Option<usize>,
}

impl Location {
    pub fn record(r: &Record<'_>, occurrence: usize) -> Location {
        Location {
            record: r.kind.letter(),
            occurrence,
            index: r.index,
            field: None,
            component: None,
        }
    }

    pub fn field(&self, field: usize) -> Location {
        Location {
            field: Some(field),
            component: None,
            ..self.clone()
        }
    }

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
        write!(f, "{}", self.record)?;
        if let Some(n) = self.field {
            write!(f, "-{n}")?;
            if let Some(c) = self.component {
                write!(f, ".{c}")?;
            }
        }
        write!(f, " (record {})", self.index)
    }
}

/// What kind of problem was found. Never carries the offending value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProblemKind {
    #[error("the record it belongs to is missing or was left out")]
    MissingRecord,
    #[error("record is out of sequence")]
    OutOfSequence,
    #[error("required value is missing")]
    MissingValue,
    #[error("{0}")]
    BadTimestamp(TimestampError),
    #[error("test code is not LOINC and not in the test map")]
    UnmappedTest,
    #[error("value is not a known {table} code")]
    UnknownCode { table: &'static str },
    #[error("result status says there is no result to file")]
    NoResult,
    #[error("{field} is not valid: {why}")]
    Invalid {
        field: &'static str,
        why: &'static str,
    },
    #[error("the id resolver does not know this {what}")]
    Unresolved { what: &'static str },
    #[error("record type is not interpreted")]
    Ignored,
}

impl ProblemKind {
    /// Converts a core validation error without its value.
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

/// A record kind a problem caused to be left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dropped {
    Patient,
    Specimen,
    Order,
    Result,
    Qc,
}

/// One problem found while mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub location: Location,
    pub kind: ProblemKind,
    /// The record left out because of this problem; `None` means only noted.
    pub dropped: Option<Dropped>,
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

/// A value together with the problems found while producing it.
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
