//! Phishing email templates, landing pages and placeholder rendering.
//!
//! Placeholders are `{{name}}`:
//!
//! | placeholder | value |
//! |---|---|
//! | `{{first_name}}` | first word of the recipient's display name |
//! | `{{display_name}}` | recipient's display name |
//! | `{{lab_name}}` | the lab's name from settings |
//! | `{{link}}` | the tracked click URL |
//! | `{{pixel}}` | the open-tracking URL (HTML bodies put it in an `<img>`) |
//! | `{{submit_url}}` | where the landing page form posts |
//! | `{{report_url}}` | the "I reported this" URL (training pages link it) |
//!
//! In HTML bodies every value is HTML-escaped. Landing page inputs carry no `name`
//! attribute, so a browser submitting the form sends no field content at all: the server
//! learns only that a submission happened.

use serde::{Deserialize, Serialize};

use super::campaign::{PhishingError, TrackingToken};
use crate::render::escape_html;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhishingTemplate {
    pub id: String,
    pub name: String,
    /// Display name in the From header; the address itself is campaign configuration.
    pub from_name: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub landing_page_html: String,
    /// Red flags shown on the "this was a simulation" page after a click.
    pub red_flags: Vec<String>,
}

/// The URLs the server answers for one recipient's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingUrls {
    pub click: String,
    pub open_pixel: String,
    pub submit: String,
    pub report: String,
}

impl TrackingUrls {
    /// `base_url` is where the labguard server is reachable (a trailing '/' is ignored).
    /// Routes: `/t/c/{token}` click, `/t/o/{token}` pixel, `/t/s/{token}` form submit,
    /// `/t/r/{token}` report.
    pub fn new(base_url: &str, token: &TrackingToken) -> Self {
        let b = base_url.trim_end_matches('/');
        let t = token.as_str();
        TrackingUrls {
            click: format!("{b}/t/c/{t}"),
            open_pixel: format!("{b}/t/o/{t}"),
            submit: format!("{b}/t/s/{t}"),
            report: format!("{b}/t/r/{t}"),
        }
    }
}

