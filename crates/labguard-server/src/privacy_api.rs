//! Privacy monitoring over HTTP: scan, cases and their review steps, record flags, a
//! patient's access report and the dashboard. The store checks every permission and audits
//! every call (refusals included); review steps additionally need a session whose second
//! factor is fresh, as the CLI re-authenticates the officer for them.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use labguard_app::privacy as svc;
use labguard_core::{Id, Permission as P};
use labguard_privacy::{CaseError, Outcome};
use labguard_store::{CaseStep, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Credential, Principal};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::tokens::MFA_FRESH_FOR;

/// The case rules' refusals are the caller's doing: 403 for reviewing one's own case, 409
/// for a step the case's state does not allow, 422 for missing text.
fn case_error(e: ApiError, raw: Option<CaseError>) -> ApiError {
    match raw {
        Some(CaseError::SelfReview) => ApiError::new(
            StatusCode::FORBIDDEN,
            "self-review",
            "a user may not review or be assigned their own case",
        ),
        Some(CaseError::EmptyText(_)) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-fields",
            "this step needs text",
        ),
        Some(c) => ApiError::new(StatusCode::CONFLICT, "case-state", c.to_string()),
        None => e,
    }
}

fn store_err(e: StoreError) -> ApiError {
    match e {
        StoreError::Case(c) => case_error(ApiError::internal(), Some(c)),
        e => e.into(),
    }
}

