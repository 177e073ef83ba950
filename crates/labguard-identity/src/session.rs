//! Session IDs, API tokens, session timeouts and CSRF tokens.
//!
//! Session IDs (`lgs_…`) and API tokens (`lgt_…`) are 32 random bytes from the caller,
//! base64url-encoded behind a prefix that says what they are (so a leaked one is easy to
//! recognise in logs and secret scanners). The server keeps only their SHA-256: a database
//! leak then yields nothing that can be presented, and 256 random bits need no slow hash.
//! Lookups go by hash, so the secret itself is never compared.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use labguard_core::{Permission, Role};
use ring::digest::{digest, SHA256};
use ring::hmac;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub const SESSION_PREFIX: &str = "lgs_";
pub const API_TOKEN_PREFIX: &str = "lgt_";
/// Random bytes in a session ID or API token.
pub const TOKEN_BYTES: usize = 32;
/// Domain separation for CSRF tokens, so the CSRF key's MACs mean nothing elsewhere.
const CSRF_CONTEXT: &[u8] = b"labguard csrf v1\0";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token does not have the expected prefix")]
    Prefix,
    #[error("the token is not well formed")]
    Format,
}

/// Which kind of secret a token string is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKind {
    Session,
    Api,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Session => SESSION_PREFIX,
            TokenKind::Api => API_TOKEN_PREFIX,
        }
    }
}

/// SHA-256 of a token string: what the database stores and looks up by.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(s: &str) -> Result<TokenHash, TokenError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| TokenError::Format)?;
        Ok(TokenHash(out))
    }

    /// Constant-time equality, for callers that compare hashes in memory.
    pub fn ct_eq(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenHash({})", self.to_hex())
    }
}

impl From<TokenHash> for String {
    fn from(h: TokenHash) -> String {
        h.to_hex()
    }
}

impl TryFrom<String> for TokenHash {
    type Error = TokenError;
    fn try_from(s: String) -> Result<TokenHash, TokenError> {
        TokenHash::from_hex(&s)
    }
}

/// A newly minted token: `secret` goes to the client once (cookie or API response) and is
/// then dropped; `hash` is stored.
pub struct NewToken {
    pub secret: Zeroizing<String>,
    pub hash: TokenHash,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("secret", &"..")
            .field("hash", &self.hash)
            .finish()
    }
}

/// Mints a token of `kind` from 32 bytes of the caller's CSPRNG.
pub fn new_token(kind: TokenKind, random: [u8; TOKEN_BYTES]) -> NewToken {
    let random = Zeroizing::new(random);
    let mut secret = Zeroizing::new(String::with_capacity(4 + 43));
    secret.push_str(kind.prefix());
    URL_SAFE_NO_PAD.encode_string(random.as_slice(), &mut secret);
    let hash = hash_str(&secret);
    NewToken { secret, hash }
}

/// Checks a presented token's shape and returns the hash to look it up by.
pub fn hash_presented(kind: TokenKind, presented: &str) -> Result<TokenHash, TokenError> {
    let body = presented
        .strip_prefix(kind.prefix())
        .ok_or(TokenError::Prefix)?;
    let decoded = Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| TokenError::Format)?,
    );
    if decoded.len() != TOKEN_BYTES {
        return Err(TokenError::Format);
    }
    Ok(hash_str(presented))
}

fn hash_str(s: &str) -> TokenHash {
    let d = digest(&SHA256, s.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    TokenHash(out)
}

/// The stored record of an API token. Its scope is a role: the token can do what that role
/// can, and nothing else, whatever the owner's own role later becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub hash: TokenHash,
    pub scope: Role,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

impl ApiToken {
    /// Mints a token with `scope` and returns the secret to show once and the record to store.
    pub fn issue(
        random: [u8; TOKEN_BYTES],
        scope: Role,
        now: DateTime<Utc>,
        lifetime: Option<TimeDelta>,
    ) -> (Zeroizing<String>, ApiToken) {
        let NewToken { secret, hash } = new_token(TokenKind::Api, random);
        let record = ApiToken {
            hash,
            scope,
            created_at: now,
            expires_at: lifetime.map(|l| now + l),
            revoked: false,
        };
        (secret, record)
    }

    pub fn is_valid(&self, now: DateTime<Utc>) -> bool {
        !self.revoked && self.expires_at.is_none_or(|e| now < e)
    }

    /// True when the token is valid now and its scope grants `permission`.
    pub fn allows(&self, permission: Permission, now: DateTime<Utc>) -> bool {
        self.is_valid(now) && self.scope.allows(permission)
    }
}

/// Session time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Sign out after this long without activity: HIPAA 164.312(a)(2)(iii) automatic logoff.
    pub idle_timeout: TimeDelta,
    /// Sign out this long after sign-in regardless of activity.
    pub absolute_lifetime: TimeDelta,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle_timeout: TimeDelta::minutes(15),
            absolute_lifetime: TimeDelta::hours(12),
        }
    }
}

/// When a session started and when it was last used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTimes {
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SessionStatus {
    Active,
    IdleExpired,
    AbsoluteExpired,
}

impl SessionPolicy {
    /// Whether a session is still usable at `now`. The absolute limit is checked first, so
    /// a session past both reports the one that activity could not have prevented.
    pub fn check(&self, times: &SessionTimes, now: DateTime<Utc>) -> SessionStatus {
        if now - times.created_at >= self.absolute_lifetime {
            SessionStatus::AbsoluteExpired
        } else if now - times.last_seen_at >= self.idle_timeout {
            SessionStatus::IdleExpired
        } else {
            SessionStatus::Active
        }
    }
}

/// The server's CSRF key, from 32 bytes of its CSPRNG, generated at install and kept secret.
pub struct CsrfKey(hmac::Key);

impl CsrfKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> CsrfKey {
        CsrfKey(hmac::Key::new(hmac::HMAC_SHA256, bytes))
    }

    /// The CSRF token for a session: HMAC-SHA-256 over the session ID, base64url. It is the
    /// same for the life of the session, so pages can embed it without server-side state,
    /// and useless with any other session.
    pub fn token_for(&self, session_id: &str) -> String {
        let tag = hmac::sign(&self.0, &csrf_message(session_id));
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    /// Constant-time check of a presented CSRF token against the session's.
    pub fn verify(&self, session_id: &str, presented: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(presented) else {
            return false;
        };
        hmac::verify(&self.0, &csrf_message(session_id), &tag).is_ok()
    }
}

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey(..)")
    }
}

fn csrf_message(session_id: &str) -> Zeroizing<Vec<u8>> {
    let mut m = Zeroizing::new(Vec::with_capacity(CSRF_CONTEXT.len() + session_id.len()));
    m.extend_from_slice(CSRF_CONTEXT);
    m.extend_from_slice(session_id.as_bytes());
    m
}
