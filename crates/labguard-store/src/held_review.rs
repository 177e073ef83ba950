//! Reviewing results the MLLP listener held back (implausible value, wrong units, an
//! analyte the device is not registered for, a result before its draw): a technologist or
//! pathologist releases one into the patient's results or rejects it. Either way the held
//! row is kept, its new state is an audited write, and the alert it raised is closed.

use labguard_audit::Outcome;
use labguard_core::{Id, LabResult, Permission};

use crate::action::Action;
use crate::actor::Actor;
use crate::backend::Value;
use crate::store::{rfc3339, Store};
use crate::table::{open, split_row, HELD_RESULTS};
use crate::StoreError;

/// What the reviewer decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeldDecision {
    /// File the result as sent (the reviewer is recorded as its verifier).
    Release,
    /// Keep it out of the patient's results for good.
    Reject,
}

impl HeldDecision {
    fn action(self) -> Action {
        match self {
            HeldDecision::Release => Action::HeldResultReleased,
            HeldDecision::Reject => Action::HeldResultRejected,
        }
    }

    /// The state a held result or recall is left in: `released` or `rejected`.
    pub fn state(self) -> &'static str {
        match self {
            HeldDecision::Release => "released",
            HeldDecision::Reject => "rejected",
        }
    }
}

impl Store {
    /// Releases or rejects a held result. Returns the result as filed on release.
    pub fn decide_held_result(
        &self,
        actor: &Actor,
        id: Id,
        decision: HeldDecision,
    ) -> Result<Option<LabResult>, StoreError> {
        let ids = id.to_string();
        let action = decision.action();
        self.authorize(actor, Permission::ResultVerify, action, "held-result", &ids)?;
        self.write(|tx, pending| {
            let sql = format!("{} WHERE id = ?", HELD_RESULTS.select_sql());
            let row = tx
                .query(&sql, &[ids.clone().into()])?
                .into_iter()
                .next()
                .ok_or_else(|| StoreError::NotFound(format!("held result {ids}")))?;
            let (_, mut values) = split_row(row)?;
            let col = |name: &str| HELD_RESULTS.index_of(name);
            let state_at = col("state")?;
            match values.get(state_at).map(Value::as_text).transpose()? {
                Some("held") => {}
                Some(_) => return Err(StoreError::Conflict),
                None => return Err(StoreError::Corrupt("held result row shape".into())),
            }
            let text = |name: &str| -> Result<String, StoreError> {
                Ok(values
                    .get(col(name)?)
                    .map(Value::as_text)
                    .transpose()?
                    .unwrap_or_default()
                    .to_string())
            };
            let (patient, message) = (text("patient_id")?, text("message_id")?);
            let filed = match decision {
                HeldDecision::Release => {
                    if patient.is_empty() {
                        // Held because the MRN matched no patient: nothing to file it under.
                        return Err(StoreError::MissingReference);
                    }
                    let ring = self.ring()?;
                    let raw = values
                        .get(col("result")?)
                        .ok_or_else(|| StoreError::Corrupt("held result row shape".into()))?;
                    let mut r: LabResult = open(&ring, HELD_RESULTS.name, &ids, "result", raw)?;
                    drop(ring);
                    r.verified_by = Some(actor.id.clone());
                    self.insert_row(tx, pending, actor, Action::ResultCreate, &r, Some(&patient))?;
                    Some(r)
                }
                HeldDecision::Reject => None,
            };
            values[state_at] = Value::Text(decision.state().into());
            tx.execute(
                "UPDATE held_results SET state = ? WHERE id = ?",
                &[decision.state().into(), ids.clone().into()],
            )?;
            let mut e = self.entry(
                actor,
                action,
                HELD_RESULTS.resource,
                &ids,
                (!patient.is_empty()).then_some(patient.as_str()),
                Outcome::Success,
            )?;
            e.content_hash = Some(HELD_RESULTS.row_hash(&values));
            pending.push(e);
            // The message's alert closes once none of its results is still held.
            tx.execute(
                "UPDATE instrument_alerts SET acknowledged_at = ? WHERE message_id = ? AND kind = 'results-held' AND acknowledged_at IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM held_results WHERE message_id = ? AND state = 'held')",
                &[rfc3339(self.now()).into(), message.clone().into(), message.into()],
            )?;
            Ok(filed)
        })
    }
}
