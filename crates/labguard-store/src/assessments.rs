//! Scheduled device security assessments: a checklist, findings, evidence and the
//! security officer's sign-off; each device owes one every `assess_every_months` months.

use chrono::{DateTime, Months, NaiveDate, Utc};
use labguard_audit::Outcome;
use labguard_core::{Id, Permission, Role};
use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::actor::{Actor, ActorKind};
use crate::assets::record_change;
use crate::backend::Row;
use crate::codec::{parse_time_text, text, to_json};
use crate::store::{rfc3339, Store};
use crate::StoreError;

/// The default checklist every assessment covers.
pub const DEFAULT_CHECKLIST: [&str; 7] = [
    "default-passwords-changed",
    "unused-services-off",
    "encryption-on",
    "segmentation",
    "vendor-support",
    "backups",
    "physical-security",
];

/// Outcome of one checklist item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckResult {
    Pass,
    Fail,
    NotApplicable,
    NotChecked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistItem {
    pub item: String,
    pub result: CheckResult,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A recorded assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub id: Id,
    pub device: String,
    pub performed_at: DateTime<Utc>,
    pub assessor: String,
    pub checklist: Vec<ChecklistItem>,
    pub findings: Vec<String>,
    /// References to evidence (file names with SHA-256, ticket numbers, photos).
    pub evidence: Vec<String>,
    pub signed_off_by: Option<String>,
    pub signed_off_at: Option<DateTime<Utc>>,
    pub next_due: NaiveDate,
}

/// What the caller records.
#[derive(Debug, Clone, Default)]
pub struct NewAssessment {
    pub checklist: Vec<ChecklistItem>,
    pub findings: Vec<String>,
    pub evidence: Vec<String>,
    /// Sign off now as the acting security officer.
    pub sign_off: bool,
}

/// Where a device stands on its assessment schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleEntry {
    pub device: String,
    pub last_assessed: Option<DateTime<Utc>>,
    pub signed_off: bool,
    pub next_due: NaiveDate,
    pub overdue: bool,
}

/// Only the security officer (or the local operator acting as one) signs off.
fn may_sign_off(actor: &Actor) -> bool {
    matches!(
        actor.kind,
        ActorKind::Staff(Role::SecurityOfficer) | ActorKind::Operator
    )
}

fn add_months(t: DateTime<Utc>, months: u32) -> NaiveDate {
    let d = t.date_naive();
    d.checked_add_months(Months::new(months)).unwrap_or(d)
}

fn decode(r: &Row) -> Result<Assessment, StoreError> {
    let t = |i| text(r, i).map(Option::unwrap_or_default);
    let j = |i| -> Result<Vec<String>, StoreError> {
        serde_json::from_str(&t(i)?).map_err(|_| StoreError::Corrupt("assessment JSON".into()))
    };
    Ok(Assessment {
        id: Id::parse_str(&t(0)?).map_err(|_| StoreError::Corrupt("assessment id".into()))?,
        device: t(1)?,
        performed_at: parse_time_text(&t(2)?)?,
        assessor: t(3)?,
        checklist: serde_json::from_str(&t(4)?)
            .map_err(|_| StoreError::Corrupt("assessment checklist".into()))?,
        findings: j(5)?,
        evidence: j(6)?,
        signed_off_by: text(r, 7)?,
        signed_off_at: text(r, 8)?.map(|s| parse_time_text(&s)).transpose()?,
        next_due: t(9)?
            .parse()
            .map_err(|_| StoreError::Corrupt("assessment due date".into()))?,
    })
}

const COLUMNS: &str = "a.id, d.name, a.performed_at, a.assessor, a.checklist, a.findings, a.evidence, a.signed_off_by, a.signed_off_at, a.next_due";

