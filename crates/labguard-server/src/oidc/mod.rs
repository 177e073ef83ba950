//! Single sign-on with OpenID Connect: authorization code + PKCE (S256) against the lab's
//! directory, found by issuer discovery. The token exchange and every ID-token check
//! (signature against the issuer's JWKS, `iss`, `aud`, `exp`, `nonce`, asymmetric algorithms
//! only) are the `openidconnect` crate's; the policy (role rules, MFA claims, pending flows,
//! return paths) is labguard-identity's `oidc`; links and refresh tokens are the store's.
//!
//! A flow is bound to the browser that started it by the `__Host-lgoidc` cookie (its SHA-256
//! is kept with the state, nonce and PKCE verifier), taken once, and dies after ten minutes.
//! The periodic check ([`run_checks`]) refreshes each linked account's token; when the
//! directory refuses (the person was disabled there) or there is no token to ask with, every
//! labguard session of the account ends.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::Engine;
use labguard_core::{Id, Staff};
use labguard_identity::oidc::{
    issuer_allowed, safe_return_path, FlowLimits, MfaPolicy, OidcPolicyError, PendingFlow,
    PendingFlows, RoleMap,
};
use labguard_identity::session::{new_token, TokenKind};
use labguard_store::{SessionStage, SsoEvent, Store};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::auth::{cookie_value, session_cookie};
use crate::extract::ClientAddr;
use crate::state::{random, AppState};
use crate::view::{render, render_with, Layout};
use askama::Template;

/// Cookie binding a flow to its browser. `Lax`, because the directory's redirect back is a
/// cross-site navigation that a `Strict` cookie would not ride on.
mod check;
mod http;
mod verify;

pub use check::{check_once, run_checks};
use verify::verify;
pub use verify::{verify_id_token, Verified};

pub const FLOW_COOKIE: &str = "__Host-lgoidc";
/// Discovery (and so the issuer's signing keys) is fetched again after this long.
const REDISCOVER_AFTER: Duration = Duration::from_secs(3600);
/// Deadline on every call to the directory.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the OIDC issuer must be an https URL (http only on a loopback address): {0}")]
    Issuer(String),
    #[error("the OIDC redirect URL must be an https URL ending in /auth/oidc/callback")]
    Redirect,
    #[error("the OIDC CA file is not PEM")]
    Ca,
    #[error("the directory could not be reached or answered badly: {0}")]
    Directory(String),
    #[error("the ID token was refused: {0}")]
    IdToken(String),
}

/// What a lab configures (`labguard serve --oidc-*`).
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<Zeroizing<String>>,
    pub redirect_url: String,
    pub roles: RoleMap,
    pub mfa: MfaPolicy,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    /// PEM roots for a directory whose certificate a private CA issued.
    pub ca_pem: Option<Vec<u8>>,
    /// How often each linked account's standing is checked with a token refresh.
    pub check_every: Duration,
    pub limits: FlowLimits,
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("redirect_url", &self.redirect_url)
            .field("rules", &self.roles.0.len())
            .finish_non_exhaustive()
    }
}

pub const DEFAULT_SCOPES: &[&str] = &["profile", "email", "offline_access"];

