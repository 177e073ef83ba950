//! Argon2id password hashes in PHC string format.
//!
//! A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) records its own parameters,
//! so hashes made under older settings still verify, and [`needs_rehash`] tells the server to
//! re-hash at the next successful sign-in, when it has the plaintext.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use super::{normalize, MAX_INPUT_BYTES};

/// Salts shorter than this are refused (the PHC/RFC 9106 recommendation is 16 bytes).
pub const MIN_SALT_LEN: usize = 16;
/// The longest salt a PHC string can carry (64 base64 characters).
pub const MAX_SALT_LEN: usize = 48;
/// Length of the derived hash in bytes.
pub const OUTPUT_LEN: usize = 32;

/// Verification refuses stored hashes whose cost exceeds these, so a tampered or corrupt
/// row cannot make one sign-in allocate gigabytes or spin for minutes.
const MAX_VERIFY_MEMORY_KIB: u32 = 1024 * 1024;
const MAX_VERIFY_ITERATIONS: u32 = 64;
const MAX_VERIFY_PARALLELISM: u32 = 16;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashParams {
    /// Memory in KiB (Argon2 `m`).
    pub memory_kib: u32,
    /// Passes over memory (Argon2 `t`).
    pub iterations: u32,
    /// Lanes (Argon2 `p`).
    pub parallelism: u32,
}

impl HashParams {
    /// OWASP Password Storage Cheat Sheet's first Argon2id option: 19 MiB, 2 passes, 1 lane.
    pub const OWASP: HashParams = HashParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// The cheapest valid setting, for tests only: never use it for real accounts.
    pub const TESTING: HashParams = HashParams {
        memory_kib: 8,
        iterations: 1,
        parallelism: 1,
    };

    fn to_argon2(self) -> Result<Params, HashError> {
        Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(OUTPUT_LEN),
        )
        .map_err(HashError::Params)
    }
}

impl Default for HashParams {
    fn default() -> Self {
        HashParams::OWASP
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    #[error("salt must be {min} to {max} bytes (got {actual})")]
    SaltLength {
        min: usize,
        max: usize,
        actual: usize,
    },
    #[error("password input is longer than {max} bytes")]
    InputTooLong { max: usize },
    #[error("invalid Argon2 parameters: {0}")]
    Params(argon2::Error),
    #[error("Argon2 hashing failed: {0}")]
    Hashing(argon2::password_hash::Error),
}

fn hasher(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes the NFKC form of `password` with Argon2id under `salt` (random bytes from the
/// caller, 16 to 48 of them, fresh for every hash) and returns the PHC string to store.
pub fn hash_password(
    password: &str,
    salt: &[u8],
    params: &HashParams,
) -> Result<String, HashError> {
    if password.len() > MAX_INPUT_BYTES {
        return Err(HashError::InputTooLong {
            max: MAX_INPUT_BYTES,
        });
    }
    if !(MIN_SALT_LEN..=MAX_SALT_LEN).contains(&salt.len()) {
        return Err(HashError::SaltLength {
            min: MIN_SALT_LEN,
            max: MAX_SALT_LEN,
            actual: salt.len(),
        });
    }
    let salt = SaltString::encode_b64(salt).map_err(HashError::Hashing)?;
    let normalized = normalize(password);
    let hash = hasher(params.to_argon2()?)
        .hash_password(normalized.as_bytes(), &salt)
        .map_err(HashError::Hashing)?;
    Ok(hash.to_string())
}

/// True when `password` matches the stored PHC string. The hash comparison is constant time
/// (argon2's `Output` compares with `subtle`). Anything malformed, not Argon2id, or with
/// absurd costs is simply a mismatch: the caller treats it like a wrong password and should
/// log the corrupt row separately.
pub fn verify_password(password: &str, phc: &str) -> bool {
    if password.len() > MAX_INPUT_BYTES {
        return false;
    }
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    if hash.algorithm != Algorithm::Argon2id.ident() {
        return false;
    }
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    if params.m_cost() > MAX_VERIFY_MEMORY_KIB
        || params.t_cost() > MAX_VERIFY_ITERATIONS
        || params.p_cost() > MAX_VERIFY_PARALLELISM
    {
        return false;
    }
    let normalized = normalize(password);
    hasher(params)
        .verify_password(normalized.as_bytes(), &hash)
        .is_ok()
}

/// Spends about as long as [`verify_password`] against a hash made with `params`, for sign-in
/// attempts on usernames that do not exist, so response time does not reveal which do.
pub fn dummy_verify(password: &str, params: &HashParams) {
    let salt = [0x5a_u8; MIN_SALT_LEN];
    // The result is meaningless by design; only the time spent matters.
    let _ = hash_password(password, &salt, params);
}

/// True when the stored hash was not made with exactly the current algorithm, version,
/// parameters and output length, or cannot be read at all. Changes in either direction
/// count, so lowering costs (e.g. for smaller hardware) also migrates.
pub fn needs_rehash(phc: &str, current: &HashParams) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return true;
    };
    if hash.algorithm != Algorithm::Argon2id.ident() || hash.version != Some(Version::V0x13.into())
    {
        return true;
    }
    let salt_too_short = hash
        .salt
        .map(|s| {
            let mut buf = [0u8; 64];
            s.decode_b64(&mut buf)
                .map(|b| b.len() < MIN_SALT_LEN)
                .unwrap_or(true)
        })
        .unwrap_or(true);
    let Ok(params) = Params::try_from(&hash) else {
        return true;
    };
    salt_too_short
        || params.m_cost() != current.memory_kib
        || params.t_cost() != current.iterations
        || params.p_cost() != current.parallelism
        || params.output_len() != Some(OUTPUT_LEN)
}
