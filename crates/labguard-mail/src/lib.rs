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
mod send;
pub mod sink;
mod target;

pub use plan::{allowed_domains, create_campaign, CampaignSpec, Created, Refused};
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
