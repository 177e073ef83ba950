//! Privacy-monitoring pages: the dashboard (open cases, alerts per detector over time as a
//! server-rendered SVG, top users by unexplained accesses, backlog age) and one case with its
//! alerts and review steps. No inline script or style (the CSP forbids both); the
//! templates (`privacy.html`, `privacy_case.html`) escape every value from the store.

use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use labguard_app::privacy as svc;
use labguard_core::Permission as P;
use labguard_privacy::{CaseEvent, Dashboard, Detector};

use crate::charts::{self, LineChart};
use crate::state::AppState;
use crate::ui::{denied_page, who};
use crate::view::{render, Layout};

const COLOURS: [&str; 9] = [
    "#c53030", "#dd6b20", "#d69e2e", "#38a169", "#319795", "#3182ce", "#5a67d8", "#805ad5",
    "#d53f8c",
];

fn colour(d: Detector) -> &'static str {
    let i = Detector::ALL.iter().position(|x| *x == d).unwrap_or(0);
    COLOURS[i % COLOURS.len()]
}

/// One line per detector that fired in the period; x = day, y = counted alerts.
fn detector_chart(d: &Dashboard) -> LineChart {
    let days: Vec<String> = d
        .per_detector
        .first()
        .map(|s| s.points.iter().map(|(day, _)| day.to_string()).collect())
        .unwrap_or_default();
    let series: Vec<_> = d
        .per_detector
        .iter()
        .map(|s| {
            (
                s.detector.code().to_string(),
                colour(s.detector),
                s.points.iter().map(|(_, n)| *n).collect(),
            )
        })
        .collect();
    charts::lines(
        "detector-chart",
        "Alerts per detector per day",
        &days,
        &series,
        "no alerts in the last 30 days",
    )
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
    let b = &d.backlog;
    render(&DashboardPage {
        layout: Layout::signed_in(&st, &p, "Privacy"),
        open_cases: d.open_cases,
        pseudonymous: d.pseudonymous,
        detectors: detector_chart(&d),
        oldest: b
            .oldest_hours
            .map_or_else(|| "-".into(), |h| format!("{} days", h / 24)),
        median: b
            .median_hours
            .map_or_else(|| "-".into(), |h| format!("{:.1} days", h / 24.0)),
        b,
        users: &d.top_users,
        cases: officer.then(|| {
            rows.iter()
                .map(|r| CaseRow {
                    id: r.id,
                    staff: r.staff.clone(),
                    role: r.role.clone(),
                    status: r.status.clone(),
                    unexplained: r.unexplained,
                    opened: r.opened_at.format("%Y-%m-%d").to_string(),
                })
                .collect()
        }),
    })
}

#[derive(Template)]
#[template(path = "privacy.html")]
struct DashboardPage<'a> {
    layout: Layout,
    open_cases: usize,
    pseudonymous: bool,
    detectors: LineChart,
    b: &'a labguard_privacy::BacklogAge,
    oldest: String,
    median: String,
    users: &'a [labguard_privacy::DashboardUser],
    /// The open cases, for privacy officers only.
    cases: Option<Vec<CaseRow>>,
}

struct CaseRow {
    id: u64,
    staff: String,
    role: String,
    status: String,
    unexplained: usize,
    opened: String,
}

#[derive(Template)]
#[template(path = "privacy_case.html")]
struct CasePage {
    layout: Layout,
    id: u64,
    staff_name: String,
    role: &'static str,
    status: String,
    assignee: String,
    alerts: Vec<AlertRow>,
    steps: Vec<Step>,
    /// Who the pseudonymous references are (the reviewer's view; each read is audited).
    patients: Vec<labguard_store::CasePatient>,
}

struct AlertRow {
    at: String,
    detector: &'static str,
    explanation: String,
    counts: bool,
}

struct Step {
    at: String,
    text: String,
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
            let patients = s.privacy_case_patients(&actor, id)?;
            Ok((v, names, patients))
        })
        .await;
    let (v, staff, patients) = match res {
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
    let alerts = v
        .case
        .alerts
        .iter()
        .map(|a| {
            let reference = a.patient.as_ref().map(|p| p.0.as_str());
            let named = reference
                .and_then(|r| patients.iter().find(|c| c.reference == r))
                .map(|c| format!("{}, {} ({})", c.family, c.given, c.mrn));
            let patient = named.as_deref().or(reference).unwrap_or("a patient");
            AlertRow {
                at: a.at.format("%Y-%m-%d %H:%M").to_string(),
                detector: a.detector.code(),
                explanation: a.explain(&v.staff_name, patient),
                counts: a.counts(),
            }
        })
        .collect();
    let steps = v
        .case
        .history
        .iter()
        .map(|e| {
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
            Step {
                at: at.format("%Y-%m-%d %H:%M").to_string(),
                text,
            }
        })
        .collect();
    render(&CasePage {
        layout: Layout::signed_in(&st, &p, "Privacy case"),
        id: v.case.id.0,
        staff_name: v.staff_name.clone(),
        role: v.case.role.code(),
        status: v.status_text.clone(),
        assignee: v.assignee_name.clone().unwrap_or_else(|| "nobody".into()),
        alerts,
        steps,
        patients,
    })
}
