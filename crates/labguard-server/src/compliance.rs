//! Compliance routes: the status (score per safeguard, each specification, the trend) and the
//! audit report in HTML, PDF or OSCAL, plus the compliance dashboard page. Reading needs
//! `reports-read` (security officer, auditor); the store checks it.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use labguard_compliance::render::{html, oscal, pdf};
use labguard_compliance::report::{ProposedResult, SafeguardScore, TrendPoint};
use labguard_compliance::Status;
use labguard_core::Permission as P;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiQuery;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct SpecStatus {
    pub citation: String,
    pub title: String,
    /// met, partly-met, not-met or needs-person
    pub status: String,
    /// Evidence collectors behind the status.
    pub evidence: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SafeguardOut {
    pub safeguard: String,
    pub title: String,
    pub score: f64,
    pub met: u32,
    pub partly: u32,
    pub not_met: u32,
    pub needs_person: u32,
}

#[derive(Serialize, ToSchema)]
pub struct ScorePoint {
    pub at: String,
    pub score: f64,
}

#[derive(Serialize, ToSchema)]
pub struct ComplianceStatus {
    /// 0-100 over every specification (met 1, partly met 1/2).
    pub overall: f64,
    /// Whether any evidence has been collected yet.
    pub collected: bool,
    pub safeguards: Vec<SafeguardOut>,
    pub specs: Vec<SpecStatus>,
    /// The January 2025 proposal's items.
    pub proposed: Vec<SpecStatus>,
    pub trend: Vec<ScorePoint>,
}

fn safeguard_out(g: &SafeguardScore) -> SafeguardOut {
    SafeguardOut {
        safeguard: g.safeguard.section().into(),
        title: g.safeguard.title().into(),
        score: g.score,
        met: g.met,
        partly: g.partly,
        not_met: g.not_met,
        needs_person: g.needs_person,
    }
}

fn proposed_out(p: &ProposedResult) -> SpecStatus {
    SpecStatus {
        citation: p.id.clone(),
        title: p.title.clone(),
        status: p.status.code().into(),
        evidence: p.evidence.clone(),
    }
}

fn point(t: &TrendPoint) -> ScorePoint {
    ScorePoint {
        at: t.at.to_rfc3339(),
        score: t.score,
    }
}

#[utoipa::path(get, path = "/api/v1/compliance/status",
    responses((status = 200, body = ComplianceStatus), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn status(State(st): State<AppState>, p: Principal) -> ApiResult<Json<ComplianceStatus>> {
    let actor = p.actor.clone();
    let r = st
        .run(move |s| Ok(s.compliance_report(&actor, None)?))
        .await?;
    Ok(Json(ComplianceStatus {
        overall: r.overall,
        collected: !r.evidence.is_empty(),
        safeguards: r.safeguards.iter().map(safeguard_out).collect(),
        specs: r
            .specs
            .iter()
            .map(|s| SpecStatus {
                citation: s.citation.clone(),
                title: s.title.clone(),
                status: s.status.code().into(),
                evidence: s.evidence.clone(),
            })
            .collect(),
        proposed: r.proposed.iter().map(proposed_out).collect(),
        trend: r.trend.iter().map(point).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct CollectOut {
    /// The overall score after this collection, in percent.
    pub overall: f64,
    /// Evidence records collected and saved (each also in the audit log).
    pub evidence: usize,
}

#[utoipa::path(post, path = "/api/v1/compliance/collect",
    responses((status = 200, body = CollectOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
/// Runs every evidence collector now (as `labguard compliance collect` does) and saves the
/// dated, hashed evidence and the score. Needs `compliance-manage` (the security officer).
pub async fn collect(State(st): State<AppState>, p: Principal) -> ApiResult<Json<CollectOut>> {
    if !p.actor.may(P::ComplianceManage) {
        return Err(crate::error::ApiError::forbidden(
            "only the security officer runs the evidence collectors",
        ));
    }
    let (actor, now) = (p.actor.clone(), st.now());
    let r = st
        .run(move |s| Ok(labguard_app::compliance::collect(s, &actor, now)?))
        .await?;
    Ok(Json(CollectOut {
        overall: r.overall,
        evidence: r.evidence.len(),
    }))
}

#[derive(Deserialize, Clone, Copy, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// html (default), pdf, or oscal (OSCAL 1.1 assessment-results JSON)
    #[param(inline)]
    format: Option<ReportFormat>,
}

#[derive(Deserialize, Clone, Copy, Default, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    #[default]
    Html,
    Pdf,
    Oscal,
}

#[utoipa::path(get, path = "/api/v1/compliance/report", params(ReportQuery),
    responses(
        (status = 200, description = "the audit report", content(
            (String = "text/html"),
            (String = "application/pdf"),
            (Object = "application/json"),
        )),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn report(
    State(st): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let actor = p.actor.clone();
    let r = st
        .run(move |s| Ok(s.compliance_report(&actor, None)?))
        .await?;
    let format = q.format.unwrap_or_default();
    Ok(match format {
        ReportFormat::Html => Html(html::render(&r)).into_response(),
        ReportFormat::Pdf => (
            [
                (header::CONTENT_TYPE, "application/pdf"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"hipaa-report.pdf\"",
                ),
            ],
            pdf::render(&r),
        )
            .into_response(),
        ReportFormat::Oscal => Json(oscal::render(&r)).into_response(),
    })
}

/// The compliance dashboard: score by safeguard, score over time, open risks, and the
/// specifications that are not met.
pub async fn dashboard_page(State(st): State<AppState>, req: Request) -> Response {
    let p = match crate::ui::who(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !p.account.staff.role.allows(P::ReportsRead) {
        return crate::ui::denied_page();
    }
    let actor = p.actor.clone();
    let r = match st
        .run(move |s| Ok(s.compliance_report(&actor, None)?))
        .await
    {
        Ok(r) => r,
        Err(e) if e.status == StatusCode::FORBIDDEN => return crate::ui::denied_page(),
        Err(e) => return e.into_response(),
    };
    let gaps = r
        .specs
        .iter()
        .filter(|s| matches!(s.status, Status::NotMet | Status::PartlyMet))
        .map(|s| Gap {
            citation: s.citation.clone(),
            title: s.title.clone(),
            status: s.status.label(),
            evidence: s.evidence.join(", "),
        })
        .collect();
    let due = r
        .reminders
        .iter()
        .map(|m| Due {
            kind: m.kind.clone(),
            subject: m.subject.clone(),
            due: m.due.to_string(),
            left: if m.days_left < 0 {
                format!("overdue by {} days", -m.days_left)
            } else {
                format!("{} days left", m.days_left)
            },
        })
        .collect();
    crate::view::render(&CompliancePage {
        layout: crate::view::Layout::signed_in(&st, &p, "Compliance"),
        overall: format!("{:.1}", r.overall),
        collected: !r.evidence.is_empty(),
        may_collect: p.account.staff.role.allows(P::ComplianceManage),
        safeguard_chart: html::safeguard_chart(&r.safeguards),
        trend_chart: html::trend_chart(&r.trend),
        risk_chart: html::risk_chart(&r.risks),
        due,
        gaps,
    })
}

#[derive(askama::Template)]
#[template(path = "compliance.html")]
struct CompliancePage {
    layout: crate::view::Layout,
    overall: String,
    collected: bool,
    may_collect: bool,
    safeguard_chart: String,
    trend_chart: String,
    risk_chart: String,
    due: Vec<Due>,
    gaps: Vec<Gap>,
}

struct Due {
    kind: String,
    subject: String,
    due: String,
    left: String,
}

struct Gap {
    citation: String,
    title: String,
    status: &'static str,
    evidence: String,
}
