//! Phishing campaigns: configuration, recipients and their delivery state, and the events
//! tracking links record. Sending mail is not done here (the mail crate drives these
//! functions); this module only guarantees the state machine that keeps it at most one copy
//! per recipient:
//!
//! `pending` --claim--> `sending` --accepted--> `sent`
//!                            \--refused (4xx, server down)--> `pending` (later) / `failed`
//!
//! A claim commits before the mail is handed to SMTP, so a crash while sending leaves the row
//! in `sending`, which is never claimed again.

use chrono::{DateTime, Utc};
use labguard_audit::Outcome;
use labguard_core::{Id, Permission, Role};
use labguard_training::phishing::{EventKind, TargetGroup, TrackingToken};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::backend::{Row, Tx, Value};
use crate::store::{rfc3339, Store};
use crate::StoreError;

/// Campaign settings as created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: Id,
    pub name: String,
    pub template_id: String,
    pub target: TargetGroup,
    pub from_address: String,
    pub smtp_url: String,
    pub base_url: String,
    pub allowed_domains: Vec<String>,
    pub per_minute: u32,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub max_attempts: u32,
    pub created_at: DateTime<Utc>,
    pub launched_at: Option<DateTime<Utc>>,
}

/// A person to mail, chosen when the campaign is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRecipient {
    pub staff_id: Id,
    pub role: Role,
    pub email: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryStatus {
    Pending,
    Sending,
    Sent,
    Failed,
}

impl DeliveryStatus {
    pub fn code(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sending => "sending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
        }
    }

    fn from_code(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "pending" => DeliveryStatus::Pending,
            "sending" => DeliveryStatus::Sending,
            "sent" => DeliveryStatus::Sent,
            "failed" => DeliveryStatus::Failed,
            _ => return Err(StoreError::Corrupt("phishing recipient status".into())),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientRecord {
    pub id: Id,
    pub campaign_id: Id,
    pub staff_id: Id,
    pub role: Role,
    pub email: String,
    pub display_name: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

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

/// What a tracking request recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedEvent {
    pub campaign_id: Id,
    pub staff_id: Id,
    pub template_id: String,
    pub kind: EventKind,
    /// False when the same kind was already recorded for this recipient.
    pub first: bool,
    /// True when this event assigned the phishing course as remedial training.
    pub remedial_assigned: bool,
}

pub fn event_code(k: EventKind) -> &'static str {
    match k {
        EventKind::Sent => "sent",
        EventKind::Opened => "opened",
        EventKind::Clicked => "clicked",
        EventKind::Submitted => "submitted",
        EventKind::Reported => "reported",
    }
}

pub(crate) fn event_from_code(s: &str) -> Result<EventKind, StoreError> {
    Ok(match s {
        "sent" => EventKind::Sent,
        "opened" => EventKind::Opened,
        "clicked" => EventKind::Clicked,
        "submitted" => EventKind::Submitted,
        "reported" => EventKind::Reported,
        _ => return Err(StoreError::Corrupt("phishing event kind".into())),
    })
}

pub(crate) fn parse_time(v: &Value) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(v.as_text()?)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt("timestamp".into()))
}

fn opt_time(v: &Value) -> Result<Option<DateTime<Utc>>, StoreError> {
    match v {
        Value::Null => Ok(None),
        v => parse_time(v).map(Some),
    }
}

pub(crate) fn parse_id(v: &Value) -> Result<Id, StoreError> {
    Id::parse_str(v.as_text()?).map_err(|_| StoreError::Corrupt("id column".into()))
}

pub(crate) fn json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("json: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, StoreError> {
    serde_json::from_str(v.as_text()?).map_err(|_| StoreError::Corrupt("json column".into()))
}

fn u32_col(v: &Value) -> Result<u32, StoreError> {
    u32::try_from(v.as_int()?).map_err(|_| StoreError::Corrupt("count out of range".into()))
}

const CAMPAIGN_COLS: &str = "id, name, template_id, target, from_address, smtp_url, base_url, allowed, per_minute, window_start, window_end, max_attempts, created_at, launched_at";

