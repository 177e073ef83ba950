//! labguard's HTTPS server: the JSON API under `/api/v1` (documented at
//! `/api/openapi.json`), the server-rendered web UI, health and metrics.
//!
//! The store is synchronous; handlers reach it through [`AppState::run`], which moves the
//! call onto tokio's blocking pool. Permission checks and audit entries happen in the store,
//! so the HTTP layer cannot skip them; this crate adds authentication (sessions, MFA, API
//! tokens), CSRF, throttling, input limits and security headers.

pub mod admin;
pub mod api;
pub mod auth;
pub(crate) mod charts;
pub mod compliance;
pub mod credentials;
pub mod devices;
pub mod error;
pub mod extract;
pub mod held;
pub mod listener;
pub mod log;
pub mod metrics;
pub mod oidc;
pub mod privacy_api;
pub mod routes;
pub mod signin;
pub mod state;
pub mod tls;
pub mod tokens;
pub mod tracking;
pub mod training_api;
pub mod ui;
pub mod ui_admin;
pub mod ui_devices;
pub mod ui_privacy;
pub mod ui_qc;
pub mod ui_training;
pub mod verify_job;
pub(crate) mod view;

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

pub use state::{AppState, Settings};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=63072000; includeSubDomains"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if api || !h.contains_key(header::CACHE_CONTROL) {
        // Pages and answers carry patient data: keep them out of caches.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// Logs method, route *template* and status: never the concrete path or query, which can
/// hold an MRN or a name.
async fn request_log(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "(unmatched)".into());
    let id = log::request_id();
    let span = tracing::info_span!(target: "labguard::http", "request", id = %id);
    let mut resp = tracing::Instrument::instrument(next.run(req), span.clone()).await;
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    let _entered = span.enter();
    let status = resp.status().as_u16();
    st.metrics
        .request(&method, &route, status, start.elapsed().as_secs_f64());
    log::request(&method, &route, status, start.elapsed().as_micros());
    resp
}

async fn health() -> &'static str {
    "ok"
}

/// Readiness for a service manager or load balancer: "ok" only when the database answers
/// (one indexed read), 503 otherwise. Says nothing else to an unauthenticated caller.
async fn healthz(axum::extract::State(st): axum::extract::State<AppState>) -> Response {
    match st.run(|s| Ok(s.meta("schema_version")?)).await {
        Ok(_) => "ok".into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response(),
    }
}

async fn openapi() -> Response {
    Json(routes::ApiDoc::openapi()).into_response()
}

async fn api_not_found() -> error::ApiError {
    error::ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such API route")
}

/// The whole application.
pub fn app(state: AppState) -> Router {
    let api = routes::api_router().fallback(api_not_found);
    Router::new()
        .merge(api)
        .merge(ui::router())
        .merge(tracking::router())
        .merge(oidc::router())
        .merge(ui_training::router())
        .route("/api/openapi.json", get(openapi))
        .route("/health", get(health))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics))
        .layer(DefaultBodyLimit::max(state.settings.body_limit))
        .layer(middleware::from_fn_with_state(state.clone(), request_log))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Serves `app` over HTTPS until Ctrl-C, under `limits` (caps and deadlines, see
/// [`listener`]).
pub async fn serve(
    state: AppState,
    listen: SocketAddr,
    tls: std::sync::Arc<rustls::ServerConfig>,
    limits: listener::Limits,
) -> std::io::Result<()> {
    serve_until(state, listen, tls, limits, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// [`serve`] until `shutdown` resolves.
pub async fn serve_until(
    state: AppState,
    listen: SocketAddr,
    tls: std::sync::Arc<rustls::ServerConfig>,
    limits: listener::Limits,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let l = tokio::net::TcpListener::bind(listen).await?;
    // The directory check runs while the server does.
    let checks = state
        .settings
        .oidc
        .is_some()
        .then(|| tokio::spawn(oidc::run_checks(state.clone())));
    let r = listener::serve(l, tls, app(state), limits, shutdown).await;
    if let Some(c) = checks {
        c.abort();
    }
    r
}
