//! The device-security fleet report the API, the web UI and the CLI print: the stored
//! inventory, SBOMs, advisories, KEV and VEX run through labguard-devices' matching and
//! risk scoring.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use labguard_devices::advisory::{parse_vex, VexStatement, VexStatus};
use labguard_devices::matching::{Finding, MatchIndex, MatchReport};
use labguard_devices::risk::{finding_key, plan_fleet, FleetPlan, RemediationPolicy, RiskWeights};
use labguard_devices::sbom::{Component, Sbom};
use labguard_store::{Actor, InventoryDevice, ScheduleEntry, Store, StoreError};
use serde::Serialize;

fn code<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Remediation deadlines in days by priority (KEV: known exploited).
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyOut {
    pub kev_days: i64,
    pub critical_days: i64,
    pub high_days: i64,
    pub medium_days: i64,
    pub low_days: i64,
}

impl From<&RemediationPolicy> for PolicyOut {
    fn from(p: &RemediationPolicy) -> Self {
        PolicyOut {
            kev_days: p.kev_days,
            critical_days: p.critical_days,
            high_days: p.high_days,
            medium_days: p.medium_days,
            low_days: p.low_days,
        }
    }
}

/// Where a device stands on its assessment schedule.
#[derive(Serialize, Clone)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssessmentOut {
    pub last_assessed: Option<DateTime<Utc>>,
    pub signed_off: bool,
    pub next_due: NaiveDate,
    pub overdue: bool,
}

impl From<ScheduleEntry> for AssessmentOut {
    fn from(s: ScheduleEntry) -> Self {
        AssessmentOut {
            last_assessed: s.last_assessed,
            signed_off: s.signed_off,
            next_due: s.next_due,
            overdue: s.overdue,
        }
    }
}

/// Everything matched: per device its inventory entry, SBOM and match report.
pub struct Analysis {
    pub devices: Vec<(InventoryDevice, Option<Sbom>, MatchReport)>,
    pub vex: Vec<VexStatement>,
    pub plan: FleetPlan,
}

pub fn analyze(
    store: &Store,
    actor: &Actor,
    only: Option<&str>,
    policy: &RemediationPolicy,
    now: DateTime<Utc>,
) -> Result<Analysis, StoreError> {
    let mut inv = store.inventory(actor)?;
    if let Some(name) = only {
        inv.retain(|d| d.asset.id == name);
        if inv.is_empty() {
            return Err(StoreError::NotFound(format!(
                "no device named {name} in the inventory"
            )));
        }
    }
    let mut sboms = store.device_sboms(actor)?;
    let db = store.advisory_db(actor)?;
    let kev = store.kev_catalog(actor)?;
    let mut vex = Vec::new();
    for (_, body) in store.vex_documents(actor)? {
        // Stored documents parsed when imported; one that no longer parses is skipped.
        if let Ok(doc) = parse_vex(body.as_bytes()) {
            vex.extend(doc.statements);
        }
    }
    let index = MatchIndex::new(db.iter());
    let mut devices = Vec::with_capacity(inv.len());
    let mut sightings = Vec::new();
    for d in inv {
        let sbom = sboms.remove(&d.asset.id);
        let report = index.match_device(&d.asset, sbom.as_ref(), &vex);
        for f in &report.findings {
            sightings.push((
                finding_key(&d.asset.id, f, &f.id),
                d.asset.id.clone(),
                f.id.clone(),
            ));
        }
        devices.push((d, sbom, report));
    }
    let first_seen = store.record_findings(actor, &sightings)?;
    let pairs: Vec<_> = devices
        .iter()
        .map(|(d, _, r)| (d.asset.clone(), r.clone()))
        .collect();
    let plan = plan_fleet(
        &pairs,
        Some(&kev),
        policy,
        &RiskWeights::default(),
        &first_seen,
        now,
    );
    Ok(Analysis { devices, vex, plan })
}

pub fn vex_status(s: VexStatus) -> &'static str {
    match s {
        VexStatus::NotAffected => "not_affected",
        VexStatus::Affected => "affected",
        VexStatus::Fixed => "fixed",
        VexStatus::UnderInvestigation => "under_investigation",
    }
}

