//! Training reminders and escalations by email: the wording comes from
//! `labguard_training::notify`, the schedule from `labguard_training::reminders`; a reminder
//! is recorded as sent once the SMTP server accepted it, so a failed one is tried again on
//! the next run and an accepted one is never repeated.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use labguard_core::{Id, Role, Staff};
use labguard_store::{Actor, Store};
use labguard_training::notify::{notice, NoticeContext};
use labguard_training::phishing::DomainAllowList;
use labguard_training::{reminders, Assignment, ReminderSchedule, ReminderStep};
use lettre::message::Mailbox;
use lettre::transport::smtp::extension::ClientId;
use lettre::{Address, Message};
use serde::Serialize;

use crate::send::{deliver, Delivery};
use crate::{allowed_domains, MailError, SmtpTarget};

#[derive(Debug, Clone)]
pub struct ReminderOptions {
    pub smtp_url: String,
    pub from_address: String,
    pub lab_name: String,
    /// The labguard web UI, for the course link.
    pub base_url: String,
    pub schedule: ReminderSchedule,
    pub timeout: std::time::Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReminderOutcome {
    pub key: String,
    pub to: String,
    pub subject: String,
    pub sent: bool,
    /// Accepted in the clear: the SMTP server offered no STARTTLS.
    pub without_tls: bool,
    pub error: Option<String>,
}

/// Sends the reminders due for `open` assignments at `now`. Escalations go to the learner's
/// manager or, without one, to every active security officer. `titles` maps course ids to
/// titles.
pub fn send_reminders(
    store: &Store,
    actor: &Actor,
    open: &[Assignment],
    titles: &BTreeMap<String, String>,
    opts: &ReminderOptions,
    now: DateTime<Utc>,
) -> Result<Vec<ReminderOutcome>, MailError> {
    let target = SmtpTarget::parse(&opts.smtp_url)?;
    let from = Address::from_str(&opts.from_address)
        .map_err(|e| MailError::BadFrom(format!("{}: {e}", opts.from_address)))?;
    let hello = ClientId::Domain(from.domain().to_string());
    let allow = DomainAllowList::new(&allowed_domains(store, &[], &opts.from_address)?)?;
    let staff: Vec<Staff> = store.list_staff(actor)?;
    let by_id: BTreeMap<Id, &Staff> = staff.iter().map(|s| (s.id, s)).collect();
    let officers: Vec<&Staff> = staff
        .iter()
        .filter(|s| s.active && s.role == Role::SecurityOfficer)
        .collect();
    let sent = store.reminders_sent(actor)?;
    let mut out = Vec::new();
    for r in reminders(open, &opts.schedule, &sent, now) {
        let Some(learner) = by_id.get(&r.staff_id) else {
            continue;
        };
        let title = titles
            .get(&r.course_id)
            .cloned()
            .unwrap_or_else(|| r.course_id.clone());
        let url = format!(
            "{}/training/course/{}",
            opts.base_url.trim_end_matches('/'),
            r.course_id
        );
        let n = notice(
            &r,
            &NoticeContext {
                lab_name: &opts.lab_name,
                learner_name: &learner.display_name,
                course_title: &title,
                course_url: &url,
            },
        );
        let (to, step): (Vec<&Staff>, &str) = match &r.step {
            ReminderStep::Before { .. } => (vec![*learner], "before"),
            ReminderStep::Escalation { manager_id, .. } => (
                match manager_id.and_then(|m| by_id.get(&m).copied()) {
                    Some(m) => vec![m],
                    None => officers.clone(),
                },
                "escalation",
            ),
        };
        for person in to {
            let mut result = ReminderOutcome {
                key: r.key.clone(),
                to: person.email.clone(),
                subject: n.subject.clone(),
                sent: false,
                without_tls: false,
                error: None,
            };
            let addr = match allow.check(&person.email) {
                Ok(a) => a,
                Err(e) => {
                    result.error = Some(format!("refused: {e}"));
                    out.push(result);
                    continue;
                }
            };
            let msg = Address::from_str(&addr)
                .map_err(|e| e.to_string())
                .and_then(|a| {
                    Message::builder()
                        .from(Mailbox::new(
                            Some(format!("{} security training", opts.lab_name)),
                            from.clone(),
                        ))
                        .to(Mailbox::new(Some(person.display_name.clone()), a))
                        .subject(n.subject.clone())
                        .body(n.text.clone())
                        .map_err(|e| e.to_string())
                });
            match msg.map(|m| deliver(&target, &hello, opts.timeout, &m)) {
                Ok(Delivery::Accepted(transport)) => {
                    result.without_tls = transport == labguard_store::MailTransport::Plain;
                    // One recipient accepting is enough to count the step as done.
                    store.record_reminder_sent(
                        actor,
                        &r.key,
                        r.staff_id,
                        &r.course_id,
                        step,
                        &addr,
                    )?;
                    result.sent = true;
                }
                Ok(Delivery::NotAccepted { error, .. }) | Ok(Delivery::Unknown(error)) => {
                    result.error = Some(error)
                }
                Err(e) => result.error = Some(e),
            }
            out.push(result);
        }
    }
    Ok(out)
}
