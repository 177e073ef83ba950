//! Passwords: the acceptance policy (NIST SP 800-63B rev 4, section 3.1.1) and Argon2id
//! storage.
//!
//! Both halves work on the NFKC form of the password, so "ﬁ" (one ligature code point) and
//! "fi" are the same password wherever a user types it, and the length that the policy counts
//! is the length of what gets hashed.

mod hash;
mod policy;

pub use hash::{dummy_verify, hash_password, needs_rehash, verify_password, HashError, HashParams};
pub use policy::{
    check_password, ContextKind, PasswordProblem, PolicyContext, MAX_LENGTH,
    MIN_LENGTH_SINGLE_FACTOR, MIN_LENGTH_WITH_MFA,
};

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

/// Inputs longer than this many bytes are refused before any work is done on them, so a
/// megabyte "password" costs nothing to reject. 128 code points of the widest UTF-8 (4 bytes)
/// are 512 bytes; the slack allows for text that NFKC later shortens.
pub const MAX_INPUT_BYTES: usize = 4096;

/// The NFKC form of a password, wiped when dropped.
pub fn normalize(password: &str) -> Zeroizing<String> {
    Zeroizing::new(password.nfkc().collect())
}
