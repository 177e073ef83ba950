//! Delta checks at filing time: each new result against the same patient's previous result
//! of the same analyte (labguard-qc decides; the store finds the previous one).
//!
//! The lookup runs inside the filing transaction, so two messages for one patient filed
//! at once by two nodes are each compared with what is really on file, and a result held
//! for review names the result it was compared with.

use chrono::{DateTime, Utc};
use labguard_core::{Id, LabResult, LoincCode};
use labguard_qc::{DeltaOutcome, HoldReason};

use crate::backend::Tx;
use crate::store::Store;
use crate::table::RESULTS;
use crate::StoreError;

/// Reason code: the change from the previous result exceeds the analyte's delta limit.
pub const DELTA_EXCEEDED: &str = "delta-check";
/// Reason code: the previous result is in other units, so the two cannot be compared.
pub const DELTA_UNITS_DIFFER: &str = "delta-units-differ";
/// Reason code: the result's units are not the ones the delta limit is written in.
pub const DELTA_UNITS_UNKNOWN: &str = "delta-units-unknown";

/// Whether a held result's reasons include a delta check (so its review shows the
/// previous value beside the new one).
pub fn is_delta_reason(code: &str) -> bool {
    matches!(
        code,
        DELTA_EXCEEDED | DELTA_UNITS_DIFFER | DELTA_UNITS_UNKNOWN
    )
}

/// How many of a series' newest results are read to find the latest one observed before
/// a new result (results may be filed out of observation order).
const LOOKBACK: i64 = 8;

impl Store {
    /// The patient's latest filed result of `analyte` observed before `before`.
    pub(crate) fn previous_result(
        &self,
        tx: &mut dyn Tx,
        patient: Id,
        analyte: &LoincCode,
        before: DateTime<Utc>,
    ) -> Result<Option<LabResult>, StoreError> {
        let ring = self.ring()?;
        let key = crate::rows::series_key(&ring, patient, analyte);
        let sql = format!(
            "{} WHERE id IN (SELECT result_id FROM result_series WHERE series_bidx = ? ORDER BY created_at DESC LIMIT {LOOKBACK})",
            RESULTS.select_sql()
        );
        let mut best: Option<LabResult> = None;
        for row in tx.query(&sql, &[key.into()])? {
            let r: LabResult = crate::rows::decode(&ring, row)?;
            // The key is per patient and analyte; checked again so a collision can never
            // compare two patients.
            if r.patient_id != patient || r.analyte != *analyte || r.observed_at >= before {
                continue;
            }
            if best.as_ref().is_none_or(|b| r.observed_at > b.observed_at) {
                best = Some(r);
            }
        }
        Ok(best)
    }

    /// The delta-check reason codes for `current` (filed for a known patient), compared
    /// with the latest earlier result among `same_message` (results of this delivery not
    /// yet written) and those on file.
    pub(crate) fn delta_reasons(
        &self,
        tx: &mut dyn Tx,
        current: &LabResult,
        same_message: &[LabResult],
    ) -> Result<Vec<String>, StoreError> {
        if self.delta.rule(&current.analyte).is_none() {
            return Ok(Vec::new());
        }
        let on_file = self.previous_result(
            tx,
            current.patient_id,
            &current.analyte,
            current.observed_at,
        )?;
        let in_message = same_message
            .iter()
            .filter(|r| {
                r.patient_id == current.patient_id
                    && r.analyte == current.analyte
                    && r.observed_at < current.observed_at
            })
            .max_by_key(|r| r.observed_at);
        let previous = match (on_file.as_ref(), in_message) {
            (Some(a), Some(b)) => Some(if b.observed_at > a.observed_at { b } else { a }),
            (a, b) => a.or(b),
        };
        let outcome = self
            .delta
            .check(current, previous)
            .map_err(|e| StoreError::Corrupt(format!("delta check: {e}")))?;
        Ok(match outcome {
            DeltaOutcome::Hold(h) => vec![match h.reason {
                HoldReason::Exceeded => DELTA_EXCEEDED,
                HoldReason::UnitMismatch { .. } => DELTA_UNITS_DIFFER,
                HoldReason::UnitsNotInTable { .. } => DELTA_UNITS_UNKNOWN,
            }
            .to_string()],
            _ => Vec::new(),
        })
    }
}