impl Store {
    /// Records an assessment of `device`. Checklist items the caller left out of the
    /// default list are recorded as `not-checked`. Signing off needs the security officer.
    pub fn record_assessment(
        &self,
        actor: &Actor,
        device: &str,
        new: &NewAssessment,
    ) -> Result<Assessment, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesManage,
            Action::AssessmentRecord,
            "device",
            "",
        )?;
        if new.sign_off && !may_sign_off(actor) {
            self.append_entries(&[self.entry(
                actor,
                Action::AssessmentSignOff,
                "device",
                "",
                None,
                Outcome::Denied,
            )?])?;
            return Err(StoreError::Denied(format!(
                "the {} role may not sign off assessments (security officer only)",
                actor.role_code()
            )));
        }
        let now = self.now();
        let now_s = rfc3339(now);
        let mut checklist = new.checklist.clone();
        for item in DEFAULT_CHECKLIST {
            if !checklist.iter().any(|c| c.item == item) {
                checklist.push(ChecklistItem {
                    item: item.into(),
                    result: CheckResult::NotChecked,
                    note: None,
                });
            }
        }
        self.write(|tx, pending| {
            let d = self.materialize_instrument(tx, pending, actor, device, &now_s)?;
            let device_id = d.id.map(|i| i.to_string()).unwrap_or_default();
            let a = Assessment {
                id: Id::new_v4(),
                device: d.asset.id.clone(),
                performed_at: now,
                assessor: actor.id.clone(),
                checklist: checklist.clone(),
                findings: new.findings.clone(),
                evidence: new.evidence.clone(),
                signed_off_by: new.sign_off.then(|| actor.id.clone()),
                signed_off_at: new.sign_off.then_some(now),
                next_due: add_months(now, d.assess_every_months),
            };
            tx.execute(
                "INSERT INTO device_assessments (id, device_id, performed_at, assessor, checklist, findings, evidence, signed_off_by, signed_off_at, next_due) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &[
                    a.id.to_string().into(),
                    device_id.clone().into(),
                    now_s.clone().into(),
                    a.assessor.clone().into(),
                    to_json(&a.checklist)?.into(),
                    to_json(&a.findings)?.into(),
                    to_json(&a.evidence)?.into(),
                    a.signed_off_by.clone().into(),
                    a.signed_off_at.map(rfc3339).into(),
                    a.next_due.to_string().into(),
                ],
            )?;
            record_change(tx, &device_id, actor, &now_s, Action::AssessmentRecord, None, Some(to_json(&a)?))?;
            pending.push(self.entry(actor, Action::AssessmentRecord, "device", &device_id, None, Outcome::Success)?);
            if new.sign_off {
                pending.push(self.entry(actor, Action::AssessmentSignOff, "device", &device_id, None, Outcome::Success)?);
            }
            Ok(a)
        })
    }

    /// A device's assessments, newest first.
    pub fn assessments(&self, actor: &Actor, device: &str) -> Result<Vec<Assessment>, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesRead,
            Action::AssessmentRead,
            "device",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        tx.query(
            &format!("SELECT {COLUMNS} FROM device_assessments a JOIN devices d ON d.id = a.device_id WHERE d.name = ? OR d.id = ? ORDER BY a.performed_at DESC, a.id"),
            &[device.into(), device.into()],
        )?
        .iter()
        .map(decode)
        .collect()
    }

    /// Every inventory device's assessment schedule as of `today`: a device never assessed
    /// owes its first one an interval after it was added (or enrolled).
    pub fn assessment_schedule(
        &self,
        actor: &Actor,
        today: NaiveDate,
    ) -> Result<Vec<ScheduleEntry>, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesRead,
            Action::AssessmentRead,
            "device",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        let rows = tx.query(
            "SELECT d.name, d.created_at, d.assess_every_months, (SELECT MAX(a.performed_at) FROM device_assessments a WHERE a.device_id = d.id), (SELECT MAX(a.signed_off_at) FROM device_assessments a WHERE a.device_id = d.id) FROM devices d UNION ALL SELECT e.name, e.enrolled_at, 6, NULL, NULL FROM instrument_enrollments e WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.instrument_id = e.id OR d.name = e.name) ORDER BY 1",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                let every = r
                    .get(2)
                    .ok_or_else(|| StoreError::Corrupt("schedule row".into()))?
                    .as_int()?;
                let every = u32::try_from(every).unwrap_or(6);
                let created = parse_time_text(&text(r, 1)?.unwrap_or_default())?;
                let last = text(r, 3)?.map(|s| parse_time_text(&s)).transpose()?;
                let next_due = add_months(last.unwrap_or(created), every);
                Ok(ScheduleEntry {
                    device: text(r, 0)?.unwrap_or_default(),
                    last_assessed: last,
                    signed_off: text(r, 4)?.is_some(),
                    next_due,
                    overdue: today > next_due,
                })
            })
            .collect()
    }
}
