//! What a person must attest: versioned policy and procedure documents, the business
//! associate agreement register, contingency and disaster-recovery plans, facility and
//! workstation controls. Each attestation is signed by the security officer.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::evidence::{Evidence, Status};

/// The kinds of thing a person attests, each tied to the specifications it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Subject {
    SecurityPolicies,
    SanctionPolicy,
    SecurityOfficer,
    IncidentProcedure,
    ContingencyPlan,
    DisasterRecoveryPlan,
    EmergencyModePlan,
    CriticalityAnalysis,
    BaaRegister,
    FacilityControls,
    WorkstationControls,
    MediaDisposal,
    Evaluation,
    RiskAnalysis,
}

impl Subject {
    pub const ALL: [Subject; 14] = [
        Subject::SecurityPolicies,
        Subject::SanctionPolicy,
        Subject::SecurityOfficer,
        Subject::IncidentProcedure,
        Subject::ContingencyPlan,
        Subject::DisasterRecoveryPlan,
        Subject::EmergencyModePlan,
        Subject::CriticalityAnalysis,
        Subject::BaaRegister,
        Subject::FacilityControls,
        Subject::WorkstationControls,
        Subject::MediaDisposal,
        Subject::Evaluation,
        Subject::RiskAnalysis,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Subject::SecurityPolicies => "security-policies",
            Subject::SanctionPolicy => "sanction-policy",
            Subject::SecurityOfficer => "security-officer",
            Subject::IncidentProcedure => "incident-procedure",
            Subject::ContingencyPlan => "contingency-plan",
            Subject::DisasterRecoveryPlan => "disaster-recovery-plan",
            Subject::EmergencyModePlan => "emergency-mode-plan",
            Subject::CriticalityAnalysis => "criticality-analysis",
            Subject::BaaRegister => "baa-register",
            Subject::FacilityControls => "facility-controls",
            Subject::WorkstationControls => "workstation-controls",
            Subject::MediaDisposal => "media-disposal",
            Subject::Evaluation => "evaluation",
            Subject::RiskAnalysis => "risk-analysis",
        }
    }

    pub fn from_code(s: &str) -> Option<Subject> {
        Subject::ALL.into_iter().find(|x| x.code() == s)
    }

    pub fn specs(self) -> &'static [&'static str] {
        match self {
            Subject::SecurityPolicies => &[
                "164.316(a)",
                "164.316(b)(1)",
                "164.316(b)(2)(ii)",
                "164.316(b)(2)(iii)",
                "164.308(a)(4)(ii)(B)",
                "164.308(a)(5)(ii)(D)",
                "164.308(a)(3)(ii)(A)",
            ],
            Subject::SanctionPolicy => &["164.308(a)(1)(ii)(C)"],
            Subject::SecurityOfficer => &["164.308(a)(2)"],
            Subject::IncidentProcedure => &["164.308(a)(6)(i)"],
            Subject::ContingencyPlan => &["164.308(a)(7)(i)", "164.310(a)(2)(i)"],
            Subject::DisasterRecoveryPlan => &["164.308(a)(7)(ii)(B)"],
            Subject::EmergencyModePlan => &["164.308(a)(7)(ii)(C)"],
            Subject::CriticalityAnalysis => &["164.308(a)(7)(ii)(E)"],
            Subject::BaaRegister => &[
                "164.308(b)(1)",
                "164.308(b)(3)",
                "164.314(a)(1)",
                "164.314(a)(2)(i)",
                "164.314(a)(2)(iii)",
            ],
            Subject::FacilityControls => &[
                "164.310(a)(1)",
                "164.310(a)(2)(ii)",
                "164.310(a)(2)(iii)",
                "164.310(a)(2)(iv)",
            ],
            Subject::WorkstationControls => &["164.310(b)", "164.310(c)"],
            Subject::MediaDisposal => &["164.310(d)(1)", "164.310(d)(2)(i)", "164.310(d)(2)(ii)"],
            Subject::Evaluation => &["164.308(a)(8)", "proposed-compliance-audit"],
            Subject::RiskAnalysis => &[
                "164.308(a)(1)(i)",
                "164.308(a)(1)(ii)(A)",
                "164.308(a)(1)(ii)(B)",
            ],
        }
    }
}

