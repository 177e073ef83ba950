//! Privacy case review, the patient access report and the dashboard, over the state the
//! scan keeps (`privacy.rs`). Each checks its permission and is audited.

use chrono::{DateTime, Duration, Utc};
use labguard_audit::{AuditEntry, Outcome as AuditOutcome};
use labguard_core::{Id, Permission as P};
use labguard_privacy::{
    Access, Alert, AlertId, Case, CaseBook, Dashboard, Outcome, PatientAccessReport, PatientRef,
    Period,
};

use crate::action::Action;
use crate::backend::Tx;
use crate::codec::from_json;
use crate::privacy::access;
use crate::privacy_cases::{list_cases, load_case};
use crate::store::{rfc3339, Store};
use crate::{Actor, StoreError};

/// One review step on a case.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseStep {
    Assign { to: Id },
    Note { text: String },
    Close { outcome: Outcome, why: String },
    FalsePositive { alert: AlertId, why: String },
}

impl CaseStep {
    fn action(&self) -> Action {
        match self {
            CaseStep::Assign { .. } => Action::PrivacyCaseAssign,
            CaseStep::Note { .. } => Action::PrivacyCaseNote,
            CaseStep::Close { .. } => Action::PrivacyCaseClose,
            CaseStep::FalsePositive { .. } => Action::PrivacyCaseFalsePositive,
        }
    }
}

fn reviewer(actor: &Actor) -> Result<Id, StoreError> {
    actor
        .id
        .parse()
        .map_err(|_| StoreError::Denied("case review needs a named member of staff".into()))
}

impl Store {
    /// Applies one review step to case `id` (the pure case rules refuse self-review, notes
    /// before assignment, steps on a closed case). Needs `PrivacyReview`; audited.
    pub fn privacy_case_step(
        &self,
        actor: &Actor,
        id: u64,
        step: &CaseStep,
    ) -> Result<Case, StoreError> {
        let rid = id.to_string();
        self.authorize(actor, P::PrivacyReview, step.action(), "privacy-case", &rid)?;
        let by = reviewer(actor)?;
        let now = self.now();
        self.write(|tx, pending| {
            // The state row's lock, as the scan takes it: steps and scans run one at a time.
            tx.execute(
                "UPDATE privacy_scan_state SET updated_at = ? WHERE id = 1",
                &[rfc3339(now).into()],
            )?;
            self.upgrade_book(tx, actor, pending)?;
            let mut case = load_case(tx, id)?
                .ok_or_else(|| StoreError::NotFound(format!("privacy case {id}")))?;
            match step {
                CaseStep::Assign { to } => case.assign(by, *to, now)?,
                CaseStep::Note { text } => case.note(by, text, now)?,
                CaseStep::Close { outcome, why } => case.close(by, *outcome, why, now)?,
                CaseStep::FalsePositive { alert, why } => {
                    case.label_false_positive(*alert, by, why, now)?;
                }
            }
            pending.push(self.update_case(tx, actor, step.action(), &case)?);
            Ok(case)
        })
    }