/// Tracking tokens found in a message that someone forwarded to the lab's reporting address:
/// any `{base_url}/t/{c|o|s|r}/{token}` URL in `text`, deduplicated, in order of appearance.
/// The server records a `Reported` event for each token that belongs to a campaign. Mail
/// clients may rewrite or quote the text, so only the URL shape is relied on.
pub fn tokens_in_text(text: &str, base_url: &str) -> Vec<TrackingToken> {
    let base = base_url.trim_end_matches('/');
    let mut out: Vec<TrackingToken> = Vec::new();
    if base.is_empty() {
        return out;
    }
    for (i, _) in text.match_indices(base) {
        let rest = &text[i + base.len()..];
        let Some(rest) = ["/t/c/", "/t/o/", "/t/s/", "/t/r/"]
            .iter()
            .find_map(|p| rest.strip_prefix(p))
        else {
            continue;
        };
        let candidate: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        if let Ok(t) = TrackingToken::parse(&candidate) {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// Values for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderContext<'a> {
    pub display_name: &'a str,
    pub lab_name: &'a str,
    pub urls: &'a TrackingUrls,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedMessage {
    pub from_name: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

const PLACEHOLDERS: [&str; 7] = [
    "first_name",
    "display_name",
    "lab_name",
    "link",
    "pixel",
    "submit_url",
    "report_url",
];

fn value<'a>(ctx: &'a RenderContext<'a>, key: &str) -> Option<&'a str> {
    Some(match key {
        "first_name" => ctx.display_name.split_whitespace().next().unwrap_or(""),
        "display_name" => ctx.display_name,
        "lab_name" => ctx.lab_name,
        "link" => &ctx.urls.click,
        "pixel" => &ctx.urls.open_pixel,
        "submit_url" => &ctx.urls.submit,
        "report_url" => &ctx.urls.report,
        _ => return None,
    })
}

/// Replace placeholders in one pass (a value containing `{{link}}` is not expanded again).
/// Unknown placeholders are left as written; [`PhishingTemplate::unknown_placeholders`]
/// reports them when a template is saved.
fn fill(src: &str, ctx: &RenderContext<'_>, html: bool) -> String {
    let mut out = String::with_capacity(src.len() + 128);
    let mut rest = src;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        match after.find("}}") {
            Some(close) => {
                let key = after[..close].trim();
                match value(ctx, key) {
                    Some(v) if html => out.push_str(&escape_html(v)),
                    Some(v) => out.push_str(v),
                    None => out.push_str(&rest[open..open + 2 + close + 2]),
                }
                rest = &after[close + 2..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Header values (From name, Subject) must stay on one line whatever the inputs contain,
/// or a display name with a newline could inject headers.
fn one_line(s: String) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

impl PhishingTemplate {
    pub fn render(&self, ctx: &RenderContext<'_>) -> RenderedMessage {
        RenderedMessage {
            from_name: one_line(fill(&self.from_name, ctx, false)),
            subject: one_line(fill(&self.subject, ctx, false)),
            text: fill(&self.text_body, ctx, false),
            html: fill(&self.html_body, ctx, true),
        }
    }

    pub fn render_landing_page(&self, ctx: &RenderContext<'_>) -> String {
        fill(&self.landing_page_html, ctx, true)
    }

    /// Problems that should stop a lab-written template from being saved: unknown
    /// placeholders, a body without the tracked link, a landing page without the submit URL,
    /// and landing-page fields with a `name` attribute (browsers would send what the person
    /// typed; without names they send nothing, which is the privacy promise of the exercise).
    pub fn problems(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .unknown_placeholders()
            .into_iter()
            .map(|p| format!("unknown placeholder {{{{{p}}}}}"))
            .collect();
        if !self.text_body.contains("{{link}}") || !self.html_body.contains("{{link}}") {
            out.push("text and HTML bodies must both contain {{link}}".into());
        }
        if !self.landing_page_html.contains("{{submit_url}}") {
            out.push("landing page must post to {{submit_url}}".into());
        }
        let lower = self.landing_page_html.to_ascii_lowercase();
        if lower.contains(" name=") || lower.contains("\tname=") || lower.contains("\nname=") {
            out.push("landing page fields must not have a name attribute".into());
        }
        out
    }

    /// Placeholder names used in the template that the renderer does not know.
    pub fn unknown_placeholders(&self) -> Vec<String> {
        let mut out = Vec::new();
        for src in [
            &self.from_name,
            &self.subject,
            &self.text_body,
            &self.html_body,
            &self.landing_page_html,
        ] {
            let mut rest = src.as_str();
            while let Some(open) = rest.find("{{") {
                let after = &rest[open + 2..];
                let Some(close) = after.find("}}") else { break };
                let key = after[..close].trim();
                if !PLACEHOLDERS.contains(&key) && !out.iter().any(|k| k == key) {
                    out.push(key.to_string());
                }
                rest = &after[close + 2..];
            }
        }
        out
    }
}

/// The page shown after a click or submit: what gave the mail away and how to report one.
pub fn teaching_page_html(t: &PhishingTemplate, lab_name: &str) -> String {
    let flags: String = t
        .red_flags
        .iter()
        .map(|f| format!("<li>{}</li>", escape_html(f)))
        .collect();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>This was a phishing \
         exercise</title></head><body><h1>This was a phishing exercise by {lab}</h1>\
         <p>No harm done, and nothing you typed was kept. A real attacker would now \
         have your password or a foothold on a lab computer.</p><h2>What gave it away</h2>\
         <ul>{flags}</ul><p>Next time, use the <strong>Report phishing</strong> button or \
         forward the message to your security officer. A short refresher course has been \
         added to your training list.</p></body></html>",
        lab = escape_html(lab_name),
    )
}

/// Look up a built-in template by id.
pub fn builtin_template(id: &str) -> Result<PhishingTemplate, PhishingError> {
    builtin_templates()
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| PhishingError::UnknownTemplate(id.chars().take(64).collect()))
}

/// Lab-realistic exercises: a specimen courier, an analyzer vendor and HR.
pub fn builtin_templates() -> Vec<PhishingTemplate> {
    vec![
        PhishingTemplate {
            id: "courier-delivery".into(),
            name: "Specimen courier: missed pickup".into(),
            from_name: "MedCourier Dispatch".into(),
            subject: "Missed specimen pickup - reschedule before 4 PM today".into(),
            text_body: include_str!("../../templates/courier.txt").into(),
            html_body: include_str!("../../templates/courier.html").into(),
            landing_page_html: include_str!("../../templates/courier-landing.html").into(),
            red_flags: vec![
                "The sender domain is not the courier your lab actually contracts.".into(),
                "A deadline (\"before 4 PM\") pushes you to act before thinking.".into(),
                "Rescheduling a pickup never needs your labguard or email password.".into(),
                "The link text and the real address behind it differ.".into(),
            ],
        },
        PhishingTemplate {
            id: "vendor-firmware".into(),
            name: "Analyzer vendor: urgent firmware update".into(),
            from_name: "Analyzer Field Service".into(),
            subject: "URGENT: mandatory firmware update for your chemistry analyzer".into(),
            text_body: include_str!("../../templates/firmware.txt").into(),
            html_body: include_str!("../../templates/firmware.html").into(),
            landing_page_html: include_str!("../../templates/firmware-landing.html").into(),
            red_flags: vec![
                "Vendors schedule firmware changes with the lab manager, not by email blast."
                    .into(),
                "Installing software on an analyzer PC needs change control and validation.".into(),
                "The mail asks you to download and run a file or enable remote access.".into(),
                "Pressure: \"results may be invalid\" is meant to scare you into acting.".into(),
            ],
        },
        PhishingTemplate {
            id: "hr-benefits".into(),
            name: "HR: benefits enrollment form".into(),
            from_name: "HR Benefits Team".into(),
            subject: "Action required: confirm your benefits selection".into(),
            text_body: include_str!("../../templates/benefits.txt").into(),
            html_body: include_str!("../../templates/benefits.html").into(),
            landing_page_html: include_str!("../../templates/benefits-landing.html").into(),
            red_flags: vec![
                "Open enrollment is announced by HR in advance, on dates you know.".into(),
                "The form asks for your network password and your bank details.".into(),
                "Generic greeting and an external address pretending to be internal.".into(),
                "Threat of losing coverage if you do not act within 24 hours.".into(),
            ],
        },
    ]
}
