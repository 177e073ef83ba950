//! Device-security pages: the fleet dashboard (findings by severity, devices overdue, the
//! remediation list) and one device's page. Server-rendered, charts as inline SVG.

use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use labguard_core::Permission as P;
use labguard_devices::risk::RemediationPolicy;

use crate::charts::{self, BarChart, ColumnChart};
use crate::state::AppState;
use crate::ui::{denied_page, who};
use crate::ui_qc::QcSection;
use crate::view::{render, Layout};
use labguard_app::devices::{fleet_report, DeviceOut, Recording, ReportOut};

const SEVERITIES: [(&str, &str); 4] = [
    ("critical", "#c53030"),
    ("high", "#dd6b20"),
    ("medium", "#d69e2e"),
    ("low", "#2b6cb0"),
];

/// Stacked bars of open findings per severity over the last report days.
fn trend_chart(r: &ReportOut) -> ColumnChart {
    let days: Vec<_> = r
        .trend
        .iter()
        .map(|d| {
            let counts = [d.critical, d.high, d.medium, d.low];
            let parts = SEVERITIES
                .iter()
                .zip(counts)
                .map(|((name, colour), n)| (*name, n, *colour))
                .collect();
            (d.day.clone(), parts)
        })
        .collect();
    charts::stacked("trend-chart", "Open findings by severity over time", &days)
}

fn severity_chart(devices: &[DeviceOut], id: &'static str) -> BarChart {
    let rows: Vec<(String, usize, &'static str)> = SEVERITIES
        .iter()
        .map(|(s, c)| {
            let n = devices
                .iter()
                .flat_map(|d| &d.findings)
                .filter(|f| f.severity == *s)
                .count();
            (s.to_string(), n, *c)
        })
        .collect();
    charts::bars(id, "Open findings by severity", 110.0, &rows)
}

async fn report_for(
    st: &AppState,
    req: Request,
    only: Option<String>,
    title: &str,
) -> Result<
    (
        Layout,
        ReportOut,
        labguard_store::Actor,
        labguard_core::Role,
    ),
    Response,
> {
    let p = who(st, req).await?;
    if !p.account.staff.role.allows(P::DevicesRead) {
        return Err(denied_page());
    }
    let actor = p.actor.clone();
    let r = st
        .run(move |s| {
            Ok(fleet_report(
                s,
                &actor,
                only.as_deref(),
                &RemediationPolicy::default(),
                Utc::now(),
                Recording::ReadOnly,
            )?)
        })
        .await
        .map_err(|e| {
            if e.status == StatusCode::FORBIDDEN {
                denied_page()
            } else {
                e.into_response()
            }
        })?;
    Ok((
        Layout::signed_in(st, &p, title),
        r,
        p.actor.clone(),
        p.account.staff.role,
    ))
}

#[derive(Template)]
#[template(path = "devices.html")]
struct FleetPage {
    layout: Layout,
    overdue_findings: u64,
    overdue_assessments: usize,
    severity: BarChart,
    trend: ColumnChart,
    overdue: BarChart,
    alerts: Vec<String>,
    fleet: Vec<FleetRow>,
    plan: Vec<PlanRow>,
    network: Vec<labguard_app::devices::LinkOut>,
}

struct FleetRow {
    name: String,
    kind: String,
    manufacturer: String,
    model: String,
    firmware: String,
    findings: usize,
    worst: &'static str,
    weak_authentication: bool,
}

struct PlanRow {
    overdue: bool,
    score: String,
    severity: String,
    vulnerability: String,
    kev: bool,
    device: String,
    component: String,
    component_version: String,
    due: String,
    action: String,
}

/// `/devices`: the fleet dashboard.
pub async fn fleet_page(State(st): State<AppState>, req: Request) -> Response {
    let (layout, r, _, _) = match report_for(&st, req, None, "Device security").await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let with_overdue = r
        .devices
        .iter()
        .filter(|d| d.findings.iter().any(|f| f.overdue))
        .count();
    let assess_overdue = r.overdue_assessments.len();
    let ok = r
        .devices
        .iter()
        .filter(|d| {
            !d.findings.iter().any(|f| f.overdue)
                && !d.assessment.as_ref().is_some_and(|a| a.overdue)
        })
        .count();
    let overdue = charts::bars(
        "overdue-chart",
        "Devices overdue",
        110.0,
        &[
            ("fixes overdue".into(), with_overdue, "#c53030"),
            ("assessment due".into(), assess_overdue, "#dd6b20"),
            ("on schedule".into(), ok, "#2f855a"),
        ],
    );
    let fleet = r
        .devices
        .iter()
        .map(|d| FleetRow {
            name: d.name.clone(),
            kind: d.kind.clone(),
            manufacturer: d.manufacturer.clone(),
            model: d.model.clone(),
            firmware: d.firmware.clone().unwrap_or_else(|| "-".into()),
            findings: d.findings.len(),
            worst: SEVERITIES
                .iter()
                .find(|(s, _)| d.findings.iter().any(|f| f.severity == *s))
                .map_or("none", |(s, _)| s),
            weak_authentication: d.weak_authentication,
        })
        .collect();
    let plan = r
        .remediation
        .iter()
        .take(50)
        .map(|i| PlanRow {
            overdue: i.overdue,
            score: format!("{:.1}", i.score),
            severity: i.severity.clone(),
            vulnerability: i.vulnerability.clone(),
            kev: i.kev,
            device: i.device.clone(),
            component: i.component.clone(),
            component_version: i.component_version.clone().unwrap_or_default(),
            due: i.deadline.date_naive().to_string(),
            action: i.action.clone(),
        })
        .collect();
    render(&FleetPage {
        layout,
        overdue_findings: r.overdue_findings,
        overdue_assessments: assess_overdue,
        severity: severity_chart(&r.devices, "severity-chart"),
        trend: trend_chart(&r),
        overdue,
        alerts: r.alerts.clone(),
        fleet,
        plan,
        network: r.network,
    })
}

#[derive(Template)]
#[template(path = "device.html")]
struct DevicePage<'a> {
    layout: Layout,
    d: &'a DeviceOut,
    firmware: &'a str,
    address: &'a str,
    controls: String,
    next_assessment: String,
    severity: BarChart,
    findings: Vec<FindingRow>,
    link: Option<InstrumentLink>,
    qc: Option<QcSection>,
}