/// A configured directory: settings, HTTP client, discovered metadata, flows under way.
pub struct Oidc {
    pub cfg: OidcConfig,
    http: reqwest::Client,
    client: tokio::sync::Mutex<Option<(Instant, Arc<Client>)>>,
    flows: Mutex<PendingFlows>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

fn check_issuer(url: &str) -> Result<IssuerUrl, OidcError> {
    let u = IssuerUrl::new(url.to_string()).map_err(|_| OidcError::Issuer(url.into()))?;
    let p = u.url();
    if !issuer_allowed(p.scheme(), p.host_str().unwrap_or("")) {
        return Err(OidcError::Issuer(url.into()));
    }
    Ok(u)
}

impl Oidc {
    pub fn new(cfg: OidcConfig) -> Result<Oidc, OidcError> {
        check_issuer(&cfg.issuer)?;
        let r = RedirectUrl::new(cfg.redirect_url.clone()).map_err(|_| OidcError::Redirect)?;
        if r.url().scheme() != "https" || !r.url().path().ends_with("/auth/oidc/callback") {
            return Err(OidcError::Redirect);
        }
        // No redirects followed: a directory answer that redirects is refused, not chased
        // to wherever it points (SSRF).
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .connect_timeout(HTTP_TIMEOUT);
        if let Some(pem) = &cfg.ca_pem {
            for c in reqwest::Certificate::from_pem_bundle(pem).map_err(|_| OidcError::Ca)? {
                b = b.add_root_certificate(c);
            }
        }
        let http = b.build().map_err(|e| OidcError::Directory(e.to_string()))?;
        let flows = Mutex::new(PendingFlows::new(cfg.limits));
        Ok(Oidc {
            cfg,
            http,
            client: tokio::sync::Mutex::new(None),
            flows,
        })
    }

    /// The client from discovery, fetched again after an hour (the issuer rotates keys).
    async fn client(&self) -> Result<Arc<Client>, OidcError> {
        let mut g = self.client.lock().await;
        if let Some((at, c)) = g.as_ref() {
            if at.elapsed() < REDISCOVER_AFTER {
                return Ok(c.clone());
            }
        }
        let issuer = check_issuer(&self.cfg.issuer)?;
        let meta = CoreProviderMetadata::discover_async(issuer, &http::Capped(&self.http))
            .await
            .map_err(|e| OidcError::Directory(e.to_string()))?;
        let c = Arc::new(self.client_from(meta)?);
        *g = Some((Instant::now(), c.clone()));
        Ok(c)
    }

    fn client_from(&self, meta: CoreProviderMetadata) -> Result<Client, OidcError> {
        let redirect =
            RedirectUrl::new(self.cfg.redirect_url.clone()).map_err(|_| OidcError::Redirect)?;
        Ok(CoreClient::from_provider_metadata(
            meta,
            ClientId::new(self.cfg.client_id.clone()),
            self.cfg
                .client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.to_string())),
        )
        .set_redirect_uri(redirect))
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/oidc/start", get(start))
        .route("/auth/oidc/callback", get(callback))
}

fn sha256(b: &[u8]) -> [u8; 32] {
    labguard_crypto::sha256(b)
}

#[derive(Template)]
#[template(path = "sso_message.html")]
struct MessagePage<'a> {
    layout: Layout,
    text: &'a str,
}

#[derive(Template)]
#[template(path = "sso_signed_in.html")]
struct SignedInPage<'a> {
    layout: Layout,
    next: &'a str,
}

fn message(status: StatusCode, title: &str, text: &str) -> Response {
    render_with(
        status,
        &MessagePage {
            layout: Layout::bare(title),
            text,
        },
    )
}

fn refused(text: &str) -> Response {
    message(StatusCode::FORBIDDEN, "Sign-in refused", text)
}

#[derive(Deserialize)]
pub struct StartQuery {
    #[serde(rename = "return")]
    return_to: Option<String>,
}

