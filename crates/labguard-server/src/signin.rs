//! Sign-in (password, then TOTP or a recovery code), sign-out, the caller's own profile and
//! TOTP enrolment. Every failure answers the same way whatever went wrong, and every step is
//! audited by the store.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use labguard_identity::session::{new_token, TokenKind};
use labguard_identity::throttle::Counter;
use labguard_identity::{
    dummy_verify, recovery, totp, verify_password, AttemptEvent, Outcome, RecoveryCodeSet,
    Throttle, ThrottleState, TotpSecret,
};
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

fn counter(json: Option<String>) -> Option<Counter> {
    json.and_then(|j| serde_json::from_str(&j).ok())
}

/// Loads the throttle for one account name and source address.
fn load_throttle(st: &AppState, store: &Store, key: &str, src: &str) -> ApiResult<Throttle> {
    let (a, s) = store.throttle_counters(key, src)?;
    let mut state = ThrottleState::default();
    if let Some(c) = counter(a) {
        state.accounts.insert(key.to_string(), c);
    }
    if let Some(c) = counter(s) {
        state.sources.insert(src.to_string(), c);
    }
    Ok(Throttle::new(st.settings.throttle.clone(), state))
}

fn save_throttle(store: &Store, t: &Throttle, key: &str, src: &str) -> ApiResult<()> {
    let a = t
        .state
        .accounts
        .get(key)
        .and_then(|c| serde_json::to_string(c).ok());
    let s = t
        .state
        .sources
        .get(src)
        .and_then(|c| serde_json::to_string(c).ok());
    store.save_throttle_counters((key, a.as_deref()), (src, s.as_deref()))?;
    Ok(())
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
    let d = t.record(&AttemptEvent {
        account: key,
        source: src,
        at: st.now(),
        outcome: Outcome::Failure,
    });
    Metrics::inc(&st.metrics.sign_in_failures);
    let _ = save_throttle(store, t, key, src);
    let _ = store.record_sign_in(who, src, event);
    if d.locked {
        let _ = store.record_sign_in(who, src, SignInEvent::Locked);
    }
    ApiError::invalid_credentials()
}

fn throttled(d: &labguard_identity::Decision) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too-many-attempts",
        "too many failed sign-ins; wait and try again, or ask an administrator to unlock",
    );
    e.retry_after = d.retry_after.map(|r| r.num_seconds().max(1) as u64);
    e
}

fn new_session(store: &Store, user: &str, stage: SessionStage) -> ApiResult<Zeroizing> {
    let t = new_token(TokenKind::Session, random::<32>()?);
    store.create_session(user, &t.hash.to_hex(), stage)?;
    Ok(t.secret)
}

type Zeroizing = zeroize::Zeroizing<String>;

