//! Risk analysis in the style of the HHS SRA Tool and NIST SP 800-30: threat × vulnerability,
//! likelihood and impact on a five-point scale, inherent and residual risk, owners and due
//! dates, links to evidence and device findings, and history snapshots for the trend.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::evidence::{Evidence, Status};
use crate::ComplianceError;

/// Threat sources a lab faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Threat {
    Ransomware,
    Phishing,
    TamperedResults,
    InsiderSnooping,
    LostLaptop,
    VendorRemoteAccess,
    UnpatchedAnalyzer,
    PowerLoss,
}

impl Threat {
    pub const ALL: [Threat; 8] = [
        Threat::Ransomware,
        Threat::Phishing,
        Threat::TamperedResults,
        Threat::InsiderSnooping,
        Threat::LostLaptop,
        Threat::VendorRemoteAccess,
        Threat::UnpatchedAnalyzer,
        Threat::PowerLoss,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Threat::Ransomware => "ransomware",
            Threat::Phishing => "phishing",
            Threat::TamperedResults => "tampered-results",
            Threat::InsiderSnooping => "insider-snooping",
            Threat::LostLaptop => "lost-laptop",
            Threat::VendorRemoteAccess => "vendor-remote-access",
            Threat::UnpatchedAnalyzer => "unpatched-analyzer",
            Threat::PowerLoss => "power-loss",
        }
    }

    pub fn from_code(s: &str) -> Option<Threat> {
        Threat::ALL.into_iter().find(|t| t.code() == s)
    }

    pub fn title(self) -> &'static str {
        match self {
            Threat::Ransomware => "Ransomware encrypts the LIS and its backups",
            Threat::Phishing => "Phishing steals a staff password",
            Threat::TamperedResults => "Instrument results altered in transit or at rest",
            Threat::InsiderSnooping => "Staff look up patients they do not serve",
            Threat::LostLaptop => "A laptop or USB drive with patient data is lost",
            Threat::VendorRemoteAccess => "Vendor remote-support access is misused",
            Threat::UnpatchedAnalyzer => "A known vulnerability in an analyzer is exploited",
            Threat::PowerLoss => "Power or network loss stops result delivery",
        }
    }

    /// The weakness that lets the threat through, and the controls that answer it.
    fn starter(
        self,
    ) -> (
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
        u8,
        u8,
    ) {
        // (vulnerability, specs, evidence collectors, likelihood, impact)
        match self {
            Threat::Ransomware => (
                "Backups reachable from the network; restore untested",
                &["164.308(a)(7)(ii)(A)", "164.308(a)(7)(ii)(B)"],
                &["backups", "restore-drill"],
                4,
                5,
            ),
            Threat::Phishing => (
                "Passwords alone protect accounts; staff untrained",
                &["164.312(d)", "164.308(a)(5)(i)"],
                &["mfa-coverage", "phishing-rates"],
                4,
                4,
            ),
            Threat::TamperedResults => (
                "Results not integrity-protected end to end",
                &["164.312(c)(1)", "164.312(e)(2)(i)"],
                &["audit-verified", "sessions-tls"],
                2,
                5,
            ),
            Threat::InsiderSnooping => (
                "Broad access; logs not reviewed",
                &["164.308(a)(4)(i)", "164.308(a)(1)(ii)(D)"],
                &["access-review", "break-glass-reviewed"],
                3,
                3,
            ),
            Threat::LostLaptop => (
                "Portable devices hold unencrypted exports",
                &["164.312(a)(2)(iv)", "164.310(d)(1)"],
                &["encryption-at-rest", "device-inventory"],
                3,
                4,
            ),
            Threat::VendorRemoteAccess => (
                "Always-on vendor VPN without BAA review",
                &["164.308(b)(1)", "164.312(a)(1)"],
                &["leavers-disabled"],
                3,
                4,
            ),
            Threat::UnpatchedAnalyzer => (
                "Analyzer OS and firmware out of support",
                &["164.308(a)(5)(ii)(B)", "164.308(a)(1)(ii)(B)"],
                &["kev-critical-overdue", "device-assessments"],
                4,
                4,
            ),
            Threat::PowerLoss => (
                "No tested emergency-mode operation",
                &["164.308(a)(7)(ii)(C)", "164.310(a)(2)(i)"],
                &["restore-drill"],
                2,
                3,
            ),
        }
    }
}

/// NIST SP 800-30 style qualitative level of a 1–25 score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RiskLevel {
    Low,
    Moderate,
    High,
    Critical,
}

