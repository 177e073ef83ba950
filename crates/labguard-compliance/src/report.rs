//! The report model: each specification's status from the evidence behind it, scores per
//! safeguard, the score trend, open risks and incidents.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::attest::{Attestation, Baa, PolicyDocument};
use crate::catalog::{catalog, Requirement, Safeguard, SpecKind};
use crate::evidence::{Evidence, Status};
use crate::incident::{Deadline, Incident};
use crate::risk::Risk;

/// One specification's result.
#[derive(Debug, Clone, Serialize)]
pub struct SpecResult {
    pub citation: String,
    pub title: String,
    pub kind: SpecKind,
    pub requirement: Requirement,
    pub safeguard: Safeguard,
    pub meaning: String,
    pub key_activities: Vec<String>,
    pub status: Status,
    /// Collector names of the evidence behind the status.
    pub evidence: Vec<String>,
}

/// One of the 2025 proposal's items and how the lab stands.
#[derive(Debug, Clone, Serialize)]
pub struct ProposedResult {
    pub id: String,
    pub title: String,
    pub status: Status,
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SafeguardScore {
    pub safeguard: Safeguard,
    /// 0–100: met counts 1, partly met ½, over every specification of the safeguard.
    pub score: f64,
    pub met: u32,
    pub partly: u32,
    pub not_met: u32,
    pub needs_person: u32,
}

/// A point of the trend (from the score history the store keeps).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrendPoint {
    pub at: DateTime<Utc>,
    pub score: f64,
}

/// An incident line for the report (no PHI: counts and dates only).
#[derive(Debug, Clone, Serialize)]
pub struct IncidentLine {
    pub id: String,
    pub title: String,
    pub discovered_on: NaiveDate,
    pub status: String,
    pub determination: String,
    pub deadlines: Vec<Deadline>,
    pub overdue: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub lab: String,
    pub generated_at: DateTime<Utc>,
    pub overall: f64,
    pub safeguards: Vec<SafeguardScore>,
    pub specs: Vec<SpecResult>,
    pub proposed: Vec<ProposedResult>,
    pub evidence: Vec<Evidence>,
    pub trend: Vec<TrendPoint>,
    pub risks: Vec<Risk>,
    pub incidents: Vec<IncidentLine>,
    /// What a person attested, the documents on file and the BAA register (set with
    /// [`Report::with_documents`]).
    pub attestations: Vec<Attestation>,
    pub policies: Vec<PolicyDocument>,
    pub baas: Vec<Baa>,
    /// Deadlines near or passed: notifications, risk due dates, policy reviews.
    pub reminders: Vec<ReminderLine>,
}

/// One thing coming due.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReminderLine {
    /// incident, risk or policy
    pub kind: String,
    pub subject: String,
    pub due: NaiveDate,
    /// Negative when overdue.
    pub days_left: i64,
}

impl Report {
    /// Adds the documents on file and their reminders (policy reviews within 30 days).
    pub fn with_documents(
        mut self,
        attestations: Vec<Attestation>,
        policies: Vec<PolicyDocument>,
        baas: Vec<Baa>,
    ) -> Report {
        let today = self.generated_at.date_naive();
        for p in &policies {
            if let Some(left) = p.review_reminder(today) {
                self.reminders.push(ReminderLine {
                    kind: "policy".into(),
                    subject: format!("review {} v{}", p.title, p.version),
                    due: p.review_due,
                    days_left: left,
                });
            }
        }
        self.reminders.sort_by_key(|r| r.days_left);
        self.attestations = attestations;
        self.policies = policies;
        self.baas = baas;
        self
    }
}

/// Incident notices not yet given and open risks, due within 30 days or overdue.
fn reminders_of(incidents: &[Incident], risks: &[Risk], today: NaiveDate) -> Vec<ReminderLine> {
    let mut out = vec![];
    for i in incidents {
        for d in i.deadlines() {
            let left = (d.due - today).num_days();
            if !i.notified.contains(&d.recipient) && left <= 30 {
                out.push(ReminderLine {
                    kind: "incident".into(),
                    subject: format!("{}: notify {}", i.id, d.recipient.label()),
                    due: d.due,
                    days_left: left,
                });
            }
        }
    }
    for r in risks.iter().filter(|r| r.treatment.is_open()) {
        if let Some(due) = r.due {
            let left = (due - today).num_days();
            if left <= 30 {
                out.push(ReminderLine {
                    kind: "risk".into(),
                    subject: format!("{} (owner {})", r.id, r.owner),
                    due,
                    days_left: left,
                });
            }
        }
    }
    out.sort_by_key(|r| r.days_left);
    out
}

