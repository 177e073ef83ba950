//! C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519 keys: key IDs,
//! verifier keys, signing and opening. The checkpoint body lives in `checkpoint.rs`.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::checkpoint::CheckpointError;
use crate::hash::sha256;

// Seeds are only borrowed; the one copy, inside `SigningKey`, must be wiped when it
// drops. This fails to compile if ed25519-dalek ever loses its `zeroize` feature.
const _: fn() = || {
    fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>() {}
    wiped_on_drop::<SigningKey>();
};

/// Signature type byte for Ed25519 in the signed-note spec.
const ED25519_TYPE: u8 = 0x01;
/// The em dash (U+2014) and space that start every signature line.
const SIG_PREFIX: &str = "\u{2014} ";
/// Upper bound on a note we are willing to parse; checkpoints are a few hundred bytes.
pub(crate) const MAX_NOTE_LEN: usize = 1 << 20;
/// The spec asks verifiers to accept at least 16 signatures; 100 matches Go's `note`.
pub(crate) const MAX_SIGNATURES: usize = 100;

/// Key ID of an Ed25519 note key:
/// `SHA-256(key name ‖ "\n" ‖ 0x01 ‖ 32-byte public key)[..4]`.
pub fn key_id(key_name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let h = sha256(&[key_name.as_bytes(), b"\n", &[ED25519_TYPE], public_key]);
    [h[0], h[1], h[2], h[3]]
}

/// Key names must be non-empty, with no Unicode space, no `+` (it separates vkey
/// fields) and no control character (notes may not contain them).
pub(crate) fn check_key_name(name: &str) -> Result<(), CheckpointError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(CheckpointError::InvalidKeyName);
    }
    Ok(())
}

/// The public half of a log's signing key, as verifiers configure it.
///
/// Text form (`Display` / [`FromStr`]) is the signed-note verifier key:
/// `<name>+<8 hex digits key ID>+<base64(0x01 ‖ 32-byte public key)>`.
///
/// ```
/// use labguard_audit::VerifierKey;
/// let vk = VerifierKey::from_seed("lab.example/audit", &[7u8; 32]).unwrap();
/// let text = vk.to_string();
/// assert!(text.starts_with("lab.example/audit+"));
/// assert_eq!(text.parse::<VerifierKey>().unwrap(), vk);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: [u8; 4],
    public_key: [u8; 32],
}

impl VerifierKey {
    /// The verifier key matching an Ed25519 seed (the 32-byte secret key). The seed
    /// is only read; the expanded key is wiped when dropped.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, CheckpointError> {
        let sk = SigningKey::from_bytes(seed);
        Self::from_public_key(name, sk.verifying_key().as_bytes())
    }

    /// A verifier key from a name and a 32-byte Ed25519 public key.
    pub fn from_public_key(name: &str, public_key: &[u8; 32]) -> Result<Self, CheckpointError> {
        check_key_name(name)?;
        VerifyingKey::from_bytes(public_key)
            .map_err(|_| CheckpointError::MalformedVerifierKey("not an Ed25519 public key"))?;
        Ok(Self {
            name: name.to_owned(),
            id: key_id(name, public_key),
            public_key: *public_key,
        })
    }

    /// Parses `<name>+<hex key ID>+<base64(0x01 ‖ public key)>`, checking that the
    /// key ID matches the name and key.
    pub fn parse(vkey: &str) -> Result<Self, CheckpointError> {
        // Base64 may itself contain '+', so only the first two are separators.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CheckpointError::MalformedVerifierKey(
                "expected <name>+<key id>+<key>",
            ));
        };
        check_key_name(name)?;
        let id: [u8; 4] = hex::decode(id_hex)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(CheckpointError::MalformedVerifierKey(
                "key ID is not 8 hex digits",
            ))?;
        let key = STANDARD
            .decode(key_b64)
            .map_err(|_| CheckpointError::MalformedVerifierKey("key is not base64"))?;
        let (&ty, pk) = key
            .split_first()
            .ok_or(CheckpointError::MalformedVerifierKey("empty key"))?;
        if ty != ED25519_TYPE {
            return Err(CheckpointError::MalformedVerifierKey("not an Ed25519 key"));
        }
        let pk: [u8; 32] = pk
            .try_into()
            .map_err(|_| CheckpointError::MalformedVerifierKey("public key is not 32 bytes"))?;
        let vk = Self::from_public_key(name, &pk)?;
        if vk.id != id {
            return Err(CheckpointError::KeyIdMismatch);
        }
        Ok(vk)
    }

    /// Key name (conventionally the log origin, e.g. `lab.example/audit`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// 4-byte key ID, see [`key_id`].
    pub fn key_id(&self) -> [u8; 4] {
        self.id
    }

    /// 32-byte Ed25519 public key.
    pub fn public_key(&self) -> &[u8; 32] {
        &self.public_key
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut key = [0u8; 33];
        key[0] = ED25519_TYPE;
        key[1..].copy_from_slice(&self.public_key);
        write!(
            f,
            "{}+{}+{}",
            self.name,
            hex::encode(self.id),
            STANDARD.encode(key)
        )
    }
}

