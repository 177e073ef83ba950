//! The web UI: server-rendered pages with one small script. Pages show only what the role
//! may use, but that is convenience: the API and the store refuse everything else anyway.

use askama::Template;
use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use labguard_core::Permission as P;
use serde::Deserialize;

use crate::admin::{compute_stats, DayCount};
use crate::auth::{resolve, AnyStage};
use crate::charts::{self, ColumnChart, Donut};
use crate::state::AppState;
use crate::view::{render, render_with, Layout};

const APP_JS: &str = include_str!("../static/app.js");
const STYLE_CSS: &str = include_str!("../static/style.css");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/app") }))
        .route("/sign-in", get(sign_in_page))
        .route("/app", get(app_page))
        .route("/dashboard", get(dashboard_page))
        .route("/compliance", get(crate::compliance::dashboard_page))
        .route("/devices", get(crate::ui_devices::fleet_page))
        .route("/devices/{name}", get(crate::ui_devices::device_page))
        .route("/privacy", get(crate::ui_privacy::dashboard_page))
        .route("/privacy/cases/{id}", get(crate::ui_privacy::case_page))
        .route("/denied", get(|| async { denied_page() }))
        .route("/change-password", get(change_password_page))
        .merge(crate::ui_admin::router())
        .route(
            "/static/app.js",
            get(|| async { asset("text/javascript", APP_JS) }),
        )
        .route(
            "/static/style.css",
            get(|| async { asset("text/css", STYLE_CSS) }),
        )
}

fn asset(ct: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, ct),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct SignInQuery {
    expired: Option<String>,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    layout: Layout,
    expired: bool,
    /// The "sign in with your lab's directory" link, when single sign-on is configured.
    sso: bool,
}

async fn sign_in_page(State(st): State<AppState>, Query(q): Query<SignInQuery>) -> Response {
    render(&SignInPage {
        layout: Layout::bare("Sign in"),
        expired: q.expired.is_some(),
        sso: st.settings.oidc.is_some(),
    })
}

#[derive(Template)]
#[template(path = "change_password.html")]
struct ChangePasswordPage {
    layout: Layout,
    must_change: bool,
}

/// Where a one-time password is replaced (also reachable later to change one's password).
async fn change_password_page(State(st): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let p = match resolve(&st, &parts).await {
        Ok(p) if p.stage == labguard_store::SessionStage::Full => p,
        Ok(_) => return Redirect::to("/sign-in").into_response(),
        Err(e) => return redirect_for(&e),
    };
    render(&ChangePasswordPage {
        layout: Layout::with_meta(&st, &p, "Choose a password"),
        must_change: p.account.password_must_change,
    })
}

pub(crate) fn redirect_for(err: &crate::error::ApiError) -> Response {
    if err.code == "password-change-required" {
        Redirect::to("/change-password").into_response()
    } else if err.code == "session-expired" {
        Redirect::to("/sign-in?expired=1").into_response()
    } else {
        Redirect::to("/sign-in").into_response()
    }
}

pub(crate) async fn who(state: &AppState, req: Request) -> Result<AnyStage, Response> {
    let (parts, _) = req.into_parts();
    match resolve(state, &parts).await {
        // A one-time password is refused in `resolve` (password-change-required).
        Ok(p) if p.stage == labguard_store::SessionStage::Full => Ok(p),
        Ok(_) => Err(Redirect::to("/sign-in").into_response()),
        Err(e) => Err(redirect_for(&e)),
    }
}

#[derive(Template)]
#[template(path = "app.html")]
struct AppPage {
    layout: Layout,
    search: bool,
    draw: bool,
    collections: bool,
    held: bool,
}

async fn app_page(State(st): State<AppState>, req: Request) -> Response {
    let p = match who(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let role = p.account.staff.role;
    render(&AppPage {
        layout: Layout::signed_in(&st, &p, "Patients"),
        search: role.allows(P::DemographicsRead),
        draw: role.allows(P::SpecimenRecord),
        collections: role.allows(P::CollectionListRead),
        held: role.allows(P::ResultVerify),
    })
}

#[derive(Template)]
#[template(path = "denied.html")]
struct DeniedPage {
    layout: Layout,
}

pub(crate) fn denied_page() -> Response {
    render_with(
        StatusCode::FORBIDDEN,
        &DeniedPage {
            layout: Layout::bare("Permission denied"),
        },
    )
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    open_alerts: u64,
    failures: ColumnChart,
    break_glass: ColumnChart,
    mfa: Donut,
}

fn days(d: &[DayCount]) -> Vec<(String, u64)> {
    d.iter().map(|d| (d.day.clone(), d.count)).collect()
}

async fn dashboard_page(State(st): State<AppState>, req: Request) -> Response {
    let p = match who(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let role = p.account.staff.role;
    if !(role.allows(P::ReportsRead) && role.allows(P::AuditRead)) {
        return denied_page();
    }
    let (actor, now) = (p.actor.clone(), st.now());
    let stats = match st.run(move |s| compute_stats(s, &actor, now)).await {
        Ok(s) => s,
        Err(e) if e.status == StatusCode::FORBIDDEN => return denied_page(),
        Err(e) => return e.into_response(),
    };
    render(&DashboardPage {
        layout: Layout::signed_in(&st, &p, "Security dashboard"),
        open_alerts: stats.open_alerts,
        failures: charts::daily_counts(
            "failures-chart",
            "Sign-in failures, last 7 days",
            &days(&stats.sign_in_failures),
        ),
        break_glass: charts::daily_counts(
            "break-glass-chart",
            "Break-glass accesses, last 7 days",
            &days(&stats.break_glass),
        ),
        mfa: charts::donut(
            "mfa-chart",
            format!(
                "MFA coverage ({} of {} active accounts)",
                stats.accounts_with_mfa, stats.accounts_enabled
            ),
            "MFA coverage",
            stats.accounts_with_mfa,
            stats.accounts_enabled,
        ),
    })
}
