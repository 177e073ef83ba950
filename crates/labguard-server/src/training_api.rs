//! `/api/v1/training/...` and `/api/v1/phishing/...`: courses and quizzes for everyone
//! (their own), assignments and rules for training managers, campaigns for the security
//! officer, reports for auditors too. Permission checks are in the store.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::TimeDelta;
use labguard_core::{Id, Permission as P, Role};
use labguard_mail::CampaignSpec;
use labguard_store::StoreError;
use labguard_training::phishing::TargetGroup;
use labguard_training::{AssignmentRule, Recurrence, RuleKind, Target, VersionPolicy};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use labguard_app::training as svc;

fn me(p: &Principal) -> ApiResult<Id> {
    Id::parse_str(&p.actor.id).map_err(|_| ApiError::forbidden("only staff accounts take training"))
}

#[utoipa::path(get, path = "/api/v1/training/courses",
    responses((status = 200, body = serde_json::Value, description = "course summaries"), (status = 401, body = ErrorBody)))]
pub async fn courses(
    State(st): State<AppState>,
    p: Principal,
) -> ApiResult<Json<serde_json::Value>> {
    let actor = p.actor.clone();
    let cs = st.run(move |s| Ok(svc::catalog(s, &actor)?)).await?;
    let out: Vec<_> = cs.iter().map(|c| c.summary()).collect();
    Ok(Json(
        serde_json::to_value(out).map_err(|_| ApiError::internal())?,
    ))
}

