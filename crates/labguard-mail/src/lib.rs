//! Outgoing mail for phishing-simulation campaigns.
//!
//! The campaign model (who, which template, allow-list, schedule) is pure logic in
//! `labguard-training`; the delivery state lives in `labguard-store`. This crate is the edge
//! between them and a real SMTP server:
//!
//! - [`SmtpTarget`] parses `smtp://host:port` (STARTTLS when the server offers it),
//!   `smtp://host:port?tls=required` (refuse to send in the clear) and `smtps://host:port`.
//! - [`launch`] sends a campaign: paced at the campaign's rate inside its window, only to the
//!   allowed domains, retrying with exponential backoff while the server is down or answers
//!   4xx, giving up after the campaign's `max_attempts`.
//!
//! At most one copy per recipient: each recipient row is claimed in the store (committed)
//! before its mail is handed to SMTP. Only a failure that proves the mail was not accepted
//! (could not connect, or an SMTP error reply) puts it back for another attempt; a dropped
//! connection after the message was handed over leaves it claimed and reported as
//! unconfirmed, never re-sent.

mod plan;
mod remind;
mod send;
mod target;

pub use plan::{allowed_domains, create_campaign, CampaignSpec, Created, Refused};
pub use remind::{send_reminders, ReminderOptions, ReminderOutcome};
pub use send::{launch, LaunchOptions, LaunchReport, Outcome, Pace, RealPace, RecipientOutcome};
pub use target::{SmtpTarget, TlsMode};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("bad SMTP URL: {0}")]
    BadUrl(String),
    #[error("bad sender address: {0}")]
    BadFrom(String),
    #[error("store: {0}")]
    Store(#[from] labguard_store::StoreError),
    #[error("campaign: {0}")]
    Campaign(#[from] labguard_training::phishing::PhishingError),
    #[error("refused: {0}")]
    Refused(String),
    #[error("random: {0}")]
    Random(String),
}

/// Undoes quoted-printable soft line breaks and `=XX` escapes over a whole message, so the
/// tracking links in a received or forwarded mail can be searched for. Text that is not
/// quoted-printable passes through unchanged apart from literal `=XX` sequences.
pub fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let b = joined.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Records a `reported` event for every tracking token found in `message` (a campaign mail
/// forwarded to the lab's reporting address). Returns how many recipients were recorded as
/// reporters for the first time; tokens of no campaign are ignored.
pub fn record_forwarded_report(
    store: &labguard_store::Store,
    actor: &labguard_store::Actor,
    message: &str,
) -> Result<usize, MailError> {
    let text = decode_quoted_printable(message);
    let mut bases: Vec<String> = store
        .list_campaigns(actor)?
        .into_iter()
        .map(|c| c.base_url)
        .collect();
    bases.sort();
    bases.dedup();
    let mut n = 0;
    for base in bases {
        for t in labguard_training::phishing::tokens_in_text(&text, &base) {
            let ev = store.record_tracking_event(
                t.as_str(),
                labguard_training::phishing::EventKind::Reported,
                14,
            )?;
            n += usize::from(ev.is_some_and(|e| e.first));
        }
    }
    Ok(n)
}
