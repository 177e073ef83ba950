//! The web UI: server-rendered pages with one small script. Pages show only what the role
//! may use, but that is convenience: the API and the store refuse everything else anyway.

use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use labguard_core::Permission as P;
use serde::Deserialize;

use crate::admin::{compute_stats, DayCount};
use crate::auth::{resolve, AnyStage};
use crate::state::AppState;

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

/// Escapes text for HTML element content and quoted attributes.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

pub(crate) fn page(title: &str, meta: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · labguard</title>{meta}<link rel=\"stylesheet\" href=\"/static/style.css\"><script src=\"/static/app.js\" defer></script></head>\
         <body>{body}</body></html>",
        esc(title)
    )
}

#[derive(Deserialize)]
pub struct SignInQuery {
    expired: Option<String>,
}

async fn sign_in_page(State(st): State<AppState>, Query(q): Query<SignInQuery>) -> Html<String> {
    let sso = crate::oidc::SIGN_IN_LINK.filter(|_| st.settings.oidc.is_some());
    let notice = if q.expired.is_some() {
        "<p class=\"notice\" id=\"expired\">You were signed out after a period of inactivity. Sign in again to continue.</p>"
    } else {
        ""
    };
    Html(page(
        "Sign in",
        "",
        &format!(
            "<main class=\"narrow\" data-page=\"sign-in\"><h1>labguard</h1>{notice}\
             <form id=\"password-form\"><h2>Sign in</h2>\
             <label>Username <input name=\"username\" id=\"username\" autocomplete=\"username\" required maxlength=\"64\"></label>\
             <label>Password <input name=\"password\" id=\"password\" type=\"password\" autocomplete=\"current-password\" required maxlength=\"128\"></label>\
             <button type=\"submit\" id=\"sign-in\">Continue</button></form>{}\
             <form id=\"mfa-form\" hidden><h2>Authenticator code</h2><p>Enter the 6-digit code from your authenticator app, or a recovery code.</p>\
             <label>Code <input name=\"code\" id=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required maxlength=\"24\"></label>\
             <button type=\"submit\" id=\"verify\">Verify</button></form>\
             <section id=\"enroll\" hidden><h2>Set up your authenticator</h2><p>Scan the code with your authenticator app, or type the key, then enter the code it shows.</p>\
             <div id=\"qr\"></div><p>Key: <code id=\"totp-secret\"></code></p>\
             <form id=\"enroll-form\"><label>Code <input id=\"enroll-code\" inputmode=\"numeric\" required maxlength=\"6\"></label><button type=\"submit\">Finish set-up</button></form></section>\
             <section id=\"recovery\" hidden><h2>Recovery codes</h2><p>Each works once if you lose your phone. Store them somewhere safe; they are not shown again.</p><ul id=\"recovery-codes\"></ul><a href=\"/app\" class=\"button\">Continue</a></section>\
             <p id=\"error\" class=\"error\" role=\"alert\"></p></main>",
            sso.unwrap_or("")
        ),
    ))
}

