//! One-time recovery codes, for signing in when the authenticator app is lost.
//!
//! Each code is 80 random bits written as 16 characters of Crockford-style base32 in four
//! groups (`7k3m-q9xd-2hvn-c4tr`): no `i`, `l`, `o` or `u`, so nothing reads as another
//! character, and when typed `o` is taken as `0` and `i`/`l` as `1`.
//!
//! Only SHA-256 digests are stored. A slow, salted hash is for secrets people choose; these
//! are uniformly random, and with 2^80 candidates per code a stolen table cannot be searched
//! (10^12 SHA-256 guesses a second would need over 30 000 years per code), so a fast hash
//! loses nothing and keeps sign-in cheap. Online guessing is stopped by the throttle.

use chrono::{DateTime, Utc};
use ring::digest::{digest, SHA256};
use serde::{Deserialize, Serialize};
use subtle::{ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

/// Codes issued by default.
pub const DEFAULT_COUNT: usize = 10;
/// Random bytes consumed per code (80 bits).
pub const BYTES_PER_CODE: usize = 10;
/// Upper bound on codes in one set, so a bad argument cannot ask for millions.
pub const MAX_COUNT: usize = 32;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const SYMBOLS_PER_CODE: usize = 16;
const GROUP: usize = 4;
/// Domain separation, so these digests can never collide with other SHA-256 uses.
const HASH_CONTEXT: &[u8] = b"labguard recovery code v1\0";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryError {
    #[error("need {expected} random bytes for {count} codes (got {actual})")]
    RandomLength {
        count: usize,
        expected: usize,
        actual: usize,
    },
    #[error("the number of recovery codes must be between 1 and {MAX_COUNT}")]
    Count,
    #[error("that is not a recovery code")]
    Format,
    #[error("the recovery code is not valid")]
    Invalid,
    /// Right code, already consumed. Show the user the same message as for `Invalid`.
    #[error("the recovery code has already been used")]
    AlreadyUsed,
}

/// One stored code: its digest and when it was used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCode {
    /// Hex SHA-256 of the context string and the normalized code.
    pub sha256: String,
    pub used_at: Option<DateTime<Utc>>,
}

/// The stored side of a user's recovery codes. Serialize it into the account row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodeSet {
    pub created_at: DateTime<Utc>,
    pub codes: Vec<StoredCode>,
}

/// Freshly generated codes: `plaintext` is shown to the user once, `stored` is persisted.
pub struct GeneratedCodes {
    pub plaintext: Vec<Zeroizing<String>>,
    pub stored: RecoveryCodeSet,
}

impl std::fmt::Debug for GeneratedCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedCodes")
            .field(
                "plaintext",
                &format_args!("[{} codes]", self.plaintext.len()),
            )
            .field("stored", &self.stored)
            .finish()
    }
}

/// Makes `count` codes from `random` (exactly `count * 10` bytes from the caller's CSPRNG).
/// Issuing a new set replaces the old one entirely.
pub fn generate(
    count: usize,
    random: &[u8],
    now: DateTime<Utc>,
) -> Result<GeneratedCodes, RecoveryError> {
    if count == 0 || count > MAX_COUNT {
        return Err(RecoveryError::Count);
    }
    let expected = count * BYTES_PER_CODE;
    if random.len() != expected {
        return Err(RecoveryError::RandomLength {
            count,
            expected,
            actual: random.len(),
        });
    }
    let mut plaintext = Vec::with_capacity(count);
    let mut codes = Vec::with_capacity(count);
    for chunk in random.chunks_exact(BYTES_PER_CODE) {
        let symbols = encode(chunk);
        codes.push(StoredCode {
            sha256: digest_hex(&symbols),
            used_at: None,
        });
        plaintext.push(display_form(&symbols));
    }
    Ok(GeneratedCodes {
        plaintext,
        stored: RecoveryCodeSet {
            created_at: now,
            codes,
        },
    })
}

impl RecoveryCodeSet {
    /// Codes not yet used.
    pub fn remaining(&self) -> usize {
        self.codes.iter().filter(|c| c.used_at.is_none()).count()
    }

    /// Checks `input` against every stored digest in constant time and, on a match with an
    /// unused code, marks it used at `now` and returns its index. The caller must persist the
    /// set before reporting success, or the code stays usable.
    pub fn consume(&mut self, input: &str, now: DateTime<Utc>) -> Result<usize, RecoveryError> {
        let symbols = normalize_input(input).ok_or(RecoveryError::Format)?;
        let presented = digest_bytes(&symbols);

        // Every entry is compared and the match index is selected without branching, so the
        // time taken does not depend on which code (if any) matched.
        let mut found = subtle::Choice::from(0);
        let mut index = 0u64;
        for (i, stored) in self.codes.iter().enumerate() {
            let stored_bytes = hex::decode(&stored.sha256).unwrap_or_default();
            let eq = stored_bytes.as_slice().ct_eq(presented.as_slice());
            index = u64::conditional_select(&index, &(i as u64), eq);
            found |= eq;
        }
        if !bool::from(found) {
            return Err(RecoveryError::Invalid);
        }
        let index = usize::try_from(index).map_err(|_| RecoveryError::Invalid)?;
        let code = self.codes.get_mut(index).ok_or(RecoveryError::Invalid)?;
        if code.used_at.is_some() {
            return Err(RecoveryError::AlreadyUsed);
        }
        code.used_at = Some(now);
        Ok(index)
    }
}

/// 10 bytes = 80 bits = 16 five-bit symbols, most significant bits first.
fn encode(bytes: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut acc = Zeroizing::new(0u128);
    for b in bytes {
        *acc = (*acc << 8) | u128::from(*b);
    }
    let mut out = Zeroizing::new(Vec::with_capacity(SYMBOLS_PER_CODE));
    for k in (0..SYMBOLS_PER_CODE).rev() {
        // Masked to 5 bits, so always a valid index into the 32-symbol alphabet.
        let idx = ((*acc >> (5 * k)) & 0x1f) as usize;
        out.push(ALPHABET[idx]);
    }
    out
}

fn display_form(symbols: &[u8]) -> Zeroizing<String> {
    let mut s = Zeroizing::new(String::with_capacity(SYMBOLS_PER_CODE + 3));
    for (i, c) in symbols.iter().enumerate() {
        if i > 0 && i % GROUP == 0 {
            s.push('-');
        }
        s.push(char::from(*c));
    }
    s
}

/// Accepts the code as people type it: any case, with or without dashes and spaces, with the
/// look-alike letters read as digits.
fn normalize_input(input: &str) -> Option<Zeroizing<Vec<u8>>> {
    if input.len() > 64 {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(SYMBOLS_PER_CODE));
    for c in input.chars() {
        let c = match c.to_ascii_lowercase() {
            '-' | ' ' => continue,
            'o' => '0',
            'i' | 'l' => '1',
            c => c,
        };
        let b = u8::try_from(c).ok()?;
        if !ALPHABET.contains(&b) {
            return None;
        }
        out.push(b);
    }
    (out.len() == SYMBOLS_PER_CODE).then_some(out)
}

fn digest_bytes(symbols: &[u8]) -> Vec<u8> {
    let mut input = Zeroizing::new(Vec::with_capacity(HASH_CONTEXT.len() + symbols.len()));
    input.extend_from_slice(HASH_CONTEXT);
    input.extend_from_slice(symbols);
    digest(&SHA256, &input).as_ref().to_vec()
}

fn digest_hex(symbols: &[u8]) -> String {
    hex::encode(digest_bytes(symbols))
}
