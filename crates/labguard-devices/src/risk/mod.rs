//! Risk scoring: the CVSS base score of a finding, adjusted for what the lab knows about
//! the device and about exploitation, with every adjustment explained.

mod cvss;
mod remediation;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::advisory::KevCatalog;
use crate::device::Asset;
use crate::matching::Finding;

pub use self::cvss::{parse_cvss, AttackVector, CvssScore, CvssVersion, Severity};
pub use remediation::{
    finding_key, plan_device, plan_fleet, DevicePlan, FleetPlan, RemediationItem, RemediationPolicy,
};

/// Why the score moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RiskFactor {
    /// Listed in the CISA KEV catalog.
    KnownExploited,
    /// KEV lists known ransomware use.
    RansomwareUse,
    /// The device is on a network and the flaw is network-reachable.
    NetworkExposure,
    /// The device is on no network and the flaw needs one.
    NotNetworked,
    /// The device stores patient data.
    PatientData,
    /// The device talks plain-TCP MLLP: no authentication of peers.
    WeakDeviceAuthentication,
    /// Compensating controls are recorded.
    CompensatingControls,
    /// The vendor no longer ships fixes.
    OutOfVendorSupport,
}

/// One explained change to the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adjustment {
    /// The factor.
    pub factor: RiskFactor,
    /// Points added (negative: removed).
    pub delta: f64,
    /// Plain-language reason, for the report.
    pub reason: String,
}

/// Points per factor. The defaults move a finding about one severity band for each strong
/// factor; labs can tune them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskWeights {
    /// Known exploited (KEV).
    pub known_exploited: f64,
    /// Extra for known ransomware use.
    pub ransomware: f64,
    /// Networked device, network-reachable flaw.
    pub network_exposure: f64,
    /// Device on no network, network-reachable flaw (negative).
    pub not_networked: f64,
    /// Device stores patient data.
    pub patient_data: f64,
    /// Plain-TCP MLLP instrument.
    pub weak_authentication: f64,
    /// Per recorded compensating control (negative).
    pub per_control: f64,
    /// Floor for the total of compensating controls (negative).
    pub controls_floor: f64,
    /// Vendor support ended.
    pub out_of_support: f64,
}

impl Default for RiskWeights {
    fn default() -> Self {
        RiskWeights {
            known_exploited: 2.0,
            ransomware: 0.5,
            network_exposure: 1.0,
            not_networked: -1.5,
            patient_data: 1.0,
            weak_authentication: 1.0,
            per_control: -0.5,
            controls_floor: -1.5,
            out_of_support: 0.5,
        }
    }
}

/// Where the base score came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BaseSource {
    /// A CVSS vector.
    Cvss(CvssScore),
    /// A database's qualitative severity, mapped to a representative score.
    Database(String),
    /// Nothing usable was published; scored as medium.
    Unknown,
}

/// Remediation priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Lowest.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Highest.
    Critical,
}

impl Priority {
    fn from_score(score: f64) -> Priority {
        match Severity::from_score(score) {
            Severity::Critical => Priority::Critical,
            Severity::High => Priority::High,
            Severity::Medium => Priority::Medium,
            Severity::Low | Severity::None => Priority::Low,
        }
    }
}

/// The scored risk of one finding on one device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskAssessment {
    /// Where the base score came from.
    pub base_source: BaseSource,
    /// Base score, 0–10.
    pub base_score: f64,
    /// Band of the base score.
    pub base_severity: Severity,
    /// Adjustments in the order applied.
    pub adjustments: Vec<Adjustment>,
    /// Final score, 0–10, one decimal.
    pub score: f64,
    /// Priority from the final score (at least High when known exploited).
    pub priority: Priority,
    /// Listed in CISA KEV.
    pub known_exploited: bool,
    /// CISA's required action, when listed.
    pub kev_required_action: Option<String>,
}

impl RiskAssessment {
    /// One line per adjustment, for display.
    pub fn explain(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "base {:.1} ({}) from {}",
            self.base_score,
            self.base_severity,
            match &self.base_source {
                BaseSource::Cvss(c) => c.vector.clone(),
                BaseSource::Database(s) => format!("database severity {s}"),
                BaseSource::Unknown => "no published severity (assumed medium)".into(),
            }
        )];
        lines.extend(
            self.adjustments
                .iter()
                .map(|a| format!("{:+.1} {}", a.delta, a.reason)),
        );
        lines.push(format!("= {:.1}, priority {:?}", self.score, self.priority));
        lines
    }
}

