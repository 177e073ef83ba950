//! Device security over HTTP: the fleet report (labguard-app) as JSON.

use axum::extract::State;
use axum::Json;
use chrono::Utc;
use labguard_app::devices::{fleet_report, DeviceOut, FindingOut, Recording, ReportOut};
use labguard_devices::risk::RemediationPolicy;
use labguard_store::{Actor, Store, StoreError};

use crate::auth::Principal;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ApiPath;
use crate::state::AppState;

/// The report as of now. Every route here is a GET: it computes and answers, and records
/// nothing (sightings, counts and alerts are recorded by `devices report` and the daily
/// compliance collection).
fn report_now(store: &Store, actor: &Actor, only: Option<&str>) -> Result<ReportOut, StoreError> {
    fleet_report(
        store,
        actor,
        only,
        &RemediationPolicy::default(),
        Utc::now(),
        Recording::ReadOnly,
    )
}

#[utoipa::path(get, path = "/api/v1/devices",
    responses((status = 200, body = Vec<DeviceOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_devices(
    State(st): State<AppState>,
    p: Principal,
) -> ApiResult<Json<Vec<DeviceOut>>> {
    let actor = p.actor.clone();
    let r = st.run(move |s| Ok(report_now(s, &actor, None)?)).await?;
    Ok(Json(r.devices))
}

#[utoipa::path(get, path = "/api/v1/devices/report",
    responses((status = 200, body = ReportOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn fleet(State(st): State<AppState>, p: Principal) -> ApiResult<Json<ReportOut>> {
    let actor = p.actor.clone();
    Ok(Json(
        st.run(move |s| Ok(report_now(s, &actor, None)?)).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/devices/{id}", params(("id" = String, Path, description = "device name or id")),
    responses((status = 200, body = DeviceOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_device(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DeviceOut>> {
    let actor = p.actor.clone();
    let r = st
        .run(move |s| Ok(report_now(s, &actor, Some(&id))?))
        .await?;
    r.devices
        .into_iter()
        .next()
        .map(Json)
        .ok_or_else(|| StoreError::NotFound("no such device".into()).into())
}

#[utoipa::path(get, path = "/api/v1/devices/{id}/findings", params(("id" = String, Path, description = "device name or id")),
    responses((status = 200, body = Vec<FindingOut>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn device_findings(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<FindingOut>>> {
    let actor = p.actor.clone();
    let r = st
        .run(move |s| Ok(report_now(s, &actor, Some(&id))?))
        .await?;
    Ok(Json(
        r.devices.into_iter().flat_map(|d| d.findings).collect(),
    ))
}
