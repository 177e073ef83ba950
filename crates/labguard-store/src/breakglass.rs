//! Break-glass grants and the security alerts they raise. The policy (who may, how long,
//! what counts as a reason) is `labguard_identity::breakglass`; this module stores a grant,
//! raises its alert and audits it in one transaction, and reads a record under a grant.
//!
//! The stated reason may mention clinical details, so it is sealed like patient data. The
//! audit entries name the grant (`reason: "break-glass grant <id>"`), which the security
//! officer follows to the sealed reason in the alert.

use chrono::{DateTime, Utc};
use labguard_audit::Outcome;
use labguard_core::{Id, LabResult, Patient, Permission};
use serde::Serialize;

use crate::action::Action;
use crate::actor::{Actor, ActorKind};
use crate::backend::Value;
use crate::codec::{opt_time, parse_time};
use crate::rows::decode;
use crate::store::{rfc3339, Store};
use crate::table::{open, seal, PATIENTS, RESULTS};
use crate::StoreError;

/// A grant to store, already validated by `BreakGlassPolicy::grant`.
#[derive(Debug, Clone)]
pub struct NewGrant<'a> {
    pub grant_id: Id,
    pub patient_id: Id,
    pub reason: &'a str,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A security alert for the security officer's review queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub id: String,
    pub kind: String,
    pub user_id: Option<String>,
    pub subject_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    /// For break-glass alerts: the reason the user gave (unsealed for the reviewer).
    pub reason: Option<String>,
}

fn grant_note(id: &str) -> String {
    format!("break-glass grant {id}")
}