impl RiskLevel {
    pub fn of(score: u8) -> RiskLevel {
        match score {
            0..=4 => RiskLevel::Low,
            5..=9 => RiskLevel::Moderate,
            10..=16 => RiskLevel::High,
            _ => RiskLevel::Critical,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Treatment {
    Open,
    Mitigating,
    Accepted,
    Closed,
}

impl Treatment {
    pub fn code(self) -> &'static str {
        match self {
            Treatment::Open => "open",
            Treatment::Mitigating => "mitigating",
            Treatment::Accepted => "accepted",
            Treatment::Closed => "closed",
        }
    }
    pub fn from_code(s: &str) -> Option<Treatment> {
        [Self::Open, Self::Mitigating, Self::Accepted, Self::Closed]
            .into_iter()
            .find(|t| t.code() == s)
    }
    pub fn is_open(self) -> bool {
        matches!(self, Treatment::Open | Treatment::Mitigating)
    }
}

/// One threat × vulnerability pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Risk {
    pub id: String,
    pub threat: Threat,
    pub vulnerability: String,
    pub likelihood: u8,
    pub impact: u8,
    /// After the controls in place.
    pub residual_likelihood: u8,
    pub residual_impact: u8,
    pub owner: String,
    pub due: Option<NaiveDate>,
    pub treatment: Treatment,
    pub specs: Vec<String>,
    /// Evidence collectors and device finding ids this risk is judged on.
    pub links: Vec<String>,
}

fn check_scale(name: &str, v: u8) -> Result<(), ComplianceError> {
    if (1..=5).contains(&v) {
        Ok(())
    } else {
        Err(ComplianceError::Invalid(format!("{name} must be 1 to 5")))
    }
}

impl Risk {
    pub fn validate(&self) -> Result<(), ComplianceError> {
        check_scale("likelihood", self.likelihood)?;
        check_scale("impact", self.impact)?;
        check_scale("residual likelihood", self.residual_likelihood)?;
        check_scale("residual impact", self.residual_impact)?;
        if self.residual_score() > self.inherent_score() {
            return Err(ComplianceError::Invalid(
                "residual risk cannot exceed inherent risk".into(),
            ));
        }
        Ok(())
    }

    pub fn inherent_score(&self) -> u8 {
        self.likelihood * self.impact
    }

    pub fn residual_score(&self) -> u8 {
        self.residual_likelihood * self.residual_impact
    }

    pub fn level(&self) -> RiskLevel {
        RiskLevel::of(self.residual_score())
    }

    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.treatment.is_open() && self.due.is_some_and(|d| d < today)
    }

    /// A starter entry for a threat, residual equal to inherent until someone judges it.
    pub fn starter(threat: Threat, owner: &str, due: Option<NaiveDate>) -> Risk {
        let (vuln, specs, links, l, i) = threat.starter();
        Risk {
            id: threat.code().to_string(),
            threat,
            vulnerability: vuln.into(),
            likelihood: l,
            impact: i,
            residual_likelihood: l,
            residual_impact: i,
            owner: owner.into(),
            due,
            treatment: Treatment::Open,
            specs: specs.iter().map(|s| s.to_string()).collect(),
            links: links.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// The lab's starter register: one entry per threat.
pub fn starter_register(owner: &str, due: Option<NaiveDate>) -> Vec<Risk> {
    Threat::ALL
        .into_iter()
        .map(|t| Risk::starter(t, owner, due))
        .collect()
}

/// A point of the risk trend: one snapshot of one risk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskSnapshot {
    pub risk_id: String,
    pub at: DateTime<Utc>,
    pub inherent: u8,
    pub residual: u8,
    pub treatment: Treatment,
}

impl RiskSnapshot {
    pub fn of(r: &Risk, at: DateTime<Utc>) -> RiskSnapshot {
        RiskSnapshot {
            risk_id: r.id.clone(),
            at,
            inherent: r.inherent_score(),
            residual: r.residual_score(),
            treatment: r.treatment,
        }
    }
}

/// Evidence that the risk analysis exists and is worked (164.308(a)(1)(ii)(A)-(B)).
pub fn register_evidence(risks: &[Risk], now: DateTime<Utc>) -> Evidence {
    let today = now.date_naive();
    let overdue = risks.iter().filter(|r| r.overdue(today)).count();
    let unowned = risks
        .iter()
        .filter(|r| r.treatment.is_open() && r.owner.trim().is_empty())
        .count();
    let (status, summary) = if risks.is_empty() {
        (Status::NotMet, "no risk analysis recorded".to_string())
    } else if overdue == 0 && unowned == 0 {
        (
            Status::Met,
            format!("{} risks analysed, each owned, none past due", risks.len()),
        )
    } else {
        (
            Status::PartlyMet,
            format!(
                "{} risks; {overdue} past due, {unowned} without an owner",
                risks.len()
            ),
        )
    };
    Evidence::new(
        "risk-register",
        "Risk analysis and risk management",
        &["164.308(a)(1)(ii)(A)", "164.308(a)(1)(ii)(B)"],
        status,
        summary,
        serde_json::json!({"risks": risks.len(), "overdue": overdue, "unowned": unowned}),
        now,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_levels_and_validation() {
        let mut r = Risk::starter(Threat::Ransomware, "so", None);
        assert_eq!(r.inherent_score(), 20);
        assert_eq!(r.level(), RiskLevel::Critical);
        r.residual_likelihood = 2;
        r.residual_impact = 3;
        assert_eq!(r.residual_score(), 6);
        assert_eq!(r.level(), RiskLevel::Moderate);
        assert!(r.validate().is_ok());
        r.residual_impact = 6;
        assert!(r.validate().is_err());
        r.residual_impact = 5;
        r.residual_likelihood = 5;
        assert!(r.validate().is_err(), "residual above inherent");
        assert_eq!(starter_register("so", None).len(), 8);
        for t in Threat::ALL {
            assert_eq!(Threat::from_code(t.code()), Some(t));
            assert!(Risk::starter(t, "so", None).validate().is_ok());
        }
    }
}
