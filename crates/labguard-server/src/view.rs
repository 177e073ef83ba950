//! What every page shares: the layout's values (title, CSRF meta, header bar) and the one
//! way a page becomes a response. Handlers build view structs; the templates in
//! `templates/` own the markup and escape every value (askama's HTML escaping), so no
//! handler writes HTML.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use labguard_core::Permission as P;

use crate::auth::AnyStage;
use crate::state::AppState;

/// The base layout's values (`templates/base.html`).
pub(crate) struct Layout {
    pub title: String,
    pub meta: Option<Meta>,
    pub header: Option<Header>,
}

/// The session's CSRF token and idle timeout, read by app.js.
pub(crate) struct Meta {
    pub csrf: String,
    pub idle_seconds: i64,
}

/// The header bar: links to the pages this role may open and who is signed in.
pub(crate) struct Header {
    pub links: Vec<NavLink>,
    pub name: String,
    pub role: &'static str,
}

pub(crate) struct NavLink {
    pub href: &'static str,
    pub id: Option<&'static str>,
    pub label: &'static str,
}

impl Layout {
    /// A page before sign-in (or one that needs no session).
    pub fn bare(title: &str) -> Self {
        Layout {
            title: title.to_string(),
            meta: None,
            header: None,
        }
    }

    /// A signed-in page without the header bar (the password change).
    pub fn with_meta(st: &AppState, p: &AnyStage, title: &str) -> Self {
        Layout {
            title: title.to_string(),
            meta: Some(meta(st, p)),
            header: None,
        }
    }

    /// A signed-in page with the header bar.
    pub fn signed_in(st: &AppState, p: &AnyStage, title: &str) -> Self {
        Layout {
            title: title.to_string(),
            meta: Some(meta(st, p)),
            header: Some(header(p)),
        }
    }
}

fn meta(st: &AppState, p: &AnyStage) -> Meta {
    Meta {
        csrf: p.csrf_token(st).unwrap_or_default(),
        idle_seconds: st.idle_timeout().num_seconds(),
    }
}

pub(crate) fn link(href: &'static str, id: &'static str, label: &'static str) -> NavLink {
    NavLink {
        href,
        id: Some(id),
        label,
    }
}

fn header(p: &AnyStage) -> Header {
    let role = p.account.staff.role;
    let mut links = vec![NavLink {
        href: "/app",
        id: None,
        label: "Patients",
    }];
    if role.allows(P::ReportsRead) && role.allows(P::AuditRead) {
        links.push(link("/dashboard", "nav-dashboard", "Security dashboard"));
    }
    links.extend(crate::ui_admin::nav_links(role));
    links.push(link("/training", "nav-training", "Training"));
    if role.allows(P::PhishingManage) || role.allows(P::ReportsRead) {
        links.push(link("/phishing", "nav-phishing", "Phishing"));
    }
    if role.allows(P::AccountsManage) || role.allows(P::ReportsRead) {
        links.push(link("/hygiene", "nav-hygiene", "Account hygiene"));
    }
    if role.allows(P::ReportsRead) {
        links.push(link("/compliance", "nav-compliance", "Compliance"));
    }
    if role.allows(P::DevicesRead) {
        links.push(link("/devices", "nav-devices", "Devices"));
    }
    Header {
        links,
        name: p.account.staff.display_name.clone(),
        role: role.code(),
    }
}

/// Renders a page; a template that fails to render (a formatting error) is a 500, never a
/// half-written page.
pub(crate) fn render<T: Template>(page: &T) -> Response {
    render_with(StatusCode::OK, page)
}

pub(crate) fn render_with<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page template failed to render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