fn campaign_row(r: &Row) -> Result<Campaign, StoreError> {
    let [id, name, tpl, target, from, smtp, base, allowed, rate, ws, we, max, created, launched] =
        r.as_slice()
    else {
        return Err(StoreError::Corrupt("campaign row shape".into()));
    };
    Ok(Campaign {
        id: parse_id(id)?,
        name: name.as_text()?.into(),
        template_id: tpl.as_text()?.into(),
        target: from_json(target)?,
        from_address: from.as_text()?.into(),
        smtp_url: smtp.as_text()?.into(),
        base_url: base.as_text()?.into(),
        allowed_domains: from_json(allowed)?,
        per_minute: u32_col(rate)?,
        window_start: parse_time(ws)?,
        window_end: parse_time(we)?,
        max_attempts: u32_col(max)?,
        created_at: parse_time(created)?,
        launched_at: opt_time(launched)?,
    })
}

const RECIPIENT_COLS: &str = "id, campaign_id, staff_id, role, email, display_name, status, attempts, next_attempt_at, last_error, sent_at";

fn recipient_row(r: &Row) -> Result<RecipientRecord, StoreError> {
    let [id, cid, sid, role, email, name, status, attempts, next, err, sent] = r.as_slice() else {
        return Err(StoreError::Corrupt("recipient row shape".into()));
    };
    Ok(RecipientRecord {
        id: parse_id(id)?,
        campaign_id: parse_id(cid)?,
        staff_id: parse_id(sid)?,
        role: Role::from_code(role.as_text()?)?,
        email: email.as_text()?.into(),
        display_name: name.as_text()?.into(),
        status: DeliveryStatus::from_code(status.as_text()?)?,
        attempts: u32_col(attempts)?,
        next_attempt_at: opt_time(next)?,
        last_error: err.opt_text()?.map(str::to_string),
        sent_at: opt_time(sent)?,
    })
}

