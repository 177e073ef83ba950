//! Sign-in (password, then TOTP or a recovery code), sign-out, the caller's own profile and
//! TOTP enrolment. Every failure answers the same way whatever went wrong, and every step is
//! audited by the store.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use labguard_app::signin::{
    self as app_signin, load_throttle, record_failure, throttle_key, Check, Factor, Guard, Verdict,
};
use labguard_identity::session::{new_token, TokenKind};
use labguard_identity::{dummy_verify, verify_password, Throttle};
use labguard_store::{Account, SessionStage, SignInEvent, Store};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{clear_cookie, session_cookie, AnyStage, Credential};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ClientAddr};
use crate::state::{random, AppState, Metrics};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    #[schema(max_length = 200)]
    pub username: String,
    #[schema(max_length = 4096)]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct SignInResponse {
    /// `mfa`: send a code to /auth/mfa next; `enroll`: set up TOTP first; `full`: done.
    pub stage: String,
    pub csrf_token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaRequest {
    /// Six digits from the authenticator app.
    pub code: Option<String>,
    /// Or one of the recovery codes.
    pub recovery_code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub stage: String,
    pub mfa_enrolled: bool,
    pub permissions: Vec<String>,
    /// Send in `X-CSRF-Token` on state-changing requests (cookie sessions only).
    pub csrf_token: Option<String>,
    pub idle_timeout_secs: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Enrollment {
    pub otpauth_uri: String,
    pub secret_base32: String,
    /// QR code of the URI, an SVG document.
    pub qr_svg: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// Shown once: each works one time when the authenticator is lost.
    pub recovery_codes: Vec<String>,
    pub csrf_token: String,
}

/// The throttled-check context for this server: its policy, locks and clock.
pub(crate) fn guard<'a>(st: &'a AppState, store: &'a Store) -> Guard<'a> {
    Guard {
        store,
        policy: &st.settings.throttle,
        locks: &st.throttle_locks,
        now: st.now(),
    }
}

/// Records a failed attempt and returns the generic refusal.
fn fail(
    st: &AppState,
    store: &Store,
    t: &mut Throttle,
    who: Option<&Account>,
    key: &str,
    src: &str,
    event: SignInEvent,
) -> ApiError {
    Metrics::inc(&st.metrics.sign_in_failures);
    record_failure(&guard(st, store), t, who, key, src, event);
    ApiError::invalid_credentials()
}

pub(crate) fn throttled(d: &labguard_identity::Decision) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-attempts",
        "too many failed sign-ins; wait and try again, or ask an administrator to unlock",
    );
    e.retry_after = d.retry_after.map(|r| r.num_seconds().max(1) as u64);
    e
}

pub(crate) fn new_session(store: &Store, user: &str, stage: SessionStage) -> ApiResult<Zeroizing> {
    let t = new_token(TokenKind::Session, random::<32>()?);
    store.create_session(user, &t.hash.to_hex(), stage)?;
    Ok(t.secret)
}

pub(crate) type Zeroizing = zeroize::Zeroizing<String>;

pub(crate) fn with_cookie<T: Serialize>(secret: &str, body: T) -> Response {
    let mut r = Json(body).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(secret));
    r
}