impl Store {
    /// Records a break-glass grant for `actor`, raises an alert and audits the grant, all in
    /// one transaction: there is no grant without its alert and its audit entry.
    pub fn grant_break_glass(&self, actor: &Actor, g: &NewGrant<'_>) -> Result<(), StoreError> {
        let ActorKind::Staff(role) = actor.kind else {
            return Err(StoreError::Denied(
                "break-glass is for signed-in staff".into(),
            ));
        };
        let (gid, pid) = (g.grant_id.to_string(), g.patient_id.to_string());
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let exists = tx.query("SELECT id FROM patients WHERE id = ?", &[pid.clone().into()])?;
            if exists.is_empty() {
                return Err(StoreError::NotFound("patient".into()));
            }
            let ring = self.ring()?;
            let reason = seal(&ring, "break_glass", &gid, "reason", g.reason)?;
            let version = i64::from(ring.active_version());
            drop(ring);
            tx.execute(
                "INSERT INTO break_glass (id, user_id, role, patient_id, reason, key_version, granted_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                &[
                    gid.clone().into(),
                    actor.id.clone().into(),
                    role.code().into(),
                    pid.clone().into(),
                    reason,
                    Value::Int(version),
                    rfc3339(g.granted_at).into(),
                    rfc3339(g.expires_at).into(),
                ],
            )?;
            tx.execute(
                "INSERT INTO alerts (id, kind, user_id, subject_id, created_at) VALUES (?, 'break-glass', ?, ?, ?)",
                &[
                    Id::new_v4().to_string().into(),
                    actor.id.clone().into(),
                    gid.clone().into(),
                    now.clone().into(),
                ],
            )?;
            let mut e = self.entry(actor, Action::BreakGlassGrant, "patient", &pid, Some(&pid), Outcome::Success)?;
            e.reason = Some(grant_note(&gid));
            pending.push(e);
            Ok(())
        })
    }

    /// The actor's active grant for a patient, if any.
    fn active_grant(&self, actor: &Actor, pid: &str) -> Result<Option<String>, StoreError> {
        let mut tx = self.backend.begin()?;
        let rows = tx.query(
            "SELECT id FROM break_glass WHERE user_id = ? AND patient_id = ? AND granted_at <= ? AND expires_at > ? ORDER BY expires_at DESC",
            &[
                actor.id.clone().into(),
                pid.into(),
                rfc3339(self.now()).into(),
                rfc3339(self.now()).into(),
            ],
        )?;
        rows.first()
            .and_then(|r| r.first())
            .map(|v| v.as_text().map(str::to_string))
            .transpose()
    }

    /// Reads a patient's demographics and results outside the actor's role, only under an
    /// active break-glass grant. Every read is audited with the grant named as the reason.
    pub fn read_under_break_glass(
        &self,
        actor: &Actor,
        patient: Id,
    ) -> Result<(Patient, Vec<LabResult>), StoreError> {
        let pid = patient.to_string();
        let Some(gid) = self.active_grant(actor, &pid)? else {
            let e = self.entry(
                actor,
                Action::BreakGlassRead,
                "patient",
                &pid,
                None,
                Outcome::Denied,
            )?;
            self.append_entries(&[e])?;
            return Err(StoreError::Denied(
                "no active break-glass grant for this record".into(),
            ));
        };
        self.write(|tx, pending| {
            let ring = self.ring()?;
            let row = tx
                .query(
                    &format!("{} WHERE id = ?", PATIENTS.select_sql()),
                    &[pid.clone().into()],
                )?
                .into_iter()
                .next()
                .ok_or_else(|| StoreError::NotFound("patient".into()))?;
            let p = decode::<Patient>(&ring, row)?;
            let results = tx
                .query(
                    &format!(
                        "{} WHERE patient_id = ? ORDER BY created_at, id",
                        RESULTS.select_sql()
                    ),
                    &[pid.clone().into()],
                )?
                .into_iter()
                .map(|r| decode::<LabResult>(&ring, r))
                .collect::<Result<Vec<_>, _>>()?;
            drop(ring);
            let mut e = self.entry(
                actor,
                Action::PatientRead,
                "patient",
                &pid,
                Some(&pid),
                Outcome::Success,
            )?;
            e.reason = Some(grant_note(&gid));
            pending.push(e);
            for r in &results {
                let mut e = self.entry(
                    actor,
                    Action::ResultRead,
                    "result",
                    &r.id.to_string(),
                    Some(&pid),
                    Outcome::Success,
                )?;
                e.reason = Some(grant_note(&gid));
                pending.push(e);
            }
            Ok((p, results))
        })
    }

    /// Alerts, open ones first, newest first.
    pub fn list_alerts(&self, actor: &Actor, limit: u32) -> Result<Vec<Alert>, StoreError> {
        self.authorize(
            actor,
            Permission::AlertsReview,
            Action::AlertList,
            "alert",
            "",
        )?;
        self.write(|tx, pending| {
            let rows = tx.query(
                "SELECT a.id, a.kind, a.user_id, a.subject_id, a.created_at, a.reviewed_by, a.reviewed_at, b.reason \
                 FROM alerts a LEFT JOIN break_glass b ON a.kind = 'break-glass' AND b.id = a.subject_id \
                 ORDER BY CASE WHEN a.reviewed_at IS NULL THEN 0 ELSE 1 END, a.created_at DESC LIMIT ?",
                &[Value::Int(limit.into())],
            )?;
            let ring = self.ring()?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let [id, kind, user, subject, created, rby, rat, reason] = r.as_slice() else {
                    return Err(StoreError::Corrupt("alert row shape".into()));
                };
                let subject = subject.opt_text()?.map(str::to_string);
                let reason = match (reason, &subject) {
                    (Value::Null, _) | (_, None) => None,
                    (v, Some(gid)) => Some(open::<String>(&ring, "break_glass", gid, "reason", v)?),
                };
                out.push(Alert {
                    id: id.as_text()?.into(),
                    kind: kind.as_text()?.into(),
                    user_id: user.opt_text()?.map(str::to_string),
                    subject_id: subject,
                    created_at: parse_time(created)?,
                    reviewed_by: rby.opt_text()?.map(str::to_string),
                    reviewed_at: opt_time(rat)?,
                    reason,
                });
            }
            drop(ring);
            pending.push(self.entry(actor, Action::AlertList, "alert", "", None, Outcome::Success)?);
            Ok(out)
        })
    }

    pub fn review_alert(&self, actor: &Actor, id: &str) -> Result<(), StoreError> {
        self.authorize(
            actor,
            Permission::AlertsReview,
            Action::AlertReview,
            "alert",
            id,
        )?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let n = tx.execute(
                "UPDATE alerts SET reviewed_by = ?, reviewed_at = ? WHERE id = ? AND reviewed_at IS NULL",
                &[actor.id.clone().into(), now.clone().into(), id.into()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound("open alert".into()));
            }
            pending.push(self.entry(actor, Action::AlertReview, "alert", id, None, Outcome::Success)?);
            Ok(())
        })
    }
}
