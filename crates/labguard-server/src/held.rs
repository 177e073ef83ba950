//! The review queue of instrument results held by the plausibility checks: list, release
//! into the patient's results, or reject. The store checks the reviewer's permission and
//! audits every read and decision.

use axum::extract::State;
use axum::Json;
use labguard_core::Id;
use labguard_store::HeldDecision;
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::ResultOut;
use crate::auth::Principal;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiPath;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct HeldResultOut {
    pub id: String,
    pub device_id: String,
    pub message_id: String,
    /// Why it was held (codes such as `outside-physiologic-limits`, `unit-mismatch`,
    /// `analyte-not-registered`, `result-before-draw`, `unknown-patient`).
    pub reasons: Vec<String>,
    pub result: ResultOut,
}

#[derive(Serialize, ToSchema)]
pub struct HeldDecisionOut {
    /// `released` or `rejected`.
    pub state: String,
    /// The result as filed, on release.
    pub filed: Option<ResultOut>,
}

#[utoipa::path(get, path = "/api/v1/held-results",
    responses((status = 200, body = Vec<HeldResultOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
/// Instrument results awaiting review, oldest first.
pub async fn list(State(st): State<AppState>, p: Principal) -> ApiResult<Json<Vec<HeldResultOut>>> {
    let actor = p.actor.clone();
    let v = st.run(move |s| Ok(s.held_results(&actor)?)).await?;
    Ok(Json(
        v.iter()
            .map(|h| HeldResultOut {
                id: h.id.to_string(),
                device_id: h.device_id.to_string(),
                message_id: h.message_id.to_string(),
                reasons: h.reasons.clone(),
                result: ResultOut::from(&h.result),
            })
            .collect(),
    ))
}

async fn decide(
    st: AppState,
    p: Principal,
    id: Id,
    d: HeldDecision,
) -> ApiResult<Json<HeldDecisionOut>> {
    let actor = p.actor.clone();
    let filed = st
        .run(move |s| Ok(s.decide_held_result(&actor, id, d)?))
        .await?;
    Ok(Json(HeldDecisionOut {
        state: d.state().into(),
        filed: filed.as_ref().map(ResultOut::from),
    }))
}

#[utoipa::path(post, path = "/api/v1/held-results/{id}/release", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = HeldDecisionOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
/// Files a held result in the patient's results, with the reviewer as its verifier.
pub async fn release(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<HeldDecisionOut>> {
    decide(st, p, id, HeldDecision::Release).await
}

#[utoipa::path(post, path = "/api/v1/held-results/{id}/reject", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = HeldDecisionOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
/// Keeps a held result out of the patient's results for good (the original stays stored).
pub async fn reject(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<HeldDecisionOut>> {
    decide(st, p, id, HeldDecision::Reject).await
}

/// A filed result a rejected QC run recalled for review (ids and state: no values).
#[derive(Serialize, ToSchema)]
pub struct QcRecallOut {
    pub result_id: String,
    pub patient_id: String,
    pub device_id: String,
    /// LOINC code of the analyte whose QC run was rejected.
    pub analyte: String,
    /// The `qc-rejected` alert that recalled it.
    pub alert_id: String,
    /// `held`, `released` or `rejected`.
    pub state: String,
    pub created_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

impl From<labguard_store::QcRecall> for QcRecallOut {
    fn from(r: labguard_store::QcRecall) -> Self {
        QcRecallOut {
            result_id: r.result_id.to_string(),
            patient_id: r.patient_id.to_string(),
            device_id: r.device_id.to_string(),
            analyte: r.analyte,
            alert_id: r.alert_id,
            state: r.state,
            created_at: r.created_at,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/qc/recalls",
    responses((status = 200, body = Vec<QcRecallOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
/// Results recalled by a rejected QC run and still awaiting review, oldest first.
pub async fn recalls(
    State(st): State<AppState>,
    p: Principal,
) -> ApiResult<Json<Vec<QcRecallOut>>> {
    let actor = p.actor.clone();
    let v = st.run(move |s| Ok(s.qc_recalls(&actor, true)?)).await?;
    Ok(Json(v.into_iter().map(QcRecallOut::from).collect()))
}

async fn decide_recall(
    st: AppState,
    p: Principal,
    id: Id,
    d: HeldDecision,
) -> ApiResult<Json<QcRecallOut>> {
    let actor = p.actor.clone();
    let r = st
        .run(move |s| Ok(s.decide_qc_recall(&actor, id, d)?))
        .await?;
    Ok(Json(r.into()))
}

#[utoipa::path(post, path = "/api/v1/qc/recalls/{id}/release", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = QcRecallOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
/// Clears a recalled result after review: it may then be signed off.
pub async fn release_recall(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<QcRecallOut>> {
    decide_recall(st, p, id, HeldDecision::Release).await
}

#[utoipa::path(post, path = "/api/v1/qc/recalls/{id}/reject", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = QcRecallOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
/// Confirms a recalled result was unreliable: it can never be signed off (the lab corrects
/// or cancels it in its own workflow).
pub async fn reject_recall(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<QcRecallOut>> {
    decide_recall(st, p, id, HeldDecision::Reject).await
}
