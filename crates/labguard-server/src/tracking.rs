//! Phishing-simulation tracking URLs: public (the person following a link from a mail has no
//! session), keyed only by the recipient's unguessable token.
//!
//! | route | what it records | answer |
//! |---|---|---|
//! | `GET /t/o/{token}` | opened | a 1×1 transparent GIF |
//! | `GET /t/c/{token}` | clicked (assigns the phishing course) | the template's landing page |
//! | `POST /t/s/{token}` | submitted (assigns the phishing course) | "this was an exercise" page |
//! | `GET /t/r/{token}` (and POST) | reported | "well spotted" page |
//!
//! The form body is never read: the landing-page inputs have no `name`, so browsers send
//! nothing, and whatever a client sends anyway is dropped unread. An unknown or malformed
//! token gets the same bare 404 as a path that does not exist. The request log records the
//! route template, never the token.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use labguard_training::phishing::{
    builtin_template, teaching_page_html, EventKind, RenderContext, TrackingToken, TrackingUrls,
};

use crate::state::AppState;

/// Days the remedial phishing course is due after a click or submission.
pub const REMEDIAL_DUE_DAYS: u32 = 14;

/// A 1×1 transparent GIF.
const PIXEL: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/t/o/{token}", get(opened))
        .route("/t/c/{token}", get(clicked))
        .route("/t/s/{token}", axum::routing::post(submitted))
        .route("/t/r/{token}", get(reported).post(reported))
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "not found",
    )
        .into_response()
}

/// Records `kind` for `token`; `None` means answer 404.
async fn record(
    st: &AppState,
    token: String,
    kind: EventKind,
) -> Option<labguard_store::TrackedEvent> {
    // Cheap shape check first so junk never reaches the database.
    TrackingToken::parse(&token).ok()?;
    st.run(move |s| {
        s.record_tracking_event(&token, kind, REMEDIAL_DUE_DAYS)
            .map_err(Into::into)
    })
    .await
    .unwrap_or_default()
}

async fn opened(State(st): State<AppState>, Path(token): Path<String>) -> Response {
    match record(&st, token, EventKind::Opened).await {
        Some(_) => (
            [
                (header::CONTENT_TYPE, "image/gif"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            PIXEL,
        )
            .into_response(),
        None => not_found(),
    }
}

async fn clicked(State(st): State<AppState>, Path(token): Path<String>) -> Response {
    let Ok(parsed) = TrackingToken::parse(&token) else {
        return not_found();
    };
    let Some(ev) = record(&st, token, EventKind::Clicked).await else {
        return not_found();
    };
    let Ok(t) = builtin_template(&ev.template_id) else {
        return not_found();
    };
    // Relative URLs: the page is served from this server, whatever name the mail used.
    let urls = TrackingUrls::new("", &parsed);
    let html = t.render_landing_page(&RenderContext {
        display_name: "",
        lab_name: &st.settings.lab_name,
        urls: &urls,
    });
    Html(html).into_response()
}

/// The body is deliberately not extracted: nothing typed into the form is ever read.
async fn submitted(State(st): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(ev) = record(&st, token, EventKind::Submitted).await else {
        return not_found();
    };
    let Ok(t) = builtin_template(&ev.template_id) else {
        return not_found();
    };
    Html(teaching_page_html(&t, &st.settings.lab_name)).into_response()
}

async fn reported(State(st): State<AppState>, Path(token): Path<String>) -> Response {
    if record(&st, token, EventKind::Reported).await.is_none() {
        return not_found();
    }
    crate::view::render(&ReportedPage {
        lab: &st.settings.lab_name,
    })
}

/// The "well spotted" page a reporter sees (outside the app: no session, no layout).
#[derive(askama::Template)]
#[template(path = "phishing_reported.html")]
struct ReportedPage<'a> {
    lab: &'a str,
}
