//! Campaign set-up: the recipient domain allow-list, tracking tokens and the send schedule.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use labguard_core::{Id, Role, Staff};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhishingError {
    #[error("not a plain email address")]
    BadAddress,
    #[error("recipient domain `{0}` is not one of the lab's configured domains")]
    DomainNotAllowed(String),
    #[error("allow-list entry `{0}` is not a valid domain")]
    BadAllowListEntry(String),
    #[error("the sending window ends before it starts")]
    EmptyWindow,
    #[error("rate must be at least one message per minute")]
    ZeroRate,
    #[error("{needed} messages do not fit in the window at this rate (room for {capacity})")]
    WindowTooShort { needed: usize, capacity: usize },
    #[error("malformed tracking token")]
    BadToken,
    #[error("tracking token does not belong to this campaign")]
    UnknownToken,
    #[error("unknown template `{0}`")]
    UnknownTemplate(String),
}

/// Lowercase ASCII domain of labels `[a-z0-9-]`, no leading/trailing '-', no empty labels.
/// Non-ASCII (homoglyph) domains are refused outright: labs configure punycode if needed.
fn normalize_domain(d: &str) -> Option<String> {
    let d = d.strip_suffix('.').unwrap_or(d).to_ascii_lowercase();
    if d.is_empty() || d.len() > 253 {
        return None;
    }
    let ok = d.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    (ok && d.contains('.')).then_some(d)
}

/// The lab's own mail domains. Campaign mail may only go to these.
///
/// An entry `lab.example.com` matches exactly that domain. An entry `*.lab.example.com`
/// matches its subdomains (`mail.lab.example.com`) but not the bare domain. Matching is on
/// whole labels, so `lab.example.com.evil.net` and `evil-lab.example.com` never match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct DomainAllowList {
    exact: Vec<String>,
    suffixes: Vec<String>,
}

// Stored settings go through the same validation as `new`, so a hand-edited config cannot
// smuggle in an un-normalized entry.
impl TryFrom<Vec<String>> for DomainAllowList {
    type Error = PhishingError;
    fn try_from(v: Vec<String>) -> Result<Self, Self::Error> {
        DomainAllowList::new(&v)
    }
}

impl From<DomainAllowList> for Vec<String> {
    fn from(l: DomainAllowList) -> Self {
        l.exact
            .into_iter()
            .chain(l.suffixes.into_iter().map(|s| format!("*{s}")))
            .collect()
    }
}

impl DomainAllowList {
    pub fn new<S: AsRef<str>>(entries: &[S]) -> Result<Self, PhishingError> {
        let mut exact = Vec::new();
        let mut suffixes = Vec::new();
        for e in entries {
            let raw = e.as_ref().trim();
            let bad = || PhishingError::BadAllowListEntry(raw.chars().take(64).collect());
            if let Some(rest) = raw.strip_prefix("*.") {
                suffixes.push(format!(".{}", normalize_domain(rest).ok_or_else(bad)?));
            } else {
                exact.push(normalize_domain(raw).ok_or_else(bad)?);
            }
        }
        Ok(DomainAllowList { exact, suffixes })
    }

    /// Check one address. Returns the normalized address (domain lowercased) on success.
    pub fn check(&self, address: &str) -> Result<String, PhishingError> {
        let (local, domain) = split_address(address)?;
        let Some(domain) = normalize_domain(domain) else {
            return Err(PhishingError::BadAddress);
        };
        let allowed =
            self.exact.contains(&domain) || self.suffixes.iter().any(|s| domain.ends_with(s));
        if allowed {
            Ok(format!("{local}@{domain}"))
        } else {
            Err(PhishingError::DomainNotAllowed(domain))
        }
    }
}

/// Accept only `local@domain` with a conservative local part. Display names, comments,
/// quoted local parts, source routes and multiple addresses are refused: they are where
/// header-injection and "which @ counts" confusion live.
fn split_address(a: &str) -> Result<(&str, &str), PhishingError> {
    let (local, domain) = a.split_once('@').ok_or(PhishingError::BadAddress)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if !local_ok || domain.contains('@') {
        return Err(PhishingError::BadAddress);
    }
    Ok((local, domain))
}

/// A per-recipient secret that goes into the pixel, link and form URLs.
///
/// 32 random bytes (from the caller's CSPRNG) encoded as 43 characters of unpadded URL-safe
/// base64. Store [`TrackingToken::digest`] rather than the token so a leaked database does
/// not let anyone forge events.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrackingToken(String);

impl TryFrom<String> for TrackingToken {
    type Error = PhishingError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        TrackingToken::parse(&s)
    }
}

impl From<TrackingToken> for String {
    fn from(t: TrackingToken) -> Self {
        t.0
    }
}

impl std::fmt::Debug for TrackingToken {
    // Tokens are bearer secrets: keep them out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TrackingToken(..)")
    }
}

