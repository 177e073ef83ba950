//! Privacy-monitoring pages: the dashboard (open cases, alerts per detector over time as a
//! server-rendered SVG, top users by unexplained accesses, backlog age) and one case with its
//! alerts and review steps. No inline script or style (the CSP forbids both); every value
//! from the store is escaped.

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use labguard_app::privacy as svc;
use labguard_core::Permission as P;
use labguard_privacy::{CaseEvent, Dashboard, Detector};

use crate::state::AppState;
use crate::ui::{denied_page, esc, header_bar, meta, page, who};

const COLOURS: [&str; 9] = [
    "#c53030", "#dd6b20", "#d69e2e", "#38a169", "#319795", "#3182ce", "#5a67d8", "#805ad5",
    "#d53f8c",
];

fn colour(d: Detector) -> &'static str {
    let i = Detector::ALL.iter().position(|x| *x == d).unwrap_or(0);
    COLOURS[i % COLOURS.len()]
}

/// One polyline per detector that fired in the period; x = day, y = counted alerts.
pub fn detector_chart(d: &Dashboard) -> String {
    let (w, h, left, bottom) = (560.0_f64, 200.0_f64, 30.0_f64, 170.0_f64);
    let series: Vec<_> = d
        .per_detector
        .iter()
        .filter(|s| s.points.iter().any(|(_, n)| *n > 0))
        .collect();
    let days = d.per_detector.first().map_or(0, |s| s.points.len());
    let max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|(_, n)| *n))
        .max()
        .unwrap_or(0)
        .max(1);
    let step = if days > 1 {
        (w - left - 10.0) / (days - 1) as f64
    } else {
        0.0
    };
    let mut svg = format!(
        "<figure><figcaption>Alerts per detector per day</figcaption><svg id=\"detector-chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"Alerts per detector per day\">\
         <line x1=\"{left}\" y1=\"{bottom}\" x2=\"{}\" y2=\"{bottom}\" stroke=\"#999\"/><text x=\"0\" y=\"14\" font-size=\"10\">{max}</text><text x=\"0\" y=\"{bottom}\" font-size=\"10\">0</text>",
        w - 10.0
    );
    for s in &series {
        let pts: Vec<String> = s
            .points
            .iter()
            .enumerate()
            .map(|(i, (_, n))| {
                let x = left + step * i as f64;
                let y = bottom - f64::from(*n) / f64::from(max) * (bottom - 10.0);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let total: u32 = s.points.iter().map(|(_, n)| n).sum();
        svg.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"><title>{}: {total}</title></polyline>",
            colour(s.detector),
            pts.join(" "),
            esc(s.detector.code())
        ));
    }
    if let (Some(first), Some(last)) = (
        d.per_detector.first().and_then(|s| s.points.first()),
        d.per_detector.first().and_then(|s| s.points.last()),
    ) {
        svg.push_str(&format!(
            "<text x=\"{left}\" y=\"190\" font-size=\"10\">{}</text><text x=\"{}\" y=\"190\" font-size=\"10\" text-anchor=\"end\">{}</text>",
            first.0,
            w - 10.0,
            last.0
        ));
    }
    svg.push_str("</svg><ul class=\"legend\">");
    for s in &series {
        svg.push_str(&format!(
            "<li data-detector=\"{c}\">{c} ({})</li>",
            s.points.iter().map(|(_, n)| n).sum::<u32>(),
            c = esc(s.detector.code())
        ));
    }
    if series.is_empty() {
        svg.push_str("<li>no alerts in the last 30 days</li>");
    }
    svg.push_str("</ul></figure>");
    svg
}

fn store_denied(e: crate::error::ApiError) -> Response {
    if e.status == StatusCode::FORBIDDEN {
        denied_page()
    } else {
        e.into_response()
    }
}