/// Where a one-time password is replaced (also reachable later to change one's password).
async fn change_password_page(State(st): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let p = match resolve(&st, &parts).await {
        Ok(p) if p.stage == labguard_store::SessionStage::Full => p,
        Ok(_) => return Redirect::to("/sign-in").into_response(),
        Err(e) => return redirect_for(&e),
    };
    let why = if p.account.password_must_change {
        "<p class=\"notice\" id=\"must-change\">The password you were given works once. Choose your own to continue.</p>"
    } else {
        ""
    };
    let body = format!(
        "<main class=\"narrow\" data-page=\"change-password\"><h1>Choose a password</h1>{why}\
         <p>At least 8 characters (you also sign in with your authenticator); a long phrase is best. Any characters are fine; \
         common or breached passwords, and the lab's or your own name, are refused.</p>\
         <form id=\"password-change-form\">\
         <label>Current password <input id=\"current-password\" type=\"password\" autocomplete=\"current-password\" required maxlength=\"4096\"></label>\
         <label>New password <input id=\"new-password\" type=\"password\" autocomplete=\"new-password\" required maxlength=\"4096\"></label>\
         <label>New password again <input id=\"new-password-2\" type=\"password\" autocomplete=\"new-password\" required maxlength=\"4096\"></label>\
         <p>Your other sessions are signed out.</p>\
         <label class=\"check\"><input id=\"revoke-tokens\" type=\"checkbox\"> Also revoke my API tokens</label>\
         <button type=\"submit\" id=\"change-password\">Change password</button></form>\
         <ul id=\"password-problems\" class=\"error\"></ul><p id=\"error\" class=\"error\" role=\"alert\"></p></main>"
    );
    Html(page("Choose a password", &meta(&st, &p), &body)).into_response()
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

pub(crate) fn meta(state: &AppState, p: &AnyStage) -> String {
    format!(
        "<meta name=\"csrf\" content=\"{}\"><meta name=\"idle-seconds\" content=\"{}\">",
        esc(&p.csrf_token(state).unwrap_or_default()),
        state.idle_timeout().num_seconds()
    )
}

pub(crate) fn header_bar(p: &AnyStage) -> String {
    let role = p.account.staff.role;
    let mut nav = String::from("<a href=\"/app\">Patients</a>");
    if role.allows(P::ReportsRead) && role.allows(P::AuditRead) {
        nav.push_str("<a href=\"/dashboard\" id=\"nav-dashboard\">Security dashboard</a>");
    }
    nav.push_str(&crate::ui_admin::nav_links(role));
    nav.push_str("<a href=\"/training\" id=\"nav-training\">Training</a>");
    if role.allows(P::PhishingManage) || role.allows(P::ReportsRead) {
        nav.push_str("<a href=\"/phishing\" id=\"nav-phishing\">Phishing</a>");
    }
    if role.allows(P::AccountsManage) || role.allows(P::ReportsRead) {
        nav.push_str("<a href=\"/hygiene\" id=\"nav-hygiene\">Account hygiene</a>");
    }
    if role.allows(P::ReportsRead) {
        nav.push_str("<a href=\"/compliance\" id=\"nav-compliance\">Compliance</a>");
    }
    if role.allows(P::DevicesRead) {
        nav.push_str("<a href=\"/devices\" id=\"nav-devices\">Devices</a>");
    }
    format!(
        "<header><span class=\"brand\">labguard</span><nav>{nav}</nav><span class=\"who\" id=\"who\">{} · {}</span>\
         <button id=\"sign-out\" type=\"button\">Sign out</button></header>",
        esc(&p.account.staff.display_name),
        esc(role.code())
    )
}

async fn app_page(State(st): State<AppState>, req: Request) -> Response {
    let p = match who(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let role = p.account.staff.role;
    let mut main = String::new();
    if role.allows(P::DemographicsRead) {
        main.push_str(
            "<section><h2>Find a patient</h2><form id=\"search-form\" method=\"post\"><label>MRN <input id=\"mrn\" required maxlength=\"64\"></label>\
             <button type=\"submit\" id=\"search\">Search</button></form><table id=\"patients\"><thead><tr><th>MRN</th><th>Name</th><th>Born</th><th></th></tr></thead><tbody></tbody></table></section>",
        );
    }
    if role.allows(P::SpecimenRecord) {
        main.push_str(
            "<section><h2>Record a draw</h2><form id=\"draw-form\"><input type=\"hidden\" id=\"draw-patient\">\
             <p id=\"draw-for\">Pick a patient from the search first.</p>\
             <label>Accession <input id=\"accession\" required maxlength=\"64\"></label>\
             <label>Tube <select id=\"container\"><option value=\"edta\">EDTA (lavender)</option><option value=\"serum\">Serum (gold)</option>\
             <option value=\"heparin\">Heparin (green)</option><option value=\"citrate\">Citrate (blue)</option><option value=\"fluoride\">Fluoride (grey)</option></select></label>\
             <label>Site <input id=\"body-site\" value=\"left antecubital vein\" maxlength=\"100\"></label>\
             <button type=\"submit\" id=\"record-draw\">Record draw</button></form><p id=\"draw-result\" class=\"ok\" role=\"status\"></p></section>",
        );
    }
    if role.allows(P::CollectionListRead) {
        main.push_str("<section><h2>Collection list</h2><button type=\"button\" id=\"load-collections\">Refresh</button><table id=\"collections\"><thead><tr><th>Accession</th><th>Tube</th><th>Collected</th><th>By</th></tr></thead><tbody></tbody></table></section>");
    }
    if role.allows(P::ResultVerify) {
        main.push_str("<section><h2>Instrument results held for review</h2><p>Held by the plausibility checks: outside physiologic limits, wrong units, \
             an analyte the instrument is not registered for, a result before its draw, or an unknown patient.</p>\
             <button type=\"button\" id=\"load-held\">Refresh</button><table id=\"held\"><thead><tr><th>Test</th><th>Value</th><th>Units</th><th>Why held</th><th></th></tr></thead><tbody></tbody></table></section>");
    }
    // Everyone gets the results lookup: roles without access see the permission-denied
    // answer from the server, which is the honest answer to "why can't I see this?".
    main.push_str(
        "<section><h2>Results by accession</h2><form id=\"results-form\"><label>Accession <input id=\"results-accession\" required maxlength=\"64\"></label>\
         <button type=\"submit\" id=\"lookup-results\">Show results</button></form><table id=\"results\"><thead><tr><th>Test</th><th>Value</th><th>Units</th><th>Range</th><th>Flag</th><th>Status</th></tr></thead><tbody></tbody></table></section>",
    );
    main.push_str("<div id=\"denied\" class=\"denied\" hidden role=\"alert\"><h2>Permission denied</h2><p>Your role does not allow this. If a patient needs it urgently, use break-glass access: it is recorded and reviewed.</p></div>");
    main.push_str("<p id=\"error\" class=\"error\" role=\"alert\"></p>");
    Html(page(
        "Patients",
        &meta(&st, &p),
        &format!("{}<main data-page=\"app\">{main}</main>", header_bar(&p)),
    ))
    .into_response()
}

pub(crate) fn denied_page() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html(page(
            "Permission denied",
            "",
            "<main class=\"narrow\"><div id=\"denied\" class=\"denied\" role=\"alert\"><h1>Permission denied</h1>\
             <p>Your role does not include this page. The attempt has been recorded.</p><a href=\"/app\">Back</a></div></main>",
        )),
    )
        .into_response()
}

