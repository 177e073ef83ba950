//! Training pages: the course list with my assignments, a course's lessons and its quiz (a
//! plain server-rendered form, questions in this attempt's random order), the result with
//! the certificate, the phishing campaign reports with charts, and the account hygiene
//! panel. Forms post with the page's CSRF token as a hidden field, checked by the same code
//! as the API's header.

use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use labguard_core::{Id, Permission as P};
use labguard_training::chart::{role_click_layout, trend_layout, BarLayout, LineLayout};
use labguard_training::phishing::trend;

use crate::auth::AnyStage;
use crate::state::AppState;
use crate::ui::{denied_page, who};
use crate::view::{render, render_with, Layout};
use labguard_app::training as svc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/training", get(training_page))
        .route("/training/course/{course_id}", get(course_page))
        .route("/training/course/{course_id}/quiz", post(start_quiz))
        .route("/training/attempt/{id}", post(submit_quiz))
        .route("/phishing", get(campaigns_page))
        .route("/phishing/{id}", get(report_page))
        .route("/hygiene", get(hygiene_page))
}

#[derive(Template)]
#[template(path = "training/error.html")]
struct ErrorPage {
    layout: Layout,
    message: String,
}

fn error_page(p: &AnyStage, st: &AppState, e: crate::error::ApiError) -> Response {
    if e.status == StatusCode::FORBIDDEN {
        return denied_page();
    }
    render_with(
        e.status,
        &ErrorPage {
            layout: Layout::signed_in(st, p, "Training"),
            message: e.message,
        },
    )
}

#[derive(Template)]
#[template(path = "training/index.html")]
struct TrainingPage {
    layout: Layout,
    open: Vec<AssignmentRow>,
    courses: Vec<CourseRow>,
    transcript: Vec<TranscriptRow>,
}

struct AssignmentRow {
    course_id: String,
    title: String,
    due: String,
    overdue_days: i64,
    why: String,
}

struct CourseRow {
    id: String,
    title: String,
    version: u32,
    questions: usize,
    pass_mark: u8,
}

struct TranscriptRow {
    title: String,
    version: u32,
    score: u8,
    completed: String,
}

