//! Phishing simulation: model and logic only. Sending mail (SMTP, retries) and serving the
//! tracking URLs belong to the server; this module decides what to send to whom and when,
//! which tokens mean what, and what the results say.
//!
//! Flow:
//! 1. [`plan_recipients`] selects the [`TargetGroup`], enforces the [`DomainAllowList`], drops
//!    duplicate addresses and gives each [`Recipient`] a [`TrackingToken`] (store only its
//!    digest; the plaintext token lives only in the mail).
//! 2. [`send_schedule`] spreads the sends over the [`SendWindow`] at its rate; each tick the
//!    sender asks [`sends_due`] what to send, passing who was already sent to.
//! 3. [`PhishingTemplate::render`] fills a template with [`TrackingUrls`] for one recipient.
//! 4. The server turns tracking requests into events with [`record_event`]; mail forwarded to
//!    the reporting address yields its tokens through [`tokens_in_text`].
//! 5. [`campaign_report`] aggregates, [`trend`] compares campaigns, and [`remedial_rules`]
//!    assigns the phishing course to those who clicked or submitted.

mod campaign;
mod report;
mod template;

pub use campaign::{
    plan_recipients, send_schedule, sends_due, DomainAllowList, PhishingError, PlannedRecipient,
    Recipient, RecipientPlan, ScheduledSend, SendWindow, TargetGroup, TrackingToken,
};
pub use report::{
    campaign_report, click_rate_by_role, record_event, remedial_rules, trend, CampaignReport,
    Counts, EventKind, PhishEvent, TrendPoint,
};
pub use template::{
    builtin_template, builtin_templates, teaching_page_html, tokens_in_text, PhishingTemplate,
    RenderContext, RenderedMessage, TrackingUrls,
};
