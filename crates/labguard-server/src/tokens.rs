//! API tokens for integrations: issued only from a full session whose second factor is
//! recent (never by another token), always with an expiry within the lab's maximum, and
//! listed with their last use so a forgotten or stolen one shows.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, TimeDelta, Utc};
use labguard_identity::session::{ApiToken, TOKEN_BYTES};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Credential, Principal};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::state::{random, AppState};

/// How recent the session's second factor must be to mint a token.
pub const MFA_FRESH_FOR: TimeDelta = TimeDelta::minutes(15);

fn lifetime_refused(max: TimeDelta) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "token-lifetime",
        format!(
            "a token must expire, within {} days (the lab's maximum)",
            max.num_days().max(0)
        ),
    )
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenIn {
    #[schema(max_length = 100)]
    pub label: String,
    /// Days until it expires: at least 1 and at most the lab's maximum lifetime
    /// (`serve --token-max-lifetime`, default 90 days), which is also the default. A token
    /// that never expires (0) or outlives the maximum is refused with 422.
    pub days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenOut {
    /// Shown once: send as `Authorization: Bearer <token>`.
    pub token: String,
    pub scope: String,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeIn {
    pub token: String,
}

/// Issues an API token scoped to the caller's role. Only from a browser session whose
/// second factor is under 15 minutes old: a token gets `403 token-cannot-mint`, a session
/// with an older code `403 mfa-reauth-required` (send a code to `/api/v1/auth/reauth`).
/// `days` beyond the lab's maximum lifetime, or 0 (never expires), gets `422 token-lifetime`.
#[utoipa::path(post, path = "/api/v1/tokens", request_body = TokenIn,
    responses((status = 201, body = TokenOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, description = "token-cannot-mint, mfa-reauth-required, or the role may not", body = ErrorBody),
              (status = 422, description = "token-lifetime, or a bad label", body = ErrorBody)))]
pub async fn create_token(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(t): ApiJson<TokenIn>,
) -> ApiResult<(StatusCode, Json<TokenOut>)> {
    if t.label.chars().count() > 100 || t.label.chars().any(char::is_control) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-fields",
            "label must be at most 100 characters",
        ));
    }
    let scope = match p.actor.kind {
        labguard_store::ActorKind::Staff(r) => r,
        _ => return Err(ApiError::forbidden("only staff may hold API tokens")),
    };
    let now = st.now();
    match &p.credential {
        // A stolen token must not be able to renew itself past revocation or expiry.
        Credential::ApiToken => return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "token-cannot-mint",
            "an API token cannot create API tokens: sign in (with your authenticator) to make one",
        )),
        Credential::Session { mfa_at, .. } => {
            if mfa_at.is_none_or(|t| now - t > MFA_FRESH_FOR) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "mfa-reauth-required",
                    "creating an API token needs a code from your authenticator within the last 15 minutes: send one to /api/v1/auth/reauth",
                ));
            }
        }
    }
    let max = st.settings.token_max_lifetime;
    let lifetime = match t.days {
        None => max,
        Some(0) => return Err(lifetime_refused(max)),
        Some(d) => TimeDelta::try_days(i64::from(d))
            .filter(|l| *l <= max)
            .ok_or_else(|| lifetime_refused(max))?,
    };
    let (secret, rec) = ApiToken::issue(random::<TOKEN_BYTES>()?, scope, now, Some(lifetime));
    let (actor, user) = (p.actor.clone(), p.account.staff.id.to_string());
    let (hash, exp) = (rec.hash.to_hex(), rec.expires_at);
    st.run(move |s| Ok(s.create_api_token(&actor, &user, &hash, scope, &t.label, exp)?))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenOut {
            token: secret.to_string(),
            scope: scope.code().into(),
            expires_at: exp,
        }),
    ))
}

#[utoipa::path(post, path = "/api/v1/tokens/revoke", request_body = RevokeIn,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_token(
    State(st): State<AppState>,
    p: Principal,
    ApiJson(r): ApiJson<RevokeIn>,
) -> ApiResult<StatusCode> {
    let hash = labguard_identity::session::hash_presented(
        labguard_identity::TokenKind::Api,
        r.token.trim(),
    )
    .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such token"))?
    .to_hex();
    let actor = p.actor.clone();
    let found = st
        .run(move |s| Ok(s.revoke_api_token(&actor, &hash)?))
        .await?;
    if found {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "no such token",
        ))
    }
}

#[derive(Serialize, ToSchema)]
pub struct TokenInfoOut {
    /// The first 16 hex digits of the token's hash: tells tokens apart, opens nothing.
    pub id: String,
    pub label: String,
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Last request made with it (to the minute); null if never used.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

/// The caller's own tokens with their expiry and last use (never the secret).
#[utoipa::path(get, path = "/api/v1/tokens",
    responses((status = 200, body = [TokenInfoOut]), (status = 401, body = ErrorBody)))]
pub async fn list_tokens(
    State(st): State<AppState>,
    p: Principal,
) -> ApiResult<Json<Vec<TokenInfoOut>>> {
    let actor = p.actor.clone();
    let v = st.run(move |s| Ok(s.list_api_tokens(&actor)?)).await?;
    Ok(Json(
        v.into_iter()
            .map(|t| TokenInfoOut {
                id: t.id,
                label: t.label,
                scope: t.scope.code().into(),
                created_at: t.created_at,
                expires_at: t.expires_at,
                last_used_at: t.last_used_at,
                revoked: t.revoked,
            })
            .collect(),
    ))
}
