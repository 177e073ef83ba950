//! Security and administration routes: audit log, alerts, access review, the security
//! dashboard's figures, accounts (create, disable a leaver, unlock). API tokens are in `tokens`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, TimeDelta, Utc};
use labguard_app::accounts::{provision_account_with, review_report, AccountOut};
use labguard_audit::Outcome as AuditOutcome;
use labguard_core::{Id, Role};
use labguard_identity::AccessReviewReport;
use labguard_store::{Actor, Alert, Store};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct AuditEntryOut {
    pub seq: u64,
    pub time: String,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub resource: String,
    pub resource_id: String,
    /// Pseudonymous patient reference (never the patient's id or name).
    pub patient_ref: Option<String>,
    pub reason: Option<String>,
    pub outcome: String,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub from: Option<u64>,
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct AlertOut {
    pub id: String,
    pub kind: String,
    pub user_id: Option<String>,
    pub subject_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

impl From<Alert> for AlertOut {
    fn from(a: Alert) -> Self {
        AlertOut {
            id: a.id,
            kind: a.kind,
            user_id: a.user_id,
            subject_id: a.subject_id,
            created_at: a.created_at,
            reviewed_by: a.reviewed_by,
            reviewed_at: a.reviewed_at,
            reason: a.reason,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccountIn {
    #[schema(min_length = 2, max_length = 64, pattern = "^[a-z0-9][a-z0-9._-]*$")]
    pub username: String,
    #[schema(max_length = 100)]
    pub display_name: String,
    /// phlebotomist, front-desk, lab-technologist, pathologist, security-officer, auditor, administrator.
    pub role: String,
    #[schema(max_length = 200)]
    pub email: String,
}

#[derive(Serialize, ToSchema)]
pub struct NewAccountOut {
    pub account: AccountOut,
    /// Shown once; the user sets up TOTP at first sign-in.
    pub initial_password: String,
}

#[derive(Serialize, ToSchema)]
pub struct DisableOut {
    pub sessions_ended: u64,
    pub tokens_revoked: u64,
}

#[derive(Serialize, ToSchema)]
pub struct DayCount {
    pub day: String,
    pub count: u64,
}

#[derive(Serialize, ToSchema)]
pub struct SecurityStats {
    pub sign_in_failures: Vec<DayCount>,
    pub break_glass: Vec<DayCount>,
    pub accounts_enabled: u64,
    pub accounts_with_mfa: u64,
    pub open_alerts: u64,
}

#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery),
    responses((status = 200, body = Vec<AuditEntryOut>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn audit(
    State(st): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntryOut>>> {
    let actor = p.actor.clone();
    let (from, limit) = (q.from.unwrap_or(0), q.limit.unwrap_or(100).min(1000));
    let v = st
        .run(move |s| Ok(s.audit_entries(&actor, from, limit)?))
        .await?;
    Ok(Json(
        v.into_iter()
            .map(|(seq, e)| AuditEntryOut {
                seq,
                time: e.time,
                actor: e.actor,
                role: e.role,
                action: e.action,
                resource: e.resource,
                resource_id: e.resource_id,
                patient_ref: e.patient_ref,
                reason: e.reason,
                outcome: match e.outcome {
                    AuditOutcome::Success => "success",
                    AuditOutcome::Denied => "denied",
                    AuditOutcome::Error => "error",
                }
                .into(),
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/alerts",
    responses((status = 200, body = Vec<AlertOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn alerts(State(st): State<AppState>, p: Principal) -> ApiResult<Json<Vec<AlertOut>>> {
    let actor = p.actor.clone();
    let v = st.run(move |s| Ok(s.list_alerts(&actor, 200)?)).await?;
    Ok(Json(v.into_iter().map(AlertOut::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}/review", params(("id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn review_alert(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<StatusCode> {
    let actor = p.actor.clone();
    st.run(move |s| Ok(s.review_alert(&actor, &id.to_string())?))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/access-review",
    responses((status = 200, body = Object), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn access_review(
    State(st): State<AppState>,
    p: Principal,
) -> ApiResult<Json<AccessReviewReport>> {
    let (actor, now) = (p.actor.clone(), st.now());
    Ok(Json(
        st.run(move |s| Ok(review_report(s, &actor, now)?)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/security/stats",
    responses((status = 200, body = SecurityStats), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn security_stats(
    State(st): State<AppState>,
    p: Principal,
) -> ApiResult<Json<SecurityStats>> {
    let (actor, now) = (p.actor.clone(), st.now());
    Ok(Json(st.run(move |s| compute_stats(s, &actor, now)).await?))
}

/// The security dashboard's figures: last 7 days of sign-in failures and break-glass
/// grants (from the audit log), MFA coverage and open alerts.
pub fn compute_stats(s: &Store, actor: &Actor, now: DateTime<Utc>) -> ApiResult<SecurityStats> {
    {
        {
            let accounts = s.list_accounts(actor)?;
            let (size, _) = s.audit_head()?;
            // The last 20,000 entries cover a week in a busy lab; older days show zero.
            let from = size.saturating_sub(20_000);
            let mut failures = [0u64; 7];
            let mut glass = [0u64; 7];
            let mut next = from;
            loop {
                let batch = s.audit_entries(actor, next, 1000)?;
                let Some((last, _)) = batch.last() else { break };
                next = last + 1;
                for (_, e) in &batch {
                    let Ok(t) = DateTime::parse_from_rfc3339(&e.time) else {
                        continue;
                    };
                    let age = (now.date_naive() - t.to_utc().date_naive()).num_days();
                    let Ok(i) = usize::try_from(age) else {
                        continue;
                    };
                    if i >= 7 {
                        continue;
                    }
                    match e.action.as_str() {
                        "auth.sign-in-failure" => failures[6 - i] += 1,
                        "break-glass.grant" => glass[6 - i] += 1,
                        _ => {}
                    }
                }
                if batch.len() < 1000 {
                    break;
                }
            }
            let days = |a: [u64; 7]| {
                a.iter()
                    .enumerate()
                    .map(|(i, c)| DayCount {
                        day: (now - TimeDelta::days(6 - i as i64))
                            .format("%Y-%m-%d")
                            .to_string(),
                        count: *c,
                    })
                    .collect()
            };
            let enabled: Vec<_> = accounts.iter().filter(|a| !a.is_disabled()).collect();
            let open_alerts = if actor.may(labguard_core::Permission::AlertsReview) {
                let v = s.list_alerts(actor, 1000)?;
                v.iter().filter(|a| a.reviewed_at.is_none()).count() as u64
            } else {
                0
            };
            Ok(SecurityStats {
                sign_in_failures: days(failures),
                break_glass: days(glass),
                accounts_enabled: enabled.len() as u64,
                accounts_with_mfa: enabled.iter().filter(|a| a.mfa_enrolled).count() as u64,
                open_alerts,
            })
        }
    }
}

#[utoipa::path(get, path = "/api/v1/accounts",
    responses((status = 200, body = Vec<AccountOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_accounts(
    State(st): State<AppState>,
    p: Principal,
) -> ApiResult<Json<Vec<AccountOut>>> {
    let actor = p.actor.clone();
    let v = st.run(move |s| Ok(s.list_accounts(&actor)?)).await?;
    Ok(Json(v.iter().map(AccountOut::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/accounts", request_body = NewAccountIn,
    responses((status = 201, body = NewAccountOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_account(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(a): ApiJson<NewAccountIn>,
) -> ApiResult<(StatusCode, Json<NewAccountOut>)> {
    let role = Role::from_code(&a.role).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-fields",
            "unknown role",
        )
    })?;
    let (actor, params) = (p.actor.clone(), st.settings.hash_params);
    let (acc, pw) = st
        .run(move |s| {
            Ok(provision_account_with(
                s,
                &actor,
                &a.username,
                &a.display_name,
                role,
                &a.email,
                &params,
                true,
            )?)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewAccountOut {
            account: AccountOut::from(&acc),
            initial_password: pw.to_string(),
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/accounts/{username}/disable", params(("username" = String, Path)),
    responses((status = 200, body = DisableOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn disable_account(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(username): ApiPath<String>,
) -> ApiResult<Json<DisableOut>> {
    let actor = p.actor.clone();
    let (s, t) = st
        .run(move |s| Ok(s.disable_account(&actor, &username)?))
        .await?;
    Ok(Json(DisableOut {
        sessions_ended: s,
        tokens_revoked: t,
    }))
}

#[utoipa::path(post, path = "/api/v1/accounts/{username}/unlock", params(("username" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unlock_account(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(username): ApiPath<String>,
) -> ApiResult<StatusCode> {
    let actor = p.actor.clone();
    st.run(move |s| Ok(s.unlock_account(&actor, &username)?))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