fn app_err(e: labguard_app::error::AppError) -> ApiError {
    match e {
        labguard_app::error::AppError::Store(s) => store_err(s),
        e => e.into(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct NewAlertOut {
    pub detector: String,
    /// Pseudonymous patient reference (`pt-…`).
    pub patient: Option<String>,
    pub staff: String,
    pub role: String,
    pub at: String,
    pub explanation: String,
    pub counted: bool,
}

#[derive(Serialize, ToSchema)]
pub struct ScanOut {
    pub examined: u64,
    pub alerts: u64,
    pub cases_touched: Vec<u64>,
    pub cursor: Option<u64>,
    pub new_alerts: Vec<NewAlertOut>,
}

#[utoipa::path(post, path = "/api/v1/privacy/scan",
    responses((status = 200, body = ScanOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
/// Examines the record accesses logged since the last scan (each once) and files the
/// alerts into cases. Needs `privacy-review` (the security officer).
pub async fn scan(State(st): State<AppState>, p: Principal) -> ApiResult<Json<ScanOut>> {
    let (actor, now) = (p.actor.clone(), st.now());
    let r = st
        .run(move |s| svc::scan(s, &actor, now, None).map_err(app_err))
        .await?;
    Ok(Json(ScanOut {
        examined: r.examined,
        alerts: r.alerts,
        cases_touched: r.cases_touched,
        cursor: r.cursor,
        new_alerts: r
            .new_alerts
            .into_iter()
            .map(|a| NewAlertOut {
                detector: a.detector.into(),
                patient: a.patient,
                staff: a.staff,
                role: a.role,
                at: a.at.to_rfc3339(),
                explanation: a.explanation,
                counted: a.counted,
            })
            .collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CasesQuery {
    /// Only cases not yet closed.
    open: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct CaseRowOut {
    pub id: u64,
    pub staff: String,
    pub role: String,
    pub status: String,
    pub alerts: usize,
    pub unexplained: usize,
    pub opened_at: String,
}

#[utoipa::path(get, path = "/api/v1/privacy/cases", params(CasesQuery),
    responses((status = 200, body = Vec<CaseRowOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn cases(
    State(st): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<CasesQuery>,
) -> ApiResult<Json<Vec<CaseRowOut>>> {
    let actor = p.actor.clone();
    let open = q.open.unwrap_or(false);
    let rows = st
        .run(move |s| svc::case_rows(s, &actor, open).map_err(app_err))
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| CaseRowOut {
                id: r.id,
                staff: r.staff,
                role: r.role,
                status: r.status,
                alerts: r.alerts,
                unexplained: r.unexplained,
                opened_at: r.opened_at.to_rfc3339(),
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/privacy/cases/{id}", params(("id" = u64, Path, description = "case number")),
    responses((status = 200, description = "the case with its alerts (pseudonymous patient references), history and labels", body = Object),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn case_show(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<u64>,
) -> ApiResult<Json<serde_json::Value>> {
    let actor = p.actor.clone();
    let v = st
        .run(move |s| svc::case_view(s, &actor, id).map_err(app_err))
        .await?;
    serde_json::to_value(&v)
        .map(Json)
        .map_err(|_| ApiError::internal())
}

/// Review steps need the second factor within the last 15 minutes, from a browser session
/// (a stolen API token cannot review or close cases). Only checked for callers who hold the
/// permission: everyone else goes on to the store, which audits the refusal.
fn step_up(st: &AppState, p: &Principal) -> ApiResult<()> {
    if !p.actor.may(P::PrivacyReview) {
        return Ok(());
    }
    let fresh = match &p.credential {
        Credential::Session { mfa_at, .. } => mfa_at.is_some_and(|t| st.now() - t <= MFA_FRESH_FOR),
        Credential::ApiToken => false,
    };
    if fresh {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "mfa-reauth-required",
            "case review needs a code from your authenticator within the last 15 minutes: send one to /api/v1/auth/reauth",
        ))
    }
}

async fn step(st: AppState, p: Principal, id: u64, step: StepIn) -> ApiResult<Json<CaseStepOut>> {
    step_up(&st, &p)?;
    let actor = p.actor.clone();
    let c = st
        .run(move |s| {
            let step = match step {
                // Someone without the permission learns nothing about usernames: the
                // store refuses (and audits) before the assignee matters.
                StepIn::Assign(to) if actor.may(P::PrivacyReview) => CaseStep::Assign {
                    to: svc::staff_id(s, &actor, &to).map_err(app_err)?,
                },
                StepIn::Assign(_) => CaseStep::Assign { to: Id::new_v4() },
                StepIn::Note(text) => CaseStep::Note { text },
                StepIn::Close(outcome, why) => CaseStep::Close { outcome, why },
            };
            s.privacy_case_step(&actor, id, &step).map_err(store_err)
        })
        .await?;
    Ok(Json(CaseStepOut {
        id: c.id.0,
        status: serde_json::to_value(c.status).unwrap_or_default(),
        assignee: c.assignee.map(|a| a.to_string()),
    }))
}

enum StepIn {
    Assign(String),
    Note(String),
    Close(Outcome, String),
}

#[derive(Serialize, ToSchema)]
pub struct CaseStepOut {
    pub id: u64,
    #[schema(value_type = Object)]
    pub status: serde_json::Value,
    pub assignee: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignIn {
    /// The reviewer's username.
    #[schema(max_length = 64)]
    pub to: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteIn {
    #[schema(max_length = 4000)]
    pub text: String,
}

#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeIn {
    Appropriate,
    Sanction,
    Referred,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseIn {
    pub outcome: OutcomeIn,
    #[schema(max_length = 4000)]
    pub why: String,
}

fn bounded(s: &str, max: usize) -> ApiResult<()> {
    if s.chars().count() > max {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-fields",
            "a text field is too long",
        ));
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/v1/privacy/cases/{id}/assign", params(("id" = u64, Path, description = "case number")), request_body = AssignIn,
    responses((status = 200, body = CaseStepOut), (status = 401, body = ErrorBody),
              (status = 403, description = "the role may not, self-review, or mfa-reauth-required", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn case_assign(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<u64>,
    ApiJson(b): ApiJson<AssignIn>,
) -> ApiResult<Json<CaseStepOut>> {
    bounded(&b.to, 64)?;
    step(st, p, id, StepIn::Assign(b.to)).await
}

#[utoipa::path(post, path = "/api/v1/privacy/cases/{id}/note", params(("id" = u64, Path, description = "case number")), request_body = NoteIn,
    responses((status = 200, body = CaseStepOut), (status = 401, body = ErrorBody),
              (status = 403, description = "the role may not, self-review, or mfa-reauth-required", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn case_note(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<u64>,
    ApiJson(b): ApiJson<NoteIn>,
) -> ApiResult<Json<CaseStepOut>> {
    bounded(&b.text, 4000)?;
    step(st, p, id, StepIn::Note(b.text)).await
}

#[utoipa::path(post, path = "/api/v1/privacy/cases/{id}/close", params(("id" = u64, Path, description = "case number")), request_body = CloseIn,
    responses((status = 200, body = CaseStepOut), (status = 401, body = ErrorBody),
              (status = 403, description = "the role may not, self-review, or mfa-reauth-required", body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn case_close(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<u64>,
    ApiJson(b): ApiJson<CloseIn>,
) -> ApiResult<Json<CaseStepOut>> {
    bounded(&b.why, 4000)?;
    let outcome = match b.outcome {
        OutcomeIn::Appropriate => Outcome::Appropriate,
        OutcomeIn::Sanction => Outcome::Sanction,
        OutcomeIn::Referred => Outcome::Referred,
    };
    step(st, p, id, StepIn::Close(outcome, b.why)).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlagIn {
    #[serde(default)]
    pub restricted: bool,
    #[serde(default)]
    pub deceased: bool,
}

#[derive(Serialize, ToSchema)]
pub struct FlagOut {
    pub restricted: bool,
    pub deceased: bool,
}

#[utoipa::path(post, path = "/api/v1/privacy/patients/{id}/flag", params(("id" = String, Path, description = "patient id")), request_body = FlagIn,
    responses((status = 200, body = FlagOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// Sets the record's restricted (VIP, employee) and deceased flags (both as given).
pub async fn flag(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<Id>,
    ApiJson(b): ApiJson<FlagIn>,
) -> ApiResult<Json<FlagOut>> {
    let actor = p.actor.clone();
    let (r, d) = (b.restricted, b.deceased);
    st.run(move |s| Ok(s.flag_patient(&actor, id, r, d)?))
        .await?;
    Ok(Json(FlagOut {
        restricted: r,
        deceased: d,
    }))
}

#[derive(Deserialize, Clone, Copy, Default, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportFormat {
    #[default]
    Json,
    Html,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day (YYYY-MM-DD, UTC), inclusive; default six years back.
    #[param(value_type = Option<String>, format = Date)]
    from: Option<NaiveDate>,
    /// Last day, inclusive; default today.
    #[param(value_type = Option<String>, format = Date)]
    to: Option<NaiveDate>,
    /// json (default) or html (an escaped fragment, no script).
    #[param(inline)]
    format: Option<ReportFormat>,
}

fn day_start(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(chrono::NaiveTime::MIN).and_utc()
}

#[utoipa::path(get, path = "/api/v1/privacy/patients/{id}/access-report", params(("id" = String, Path, description = "patient id"), ReportQuery),
    responses((status = 200, description = "who opened the record, when and why", content((Object = "application/json"), (String = "text/html"))),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
/// The patient's access report (HIPAA 164.528 accounting) for a period.
pub async fn access_report(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<Id>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let now = st.now();
    let to =
        q.to.and_then(|d| day_start(d).checked_add_signed(Duration::days(1)))
            .unwrap_or(day_start(now.date_naive()) + Duration::days(1));
    let from = q
        .from
        .map(day_start)
        .unwrap_or_else(|| to - Duration::days(6 * 366));
    if to <= from {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-fields",
            "to must not be before from",
        ));
    }
    let actor = p.actor.clone();
    let r = st
        .run(move |s| Ok(s.patient_access_report(&actor, id, from, to)?))
        .await?;
    Ok(match q.format.unwrap_or_default() {
        ReportFormat::Html => Html(r.to_html()).into_response(),
        ReportFormat::Json => match serde_json::to_value(&r) {
            Ok(v) => Json(v).into_response(),
            Err(_) => return Err(ApiError::internal()),
        },
    })
}

#[utoipa::path(get, path = "/api/v1/privacy/dashboard",
    responses((status = 200, description = "open cases, alerts per detector per day, top users by unexplained accesses, backlog age; users lettered for the auditor", body = Object),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn dashboard(State(st): State<AppState>, p: Principal) -> ApiResult<Response> {
    let (actor, now) = (p.actor.clone(), st.now());
    let d = st
        .run(move |s| Ok(s.privacy_dashboard(&actor, now)?))
        .await?;
    let body = serde_json::to_vec(&d).map_err(|_| ApiError::internal())?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
