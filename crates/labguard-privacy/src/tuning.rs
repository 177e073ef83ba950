//! False-positive labels and per-role tuning. Labels never change a setting by themselves:
//! [`propose_tunings`] turns enough of them into proposals, a reviewer accepts one with who
//! and why, and only the resulting [`Tuning`] record changes the [`Config`]
//! ([`Config::apply`]). The store saves and audits each record.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use labguard_core::{Id, Role};
use serde::{Deserialize, Serialize};

use crate::alert::{AlertId, Detector};
use crate::cases::CaseId;
use crate::config::Config;

/// A reviewer's judgement that one alert was part of the user's job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FalsePositive {
    pub case: CaseId,
    pub alert: AlertId,
    pub detector: Detector,
    pub role: Role,
    pub by: Id,
    pub why: String,
    pub at: DateTime<Utc>,
}

/// One change to a role's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "change", content = "value")]
pub enum TuningChange {
    Disable(Detector),
    Enable(Detector),
    VolumeK(f64),
    AfterHoursGraceMinutes(u16),
    RelationshipBeforeHours(u32),
    DormantAfterDays(u32),
}

impl TuningChange {
    /// The detector the change governs.
    pub fn detector(&self) -> Detector {
        match self {
            TuningChange::Disable(d) | TuningChange::Enable(d) => *d,
            TuningChange::VolumeK(_) => Detector::Volume,
            TuningChange::AfterHoursGraceMinutes(_) => Detector::AfterHours,
            TuningChange::RelationshipBeforeHours(_) => Detector::NoRelationship,
            TuningChange::DormantAfterDays(_) => Detector::Dormant,
        }
    }
}

/// An accepted change: who, why, when, and the labels behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tuning {
    pub role: Role,
    pub change: TuningChange,
    pub by: Id,
    pub why: String,
    pub at: DateTime<Utc>,
    pub evidence: Vec<AlertId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TuningError {
    #[error("a tuning needs a reason")]
    NoReason,
    #[error("volume k must be a finite number above 0")]
    BadK,
    #[error("a window must be above 0")]
    ZeroWindow,
}

impl Tuning {
    pub fn new(
        role: Role,
        change: TuningChange,
        by: Id,
        why: &str,
        at: DateTime<Utc>,
        evidence: Vec<AlertId>,
    ) -> Result<Tuning, TuningError> {
        let why = why.trim();
        if why.is_empty() {
            return Err(TuningError::NoReason);
        }
        match change {
            TuningChange::VolumeK(k) if !(k.is_finite() && k > 0.0) => {
                return Err(TuningError::BadK)
            }
            TuningChange::RelationshipBeforeHours(0) | TuningChange::DormantAfterDays(0) => {
                return Err(TuningError::ZeroWindow)
            }
            _ => {}
        }
        Ok(Tuning {
            role,
            change,
            by,
            why: why.to_string(),
            at,
            evidence,
        })
    }
}

impl Config {
    /// The config with `t` applied to its role. Checks the change again, so a record read
    /// back from storage cannot smuggle in a bad value.
    pub fn apply(&self, t: &Tuning) -> Result<Config, TuningError> {
        let t = Tuning::new(
            t.role,
            t.change.clone(),
            t.by,
            &t.why,
            t.at,
            t.evidence.clone(),
        )?;
        let mut next = self.clone();
        let r = next.roles.entry(t.role).or_default();
        match t.change {
            TuningChange::Disable(d) => {
                r.disabled.insert(d);
            }
            TuningChange::Enable(d) => {
                r.disabled.remove(&d);
            }
            TuningChange::VolumeK(k) => r.volume_k = Some(k),
            TuningChange::AfterHoursGraceMinutes(m) => r.after_hours_grace_minutes = Some(m),
            TuningChange::RelationshipBeforeHours(h) => r.relationship_before_hours = Some(h),
            TuningChange::DormantAfterDays(d) => r.dormant_after_days = Some(d),
        }
        Ok(next)
    }
}

/// A suggested change that needs a reviewer to accept it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuningProposal {
    pub role: Role,
    pub detector: Detector,
    pub change: TuningChange,
    pub evidence: Vec<AlertId>,
}

impl TuningProposal {
    pub fn accept(self, by: Id, why: &str, at: DateTime<Utc>) -> Result<Tuning, TuningError> {
        Tuning::new(self.role, self.change, by, why, at, self.evidence)
    }
}

/// Proposals for every (role, detector) with at least `min_labels` false positives:
/// volume k ×1.5, after-hours grace +60 minutes, relationship window ×2, dormant days ×2.
/// The identity, self-record and restricted detectors get none: a false positive there is
/// judged case by case, and turning them off for a role takes an explicit [`Tuning`].
pub fn propose_tunings(
    labels: &[FalsePositive],
    cfg: &Config,
    min_labels: usize,
) -> Vec<TuningProposal> {
    let mut groups: BTreeMap<(Role, Detector), Vec<AlertId>> = BTreeMap::new();
    for l in labels {
        groups
            .entry((l.role, l.detector))
            .or_default()
            .push(l.alert);
    }
    let mut out = vec![];
    for ((role, detector), mut evidence) in groups {
        if evidence.len() < min_labels.max(1) {
            continue;
        }
        let change = match detector {
            Detector::Volume => TuningChange::VolumeK(cfg.volume_k(role) * 1.5),
            Detector::AfterHours => {
                TuningChange::AfterHoursGraceMinutes(cfg.after_hours_grace(role).saturating_add(60))
            }
            Detector::NoRelationship => TuningChange::RelationshipBeforeHours(
                cfg.relationship_before(role).saturating_mul(2),
            ),
            Detector::Dormant => {
                TuningChange::DormantAfterDays(cfg.dormant_after(role).saturating_mul(2))
            }
            _ => continue,
        };
        evidence.sort();
        out.push(TuningProposal {
            role,
            detector,
            change,
            evidence,
        });
    }
    out
}
