//! Phishing deliveries: the send state machine of one recipient (claim, sent, retry,
//! failed, unconfirmed) and the record of every SMTP attempt. A claim commits before the
//! mail is handed to SMTP; see `phishing.rs` for the states.

use chrono::{DateTime, Utc};
use labguard_audit::Outcome;
use labguard_core::{Id, Permission};
use labguard_training::phishing::TrackingToken;
use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::actor::Actor;
use crate::backend::Tx;
use crate::codec::{parse_id, parse_time};
use crate::phishing::{short, u32_col};
use crate::store::{rfc3339, Store};
use crate::StoreError;

/// How an accepted mail crossed the network to the lab's SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MailTransport {
    /// STARTTLS or implicit TLS (smtps).
    Tls,
    /// In the clear: an opportunistic sender met a server that offered no STARTTLS.
    Plain,
}

impl MailTransport {
    pub fn code(self) -> &'static str {
        match self {
            MailTransport::Tls => "tls",
            MailTransport::Plain => "plain",
        }
    }

    fn from_code(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "tls" => MailTransport::Tls,
            "plain" => MailTransport::Plain,
            _ => return Err(StoreError::Corrupt("phishing delivery transport".into())),
        })
    }
}

/// One SMTP attempt. `outcome` is `accepted`, `deferred` (will retry) or `gave-up`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub recipient_id: Id,
    pub attempt: u32,
    pub at: DateTime<Utc>,
    pub outcome: String,
    pub detail: Option<String>,
    /// For accepted mail; `None` when no transaction took place or before schema v11.
    pub transport: Option<MailTransport>,
}

impl Store {
    /// Claims a pending recipient for one send attempt and binds the token (by digest) to it.
    /// Returns false if the row is not pending any more (sent, being sent by another process,
    /// or given up): the caller must then not send. This commit happens before the mail goes
    /// out, so whatever happens next, the row is never sent again unless the SMTP server
    /// definitely refused the message ([`Store::mark_retry`]).
    pub fn claim_recipient(
        &self,
        actor: &Actor,
        recipient: Id,
        token: &TrackingToken,
    ) -> Result<bool, StoreError> {
        let id = recipient.to_string();
        self.authorize(
            actor,
            Permission::PhishingManage,
            Action::PhishingSendClaim,
            "phishing_recipient",
            &id,
        )?;
        let digest = token.digest();
        self.write(|tx, pending| {
            let n = tx.execute(
                "UPDATE phishing_recipients SET status = 'sending', token_digest = ?, attempts = attempts + 1 WHERE id = ? AND status = 'pending'",
                &[digest.clone().into(), id.clone().into()],
            )?;
            if n == 1 {
                pending.push(self.entry(
                    actor,
                    Action::PhishingSendClaim,
                    "phishing_recipient",
                    &id,
                    None,
                    Outcome::Success,
                )?);
            }
            Ok(n == 1)
        })
    }

    fn delivery(
        &self,
        tx: &mut dyn Tx,
        recipient: &str,
        outcome: &str,
        detail: Option<&str>,
        transport: Option<MailTransport>,
    ) -> Result<(), StoreError> {
        tx.execute(
            "INSERT INTO phishing_deliveries (id, recipient_id, attempt, at, outcome, detail, transport) SELECT ?, id, attempts, ?, ?, ?, ? FROM phishing_recipients WHERE id = ?",
            &[
                Id::new_v4().to_string().into(),
                rfc3339(self.now()).into(),
                outcome.into(),
                detail.map(short).into(),
                transport.map(MailTransport::code).into(),
                recipient.into(),
            ],
        )?;
        Ok(())
    }

