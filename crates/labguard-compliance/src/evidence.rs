//! Evidence: what a collector found, dated and hashed (SHA-256 of canonical JSON) so a report
//! can be checked against the audit log entry that recorded it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How far a specification is met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Met,
    PartlyMet,
    NotMet,
    /// No machine evidence can decide it: a person must look or attest.
    NeedsPerson,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::PartlyMet => "partly-met",
            Status::NotMet => "not-met",
            Status::NeedsPerson => "needs-person",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::PartlyMet => "partly met",
            Status::NotMet => "not met",
            Status::NeedsPerson => "needs a person",
        }
    }

    pub fn from_code(s: &str) -> Option<Status> {
        [
            Status::Met,
            Status::PartlyMet,
            Status::NotMet,
            Status::NeedsPerson,
        ]
        .into_iter()
        .find(|x| x.code() == s)
    }

    /// Points toward the score: met 1, partly met ½, otherwise 0.
    pub fn points(self) -> f64 {
        match self {
            Status::Met => 1.0,
            Status::PartlyMet => 0.5,
            Status::NotMet | Status::NeedsPerson => 0.0,
        }
    }

    /// Combines several findings for one specification: met only when every finding is
    /// met (evidence still missing makes it partly met); not met when nothing is met; a
    /// person's judgment is needed only if nothing else spoke.
    pub fn combine(items: impl IntoIterator<Item = Status>) -> Status {
        let all: Vec<Status> = items.into_iter().collect();
        let machine: Vec<Status> = all
            .iter()
            .copied()
            .filter(|s| *s != Status::NeedsPerson)
            .collect();
        if machine.is_empty() {
            return Status::NeedsPerson;
        }
        if all.iter().all(|s| *s == Status::Met) {
            Status::Met
        } else if machine.iter().all(|s| *s == Status::NotMet) {
            Status::NotMet
        } else {
            Status::PartlyMet
        }
    }
}

/// One dated, hashed finding of one collector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Stable collector name (`encryption-at-rest`).
    pub collector: String,
    pub title: String,
    /// CFR citations (and `proposed-*` ids) this speaks to.
    pub specs: Vec<String>,
    pub status: Status,
    /// One sentence a person can read.
    pub summary: String,
    /// The figures behind the status (counts, dates); never PHI.
    pub observations: Value,
    pub collected_at: DateTime<Utc>,
    /// SHA-256 (hex) of the canonical JSON of every field above.
    pub sha256: String,
}

impl Evidence {
    pub fn new(
        collector: &str,
        title: &str,
        specs: &[&str],
        status: Status,
        summary: impl Into<String>,
        observations: Value,
        collected_at: DateTime<Utc>,
    ) -> Evidence {
        let mut e = Evidence {
            collector: collector.into(),
            title: title.into(),
            specs: specs.iter().map(|s| s.to_string()).collect(),
            status,
            summary: summary.into(),
            observations,
            collected_at,
            sha256: String::new(),
        };
        e.sha256 = e.compute_hash();
        e
    }

    /// The canonical JSON the hash covers (keys sorted, no spaces, times in RFC 3339 UTC
    /// with microseconds).
    pub fn canonical_json(&self) -> String {
        let v = serde_json::json!({
            "collector": self.collector,
            "title": self.title,
            "specs": self.specs,
            "status": self.status.code(),
            "summary": self.summary,
            "observations": self.observations,
            "collected_at": self.collected_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        });
        canonical(&v)
    }

    pub fn compute_hash(&self) -> String {
        sha256_hex(self.canonical_json().as_bytes())
    }

    /// True if the record is as it was hashed.
    pub fn intact(&self) -> bool {
        self.sha256 == self.compute_hash()
    }
}

pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, b).as_ref())
}

/// Canonical JSON: object keys sorted by code point, no insignificant whitespace. Written by
/// hand so it does not depend on serde_json's map ordering feature.
pub fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                if let Some(x) = m.get(*k) {
                    write_canonical(x, out);
                }
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn hash_is_over_canonical_json_and_detects_change() {
        let t = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let e = Evidence::new(
            "x",
            "X",
            &["164.312(b)"],
            Status::Met,
            "ok",
            serde_json::json!({"b": 1, "a": [2, {"d": 1, "c": 0}]}),
            t,
        );
        assert!(e.intact());
        assert!(e
            .canonical_json()
            .contains(r#""observations":{"a":[2,{"c":0,"d":1}],"b":1}"#));
        let mut bad = e.clone();
        bad.status = Status::NotMet;
        assert!(!bad.intact());
    }

    #[test]
    fn combine() {
        use Status::*;
        assert_eq!(Status::combine([Met, Met]), Met);
        assert_eq!(Status::combine([Met, NotMet]), PartlyMet);
        assert_eq!(Status::combine([NotMet, NeedsPerson]), NotMet);
        assert_eq!(Status::combine([Met, NeedsPerson]), PartlyMet);
        assert_eq!(Status::combine([NeedsPerson]), NeedsPerson);
        assert_eq!(Status::combine([]), NeedsPerson);
    }
}