async fn start(
    State(st): State<AppState>,
    ClientAddr(src): ClientAddr,
    Query(q): Query<StartQuery>,
) -> Response {
    let Some(o) = st.settings.oidc.clone() else {
        return message(
            StatusCode::NOT_FOUND,
            "Not configured",
            "single sign-on is not set up",
        );
    };
    let client = match o.client().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(target: "labguard::oidc", error = %e, "directory discovery failed");
            return message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Directory unavailable",
                "the lab's directory cannot be reached; try again, or sign in with a local account",
            );
        }
    };
    let Ok(browser) = random::<32>() else {
        return message(StatusCode::INTERNAL_SERVER_ERROR, "Error", "try again");
    };
    let browser = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(browser);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for s in &o.cfg.scopes {
        req = req.add_scope(Scope::new(s.clone()));
    }
    let (url, state, nonce) = req.set_pkce_challenge(challenge).url();
    let flow = PendingFlow {
        browser: sha256(browser.as_bytes()),
        nonce: Zeroizing::new(nonce.secret().clone()),
        pkce_verifier: Zeroizing::new(verifier.secret().clone()),
        return_to: safe_return_path(q.return_to.as_deref()),
        source: src,
        started: st.now(),
    };
    let inserted = match o.flows.lock() {
        Ok(mut f) => f.insert(state.secret().clone(), flow, st.now()),
        Err(_) => Err(OidcPolicyError::TooManyFlows),
    };
    if let Err(e) = inserted {
        return message(
            StatusCode::TOO_MANY_REQUESTS,
            "Try again later",
            &e.to_string(),
        );
    }
    let mut r = StatusCode::SEE_OTHER.into_response();
    let h = r.headers_mut();
    if let Ok(v) = HeaderValue::from_str(url.as_str()) {
        h.insert(header::LOCATION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{FLOW_COOKIE}={browser}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600"
    )) {
        h.insert(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// What the callback concluded, for the answer to the browser.
enum Outcome {
    Session {
        secret: Zeroizing<String>,
        stage: SessionStage,
        return_to: String,
    },
    /// Why, and whether it is already in the audit log.
    Refused(&'static str, bool),
}

async fn callback(
    State(st): State<AppState>,
    ClientAddr(src): ClientAddr,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let Some(o) = st.settings.oidc.clone() else {
        return message(
            StatusCode::NOT_FOUND,
            "Not configured",
            "single sign-on is not set up",
        );
    };
    // No flow, a flow of another browser, a replayed or expired state: nothing is audited
    // (a stranger could write the log full), the answer is the same for all.
    let browser = cookie_value(&headers, FLOW_COOKIE)
        .map(|c| sha256(c.as_bytes()))
        .unwrap_or([0; 32]);
    let state = q.state.as_deref().unwrap_or("");
    let flow = match o.flows.lock() {
        Ok(mut f) if state.len() <= 256 => f.take(state, &browser, st.now()),
        _ => Err(OidcPolicyError::NoSuchFlow),
    };
    let Ok(flow) = flow else {
        return with_flow_cleared(message(
            StatusCode::BAD_REQUEST,
            "Sign-in expired",
            "this sign-in was not started in this browser, was already used, or took too long; start again",
        ));
    };
    let outcome = match finish(&st, &o, &flow, q).await {
        Ok(out) => out,
        Err(e) => {
            tracing::warn!(target: "labguard::oidc", error = %e, "directory sign-in failed");
            Outcome::Refused("the directory's answer could not be verified", false)
        }
    };
    let resp = match outcome {
        Outcome::Refused(why, recorded) => {
            if !recorded {
                let _ = st
                    .run(move |s| Ok(s.record_sso(None, &src, SsoEvent::Refused(why))?))
                    .await;
            }
            refused(why)
        }
        Outcome::Session {
            secret,
            stage,
            return_to,
        } => {
            let next = if stage == SessionStage::Full {
                return_to
            } else {
                "/sign-in?sso=1".into()
            };
            // A page, not a redirect (see the template): the session cookie is SameSite=Strict.
            let mut r = render(&SignedInPage {
                layout: Layout::bare("Signed in"),
                next: &next,
            });
            r.headers_mut()
                .insert(header::SET_COOKIE, session_cookie(&secret));
            r
        }
    };
    with_flow_cleared(resp)
}

fn with_flow_cleared(mut r: Response) -> Response {
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "__Host-lgoidc=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0",
        ),
    );
    r
}

async fn finish(
    st: &AppState,
    o: &Oidc,
    flow: &PendingFlow,
    q: CallbackQuery,
) -> Result<Outcome, OidcError> {
    if q.error.is_some() {
        return Ok(Outcome::Refused("the directory did not sign you in", false));
    }
    let Some(code) = q.code.filter(|c| !c.is_empty() && c.len() <= 4096) else {
        return Ok(Outcome::Refused("the directory sent no code", false));
    };
    let client = o.client().await?;
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| OidcError::Directory(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier.to_string()))
        .request_async(&http::Capped(&o.http))
        .await
        .map_err(|e| OidcError::Directory(e.to_string()))?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| OidcError::IdToken("no ID token".into()))?;
    let v = verify(
        &client,
        id_token,
        &Nonce::new(flow.nonce.to_string()),
        st.now(),
    )?;
    let refresh = tokens
        .refresh_token()
        .map(|t| Zeroizing::new(t.secret().clone()));
    let roles = o.cfg.roles.clone();
    let mfa = o.cfg.mfa.clone();
    let return_to = flow.return_to.clone();
    let src = flow.source.clone();
    st.run(move |store| sign_in(store, &roles, &mfa, &v, refresh, &src, return_to))
        .await
        .map_err(|e| OidcError::Directory(e.message))
}

