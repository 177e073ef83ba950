//! Training pages: the course list with my assignments, a course's lessons and its quiz (a
//! plain server-rendered form, questions in this attempt's random order), the result with
//! the certificate, the phishing campaign reports with charts, and the account hygiene
//! panel. Forms post with the page's CSRF token as a hidden field, checked by the same code
//! as the API's header.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use labguard_core::{Id, Permission as P};
use labguard_training::chart::{role_click_chart, trend_chart};
use labguard_training::phishing::trend;
use labguard_training::render::escape_html as esc;

use crate::auth::AnyStage;
use crate::state::AppState;
use crate::ui::{denied_page, header_bar, meta, page, who};
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

fn error_page(p: &AnyStage, st: &AppState, e: crate::error::ApiError) -> Response {
    if e.status == StatusCode::FORBIDDEN {
        return denied_page();
    }
    let status = e.status;
    (
        status,
        Html(page(
            "Training",
            &meta(st, p),
            &format!(
                "{}<main><p class=\"error\" id=\"error\" role=\"alert\">{}</p><a href=\"/training\">Back to training</a></main>",
                header_bar(p),
                esc(&e.message)
            ),
        )),
    )
        .into_response()
}

fn shell(st: &AppState, p: &AnyStage, title: &str, data_page: &str, main: &str) -> Response {
    Html(page(
        title,
        &meta(st, p),
        &format!(
            "{}<main data-page=\"{data_page}\">{main}</main>",
            header_bar(p)
        ),
    ))
    .into_response()
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
    let mut main = String::from("<h1>Security training</h1><section><h2>Assigned to you</h2>");
    if open.is_empty() {
        main.push_str("<p id=\"no-assignments\">Nothing due. Thank you!</p>");
    } else {
        main.push_str("<table id=\"assignments\"><thead><tr><th>Course</th><th>Due</th><th>Why</th></tr></thead><tbody>");
        for a in &open {
            main.push_str(&format!(
                "<tr><td><a href=\"/training/course/{id}\">{t}</a></td><td>{due}{over}</td><td>{why:?}</td></tr>",
                id = esc(&a.course_id),
                t = esc(&title_of(&a.course_id)),
                due = a.due_at.format("%Y-%m-%d"),
                over = if a.overdue_days > 0 {
                    format!(" <strong class=\"error\">overdue {} days</strong>", a.overdue_days)
                } else {
                    String::new()
                },
                why = a.reason,
            ));
        }
        main.push_str("</tbody></table>");
    }
    main.push_str("</section><section><h2>All courses</h2><ul id=\"courses\">");
    for c in &courses {
        main.push_str(&format!(
            "<li><a class=\"course-link\" id=\"course-{id}\" href=\"/training/course/{id}\">{t}</a> (version {v}, {n} questions, pass mark {pm}%)</li>",
            id = esc(&c.id),
            t = esc(&c.title),
            v = c.version,
            n = c.questions.len(),
            pm = c.pass_mark
        ));
    }
    main.push_str("</ul></section><section><h2>Your transcript</h2><ul id=\"transcript\">");
    for e in &transcript.entries {
        if let labguard_training::assign::TranscriptStatus::Completed {
            completed_at,
            course_version,
            score_percent,
        } = &e.status
        {
            main.push_str(&format!(
                "<li>{} v{} — {}% on {}</li>",
                esc(&title_of(&e.course_id)),
                course_version,
                score_percent,
                completed_at.format("%Y-%m-%d")
            ));
        }
    }
    main.push_str("</ul></section>");
    shell(&st, &p, "Training", "training", &main)
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
    let mut main = format!(
        "<h1 id=\"course-title\">{}</h1><p>Version {} · about {} minutes · pass mark {}%</p>",
        esc(&view.title),
        view.version,
        view.minutes.unwrap_or(10),
        view.pass_mark
    );
    for (i, l) in view.lessons.iter().enumerate() {
        // Lesson HTML is sanitized by labguard-training's renderer.
        main.push_str(&format!(
            "<section class=\"lesson\" id=\"lesson-{i}\"><h2>{}</h2>{}</section>",
            esc(&l.title),
            l.html
        ));
    }
    main.push_str(&format!(
        "<form method=\"post\" action=\"/training/course/{}/quiz\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\" id=\"start-quiz\">Take the quiz</button></form>",
        esc(&view.id),
        esc(&p.csrf_token(&st).unwrap_or_default())
    ));
    shell(&st, &p, &view.title, "course", &main)
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
    let mut main = format!(
        "<h1>Quiz</h1><p>Pass mark {}%. Questions and answers are in a different order each attempt.</p>\
         <form method=\"post\" action=\"/training/attempt/{attempt}\" class=\"quiz\" id=\"quiz\" data-attempt=\"{attempt}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        quiz.pass_mark,
        esc(&p.csrf_token(&st).unwrap_or_default())
    );
    for (n, q) in quiz.questions.iter().enumerate() {
        let kind = if q.multiple { "checkbox" } else { "radio" };
        main.push_str(&format!(
            "<fieldset class=\"question\" id=\"q-{qid}\"><legend>{num}. {prompt}{hint}</legend>",
            qid = esc(&q.id),
            num = n + 1,
            prompt = esc(&q.prompt),
            hint = if q.multiple && !q.prompt.to_ascii_lowercase().contains("select all") {
                " <em>(select all that apply)</em>"
            } else {
                ""
            }
        ));
        for o in &q.options {
            main.push_str(&format!(
                "<label class=\"option\"><input type=\"{kind}\" name=\"{qid}\" value=\"{oid}\" id=\"opt-{qid}-{oid}\"> {text}</label>",
                qid = esc(&q.id),
                oid = esc(&o.id),
                text = esc(&o.text)
            ));
        }
        main.push_str("</fieldset>");
    }
    main.push_str("<button type=\"submit\" id=\"submit-quiz\">Submit answers</button></form>");
    shell(&st, &p, "Quiz", "quiz", &main)
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
    let mut main = format!(
        "<h1>{}</h1><p id=\"score\">You scored {}% ({} of {} correct).</p>",
        if g.passed {
            "<span id=\"passed\" class=\"ok\">Passed</span>"
        } else {
            "<span id=\"failed\" class=\"error\">Not passed yet</span>"
        },
        g.score_percent,
        g.correct,
        g.total
    );
    if let Some(c) = &out.certificate {
        main.push_str(&format!(
            "<section id=\"certificate\"><h2>Certificate of completion</h2><p>{} completed <strong>{}</strong> (version {}) on {} with {}%.</p><p>Certificate id <code id=\"certificate-id\">{}</code></p></section>",
            esc(&c.staff_name),
            esc(&c.course_title),
            c.course_version,
            c.completed_at.format("%Y-%m-%d"),
            c.score_percent,
            esc(&c.certificate_id)
        ));
    }
    main.push_str("<section><h2>Feedback</h2><ul>");
    for f in &g.feedback {
        main.push_str(&format!(
            "<li>{} {}</li>",
            if f.correct { "✔" } else { "✘" },
            esc(&f.explanation)
        ));
    }
    main.push_str("</ul></section><a href=\"/training\">Back to training</a>");
    shell(&st, &p, "Quiz result", "quiz-result", &main)
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
    let mut main = String::from("<h1>Phishing simulations</h1>");
    if reports.len() > 1 {
        main.push_str(&format!(
            "<div class=\"charts\"><figure id=\"trend-chart\">{}</figure></div>",
            trend_chart(&trend(&reports))
        ));
    }
    main.push_str("<table id=\"campaigns\"><thead><tr><th>Campaign</th><th>Template</th><th>Launched</th></tr></thead><tbody>");
    for c in &campaigns {
        main.push_str(&format!(
            "<tr><td><a href=\"/phishing/{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
            c.id,
            esc(&c.name),
            esc(&c.template_id),
            c.launched_at
                .map_or("not yet".into(), |t| t.format("%Y-%m-%d %H:%M").to_string())
        ));
    }
    main.push_str("</tbody></table>");
    shell(&st, &p, "Phishing", "phishing", &main)
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
    let mut main = format!(
        "<h1>{}</h1><table id=\"counts\"><tr><th>Sent</th><th>Opened</th><th>Clicked</th><th>Submitted</th><th>Reported</th><th>First report after</th></tr>\
         <tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></table>",
        esc(&r.name),
        r.sent,
        r.opened,
        r.clicked,
        r.submitted,
        r.reported,
        r.time_to_first_report_secs
            .map_or("no report yet".into(), |s| format!("{} min", s / 60))
    );
    main.push_str(&format!(
        "<div class=\"charts\"><figure id=\"role-chart\">{}</figure>{}</div>",
        role_click_chart(&r.report),
        if all.len() > 1 {
            format!(
                "<figure id=\"trend-chart\">{}</figure>",
                trend_chart(&trend(&all))
            )
        } else {
            String::new()
        }
    ));
    main.push_str("<section><h2>Remedial training assigned</h2><ul id=\"remedial\">");
    for e in &r.remedial_assigned {
        main.push_str(&format!(
            "<li>{} ({}) — due {}</li>",
            esc(&e.username),
            esc(e.role.code()),
            e.due_at.format("%Y-%m-%d")
        ));
    }
    main.push_str(&format!(
        "</ul></section><section><h2>Delivery</h2><p>{} recipients: {} sent, {} failed, {} unconfirmed, {} pending.</p>",
        r.delivery.recipients, r.delivery.sent, r.delivery.failed, r.delivery.unconfirmed, r.delivery.pending
    ));
    if r.delivery.sent_without_tls > 0 {
        main.push_str(&format!(
            "<p class=\"error\" role=\"alert\" id=\"sent-without-tls\">{} mail(s) went out without TLS: the SMTP server offered no STARTTLS. Fix the relay or add <code>?tls=required</code> to the campaign's SMTP URL.</p>",
            r.delivery.sent_without_tls
        ));
    }
    main.push_str("</section>");
    shell(&st, &p, "Campaign report", "phishing-report", &main)
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
    let names = |ids: &[Id]| -> String {
        if ids.is_empty() {
            return "<li>none</li>".into();
        }
        ids.iter()
            .map(|id| {
                let n = staff
                    .iter()
                    .find(|s| s.id == *id)
                    .map_or("?", |s| s.username.as_str());
                format!("<li>{}</li>", esc(n))
            })
            .collect()
    };
    let main = format!(
        "<h1>Password and account hygiene</h1><p id=\"mfa-coverage\">MFA coverage: <strong>{:.0}%</strong> ({} of {} active accounts)</p>\
         <section><h2>Patient-data roles without MFA</h2><ul id=\"phi-without-mfa\">{}</ul></section>\
         <section><h2>Chose a blocklisted password at the last change</h2><ul id=\"blocklist\">{}</ul></section>\
         <section><h2>Dormant accounts (no sign-in for {} days)</h2><ul id=\"dormant\">{}</ul></section>",
        h.mfa_coverage_percent,
        h.mfa_enrolled,
        h.active_accounts,
        names(&h.phi_without_mfa),
        names(&h.blocklist_failures),
        svc::DORMANT_DAYS,
        names(&h.dormant)
    );
    shell(&st, &p, "Account hygiene", "hygiene", &main)
}