    /// Who looked at the patient's record in `from..to` (HIPAA accounting of disclosures
    /// style): every record access in the log, staff by name. Needs `PrivacyReview`; its
    /// generation is audited with the patient's pseudonym.
    pub fn patient_access_report(
        &self,
        actor: &Actor,
        patient: Id,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<PatientAccessReport, StoreError> {
        let pid = patient.to_string();
        self.authorize(
            actor,
            P::PrivacyReview,
            Action::PrivacyAccessReport,
            "patient",
            &pid,
        )?;
        let pref = PatientRef::new(self.ring()?.pseudonym(&pid));
        let now = self.now();
        self.write(|tx, pending| {
            if tx
                .query(
                    "SELECT id FROM patients WHERE id = ?",
                    &[pid.clone().into()],
                )?
                .is_empty()
            {
                return Err(StoreError::NotFound(format!("patient {pid}")));
            }
            let accesses = accesses_of(tx, &pref)?;
            let names = staff_names(tx)?;
            pending.push(self.entry(
                actor,
                Action::PrivacyAccessReport,
                "patient",
                &pid,
                Some(&pid),
                AuditOutcome::Success,
            )?);
            Ok(PatientAccessReport::build(
                "Patient access report",
                &pref,
                &accesses,
                (from, to),
                now,
                true,
                |id| names.iter().find(|(i, _)| i == id).map(|(_, n)| n.clone()),
            ))
        })
    }

    /// The privacy dashboard for the last 30 days: staff by name with `PrivacyReview`,
    /// lettered otherwise (`PrivacyDashboardRead`, the auditor's view). Audited.
    pub fn privacy_dashboard(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Dashboard, StoreError> {
        self.authorize(
            actor,
            P::PrivacyDashboardRead,
            Action::PrivacyDashboard,
            "privacy",
            "",
        )?;
        let named = actor.may(P::PrivacyReview);
        let since = now - Duration::days(30);
        self.write(|tx, pending| {
            self.upgrade_book(tx, actor, pending)?;
            // The open cases (backlog) and the chart's 30 days of alerts, not the history.
            let mut book = CaseBook::new(Period::Week, 0);
            book.cases = list_cases(tx, true, false)?
                .into_iter()
                .map(|c| c.case)
                .collect();
            let alerts = tx
                .query(
                    "SELECT alert FROM privacy_alerts WHERE alert_at >= ? ORDER BY seq",
                    &[rfc3339(since).into()],
                )?
                .into_iter()
                .map(|r| match r.first() {
                    Some(v) => from_json::<Alert>(v, "privacy_alerts.alert"),
                    None => Err(StoreError::Corrupt("privacy alert row shape".into())),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let names = if named { staff_names(tx)? } else { vec![] };
            let lookup = |id: &Id| names.iter().find(|(i, _)| i == id).map(|(_, n)| n.clone());
            let days = ((now - Duration::days(29)).date_naive(), now.date_naive());
            pending.push(self.entry(
                actor,
                Action::PrivacyDashboard,
                "privacy",
                "",
                None,
                AuditOutcome::Success,
            )?);
            Ok(Dashboard::compute(
                &book,
                &alerts,
                days,
                now,
                10,
                named.then_some(&lookup as &dyn Fn(&Id) -> Option<String>),
            ))
        })
    }
}

/// The record accesses naming `patient`, streamed through the log (only the patient's are
/// kept, so memory follows their accesses, not the log).
fn accesses_of(tx: &mut dyn Tx, patient: &PatientRef) -> Result<Vec<Access>, StoreError> {
    let mut out = vec![];
    tx.for_each(
        "SELECT seq, entry FROM audit_log ORDER BY seq",
        &[],
        &mut |r| {
            let [seq, entry] = r.as_slice() else {
                return Err(StoreError::Corrupt("audit row shape".into()));
            };
            let seq = u64::try_from(seq.as_int()?)
                .map_err(|_| StoreError::Corrupt("audit seq".into()))?;
            let e = AuditEntry::decode(entry.as_blob()?)
                .map_err(|e| StoreError::Corrupt(format!("audit entry {seq}: {e}")))?;
            if e.patient_ref.as_deref() == Some(patient.0.as_str()) {
                out.extend(access(seq, &e));
            }
            Ok(())
        },
    )?;
    Ok(out)
}

fn staff_names(tx: &mut dyn Tx) -> Result<Vec<(Id, String)>, StoreError> {
    let mut out = vec![];
    for r in tx.query("SELECT id, display_name FROM staff", &[])? {
        if let [id, name] = r.as_slice() {
            if let Ok(id) = id.as_text()?.parse::<Id>() {
                out.push((id, name.as_text()?.to_string()));
            }
        }
    }
    Ok(out)
}
