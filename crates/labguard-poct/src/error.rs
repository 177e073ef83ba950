use thiserror::Error;

/// Why a POCT1-A message was refused. Messages name the limit, element or field, never
/// an attribute value: observations carry patient identifiers and results.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum PoctError {
    #[error("message is {size} bytes, over the {max}-byte limit")]
    TooLarge { size: usize, max: usize },
    #[error("elements nested deeper than {max}")]
    TooDeep { max: usize },
    #[error("more than {max} elements")]
    TooManyElements { max: usize },
    #[error("element has more than {max} attributes")]
    TooManyAttributes { max: usize },
    #[error("a name, value or text is longer than {max} bytes")]
    TooLong { max: usize },
    #[error("DOCTYPE/DTD is not allowed")]
    Dtd,
    #[error("message is not UTF-8")]
    NotUtf8,
    #[error("malformed XML at byte {at}: {what}")]
    Malformed { at: u64, what: &'static str },
    #[error("no root element")]
    Empty,
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("{element} is missing")]
    Missing { element: &'static str },
    #[error("{element} is not valid: {why}")]
    Invalid {
        element: &'static str,
        why: &'static str,
    },
}
