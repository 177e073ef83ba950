//! Changing one's credentials once signed in: TOTP (re-)enrolment, re-authentication for
//! sensitive steps, the password change, and an administrator's password reset.
//!
//! The rules that close the doors a stolen session would open:
//! - a new authenticator stays *pending* until a code from it is confirmed, and replacing
//!   one in force needs the password and a current code (or a recovery code);
//! - every password or code checked here counts in the sign-in throttle;
//! - a change ends the account's other sessions (and, on request or on a reset, its tokens).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use labguard_identity::{recovery, totp, verify_password, TotpSecret};
use labguard_store::{SessionStage, SignInEvent};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{AnyStage, Credential, Principal};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ClientAddr};
use crate::signin::{
    new_session, second_factor_ok, session_hash, throttled_check, with_cookie, ConfirmRequest,
    Enrollment, MfaRequest, RecoveryCodes,
};
use crate::state::{random, AppState};

const MAX_PASSWORD: usize = labguard_identity::password::MAX_INPUT_BYTES;

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// Needed when an authenticator is already in force (re-enrolment): the password…
    #[schema(max_length = 4096)]
    pub password: Option<String>,
    /// …and a current code from the authenticator in force,
    pub code: Option<String>,
    /// …or one of the recovery codes instead of the code.
    pub recovery_code: Option<String>,
}

fn reauth_fields_missing() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "reauth-required",
        "replacing your authenticator needs your password and a current code (or a recovery code)",
    )
}