#[utoipa::path(get, path = "/api/v1/training/courses/{course_id}", params(("course_id" = String, Path)),
    responses((status = 200, body = serde_json::Value, description = "lessons as sanitized HTML"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn course(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(course_id): ApiPath<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let actor = p.actor.clone();
    let c = st
        .run(move |s| Ok(svc::course(s, &actor, &course_id)?))
        .await?;
    Ok(Json(
        serde_json::to_value(c.learner_view()).map_err(|_| ApiError::internal())?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct AttemptOut {
    #[schema(value_type = String, format = Uuid)]
    pub attempt_id: Id,
    /// Questions in this attempt's order, options shuffled, no answers.
    #[schema(value_type = Object)]
    pub quiz: labguard_training::LearnerQuiz,
}

#[utoipa::path(post, path = "/api/v1/training/courses/{course_id}/attempts", params(("course_id" = String, Path)),
    responses((status = 201, body = AttemptOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn start_attempt(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(course_id): ApiPath<String>,
) -> ApiResult<(StatusCode, Json<AttemptOut>)> {
    let staff = me(&p)?;
    let actor = p.actor.clone();
    let (attempt_id, quiz) = st
        .run(move |s| Ok(svc::start_quiz(s, &actor, staff, &course_id)?))
        .await?;
    Ok((StatusCode::CREATED, Json(AttemptOut { attempt_id, quiz })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswersIn {
    /// Question id to the chosen option ids.
    pub answers: BTreeMap<String, Vec<String>>,
}

#[utoipa::path(post, path = "/api/v1/training/attempts/{id}", params(("id" = String, Path, format = Uuid)),
    request_body = AnswersIn,
    responses((status = 200, body = serde_json::Value, description = "grade, and a certificate on a pass"), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn submit_attempt(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<Id>,
    ApiJson(body): ApiJson<AnswersIn>,
) -> ApiResult<Json<serde_json::Value>> {
    let actor = p.actor.clone();
    let now = st.now();
    let out = st
        .run(move |s| {
            let key = s.certificate_key()?;
            let a = s.attempt(&actor, id)?;
            if a.staff_id.to_string() != actor.id {
                // Someone else's attempt: as if it did not exist.
                return Err(StoreError::NotFound("quiz attempt".into()).into());
            }
            Ok(svc::submit_quiz(
                s,
                &actor,
                id,
                &body.answers,
                key.as_slice(),
                now,
            )?)
        })
        .await?;
    Ok(Json(
        serde_json::to_value(out).map_err(|_| ApiError::internal())?,
    ))
}

#[utoipa::path(get, path = "/api/v1/training/me",
    responses((status = 200, body = serde_json::Value, description = "my open assignments and transcript"), (status = 401, body = ErrorBody)))]
pub async fn my_training(
    State(st): State<AppState>,
    p: Principal,
) -> ApiResult<Json<serde_json::Value>> {
    let staff = me(&p)?;
    let actor = p.actor.clone();
    let now = st.now();
    let (open, transcript) = st
        .run(move |s| {
            Ok((
                svc::open_assignments(s, &actor, Some(staff), now)?,
                svc::staff_transcript(s, &actor, staff, now)?,
            ))
        })
        .await?;
    Ok(Json(
        serde_json::json!({"assignments": open, "transcript": transcript}),
    ))
}

#[utoipa::path(get, path = "/api/v1/training/assignments",
    responses((status = 200, body = serde_json::Value, description = "every open assignment"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn all_assignments(
    State(st): State<AppState>,
    p: Principal,
) -> ApiResult<Json<serde_json::Value>> {
    let actor = p.actor.clone();
    let now = st.now();
    let open = st
        .run(move |s| {
            s.require_any(
                &actor,
                &[P::TrainingManage, P::ReportsRead],
                labguard_store::Action::TrainingAssignmentsRead,
                "training_rule",
            )?;
            Ok(svc::open_assignments(s, &actor, None, now)?)
        })
        .await?;
    Ok(Json(
        serde_json::to_value(open).map_err(|_| ApiError::internal())?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleIn {
    pub course_id: String,
    /// `all`, a role code, or `user:USERNAME`.
    pub to: String,
    #[schema(minimum = 1, maximum = 3650)]
    pub due_days: u32,
    /// `once` or `annual`.
    pub recurrence: String,
}

#[utoipa::path(post, path = "/api/v1/training/rules", request_body = RuleIn,
    responses((status = 201, body = serde_json::Value, description = "the stored rule"), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_rule(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<RuleIn>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let actor = p.actor.clone();
    let now = st.now();
    // Bounded so every due date stays a representable time.
    if !(1..=3650).contains(&body.due_days) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "due_days must be between 1 and 3650",
        ));
    }
    let recurrence = match body.recurrence.as_str() {
        "once" => Recurrence::Once,
        "annual" => Recurrence::Annual,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "recurrence must be once or annual",
            ))
        }
    };
    let rule = st
        .run(move |s| {
            s.require_any(
                &actor,
                &[P::TrainingManage],
                labguard_store::Action::TrainingAssign,
                "training_rule",
            )?;
            let c = svc::course(s, &actor, &body.course_id)?;
            let target = match body.to.as_str() {
                "all" => Target::AllStaff,
                t => match t.strip_prefix("user:") {
                    Some(u) => Target::Person(
                        s.list_staff(&actor)?
                            .into_iter()
                            .find(|x| x.username == u)
                            .map(|x| x.id)
                            .ok_or_else(|| StoreError::NotFound("staff".into()))?,
                    ),
                    None => Target::Role(Role::from_code(t).map_err(StoreError::from)?),
                },
            };
            let rule = AssignmentRule {
                id: Id::new_v4(),
                course_id: c.id,
                target,
                recurrence,
                due_within_days: body.due_days,
                starts_at: now,
                version_policy: VersionPolicy::KeepOld,
                min_completed_at: None,
                kind: RuleKind::Standard,
            };
            s.add_training_rule(&actor, &rule)?;
            Ok(rule)
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(rule).map_err(|_| ApiError::internal())?),
    ))
}

#[utoipa::path(get, path = "/api/v1/phishing/campaigns",
    responses((status = 200, body = serde_json::Value, description = "every campaign"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn campaigns(
    State(st): State<AppState>,
    p: Principal,
) -> ApiResult<Json<serde_json::Value>> {
    let actor = p.actor.clone();
    let cs = st
        .run(move |s| {
            svc::may_read_phishing(s, &actor, labguard_store::Action::PhishingCampaignList)?;
            Ok(s.list_campaigns(&actor)?)
        })
        .await?;
    Ok(Json(
        serde_json::to_value(cs).map_err(|_| ApiError::internal())?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignIn {
    #[schema(max_length = 200)]
    pub name: String,
    pub template: String,
    /// `all` or role codes.
    pub to: Vec<String>,
    pub smtp: String,
    pub from: String,
    pub base_url: String,
    #[serde(default)]
    pub allow_domains: Vec<String>,
    /// Messages per minute (default 30).
    pub rate: Option<u32>,
    /// Window length in hours (default 8).
    pub window_hours: Option<u32>,
}

#[utoipa::path(post, path = "/api/v1/phishing/campaigns", request_body = CampaignIn,
    responses((status = 201, body = serde_json::Value, description = "the campaign id and who will not be mailed"), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_campaign(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<CampaignIn>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let actor = p.actor.clone();
    let now = st.now();
    let unprocessable = |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m);
    if body.name.trim().is_empty() || body.name.chars().count() > 200 {
        return Err(unprocessable("name must be 1 to 200 characters".into()));
    }
    let target = if body.to.iter().any(|t| t == "all") {
        TargetGroup::AllStaff
    } else {
        TargetGroup::Roles(
            body.to
                .iter()
                .map(|r| Role::from_code(r))
                .collect::<Result<_, _>>()
                .map_err(|e| unprocessable(e.to_string()))?,
        )
    };
    let spec = CampaignSpec {
        name: body.name,
        template_id: body.template,
        target,
        from_address: body.from,
        smtp_url: body.smtp,
        base_url: body.base_url,
        allowed_domains: body.allow_domains,
        per_minute: body.rate.unwrap_or(30).max(1),
        window_start: now,
        window_end: now
            + TimeDelta::hours(i64::from(body.window_hours.unwrap_or(8).clamp(1, 24 * 30))),
        max_attempts: 5,
    };
    let created = st
        .run(move |s| {
            // Refuse before looking at the request, so a denied role learns nothing from it.
            s.require_any(
                &actor,
                &[P::PhishingManage],
                labguard_store::Action::PhishingCampaignCreate,
                "phishing_campaign",
            )?;
            labguard_mail::create_campaign(s, &actor, &spec).map_err(|e| match e {
                labguard_mail::MailError::Store(se) => ApiError::from(se),
                other => ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    other.to_string(),
                ),
            })
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::to_value(created).map_err(|_| ApiError::internal())?),
    ))
}

#[utoipa::path(post, path = "/api/v1/phishing/campaigns/{id}/launch", params(("id" = String, Path, format = Uuid)),
    responses((status = 202, body = serde_json::Value, description = "sending started in the background; follow it in the report"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn launch_campaign(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let actor = p.actor.clone();
    let lab_name = st.settings.lab_name.clone();
    let a2 = actor.clone();
    st.run(move |s| {
        s.require_any(
            &a2,
            &[P::PhishingManage],
            labguard_store::Action::PhishingCampaignLaunch,
            "phishing_campaign",
        )?;
        s.campaign(&a2, id)?;
        Ok(())
    })
    .await?;
    let store = st.store.clone();
    // Sending is paced over the campaign's window, far longer than a request: it runs on
    // its own thread, and a second launch while one runs sends nothing twice (claims).
    std::thread::spawn(move || {
        let opts = labguard_mail::LaunchOptions {
            lab_name,
            ..labguard_mail::LaunchOptions::default()
        };
        if let Err(e) = labguard_mail::launch(
            &store,
            &actor,
            id,
            &opts,
            &labguard_mail::RealPace,
            &mut |_, _| {},
        ) {
            crate::log::error("phishing launch", &e.to_string());
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({"campaign_id": id, "status": "sending"})),
    ))
}

#[utoipa::path(get, path = "/api/v1/phishing/campaigns/{id}/report", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = serde_json::Value, description = "sent, opened, clicked, submitted, reported, by role, remedial"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn campaign_report(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(id): ApiPath<Id>,
) -> ApiResult<Json<serde_json::Value>> {
    let actor = p.actor.clone();
    let r = st
        .run(move |s| {
            svc::may_read_phishing(s, &actor, labguard_store::Action::PhishingReportRead)?;
            Ok(svc::phishing_report(s, &actor, id)?)
        })
        .await?;
    Ok(Json(
        serde_json::to_value(r).map_err(|_| ApiError::internal())?,
    ))
}

#[utoipa::path(get, path = "/api/v1/security/hygiene",
    responses((status = 200, body = serde_json::Value, description = "MFA coverage, blocklist failures, dormant accounts"),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn hygiene(
    State(st): State<AppState>,
    p: Principal,
) -> ApiResult<Json<serde_json::Value>> {
    let actor = p.actor.clone();
    let now = st.now();
    let h = st.run(move |s| Ok(svc::hygiene(s, &actor, now)?)).await?;
    Ok(Json(
        serde_json::to_value(h).map_err(|_| ApiError::internal())?,
    ))
}