impl TrackingToken {
    pub fn from_random(bytes: [u8; 32]) -> Self {
        TrackingToken(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Validate a token taken from a URL.
    pub fn parse(s: &str) -> Result<Self, PhishingError> {
        if s.len() != 43 {
            return Err(PhishingError::BadToken);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| PhishingError::BadToken)?;
        // Re-encode to reject non-canonical trailing bits (two strings, one token).
        let canon = URL_SAFE_NO_PAD.encode(&bytes);
        if bytes.len() != 32 || canon != s {
            return Err(PhishingError::BadToken);
        }
        Ok(TrackingToken(canon))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the token, hex: what the store indexes and keeps.
    pub fn digest(&self) -> String {
        hex::encode(ring::digest::digest(
            &ring::digest::SHA256,
            self.0.as_bytes(),
        ))
    }
}

/// One person a campaign mails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub staff_id: Id,
    pub role: Role,
    pub email: String,
    pub display_name: String,
    /// SHA-256 hex of this recipient's tracking token.
    pub token_digest: String,
}

/// When and how fast to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Messages per minute; keeps the lab's own mail server from throttling or flagging us.
    pub per_minute: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledSend {
    pub staff_id: Id,
    pub at: DateTime<Utc>,
}

/// Evenly spaced send times for `recipients` in order, `60 s / per_minute` apart, all inside
/// the window (the last send is strictly before `end`). The caller shuffles the recipients
/// first so one department does not all receive the mail in the same minute and warn each
/// other.
pub fn send_schedule(
    recipients: &[Recipient],
    window: &SendWindow,
) -> Result<Vec<ScheduledSend>, PhishingError> {
    if window.end <= window.start {
        return Err(PhishingError::EmptyWindow);
    }
    if window.per_minute == 0 {
        return Err(PhishingError::ZeroRate);
    }
    let gap_ms = 60_000 / i64::from(window.per_minute);
    let span_ms = (window.end - window.start).num_milliseconds();
    // Number of sends with start + i*gap < end.
    let capacity = if gap_ms == 0 {
        usize::MAX
    } else {
        usize::try_from((span_ms + gap_ms - 1) / gap_ms).unwrap_or(usize::MAX)
    };
    if recipients.len() > capacity {
        return Err(PhishingError::WindowTooShort {
            needed: recipients.len(),
            capacity,
        });
    }
    Ok(recipients
        .iter()
        .enumerate()
        .map(|(i, r)| ScheduledSend {
            staff_id: r.staff_id,
            at: window.start + Duration::milliseconds(gap_ms.saturating_mul(i as i64)),
        })
        .collect())
}

/// Scheduled sends whose time has come and whose recipient has not been sent to yet: the
/// sender calls this each tick. Passing `already_sent` makes double sends impossible
/// even after a restart.
pub fn sends_due<'a>(
    schedule: &'a [ScheduledSend],
    already_sent: &std::collections::BTreeSet<Id>,
    now: DateTime<Utc>,
) -> Vec<&'a ScheduledSend> {
    schedule
        .iter()
        .filter(|s| s.at <= now && !already_sent.contains(&s.staff_id))
        .collect()
}

/// Who a campaign targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "value")]
pub enum TargetGroup {
    AllStaff,
    Roles(Vec<Role>),
    Staff(Vec<Id>),
}

impl TargetGroup {
    pub fn includes(&self, s: &Staff) -> bool {
        match self {
            TargetGroup::AllStaff => true,
            TargetGroup::Roles(rs) => rs.contains(&s.role),
            TargetGroup::Staff(ids) => ids.contains(&s.id),
        }
    }
}

/// A recipient together with the plaintext token the mail needs. The token goes into the
/// message and is then dropped; only [`Recipient::token_digest`] is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRecipient {
    pub recipient: Recipient,
    pub token: TrackingToken,
}

/// The outcome of [`plan_recipients`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientPlan {
    /// In send order (shuffled by the seed).
    pub recipients: Vec<PlannedRecipient>,
    /// Staff in the group whose address was refused, with the reason (never mailed).
    pub rejected: Vec<(Id, PhishingError)>,
    /// Staff skipped because another selected person already has the same address, so no
    /// mailbox gets two copies.
    pub duplicates: Vec<Id>,
}

/// Select active staff in `group`, enforce the allow-list, drop duplicate addresses, give
/// each recipient a token from `random_bytes` (the caller's CSPRNG), and shuffle the send
/// order with `seed` so neighbours at the same bench are not mailed in the same minute.
pub fn plan_recipients(
    staff: &[Staff],
    group: &TargetGroup,
    allow: &DomainAllowList,
    seed: u64,
    mut random_bytes: impl FnMut() -> [u8; 32],
) -> RecipientPlan {
    let mut plan = RecipientPlan {
        recipients: Vec::new(),
        rejected: Vec::new(),
        duplicates: Vec::new(),
    };
    let mut seen = std::collections::BTreeSet::new();
    for s in staff.iter().filter(|s| s.active && group.includes(s)) {
        let email = match allow.check(&s.email) {
            Ok(e) => e,
            Err(e) => {
                plan.rejected.push((s.id, e));
                continue;
            }
        };
        // Local parts are case-sensitive in theory but not in any mail system a lab runs.
        if !seen.insert(email.to_ascii_lowercase()) {
            plan.duplicates.push(s.id);
            continue;
        }
        let token = TrackingToken::from_random(random_bytes());
        plan.recipients.push(PlannedRecipient {
            recipient: Recipient {
                staff_id: s.id,
                role: s.role,
                email,
                display_name: s.display_name.clone(),
                token_digest: token.digest(),
            },
            token,
        });
    }
    crate::rng::SplitMix64(seed).shuffle(&mut plan.recipients);
    plan
}
