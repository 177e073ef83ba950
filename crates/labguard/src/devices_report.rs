//! `devices report`: the stored inventory, SBOMs and advisories wired through
//! labguard-devices' matching and risk scoring (also used by `export-vex`).

use std::collections::HashMap;

use anyhow::{bail, Result};
use chrono::{DateTime, Utc};
use labguard_devices::advisory::{parse_vex, VexStatement, VexStatus};
use labguard_devices::matching::{Finding, MatchIndex, MatchReport};
use labguard_devices::risk::{finding_key, plan_fleet, FleetPlan, RemediationPolicy, RiskWeights};
use labguard_devices::sbom::{Component, Sbom};
use labguard_store::{Actor, InventoryDevice, ScheduleEntry, Store};
use serde::Serialize;

use crate::opts::{emit, Global};

/// Remediation deadlines in days (defaults from the 2025 Security Rule proposal).
#[derive(clap::Args, Debug, Clone)]
pub struct PolicyArgs {
    /// Days to fix a known exploited (CISA KEV) vulnerability.
    #[arg(long, default_value_t = 15)]
    pub kev_days: i64,
    #[arg(long, default_value_t = 15)]
    pub critical_days: i64,
    #[arg(long, default_value_t = 30)]
    pub high_days: i64,
    #[arg(long, default_value_t = 90)]
    pub medium_days: i64,
    #[arg(long, default_value_t = 180)]
    pub low_days: i64,
}

impl Default for PolicyArgs {
    fn default() -> Self {
        let p = RemediationPolicy::default();
        PolicyArgs {
            kev_days: p.kev_days,
            critical_days: p.critical_days,
            high_days: p.high_days,
            medium_days: p.medium_days,
            low_days: p.low_days,
        }
    }
}

impl PolicyArgs {
    fn policy(&self) -> RemediationPolicy {
        RemediationPolicy {
            kev_days: self.kev_days,
            critical_days: self.critical_days,
            high_days: self.high_days,
            medium_days: self.medium_days,
            low_days: self.low_days,
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
) -> Result<Analysis> {
    let mut inv = store.inventory(actor)?;
    if let Some(name) = only {
        inv.retain(|d| d.asset.id == name);
        if inv.is_empty() {
            bail!("no device named {name} in the inventory");
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

pub(crate) fn vex_status(s: VexStatus) -> &'static str {
    match s {
        VexStatus::NotAffected => "not_affected",
        VexStatus::Affected => "affected",
        VexStatus::Fixed => "fixed",
        VexStatus::UnderInvestigation => "under_investigation",
    }
}

/// The vendor statement that applies to an active finding, if any.
pub(crate) fn statement_for<'a>(
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
struct FindingOut {
    id: String,
    aliases: Vec<String>,
    component: String,
    component_version: Option<String>,
    purl: Option<String>,
    cpe: Option<String>,
    summary: Option<String>,
    score: f64,
    base_score: f64,
    severity: String,
    first_seen: DateTime<Utc>,
    deadline: DateTime<Utc>,
    days_left: i64,
    overdue: bool,
    kev: bool,
    kev_required_action: Option<String>,
    vex_status: Option<&'static str>,
    vex_justification: Option<String>,
    action: String,
    risk_factors: Vec<String>,
}

#[derive(Serialize)]
struct SuppressedOut {
    id: String,
    aliases: Vec<String>,
    component: String,
    component_version: Option<String>,
    vex_status: &'static str,
    vex_justification: Option<String>,
    detail: Option<String>,
    source: Option<String>,
}

#[derive(Serialize)]
struct DeviceOut {
    name: String,
    kind: labguard_devices::device::DeviceKind,
    manufacturer: String,
    model: String,
    firmware: Option<String>,
    address: Option<String>,
    connectivity: labguard_devices::device::Connectivity,
    stores_phi: bool,
    weak_authentication: bool,
    enrolled_instrument: Option<String>,
    compensating_controls: Vec<String>,
    sbom_components: usize,
    assessment: Option<ScheduleEntry>,
    findings: Vec<FindingOut>,
    suppressed: Vec<SuppressedOut>,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct RemediationOut {
    device: String,
    vulnerability: String,
    component: String,
    component_version: Option<String>,
    score: f64,
    severity: String,
    kev: bool,
    deadline: DateTime<Utc>,
    days_left: i64,
    overdue: bool,
    action: String,
}

#[derive(Serialize)]
struct ReportOut {
    generated_at: DateTime<Utc>,
    policy: RemediationPolicy,
    devices: Vec<DeviceOut>,
    remediation: Vec<RemediationOut>,
    overdue_findings: usize,
    overdue_assessments: Vec<String>,
    alerts: Vec<String>,
}

pub(crate) fn severity(p: labguard_devices::risk::Priority) -> String {
    serde_json::to_value(p)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn report(
    g: &Global,
    store: &Store,
    actor: &Actor,
    only: Option<&str>,
    policy: &PolicyArgs,
) -> Result<()> {
    let now = Utc::now();
    let policy = policy.policy();
    let a = analyze(store, actor, only, &policy, now)?;
    let schedule: HashMap<String, ScheduleEntry> = store
        .assessment_schedule(actor, now.date_naive())?
        .into_iter()
        .map(|s| (s.device.clone(), s))
        .collect();
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
                    vex_status: st.map(|s| vex_status(s.status)),
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
                vex_status: vex_status(s.status),
                vex_justification: s.justification.clone(),
                detail: s.detail.clone(),
                source: s.source.clone(),
            })
            .collect();
        devices.push(DeviceOut {
            name: d.asset.id.clone(),
            kind: d.asset.kind,
            manufacturer: d.asset.manufacturer.clone(),
            model: d.asset.model.clone(),
            firmware: d.asset.firmware_version.clone(),
            address: d.asset.network_address.clone(),
            connectivity: d.asset.connectivity,
            stores_phi: d.asset.stores_phi,
            weak_authentication: d.weak_authentication(),
            enrolled_instrument: d.instrument.as_ref().map(|i| i.name.clone()),
            compensating_controls: d
                .asset
                .compensating_controls
                .iter()
                .map(|c| c.description.clone())
                .collect(),
            sbom_components: sbom.as_ref().map_or(0, |s| s.components.len()),
            assessment: schedule.get(&d.asset.id).cloned(),
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
                .map(|s| s.device.clone())
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
    let out = ReportOut {
        generated_at: now,
        policy,
        overdue_findings: a.plan.overdue,
        devices,
        remediation,
        overdue_assessments,
        alerts,
    };
    store.checkpoint()?;
    emit(g, &out, || {
        for d in &out.devices {
            println!(
                "{}\t{} {} {}\t{} finding(s), {} suppressed by VEX{}",
                d.name,
                d.manufacturer,
                d.model,
                d.firmware.as_deref().unwrap_or("-"),
                d.findings.len(),
                d.suppressed.len(),
                if d.weak_authentication {
                    "\tweak device authentication (legacy plain TCP)"
                } else {
                    ""
                }
            );
        }
        println!("\nremediation, most urgent first:");
        for r in &out.remediation {
            println!(
                "{:>5.1} {:<8} {}{}\t{}\t{} {}\tdue {}{}",
                r.score,
                r.severity,
                r.vulnerability,
                if r.kev { " (KEV)" } else { "" },
                r.device,
                r.component,
                r.component_version.as_deref().unwrap_or(""),
                r.deadline.date_naive(),
                if r.overdue { " OVERDUE" } else { "" }
            );
        }
        for a in &out.alerts {
            println!("ALERT: {a}");
        }
    })
}
