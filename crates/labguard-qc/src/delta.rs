//! Delta checks: a patient's new result against their previous result of the same analyte.
//!
//! A change larger than physiology allows in the time between the two usually means a
//! mislabelled or contaminated specimen, so the result is held for review rather than
//! released. Limits are per analyte, absolute (in the table's units), percent of the
//! previous value, or both; the default table (`data/delta_defaults.json`, documented in
//! docs/qc.md) is a starting point the lab director reviews, and a lab overrides entries.
//!
//! Results in different units are never compared: that is a hold of its own.

use std::collections::BTreeMap;
use std::fmt;

use chrono::Duration;
use labguard_core::{LabResult, LoincCode};
use serde::{Deserialize, Serialize};

use crate::QcError;

const DEFAULTS: &str = include_str!("../data/delta_defaults.json");

/// When both an absolute and a percent limit are set, which must be exceeded to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Combine {
    /// Either limit exceeded holds the result.
    #[default]
    Either,
    /// Both must be exceeded: a percent limit that would trip on tiny absolute changes
    /// near zero (creatinine, liver enzymes) is paired with an absolute floor.
    Both,
}

/// One analyte's delta limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeltaRule {
    pub loinc: LoincCode,
    pub name: String,
    /// The units the absolute limit is in; results must be reported in them.
    pub units: String,
    #[serde(default)]
    pub absolute: Option<f64>,
    #[serde(default)]
    pub percent: Option<f64>,
    #[serde(default)]
    pub combine: Combine,
    /// The previous result counts only if observed at most this long before.
    pub window_hours: u32,
    /// Where the default comes from, for the director's review.
    #[serde(default)]
    pub source: String,
}

impl DeltaRule {
    fn validate(&self) -> Result<(), QcError> {
        let bad = |why: &str| QcError::Table(format!("{}: {why}", self.loinc));
        if self.absolute.is_none() && self.percent.is_none() {
            return Err(bad("needs an absolute or a percent limit"));
        }
        for l in [self.absolute, self.percent].into_iter().flatten() {
            if !(l.is_finite() && l > 0.0) {
                return Err(bad("limits must be positive numbers"));
            }
        }
        if self.window_hours == 0 {
            return Err(bad("window_hours must be at least 1"));
        }
        if self.name.trim().is_empty() || self.units.trim().is_empty() {
            return Err(bad("name and units are required"));
        }
        Ok(())
    }