async fn training_page(State(st): State<AppState>, req: Request) -> Response {
    let p = match who(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let me = p.account.staff.id;
    let actor = p.actor.clone();
    let now = st.now();
    let r = st
        .run(move |s| {
            Ok((
                svc::catalog(s, &actor)?,
                svc::open_assignments(s, &actor, Some(me), now)?,
                svc::staff_transcript(s, &actor, me, now)?,
            ))
        })
        .await;
    let (courses, open, transcript) = match r {
        Ok(v) => v,
        Err(e) => return error_page(&p, &st, e),
    };
    let title_of = |id: &str| {
        courses
            .iter()
            .find(|c| c.id == id)
            .map_or(id.to_string(), |c| c.title.clone())
    };
    let open = open
        .iter()
        .map(|a| AssignmentRow {
            course_id: a.course_id.clone(),
            title: title_of(&a.course_id),
            due: a.due_at.format("%Y-%m-%d").to_string(),
            overdue_days: a.overdue_days,
            why: format!("{:?}", a.reason),
        })
        .collect();
    let transcript = transcript
        .entries
        .iter()
        .filter_map(|e| match &e.status {
            labguard_training::assign::TranscriptStatus::Completed {
                completed_at,
                course_version,
                score_percent,
            } => Some(TranscriptRow {
                title: title_of(&e.course_id),
                version: *course_version,
                score: *score_percent,
                completed: completed_at.format("%Y-%m-%d").to_string(),
            }),
            _ => None,
        })
        .collect();
    render(&TrainingPage {
        layout: Layout::signed_in(&st, &p, "Training"),
        open,
        courses: courses
            .iter()
            .map(|c| CourseRow {
                id: c.id.clone(),
                title: c.title.clone(),
                version: c.version,
                questions: c.questions.len(),
                pass_mark: c.pass_mark,
            })
            .collect(),
        transcript,
    })
}

#[derive(Template)]
#[template(path = "training/course.html")]
struct CoursePage {
    layout: Layout,
    id: String,
    title: String,
    version: u32,
    minutes: u32,
    pass_mark: u8,
    lessons: Vec<Lesson>,
    csrf: String,
}

struct Lesson {
    title: String,
    /// Sanitized by labguard-training's renderer.
    html: String,
}

async fn course_page(
    State(st): State<AppState>,
    Path(course_id): Path<String>,
    req: Request,
) -> Response {
    let p = match who(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let actor = p.actor.clone();
    let c = match st
        .run(move |s| Ok(svc::course(s, &actor, &course_id)?))
        .await
    {
        Ok(c) => c,
        Err(e) => return error_page(&p, &st, e),
    };
    let view = c.learner_view();
    render(&CoursePage {
        layout: Layout::signed_in(&st, &p, &view.title),
        id: view.id.clone(),
        title: view.title.clone(),
        version: view.version,
        minutes: view.minutes.unwrap_or(10),
        pass_mark: view.pass_mark,
        lessons: view
            .lessons
            .iter()
            .map(|l| Lesson {
                title: l.title.clone(),
                html: l.html.clone(),
            })
            .collect(),
        csrf: p.csrf_token(&st).unwrap_or_default(),
    })
}

/// Reads the urlencoded body, moves its `csrf` field into the CSRF header and resolves the
/// caller as the API would: a form post gets exactly the API's session and CSRF checks.
async fn form_caller(
    st: &AppState,
    req: Request,
) -> Result<(AnyStage, Vec<(String, String)>), Response> {
    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, st.settings.body_limit).await {
        Ok(b) => b,
        Err(_) => return Err(StatusCode::PAYLOAD_TOO_LARGE.into_response()),
    };
    let fields: Vec<(String, String)> = match serde_urlencoded::from_bytes(&bytes) {
        Ok(f) => f,
        Err(_) => return Err(StatusCode::BAD_REQUEST.into_response()),
    };
    if let Some((_, v)) = fields.iter().find(|(k, _)| k == "csrf") {
        if let Ok(h) = HeaderValue::from_str(v) {
            parts.headers.insert(crate::auth::CSRF_HEADER, h);
        }
    }
    match crate::auth::resolve(st, &parts).await {
        Ok(p) if p.stage == labguard_store::SessionStage::Full => Ok((p, fields)),
        Ok(_) => Err(axum::response::Redirect::to("/sign-in").into_response()),
        Err(e) if e.code == "password-change-required" => Err(crate::ui::redirect_for(&e)),
        // A missing or wrong CSRF token.
        Err(e) if e.status == StatusCode::FORBIDDEN => Err(denied_page()),
        Err(e) => Err(crate::ui::redirect_for(&e)),
    }
}

async fn start_quiz(
    State(st): State<AppState>,
    Path(course_id): Path<String>,
    req: Request,
) -> Response {
    let (p, _) = match form_caller(&st, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let (actor, me) = (p.actor.clone(), p.account.staff.id);
    let r = st
        .run(move |s| Ok(svc::start_quiz(s, &actor, me, &course_id)?))
        .await;
    let (attempt, quiz) = match r {
        Ok(v) => v,
        Err(e) => return error_page(&p, &st, e),
    };
    let questions = quiz
        .questions
        .iter()
        .map(|q| Question {
            id: q.id.clone(),
            prompt: q.prompt.clone(),
            hint: q.multiple && !q.prompt.to_ascii_lowercase().contains("select all"),
            kind: if q.multiple { "checkbox" } else { "radio" },
            options: q
                .options
                .iter()
                .map(|o| QuizOption {
                    id: o.id.clone(),
                    text: o.text.clone(),
                })
                .collect(),
        })
        .collect();
    render(&QuizPage {
        layout: Layout::signed_in(&st, &p, "Quiz"),
        pass_mark: quiz.pass_mark,
        attempt: attempt.to_string(),
        csrf: p.csrf_token(&st).unwrap_or_default(),
        questions,
    })
}

#[derive(Template)]
#[template(path = "training/quiz.html")]
struct QuizPage {
    layout: Layout,
    pass_mark: u8,
    attempt: String,
    csrf: String,
    questions: Vec<Question>,
}

struct Question {
    id: String,
    prompt: String,
    /// "(select all that apply)" when the prompt does not say so itself.
    hint: bool,
    kind: &'static str,
    options: Vec<QuizOption>,
}

struct QuizOption {
    id: String,
    text: String,
}

#[derive(Template)]
#[template(path = "training/result.html")]
struct ResultPage {
    layout: Layout,
    passed: bool,
    score: u8,
    correct: usize,
    total: usize,
    certificate: Option<CertificateView>,
    feedback: Vec<FeedbackRow>,
}

struct CertificateView {
    staff_name: String,
    course_title: String,
    course_version: u32,
    completed: String,
    score: u8,
    id: String,
}

struct FeedbackRow {
    correct: bool,
    explanation: String,
}

async fn submit_quiz(State(st): State<AppState>, Path(id): Path<Id>, req: Request) -> Response {
    let (p, fields) = match form_caller(&st, req).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut answers = labguard_training::Answers::new();
    for (k, v) in fields.into_iter().filter(|(k, _)| k != "csrf") {
        answers.entry(k).or_default().push(v);
    }
    let actor = p.actor.clone();
    let now = st.now();
    let r = st
        .run(move |s| {
            let a = s.attempt(&actor, id)?;
            if a.staff_id.to_string() != actor.id {
                return Err(labguard_store::StoreError::NotFound("quiz attempt".into()).into());
            }
            let key = s.certificate_key()?;
            Ok(svc::submit_quiz(
                s,
                &actor,
                id,
                &answers,
                key.as_slice(),
                now,
            )?)
        })
        .await;
    let out = match r {
        Ok(o) => o,
        Err(e) => return error_page(&p, &st, e),
    };
    let g = &out.grade;
    render(&ResultPage {
        layout: Layout::signed_in(&st, &p, "Quiz result"),
        passed: g.passed,
        score: g.score_percent,
        correct: g.correct,
        total: g.total,
        certificate: out.certificate.as_ref().map(|c| CertificateView {
            staff_name: c.staff_name.clone(),
            course_title: c.course_title.clone(),
            course_version: c.course_version,
            completed: c.completed_at.format("%Y-%m-%d").to_string(),
            score: c.score_percent,
            id: c.certificate_id.clone(),
        }),
        feedback: g
            .feedback
            .iter()
            .map(|f| FeedbackRow {
                correct: f.correct,
                explanation: f.explanation.clone(),
            })
            .collect(),
    })
}

fn may_read_reports(p: &AnyStage) -> bool {
    let r = p.account.staff.role;
    r.allows(P::PhishingManage) || r.allows(P::ReportsRead)
}

async fn campaigns_page(State(st): State<AppState>, req: Request) -> Response {
    let p = match who(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !may_read_reports(&p) {
        return denied_page();
    }
    let actor = p.actor.clone();
    let r = st
        .run(move |s| {
            svc::may_read_phishing(s, &actor, labguard_store::Action::PhishingCampaignList)?;
            Ok((s.list_campaigns(&actor)?, svc::all_reports(s, &actor)?))
        })
        .await;
    let (campaigns, reports) = match r {
        Ok(v) => v,
        Err(e) => return error_page(&p, &st, e),
    };
    render(&CampaignsPage {
        layout: Layout::signed_in(&st, &p, "Phishing"),
        trend: (reports.len() > 1).then(|| trend_layout(&trend(&reports))),
        campaigns: campaigns
            .iter()
            .map(|c| CampaignRow {
                id: c.id.to_string(),
                name: c.name.clone(),
                template: c.template_id.clone(),
                launched: c
                    .launched_at
                    .map_or("not yet".into(), |t| t.format("%Y-%m-%d %H:%M").to_string()),
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "training/phishing.html")]
struct CampaignsPage {
    layout: Layout,
    trend: Option<LineLayout>,
    campaigns: Vec<CampaignRow>,
}

struct CampaignRow {
    id: String,
    name: String,
    template: String,
    launched: String,
}

#[derive(Template)]
#[template(path = "training/phishing_report.html")]
struct ReportPage {
    layout: Layout,
    name: String,
    sent: usize,
    opened: usize,
    clicked: usize,
    submitted: usize,
    reported: usize,
    first_report: String,
    role_chart: BarLayout,
    trend: Option<LineLayout>,
    remedial: Vec<RemedialRow>,
    d: svc::DeliverySummary,
}

struct RemedialRow {
    username: String,
    role: &'static str,
    due: String,
}

async fn report_page(State(st): State<AppState>, Path(id): Path<Id>, req: Request) -> Response {
    let p = match who(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !may_read_reports(&p) {
        return denied_page();
    }
    let actor = p.actor.clone();
    let r = st
        .run(move |s| {
            svc::may_read_phishing(s, &actor, labguard_store::Action::PhishingReportRead)?;
            Ok((
                svc::phishing_report(s, &actor, id)?,
                svc::all_reports(s, &actor)?,
            ))
        })
        .await;
    let (r, all) = match r {
        Ok(v) => v,
        Err(e) => return error_page(&p, &st, e),
    };
    render(&ReportPage {
        layout: Layout::signed_in(&st, &p, "Campaign report"),
        name: r.name.clone(),
        sent: r.sent,
        opened: r.opened,
        clicked: r.clicked,
        submitted: r.submitted,
        reported: r.reported,
        first_report: r
            .time_to_first_report_secs
            .map_or("no report yet".into(), |s| format!("{} min", s / 60)),
        role_chart: role_click_layout(&r.report),
        trend: (all.len() > 1).then(|| trend_layout(&trend(&all))),
        remedial: r
            .remedial_assigned
            .iter()
            .map(|e| RemedialRow {
                username: e.username.clone(),
                role: e.role.code(),
                due: e.due_at.format("%Y-%m-%d").to_string(),
            })
            .collect(),
        d: r.delivery,
    })
}

#[derive(Template)]
#[template(path = "training/hygiene.html")]
struct HygienePage {
    layout: Layout,
    coverage: String,
    enrolled: usize,
    active: usize,
    dormant_days: u32,
    phi_without_mfa: Vec<String>,
    blocklist: Vec<String>,
    dormant: Vec<String>,
}

async fn hygiene_page(State(st): State<AppState>, req: Request) -> Response {
    let p = match who(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let role = p.account.staff.role;
    if !(role.allows(P::AccountsManage) || role.allows(P::ReportsRead)) {
        return denied_page();
    }
    let (actor, now) = (p.actor.clone(), st.now());
    let r = st
        .run(move |s| Ok((svc::hygiene(s, &actor, now)?, s.list_staff(&actor)?)))
        .await;
    let (h, staff) = match r {
        Ok(v) => v,
        Err(e) => return error_page(&p, &st, e),
    };
    let names = |ids: &[Id]| -> Vec<String> {
        ids.iter()
            .map(|id| {
                staff
                    .iter()
                    .find(|s| s.id == *id)
                    .map_or("?", |s| s.username.as_str())
                    .to_string()
            })
            .collect()
    };
    render(&HygienePage {
        layout: Layout::signed_in(&st, &p, "Account hygiene"),
        coverage: format!("{:.0}", h.mfa_coverage_percent),
        enrolled: h.mfa_enrolled,
        active: h.active_accounts,
        dormant_days: svc::DORMANT_DAYS,
        phi_without_mfa: names(&h.phi_without_mfa),
        blocklist: names(&h.blocklist_failures),
        dormant: names(&h.dormant),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use labguard_training::phishing::TrendPoint;

    /// Campaign names are the trend chart's x labels: askama escapes them, and the chart
    /// draws one line with its points per rate.
    #[test]
    fn trend_chart_labels_are_escaped() {
        let point = |name: &str, click| TrendPoint {
            campaign_id: Id::new_v4(),
            name: name.into(),
            launched_at: chrono::Utc::now(),
            click_rate: click,
            submit_rate: 5.0,
            report_rate: 50.0,
        };
        let page = CampaignsPage {
            layout: Layout::bare("Phishing"),
            trend: Some(trend_layout(&[
                point("<script>alert(1)</script>\"", 40.0),
                point("spring", f64::NAN),
            ])),
            campaigns: Vec::new(),
        };
        let html = page.render().unwrap();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains(">&#60;script&#62;alert(1)&#60;/script&#62;&#34;</text>"));
        assert_eq!(html.matches("<polyline ").count(), 3);
        assert_eq!(html.matches("<circle ").count(), 6);
        // 40% of the 220 px plot from y=36: 36 + 220 - 88.
        assert!(html.contains("cy=\"168.0\""), "{html}");
        assert!(!html.contains("NaN"));
    }
}