/// A bar chart of daily counts as inline SVG (no script, no external assets).
fn bars(title: &str, days: &[DayCount], id: &str) -> String {
    let max = days.iter().map(|d| d.count).max().unwrap_or(0).max(1);
    let mut svg = format!(
        "<figure><figcaption>{}</figcaption><svg id=\"{id}\" viewBox=\"0 0 360 150\" role=\"img\" aria-label=\"{}\">",
        esc(title),
        esc(title)
    );
    for (i, d) in days.iter().enumerate() {
        let h = (d.count as f64 / max as f64 * 100.0).round();
        let x = 10 + i * 50;
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"{}\" width=\"36\" height=\"{h}\" fill=\"#2b6cb0\"><title>{}: {}</title></rect>\
             <text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\
             <text x=\"{}\" y=\"145\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
            115.0 - h,
            esc(&d.day),
            d.count,
            x + 18,
            110.0 - h,
            d.count,
            x + 18,
            esc(d.day.get(5..).unwrap_or(&d.day))
        ));
    }
    svg.push_str("</svg></figure>");
    svg
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
    let pct = if stats.accounts_enabled == 0 {
        0.0
    } else {
        stats.accounts_with_mfa as f64 / stats.accounts_enabled as f64 * 100.0
    };
    let arc = (pct * 3.6).min(359.9).to_radians();
    let (x, y) = (60.0 + 50.0 * arc.sin(), 60.0 - 50.0 * arc.cos());
    let large = if pct > 50.0 { 1 } else { 0 };
    let donut = format!(
        "<figure><figcaption>MFA coverage ({} of {} active accounts)</figcaption><svg id=\"mfa-chart\" viewBox=\"0 0 120 120\" role=\"img\" aria-label=\"MFA coverage\">\
         <circle cx=\"60\" cy=\"60\" r=\"50\" fill=\"none\" stroke=\"#e2e8f0\" stroke-width=\"14\"/>\
         <path d=\"M60 10 A50 50 0 {large} 1 {x:.1} {y:.1}\" fill=\"none\" stroke=\"#2f855a\" stroke-width=\"14\"/>\
         <text x=\"60\" y=\"66\" font-size=\"18\" text-anchor=\"middle\">{pct:.0}%</text></svg></figure>",
        stats.accounts_with_mfa, stats.accounts_enabled
    );
    let body = format!(
        "{}<main data-page=\"dashboard\"><h1>Security dashboard</h1><p>Open alerts to review: <strong id=\"open-alerts\">{}</strong></p>\
         <div class=\"charts\">{}{}{donut}</div></main>",
        header_bar(&p),
        stats.open_alerts,
        bars("Sign-in failures, last 7 days", &stats.sign_in_failures, "failures-chart"),
        bars("Break-glass accesses, last 7 days", &stats.break_glass, "break-glass-chart"),
    );
    Html(page("Security dashboard", &meta(&st, &p), &body)).into_response()
}
