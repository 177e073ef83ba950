use thiserror::Error;

/// Why a domain value was refused. Messages name the field, never its content: values may
/// be patient data and errors end up in logs.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    #[error("{field} is required")]
    Missing { field: &'static str },
    #[error("{field} is too long (at most {max} characters)")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} is not valid: {why}")]
    Invalid {
        field: &'static str,
        why: &'static str,
    },
    #[error("unknown {kind} {value:?}")]
    Unknown { kind: &'static str, value: String },
}

pub(crate) fn required(field: &'static str, v: &str, max: usize) -> Result<(), DomainError> {
    if v.trim().is_empty() {
        return Err(DomainError::Missing { field });
    }
    if v.chars().count() > max {
        return Err(DomainError::TooLong { field, max });
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(DomainError::Invalid {
            field,
            why: "contains control characters",
        });
    }
    Ok(())
}

pub(crate) fn optional(
    field: &'static str,
    v: &Option<String>,
    max: usize,
) -> Result<(), DomainError> {
    match v {
        Some(s) if !s.is_empty() => required(field, s, max),
        _ => Ok(()),
    }
}