    /// The SMTP server accepted the mail, over `transport`. A plain delivery is recorded as
    /// such and shown in the campaign report: the lab learns its relay offers no STARTTLS.
    pub fn mark_sent(
        &self,
        actor: &Actor,
        recipient: Id,
        transport: MailTransport,
    ) -> Result<(), StoreError> {
        let id = recipient.to_string();
        self.authorize(
            actor,
            Permission::PhishingManage,
            Action::PhishingSend,
            "phishing_recipient",
            &id,
        )?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let n = tx.execute(
                "UPDATE phishing_recipients SET status = 'sent', sent_at = ?, next_attempt_at = NULL, last_error = NULL WHERE id = ? AND status = 'sending'",
                &[now.clone().into(), id.clone().into()],
            )?;
            if n != 1 {
                return Err(StoreError::Conflict);
            }
            self.delivery(tx, &id, "accepted", None, Some(transport))?;
            tx.execute(
                "INSERT INTO phishing_events (id, campaign_id, recipient_id, staff_id, kind, at) SELECT ?, campaign_id, id, staff_id, 'sent', ? FROM phishing_recipients WHERE id = ? ON CONFLICT DO NOTHING",
                &[Id::new_v4().to_string().into(), now.clone().into(), id.clone().into()],
            )?;
            pending.push(self.entry(actor, Action::PhishingSend, "phishing_recipient", &id, None, Outcome::Success)?);
            Ok(())
        })
    }

    /// The mail was definitely not accepted (server down before the transaction, or a 4xx
    /// reply). Returns the row to `pending` for `next_at` with its token unbound (a new token
    /// is drawn for the next attempt), or marks it `failed` when `give_up`.
    pub fn mark_retry(
        &self,
        actor: &Actor,
        recipient: Id,
        error: &str,
        next_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let id = recipient.to_string();
        self.authorize(
            actor,
            Permission::PhishingManage,
            Action::PhishingSendRetry,
            "phishing_recipient",
            &id,
        )?;
        self.write(|tx, pending| {
            let (status, outcome, action) = match next_at {
                Some(_) => ("pending", "deferred", Action::PhishingSendRetry),
                None => ("failed", "gave-up", Action::PhishingSendFail),
            };
            let n = tx.execute(
                "UPDATE phishing_recipients SET status = ?, token_digest = NULL, next_attempt_at = ?, last_error = ? WHERE id = ? AND status = 'sending'",
                &[
                    status.into(),
                    next_at.map(rfc3339).into(),
                    short(error).into(),
                    id.clone().into(),
                ],
            )?;
            if n != 1 {
                return Err(StoreError::Conflict);
            }
            self.delivery(tx, &id, outcome, Some(error), None)?;
            pending.push(self.entry(actor, action, "phishing_recipient", &id, None, Outcome::Error)?);
            Ok(())
        })
    }

    /// The mail was refused for good (5xx, address outside the allow-list). The token stays
    /// bound only if it may have gone out; a refusal means it did not, so it is dropped.
    pub fn mark_failed(&self, actor: &Actor, recipient: Id, error: &str) -> Result<(), StoreError> {
        self.mark_retry(actor, recipient, error, None)
    }

    /// The connection failed after the mail may have been handed over. The row stays
    /// claimed (`sending`), so it is never sent again; the report shows it as unconfirmed.
    pub fn mark_unconfirmed(
        &self,
        actor: &Actor,
        recipient: Id,
        error: &str,
    ) -> Result<(), StoreError> {
        let id = recipient.to_string();
        self.authorize(
            actor,
            Permission::PhishingManage,
            Action::PhishingSendUnconfirmed,
            "phishing_recipient",
            &id,
        )?;
        self.write(|tx, pending| {
            tx.execute(
                "UPDATE phishing_recipients SET last_error = ? WHERE id = ? AND status = 'sending'",
                &[short(error).into(), id.clone().into()],
            )?;
            self.delivery(tx, &id, "unconfirmed", Some(error), None)?;
            pending.push(self.entry(
                actor,
                Action::PhishingSendUnconfirmed,
                "phishing_recipient",
                &id,
                None,
                Outcome::Error,
            )?);
            Ok(())
        })
    }

    /// Recorded delivery attempts of a campaign, oldest first.
    pub fn campaign_deliveries(
        &self,
        actor: &Actor,
        campaign: Id,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.may_read_campaigns(actor, Action::PhishingReportRead)?;
        let mut tx = self.backend.begin()?;
        tx.query(
            "SELECT d.recipient_id, d.attempt, d.at, d.outcome, d.detail, d.transport FROM phishing_deliveries d JOIN phishing_recipients r ON r.id = d.recipient_id WHERE r.campaign_id = ? ORDER BY d.at, d.attempt",
            &[campaign.to_string().into()],
        )?
        .iter()
        .map(|r| {
            let [rid, n, at, outcome, detail, transport] = r.as_slice() else {
                return Err(StoreError::Corrupt("delivery row shape".into()));
            };
            Ok(Delivery {
                recipient_id: parse_id(rid)?,
                attempt: u32_col(n)?,
                at: parse_time(at)?,
                outcome: outcome.as_text()?.to_string(),
                detail: detail.opt_text()?.map(str::to_string),
                transport: transport
                    .opt_text()?
                    .map(MailTransport::from_code)
                    .transpose()?,
            })
        })
        .collect()
    }
}
