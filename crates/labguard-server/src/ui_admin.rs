//! Web pages for the security side: the audit log viewer (with "verify log" and its
//! progress), the access review, and account administration. The data comes from the same
//! store calls as the API, so the store's permission checks and audit entries apply.

use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use labguard_core::{Permission as P, Role};
use serde::Deserialize;

use crate::error::ApiError;
use crate::state::AppState;
use crate::ui::{denied_page, esc, header_bar, meta, page, who};
use labguard_app::accounts::{review_report, AccountOut};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit", get(audit_page))
        .route("/access-review", get(access_review_page))
        .route("/accounts", get(accounts_page))
}

fn may_review(role: Role) -> bool {
    role.allows(P::AccountsManage) || role.allows(P::ReportsRead)
}

/// Header links to the pages this role may open.
pub(crate) fn nav_links(role: Role) -> String {
    let mut nav = String::new();
    if role.allows(P::AuditRead) {
        nav.push_str("<a href=\"/audit\" id=\"nav-audit\">Audit log</a>");
    }
    if may_review(role) {
        nav.push_str("<a href=\"/access-review\" id=\"nav-access-review\">Access review</a>");
    }
    if role.allows(P::AccountsManage) {
        nav.push_str("<a href=\"/accounts\" id=\"nav-accounts\">Accounts</a>");
    }
    nav
}

fn failed(e: ApiError) -> Response {
    if e.status == StatusCode::FORBIDDEN {
        denied_page()
    } else {
        e.into_response()
    }
}

#[derive(Deserialize)]
struct AuditPageQuery {
    /// First entry to show (default: the newest page).
    from: Option<u64>,
}

const AUDIT_PAGE: u64 = 100;

async fn audit_page(
    State(st): State<AppState>,
    Query(q): Query<AuditPageQuery>,
    req: Request,
) -> Response {
    let p = match who(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !p.account.staff.role.allows(P::AuditRead) {
        return denied_page();
    }
    let actor = p.actor.clone();
    let got = st
        .run(move |s| {
            let (size, _) = s.audit_head()?;
            let from = q
                .from
                .unwrap_or(size.saturating_sub(AUDIT_PAGE))
                .min(size.saturating_sub(1));
            Ok((
                size,
                from,
                s.audit_entries(&actor, from, AUDIT_PAGE as u32)?,
            ))
        })
        .await;
    let (size, from, entries) = match got {
        Ok(v) => v,
        Err(e) => return failed(e),
    };
    let mut rows = String::new();
    for (seq, e) in entries.iter().rev() {
        let outcome = format!("{:?}", e.outcome).to_lowercase();
        rows.push_str(&format!(
            "<tr class=\"outcome-{outcome}\"><td>{seq}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{outcome}</td></tr>",
            esc(&e.time.replace('T', " ").chars().take(19).collect::<String>()),
            short(&e.actor),
            esc(&e.role),
            esc(&e.action),
            esc(&e.resource),
            short(&e.resource_id),
            esc(e.patient_ref.as_deref().unwrap_or("")),
            esc(e.reason.as_deref().unwrap_or("")),
        ));
    }
    let older = if from > 0 {
        format!(
            "<a class=\"button\" href=\"/audit?from={}\">Older</a> ",
            from.saturating_sub(AUDIT_PAGE)
        )
    } else {
        String::new()
    };
    let newer = if from + AUDIT_PAGE < size {
        format!(
            "<a class=\"button\" href=\"/audit?from={}\">Newer</a>",
            from + AUDIT_PAGE
        )
    } else {
        String::new()
    };
    let body = format!(
        "{}<main data-page=\"audit\"><h1>Audit log</h1>\
         <section><h2>Verify the log</h2><p>Recomputes the Merkle tree over all {size} entries, checks every signed checkpoint, \
         and checks every stored record against its last audited write. It runs in the background; you can leave this page.</p>\
         <button type=\"button\" id=\"verify-log\">Verify log</button>\
         <progress id=\"verify-progress\" max=\"1\" value=\"0\" hidden></progress>\
         <p id=\"verify-status\" role=\"status\"></p></section>\
         <section><h2>Entries</h2><p>Patient references are pseudonyms: the log never holds names or record numbers.</p>\
         <p>{older}{newer}</p>\
         <table id=\"audit-entries\"><thead><tr><th>#</th><th>Time</th><th>Actor</th><th>Role</th><th>Action</th><th>Resource</th><th>Patient ref</th><th>Reason</th><th>Outcome</th></tr></thead>\
         <tbody>{rows}</tbody></table></section><p id=\"error\" class=\"error\" role=\"alert\"></p></main>",
        header_bar(&p),
    );
    Html(page("Audit log", &meta(&st, &p), &body)).into_response()
}

/// Long ids (UUIDs) cut to their first 8 characters, the whole id in a tooltip.
fn short(id: &str) -> String {
    if id.len() > 12 && id.is_ascii() {
        format!("<span title=\"{}\">{}…</span>", esc(id), esc(&id[..8]))
    } else {
        esc(id)
    }
}

async fn access_review_page(State(st): State<AppState>, req: Request) -> Response {
    let p = match who(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !may_review(p.account.staff.role) {
        return denied_page();
    }
    let (actor, now) = (p.actor.clone(), st.now());
    let got = st
        .run(move |s| {
            let accounts: Vec<AccountOut> = s
                .list_accounts(&actor)?
                .iter()
                .map(AccountOut::from)
                .collect();
            Ok((review_report(s, &actor, now)?, accounts))
        })
        .await;
    let (report, accounts) = match got {
        Ok(v) => v,
        Err(e) => return failed(e),
    };
    let c = &report.counts;
    let mut rows = String::new();
    for a in &report.accounts {
        let info = accounts.iter().find(|x| x.username == a.username);
        let findings: Vec<String> = a.findings.iter().map(|f| esc(&f.describe())).collect();
        rows.push_str(&format!(
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if findings.is_empty() { "clean" } else { "needs-action" },
            esc(&a.username),
            esc(a.role.code()),
            if a.disabled { "disabled" } else { "active" },
            match info {
                Some(i) if i.mfa_enrolled => "yes",
                _ => "<strong class=\"error\">no</strong>",
            },
            info.and_then(|i| i.last_sign_in)
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|| "never".into()),
            if findings.is_empty() {
                "ok".to_string()
            } else {
                findings.join("<br>")
            }
        ));
    }
    let chart = role_chart(&report.accounts);
    let body = format!(
        "{}<main data-page=\"access-review\"><h1>Access review</h1>\
         <p id=\"review-summary\">{} accounts: {} active, {} disabled, {} dormant (no sign-in for {} days), {} missing MFA; \
         <strong>{} need action</strong>. Generated {}.</p><div class=\"charts\">{chart}</div>\
         <section><table id=\"review\"><thead><tr><th>Username</th><th>Role</th><th>Status</th><th>MFA</th><th>Last sign-in</th><th>Findings</th></tr></thead>\
         <tbody>{rows}</tbody></table></section></main>",
        header_bar(&p),
        c.total,
        c.enabled,
        c.disabled,
        c.dormant,
        report.dormant_after_days,
        c.missing_mfa,
        c.needing_action,
        report.generated_at.format("%Y-%m-%d %H:%M UTC"),
    );
    Html(page("Access review", &meta(&st, &p), &body)).into_response()
}

/// Active accounts per role, as horizontal bars: who holds which role at a glance.
fn role_chart(accounts: &[labguard_identity::AccountReview]) -> String {
    let counts: Vec<(Role, usize)> = Role::ALL
        .iter()
        .map(|r| {
            (
                *r,
                accounts
                    .iter()
                    .filter(|a| a.role == *r && !a.disabled)
                    .count(),
            )
        })
        .collect();
    let max = counts.iter().map(|c| c.1).max().unwrap_or(0).max(1);
    let mut svg = String::from(
        "<figure><figcaption>Active accounts by role</figcaption><svg id=\"roles-chart\" viewBox=\"0 0 360 190\" role=\"img\" aria-label=\"Active accounts by role\">",
    );
    for (i, (role, n)) in counts.iter().enumerate() {
        let y = 8 + i * 25;
        let w = (*n as f64 / max as f64 * 190.0).round();
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\" font-size=\"11\">{}</text><rect x=\"125\" y=\"{y}\" width=\"{w}\" height=\"16\" fill=\"#2b6cb0\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"11\">{n}</text>",
            y + 12,
            esc(role.code()),
            130.0 + w,
            y + 12
        ));
    }
    svg.push_str("</svg></figure>");
    svg
}

