//! "Verify log" from the web UI: one full `audit verify` at a time, run in the background,
//! its progress polled by the page. The run and its outcome are in the audit log (the store
//! records them), so the last good verification is evidence an auditor can see.

use std::sync::Mutex;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use labguard_core::Permission;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema, Default)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyState {
    /// No verification has run since the server started.
    #[default]
    Idle,
    Running,
    Passed,
    Failed,
}

/// The latest verification started from the UI or API.
#[derive(Debug, Clone, Serialize, ToSchema, Default)]
pub struct VerifyStatus {
    pub state: VerifyState,
    /// Entries and rows checked so far, of `total`.
    pub done: u64,
    pub total: u64,
    pub started_by: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub entries: Option<u64>,
    pub checkpoints: Option<usize>,
    pub rows: Option<u64>,
    /// The first problem found (names an entry index or a table and row id, never content).
    pub problem: Option<String>,
}

/// Held in the server state.
#[derive(Default)]
pub struct VerifyJob(Mutex<VerifyStatus>);

impl VerifyJob {
    fn get(&self) -> VerifyStatus {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }
    fn update(&self, f: impl FnOnce(&mut VerifyStatus)) {
        if let Ok(mut s) = self.0.lock() {
            f(&mut s)
        }
    }
}

#[utoipa::path(post, path = "/api/v1/audit/verify",
    responses((status = 202, body = VerifyStatus), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
/// Starts a full verification of the audit log and every stored row (or returns the one
/// already running).
pub async fn start(
    State(st): State<AppState>,
    p: Principal,
) -> ApiResult<(StatusCode, Json<VerifyStatus>)> {
    if !p.actor.may(Permission::AuditRead) {
        return Err(ApiError::forbidden(
            "this role may not read or verify the audit log",
        ));
    }
    let now = st.now();
    {
        let mut s = st.verify_job.0.lock().map_err(|_| ApiError::internal())?;
        if s.state == VerifyState::Running {
            return Ok((StatusCode::ACCEPTED, Json(s.clone())));
        }
        *s = VerifyStatus {
            state: VerifyState::Running,
            started_by: Some(p.account.staff.username.clone()),
            started_at: Some(now),
            ..VerifyStatus::default()
        };
    }
    let (st2, actor) = (st.clone(), p.actor.clone());
    tokio::task::spawn_blocking(move || {
        let job = &st2.verify_job;
        let r = st2.store.verify_as(&actor, &mut |done, total| {
            job.update(|s| {
                s.done = done;
                s.total = total;
            })
        });
        let end = st2.now();
        job.update(|s| {
            s.finished_at = Some(end);
            match r {
                Ok(Ok(rep)) => {
                    s.state = VerifyState::Passed;
                    s.done = s.total;
                    s.entries = Some(rep.entries);
                    s.checkpoints = Some(rep.checkpoints);
                    s.rows = Some(rep.rows_checked);
                }
                Ok(Err(problem)) => {
                    s.state = VerifyState::Failed;
                    s.problem = Some(problem.to_string());
                }
                Err(e) => {
                    s.state = VerifyState::Failed;
                    s.problem = Some(format!("could not run: {e}"));
                }
            }
        });
    });
    Ok((StatusCode::ACCEPTED, Json(st.verify_job.get())))
}

#[utoipa::path(get, path = "/api/v1/audit/verify",
    responses((status = 200, body = VerifyStatus), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
/// Progress and outcome of the latest verification.
pub async fn status(State(st): State<AppState>, p: Principal) -> ApiResult<Json<VerifyStatus>> {
    if !p.actor.may(Permission::AuditRead) {
        return Err(ApiError::forbidden(
            "this role may not read or verify the audit log",
        ));
    }
    Ok(Json(st.verify_job.get()))
}
