//! The audit record that becomes a Merkle leaf, and its canonical binary encoding.
//!
//! Encoding, version 1 (every valid entry has exactly one encoding):
//!
//! ```text
//! 0x01                                  format version
//! str time, str actor, str role, str action, str resource, str resource_id
//! opt patient_ref, opt reason
//! u8 outcome                            0 success, 1 denied, 2 error
//! opt content_hash, opt node
//!
//! str = LEB128 length (minimal, at most 3 bytes) ‖ UTF-8 bytes
//! opt = 0x00 (absent) | 0x01 ‖ str
//! ```
//!
//! Binary rather than JSON so the log verifier can check an entry in tens of
//! nanoseconds without allocating, and because JSON admits many spellings of one
//! value (whitespace, escapes, key order) while this admits one.

use serde::{Deserialize, Serialize};

/// Format version byte at the start of every encoded entry.
const ENTRY_FORMAT_V1: u8 = 1;

/// Longest allowed text field, in bytes (64 KiB).
pub const MAX_FIELD_LEN: usize = 64 * 1024;

/// What happened to the audited request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The action was permitted and completed.
    Success,
    /// The action was refused by policy.
    Denied,
    /// The action was permitted but failed.
    Error,
}

impl Outcome {
    fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Denied => 1,
            Outcome::Error => 2,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Outcome::Success),
            1 => Some(Outcome::Denied),
            2 => Some(Outcome::Error),
            _ => None,
        }
    }
}

/// One audit log record: who did what to which resource, when, and with what result.
///
/// **No PHI.** The caller (the store) must pass only pseudonymous references:
/// `actor` is a staff user ID, `patient_ref` a pseudonym (e.g. a keyed hash from
/// `labguard-crypto`), `resource_id` an opaque row ID, and `reason` a short
/// justification code or text that names no patient. Entries are kept forever and
/// shown to auditors; they must never contain names, dates of birth, MRNs or results.
///
/// Call [`validate`](Self::validate) before appending: [`encode`](Self::encode)
/// never fails, but [`decode`](Self::decode) (and so the log verifier) rejects
/// entries that break the rules listed there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// When, as RFC 3339 in UTC: `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (uppercase `T`, `Z`).
    pub time: String,
    /// Staff user ID that acted (or a service identity such as `system`).
    pub actor: String,
    /// Role the actor acted in, e.g. `phlebotomist`.
    pub role: String,
    /// Action code, e.g. `patient.read`, `result.amend`.
    pub action: String,
    /// Resource type, e.g. `patient`, `specimen`.
    pub resource: String,
    /// Opaque ID of the resource row (may be empty for collection-level actions).
    pub resource_id: String,
    /// Pseudonymous patient reference, never a name or MRN.
    pub patient_ref: Option<String>,
    /// Why the access happened (break-glass justification etc.), free of PHI.
    pub reason: Option<String>,
    /// Result of the action.
    pub outcome: Outcome,
    /// Lowercase hex SHA-256 of the row's stored ciphertext, so a verifier can
    /// detect a later change to the row.
    pub content_hash: Option<String>,
    /// Which labguard node wrote the entry.
    pub node: Option<String>,
}

