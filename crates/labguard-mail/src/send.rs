//! Sending one campaign: pacing, allow-list, claims, SMTP, retries.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use labguard_core::Id;
use labguard_store::{Actor, DeliveryStatus, MailTransport, RecipientRecord, Store};
use labguard_training::phishing::{
    builtin_template, DomainAllowList, PhishingTemplate, RenderContext, TrackingToken, TrackingUrls,
};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, Message};
use serde::Serialize;

use crate::target::{SmtpTarget, TlsMode};
use crate::MailError;

/// Time for the sender. Production sleeps for real; tests pass a clock they move, so rate
/// limits and backoff are checked without timing anything.
pub trait Pace {
    fn now(&self) -> DateTime<Utc>;
    fn sleep(&self, d: std::time::Duration);
}

pub struct RealPace;

impl Pace for RealPace {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn sleep(&self, d: std::time::Duration) {
        std::thread::sleep(d);
    }
}

#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// Shown in the mail and landing page (`{{lab_name}}`).
    pub lab_name: String,
    /// Delay before the first retry; it doubles with each further attempt.
    pub backoff_base: Duration,
    /// Longest delay between two attempts.
    pub backoff_max: Duration,
    /// For connecting and for each SMTP reply.
    pub timeout: std::time::Duration,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        LaunchOptions {
            lab_name: "labguard".into(),
            backoff_base: Duration::seconds(30),
            backoff_max: Duration::minutes(30),
            timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// Where one recipient ended up after this launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Accepted by the SMTP server.
    Sent,
    /// Refused for good, or given up after the last attempt.
    Failed,
    /// Handed over but the connection dropped before the server confirmed: maybe delivered.
    /// Never re-sent (at most one copy).
    Unconfirmed,
    /// Not tried yet, or waiting for a retry when the window closed.
    Pending,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecipientOutcome {
    pub staff_id: Id,
    pub email: String,
    pub outcome: Outcome,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// One SMTP attempt as seen by the sender (times from [`Pace`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptLog {
    pub staff_id: Id,
    pub at: DateTime<Utc>,
    pub accepted: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LaunchReport {
    pub campaign_id: Id,
    pub sent: usize,
    pub failed: usize,
    pub unconfirmed: usize,
    pub pending: usize,
    /// The sending window ended with recipients still pending.
    pub window_closed: bool,
    /// Mails of this launch the server accepted in the clear (it offered no STARTTLS).
    pub sent_without_tls: usize,
    pub attempts: Vec<AttemptLog>,
    pub recipients: Vec<RecipientOutcome>,
}

/// What one SMTP transaction proved.
pub(crate) enum Delivery {
    Accepted(MailTransport),
    /// The server did not take the message: it could not be reached, or replied with an
    /// error. `retry` for temporary conditions (down, 4xx).
    NotAccepted {
        retry: bool,
        error: String,
    },
    /// The connection failed after the message may have been handed over.
    Unknown(String),
}

pub(crate) fn deliver(
    target: &SmtpTarget,
    hello: &ClientId,
    timeout: std::time::Duration,
    msg: &Message,
) -> Delivery {
    let params = || TlsParameters::new(target.host.clone());
    let wrapper = match target.tls {
        TlsMode::Wrapper => match params() {
            Ok(p) => Some(p),
            Err(e) => {
                return Delivery::NotAccepted {
                    retry: false,
                    error: format!("TLS set-up: {e}"),
                }
            }
        },
        _ => None,
    };
    let mut conn = match SmtpConnection::connect(
        (target.host.as_str(), target.port),
        Some(timeout),
        hello,
        wrapper.as_ref(),
        None,
    ) {
        Ok(c) => c,
        // Nothing was handed over: safe to try again later.
        Err(e) => {
            return Delivery::NotAccepted {
                retry: true,
                error: format!("cannot reach {}:{}: {e}", target.host, target.port),
            }
        }
    };
    let starttls = match target.tls {
        TlsMode::Opportunistic => conn.can_starttls(),
        TlsMode::Required => {
            if !conn.can_starttls() {
                conn.abort();
                return Delivery::NotAccepted {
                    retry: false,
                    error: "the server does not offer STARTTLS and TLS is required".into(),
                };
            }
            true
        }
        TlsMode::Wrapper => false,
    };
    if starttls {
        let r = params().and_then(|p| conn.starttls(&p, hello));
        if let Err(e) = r {
            conn.abort();
            return Delivery::NotAccepted {
                retry: true,
                error: format!("STARTTLS failed: {e}"),
            };
        }
    }
    // What went over the wire, not what was asked for: opportunistic mode against a
    // server without STARTTLS sends in the clear, and the report must say so.
    let transport = if starttls || target.tls == TlsMode::Wrapper {
        MailTransport::Tls
    } else {
        MailTransport::Plain
    };
    let result = conn.send(msg.envelope(), &msg.formatted());
    match result {
        Ok(_) => {
            let _ = conn.quit();
            Delivery::Accepted(transport)
        }
        Err(e) if e.is_transient() => Delivery::NotAccepted {
            retry: true,
            error: e.to_string(),
        },
        Err(e) if e.is_permanent() || e.is_client() => Delivery::NotAccepted {
            retry: false,
            error: e.to_string(),
        },
        Err(e) => Delivery::Unknown(e.to_string()),
    }
}

fn random_token() -> Result<TrackingToken, MailError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| MailError::Random(e.to_string()))?;
    Ok(TrackingToken::from_random(b))
}