/// SMTP replies can be long and may echo the address; keep what is useful for the report.
fn short(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

impl Store {
    /// Stores a campaign and the people it will mail (chosen and allow-list-checked by the
    /// caller with `labguard_training::phishing::plan_recipients`).
    pub fn create_campaign(
        &self,
        actor: &Actor,
        c: &Campaign,
        recipients: &[NewRecipient],
    ) -> Result<(), StoreError> {
        let id = c.id.to_string();
        self.authorize(
            actor,
            Permission::PhishingManage,
            "phishing.campaign.create",
            "phishing_campaign",
            &id,
        )?;
        let target = json(&c.target)?;
        let allowed = json(&c.allowed_domains)?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            tx.execute(
                &format!("INSERT INTO phishing_campaigns ({CAMPAIGN_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"),
                &[
                    id.clone().into(),
                    c.name.clone().into(),
                    c.template_id.clone().into(),
                    target.clone().into(),
                    c.from_address.clone().into(),
                    c.smtp_url.clone().into(),
                    c.base_url.clone().into(),
                    allowed.clone().into(),
                    Value::Int(i64::from(c.per_minute)),
                    rfc3339(c.window_start).into(),
                    rfc3339(c.window_end).into(),
                    Value::Int(i64::from(c.max_attempts)),
                    now.clone().into(),
                ],
            )?;
            for r in recipients {
                tx.execute(
                    "INSERT INTO phishing_recipients (id, campaign_id, staff_id, role, email, display_name, token_digest, status, attempts, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, NULL, 'pending', 0, NULL)",
                    &[
                        Id::new_v4().to_string().into(),
                        id.clone().into(),
                        r.staff_id.to_string().into(),
                        r.role.code().into(),
                        r.email.clone().into(),
                        r.display_name.clone().into(),
                    ],
                )?;
            }
            pending.push(self.entry(
                actor,
                "phishing.campaign.create",
                "phishing_campaign",
                &id,
                None,
                Outcome::Success,
            )?);
            Ok(())
        })
    }

    pub fn campaign(&self, id: Id) -> Result<Campaign, StoreError> {
        let mut tx = self.backend.begin()?;
        let rows = tx.query(
            &format!("SELECT {CAMPAIGN_COLS} FROM phishing_campaigns WHERE id = ?"),
            &[id.to_string().into()],
        )?;
        rows.first()
            .map(campaign_row)
            .unwrap_or_else(|| Err(StoreError::NotFound(format!("phishing campaign {id}"))))
    }

    pub fn list_campaigns(&self) -> Result<Vec<Campaign>, StoreError> {
        let mut tx = self.backend.begin()?;
        tx.query(
            &format!("SELECT {CAMPAIGN_COLS} FROM phishing_campaigns ORDER BY created_at"),
            &[],
        )?
        .iter()
        .map(campaign_row)
        .collect()
    }

    pub fn campaign_recipients(&self, campaign: Id) -> Result<Vec<RecipientRecord>, StoreError> {
        let mut tx = self.backend.begin()?;
        tx.query(
            &format!(
                "SELECT {RECIPIENT_COLS} FROM phishing_recipients WHERE campaign_id = ? ORDER BY id"
            ),
            &[campaign.to_string().into()],
        )?
        .iter()
        .map(recipient_row)
        .collect()
    }

    /// Records the launch time (first launch only; a resumed launch keeps it).
    pub fn mark_campaign_launched(&self, actor: &Actor, campaign: Id) -> Result<(), StoreError> {
        let id = campaign.to_string();
        self.authorize(
            actor,
            Permission::PhishingManage,
            "phishing.campaign.launch",
            "phishing_campaign",
            &id,
        )?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let n = tx.execute(
                "UPDATE phishing_campaigns SET launched_at = ? WHERE id = ? AND launched_at IS NULL",
                &[now.clone().into(), id.clone().into()],
            )?;
            if n == 1 {
                pending.push(self.entry(
                    actor,
                    "phishing.campaign.launch",
                    "phishing_campaign",
                    &id,
                    None,
                    Outcome::Success,
                )?);
            }
            Ok(())
        })
    }

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
            "phishing.send.claim",
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
                    "phishing.send.claim",
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
            "phishing.send",
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
            pending.push(self.entry(actor, "phishing.send", "phishing_recipient", &id, None, Outcome::Success)?);
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
            "phishing.send.retry",
            "phishing_recipient",
            &id,
        )?;
        self.write(|tx, pending| {
            let (status, outcome, action) = match next_at {
                Some(_) => ("pending", "deferred", "phishing.send.retry"),
                None => ("failed", "gave-up", "phishing.send.fail"),
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
            "phishing.send.unconfirmed",
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
                "phishing.send.unconfirmed",
                "phishing_recipient",
                &id,
                None,
                Outcome::Error,
            )?);
            Ok(())
        })
    }

    /// Recorded delivery attempts of a campaign, oldest first.
    pub fn campaign_deliveries(&self, campaign: Id) -> Result<Vec<Delivery>, StoreError> {
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

    /// The lab's own mail domains: campaigns may mail only these.
    pub fn lab_mail_domains(&self) -> Result<Vec<String>, StoreError> {
        match self.meta("lab_mail_domains")? {
            Some(v) => serde_json::from_str(&v)
                .map_err(|_| StoreError::Corrupt("meta.lab_mail_domains".into())),
            None => Ok(Vec::new()),
        }
    }

    pub fn set_lab_mail_domains(
        &self,
        actor: &Actor,
        domains: &[String],
    ) -> Result<(), StoreError> {
        self.authorize(
            actor,
            Permission::PhishingManage,
            "lab.set-domains",
            "meta",
            "lab_mail_domains",
        )?;
        let v = json(&domains)?;
        self.write(|tx, pending| {
            tx.execute("DELETE FROM meta WHERE key = 'lab_mail_domains'", &[])?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('lab_mail_domains', ?)",
                &[v.clone().into()],
            )?;
            pending.push(self.entry(
                actor,
                "lab.set-domains",
                "meta",
                "lab_mail_domains",
                None,
                Outcome::Success,
            )?);
            Ok(())
        })
    }
}
