use thiserror::Error;

/// Failures of the instrument edge. Messages name files, devices and causes, never message
/// content (which is patient data).
#[derive(Debug, Error)]
pub enum MllpError {
    #[error("device CA: {0}")]
    Ca(String),
    #[error("TLS configuration: {0}")]
    Tls(String),
    #[error("{0}")]
    Store(#[from] labguard_store::StoreError),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid enrollment: {0}")]
    Enrollment(String),
    #[error("the ingest writer has stopped")]
    WriterGone,
}

impl From<rcgen::Error> for MllpError {
    fn from(e: rcgen::Error) -> Self {
        MllpError::Ca(e.to_string())
    }
}

impl From<rustls::Error> for MllpError {
    fn from(e: rustls::Error) -> Self {
        MllpError::Tls(e.to_string())
    }
}
