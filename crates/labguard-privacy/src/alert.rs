//! Detectors and the alerts they raise. Alerts carry pseudonymous ids and counts only; the
//! explanation is a template whose `{staff}` and `{patient}` the UI fills with what the
//! viewer may see.

use chrono::{DateTime, Utc};
use labguard_core::{Id, Role};
use serde::{Deserialize, Serialize};

use crate::model::PatientRef;

/// One detector. The order is the order alerts for one access are emitted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Detector {
    SelfRecord,
    SameSurname,
    SameAddress,
    CoWorker,
    Restricted,
    Dormant,
    NoRelationship,
    AfterHours,
    Volume,
}

impl Detector {
    pub const ALL: [Detector; 9] = [
        Detector::SelfRecord,
        Detector::SameSurname,
        Detector::SameAddress,
        Detector::CoWorker,
        Detector::Restricted,
        Detector::Dormant,
        Detector::NoRelationship,
        Detector::AfterHours,
        Detector::Volume,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Detector::SelfRecord => "self-record",
            Detector::SameSurname => "same-surname",
            Detector::SameAddress => "same-address",
            Detector::CoWorker => "co-worker",
            Detector::Restricted => "restricted",
            Detector::Dormant => "dormant",
            Detector::NoRelationship => "no-relationship",
            Detector::AfterHours => "after-hours",
            Detector::Volume => "volume",
        }
    }

    pub fn from_code(code: &str) -> Option<Detector> {
        Detector::ALL.into_iter().find(|d| d.code() == code)
    }

    /// The reviewer's one-sentence explanation. Placeholders: `{staff}`, `{patient}`
    /// (filled by the UI), `{window}` (hours), `{days}`, `{count}`, `{threshold}`, `{bucket}`.
    pub fn explanation(self) -> &'static str {
        match self {
            Detector::SelfRecord => "{staff} opened their own patient record.",
            Detector::SameSurname => {
                "{staff} opened the record of {patient}, who has the same surname as {staff}."
            }
            Detector::SameAddress => {
                "{staff} opened the record of {patient}, who lives at the same address as {staff}."
            }
            Detector::CoWorker => {
                "{staff} opened the record of {patient}, who is a member of staff."
            }
            Detector::Restricted => {
                "{staff} opened the restricted record of {patient} with no order, specimen, draw, result or worklist entry linking them within {window} hours."
            }
            Detector::Dormant => {
                "{staff} opened the record of {patient}, who is deceased or has had no activity for {days} days, without a stated reason or care link."
            }
            Detector::NoRelationship => {
                "{staff} opened the record of {patient} with no order, specimen, draw, result or worklist entry linking them within {window} hours."
            }
            Detector::AfterHours => {
                "{staff} opened the record of {patient} outside their usual shift."
            }
            Detector::Volume => {
                "{staff} opened {count} distinct patient records in one {bucket}, above the threshold of {threshold} set by their own and their role's usual volume."
            }
        }
    }
}

impl std::fmt::Display for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The volume detector's two bucket sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bucket {
    Hour,
    Day,
}

impl Bucket {
    pub fn label(self) -> &'static str {
        match self {
            Bucket::Hour => "hour",
            Bucket::Day => "day",
        }
    }
}

/// Unique per alert: at most one alert per detector (and bucket) per access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AlertId {
    pub seq: u64,
    pub detector: Detector,
    pub bucket: Option<Bucket>,
}

impl std::fmt::Display for AlertId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.bucket {
            Some(b) => write!(f, "{}/{}-{}", self.seq, self.detector, b.label()),
            None => write!(f, "{}/{}", self.seq, self.detector),
        }
    }
}

/// The numbers behind an alert (no PHI).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// Relationship window looked at, hours before the access.
    pub window_hours: Option<u32>,
    /// Days since the patient's last activity (dormant).
    pub inactive_days: Option<u32>,
    pub count: Option<u32>,
    pub threshold: Option<f64>,
    pub user_median: Option<f64>,
    pub role_median: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: AlertId,
    pub detector: Detector,
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub staff: Id,
    pub role: Role,
    /// None for volume alerts (many patients).
    pub patient: Option<PatientRef>,
    pub facts: Facts,
    /// The same detector already alerted on this user and patient (or, after hours, this
    /// user and night) within the repeat window: this access is attached to that alert and
    /// not counted again.
    pub linked_to: Option<AlertId>,
    /// The access was under break-glass: the grant already has its own review alert, so
    /// this one is evidence for that review and not counted as unexplained.
    pub break_glass: bool,
}

impl Alert {
    /// Counts toward cases' and the dashboard's "unexplained accesses": first of its kind,
    /// not under break-glass.
    pub fn counts(&self) -> bool {
        self.linked_to.is_none() && !self.break_glass
    }

    /// The explanation with `{staff}` and `{patient}` filled by the caller (a name, or a
    /// pseudonym in auditor mode) and the numbers from the facts. One pass over the
    /// template, so nothing in a filled-in value is expanded again.
    pub fn explain(&self, staff: &str, patient: &str) -> String {
        let f = &self.facts;
        let num = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
        let value = |key: &str| -> Option<String> {
            Some(match key {
                "staff" => staff.to_string(),
                "patient" => patient.to_string(),
                "window" => num(f.window_hours),
                "days" => num(f.inactive_days),
                "count" => num(f.count),
                "threshold" => f.threshold.map(|t| format!("{t:.1}")).unwrap_or_default(),
                "bucket" => self.id.bucket.map(Bucket::label).unwrap_or("").to_string(),
                _ => return None,
            })
        };
        let mut out = String::new();
        let mut rest = self.detector.explanation();
        while let Some(open) = rest.find('{') {
            let (before, tail) = rest.split_at(open);
            out.push_str(before);
            let close = tail.find('}').unwrap_or(tail.len());
            let key = tail.get(1..close).unwrap_or("");
            match value(key) {
                Some(v) => out.push_str(&v),
                None => out.push_str(tail.get(..=close).unwrap_or(tail)),
            }
            rest = tail.get(close + 1..).unwrap_or("");
        }
        out.push_str(rest);
        out
    }
}