/// Builds the report from the latest evidence of each collector.
pub fn build(
    lab: &str,
    evidence: Vec<Evidence>,
    trend: Vec<TrendPoint>,
    risks: Vec<Risk>,
    incidents: &[Incident],
    now: DateTime<Utc>,
) -> Report {
    // Keep only the newest record per collector.
    let mut latest: BTreeMap<String, Evidence> = BTreeMap::new();
    for e in evidence {
        match latest.get(&e.collector) {
            Some(old) if old.collected_at >= e.collected_at => {}
            _ => {
                latest.insert(e.collector.clone(), e);
            }
        }
    }
    let evidence: Vec<Evidence> = latest.into_values().collect();
    let behind = |id: &str| -> (Status, Vec<String>) {
        let ev: Vec<&Evidence> = evidence
            .iter()
            .filter(|e| e.specs.iter().any(|s| s == id))
            .collect();
        (
            Status::combine(ev.iter().map(|e| e.status)),
            ev.iter().map(|e| e.collector.clone()).collect(),
        )
    };
    let cat = catalog();
    let specs: Vec<SpecResult> = cat
        .specs
        .iter()
        .map(|s| {
            let (mut status, mut ev) = behind(s.citation);
            // A standard stands as its own evidence and its implementation specifications do.
            if s.kind == SpecKind::Standard {
                let kids: Vec<(Status, Vec<String>)> = cat
                    .specs
                    .iter()
                    .filter(|k| k.standard == s.citation && k.citation != s.citation)
                    .map(|k| behind(k.citation))
                    .collect();
                if !kids.is_empty() {
                    status = Status::combine(
                        std::iter::once(status).chain(kids.iter().map(|(st, _)| *st)),
                    );
                    ev.extend(kids.into_iter().flat_map(|(_, e)| e));
                    ev.sort();
                    ev.dedup();
                }
            }
            SpecResult {
                citation: s.citation.into(),
                title: s.title.into(),
                kind: s.kind,
                requirement: s.requirement,
                safeguard: s.safeguard,
                meaning: s.meaning.into(),
                key_activities: s.key_activities.clone(),
                status,
                evidence: ev,
            }
        })
        .collect();
    let proposed = cat
        .proposed
        .iter()
        .map(|p| {
            let (status, ev) = behind(p.id);
            ProposedResult {
                id: p.id.into(),
                title: p.title.into(),
                status,
                evidence: ev,
            }
        })
        .collect();
    let safeguards: Vec<SafeguardScore> = Safeguard::ALL
        .into_iter()
        .map(|g| {
            score_of(
                g,
                specs.iter().filter(|s| s.safeguard == g).map(|s| s.status),
            )
        })
        .collect();
    let overall = overall_score(&specs);
    let today = now.date_naive();
    let reminders = reminders_of(incidents, &risks, today);
    let incidents = incidents
        .iter()
        .map(|i| IncidentLine {
            id: i.id.clone(),
            title: i.title.clone(),
            discovered_on: i.discovered_on,
            status: i.status.code().into(),
            determination: i
                .assessment
                .as_ref()
                .map(|a| format!("{:?}", a.determination()).to_lowercase())
                .unwrap_or_else(|| "not assessed (presumed breach)".into()),
            deadlines: i.deadlines(),
            overdue: i.overdue(today).len(),
        })
        .collect();
    Report {
        lab: lab.into(),
        generated_at: now,
        overall,
        safeguards,
        specs,
        proposed,
        evidence,
        trend,
        risks,
        incidents,
        attestations: vec![],
        policies: vec![],
        baas: vec![],
        reminders,
    }
}

fn score_of(g: Safeguard, st: impl Iterator<Item = Status>) -> SafeguardScore {
    let mut s = SafeguardScore {
        safeguard: g,
        score: 0.0,
        met: 0,
        partly: 0,
        not_met: 0,
        needs_person: 0,
    };
    let mut pts = 0.0;
    let mut n = 0u32;
    for x in st {
        n += 1;
        pts += x.points();
        match x {
            Status::Met => s.met += 1,
            Status::PartlyMet => s.partly += 1,
            Status::NotMet => s.not_met += 1,
            Status::NeedsPerson => s.needs_person += 1,
        }
    }
    s.score = if n == 0 {
        0.0
    } else {
        (1000.0 * pts / f64::from(n)).round() / 10.0
    };
    s
}

/// The overall score over every specification (0–100, one decimal).
pub fn overall_score(specs: &[SpecResult]) -> f64 {
    if specs.is_empty() {
        return 0.0;
    }
    let pts: f64 = specs.iter().map(|s| s.status.points()).sum();
    (1000.0 * pts / specs.len() as f64).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attest::{policy_evidence, PolicyDocument, Subject};
    use crate::risk::{register_evidence, starter_register};
    use chrono::{Duration, TimeZone};

    #[test]
    fn standards_roll_up_and_newest_evidence_wins() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let today = now.date_naive();
        let doc = PolicyDocument {
            id: "p".into(),
            subject: Subject::SecurityPolicies,
            title: "Security".into(),
            version: 1,
            owner: "so".into(),
            sha256: "00".into(),
            effective_from: today - Duration::days(10),
            superseded_on: None,
            review_due: today - Duration::days(1),
        };
        let old = register_evidence(&[], now - Duration::days(1));
        let mut ev = vec![old, register_evidence(&starter_register("so", None), now)];
        ev.extend(policy_evidence(&[doc], now));
        let r = build("Lab", ev, vec![], vec![], &[], now);
        assert_eq!(r.evidence.len(), 3, "only the newest record per collector");
        let st = |c: &str| r.specs.iter().find(|s| s.citation == c).unwrap().status;
        assert_eq!(st("164.308(a)(1)(ii)(A)"), Status::Met);
        // The standard: its analysis and management are met, its other two specs unknown.
        assert_eq!(st("164.308(a)(1)(i)"), Status::PartlyMet);
        assert_eq!(st("164.316(a)"), Status::PartlyMet, "review overdue");
        assert_eq!(st("164.310(b)"), Status::NeedsPerson);
        assert!(r.overall > 0.0 && r.overall < 20.0);
        let admin = &r.safeguards[0];
        assert_eq!(admin.safeguard, Safeguard::Administrative);
        assert!(admin.met >= 2);
    }
}