pub async fn dashboard_page(State(st): State<AppState>, req: Request) -> Response {
    let p = match who(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !p.account.staff.role.allows(P::PrivacyDashboardRead) {
        return denied_page();
    }
    let officer = p.account.staff.role.allows(P::PrivacyReview);
    let (actor, now) = (p.actor.clone(), st.now());
    let res = st
        .run(move |s| {
            let d = s.privacy_dashboard(&actor, now)?;
            let rows = if officer {
                svc::case_rows(s, &actor, true)?
            } else {
                vec![]
            };
            Ok((d, rows))
        })
        .await;
    let (d, rows) = match res {
        Ok(v) => v,
        Err(e) => return store_denied(e),
    };
    let mut users = String::new();
    for u in &d.top_users {
        users.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&u.label),
            esc(u.role.code()),
            u.unexplained
        ));
    }
    let mut cases = String::new();
    for r in &rows {
        cases.push_str(&format!(
            "<tr><td><a href=\"/privacy/cases/{id}\">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.staff),
            esc(&r.role),
            esc(&r.status),
            r.unexplained,
            r.opened_at.format("%Y-%m-%d"),
            id = r.id
        ));
    }
    let b = &d.backlog;
    let hours = |h: Option<i64>| h.map_or_else(|| "-".into(), |h| format!("{} days", h / 24));
    let body = format!(
        "{}<main data-page=\"privacy\"><h1>Privacy monitoring</h1>\
         <p>Open cases <strong id=\"open-cases\">{}</strong>{}</p>\
         <div class=\"charts\">{}</div>\
         <h2>Backlog</h2><ul id=\"backlog\"><li>open: {}</li><li>unassigned: {}</li><li>oldest: {}</li><li>median age: {}</li><li>older than a week: {}</li></ul>\
         <h2>Most unexplained accesses</h2><table id=\"top-users\"><thead><tr><th>User</th><th>Role</th><th>Unexplained</th></tr></thead><tbody>{users}</tbody></table>\
         {}</main>",
        header_bar(&p),
        d.open_cases,
        if d.pseudonymous { " (pseudonymous view)" } else { "" },
        detector_chart(&d),
        b.open,
        b.unassigned,
        hours(b.oldest_hours),
        b.median_hours
            .map_or_else(|| "-".into(), |h| format!("{:.1} days", h / 24.0)),
        b.older_than_week,
        if officer {
            format!("<h2>Open cases</h2><table id=\"cases\"><thead><tr><th>Case</th><th>Staff</th><th>Role</th><th>Status</th><th>Unexplained</th><th>Opened</th></tr></thead><tbody>{cases}</tbody></table>")
        } else {
            String::new()
        }
    );
    Html(page("Privacy", &meta(&st, &p), &body)).into_response()
}

pub async fn case_page(
    State(st): State<AppState>,
    Path(id): Path<String>,
    req: Request,
) -> Response {
    let p = match who(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !p.account.staff.role.allows(P::PrivacyReview) {
        return denied_page();
    }
    let Ok(id) = id.parse::<u64>() else {
        return crate::error::ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such case")
            .into_response();
    };
    let actor = p.actor.clone();
    let res = st
        .run(move |s| {
            let v = svc::case_view(s, &actor, id)?;
            let names = s.list_staff(&actor).unwrap_or_default();
            Ok((v, names))
        })
        .await;
    let (v, staff) = match res {
        Ok(v) => v,
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            return crate::error::ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such case")
                .into_response()
        }
        Err(e) => return store_denied(e),
    };
    let name = |id: &labguard_core::Id| {
        staff
            .iter()
            .find(|s| s.id == *id)
            .map_or_else(|| id.to_string(), |s| s.username.clone())
    };
    let mut alerts = String::new();
    for a in &v.case.alerts {
        let patient = a.patient.as_ref().map_or("a patient", |p| p.0.as_str());
        alerts.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            a.at.format("%Y-%m-%d %H:%M"),
            esc(a.detector.code()),
            esc(&a.explain(&v.staff_name, patient)),
            if a.counts() { "yes" } else { "linked" }
        ));
    }
    let mut steps = String::new();
    for e in &v.case.history {
        let (at, text) = match e {
            CaseEvent::Assigned { by, to, at } => {
                (at, format!("{} assigned it to {}", name(by), name(to)))
            }
            CaseEvent::Noted { by, text, at } => (at, format!("{} noted: {text}", name(by))),
            CaseEvent::Closed {
                by,
                outcome,
                text,
                at,
            } => (
                at,
                format!(
                    "{} closed it ({}): {text}",
                    name(by),
                    serde_json::to_value(outcome)
                        .ok()
                        .and_then(|o| o.as_str().map(String::from))
                        .unwrap_or_default()
                ),
            ),
            CaseEvent::Reopened { by, text, at } => {
                (at, format!("{} reopened it: {text}", name(by)))
            }
        };
        steps.push_str(&format!(
            "<li>{} {}</li>",
            at.format("%Y-%m-%d %H:%M"),
            esc(&text)
        ));
    }
    if steps.is_empty() {
        steps.push_str("<li>not yet assigned</li>");
    }
    let body = format!(
        "{}<main data-page=\"privacy-case\"><h1>Privacy case {}</h1>\
         <p>About <strong>{}</strong> ({}), status <strong id=\"case-status\">{}</strong>, assigned to {}.</p>\
         <p>Review with <code>labguard privacy case assign|note|close {}</code> or the API (<code>/api/v1/privacy/cases/{}/…</code>).</p>\
         <h2>Alerts</h2><table id=\"case-alerts\"><thead><tr><th>When</th><th>Detector</th><th>Explanation</th><th>Counted</th></tr></thead><tbody>{alerts}</tbody></table>\
         <h2>Review steps</h2><ol id=\"case-steps\">{steps}</ol><p><a href=\"/privacy\">Back to the dashboard</a></p></main>",
        header_bar(&p),
        v.case.id.0,
        esc(&v.staff_name),
        esc(v.case.role.code()),
        esc(&v.status_text),
        esc(v.assignee_name.as_deref().unwrap_or("nobody")),
        v.case.id.0,
        v.case.id.0,
    );
    Html(page("Privacy case", &meta(&st, &p), &body)).into_response()
}
