//! The directory check: each signed-in directory account's token is refreshed; a refusal
//! (or no token to ask with) ends the account's labguard sessions.

use std::time::Duration;

use openidconnect::{OAuth2TokenResponse, RefreshToken};
use zeroize::Zeroizing;

use super::Oidc;
use crate::state::AppState;

/// One pass of the directory check: every linked account with a live session must still
/// refresh; otherwise its sessions end (fail closed: an unreachable directory ends them too,
/// and local break-glass accounts remain). Returns the number of accounts whose sessions
/// were ended.
pub async fn check_once(st: &AppState) -> usize {
    let Some(o) = st.settings.oidc.clone() else {
        return 0;
    };
    let due = match st.run(|s| Ok(s.sso_checks_due()?)).await {
        Ok(d) => d,
        Err(_) => return 0,
    };
    let mut ended = 0;
    for c in due {
        let why: Option<String> = match &c.refresh_token {
            None => Some("no refresh token to confirm the account with".into()),
            Some(rt) => match refresh(&o, rt).await {
                Ok(next) => {
                    let user = c.user_id.clone();
                    let keep = next.unwrap_or_else(|| rt.clone());
                    let _ = st
                        .run(move |s| Ok(s.save_sso_refresh(&user, Some(keep.as_str()))?))
                        .await;
                    None
                }
                Err(e) => Some(e),
            },
        };
        if let Some(why) = why {
            let user = c.user_id.clone();
            if st
                .run(move |s| Ok(s.end_sso_sessions(&user, &why)?))
                .await
                .is_ok()
            {
                ended += 1;
            }
        }
    }
    ended
}

async fn refresh(o: &Oidc, rt: &str) -> Result<Option<Zeroizing<String>>, String> {
    let client = o
        .client()
        .await
        .map_err(|_| "directory unreachable".to_string())?;
    let token = RefreshToken::new(rt.to_string());
    let resp = client
        .exchange_refresh_token(&token)
        .map_err(|_| "no token endpoint".to_string())?
        .request_async(&super::http::Capped(&o.http))
        .await
        .map_err(|e| match e {
            openidconnect::RequestTokenError::ServerResponse(_) => {
                "the directory refused the refresh".to_string()
            }
            _ => "the directory could not be asked".to_string(),
        })?;
    Ok(resp
        .refresh_token()
        .map(|t| Zeroizing::new(t.secret().clone())))
}

/// Runs [`check_once`] every `check_every` until the task is dropped.
pub async fn run_checks(st: AppState) {
    let every = match &st.settings.oidc {
        Some(o) => o.cfg.check_every,
        None => return,
    };
    let mut t = tokio::time::interval(every.max(Duration::from_secs(1)));
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let secs = every.as_secs().max(1) as i64;
    loop {
        t.tick().await;
        // One node of those sharing the database checks per period: two refreshing the
        // same token at once would trip a rotating directory's reuse detection.
        let now = st.now();
        let period = format!("{:020}", now.timestamp() / secs);
        let won = st
            .run(move |s| Ok(s.claim_period("sso.check", &period, now)?))
            .await
            .unwrap_or(false);
        if !won {
            continue;
        }
        let n = check_once(&st).await;
        if n > 0 {
            tracing::info!(target: "labguard::oidc", accounts = n, "directory check ended sessions");
        }
    }
}
