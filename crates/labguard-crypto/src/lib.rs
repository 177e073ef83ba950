//! Key management and field encryption for labguard.
//!
//! Envelope encryption: a key-encryption key (KEK) from a 0600 key file or the environment
//! wraps versioned data keys (DEKs); DEKs encrypt each patient-data field with AES-256-GCM.
//! The associated data names table, row, column and key version, so a ciphertext copied to
//! another row or column fails to open. Exact-match lookups use blind indexes (HMAC-SHA-256
//! under their own key), and audit entries name patients by a keyed pseudonym.
//!
//! Primitives come from `ring` (BoringSSL's assembly, so throughput is close to OpenSSL's).
//! This crate does no file or network I/O: key material is passed in and handed back.

mod error;
mod kek;
mod keyring;
mod rng;

pub use error::CryptoError;
pub use kek::{Kek, KeyPurpose, KEK_ENV, KEK_PREFIX};
pub use keyring::{ciphertext_version, FieldRef, KeyRing, SEAL_LIMIT, SEAL_WARN};
pub use rng::{random_bytes, random_key};

/// SHA-256 of `data`, the one digest the store uses for content hashes.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Constant-time equality for secrets and MACs.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
