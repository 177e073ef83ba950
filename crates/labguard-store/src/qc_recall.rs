//! Results recalled by a rejected QC run. Holding a device's new results after its QC
//! fails (qc.rs) protects what comes next; the results it filed between its last accepted
//! run and the rejected one were measured while it may already have been out of control.
//! Those are recalled: each gets a `qc_recalls` row in state `held`, and cannot be signed
//! off (`verify_result`) until a reviewer releases it. The result rows stay as they are:
//! they are hashed and audited, and a recall is a review step, not an edit.

use chrono::Duration;
use labguard_audit::Outcome;
use labguard_core::{Id, LabResult, LoincCode, Permission};

use crate::action::Action;
use crate::actor::Actor;
use crate::backend::{query_one, Row, Tx, Value};
use crate::codec::{parse_id, text};
use crate::held_review::HeldDecision;
use crate::rows::decode;
use crate::store::{rfc3339, Pending, Store};
use crate::table::RESULTS;
use crate::StoreError;

/// With no accepted run on file, how far back a rejected run recalls: a shift and more,
/// the longest a lab runs without QC under CLIA's daily minimum.
pub const LOOKBACK_WITHOUT_GOOD_RUN: Duration = Duration::hours(24);

/// Most results one rejected run recalls; past it the alert says so and the reviewer
/// works from the device's results list.
pub const MAX_RECALLED: i64 = 5_000;

/// One recalled result, as the review queue lists it (ids and state only, no values).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QcRecall {
    pub result_id: Id,
    pub patient_id: Id,
    pub device_id: Id,
    pub analyte: String,
    pub alert_id: String,
    pub state: String,
    pub created_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

/// What a rejected run recalled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recalled {
    pub results: u64,
    /// More results matched than [`MAX_RECALLED`].
    pub truncated: bool,
}

impl Store {
    /// Recalls `device`'s results of `analyte` filed since its last accepted run before
    /// `run` (or within [`LOOKBACK_WITHOUT_GOOD_RUN`] when there is none). Runs inside the
    /// filing transaction of the rejected run, so the recall and the alert commit together.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn recall_since_last_good(
        &self,
        tx: &mut dyn Tx,
        pending: &mut Pending,
        actor: &Actor,
        device: Id,
        analyte: &LoincCode,
        run: u64,
        alert: &str,
    ) -> Result<Recalled, StoreError> {
        let since = match last_good_run(tx, device, analyte, run)? {
            Some(at) => at,
            None => rfc3339(self.now() - LOOKBACK_WITHOUT_GOOD_RUN),
        };
        // The performing device is the filing actor (ingest.rs); the analyte is sealed,
        // so candidates are decrypted and compared. The filing time is the series index's:
        // a result row's own created_at is rewritten when it is signed off.
        let sql = format!(
            "{} WHERE performing_device = ? AND id IN (SELECT result_id FROM result_series WHERE created_at >= ?) AND id NOT IN (SELECT result_id FROM qc_recalls) ORDER BY id",
            RESULTS.select_sql()
        );
        let rows = tx.query(&sql, &[actor.id.clone().into(), since.into()])?;
        let ring = self.ring()?;
        let mut matched = Vec::new();
        for row in rows {
            let r: LabResult = decode(&ring, row)?;
            if &r.analyte == analyte {
                matched.push(r);
            }
        }
        drop(ring);
        let cap = usize::try_from(MAX_RECALLED).unwrap_or(usize::MAX);
        let truncated = matched.len() > cap;
        matched.truncate(cap);
        let now = rfc3339(self.now());
        for r in &matched {
            let (rid, pid) = (r.id.to_string(), r.patient_id.to_string());
            tx.execute(
                "INSERT INTO qc_recalls (result_id, patient_id, device_id, analyte, alert_id, state, created_at, decided_by, decided_at) VALUES (?, ?, ?, ?, ?, 'held', ?, NULL, NULL)",
                &[rid.clone().into(), pid.clone().into(), device.to_string().into(), analyte.as_str().into(), alert.into(), now.clone().into()],
            )?;
            pending.push(self.entry(
                actor,
                Action::QcRecall,
                "result",
                &rid,
                Some(&pid),
                Outcome::Success,
            )?);
        }
        Ok(Recalled {
            results: u64::try_from(matched.len()).unwrap_or(u64::MAX),
            truncated,
        })
    }

    /// The recall queue, oldest first; `open_only` lists those still held. Audited.
    pub fn qc_recalls(&self, actor: &Actor, open_only: bool) -> Result<Vec<QcRecall>, StoreError> {
        self.authorize(
            actor,
            Permission::ResultVerify,
            Action::QcRead,
            "qc-recall",
            "",
        )?;
        self.read(|tx, pending| {
            let filter = if open_only { " WHERE state = 'held'" } else { "" };
            let rows = tx.query(
                &format!("SELECT result_id, patient_id, device_id, analyte, alert_id, state, created_at, decided_by, decided_at FROM qc_recalls{filter} ORDER BY created_at, result_id"),
                &[],
            )?;
            pending.push(self.entry(actor, Action::QcRead, "qc-recall", "", None, Outcome::Success)?);
            rows.into_iter().map(recall).collect()
        })
    }

    /// Releases a recalled result (it may then be signed off) or rejects it (it never can
    /// be: the lab corrects or cancels it through its normal workflow). Audited.
    pub fn decide_qc_recall(
        &self,
        actor: &Actor,
        result: Id,
        decision: HeldDecision,
    ) -> Result<QcRecall, StoreError> {
        let rid = result.to_string();
        self.authorize(
            actor,
            Permission::ResultVerify,
            Action::QcRecallDecide,
            "result",
            &rid,
        )?;
        let state = decision.state();
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let n = tx.execute(
                "UPDATE qc_recalls SET state = ?, decided_by = ?, decided_at = ? WHERE result_id = ? AND state = 'held'",
                &[state.into(), actor.id.clone().into(), now.clone().into(), rid.clone().into()],
            )?;
            let row = recall_row(tx, &rid)?
                .ok_or_else(|| StoreError::NotFound(format!("qc recall {rid}")))?;
            if n == 0 {
                // Known but already decided: a second decision would rewrite history.
                return Err(StoreError::Conflict);
            }
            let r = recall(row)?;
            pending.push(self.entry(
                actor,
                Action::QcRecallDecide,
                "result",
                &rid,
                Some(&r.patient_id.to_string()),
                Outcome::Success,
            )?);
            Ok(r)
        })
    }

    /// Refuses to sign off a result that a QC recall still holds or rejected.
    pub(crate) fn check_not_recalled(
        &self,
        tx: &mut dyn Tx,
        result: &str,
    ) -> Result<(), StoreError> {
        match recall_row(tx, result)? {
            Some(row) => match recall(row)?.state.as_str() {
                "released" => Ok(()),
                _ => Err(labguard_core::DomainError::Invalid {
                    field: "result",
                    why: "recalled by a rejected QC run: release it first (labguard qc recall)",
                }
                .into()),
            },
            None => Ok(()),
        }
    }
}

