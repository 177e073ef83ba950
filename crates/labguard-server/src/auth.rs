//! Who is calling: the session cookie (browsers) or a bearer API token (integrations),
//! checked on every request against the store, so a disabled account or a revoked session
//! stops working at once. Cookie-authenticated requests that change state must carry the
//! session's CSRF token in `X-CSRF-Token`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use labguard_identity::session::{hash_presented, TokenKind};
use labguard_identity::{SessionStatus, SessionTimes};
use labguard_store::{Account, Actor, SessionStage};
use zeroize::Zeroizing;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Name of the session cookie. `__Host-` makes browsers insist on Secure, Path=/ and no
/// Domain, so a sibling host cannot plant or read it.
pub const SESSION_COOKIE: &str = "__Host-lgs";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Refresh `last_seen_at` at most this often, so reads do not each cost a write.
const TOUCH_EVERY_SECS: i64 = 5;
/// Record an API token's last use at most this often (the list shows it to the minute).
const TOKEN_TOUCH_EVERY_SECS: i64 = 60;

/// What a signed-in account with a one-time password may still reach: replacing the
/// password (and its page) and signing out. Everything else answers
/// `password-change-required`, whichever route, API or form, is asked.
pub const ONE_TIME_PASSWORD_ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/me/password"),
    ("POST", "/api/v1/auth/sign-out"),
    ("GET", "/change-password"),
];

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    /// Session cookie; holds the cookie value, needed for the CSRF token.
    Session {
        secret: Zeroizing<String>,
        hash: String,
        /// When this session last proved the second factor.
        mfa_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    ApiToken,
}

/// A caller at any sign-in stage (used by the MFA and enrolment steps).
#[derive(Debug, Clone)]
pub struct AnyStage {
    pub account: Account,
    pub actor: Actor,
    pub stage: SessionStage,
    pub credential: Credential,
}

/// A fully signed-in caller: the only kind the patient-data routes accept.
#[derive(Debug, Clone)]
pub struct Principal(pub AnyStage);

impl std::ops::Deref for Principal {
    type Target = AnyStage;
    fn deref(&self) -> &AnyStage {
        &self.0
    }
}

impl AnyStage {
    pub fn csrf_token(&self, state: &AppState) -> Option<String> {
        match &self.credential {
            Credential::Session { secret, .. } => Some(state.csrf.token_for(secret)),
            Credential::ApiToken => None,
        }
    }
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<Zeroizing<String>> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| Zeroizing::new(v.to_string()))
}

pub fn session_cookie(secret: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={secret}; Path=/; Secure; HttpOnly; SameSite=Strict"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("__Host-lgs=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}

fn changes_state(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

pub fn password_change_required() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "password-change-required",
        "choose your own password before continuing (the one you were given works once)",
    )
}

/// The one-time-password gate, applied to every caller that resolves: a fully signed-in
/// account that must replace its password reaches only [`ONE_TIME_PASSWORD_ROUTES`].
fn one_time_gate(p: &AnyStage, parts: &Parts) -> ApiResult<()> {
    if p.stage != SessionStage::Full || !p.account.password_must_change {
        return Ok(());
    }
    let (m, path) = (parts.method.as_str(), parts.uri.path());
    if ONE_TIME_PASSWORD_ROUTES
        .iter()
        .any(|(rm, rp)| *rm == m && *rp == path)
    {
        Ok(())
    } else {
        Err(password_change_required())
    }
}

/// Resolves the caller from headers. Shared by the API extractors and the HTML pages, so
/// every check here (including the one-time-password gate) holds for every route.
pub async fn resolve(state: &AppState, parts: &Parts) -> ApiResult<AnyStage> {
    let p = resolve_credential(state, parts).await?;
    one_time_gate(&p, parts)?;
    Ok(p)
}

async fn resolve_credential(state: &AppState, parts: &Parts) -> ApiResult<AnyStage> {
    if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
        let text = auth.to_str().map_err(|_| ApiError::unauthenticated())?;
        let token = text
            .strip_prefix("Bearer ")
            .ok_or_else(ApiError::unauthenticated)?;
        let hash = hash_presented(TokenKind::Api, token.trim())
            .map_err(|_| ApiError::unauthenticated())?
            .to_hex();
        let now = state.now();
        let rec = state
            .run(move |s| Ok(s.api_token(&hash)?))
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        if rec.revoked || rec.account.is_disabled() || rec.expires_at.is_some_and(|e| now >= e) {
            return Err(ApiError::unauthenticated());
        }
        if rec
            .last_used_at
            .is_none_or(|t| (now - t).num_seconds() >= TOKEN_TOUCH_EVERY_SECS)
        {
            let h = rec.token_hash.clone();
            state.run(move |s| Ok(s.touch_api_token(&h)?)).await?;
        }
        return Ok(AnyStage {
            actor: Actor::staff(rec.account.staff.id.to_string(), rec.scope),
            account: rec.account,
            stage: SessionStage::Full,
            credential: Credential::ApiToken,
        });
    }
    let secret =
        cookie_value(&parts.headers, SESSION_COOKIE).ok_or_else(ApiError::unauthenticated)?;
    let hash = hash_presented(TokenKind::Session, &secret)
        .map_err(|_| ApiError::unauthenticated())?
        .to_hex();
    let h = hash.clone();
    let rec = state
        .run(move |s| Ok(s.session(&h)?))
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    if rec.revoked || rec.account.is_disabled() {
        return Err(ApiError::unauthenticated());
    }
    let now = state.now();
    let times = SessionTimes {
        created_at: rec.created_at,
        last_seen_at: rec.last_seen_at,
    };
    // A session that has not finished sign-in gets five minutes to do so.
    let mut policy = state.settings.session;
    if rec.stage != SessionStage::Full {
        policy.absolute_lifetime = policy.absolute_lifetime.min(chrono::TimeDelta::minutes(5));
    }
    match policy.check(&times, now) {
        SessionStatus::Active => {}
        status => {
            let actor = rec.account.actor();
            let why = if status == SessionStatus::IdleExpired {
                "idle timeout"
            } else {
                "absolute lifetime"
            };
            let h = hash.clone();
            state
                .run(move |s| Ok(s.revoke_session(&actor, &h, why)?))
                .await?;
            return Err(ApiError::session_expired());
        }
    }
    if changes_state(&parts.method) {
        let presented = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !state.csrf.verify(&secret, presented) {
            return Err(ApiError::forbidden(
                "the request's CSRF token is missing or wrong; reload the page",
            ));
        }
    }
    if (now - rec.last_seen_at).num_seconds() >= TOUCH_EVERY_SECS {
        let h = hash.clone();
        state.run(move |s| Ok(s.touch_session(&h)?)).await?;
    }
    Ok(AnyStage {
        actor: rec.account.actor(),
        account: rec.account,
        stage: rec.stage,
        credential: Credential::Session {
            secret,
            hash,
            mfa_at: rec.mfa_at,
        },
    })
}

impl FromRequestParts<AppState> for AnyStage {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<AnyStage> {
        resolve(state, parts).await
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Principal> {
        let p = resolve(state, parts).await?;
        match p.stage {
            SessionStage::Full => Ok(Principal(p)),
            SessionStage::Mfa => Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "mfa-required",
                "enter the code from your authenticator app to finish signing in",
            )),
            SessionStage::Enroll => Err(ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "mfa-enrollment-required",
                "set up your authenticator app before continuing",
            )),
        }
    }
}
