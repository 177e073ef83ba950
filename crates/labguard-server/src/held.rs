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
        state: match d {
            HeldDecision::Release => "released",
            HeldDecision::Reject => "rejected",
        }
        .into(),
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
