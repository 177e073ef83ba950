//! Device-security pages: the fleet dashboard (findings by severity, devices overdue, the
//! remediation list) and one device's page. Server-rendered, charts as inline SVG.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use labguard_core::Permission as P;
use labguard_devices::risk::RemediationPolicy;

use crate::state::AppState;
use crate::ui::{denied_page, esc, header_bar, meta, page, who};
use labguard_app::devices::{fleet_report, DeviceOut, Recording, ReportOut};

const SEVERITIES: [(&str, &str); 4] = [
    ("critical", "#c53030"),
    ("high", "#dd6b20"),
    ("medium", "#d69e2e"),
    ("low", "#2b6cb0"),
];

/// Horizontal bars: (label, count, colour).
fn hbars(title: &str, id: &str, rows: &[(String, usize, &str)]) -> String {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let h = 20 + rows.len() * 26;
    let mut svg = format!(
        "<figure><figcaption>{t}</figcaption><svg id=\"{id}\" viewBox=\"0 0 360 {h}\" role=\"img\" aria-label=\"{t}\">",
        t = esc(title)
    );
    for (i, (label, n, colour)) in rows.iter().enumerate() {
        let y = 10 + i * 26;
        let w = (*n as f64 / max as f64 * 220.0).round();
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text><rect x=\"110\" y=\"{y}\" width=\"{w}\" height=\"18\" fill=\"{colour}\"><title>{}: {n}</title></rect>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\">{n}</text>",
            y + 14,
            esc(label),
            esc(label),
            115.0 + w,
            y + 14
        ));
    }
    svg.push_str("</svg></figure>");
    svg
}

/// Stacked bars of open findings per severity over the last report days.
fn trend_chart(r: &ReportOut) -> String {
    let max = r
        .trend
        .iter()
        .map(|d| d.critical + d.high + d.medium + d.low)
        .max()
        .unwrap_or(0)
        .max(1);
    let mut svg = String::from(
        "<figure><figcaption>Open findings by severity over time</figcaption><svg id=\"trend-chart\" viewBox=\"0 0 420 150\" role=\"img\" aria-label=\"Open findings by severity over time\">",
    );
    for (i, d) in r.trend.iter().enumerate() {
        let x = 10 + i * 50;
        let mut y = 120.0;
        for ((name, colour), n) in SEVERITIES.iter().zip([d.critical, d.high, d.medium, d.low]) {
            let h = (n as f64 / max as f64 * 100.0).round();
            y -= h;
            svg.push_str(&format!(
                "<rect x=\"{x}\" y=\"{y}\" width=\"36\" height=\"{h}\" fill=\"{colour}\"><title>{}: {name} {n}</title></rect>",
                esc(&d.day)
            ));
        }
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"140\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
            x + 18,
            esc(d.day.get(5..).unwrap_or(&d.day))
        ));
    }
    svg.push_str("</svg></figure>");
    svg
}

fn severity_chart(devices: &[DeviceOut], id: &str) -> String {
    let rows: Vec<(String, usize, &str)> = SEVERITIES
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
    hbars("Open findings by severity", id, &rows)
}

async fn report_for(
    st: &AppState,
    req: Request,
    only: Option<String>,
) -> Result<
    (
        String,
        String,
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
        header_bar(&p),
        meta(st, &p),
        r,
        p.actor.clone(),
        p.account.staff.role,
    ))
}

/// `/devices`: the fleet dashboard.
pub async fn fleet_page(State(st): State<AppState>, req: Request) -> Response {
    let (bar, meta, r, _, _) = match report_for(&st, req, None).await {
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
    let overdue_chart = hbars(
        "Devices overdue",
        "overdue-chart",
        &[
            ("fixes overdue".into(), with_overdue, "#c53030"),
            ("assessment due".into(), assess_overdue, "#dd6b20"),
            ("on schedule".into(), ok, "#2f855a"),
        ],
    );
    let mut rows = String::new();
    for d in &r.devices {
        let worst = SEVERITIES
            .iter()
            .find(|(s, _)| d.findings.iter().any(|f| f.severity == *s))
            .map_or("none", |(s, _)| s);
        rows.push_str(&format!(
            "<tr><td><a href=\"/devices/{n}\">{n}</a></td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{worst}</td><td>{}</td></tr>",
            esc(&d.kind),
            esc(&d.manufacturer),
            esc(&d.model),
            esc(d.firmware.as_deref().unwrap_or("-")),
            d.findings.len(),
            if d.weak_authentication { "weak device authentication" } else { "" },
            n = esc(&d.name),
        ));
    }
    let mut plan = String::new();
    for i in r.remediation.iter().take(50) {
        plan.push_str(&format!(
            "<tr{}><td>{:.1}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td></tr>",
            if i.overdue { " class=\"overdue\"" } else { "" },
            i.score,
            esc(&i.severity),
            esc(&i.vulnerability),
            if i.kev { " (KEV)" } else { "" },
            esc(&i.device),
            esc(&i.component),
            esc(i.component_version.as_deref().unwrap_or("")),
            i.deadline.date_naive(),
            esc(&i.action),
        ));
    }
    let links: String = r
        .network
        .iter()
        .map(|l| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&l.from),
                esc(&l.to),
                esc(&l.protocol),
                if l.carries_phi { "patient data" } else { "" }
            )
        })
        .collect();
    let alerts: String = r
        .alerts
        .iter()
        .map(|a| format!("<li>{}</li>", esc(a)))
        .collect();
    let body = format!(
        "{bar}<main data-page=\"devices\"><h1>Device security</h1>\
         <p>Overdue fixes: <strong id=\"overdue-findings\">{}</strong> · assessments overdue: <strong id=\"overdue-assessments\">{assess_overdue}</strong></p>\
         <div class=\"charts\">{}{}{overdue_chart}</div>\
         <ul id=\"device-alerts\" class=\"error\">{alerts}</ul>\
         <section><h2>Fleet</h2><table id=\"fleet\"><thead><tr><th>Device</th><th>Kind</th><th>Model</th><th>Firmware</th><th>Findings</th><th>Worst</th><th></th></tr></thead><tbody>{rows}</tbody></table></section>\
         <section><h2>Remediation, most urgent first</h2><table id=\"remediation\"><thead><tr><th>Score</th><th>Severity</th><th>Vulnerability</th><th>Device</th><th>Component</th><th>Due</th><th>Action</th></tr></thead><tbody>{plan}</tbody></table></section>\
         <section><h2>Network map</h2><table id=\"network\"><thead><tr><th>From</th><th>To</th><th>Protocol</th><th>Carries</th></tr></thead><tbody>{links}</tbody></table></section></main>",
        r.overdue_findings,
        severity_chart(&r.devices, "severity-chart"),
        trend_chart(&r),
    );
    Html(page("Device security", &meta, &body)).into_response()
}