/// How an enrolled instrument reaches labguard, and when it last did.
struct InstrumentLink {
    protocol: &'static str,
    transport: &'static str,
    last_seen: String,
    /// POCT meters: on the dock now (from the last conversation).
    docked: Option<bool>,
}

/// The enrollment's link for the device page; None when it cannot be read.
async fn instrument_link(st: &AppState, name: &str) -> Option<InstrumentLink> {
    let name = name.to_string();
    st.run(move |s| {
        let Some(e) = s.instruments()?.into_iter().find(|e| e.name == name) else {
            return Ok(None);
        };
        let seen = s
            .device_statuses()?
            .into_iter()
            .find(|d| d.device_id == e.id);
        let protocol = match e.protocol {
            labguard_store::Protocol::Hl7 => "HL7 v2 over MLLP",
            labguard_store::Protocol::Astm => "ASTM E1381/E1394",
            labguard_store::Protocol::Poct => "POCT1-A2",
        };
        let transport = match e.transport {
            labguard_store::Transport::Tls => "mutual TLS",
            labguard_store::Transport::LegacyTcp => {
                "plain TCP from an allow-listed address (weaker)"
            }
        };
        Ok(Some(InstrumentLink {
            protocol,
            transport,
            last_seen: seen.as_ref().and_then(|d| d.last_seen_at).map_or_else(
                || "never".to_string(),
                |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
            ),
            docked: seen
                .and_then(|d| d.status)
                .and_then(|v| v.get("docked").and_then(serde_json::Value::as_bool)),
        }))
    })
    .await
    .ok()
    .flatten()
}

struct FindingRow {
    overdue: bool,
    id: String,
    kev: bool,
    aliases: String,
    component: String,
    component_version: String,
    score: String,
    severity: String,
    due: String,
    vex: String,
    action: String,
}

/// `/devices/{name}`: one device, its findings and the statements that cleared others.
pub async fn device_page(
    State(st): State<AppState>,
    Path(name): Path<String>,
    req: Request,
) -> Response {
    let title = name.clone();
    let (layout, r, actor, role) = match report_for(&st, req, Some(name), &title).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let Some(d) = r.devices.first() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (link, qc) = match &d.enrolled_instrument {
        Some(instrument) => (
            instrument_link(&st, instrument).await,
            Some(crate::ui_qc::section(&st, actor, role, instrument).await),
        ),
        None => (None, None),
    };
    let findings = d
        .findings
        .iter()
        .map(|f| FindingRow {
            overdue: f.overdue,
            id: f.id.clone(),
            kev: f.kev,
            aliases: f.aliases.join(", "),
            component: f.component.clone(),
            component_version: f.component_version.clone().unwrap_or_default(),
            score: format!("{:.1}", f.score),
            severity: f.severity.clone(),
            due: f.deadline.date_naive().to_string(),
            vex: f.vex_status.clone().unwrap_or_default(),
            action: f.action.clone(),
        })
        .collect();
    render(&DevicePage {
        layout,
        d,
        firmware: d.firmware.as_deref().unwrap_or("-"),
        address: d.address.as_deref().unwrap_or("-"),
        controls: d.compensating_controls.join("; "),
        next_assessment: d.assessment.as_ref().map_or("-".to_string(), |a| {
            format!(
                "{}{}",
                a.next_due,
                if a.overdue { " (overdue)" } else { "" }
            )
        }),
        severity: severity_chart(std::slice::from_ref(d), "device-severity-chart"),
        findings,
        link,
        qc,
    })
}
