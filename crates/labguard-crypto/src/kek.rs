use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use zeroize::Zeroizing;

use crate::{random_bytes, CryptoError};

/// Environment variable that may hold the KEK instead of the key file.
pub const KEK_ENV: &str = "LABGUARD_KEK";
/// Text form of a KEK: this prefix, then 32 bytes in standard base64.
pub const KEK_PREFIX: &str = "labguard-kek-v1:";

/// What a wrapped key is for; part of the wrapping's associated data so a key of one
/// purpose can never be unwrapped as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyPurpose {
    /// Encrypts fields (versioned, rotated).
    Data,
    /// Keys the blind indexes; stable, because rotating it would mean re-indexing.
    BlindIndex,
    /// Keys the pseudonyms audit entries use for patients; stable so entries stay linkable.
    Pseudonym,
    /// Ed25519 seed that signs audit checkpoints.
    Signing,
}

impl KeyPurpose {
    pub fn code(self) -> &'static str {
        match self {
            KeyPurpose::Data => "data",
            KeyPurpose::BlindIndex => "blind-index",
            KeyPurpose::Pseudonym => "pseudonym",
            KeyPurpose::Signing => "signing",
        }
    }

    pub fn from_code(s: &str) -> Option<KeyPurpose> {
        [
            KeyPurpose::Data,
            KeyPurpose::BlindIndex,
            KeyPurpose::Pseudonym,
            KeyPurpose::Signing,
        ]
        .into_iter()
        .find(|p| p.code() == s)
    }
}

/// The key-encryption key. Only wraps and unwraps other keys; never touches field data.
pub struct Kek {
    key: LessSafeKey,
    fingerprint: String,
}

impl Kek {
    pub fn from_bytes(bytes: &[u8; 32]) -> Kek {
        // AES-256 accepts any 32 bytes, so this cannot fail; map defensively anyway.
        let key = match UnboundKey::new(&AES_256_GCM, bytes) {
            Ok(k) => LessSafeKey::new(k),
            Err(_) => unreachable_key(),
        };
        let fp = crate::sha256(&[b"labguard-kek-fingerprint\0".as_slice(), bytes].concat());
        Kek {
            key,
            fingerprint: hex::encode(&fp[..8]),
        }
    }

    /// Parses the text form (`labguard-kek-v1:<base64>`), tolerating surrounding whitespace.
    pub fn parse(text: &str) -> Result<Kek, CryptoError> {
        let t = text.trim();
        let b64 = t
            .strip_prefix(KEK_PREFIX)
            .ok_or(CryptoError::MalformedKek("missing labguard-kek-v1: prefix"))?;
        let raw = Zeroizing::new(
            B64.decode(b64)
                .map_err(|_| CryptoError::MalformedKek("not valid base64"))?,
        );
        let arr: Zeroizing<[u8; 32]> = Zeroizing::new(
            raw.as_slice()
                .try_into()
                .map_err(|_| CryptoError::MalformedKek("must be 32 bytes"))?,
        );
        Ok(Kek::from_bytes(&arr))
    }

    /// A new random KEK and its text form (to be written to a 0600 file).
    pub fn generate() -> Result<(Kek, Zeroizing<String>), CryptoError> {
        let k = crate::random_key()?;
        let text = Zeroizing::new(format!("{KEK_PREFIX}{}\n", B64.encode(k.as_slice())));
        Ok((Kek::from_bytes(&k), text))
    }

    /// Short non-secret identifier, so an operator can tell which KEK a database expects.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn wrap(
        &self,
        purpose: KeyPurpose,
        version: u32,
        key: &[u8; 32],
    ) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce)?;
        let mut buf = key.to_vec();
        let aad = wrap_aad(purpose, version);
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad.as_bytes()),
                &mut buf,
            )
            .map_err(|_| CryptoError::Malformed("wrap failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    pub fn unwrap(
        &self,
        purpose: KeyPurpose,
        version: u32,
        blob: &[u8],
    ) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        let fail = CryptoError::UnwrapFailed {
            purpose: purpose.code(),
            version,
        };
        if blob.len() != NONCE_LEN + 32 + 16 {
            return Err(fail);
        }
        let (n, ct) = blob.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(n).map_err(|_| fail.clone())?;
        let mut buf = Zeroizing::new(ct.to_vec());
        let aad = wrap_aad(purpose, version);
        let pt = self
            .key
            .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut buf)
            .map_err(|_| fail.clone())?;
        let arr: [u8; 32] = pt.try_into().map_err(|_| fail)?;
        Ok(Zeroizing::new(arr))
    }
}

fn wrap_aad(purpose: KeyPurpose, version: u32) -> String {
    format!("labguard/wrap/v1/{}/{version}", purpose.code())
}

#[cold]
fn unreachable_key() -> LessSafeKey {
    // AES_256_GCM::new only fails on a wrong key length, which the [u8; 32] type rules out.
    unreachable!("AES-256 key of 32 bytes rejected")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_round_trip_and_binding() {
        let (kek, text) = Kek::generate().unwrap();
        let again = Kek::parse(&text).unwrap();
        assert_eq!(kek.fingerprint(), again.fingerprint());
        let dek = [7u8; 32];
        let w = kek.wrap(KeyPurpose::Data, 3, &dek).unwrap();
        assert_eq!(*again.unwrap(KeyPurpose::Data, 3, &w).unwrap(), dek);
        // Bound to purpose and version.
        assert!(again.unwrap(KeyPurpose::Data, 4, &w).is_err());
        assert!(again.unwrap(KeyPurpose::BlindIndex, 3, &w).is_err());
        // Another KEK cannot open it.
        let (other, _) = Kek::generate().unwrap();
        assert!(matches!(
            other.unwrap(KeyPurpose::Data, 3, &w),
            Err(CryptoError::UnwrapFailed { .. })
        ));
    }

    #[test]
    fn parse_rejects_garbage() {
        assert!(Kek::parse("").is_err());
        assert!(Kek::parse("labguard-kek-v1:abc").is_err());
        assert!(Kek::parse("labguard-kek-v1:AAAA").is_err());
        assert!(Kek::parse(&format!("{KEK_PREFIX}{}", "A".repeat(43) + "=")).is_ok());
    }
}