/// When the last accepted run before `run` was filed (its points were all on target and
/// no rejection rule fired).
fn last_good_run(
    tx: &mut dyn Tx,
    device: Id,
    analyte: &LoincCode,
    run: u64,
) -> Result<Option<String>, StoreError> {
    let r = query_one(
        tx,
        "SELECT MAX(created_at) FROM qc_observations WHERE device_id = ? AND analyte = ? AND run < ? AND rejects = 0 AND violations <> 'no-target'",
        &[
            device.to_string().into(),
            analyte.as_str().into(),
            Value::Int(i64::try_from(run).unwrap_or(i64::MAX)),
        ],
    )?;
    match r {
        Some(row) => text(&row, 0),
        None => Ok(None),
    }
}

fn recall_row(tx: &mut dyn Tx, result: &str) -> Result<Option<Row>, StoreError> {
    query_one(
        tx,
        "SELECT result_id, patient_id, device_id, analyte, alert_id, state, created_at, decided_by, decided_at FROM qc_recalls WHERE result_id = ?",
        &[result.into()],
    )
}

fn recall(r: Row) -> Result<QcRecall, StoreError> {
    let [rid, pid, did, analyte, alert, state, at, by, when] = r.as_slice() else {
        return Err(StoreError::Corrupt("qc recall row shape".into()));
    };
    let opt =
        |v: &Value| -> Result<Option<String>, StoreError> { Ok(v.opt_text()?.map(str::to_string)) };
    Ok(QcRecall {
        result_id: parse_id(rid)?,
        patient_id: parse_id(pid)?,
        device_id: parse_id(did)?,
        analyte: analyte.as_text()?.into(),
        alert_id: alert.as_text()?.into(),
        state: state.as_text()?.into(),
        created_at: at.as_text()?.into(),
        decided_by: opt(by)?,
        decided_at: opt(when)?,
    })
}