/// A policy or procedure, one row per version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyDocument {
    pub id: String,
    pub subject: Subject,
    pub title: String,
    pub version: u32,
    pub owner: String,
    /// SHA-256 of the document text as approved (the text itself lives with the lab).
    pub sha256: String,
    pub effective_from: NaiveDate,
    /// Set when a newer version or withdrawal ends this one.
    pub superseded_on: Option<NaiveDate>,
    pub review_due: NaiveDate,
}

impl PolicyDocument {
    /// Kept six years after it stops being in effect (164.316(b)(2)(i)); None while in effect.
    pub fn retain_until(&self) -> Option<NaiveDate> {
        self.superseded_on.map(|d| {
            d.with_year(d.year() + 6)
                .or_else(|| NaiveDate::from_ymd_opt(d.year() + 6, 3, 1))
                .unwrap_or(NaiveDate::MAX)
        })
    }

    pub fn in_effect(&self, today: NaiveDate) -> bool {
        self.effective_from <= today && self.superseded_on.is_none_or(|d| d > today)
    }

    /// Review reminder: due within 30 days or past due.
    pub fn review_reminder(&self, today: NaiveDate) -> Option<i64> {
        let left = (self.review_due - today).num_days();
        (self.in_effect(today) && left <= 30).then_some(left)
    }
}

/// A business associate agreement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baa {
    pub id: String,
    pub vendor: String,
    pub services: String,
    pub signed_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
    pub terminated_on: Option<NaiveDate>,
}

impl Baa {
    pub fn current(&self, today: NaiveDate) -> bool {
        self.signed_on <= today
            && self.expires_on.is_none_or(|d| d >= today)
            && self.terminated_on.is_none_or(|d| d > today)
    }
}

/// A signed statement by the security officer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attestation {
    pub id: String,
    pub subject: Subject,
    pub statement: String,
    /// Met or partly met, as the officer judges; never "needs a person".
    pub status: Status,
    /// The security officer's staff id (what the store checks against the signer).
    pub signed_by: String,
    /// Their username, for people reading the report.
    #[serde(default)]
    pub signer_name: String,
    pub signed_at: DateTime<Utc>,
    /// Document version attested, if any.
    pub document_sha256: Option<String>,
}

/// Evidence that written policies exist, are in effect and reviewed on time
/// (164.316(a), (b)(1), (b)(2)(iii)); superseded versions stay on file (retention). Then one
/// record per subject with a document in effect, for the specifications it answers.
pub fn policy_evidence(docs: &[PolicyDocument], now: DateTime<Utc>) -> Vec<Evidence> {
    let today = now.date_naive();
    let mut out = vec![policies_current(docs, now)];
    for s in Subject::ALL {
        let cur: Vec<&PolicyDocument> = docs
            .iter()
            .filter(|d| d.subject == s && d.in_effect(today))
            .collect();
        if cur.is_empty() {
            continue;
        }
        let late = cur.iter().filter(|d| d.review_due < today).count();
        let (status, summary) = if late == 0 {
            (
                Status::Met,
                format!("{} document(s) on file and reviewed on time", cur.len()),
            )
        } else {
            (
                Status::PartlyMet,
                format!("{} document(s) on file, {late} past review", cur.len()),
            )
        };
        out.push(Evidence::new(
            &format!("policy-{}", s.code()),
            &format!("Document on file: {}", s.code().replace('-', " ")),
            s.specs(),
            status,
            summary,
            json!({"documents": cur.iter().map(|d| json!({"title": d.title, "version": d.version, "sha256": d.sha256})).collect::<Vec<_>>()}),
            now,
        ));
    }
    out
}

fn policies_current(docs: &[PolicyDocument], now: DateTime<Utc>) -> Evidence {
    let today = now.date_naive();
    let current: Vec<&PolicyDocument> = docs.iter().filter(|d| d.in_effect(today)).collect();
    let overdue = current.iter().filter(|d| d.review_due < today).count();
    let superseded = docs.iter().filter(|d| d.superseded_on.is_some()).count();
    let (status, summary) = if current.is_empty() {
        (
            Status::NotMet,
            "no policy or procedure is on file".to_string(),
        )
    } else if overdue > 0 {
        (
            Status::PartlyMet,
            format!(
                "{} documents in effect; {overdue} past their review date",
                current.len()
            ),
        )
    } else {
        (
            Status::Met,
            format!("{} documents in effect, all reviewed on time; {superseded} superseded versions kept", current.len()),
        )
    };
    Evidence::new(
        "policies-current",
        "Policies and procedures in effect and reviewed",
        &[
            "164.316(a)",
            "164.316(b)(1)",
            "164.316(b)(2)(i)",
            "164.316(b)(2)(iii)",
        ],
        status,
        summary,
        json!({"in_effect": current.len(), "review_overdue": overdue, "superseded_kept": superseded}),
        now,
    )
}