/// Starts a TOTP enrolment. The new secret is kept pending: the authenticator in force (if
/// any) keeps working until a code from the new one is confirmed, so an abandoned or
/// hostile enrolment changes nothing.
#[utoipa::path(post, path = "/api/v1/mfa/enroll", request_body = EnrollRequest,
    responses((status = 200, body = Enrollment), (status = 401, body = ErrorBody),
              (status = 403, description = "reauth-required: an authenticator is in force and the password or code is missing", body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn enroll(
    State(st): State<AppState>,
    ClientAddr(src): ClientAddr,
    p: AnyStage,
    ApiJson(req): ApiJson<EnrollRequest>,
) -> ApiResult<Json<Enrollment>> {
    if p.stage == SessionStage::Mfa {
        return Err(ApiError::unauthenticated());
    }
    session_hash(&p)?;
    if p.account.mfa_enrolled {
        // Re-enrolment: a session alone is not enough; both factors are proved again.
        let pw = req.password.clone().ok_or_else(reauth_fields_missing)?;
        if req.code.is_none() && req.recovery_code.is_none() {
            return Err(reauth_fields_missing());
        }
        let (st2, a) = (st.clone(), p.account.clone());
        let factor = MfaRequest {
            code: req.code.clone(),
            recovery_code: req.recovery_code.clone(),
        };
        st.run(move |store| {
            throttled_check(&st2, store, &a, &src, SignInEvent::MfaRejected, |store| {
                // The password first, so a wrong one does not burn a code.
                Ok(pw.len() <= MAX_PASSWORD
                    && verify_password(&pw, &a.password_hash)
                    && second_factor_ok(&st2, store, &a, &factor, &src)?)
            })
        })
        .await?;
    }
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

/// Confirms the pending enrolment with a code from the new authenticator: only now does
/// it replace the old one. Every session of the account ends (this one is replaced by a
/// fresh full session); replacing an authenticator in force raises a security alert.
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
    session_hash(&p)?;
    let st2 = st.clone();
    let (secret, codes) = st
        .run(move |store| {
            let user = p.account.staff.id.to_string();
            let stored = store
                .pending_totp_secret(&user)?
                .ok_or_else(|| ApiError::bad_request("start enrolment first"))?;
            let secret = TotpSecret::from_bytes(&stored).map_err(|_| ApiError::internal())?;
            let now = st2.now();
            let unix = u64::try_from(now.timestamp()).unwrap_or(0);
            let step = totp::verify(&secret, &req.code, unix, None)
                .map_err(|_| ApiError::invalid_credentials())?;
            let bytes = random::<{ recovery::DEFAULT_COUNT * recovery::BYTES_PER_CODE }>()?;
            let gen = recovery::generate(recovery::DEFAULT_COUNT, &bytes, now)
                .map_err(|_| ApiError::internal())?;
            let json = serde_json::to_string(&gen.stored).map_err(|_| ApiError::internal())?;
            store.confirm_mfa(&p.actor, &user, &json, Some(step), None)?;
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

/// Proves the second factor again within a full session (for steps that want a recent
/// one, such as creating an API token). Counted in the sign-in throttle.
#[utoipa::path(post, path = "/api/v1/auth/reauth", request_body = MfaRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn reauth(
    State(st): State<AppState>,
    ClientAddr(src): ClientAddr,
    p: Principal,
    ApiJson(req): ApiJson<MfaRequest>,
) -> ApiResult<StatusCode> {
    let hash = session_hash(&p)?;
    let st2 = st.clone();
    st.run(move |store| {
        let a = &p.account;
        throttled_check(&st2, store, a, &src, SignInEvent::MfaRejected, |store| {
            second_factor_ok(&st2, store, a, &req, &src)
        })?;
        store.refresh_session_mfa(&hash)?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(max_length = 4096)]
    pub current_password: String,
    #[schema(max_length = 4096)]
    pub new_password: String,
    /// Also revoke every API token of the account (default false). Other sessions end
    /// whatever this says.
    #[serde(default)]
    pub revoke_tokens: bool,
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
/// answering with every reason a refused password fails. A wrong `current_password`
/// counts in the sign-in throttle (429 past the allowance). Every other session of the
/// account ends; `revoke_tokens` revokes its API tokens too.
#[utoipa::path(post, path = "/api/v1/me/password", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = PasswordProblems),
              (status = 429, body = ErrorBody)))]
pub async fn change_password(
    State(st): State<AppState>,
    ClientAddr(src): ClientAddr,
    p: Principal,
    ApiJson(req): ApiJson<PasswordChange>,
) -> ApiResult<Response> {
    if matches!(p.credential, Credential::ApiToken) {
        return Err(ApiError::forbidden("API tokens cannot change passwords"));
    }
    let keep = session_hash(&p)?;
    let st2 = st.clone();
    let outcome = st
        .run(move |store| {
            let a = &p.account;
            throttled_check(&st2, store, a, &src, SignInEvent::PasswordRejected, |_| {
                Ok(req.current_password.len() <= MAX_PASSWORD
                    && verify_password(&req.current_password, &a.password_hash))
            })?;
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
            store.change_password(
                &p.actor,
                &a.staff.id.to_string(),
                &phc,
                Some(&keep),
                req.revoke_tokens,
            )?;
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

#[derive(Serialize, ToSchema)]
pub struct ResetOut {
    /// Shown once; works for one sign-in, after which the user must choose their own.
    pub one_time_password: String,
    pub sessions_ended: u64,
    pub tokens_revoked: u64,
}

/// An administrator's password reset: a one-time password, every session of the account
/// ended and every API token revoked. The authenticator is kept.
#[utoipa::path(post, path = "/api/v1/accounts/{username}/reset-password", params(("username" = String, Path)),
    responses((status = 200, body = ResetOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reset_password(
    State(st): State<AppState>,
    p: Principal,
    ApiPath(username): ApiPath<String>,
) -> ApiResult<Json<ResetOut>> {
    let (actor, params) = (p.actor.clone(), st.settings.hash_params);
    let pw = labguard_app::accounts::one_time_password()?;
    let salt = random::<16>()?;
    let phc =
        labguard_identity::hash_password(&pw, &salt, &params).map_err(|_| ApiError::internal())?;
    let c = st
        .run(move |s| Ok(s.reset_password(&actor, &username, &phc)?))
        .await?;
    Ok(Json(ResetOut {
        one_time_password: pw.to_string(),
        sessions_ended: c.sessions_ended,
        tokens_revoked: c.tokens_revoked,
    }))
}