impl FromStr for VerifierKey {
    type Err = CheckpointError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Signs `text` (which must end in a newline) and returns the complete note:
/// text, blank line, one signature line.
pub(crate) fn sign_note(
    text: &str,
    key_name: &str,
    seed: &[u8; 32],
) -> Result<String, CheckpointError> {
    check_key_name(key_name)?;
    // SigningKey is ZeroizeOnDrop, so the expanded secret does not outlive this call.
    let sk = SigningKey::from_bytes(seed);
    let id = key_id(key_name, sk.verifying_key().as_bytes());
    let sig = sk.sign(text.as_bytes()).to_bytes();
    let mut blob = [0u8; 4 + 64];
    blob[..4].copy_from_slice(&id);
    blob[4..].copy_from_slice(&sig);
    Ok(format!(
        "{text}\n{SIG_PREFIX}{key_name} {}\n",
        STANDARD.encode(blob)
    ))
}

/// Checks the note's syntax and its signature by `vkey`, returning the signed text
/// (including its final newline).
///
/// Signatures from other keys (other name or other key ID) are ignored, as the spec
/// requires; a signature that claims to be from `vkey` but fails rejects the note.
pub(crate) fn open_note<'a>(note: &'a str, vkey: &VerifierKey) -> Result<&'a str, CheckpointError> {
    if note.len() > MAX_NOTE_LEN {
        return Err(CheckpointError::MalformedNote("note too large"));
    }
    if note.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err(CheckpointError::MalformedNote("control character"));
    }
    // The text ends at the last blank line; the text itself may contain blank lines.
    let split = note.rfind("\n\n").ok_or(CheckpointError::MalformedNote(
        "no blank line before signatures",
    ))?;
    let (text, sigs) = (&note[..=split], &note[split + 2..]);
    let sigs = sigs
        .strip_suffix('\n')
        .ok_or(CheckpointError::MalformedNote(
            "signatures must end with a newline",
        ))?;
    if sigs.is_empty() {
        return Err(CheckpointError::MalformedNote("no signature lines"));
    }
    let verifying_key = VerifyingKey::from_bytes(&vkey.public_key)
        .map_err(|_| CheckpointError::MalformedVerifierKey("not an Ed25519 public key"))?;
    let mut verified = false;
    for (n, line) in sigs.split('\n').enumerate() {
        if n >= MAX_SIGNATURES {
            return Err(CheckpointError::MalformedNote("too many signatures"));
        }
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or(CheckpointError::MalformedNote(
                "signature line must start with an em dash and a space",
            ))?;
        let (name, sig_b64) = rest.split_once(' ').ok_or(CheckpointError::MalformedNote(
            "signature line has no key name",
        ))?;
        check_key_name(name)
            .map_err(|_| CheckpointError::MalformedNote("invalid key name in signature line"))?;
        let blob = STANDARD
            .decode(sig_b64)
            .map_err(|_| CheckpointError::MalformedNote("signature is not base64"))?;
        let (id, sig) = match blob.split_first_chunk::<4>() {
            Some((id, sig)) if !sig.is_empty() => (id, sig),
            _ => return Err(CheckpointError::MalformedNote("signature too short")),
        };
        if name != vkey.name || *id != vkey.id {
            continue;
        }
        let sig: [u8; 64] = sig.try_into().map_err(|_| CheckpointError::BadSignature)?;
        verifying_key
            .verify_strict(text.as_bytes(), &Signature::from_bytes(&sig))
            .map_err(|_| CheckpointError::BadSignature)?;
        verified = true;
    }
    if verified {
        Ok(text)
    } else {
        Err(CheckpointError::NoSignatureFromKey {
            key_name: vkey.name.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: [u8; 32] = [42u8; 32];

    #[test]
    fn vkey_round_trip_and_rejections() {
        let vk = VerifierKey::from_seed("example.com/log", &SEED).unwrap();
        let text = vk.to_string();
        assert_eq!(VerifierKey::parse(&text), Ok(vk.clone()));
        assert_eq!(text.split('+').nth(1).map(str::len), Some(8));

        assert_eq!(
            VerifierKey::parse("a+b"),
            Err(CheckpointError::MalformedVerifierKey(
                "expected <name>+<key id>+<key>"
            ))
        );
        // Same key, other name: the ID no longer matches.
        let renamed = text.replacen("example.com/log", "example.com/other", 1);
        assert_eq!(
            VerifierKey::parse(&renamed),
            Err(CheckpointError::KeyIdMismatch)
        );
        let key_part = text.splitn(3, '+').nth(2).unwrap();
        let bad_id = format!("example.com/log+00000000+{key_part}");
        assert_eq!(
            VerifierKey::parse(&bad_id),
            Err(CheckpointError::KeyIdMismatch)
        );
        assert_eq!(
            VerifierKey::from_seed("has space", &SEED),
            Err(CheckpointError::InvalidKeyName)
        );
        assert_eq!(
            VerifierKey::from_seed("", &SEED),
            Err(CheckpointError::InvalidKeyName)
        );
    }

    /// Interop vector from the Go `golang.org/x/mod/sumdb/note` documentation: the
    /// same seed must give the same vkey and byte-identical signed note.
    #[test]
    fn go_note_package_vector() {
        let skey = STANDARD
            .decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
            .unwrap();
        let seed: [u8; 32] = skey[1..].try_into().unwrap();
        let vk = VerifierKey::from_seed("PeterNeumann", &seed).unwrap();
        assert_eq!(
            vk.to_string(),
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        );
        let text = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
        let want = format!(
            "{text}\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
        );
        assert_eq!(sign_note(text, "PeterNeumann", &seed).unwrap(), want);
        assert_eq!(open_note(&want, &vk), Ok(text));
    }

    #[test]
    fn vkey_base64_may_contain_plus() {
        let mut saw_plus = false;
        for b in 0..64u8 {
            let vk = VerifierKey::from_seed("k", &[b; 32]).unwrap();
            let text = vk.to_string();
            saw_plus |= text.matches('+').count() > 2;
            assert_eq!(text.parse::<VerifierKey>(), Ok(vk));
        }
        assert!(saw_plus);
    }

    #[test]
    fn sign_and_open_generic_note() {
        let vk = VerifierKey::from_seed("example.com/log", &SEED).unwrap();
        let note = sign_note("hello\n\nworld\n", "example.com/log", &SEED).unwrap();
        assert_eq!(open_note(&note, &vk), Ok("hello\n\nworld\n"));
        let tampered = note.replacen("world", "World", 1);
        assert_eq!(
            open_note(&tampered, &vk),
            Err(CheckpointError::BadSignature)
        );
        let other = VerifierKey::from_seed("example.com/log", &[1u8; 32]).unwrap();
        assert!(matches!(
            open_note(&note, &other),
            Err(CheckpointError::NoSignatureFromKey { .. })
        ));
    }
}