fn build_message(
    template: &PhishingTemplate,
    from: &Address,
    r: &RecipientRecord,
    to: &str,
    base_url: &str,
    token: &TrackingToken,
    lab_name: &str,
) -> Result<Message, String> {
    let urls = TrackingUrls::new(base_url, token);
    let m = template.render(&RenderContext {
        display_name: &r.display_name,
        lab_name,
        urls: &urls,
    });
    let to = Address::from_str(to).map_err(|e| format!("recipient address: {e}"))?;
    Message::builder()
        .from(Mailbox::new(Some(m.from_name), from.clone()))
        .to(Mailbox::new(Some(r.display_name.clone()), to))
        .subject(m.subject)
        .multipart(MultiPart::alternative_plain_html(m.text, m.html))
        .map_err(|e| format!("building the message: {e}"))
}

fn backoff(opts: &LaunchOptions, attempt: u32) -> Duration {
    let factor = 1i32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(i32::MAX);
    opts.backoff_base
        .checked_mul(factor)
        .unwrap_or(opts.backoff_max)
        .min(opts.backoff_max)
}

fn to_std(d: Duration) -> std::time::Duration {
    d.to_std().unwrap_or_default()
}

/// Sends campaign `id`, resuming where a previous launch stopped. Returns when every
/// recipient is sent, failed or unconfirmed, or when the window closes. `progress(done,
/// total)` is called after each recipient settles.
pub fn launch(
    store: &Store,
    actor: &Actor,
    id: Id,
    opts: &LaunchOptions,
    pace: &dyn Pace,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<LaunchReport, MailError> {
    let c = store.campaign(actor, id)?;
    let template = builtin_template(&c.template_id)?;
    let allow = DomainAllowList::new(&c.allowed_domains)?;
    let target = SmtpTarget::parse(&c.smtp_url)?;
    let from = Address::from_str(&c.from_address)
        .map_err(|e| MailError::BadFrom(format!("{}: {e}", c.from_address)))?;
    let hello = ClientId::Domain(from.domain().to_string());
    let gap = Duration::milliseconds(60_000 / i64::from(c.per_minute.max(1)));
    store.mark_campaign_launched(actor, id)?;

    let mut attempts = Vec::new();
    let mut last_attempt: Option<DateTime<Utc>> = None;
    let mut window_closed = false;
    let mut plain = 0usize;
    loop {
        let all = store.campaign_recipients(actor, id)?;
        let total = all.len();
        let settled = all
            .iter()
            .filter(|r| r.status != DeliveryStatus::Pending)
            .count();
        progress(settled, total);
        let now = pace.now();
        if now < c.window_start {
            pace.sleep(to_std(c.window_start - now));
            continue;
        }
        let mut waiting: Vec<&RecipientRecord> = all
            .iter()
            .filter(|r| r.status == DeliveryStatus::Pending)
            .collect();
        if waiting.is_empty() {
            break;
        }
        waiting.sort_by_key(|r| r.next_attempt_at);
        let Some(r) = waiting.first().copied() else {
            break;
        };
        // Rate limit: every attempt, successful or not, waits its turn.
        let mut at = r.next_attempt_at.unwrap_or(now).max(now);
        if let Some(last) = last_attempt {
            at = at.max(last + gap);
        }
        if at >= c.window_end {
            window_closed = true;
            break;
        }
        if at > now {
            pace.sleep(to_std(at - now));
        }
        let token = random_token()?;
        if !store.claim_recipient(actor, r.id, &token)? {
            continue; // another sender took it
        }
        let attempt = r.attempts + 1;
        let checked = allow.check(&r.email);
        let to = match checked {
            Ok(to) => to,
            Err(e) => {
                store.mark_failed(actor, r.id, &format!("refused: {e}"))?;
                continue;
            }
        };
        let sent_at = pace.now();
        last_attempt = Some(sent_at);
        let delivery = match build_message(
            &template,
            &from,
            r,
            &to,
            &c.base_url,
            &token,
            &opts.lab_name,
        ) {
            Ok(msg) => deliver(&target, &hello, opts.timeout, &msg),
            Err(e) => Delivery::NotAccepted {
                retry: false,
                error: e,
            },
        };
        drop(token);
        let (accepted, error) = match delivery {
            Delivery::Accepted(transport) => {
                store.mark_sent(actor, r.id, transport)?;
                if transport == MailTransport::Plain {
                    plain += 1;
                }
                (true, None)
            }
            Delivery::NotAccepted { retry, error } => {
                if retry && attempt < c.max_attempts {
                    let next = pace.now() + backoff(opts, attempt);
                    store.mark_retry(actor, r.id, &error, Some(next))?;
                } else if retry {
                    store.mark_failed(
                        actor,
                        r.id,
                        &format!("gave up after {attempt} attempts: {error}"),
                    )?;
                } else {
                    store.mark_failed(actor, r.id, &error)?;
                }
                (false, Some(error))
            }
            Delivery::Unknown(error) => {
                store.mark_unconfirmed(actor, r.id, &error)?;
                (false, Some(error))
            }
        };
        attempts.push(AttemptLog {
            staff_id: r.staff_id,
            at: sent_at,
            accepted,
            error,
        });
    }

    let recipients: Vec<RecipientOutcome> = store
        .campaign_recipients(actor, id)?
        .into_iter()
        .map(|r| RecipientOutcome {
            staff_id: r.staff_id,
            email: r.email,
            outcome: match r.status {
                DeliveryStatus::Sent => Outcome::Sent,
                DeliveryStatus::Failed => Outcome::Failed,
                DeliveryStatus::Sending => Outcome::Unconfirmed,
                DeliveryStatus::Pending => Outcome::Pending,
            },
            attempts: r.attempts,
            last_error: r.last_error,
        })
        .collect();
    let count = |o: Outcome| recipients.iter().filter(|r| r.outcome == o).count();
    Ok(LaunchReport {
        campaign_id: id,
        sent: count(Outcome::Sent),
        failed: count(Outcome::Failed),
        unconfirmed: count(Outcome::Unconfirmed),
        pending: count(Outcome::Pending),
        window_closed,
        sent_without_tls: plain,
        attempts,
        recipients,
    })
}