/// The vendor statement that applies to an active finding, if any.
pub fn statement_for<'a>(
    f: &Finding,
    containers: &[&Component],
    sbom: Option<&Sbom>,
    vex: &'a [VexStatement],
) -> Option<&'a VexStatement> {
    let serial = sbom.and_then(|s| s.serial_number.as_deref());
    vex.iter()
        .find(|s| f.ids().any(|id| s.is_about(id)) && s.covers(&f.component, containers, serial))
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FindingOut {
    pub id: String,
    pub aliases: Vec<String>,
    pub component: String,
    pub component_version: Option<String>,
    pub purl: Option<String>,
    pub cpe: Option<String>,
    pub summary: Option<String>,
    pub score: f64,
    pub base_score: f64,
    pub severity: String,
    pub first_seen: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    pub days_left: i64,
    pub overdue: bool,
    pub kev: bool,
    pub kev_required_action: Option<String>,
    pub vex_status: Option<String>,
    pub vex_justification: Option<String>,
    pub action: String,
    pub risk_factors: Vec<String>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuppressedOut {
    pub id: String,
    pub aliases: Vec<String>,
    pub component: String,
    pub component_version: Option<String>,
    pub vex_status: String,
    pub vex_justification: Option<String>,
    pub detail: Option<String>,
    pub source: Option<String>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceOut {
    pub name: String,
    pub kind: String,
    pub manufacturer: String,
    pub model: String,
    pub firmware: Option<String>,
    pub address: Option<String>,
    pub connectivity: String,
    pub stores_phi: bool,
    pub weak_authentication: bool,
    pub enrolled_instrument: Option<String>,
    pub compensating_controls: Vec<String>,
    pub sbom_components: u64,
    pub assessment: Option<AssessmentOut>,
    /// The newest exposure check (`devices scan`): open ports, risky services, TLS versions.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub exposure: Option<serde_json::Value>,
    pub findings: Vec<FindingOut>,
    pub suppressed: Vec<SuppressedOut>,
    pub warnings: Vec<String>,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemediationOut {
    pub device: String,
    pub vulnerability: String,
    pub component: String,
    pub component_version: Option<String>,
    pub score: f64,
    pub severity: String,
    pub kev: bool,
    pub deadline: DateTime<Utc>,
    pub days_left: i64,
    pub overdue: bool,
    pub action: String,
}

#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportOut {
    pub generated_at: DateTime<Utc>,
    pub policy: PolicyOut,
    pub devices: Vec<DeviceOut>,
    pub remediation: Vec<RemediationOut>,
    pub overdue_findings: u64,
    pub overdue_assessments: Vec<String>,
    pub alerts: Vec<String>,
    /// The network map: which device talks to which, and where patient data flows.
    pub network: Vec<LinkOut>,
    /// Open findings by severity on the last report days (fleet reports only), oldest first.
    pub trend: Vec<SeverityDay>,
}

/// Open findings per severity on one day.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeverityDay {
    pub day: String,
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
}

/// One network-map edge.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkOut {
    pub from: String,
    pub to: String,
    pub protocol: String,
    pub carries_phi: bool,
}