/// `/devices/{name}`: one device, its findings and the statements that cleared others.
pub async fn device_page(
    State(st): State<AppState>,
    Path(name): Path<String>,
    req: Request,
) -> Response {
    let (bar, meta, r, actor, role) = match report_for(&st, req, Some(name)).await {
        Ok(x) => x,
        Err(resp) => return resp,
    };
    let Some(d) = r.devices.first() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let qc = match &d.enrolled_instrument {
        Some(instrument) => crate::ui_qc::section(&st, actor, role, instrument).await,
        None => String::new(),
    };
    let mut rows = String::new();
    for f in &d.findings {
        rows.push_str(&format!(
            "<tr{}><td>{}{}</td><td>{}</td><td>{} {}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if f.overdue { " class=\"overdue\"" } else { "" },
            esc(&f.id),
            if f.kev { " (KEV)" } else { "" },
            esc(&f.aliases.join(", ")),
            esc(&f.component),
            esc(f.component_version.as_deref().unwrap_or("")),
            f.score,
            esc(&f.severity),
            f.deadline.date_naive(),
            esc(f.vex_status.as_deref().unwrap_or("")),
            esc(&f.action),
        ));
    }
    let mut cleared = String::new();
    for s in &d.suppressed {
        cleared.push_str(&format!(
            "<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.id),
            esc(&s.component),
            esc(s.component_version.as_deref().unwrap_or("")),
            esc(&s.vex_status),
            esc(s.vex_justification.as_deref().unwrap_or("")),
            esc(s.detail.as_deref().unwrap_or("")),
        ));
    }
    let facts = format!(
        "<dl><dt>Kind</dt><dd>{}</dd><dt>Model</dt><dd>{} {}</dd><dt>Firmware</dt><dd>{}</dd><dt>Address</dt><dd>{}</dd>\
         <dt>Connectivity</dt><dd>{}{}</dd><dt>Stores patient data</dt><dd>{}</dd><dt>Compensating controls</dt><dd>{}</dd><dt>Next assessment</dt><dd>{}</dd></dl>",
        esc(&d.kind),
        esc(&d.manufacturer),
        esc(&d.model),
        esc(d.firmware.as_deref().unwrap_or("-")),
        esc(d.address.as_deref().unwrap_or("-")),
        esc(&d.connectivity),
        if d.weak_authentication { " (weak device authentication)" } else { "" },
        if d.stores_phi { "yes" } else { "no" },
        esc(&d.compensating_controls.join("; ")),
        d.assessment.as_ref().map_or("-".to_string(), |a| format!("{}{}", a.next_due, if a.overdue { " (overdue)" } else { "" })),
    );
    let body = format!(
        "{bar}<main data-page=\"device\"><h1>{}</h1>{facts}<div class=\"charts\">{}</div>\
         <section><h2>Findings</h2><table id=\"findings\"><thead><tr><th>Vulnerability</th><th>Aliases</th><th>Component</th><th>Score</th><th>Severity</th><th>Due</th><th>VEX</th><th>Action</th></tr></thead><tbody>{rows}</tbody></table></section>\
         <section><h2>Cleared by vendor VEX</h2><table id=\"cleared\"><thead><tr><th>Vulnerability</th><th>Component</th><th>Status</th><th>Justification</th><th>Detail</th></tr></thead><tbody>{cleared}</tbody></table></section>{qc}</main>",
        esc(&d.name),
        severity_chart(std::slice::from_ref(d), "device-severity-chart"),
    );
    Html(page(&d.name, &meta, &body)).into_response()
}