/// Picks the base: the newest CVSS version given (v4 over v3.1 over v3.0 over v2), the
/// highest score within it; else the database severity; else medium.
fn base(finding: &Finding) -> (BaseSource, f64) {
    let best = finding
        .severity
        .iter()
        .filter_map(|s| parse_cvss(&s.score, Some(&s.kind)).ok())
        .max_by(|a, b| a.version.cmp(&b.version).then(a.score.total_cmp(&b.score)));
    if let Some(c) = best {
        let s = c.score;
        return (BaseSource::Cvss(c), s);
    }
    let db = finding
        .database_severity
        .as_deref()
        .map(str::to_ascii_uppercase);
    let mapped = match db.as_deref() {
        Some("CRITICAL") => Some(9.5),
        Some("HIGH") => Some(8.0),
        Some("MODERATE" | "MEDIUM") => Some(5.5),
        Some("LOW") => Some(2.5),
        _ => None,
    };
    match (db, mapped) {
        (Some(label), Some(score)) => (BaseSource::Database(label), score),
        _ => (BaseSource::Unknown, 5.0),
    }
}

/// Scores `finding` on `asset`. `today` decides whether vendor support has ended.
pub fn assess(
    finding: &Finding,
    asset: &Asset,
    kev: Option<&KevCatalog>,
    weights: &RiskWeights,
    today: NaiveDate,
) -> RiskAssessment {
    let (base_source, base_score) = base(finding);
    let av = match &base_source {
        BaseSource::Cvss(c) => c.attack_vector,
        _ => None,
    };
    // Unknown vectors count as network-reachable: the cautious reading.
    let network_flaw = matches!(
        av,
        None | Some(AttackVector::Network | AttackVector::Adjacent)
    );
    let mut adj: Vec<Adjustment> = Vec::new();
    let mut add = |factor, delta: f64, reason: String| {
        if delta != 0.0 {
            adj.push(Adjustment {
                factor,
                delta,
                reason,
            });
        }
    };

    let entry = kev.and_then(|k| finding.ids().find_map(|id| k.get(id)));
    if let Some(e) = entry {
        add(
            RiskFactor::KnownExploited,
            weights.known_exploited,
            format!(
                "{} is in CISA's Known Exploited Vulnerabilities catalog (added {})",
                e.cve_id,
                e.date_added
                    .map_or("on an unknown date".into(), |d| d.to_string())
            ),
        );
        if e.known_ransomware_use {
            add(
                RiskFactor::RansomwareUse,
                weights.ransomware,
                "CISA lists known use in ransomware campaigns".into(),
            );
        }
    }
    if network_flaw {
        if asset.is_network_exposed() {
            let at = asset
                .network_address
                .as_deref()
                .map(|a| format!(" at {a}"))
                .unwrap_or_default();
            add(
                RiskFactor::NetworkExposure,
                weights.network_exposure,
                format!("device is on the network{at} and the flaw is reachable over it"),
            );
        } else {
            add(
                RiskFactor::NotNetworked,
                weights.not_networked,
                "device is on no network; the flaw needs network access".into(),
            );
        }
        if asset.connectivity.has_weak_authentication() {
            add(RiskFactor::WeakDeviceAuthentication, weights.weak_authentication, "legacy plain-TCP HL7/MLLP link: no authentication or encryption of instrument traffic".into());
        }
    }
    if asset.stores_phi {
        add(
            RiskFactor::PatientData,
            weights.patient_data,
            "device stores patient data (PHI)".into(),
        );
    }
    if asset.is_out_of_support(today) {
        let end = asset
            .vendor_support_end
            .map(|d| d.to_string())
            .unwrap_or_default();
        add(
            RiskFactor::OutOfVendorSupport,
            weights.out_of_support,
            format!("vendor support ended {end}; fixes may never come"),
        );
    }
    if !asset.compensating_controls.is_empty() {
        let n = asset.compensating_controls.len();
        let delta = (weights.per_control * n as f64).max(weights.controls_floor);
        let list: Vec<&str> = asset
            .compensating_controls
            .iter()
            .map(|c| c.description.as_str())
            .collect();
        add(
            RiskFactor::CompensatingControls,
            delta,
            format!("{n} compensating control(s) recorded: {}", list.join("; ")),
        );
    }

    let raw = base_score + adj.iter().map(|a| a.delta).sum::<f64>();
    let score = (raw.clamp(0.0, 10.0) * 10.0).round() / 10.0;
    let mut priority = Priority::from_score(score);
    if entry.is_some() && priority < Priority::High {
        // Exploitation in the wild outranks a low base score.
        priority = Priority::High;
    }
    RiskAssessment {
        base_severity: Severity::from_score(base_score),
        base_source,
        base_score,
        adjustments: adj,
        score,
        priority,
        known_exploited: entry.is_some(),
        kev_required_action: entry.map(|e| e.required_action.clone()),
    }
}

#[cfg(test)]
mod tests;
