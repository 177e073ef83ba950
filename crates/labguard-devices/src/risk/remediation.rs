//! Remediation plans: what to fix, by when, per device and across the fleet.

use std::cmp::Ordering;
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{assess, Priority, RiskAssessment, RiskWeights};
use crate::advisory::KevCatalog;
use crate::device::Asset;
use crate::matching::{Finding, MatchReport, SuppressedFinding};

/// Days allowed from first sight to fix, by priority. KEV findings get the shorter of the
/// KEV deadline and their priority's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemediationPolicy {
    /// Known exploited (CISA KEV).
    pub kev_days: i64,
    /// Critical.
    pub critical_days: i64,
    /// High.
    pub high_days: i64,
    /// Medium.
    pub medium_days: i64,
    /// Low.
    pub low_days: i64,
}

impl Default for RemediationPolicy {
    /// KEV and critical 15 days, high 30, medium 90, low 180.
    fn default() -> Self {
        RemediationPolicy {
            kev_days: 15,
            critical_days: 15,
            high_days: 30,
            medium_days: 90,
            low_days: 180,
        }
    }
}

impl RemediationPolicy {
    /// Days allowed for a finding with this risk.
    pub fn days_for(&self, risk: &RiskAssessment) -> i64 {
        let by_priority = match risk.priority {
            Priority::Critical => self.critical_days,
            Priority::High => self.high_days,
            Priority::Medium => self.medium_days,
            Priority::Low => self.low_days,
        };
        if risk.known_exploited {
            by_priority.min(self.kev_days)
        } else {
            by_priority
        }
    }
}

/// One thing to fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemediationItem {
    /// The device.
    pub asset_id: String,
    /// Stable key for first-seen bookkeeping: `asset|component|vulnerability id`.
    pub key: String,
    /// Vulnerability (display id).
    pub vulnerability: String,
    /// Component name.
    pub component: String,
    /// Component version.
    pub component_version: Option<String>,
    /// Scored risk.
    pub risk: RiskAssessment,
    /// When the finding was first seen.
    pub first_seen: DateTime<Utc>,
    /// Deadline: first seen + the policy's days.
    pub due: DateTime<Utc>,
    /// Past the deadline at planning time.
    pub overdue: bool,
    /// Whole days left (negative when overdue).
    pub days_left: i64,
    /// What to do.
    pub action: String,
}

/// A device's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct DevicePlan {
    /// The device.
    pub asset_id: String,
    /// Items, most urgent first.
    pub items: Vec<RemediationItem>,
    /// Findings a vendor VEX statement cleared, with the justification.
    pub suppressed: Vec<SuppressedFinding>,
    /// Gaps in the analysis (from matching).
    pub warnings: Vec<String>,
}

/// The fleet's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetPlan {
    /// Per-device plans, in input order.
    pub devices: Vec<DevicePlan>,
    /// Every item of every device, most urgent first.
    pub items: Vec<RemediationItem>,
    /// Number of overdue items.
    pub overdue: usize,
}

/// The key under which a finding's first-seen time is stored.
pub fn finding_key(asset_id: &str, finding: &Finding, id: &str) -> String {
    let c = &finding.component;
    let comp = match (&c.purl, &c.cpe) {
        (Some(p), _) => p.to_string(),
        (None, Some(cpe)) => cpe.to_string(),
        (None, None) => format!("{}@{}", c.name, c.effective_version().unwrap_or("")),
    };
    format!("{asset_id}|{comp}|{id}")
}

fn action(f: &Finding, asset: &Asset, risk: &RiskAssessment, now: DateTime<Utc>) -> String {
    let c = &f.component;
    let mut s = match f.fixed_versions.first() {
        Some(v) => format!(
            "Upgrade {} from {} to {v} or later",
            c.name,
            c.effective_version().unwrap_or("its current version")
        ),
        None if asset.is_out_of_support(now.date_naive()) => format!(
            "No fix published and {} support has ended: isolate the device or plan its replacement",
            asset.manufacturer
        ),
        None => format!(
            "No fixed version known: ask {} for a firmware update, meanwhile restrict network access",
            asset.manufacturer
        ),
    };
    if let Some(req) = &risk.kev_required_action {
        s.push_str(&format!(". CISA: {req}"));
    }
    s
}

fn urgency(a: &RemediationItem, b: &RemediationItem) -> Ordering {
    b.overdue
        .cmp(&a.overdue)
        .then(b.risk.priority.cmp(&a.risk.priority))
        .then(a.due.cmp(&b.due))
        .then(b.risk.score.total_cmp(&a.risk.score))
        .then(a.key.cmp(&b.key))
}

/// Plans one device from its match report.
///
/// `first_seen` maps [`finding_key`]s to when each finding was first recorded; every id of
/// a finding is tried (aliases can change the display id) and the earliest wins. A finding
/// not in the map is new: first seen `now`.
pub fn plan_device(
    asset: &Asset,
    report: &MatchReport,
    kev: Option<&KevCatalog>,
    policy: &RemediationPolicy,
    weights: &RiskWeights,
    first_seen: &HashMap<String, DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DevicePlan {
    let mut items: Vec<RemediationItem> = report
        .findings
        .iter()
        .map(|f| {
            let risk = assess(f, asset, kev, weights, now.date_naive());
            let seen = f
                .ids()
                .filter_map(|id| first_seen.get(&finding_key(&asset.id, f, id)))
                .min()
                .copied()
                .unwrap_or(now);
            let due = seen + Duration::days(policy.days_for(&risk));
            let days_left = (due - now).num_days();
            RemediationItem {
                asset_id: asset.id.clone(),
                key: finding_key(&asset.id, f, &f.id),
                vulnerability: f.id.clone(),
                component: f.component.name.clone(),
                component_version: f.component.effective_version().map(str::to_string),
                action: action(f, asset, &risk, now),
                risk,
                first_seen: seen,
                due,
                overdue: now > due,
                days_left,
            }
        })
        .collect();
    items.sort_by(urgency);
    DevicePlan {
        asset_id: asset.id.clone(),
        items,
        suppressed: report.suppressed.clone(),
        warnings: report.warnings.clone(),
    }
}

/// Plans every device and merges the items into one fleet-wide list.
pub fn plan_fleet(
    devices: &[(Asset, MatchReport)],
    kev: Option<&KevCatalog>,
    policy: &RemediationPolicy,
    weights: &RiskWeights,
    first_seen: &HashMap<String, DateTime<Utc>>,
    now: DateTime<Utc>,
) -> FleetPlan {
    let plans: Vec<DevicePlan> = devices
        .iter()
        .map(|(a, r)| plan_device(a, r, kev, policy, weights, first_seen, now))
        .collect();
    let mut items: Vec<RemediationItem> =
        plans.iter().flat_map(|p| p.items.iter().cloned()).collect();
    items.sort_by(urgency);
    FleetPlan {
        overdue: items.iter().filter(|i| i.overdue).count(),
        devices: plans,
        items,
    }
}