pub fn severity(p: labguard_devices::risk::Priority) -> String {
    serde_json::to_value(p)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The fleet report (or one device's part of it) as of `now`.
pub fn fleet_report(
    store: &Store,
    actor: &Actor,
    only: Option<&str>,
    policy: &RemediationPolicy,
    now: DateTime<Utc>,
) -> Result<ReportOut, StoreError> {
    let a = analyze(store, actor, only, policy, now)?;
    let schedule: HashMap<String, AssessmentOut> = store
        .assessment_schedule(actor, now.date_naive())?
        .into_iter()
        .map(|s| (s.device.clone(), AssessmentOut::from(s)))
        .collect();
    let mut scans = store.latest_exposure_scans(actor)?;
    let mut devices = Vec::new();
    for ((d, sbom, report), plan) in a.devices.iter().zip(&a.plan.devices) {
        let firmware = d.asset.firmware_component();
        let mut containers: Vec<&Component> = firmware.iter().collect();
        containers.extend(sbom.as_ref().and_then(|s| s.root.as_ref()));
        let by_key: HashMap<String, &Finding> = report
            .findings
            .iter()
            .map(|f| (finding_key(&d.asset.id, f, &f.id), f))
            .collect();
        let findings = plan
            .items
            .iter()
            .filter_map(|i| {
                let f = by_key.get(&i.key)?;
                let st = statement_for(f, &containers, sbom.as_ref(), &a.vex);
                let c = &f.component;
                Some(FindingOut {
                    id: f.id.clone(),
                    aliases: f.aliases.clone(),
                    component: c.name.clone(),
                    component_version: c.effective_version().map(str::to_string),
                    purl: c.purl.as_ref().map(ToString::to_string),
                    cpe: c.cpe.as_ref().map(ToString::to_string),
                    summary: f.summary.clone(),
                    score: i.risk.score,
                    base_score: i.risk.base_score,
                    severity: severity(i.risk.priority),
                    first_seen: i.first_seen,
                    deadline: i.due,
                    days_left: i.days_left,
                    overdue: i.overdue,
                    kev: i.risk.known_exploited,
                    kev_required_action: i.risk.kev_required_action.clone(),
                    vex_status: st.map(|s| vex_status(s.status).to_string()),
                    vex_justification: st.and_then(|s| s.justification.clone()),
                    action: i.action.clone(),
                    risk_factors: i.risk.explain(),
                })
            })
            .collect();
        let suppressed = report
            .suppressed
            .iter()
            .map(|s| SuppressedOut {
                id: s.finding.id.clone(),
                aliases: s.finding.aliases.clone(),
                component: s.finding.component.name.clone(),
                component_version: s.finding.component.effective_version().map(str::to_string),
                vex_status: vex_status(s.status).to_string(),
                vex_justification: s.justification.clone(),
                detail: s.detail.clone(),
                source: s.source.clone(),
            })
            .collect();
        devices.push(DeviceOut {
            name: d.asset.id.clone(),
            kind: code(&d.asset.kind),
            manufacturer: d.asset.manufacturer.clone(),
            model: d.asset.model.clone(),
            firmware: d.asset.firmware_version.clone(),
            address: d.asset.network_address.clone(),
            connectivity: code(&d.asset.connectivity),
            stores_phi: d.asset.stores_phi,
            weak_authentication: d.weak_authentication(),
            enrolled_instrument: d.instrument.as_ref().map(|i| i.name.clone()),
            compensating_controls: d
                .asset
                .compensating_controls
                .iter()
                .map(|c| c.description.clone())
                .collect(),
            sbom_components: sbom.as_ref().map_or(0, |s| s.components.len() as u64),
            assessment: schedule.get(&d.asset.id).cloned(),
            exposure: scans.remove(&d.asset.id),
            findings,
            suppressed,
            warnings: report.warnings.clone(),
        });
    }
    let remediation: Vec<RemediationOut> = a
        .plan
        .items
        .iter()
        .map(|i| RemediationOut {
            device: i.asset_id.clone(),
            vulnerability: i.vulnerability.clone(),
            component: i.component.clone(),
            component_version: i.component_version.clone(),
            score: i.risk.score,
            severity: severity(i.risk.priority),
            kev: i.risk.known_exploited,
            deadline: i.due,
            days_left: i.days_left,
            overdue: i.overdue,
            action: i.action.clone(),
        })
        .collect();
    let overdue_assessments: Vec<String> = devices
        .iter()
        .filter_map(|d| {
            d.assessment
                .as_ref()
                .filter(|s| s.overdue)
                .map(|_| d.name.clone())
        })
        .collect();
    let mut alerts = Vec::new();
    for r in remediation.iter().filter(|r| r.overdue) {
        alerts.push(format!(
            "{}: {} in {} was due {} ({} days overdue)",
            r.device,
            r.vulnerability,
            r.component,
            r.deadline.date_naive(),
            -r.days_left
        ));
    }
    for d in &devices {
        if let Some(s) = d.assessment.as_ref().filter(|s| s.overdue) {
            alerts.push(format!(
                "{}: security assessment was due {}",
                d.name, s.next_due
            ));
        }
    }
    // The fleet-wide trend: today's counts, then the last eight report days.
    let trend = if only.is_none() {
        let mut counts: Vec<(String, u64)> = ["critical", "high", "medium", "low"]
            .iter()
            .map(|s| (s.to_string(), 0))
            .collect();
        for i in &a.plan.items {
            let sev = severity(i.risk.priority);
            if let Some(c) = counts.iter_mut().find(|(s, _)| *s == sev) {
                c.1 += 1;
            }
        }
        store.record_severity_counts(actor, now.date_naive(), &counts)?;
        store
            .severity_history(actor, 8)?
            .into_iter()
            .map(|(day, list)| {
                let get = |k: &str| list.iter().find(|(s, _)| s == k).map_or(0, |(_, n)| *n);
                SeverityDay {
                    critical: get("critical"),
                    high: get("high"),
                    medium: get("medium"),
                    low: get("low"),
                    day,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    // Overdue work also goes to the security officer's alert queue (once while open).
    let mut raise: Vec<(String, String)> = a
        .plan
        .items
        .iter()
        .filter(|i| i.overdue)
        .map(|i| ("device-remediation-overdue".to_string(), i.key.clone()))
        .collect();
    raise.extend(
        devices
            .iter()
            .filter(|d| d.assessment.as_ref().is_some_and(|s| s.overdue))
            .map(|d| ("device-assessment-overdue".to_string(), d.name.clone())),
    );
    store.raise_device_alerts(actor, &raise)?;
    let out = ReportOut {
        generated_at: now,
        policy: PolicyOut::from(policy),
        overdue_findings: a.plan.overdue as u64,
        devices,
        remediation,
        overdue_assessments,
        alerts,
        trend,
        network: store
            .network_links(actor)?
            .into_iter()
            .filter(|l| only.is_none_or(|n| l.from == n || l.to == n))
            .map(|l| LinkOut {
                from: l.from,
                to: l.to,
                protocol: l.protocol,
                carries_phi: l.carries_phi,
            })
            .collect(),
    };
    Ok(out)
}