async fn accounts_page(State(st): State<AppState>, req: Request) -> Response {
    let p = match who(&st, req).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if !p.account.staff.role.allows(P::AccountsManage) {
        return denied_page();
    }
    let actor = p.actor.clone();
    let accounts = match st.run(move |s| Ok(s.list_accounts(&actor)?)).await {
        Ok(v) => v,
        Err(e) => return failed(e),
    };
    let mut rows = String::new();
    for a in accounts.iter().map(AccountOut::from) {
        let user = esc(&a.username);
        let actions = if a.disabled {
            String::new()
        } else {
            format!(
                "<button type=\"button\" class=\"disable-account\" data-username=\"{user}\">Disable (leaver)</button> \
                 <button type=\"button\" class=\"unlock-account\" data-username=\"{user}\">Unlock</button>"
            )
        };
        rows.push_str(&format!(
            "<tr><td>{user}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"status\">{}</td><td>{actions}</td></tr>",
            esc(&a.display_name),
            esc(&a.role),
            if a.mfa_enrolled { "yes" } else { "no" },
            if a.disabled { "disabled" } else { "active" },
        ));
    }
    let options: String = Role::ALL
        .iter()
        .map(|r| format!("<option value=\"{0}\">{0}</option>", esc(r.code())))
        .collect();
    let body = format!(
        "{}<main data-page=\"accounts\"><h1>Accounts</h1>\
         <section><h2>New account</h2><form id=\"account-form\">\
         <label>Username <input id=\"new-username\" required maxlength=\"64\" pattern=\"[a-z0-9][a-z0-9._-]*\"></label>\
         <label>Name <input id=\"new-display\" required maxlength=\"100\"></label>\
         <label>Role <select id=\"new-role\">{options}</select></label>\
         <label>Email <input id=\"new-email\" type=\"email\" maxlength=\"200\"></label>\
         <button type=\"submit\" id=\"create-account\">Create account</button></form>\
         <p id=\"account-created\" class=\"ok\" role=\"status\"></p></section>\
         <section><h2>All accounts</h2><p>Disabling a leaver ends their sessions and API tokens at once.</p>\
         <table id=\"accounts\"><thead><tr><th>Username</th><th>Name</th><th>Role</th><th>MFA</th><th>Status</th><th></th></tr></thead>\
         <tbody>{rows}</tbody></table></section><p id=\"error\" class=\"error\" role=\"alert\"></p></main>",
        header_bar(&p),
    );
    Html(page("Accounts", &meta(&st, &p), &body)).into_response()
}
