//! Signed tree heads in the C2SP tlog-checkpoint format (<https://c2sp.org/tlog-checkpoint>):
//!
//! ```text
//! lab.example/audit
//! 1048576
//! <base64 root hash>
//!
//! — lab.example/audit <base64(key ID ‖ Ed25519 signature)>
//! ```

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::hash::{hash_from_slice, Hash};
use crate::note::{open_note, sign_note, VerifierKey};

/// Why a checkpoint or verifier key was rejected.
///
/// Reasons are fixed strings: no part of the untrusted input is echoed back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// A key name is empty or contains a space, `+` or a control character.
    #[error("invalid key name")]
    InvalidKeyName,
    /// The verifier key text is not `<name>+<hex id>+<base64 key>` for an Ed25519 key.
    #[error("malformed verifier key: {0}")]
    MalformedVerifierKey(&'static str),
    /// The verifier key's ID does not match its name and public key.
    #[error("verifier key ID does not match its name and public key")]
    KeyIdMismatch,
    /// The origin to sign is empty or contains a newline or control character.
    #[error("invalid checkpoint origin")]
    InvalidOrigin,
    /// An extension line to sign is empty or contains a newline or control character.
    #[error("invalid checkpoint extension line")]
    InvalidExtension,
    /// The note is not a well-formed signed note.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// A signature line names the verifier's key but the signature does not verify.
    #[error("checkpoint signature does not verify")]
    BadSignature,
    /// No signature line is from the verifier's key (name and key ID).
    #[error("checkpoint is not signed by key {key_name}")]
    NoSignatureFromKey {
        /// Name of the key that was expected.
        key_name: String,
    },
    /// The signed text is not a tlog checkpoint body.
    #[error("malformed checkpoint body: {0}")]
    MalformedCheckpoint(&'static str),
}

/// A tree head: the log's identity, its size and its RFC 9162 root at that size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Log identity, e.g. `lab.example/audit`; conventionally equal to the key name.
    pub origin: String,
    /// Number of entries in the tree.
    pub size: u64,
    /// Root hash of the tree of `size` entries.
    pub root: Hash,
    /// Optional extension lines after the root (opaque, signed; normally empty).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text that gets signed: origin, size, base64 root, extension lines,
    /// each followed by a newline.
    pub fn to_note_text(&self) -> Result<String, CheckpointError> {
        if !valid_line(&self.origin) {
            return Err(CheckpointError::InvalidOrigin);
        }
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        );
        for ext in &self.extensions {
            if !valid_line(ext) {
                return Err(CheckpointError::InvalidExtension);
            }
            text.push_str(ext);
            text.push('\n');
        }
        Ok(text)
    }

    /// Parses checkpoint note text. The text is untrusted until its signature is
    /// checked, which is why this is private: use [`open_checkpoint`].
    fn parse_note_text(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MalformedCheckpoint(
                "text must end with a newline",
            ))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::MalformedCheckpoint(
                "fewer than three lines",
            ));
        };
        if origin.is_empty() {
            return Err(CheckpointError::MalformedCheckpoint("empty origin"));
        }
        let size = parse_size(size)?;
        let root = STANDARD
            .decode(root)
            .ok()
            .and_then(|b| hash_from_slice(&b))
            .ok_or(CheckpointError::MalformedCheckpoint(
                "root is not a base64 32-byte hash",
            ))?;
        let mut extensions = Vec::new();
        for ext in lines {
            if ext.is_empty() {
                return Err(CheckpointError::MalformedCheckpoint("empty extension line"));
            }
            extensions.push(ext.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

/// A non-empty line with no control characters (which includes no newline).
fn valid_line(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(char::is_control)
}

/// Decimal without sign or leading zeros ("0" alone is allowed), fitting in u64.
fn parse_size(s: &str) -> Result<u64, CheckpointError> {
    let digits_only = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (s.len() > 1 && s.starts_with('0')) {
        return Err(CheckpointError::MalformedCheckpoint(
            "tree size is not a canonical decimal",
        ));
    }
    s.parse()
        .map_err(|_| CheckpointError::MalformedCheckpoint("tree size out of range"))
}

/// Signs a checkpoint with an Ed25519 seed (32-byte secret key) and returns the
/// signed note text, ready to store or publish.
///
/// `key_name` conventionally equals `cp.origin`. The seed is borrowed, not copied;
/// the expanded signing key is wiped on return. Errors only on an invalid key name,
/// origin or extension line.
///
/// ```
/// use labguard_audit::{open_checkpoint, sign_checkpoint, Checkpoint, VerifierKey, EMPTY_ROOT};
/// let seed = [9u8; 32];
/// let cp = Checkpoint::new("lab.example/audit", 0, EMPTY_ROOT);
/// let note = sign_checkpoint(&cp, "lab.example/audit", &seed).unwrap();
/// let vkey = VerifierKey::from_seed("lab.example/audit", &seed).unwrap();
/// assert_eq!(open_checkpoint(&note, &vkey).unwrap(), cp);
/// ```
pub fn sign_checkpoint(
    cp: &Checkpoint,
    key_name: &str,
    signing_key_bytes: &[u8; 32],
) -> Result<String, CheckpointError> {
    sign_note(&cp.to_note_text()?, key_name, signing_key_bytes)
}

/// Verifies a signed checkpoint note against `vkey` and parses its body.
///
/// Rejects: notes over 1 MiB or with more than 100 signature lines, control
/// characters, missing blank line or malformed signature lines; a failing signature
/// from `vkey`; no signature from `vkey` (other keys' signatures are ignored, so a
/// witness cosignature does no harm); and a body that is not origin / canonical
/// decimal size / base64 32-byte root / non-empty extension lines.
///
/// The origin is not compared with anything here: callers that know the expected
/// origin must check `origin` themselves ([`LogVerifier`](crate::LogVerifier) can).
pub fn open_checkpoint(note: &str, vkey: &VerifierKey) -> Result<Checkpoint, CheckpointError> {
    let text = open_note(note, vkey)?;
    Checkpoint::parse_note_text(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_parsing_is_canonical() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("18446744073709551615"), Ok(u64::MAX));
        for bad in [
            "",
            "00",
            "01",
            "+1",
            "-1",
            "1 ",
            "18446744073709551616",
            "1e3",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn body_round_trip_with_extensions() {
        let mut cp = Checkpoint::new("lab.example/audit", 42, [3u8; 32]);
        cp.extensions.push("ext one".into());
        let text = cp.to_note_text().unwrap();
        assert_eq!(text.lines().count(), 4);
        assert_eq!(Checkpoint::parse_note_text(&text), Ok(cp));
    }

    #[test]
    fn body_rejections() {
        let bad_bodies = [
            "origin\n1\n",
            "\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
            "o\n01\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
            "o\n1\nAAAA\n",
            "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n",
        ];
        for b in bad_bodies {
            assert!(Checkpoint::parse_note_text(b).is_err(), "{b:?}");
        }
        assert_eq!(
            Checkpoint::new("", 1, [0; 32]).to_note_text(),
            Err(CheckpointError::InvalidOrigin)
        );
        assert_eq!(
            Checkpoint::new("a\nb", 1, [0; 32]).to_note_text(),
            Err(CheckpointError::InvalidOrigin)
        );
    }
}