/// Evidence from attestations: a subject attested within the last 12 months counts as the
/// officer judged it; older ones are partly met; none needs a person.
pub fn attestation_evidence(
    atts: &[Attestation],
    baas: &[Baa],
    now: DateTime<Utc>,
) -> Vec<Evidence> {
    Subject::ALL
        .into_iter()
        .map(|s| {
            let latest = atts
                .iter()
                .filter(|a| a.subject == s)
                .max_by_key(|a| a.signed_at);
            let (mut status, mut summary) = match latest {
                None => (Status::NeedsPerson, "not attested yet".to_string()),
                Some(a) if now - a.signed_at > Duration::days(365) => (
                    Status::PartlyMet,
                    format!(
                        "last attested {} by {}: over 12 months ago",
                        a.signed_at.date_naive(),
                        a.signer_name
                    ),
                ),
                Some(a) => (
                    a.status,
                    format!("attested {} by {}", a.signed_at.date_naive(), a.signer_name),
                ),
            };
            if s == Subject::BaaRegister && status == Status::Met {
                let today = now.date_naive();
                let lapsed = baas.iter().filter(|b| !b.current(today)).count();
                if lapsed > 0 {
                    status = Status::PartlyMet;
                    summary = format!("{summary}; {lapsed} BAAs lapsed or terminated");
                }
            }
            let obs = json!({
                "subject": s.code(),
                "attestation_id": latest.map(|a| a.id.clone()),
                "signed_at": latest.map(|a| a.signed_at),
                "document_sha256": latest.and_then(|a| a.document_sha256.clone()),
            });
            Evidence::new(
                &format!("attestation-{}", s.code()),
                &format!("Attestation: {}", s.code().replace('-', " ")),
                s.specs(),
                status,
                summary,
                obs,
                now,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn retention_six_years_after_superseded() {
        let mut p = PolicyDocument {
            id: "p".into(),
            subject: Subject::SecurityPolicies,
            title: "Access".into(),
            version: 1,
            owner: "so".into(),
            sha256: "00".into(),
            effective_from: d(2020, 1, 1),
            superseded_on: None,
            review_due: d(2026, 12, 1),
        };
        assert_eq!(p.retain_until(), None);
        assert_eq!(p.review_reminder(d(2026, 11, 25)), Some(6));
        assert_eq!(p.review_reminder(d(2026, 10, 1)), None);
        p.superseded_on = Some(d(2024, 2, 29));
        assert_eq!(p.retain_until(), Some(d(2030, 3, 1)));
        assert!(!p.in_effect(d(2026, 1, 1)));
        assert_eq!(p.review_reminder(d(2026, 11, 25)), None);
    }

    #[test]
    fn attestation_ages_and_baa_lapses() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap();
        let a = |s, t| Attestation {
            id: "a".into(),
            subject: s,
            statement: "x".into(),
            status: Status::Met,
            signed_by: "so".into(),
            signer_name: "so".into(),
            signed_at: t,
            document_sha256: None,
        };
        let atts = vec![
            a(Subject::BaaRegister, now - Duration::days(10)),
            a(Subject::FacilityControls, now - Duration::days(400)),
        ];
        let baas = vec![Baa {
            id: "b".into(),
            vendor: "Courier".into(),
            services: "transport".into(),
            signed_on: d(2020, 1, 1),
            expires_on: Some(d(2025, 1, 1)),
            terminated_on: None,
        }];
        let ev = attestation_evidence(&atts, &baas, now);
        let get = |c: &str| ev.iter().find(|e| e.collector == c).unwrap().status;
        assert_eq!(get("attestation-baa-register"), Status::PartlyMet);
        assert_eq!(get("attestation-facility-controls"), Status::PartlyMet);
        assert_eq!(get("attestation-sanction-policy"), Status::NeedsPerson);
        let ev = attestation_evidence(&atts, &[], now);
        assert_eq!(
            ev.iter()
                .find(|e| e.collector == "attestation-baa-register")
                .unwrap()
                .status,
            Status::Met
        );
    }
}
