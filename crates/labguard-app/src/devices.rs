//! The device-security fleet report the API, the web UI and the CLI print: the stored
//! inventory, SBOMs, advisories, KEV and VEX run through labguard-devices' matching and
//! risk scoring.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use labguard_devices::advisory::{parse_vex, VexStatement, VexStatus};
use labguard_devices::matching::{Finding, MatchIndex, MatchReport, SuppressedFinding};
use labguard_devices::risk::{
    finding_key, plan_fleet, DevicePlan, FleetPlan, RemediationItem, RemediationPolicy, RiskWeights,
};
use labguard_devices::sbom::{Component, Sbom};
use labguard_store::{Actor, InventoryDevice, ScheduleEntry, Sighting, Store, StoreError};
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

/// Whether a report also writes down what it saw. Reads (every GET, the dashboards) never
/// write; the explicit, audited commands (`devices report`, the compliance collection)
/// record first sightings (which start remediation clocks), the day's severity counts and
/// alerts for overdue work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recording {
    ReadOnly,
    Record,
}

/// Matches the inventory (or the device `only`) against the stored advisories, KEV and
/// VEX, and plans remediation. Findings never recorded count as first seen `now`.
pub fn analyze(
    store: &Store,
    actor: &Actor,
    only: Option<&str>,
    policy: &RemediationPolicy,
    now: DateTime<Utc>,
    recording: Recording,
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
    let vex = stored_vex(store, actor)?;
    let index = MatchIndex::new(db.iter());
    let devices: Vec<_> = inv
        .into_iter()
        .map(|d| {
            let sbom = sboms.remove(&d.asset.id);
            let report = index.match_device(&d.asset, sbom.as_ref(), &vex);
            (d, sbom, report)
        })
        .collect();
    let first_seen = match recording {
        Recording::Record => store.record_findings(actor, &sightings(&devices))?,
        Recording::ReadOnly => store.finding_first_seen(actor)?,
    };
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

/// Every statement of the stored VEX documents (parsed when imported; one that no longer
/// parses is skipped).
fn stored_vex(store: &Store, actor: &Actor) -> Result<Vec<VexStatement>, StoreError> {
    Ok(store
        .vex_documents(actor)?
        .into_iter()
        .filter_map(|(_, body)| parse_vex(body.as_bytes()).ok())
        .flat_map(|doc| doc.statements)
        .collect())
}

/// (finding key, device, vulnerability) of every active finding.
fn sightings(devices: &[(InventoryDevice, Option<Sbom>, MatchReport)]) -> Vec<Sighting> {
    devices
        .iter()
        .flat_map(|(d, _, report)| {
            report.findings.iter().map(|f| {
                (
                    finding_key(&d.asset.id, f, &f.id),
                    d.asset.id.clone(),
                    f.id.clone(),
                )
            })
        })
        .collect()
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

/// The fleet report (or one device's part of it) as of `now`; with [`Recording::Record`]
/// it also records sightings, the day's severity counts and alerts for overdue work.
pub fn fleet_report(
    store: &Store,
    actor: &Actor,
    only: Option<&str>,
    policy: &RemediationPolicy,
    now: DateTime<Utc>,
    recording: Recording,
) -> Result<ReportOut, StoreError> {
    let a = analyze(store, actor, only, policy, now, recording)?;
    let schedule: HashMap<String, AssessmentOut> = store
        .assessment_schedule(actor, now.date_naive())?
        .into_iter()
        .map(|s| (s.device.clone(), AssessmentOut::from(s)))
        .collect();
    let mut scans = store.latest_exposure_scans(actor)?;
    let devices: Vec<DeviceOut> = a
        .devices
        .iter()
        .zip(&a.plan.devices)
        .map(|((d, sbom, report), plan)| {
            let mut out = device_out(d, sbom.as_ref(), report, plan, &a.vex);
            out.assessment = schedule.get(&d.asset.id).cloned();
            out.exposure = scans.remove(&d.asset.id);
            out
        })
        .collect();
    let remediation: Vec<RemediationOut> = a.plan.items.iter().map(remediation_out).collect();
    let trend = if only.is_none() {
        trend(store, actor, &a.plan, now, recording)?
    } else {
        Vec::new()
    };
    if recording == Recording::Record {
        raise_alerts(store, actor, &a.plan, &devices)?;
    }
    Ok(ReportOut {
        generated_at: now,
        policy: PolicyOut::from(policy),
        overdue_findings: a.plan.overdue as u64,
        overdue_assessments: devices
            .iter()
            .filter(|d| d.assessment.as_ref().is_some_and(|s| s.overdue))
            .map(|d| d.name.clone())
            .collect(),
        alerts: alert_lines(&remediation, &devices),
        devices,
        remediation,
        trend,
        network: network(store, actor, only)?,
    })
}

fn finding_out(
    f: &Finding,
    i: &RemediationItem,
    containers: &[&Component],
    sbom: Option<&Sbom>,
    vex: &[VexStatement],
) -> FindingOut {
    let st = statement_for(f, containers, sbom, vex);
    let c = &f.component;
    FindingOut {
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
    }
}

fn suppressed_out(s: &SuppressedFinding) -> SuppressedOut {
    SuppressedOut {
        id: s.finding.id.clone(),
        aliases: s.finding.aliases.clone(),
        component: s.finding.component.name.clone(),
        component_version: s.finding.component.effective_version().map(str::to_string),
        vex_status: vex_status(s.status).to_string(),
        vex_justification: s.justification.clone(),
        detail: s.detail.clone(),
        source: s.source.clone(),
    }
}

/// One device's part of the report (assessment and exposure are filled in by the caller).
fn device_out(
    d: &InventoryDevice,
    sbom: Option<&Sbom>,
    report: &MatchReport,
    plan: &DevicePlan,
    vex: &[VexStatement],
) -> DeviceOut {
    let firmware = d.asset.firmware_component();
    let mut containers: Vec<&Component> = firmware.iter().collect();
    containers.extend(sbom.and_then(|s| s.root.as_ref()));
    let by_key: HashMap<String, &Finding> = report
        .findings
        .iter()
        .map(|f| (finding_key(&d.asset.id, f, &f.id), f))
        .collect();
    let findings = plan
        .items
        .iter()
        .filter_map(|i| Some(finding_out(by_key.get(&i.key)?, i, &containers, sbom, vex)))
        .collect();
    DeviceOut {
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
        sbom_components: sbom.map_or(0, |s| s.components.len() as u64),
        assessment: None,
        exposure: None,
        findings,
        suppressed: report.suppressed.iter().map(suppressed_out).collect(),
        warnings: report.warnings.clone(),
    }
}

fn remediation_out(i: &RemediationItem) -> RemediationOut {
    RemediationOut {
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
    }
}

/// Overdue remediation, then overdue assessments, as sentences.
fn alert_lines(remediation: &[RemediationOut], devices: &[DeviceOut]) -> Vec<String> {
    let late = remediation.iter().filter(|r| r.overdue).map(|r| {
        format!(
            "{}: {} in {} was due {} ({} days overdue)",
            r.device,
            r.vulnerability,
            r.component,
            r.deadline.date_naive(),
            -r.days_left
        )
    });
    let assessments = devices.iter().filter_map(|d| {
        let s = d.assessment.as_ref().filter(|s| s.overdue)?;
        Some(format!(
            "{}: security assessment was due {}",
            d.name, s.next_due
        ))
    });
    late.chain(assessments).collect()
}

/// The fleet-wide trend: the last eight report days, today's counts live (and recorded
/// with [`Recording::Record`]).
fn trend(
    store: &Store,
    actor: &Actor,
    plan: &FleetPlan,
    now: DateTime<Utc>,
    recording: Recording,
) -> Result<Vec<SeverityDay>, StoreError> {
    let mut counts: Vec<(String, u64)> = ["critical", "high", "medium", "low"]
        .iter()
        .map(|s| (s.to_string(), 0))
        .collect();
    for i in &plan.items {
        let sev = severity(i.risk.priority);
        if let Some(c) = counts.iter_mut().find(|(s, _)| *s == sev) {
            c.1 += 1;
        }
    }
    let today = now.date_naive();
    if recording == Recording::Record {
        store.record_severity_counts(actor, today, &counts)?;
    }
    let mut days = store.severity_history(actor, 8)?;
    if recording == Recording::ReadOnly {
        // What recording would have stored for today, without storing it.
        let today = today.to_string();
        days.retain(|(d, _)| *d != today);
        days.push((today, counts));
        if days.len() > 8 {
            days.remove(0);
        }
    }
    Ok(days
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
        .collect())
}

/// Overdue work goes to the security officer's alert queue (once while open).
fn raise_alerts(
    store: &Store,
    actor: &Actor,
    plan: &FleetPlan,
    devices: &[DeviceOut],
) -> Result<(), StoreError> {
    let mut raise: Vec<(String, String)> = plan
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
    Ok(())
}

/// The network map (edges touching `only`, when given).
fn network(store: &Store, actor: &Actor, only: Option<&str>) -> Result<Vec<LinkOut>, StoreError> {
    Ok(store
        .network_links(actor)?
        .into_iter()
        .filter(|l| only.is_none_or(|n| l.from == n || l.to == n))
        .map(|l| LinkOut {
            from: l.from,
            to: l.to,
            protocol: l.protocol,
            carries_phi: l.carries_phi,
        })
        .collect())
}