#[utoipa::path(post, path = "/api/v1/auth/sign-in", request_body = SignInRequest,
    responses((status = 200, body = SignInResponse), (status = 401, body = ErrorBody),
              (status = 429, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub async fn sign_in(
    State(st): State<AppState>,
    ClientAddr(src): ClientAddr,
    ApiJson(req): ApiJson<SignInRequest>,
) -> ApiResult<Response> {
    if req.username.len() > 200 || req.password.len() > labguard_identity::password::MAX_INPUT_BYTES
    {
        return Err(ApiError::invalid_credentials());
    }
    let st2 = st.clone();
    let (secret, stage) = st
        .run(move |store| {
            let key = throttle_key(&req.username);
            let _serial = st2.throttle_locks.hold(&key, &src);
            // Several nodes on one PostgreSQL share the counters: serialize across them too.
            let _nodes = store.cross_node_locks(&[
                &format!("sign-in account {key}"),
                &format!("sign-in source {src}"),
            ])?;
            let mut t = load_throttle(store, &st2.settings.throttle, &key, &src)?;
            let account = store.account_by_username(&key)?;
            let d = t.check(&key, &src, st2.now());
            if !d.allowed {
                store.record_sign_in(account.as_ref(), &src, SignInEvent::Throttled)?;
                return Err(throttled(&d));
            }
            let ok = match &account {
                Some(a) => verify_password(&req.password, &a.password_hash) && !a.is_disabled(),
                None => {
                    dummy_verify(&req.password, &st2.settings.hash_params);
                    false
                }
            };
            let Some(a) = account.filter(|_| ok) else {
                let who = store.account_by_username(&key)?;
                return Err(fail(
                    &st2,
                    store,
                    &mut t,
                    who.as_ref(),
                    &key,
                    &src,
                    SignInEvent::PasswordRejected,
                ));
            };
            let stage = if a.mfa_enrolled {
                SessionStage::Mfa
            } else {
                SessionStage::Enroll
            };
            store.record_sign_in(Some(&a), &src, SignInEvent::PasswordAccepted)?;
            let secret = new_session(store, &a.staff.id.to_string(), stage)?;
            Ok((secret, stage))
        })
        .await?;
    let csrf_token = st.csrf.token_for(&secret);
    Ok(with_cookie(
        &secret,
        SignInResponse {
            stage: stage.code().into(),
            csrf_token,
        },
    ))
}

pub(crate) fn session_hash(p: &AnyStage) -> ApiResult<String> {
    match &p.credential {
        Credential::Session { hash, .. } => Ok(hash.clone()),
        Credential::ApiToken => Err(ApiError::bad_request(
            "API tokens do not sign in; they are already authenticated",
        )),
    }
}

#[utoipa::path(post, path = "/api/v1/auth/mfa", request_body = MfaRequest,
    responses((status = 200, body = SignInResponse), (status = 401, body = ErrorBody),
              (status = 429, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub async fn mfa(
    State(st): State<AppState>,
    ClientAddr(src): ClientAddr,
    p: AnyStage,
    ApiJson(req): ApiJson<MfaRequest>,
) -> ApiResult<Response> {
    if p.stage != SessionStage::Mfa {
        return Err(ApiError::bad_request(
            "this session is not waiting for a code",
        ));
    }
    let old = session_hash(&p)?;
    let st2 = st.clone();
    let secret = st
        .run(move |store| {
            let a = &p.account;
            let user = a.staff.id.to_string();
            throttled_check(&st2, store, a, &src, SignInEvent::MfaRejected, |store| {
                second_factor_ok(&st2, store, a, &req, &src)
            })?;
            // A fresh session id at each privilege change, so a planted id gains nothing.
            store.revoke_session(&a.actor(), &old, "mfa completed")?;
            let secret = new_session(store, &user, SessionStage::Full)?;
            store.record_sign_in(Some(a), &src, SignInEvent::MfaAccepted)?;
            Ok(secret)
        })
        .await?;
    Metrics::inc(&st.metrics.sign_ins);
    let csrf_token = st.csrf.token_for(&secret);
    Ok(with_cookie(
        &secret,
        SignInResponse {
            stage: "full".into(),
            csrf_token,
        },
    ))
}

#[utoipa::path(post, path = "/api/v1/auth/sign-out",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn sign_out(State(st): State<AppState>, p: AnyStage) -> ApiResult<Response> {
    let hash = session_hash(&p)?;
    let actor = p.actor.clone();
    st.run(move |s| Ok(s.revoke_session(&actor, &hash, "sign-out")?))
        .await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(header::SET_COOKIE, clear_cookie());
    Ok(r)
}

#[utoipa::path(get, path = "/api/v1/me",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn me(State(st): State<AppState>, p: AnyStage) -> ApiResult<Json<Me>> {
    Ok(Json(me_of(&st, &p)))
}

pub fn me_of(st: &AppState, p: &AnyStage) -> Me {
    let role = match p.actor.kind {
        labguard_store::ActorKind::Staff(r) => r,
        _ => p.account.staff.role,
    };
    Me {
        user_id: p.account.staff.id.to_string(),
        username: p.account.staff.username.clone(),
        display_name: p.account.staff.display_name.clone(),
        role: role.code().into(),
        stage: p.stage.code().into(),
        mfa_enrolled: p.account.mfa_enrolled,
        permissions: role
            .permissions()
            .iter()
            .filter_map(|x| serde_json::to_value(x).ok())
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        csrf_token: p.csrf_token(st),
        idle_timeout_secs: st.idle_timeout().num_seconds(),
    }
}

/// Runs one credential check for `a` under the sign-in throttle (labguard-app's): refused
/// with 429 while the account or source is throttled, and a failure counts exactly like a
/// failed sign-in. Every step that takes a password or a code after sign-in goes through here.
pub(crate) fn throttled_check(
    st: &AppState,
    store: &Store,
    a: &Account,
    src: &str,
    event: SignInEvent,
    check: impl FnOnce(&Store) -> ApiResult<bool>,
) -> ApiResult<()> {
    let key = throttle_key(&a.staff.username);
    let verdict = app_signin::throttled_check(&guard(st, store), &key, Some(a), src, |s| {
        Ok::<_, ApiError>(if check(s)? {
            Check::Passed
        } else {
            Check::Failed(event)
        })
    })?;
    match verdict {
        Verdict::Passed => Ok(()),
        Verdict::Throttled(d) => Err(throttled(&d)),
        Verdict::Refused => {
            Metrics::inc(&st.metrics.sign_in_failures);
            Err(ApiError::invalid_credentials())
        }
    }
}

/// Checks a TOTP code or consumes a recovery code. Exactly one of the two must be sent.
pub(crate) fn second_factor_ok(
    st: &AppState,
    store: &Store,
    a: &Account,
    req: &MfaRequest,
    src: &str,
) -> ApiResult<bool> {
    let factor = match (&req.code, &req.recovery_code) {
        (Some(code), None) => Factor::Totp(code),
        (None, Some(rc)) => Factor::Recovery(rc),
        _ => {
            return Err(ApiError::bad_request(
                "send either `code` or `recovery_code`",
            ))
        }
    };
    Ok(app_signin::second_factor_ok(
        store,
        a,
        factor,
        src,
        st.now(),
    )?)
}