/// Why bytes are not a valid encoded [`AuditEntry`], or an entry breaks the rules.
///
/// Names the field and the reason only; entry content is never included.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    /// Empty input or an unknown format version byte.
    #[error("unknown entry format version")]
    UnknownVersion,
    /// The input ends inside the named field.
    #[error("entry truncated in field {0}")]
    Truncated(&'static str),
    /// The length prefix of the named field is not a minimal LEB128 of at most 3 bytes.
    #[error("bad length prefix in field {0}")]
    BadLength(&'static str),
    /// An optional field's presence byte is neither 0 nor 1.
    #[error("bad presence flag in field {0}")]
    BadPresence(&'static str),
    /// The outcome byte is not 0, 1 or 2.
    #[error("unknown outcome code {0}")]
    BadOutcome(u8),
    /// The named field is not valid UTF-8.
    #[error("field {0} is not valid UTF-8")]
    InvalidUtf8(&'static str),
    /// Bytes remain after the last field.
    #[error("{0} trailing bytes after the entry")]
    TrailingBytes(usize),
    /// A field breaks a content rule (see [`AuditEntry::validate`]).
    #[error("field {field}: {reason}")]
    Invalid {
        /// Field name.
        field: &'static str,
        /// Rule broken.
        reason: &'static str,
    },
}

/// Borrowed view of an entry's fields as raw bytes, shared by validation and
/// decoding. UTF-8 is checked in `check`, so the hot path handles pure-ASCII
/// fields with one byte scan each.
struct Fields<'a> {
    time: &'a [u8],
    actor: &'a [u8],
    role: &'a [u8],
    action: &'a [u8],
    resource: &'a [u8],
    resource_id: &'a [u8],
    patient_ref: Option<&'a [u8]>,
    reason: Option<&'a [u8]>,
    outcome: Outcome,
    content_hash: Option<&'a [u8]>,
    node: Option<&'a [u8]>,
}

impl AuditEntry {
    fn fields(&self) -> Fields<'_> {
        Fields {
            time: self.time.as_bytes(),
            actor: self.actor.as_bytes(),
            role: self.role.as_bytes(),
            action: self.action.as_bytes(),
            resource: self.resource.as_bytes(),
            resource_id: self.resource_id.as_bytes(),
            patient_ref: self.patient_ref.as_deref().map(str::as_bytes),
            reason: self.reason.as_deref().map(str::as_bytes),
            outcome: self.outcome,
            content_hash: self.content_hash.as_deref().map(str::as_bytes),
            node: self.node.as_deref().map(str::as_bytes),
        }
    }

    /// The canonical encoding (see the module docs); this is what is leaf-hashed.
    pub fn encode(&self) -> Vec<u8> {
        let f = self.fields();
        let opt_len = |o: Option<&[u8]>| 1 + o.map_or(0, |s| 3 + s.len());
        let cap = 1
            + [f.time, f.actor, f.role, f.action, f.resource, f.resource_id]
                .iter()
                .map(|s| 3 + s.len())
                .sum::<usize>()
            + opt_len(f.patient_ref)
            + opt_len(f.reason)
            + 1
            + opt_len(f.content_hash)
            + opt_len(f.node);
        let mut out = Vec::with_capacity(cap);
        out.push(ENTRY_FORMAT_V1);
        for s in [f.time, f.actor, f.role, f.action, f.resource, f.resource_id] {
            put_str(&mut out, s);
        }
        put_opt(&mut out, f.patient_ref);
        put_opt(&mut out, f.reason);
        out.push(f.outcome.code());
        put_opt(&mut out, f.content_hash);
        put_opt(&mut out, f.node);
        out
    }

    /// Parses an encoded entry, rejecting anything [`encode`](Self::encode) of a
    /// valid entry could not have produced: unknown version, truncation, non-minimal
    /// lengths, bad flags, invalid UTF-8, trailing bytes, and rule violations.
    pub fn decode(bytes: &[u8]) -> Result<AuditEntry, EntryError> {
        let f = parse(bytes)?;
        f.check()?;
        let opt = |field, b: Option<&[u8]>| b.map(|b| owned(field, b)).transpose();
        Ok(AuditEntry {
            time: owned("time", f.time)?,
            actor: owned("actor", f.actor)?,
            role: owned("role", f.role)?,
            action: owned("action", f.action)?,
            resource: owned("resource", f.resource)?,
            resource_id: owned("resource_id", f.resource_id)?,
            patient_ref: opt("patient_ref", f.patient_ref)?,
            reason: opt("reason", f.reason)?,
            outcome: f.outcome,
            content_hash: opt("content_hash", f.content_hash)?,
            node: opt("node", f.node)?,
        })
    }

    /// For entries that record a row's content hash: `(resource, resource_id,
    /// content_hash)` borrowed from the bytes, without allocating. `None` for entries
    /// without one or bytes that do not parse (the log verifier reports those).
    /// Verifiers use it to learn what each row must still hash to.
    pub fn content_ref(bytes: &[u8]) -> Option<(&str, &str, &str)> {
        let f = parse(bytes).ok()?;
        let hash = f.content_hash?;
        Some((
            std::str::from_utf8(f.resource).ok()?,
            std::str::from_utf8(f.resource_id).ok()?,
            std::str::from_utf8(hash).ok()?,
        ))
    }

    /// Runs every check of [`decode`](Self::decode) without allocating; the log
    /// verifier uses this on each entry.
    pub fn check_encoded(bytes: &[u8]) -> Result<(), EntryError> {
        if rules::fast_accept(bytes) {
            return Ok(());
        }
        parse(bytes)?.check()
    }

    /// Checks the content rules that [`decode`](Self::decode) enforces:
    ///
    /// - `time` is RFC 3339 UTC, `YYYY-MM-DDTHH:MM:SS[.1–9 digits]Z`, with a real date;
    /// - `actor`, `role`, `action`, `resource` are non-empty;
    /// - no field but `reason` contains whitespace other than a plain space, or any
    ///   control character; `reason` may not contain control characters except
    ///   newline and tab;
    /// - `content_hash` is 64 lowercase hex digits;
    /// - no field is longer than [`MAX_FIELD_LEN`] bytes.
    pub fn validate(&self) -> Result<(), EntryError> {
        self.fields().check()
    }
}

fn put_len(out: &mut Vec<u8>, mut n: usize) {
    // LEB128: seven bits per byte, high bit set on all but the last.
    loop {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_len(out, s.len());
    out.extend_from_slice(s);
}

fn put_opt(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

/// Cursor over the encoded bytes; every read is bounds-checked.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self, field: &'static str) -> Result<u8, EntryError> {
        let b = *self.buf.get(self.pos).ok_or(EntryError::Truncated(field))?;
        self.pos += 1;
        Ok(b)
    }

    fn len(&mut self, field: &'static str) -> Result<usize, EntryError> {
        let mut value = 0usize;
        for i in 0..3 {
            let b = self.byte(field)?;
            value |= usize::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                // A zero final byte after a continuation is a longer spelling of a shorter length.
                if b == 0 && i > 0 {
                    return Err(EntryError::BadLength(field));
                }
                return Ok(value);
            }
        }
        Err(EntryError::BadLength(field))
    }

    fn str(&mut self, field: &'static str) -> Result<&'a [u8], EntryError> {
        let n = self.len(field)?;
        let bytes = self
            .pos
            .checked_add(n)
            .and_then(|end| self.buf.get(self.pos..end))
            .ok_or(EntryError::Truncated(field))?;
        self.pos += n;
        Ok(bytes)
    }

    fn opt(&mut self, field: &'static str) -> Result<Option<&'a [u8]>, EntryError> {
        match self.byte(field)? {
            0 => Ok(None),
            1 => self.str(field).map(Some),
            _ => Err(EntryError::BadPresence(field)),
        }
    }
}

fn parse(bytes: &[u8]) -> Result<Fields<'_>, EntryError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    if r.byte("version") != Ok(ENTRY_FORMAT_V1) {
        return Err(EntryError::UnknownVersion);
    }
    let f = Fields {
        time: r.str("time")?,
        actor: r.str("actor")?,
        role: r.str("role")?,
        action: r.str("action")?,
        resource: r.str("resource")?,
        resource_id: r.str("resource_id")?,
        patient_ref: r.opt("patient_ref")?,
        reason: r.opt("reason")?,
        outcome: {
            let code = r.byte("outcome")?;
            Outcome::from_code(code).ok_or(EntryError::BadOutcome(code))?
        },
        content_hash: r.opt("content_hash")?,
        node: r.opt("node")?,
    };
    match bytes.len().saturating_sub(r.pos) {
        0 => Ok(f),
        n => Err(EntryError::TrailingBytes(n)),
    }
}

fn owned(field: &'static str, b: &[u8]) -> Result<String, EntryError> {
    String::from_utf8(b.to_vec()).map_err(|_| EntryError::InvalidUtf8(field))
}

mod rules;

#[cfg(test)]
mod tests;
