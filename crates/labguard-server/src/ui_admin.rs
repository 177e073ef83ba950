//! Web pages for the security side: the audit log viewer (with "verify log" and its
//! progress), the access review, and account administration. The data comes from the same
//! store calls as the API, so the store's permission checks and audit entries apply.

use askama::Template;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use labguard_core::{Permission as P, Role};
use serde::Deserialize;

use crate::charts::{self, BarChart};
use crate::error::ApiError;
use crate::state::AppState;
use crate::ui::{denied_page, who};
use crate::view::{link, render, Layout, NavLink};
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
pub(crate) fn nav_links(role: Role) -> Vec<NavLink> {
    let mut nav = Vec::new();
    if role.allows(P::AuditRead) {
        nav.push(link("/audit", "nav-audit", "Audit log"));
    }
    if may_review(role) {
        nav.push(link("/access-review", "nav-access-review", "Access review"));
    }
    if role.allows(P::AccountsManage) {
        nav.push(link("/accounts", "nav-accounts", "Accounts"));
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
    let rows = entries
        .iter()
        .rev()
        .map(|(seq, e)| AuditRow {
            seq: *seq,
            outcome: format!("{:?}", e.outcome).to_lowercase(),
            time: e.time.replace('T', " ").chars().take(19).collect(),
            actor: short(&e.actor),
            role: e.role.clone(),
            action: e.action.clone(),
            resource: e.resource.clone(),
            resource_id: short(&e.resource_id),
            patient_ref: e.patient_ref.clone().unwrap_or_default(),
            reason: e.reason.clone().unwrap_or_default(),
        })
        .collect();
    render(&AuditPage {
        layout: Layout::signed_in(&st, &p, "Audit log"),
        size,
        older: (from > 0).then(|| from.saturating_sub(AUDIT_PAGE)),
        newer: (from + AUDIT_PAGE < size).then_some(from + AUDIT_PAGE),
        rows,
    })
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    size: u64,
    older: Option<u64>,
    newer: Option<u64>,
    rows: Vec<AuditRow>,
}

struct AuditRow {
    seq: u64,
    outcome: String,
    time: String,
    actor: ShortId,
    role: String,
    action: String,
    resource: String,
    resource_id: ShortId,
    patient_ref: String,
    reason: String,
}

/// An id as the audit table shows it (`partials/table.html`'s `short_id`).
struct ShortId {
    full: String,
    cut: Option<String>,
}

/// Long ids (UUIDs) cut to their first 8 characters, the whole id in a tooltip.
fn short(id: &str) -> ShortId {
    ShortId {
        full: id.to_string(),
        cut: (id.len() > 12 && id.is_ascii()).then(|| id[..8].to_string()),
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
    let rows = report
        .accounts
        .iter()
        .map(|a| {
            let info = accounts.iter().find(|x| x.username == a.username);
            ReviewRow {
                username: a.username.clone(),
                role: a.role.code(),
                disabled: a.disabled,
                mfa: info.is_some_and(|i| i.mfa_enrolled),
                last_sign_in: info
                    .and_then(|i| i.last_sign_in)
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "never".into()),
                findings: a.findings.iter().map(|f| f.describe()).collect(),
            }
        })
        .collect();
    render(&AccessReviewPage {
        layout: Layout::signed_in(&st, &p, "Access review"),
        roles: role_chart(&report.accounts),
        dormant_after_days: report.dormant_after_days,
        generated_at: report.generated_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        c: report.counts,
        rows,
    })
}

#[derive(Template)]
#[template(path = "access_review.html")]
struct AccessReviewPage {
    layout: Layout,
    c: labguard_identity::review::ReviewCounts,
    dormant_after_days: i64,
    generated_at: String,
    roles: BarChart,
    rows: Vec<ReviewRow>,
}

struct ReviewRow {
    username: String,
    role: &'static str,
    disabled: bool,
    mfa: bool,
    last_sign_in: String,
    findings: Vec<String>,
}

/// Active accounts per role, as horizontal bars: who holds which role at a glance.
fn role_chart(accounts: &[labguard_identity::AccountReview]) -> BarChart {
    let counts: Vec<(String, usize, &'static str)> = Role::ALL
        .iter()
        .map(|r| {
            (
                r.code().to_string(),
                accounts
                    .iter()
                    .filter(|a| a.role == *r && !a.disabled)
                    .count(),
                "#2b6cb0",
            )
        })
        .collect();
    charts::bars("roles-chart", "Active accounts by role", 125.0, &counts)
}

#[derive(Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    layout: Layout,
    roles: Vec<&'static str>,
    accounts: Vec<AccountOut>,
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
    render(&AccountsPage {
        layout: Layout::signed_in(&st, &p, "Accounts"),
        roles: Role::ALL.iter().map(|r| r.code()).collect(),
        accounts: accounts.iter().map(AccountOut::from).collect(),
    })
}
