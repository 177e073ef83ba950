use thiserror::Error;

/// Crypto failures. None carries key bytes or plaintext.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the key-encryption key is malformed: {0}")]
    MalformedKek(&'static str),
    #[error("a wrapped {purpose} key (version {version}) does not open with this key-encryption key: wrong key file or tampered key table")]
    UnwrapFailed { purpose: &'static str, version: u32 },
    #[error("ciphertext is malformed ({0})")]
    Malformed(&'static str),
    #[error("no data key with version {0} in the key ring (was a rotation finished while this node ran?)")]
    UnknownKeyVersion(u32),
    #[error(
        "ciphertext failed authentication: it was altered or belongs to another row or column"
    )]
    Authentication,
    #[error("data key v{version} has sealed {used} values, the limit for random 96-bit nonces under one key (NIST SP 800-38D); run `labguard keys rotate` to start a new data-key version")]
    KeyExhausted { version: u32, used: u64 },
    #[error("the operating system's random number generator failed")]
    Rng,
}
