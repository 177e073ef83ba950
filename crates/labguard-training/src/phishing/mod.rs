//! Phishing simulation: model and logic only. Sending mail (SMTP, retries) and serving the
//! tracking URLs belong to the server; this module decides what to send to whom and when,
//! which tokens mean what, and what the results say.
//!
//! Flow: check every recipient with [`DomainAllowList::check`] → draw 32 random bytes per
//! recipient for a [`TrackingToken`] and store its digest in a [`Recipient`] → build the
//! schedule with [`send_schedule`] → render each mail with [`PhishingTemplate::render`] →
//! the server turns tracking requests into events with [`record_event`] → aggregate with
//! [`campaign_report`] → [`remedial_rules`] for those who clicked or submitted.

mod campaign;
mod report;
mod template;

pub use campaign::{
    send_schedule, sends_due, DomainAllowList, PhishingError, Recipient, ScheduledSend, SendWindow,
    TrackingToken,
};
pub use report::{
    campaign_report, click_rate_by_role, record_event, remedial_rules, trend, CampaignReport,
    Counts, EventKind, PhishEvent, TrendPoint,
};
pub use template::{
    builtin_template, builtin_templates, teaching_page_html, PhishingTemplate, RenderContext,
    RenderedMessage, TrackingUrls,
};