/// The account for a verified identity: the linked one, or a new one when a rule maps the
/// claims to a role. Then a session at the stage the MFA policy allows.
fn sign_in(
    store: &Store,
    roles: &RoleMap,
    mfa: &MfaPolicy,
    v: &Verified,
    refresh: Option<Zeroizing<String>>,
    src: &str,
    return_to: String,
) -> crate::error::ApiResult<Outcome> {
    // A refusal of a known account is recorded with it, here.
    let refuse = |a: &labguard_store::Account, why: &'static str| {
        store.record_sso(Some(a), src, SsoEvent::Refused(why))?;
        Ok::<_, crate::error::ApiError>(Outcome::Refused(why, true))
    };
    let Some(role) = roles.role_for(&v.claims) else {
        return Ok(Outcome::Refused(
            "no role rule matches your directory groups",
            false,
        ));
    };
    let account = match store.sso_account(&v.issuer, &v.subject)? {
        Some(a) => a,
        None => {
            let username = username_for(v);
            if store.account_by_username(&username)?.is_some() {
                return Ok(Outcome::Refused(
                    "your directory user name belongs to another labguard account",
                    false,
                ));
            }
            let staff = Staff {
                id: Id::new_v4(),
                username,
                display_name: v
                    .name
                    .clone()
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(100)
                    .collect(),
                role,
                email: v
                    .email
                    .clone()
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect(),
                active: true,
            };
            store.create_sso_account(&staff, &v.issuer, &v.subject)?
        }
    };
    if account.is_disabled() {
        return refuse(&account, "this labguard account is disabled");
    }
    if account.staff.role != role {
        // The directory moved the person; an administrator changes labguard roles.
        return refuse(
            &account,
            "your directory groups now map to another role; ask a labguard administrator",
        );
    }
    let idp_mfa = mfa.idp_did_mfa(&v.amr, v.acr.as_deref());
    let stage = if mfa.needs_local_mfa(role, &v.amr, v.acr.as_deref()) {
        if account.mfa_enrolled {
            SessionStage::Mfa
        } else {
            SessionStage::Enroll
        }
    } else {
        SessionStage::Full
    };
    let user = account.staff.id.to_string();
    store.save_sso_refresh(&user, refresh.as_ref().map(|t| t.as_str()))?;
    let t = new_token(TokenKind::Session, random::<32>()?);
    store.create_sso_session(&user, &t.hash.to_hex(), stage, idp_mfa)?;
    store.record_sso(Some(&account), src, SsoEvent::SignedIn)?;
    Ok(Outcome::Session {
        secret: t.secret,
        stage,
        return_to,
    })
}

/// The directory's user name (or e-mail), as a labguard user name: printable, 64 chars at
/// most; without either, a name derived from the subject.
fn username_for(v: &Verified) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_control() && !c.is_whitespace())
            .take(64)
            .collect()
    };
    v.username
        .as_deref()
        .or(v.email.as_deref())
        .map(clean)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            let h = sha256(format!("{}\n{}", v.issuer, v.subject).as_bytes());
            format!("sso-{}", hex::encode(&h[..6]))
        })
}