    /// The limit in words, e.g. `1 mmol/L`, `50%`, `0.3 mg/dL and 50%`.
    pub fn limit_text(&self) -> String {
        let abs = self.absolute.map(|a| format!("{a} {}", self.units));
        let pct = self.percent.map(|p| format!("{p}%"));
        match (abs, pct) {
            (Some(a), Some(p)) => {
                let join = match self.combine {
                    Combine::Either => "or",
                    Combine::Both => "and",
                };
                format!("{a} {join} {p}")
            }
            (Some(a), None) => a,
            (None, Some(p)) => p,
            (None, None) => String::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TableFile {
    #[allow(dead_code)]
    #[serde(default)]
    note: String,
    analytes: Vec<DeltaRule>,
}

/// Delta limits by LOINC code.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeltaTable {
    rules: BTreeMap<LoincCode, DeltaRule>,
}

impl DeltaTable {
    /// The shipped defaults (`data/delta_defaults.json`).
    pub fn defaults() -> Result<DeltaTable, QcError> {
        DeltaTable::from_json(DEFAULTS)
    }

    /// A table in the defaults' format: `{"analytes": [ {...}, ... ]}`. Duplicate codes
    /// are refused so an override file cannot silently contradict itself.
    pub fn from_json(json: &str) -> Result<DeltaTable, QcError> {
        let file: TableFile =
            serde_json::from_str(json).map_err(|e| QcError::Table(e.to_string()))?;
        let mut table = DeltaTable::default();
        for rule in file.analytes {
            rule.validate()?;
            if table.rules.contains_key(&rule.loinc) {
                return Err(QcError::Table(format!("{} listed twice", rule.loinc)));
            }
            table.rules.insert(rule.loinc.clone(), rule);
        }
        Ok(table)
    }

    /// Sets (or replaces) one analyte's limit: a lab's override.
    pub fn set(&mut self, rule: DeltaRule) -> Result<(), QcError> {
        rule.validate()?;
        self.rules.insert(rule.loinc.clone(), rule);
        Ok(())
    }

    /// Applies every entry of `overrides` over this table.
    pub fn merge(&mut self, overrides: DeltaTable) {
        self.rules.extend(overrides.rules);
    }

    /// Stops delta-checking an analyte.
    pub fn remove(&mut self, loinc: &LoincCode) -> Option<DeltaRule> {
        self.rules.remove(loinc)
    }

    pub fn rule(&self, loinc: &LoincCode) -> Option<&DeltaRule> {
        self.rules.get(loinc)
    }

    pub fn rules(&self) -> impl Iterator<Item = &DeltaRule> {
        self.rules.values()
    }

    /// Checks `current` against `previous`, the same patient's most recent earlier result
    /// of the same analyte (the caller looks it up). Errors only for a `previous` of
    /// another patient or analyte, which is a caller bug.
    pub fn check(
        &self,
        current: &LabResult,
        previous: Option<&LabResult>,
    ) -> Result<DeltaOutcome, QcError> {
        let Some(rule) = self.rule(&current.analyte) else {
            return Ok(DeltaOutcome::NotChecked(NotChecked::NoRule));
        };
        let Some(prev) = previous else {
            return Ok(DeltaOutcome::NotChecked(NotChecked::NoPrevious));
        };
        if prev.patient_id != current.patient_id {
            return Err(QcError::Mismatch { field: "patient" });
        }
        if prev.analyte != current.analyte {
            return Err(QcError::Mismatch { field: "analyte" });
        }
        let elapsed = current.observed_at - prev.observed_at;
        if elapsed < Duration::zero() {
            return Ok(DeltaOutcome::NotChecked(NotChecked::PreviousNotEarlier));
        }
        if elapsed > Duration::hours(i64::from(rule.window_hours)) {
            return Ok(DeltaOutcome::NotChecked(NotChecked::OutsideWindow));
        }
        let (Some(p), Some(c)) = (prev.numeric_value(), current.numeric_value()) else {
            return Ok(DeltaOutcome::NotChecked(NotChecked::NotNumeric));
        };
        let hold = |reason| {
            DeltaOutcome::Hold(Box::new(DeltaHold {
                reason,
                previous: p,
                current: c,
                change: c - p,
                percent_change: (p != 0.0).then(|| (c - p) / p.abs() * 100.0),
                elapsed,
                rule: rule.clone(),
            }))
        };
        let (pu, cu) = (prev.units.trim(), current.units.trim());
        if !pu.eq_ignore_ascii_case(cu) {
            return Ok(hold(HoldReason::UnitMismatch {
                previous_units: pu.to_string(),
                current_units: cu.to_string(),
            }));
        }
        if rule.absolute.is_some() && !cu.eq_ignore_ascii_case(rule.units.trim()) {
            return Ok(hold(HoldReason::UnitsNotInTable {
                units: cu.to_string(),
            }));
        }
        if exceeds(rule, p, c) {
            Ok(hold(HoldReason::Exceeded))
        } else {
            Ok(DeltaOutcome::Pass)
        }
    }
}

/// Whether the change from `p` to `c` is beyond the rule's limits (strictly: a change equal
/// to the limit passes).
fn exceeds(rule: &DeltaRule, p: f64, c: f64) -> bool {
    let change = (c - p).abs();
    let abs = rule.absolute.map(|l| change > l);
    // From zero any change is an infinite percentage.
    let pct = rule.percent.map(|l| {
        if p == 0.0 {
            change > 0.0
        } else {
            change / p.abs() * 100.0 > l
        }
    });
    match (abs, pct, rule.combine) {
        (Some(a), Some(b), Combine::Either) => a || b,
        (Some(a), Some(b), Combine::Both) => a && b,
        (Some(a), None, _) | (None, Some(a), _) => a,
        (None, None, _) => false,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum DeltaOutcome {
    Pass,
    /// The check did not apply; the result goes on as if there were no delta rule.
    NotChecked(NotChecked),
    /// Hold the result for review.
    Hold(Box<DeltaHold>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotChecked {
    /// No delta limit for this analyte.
    NoRule,
    /// No previous result for this patient and analyte.
    NoPrevious,
    /// The previous result is older than the rule's window.
    OutsideWindow,
    /// The "previous" result was observed after this one.
    PreviousNotEarlier,
    /// One of the values is not a plain number (text, or censored like `<0.1`).
    NotNumeric,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldReason {
    /// The change exceeds the limit.
    Exceeded,
    /// The two results are in different units: never compared.
    UnitMismatch {
        previous_units: String,
        current_units: String,
    },
    /// Both in the same units, but not those the absolute limit is set in.
    UnitsNotInTable { units: String },
}

/// A held result: what the reviewer is shown. The values are patient data: the UI shows
/// them to the reviewer; `Display` and `Debug` leave them out so they cannot reach a log.
#[derive(Clone, PartialEq)]
pub struct DeltaHold {
    pub reason: HoldReason,
    pub previous: f64,
    pub current: f64,
    /// `current - previous`, in the results' units.
    pub change: f64,
    /// The change as a percent of the previous value; none when that was zero.
    pub percent_change: Option<f64>,
    /// Time between the two results.
    pub elapsed: Duration,
    pub rule: DeltaRule,
}

impl DeltaHold {
    /// One sentence for the review queue, naming the analyte and the limit, never a value.
    pub fn explain(&self) -> String {
        let name = &self.rule.name;
        match &self.reason {
            HoldReason::Exceeded => format!(
                "{name} changed by more than its delta limit ({}) since the previous result \
                 {} h earlier; review before release.",
                self.rule.limit_text(),
                self.elapsed.num_hours()
            ),
            HoldReason::UnitMismatch {
                previous_units,
                current_units,
            } => format!(
                "{name} was reported in {current_units} but the previous result in \
                 {previous_units}, so they were not compared; review before release."
            ),
            HoldReason::UnitsNotInTable { units } => format!(
                "{name} was reported in {units}, not the {} its delta limit is set in, so it \
                 was not compared; review before release.",
                self.rule.units
            ),
        }
    }
}

impl fmt::Display for DeltaHold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explain())
    }
}

impl fmt::Debug for DeltaHold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeltaHold")
            .field("reason", &self.reason)
            .field("rule", &self.rule.loinc)
            .field("values", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
#[path = "delta_tests.rs"]
mod tests;