fn with_cookie<T: Serialize>(secret: &str, body: T) -> Response {
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
            let key = req.username.trim().to_lowercase();
            let _serial = st2.throttle_locks.hold(&key, &src);
            // Several nodes on one PostgreSQL share the counters: serialize across them too.
            let _nodes = store.cross_node_locks(&[
                &format!("sign-in account {key}"),
                &format!("sign-in source {src}"),
            ])?;
            let mut t = load_throttle(&st2, store, &key, &src)?;
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

fn session_hash(p: &AnyStage) -> ApiResult<String> {
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
            let key = a.staff.username.to_lowercase();
            let _serial = st2.throttle_locks.hold(&key, &src);
            // Several nodes on one PostgreSQL share the counters: serialize across them too.
            let _nodes = store.cross_node_locks(&[
                &format!("sign-in account {key}"),
                &format!("sign-in source {src}"),
            ])?;
            let mut t = load_throttle(&st2, store, &key, &src)?;
            let d = t.check(&key, &src, st2.now());
            if !d.allowed {
                store.record_sign_in(Some(a), &src, SignInEvent::Throttled)?;
                return Err(throttled(&d));
            }
            let now = st2.now();
            let accepted = match (&req.code, &req.recovery_code) {
                (Some(code), None) => {
                    let secret = store
                        .totp_secret(&user)?
                        .ok_or_else(ApiError::invalid_credentials)?;
                    let secret =
                        TotpSecret::from_bytes(&secret).map_err(|_| ApiError::internal())?;
                    let unix = u64::try_from(now.timestamp()).unwrap_or(0);
                    match totp::verify(&secret, code, unix, a.totp_last_step) {
                        Ok(step) => store.accept_totp_step(&user, step)?,
                        Err(_) => false,
                    }
                }
                (None, Some(rc)) => {
                    let mut set: RecoveryCodeSet = a
                        .recovery_codes
                        .as_deref()
                        .and_then(|j| serde_json::from_str(j).ok())
                        .ok_or_else(ApiError::invalid_credentials)?;
                    if set.consume(rc, now).is_ok() {
                        let json = serde_json::to_string(&set).map_err(|_| ApiError::internal())?;
                        store.set_recovery_codes(&user, &json)?;
                        store.record_sign_in(Some(a), &src, SignInEvent::RecoveryCodeUsed)?;
                        true
                    } else {
                        false
                    }
                }
                _ => {
                    return Err(ApiError::bad_request(
                        "send either `code` or `recovery_code`",
                    ))
                }
            };
            if !accepted {
                return Err(fail(
                    &st2,
                    store,
                    &mut t,
                    Some(a),
                    &key,
                    &src,
                    SignInEvent::MfaRejected,
                ));
            }
            t.record(&AttemptEvent {
                account: &key,
                source: &src,
                at: now,
                outcome: Outcome::Success,
            });
            save_throttle(store, &t, &key, &src)?;
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

#[utoipa::path(post, path = "/api/v1/mfa/enroll",
    responses((status = 200, body = Enrollment), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn enroll(State(st): State<AppState>, p: AnyStage) -> ApiResult<Json<Enrollment>> {
    if p.stage == SessionStage::Mfa {
        return Err(ApiError::unauthenticated());
    }
    session_hash(&p)?;
    let secret = TotpSecret::from_random_bytes(random::<{ totp::SECRET_LEN }>()?);
    let name = p.account.staff.username.clone();
    let uri = totp::provisioning_uri(&secret, &name).map_err(|_| ApiError::internal())?;
    let svg = totp::provisioning_qr_svg(&secret, &name).map_err(|_| ApiError::internal())?;
    let b32 = secret.to_base32();
    let (actor, user) = (p.actor.clone(), p.account.staff.id.to_string());
    st.run(move |s| Ok(s.start_mfa_enrollment(&actor, &user, secret.as_bytes())?))
        .await?;
    Ok(Json(Enrollment {
        otpauth_uri: uri.to_string(),
        secret_base32: b32.to_string(),
        qr_svg: svg.to_string(),
    }))
}

#[utoipa::path(post, path = "/api/v1/mfa/confirm", request_body = ConfirmRequest,
    responses((status = 200, body = RecoveryCodes), (status = 401, body = ErrorBody), (status = 400, body = ErrorBody)))]
pub async fn confirm(
    State(st): State<AppState>,
    p: AnyStage,
    ApiJson(req): ApiJson<ConfirmRequest>,
) -> ApiResult<Response> {
    if p.stage == SessionStage::Mfa {
        return Err(ApiError::unauthenticated());
    }
    let old = session_hash(&p)?;
    let st2 = st.clone();
    let (secret, codes) = st
        .run(move |store| {
            let user = p.account.staff.id.to_string();
            let stored = store
                .totp_secret(&user)?
                .ok_or_else(|| ApiError::bad_request("start enrolment first"))?;
            let secret = TotpSecret::from_bytes(&stored).map_err(|_| ApiError::internal())?;
            let now = st2.now();
            let unix = u64::try_from(now.timestamp()).unwrap_or(0);
            let step = totp::verify(&secret, &req.code, unix, None)
                .map_err(|_| ApiError::invalid_credentials())?;
            if !store.accept_totp_step(&user, step)? {
                return Err(ApiError::invalid_credentials());
            }
            let bytes = random::<{ recovery::DEFAULT_COUNT * recovery::BYTES_PER_CODE }>()?;
            let gen = recovery::generate(recovery::DEFAULT_COUNT, &bytes, now)
                .map_err(|_| ApiError::internal())?;
            let json = serde_json::to_string(&gen.stored).map_err(|_| ApiError::internal())?;
            store.confirm_mfa(&p.actor, &user, &json)?;
            store.revoke_session(&p.actor, &old, "mfa enrolled")?;
            let secret = new_session(store, &user, SessionStage::Full)?;
            Ok((
                secret,
                gen.plaintext
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>(),
            ))
        })
        .await?;
    let csrf_token = st.csrf.token_for(&secret);
    Ok(with_cookie(
        &secret,
        RecoveryCodes {
            recovery_codes: codes,
            csrf_token,
        },
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(max_length = 4096)]
    pub current_password: String,
    #[schema(max_length = 4096)]
    pub new_password: String,
}

#[derive(Serialize, ToSchema)]
pub struct PasswordProblems {
    pub error: String,
    pub message: String,
    /// Each reason the new password was refused, as a sentence ending "The password …".
    /// Absent when the request itself was malformed (the same status, a generic body).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problems: Option<Vec<String>>,
}

/// Changes the caller's own password under the NIST SP 800-63B rev 4 policy (length, no
/// composition rules, blocklist of breached and common passwords, no lab or user names),
/// answering with every reason a refused password fails.
#[utoipa::path(post, path = "/api/v1/me/password", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = PasswordProblems)))]
pub async fn change_password(
    State(st): State<AppState>,
    p: crate::auth::Principal,
    ApiJson(req): ApiJson<PasswordChange>,
) -> ApiResult<Response> {
    if matches!(p.credential, Credential::ApiToken) {
        return Err(ApiError::forbidden("API tokens cannot change passwords"));
    }
    let st2 = st.clone();
    let outcome = st
        .run(move |store| {
            let a = &p.account;
            if !verify_password(&req.current_password, &a.password_hash) {
                return Err(ApiError::invalid_credentials());
            }
            let ctx = labguard_identity::PolicyContext {
                // Every account signs in with TOTP as well, so the MFA minimum applies.
                with_mfa: true,
                lab_name: st2.settings.lab_name.clone(),
                username: a.staff.username.clone(),
                display_name: a.staff.display_name.clone(),
                other_words: vec![a.staff.email.clone()],
            };
            if req.new_password == req.current_password {
                return Ok(Some(vec![
                    "The password is the one you have now: choose a new one.".to_string(),
                ]));
            }
            if let Err(problems) = labguard_identity::check_password(&req.new_password, &ctx) {
                return Ok(Some(
                    problems
                        .iter()
                        .map(|p| format!("The password {p}."))
                        .collect::<Vec<_>>(),
                ));
            }
            let salt = random::<16>()?;
            let phc = labguard_identity::hash_password(
                &req.new_password,
                &salt,
                &st2.settings.hash_params,
            )
            .map_err(|_| ApiError::internal())?;
            store.set_password_hash(&p.actor, &a.staff.id.to_string(), &phc, false)?;
            Ok(None)
        })
        .await?;
    Ok(match outcome {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(problems) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(PasswordProblems {
                error: "weak-password".into(),
                message: "choose another password".into(),
                problems: Some(problems),
            }),
        )
            .into_response(),
    })
}
