use thiserror::Error;

/// Storage failures. Messages never carry patient data: they name tables, row ids,
/// key versions and causes only.
#[derive(Debug, Error)]
pub enum StoreError {
    /// A privacy case review step the case's state refuses (PHI-free messages).
    #[error("privacy case: {0}")]
    Case(#[from] labguard_privacy::CaseError),
    /// A privacy tuning with a bad value or no reason.
    #[error("privacy tuning: {0}")]
    Tuning(#[from] labguard_privacy::TuningError),
    #[error("the database is busy (locked by another writer); try again")]
    Busy,
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("a record with the same unique key already exists")]
    Conflict,
    #[error("a referenced record (patient, specimen or order) does not exist")]
    MissingReference,
    #[error("stored data failed an integrity check: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Crypto(#[from] labguard_crypto::CryptoError),
    #[error("invalid input: {0}")]
    Invalid(#[from] labguard_core::DomainError),
    #[error("access denied: {0}")]
    Denied(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("key management: {0}")]
    Keys(String),
    #[error("audit log: {0}")]
    Audit(String),
    #[error("database error: {0}")]
    Backend(String),
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Compliance(#[from] labguard_compliance::ComplianceError),
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}
