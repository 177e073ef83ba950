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
use labguard_training::phishing::{EventKind, TargetGroup};
use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::actor::Actor;
use crate::backend::{Row, Value};
use crate::codec::{from_json, opt_time, to_json};
pub(crate) use crate::codec::{parse_id, parse_time};
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

/// The audit action for a recipient's first event of a kind (`phishing.event.<code>`).
pub(crate) fn event_action(k: EventKind) -> Action {
    match k {
        EventKind::Sent => Action::PhishingEventSent,
        EventKind::Opened => Action::PhishingEventOpened,
        EventKind::Clicked => Action::PhishingEventClicked,
        EventKind::Submitted => Action::PhishingEventSubmitted,
        EventKind::Reported => Action::PhishingEventReported,
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

pub(crate) fn u32_col(v: &Value) -> Result<u32, StoreError> {
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
        target: from_json(target, "phishing")?,
        from_address: from.as_text()?.into(),
        smtp_url: smtp.as_text()?.into(),
        base_url: base.as_text()?.into(),
        allowed_domains: from_json(allowed, "phishing")?,
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
pub(crate) fn short(s: &str) -> String {
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
            Action::PhishingCampaignCreate,
            "phishing_campaign",
            &id,
        )?;
        let target = to_json(&c.target)?;
        let allowed = to_json(&c.allowed_domains)?;
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
                Action::PhishingCampaignCreate,
                "phishing_campaign",
                &id,
                None,
                Outcome::Success,
            )?);
            Ok(())
        })
    }

    /// Who may read campaigns, their recipients, events and deliveries: the security
    /// officer who runs them, or whoever reads the lab's reports.
    pub(crate) fn may_read_campaigns(
        &self,
        actor: &Actor,
        action: Action,
    ) -> Result<(), StoreError> {
        self.require_any(
            actor,
            &[Permission::PhishingManage, Permission::ReportsRead],
            action,
            "phishing_campaign",
        )
    }

    pub fn campaign(&self, actor: &Actor, id: Id) -> Result<Campaign, StoreError> {
        self.may_read_campaigns(actor, Action::PhishingReportRead)?;
        let mut tx = self.backend.begin()?;
        let rows = tx.query(
            &format!("SELECT {CAMPAIGN_COLS} FROM phishing_campaigns WHERE id = ?"),
            &[id.to_string().into()],
        )?;
        rows.first()
            .map(campaign_row)
            .unwrap_or_else(|| Err(StoreError::NotFound(format!("phishing campaign {id}"))))
    }

    pub fn list_campaigns(&self, actor: &Actor) -> Result<Vec<Campaign>, StoreError> {
        self.may_read_campaigns(actor, Action::PhishingCampaignList)?;
        let mut tx = self.backend.begin()?;
        tx.query(
            &format!("SELECT {CAMPAIGN_COLS} FROM phishing_campaigns ORDER BY created_at"),
            &[],
        )?
        .iter()
        .map(campaign_row)
        .collect()
    }

    pub fn campaign_recipients(
        &self,
        actor: &Actor,
        campaign: Id,
    ) -> Result<Vec<RecipientRecord>, StoreError> {
        self.may_read_campaigns(actor, Action::PhishingReportRead)?;
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
            Action::PhishingCampaignLaunch,
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
                    Action::PhishingCampaignLaunch,
                    "phishing_campaign",
                    &id,
                    None,
                    Outcome::Success,
                )?);
            }
            Ok(())
        })
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
            Action::LabSetDomains,
            "meta",
            "lab_mail_domains",
        )?;
        let v = to_json(&domains)?;
        self.write(|tx, pending| {
            tx.execute("DELETE FROM meta WHERE key = 'lab_mail_domains'", &[])?;
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('lab_mail_domains', ?)",
                &[v.clone().into()],
            )?;
            pending.push(self.entry(
                actor,
                Action::LabSetDomains,
                "meta",
                "lab_mail_domains",
                None,
                Outcome::Success,
            )?);
            Ok(())
        })
    }
}
