//! What a use case can fail with, beyond the store's own errors. Messages are for the person
//! at the screen and never carry patient data; the edges map each variant to their answer
//! (an HTTP status, an exit message).

use labguard_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Input the caller must fix (the server answers 422 `invalid-fields`).
    #[error("{0}")]
    Invalid(&'static str),
    /// The operating system's randomness or the password hasher failed.
    #[error("internal error: {0}")]
    Internal(&'static str),
}

/// `N` random bytes from the operating system.
pub fn random<const N: usize>() -> Result<[u8; N], AppError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|_| AppError::Internal("no randomness available"))?;
    Ok(b)
}
