//! Web sessions and API tokens. Both are stored by the hex SHA-256 of the secret the client
//! holds (see `labguard_identity::session`), so a copy of the database yields nothing that
//! can be presented. Looking one up returns the account with it, so every request sees the
//! current role and whether the account has been disabled.

use chrono::{DateTime, Utc};
use labguard_audit::Outcome;
use labguard_core::{Permission, Role};

use crate::accounts::{decode_account, Account, ACCOUNT_COLS};
use crate::action::Action;
use crate::actor::Actor;
use crate::backend::Value;
use crate::codec::{opt_time, parse_time};
use crate::store::{rfc3339, Store};
use crate::StoreError;

/// How far a session has got through sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// Password accepted; a TOTP or recovery code is still due.
    Mfa,
    /// Password accepted, but the account must enrol TOTP before doing anything else.
    Enroll,
    /// Fully signed in.
    Full,
}

impl SessionStage {
    pub fn code(self) -> &'static str {
        match self {
            SessionStage::Mfa => "mfa",
            SessionStage::Enroll => "enroll",
            SessionStage::Full => "full",
        }
    }

    fn from_code(s: &str) -> Result<SessionStage, StoreError> {
        match s {
            "mfa" => Ok(SessionStage::Mfa),
            "enroll" => Ok(SessionStage::Enroll),
            "full" => Ok(SessionStage::Full),
            _ => Err(StoreError::Corrupt("session stage".into())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub token_hash: String,
    pub stage: SessionStage,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// When this session last proved the second factor (None: never).
    pub mfa_at: Option<DateTime<Utc>>,
    pub revoked: bool,
    pub account: Account,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    pub token_hash: String,
    pub scope: Role,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked: bool,
    pub account: Account,
}

/// A token as its holder sees it in a list: never the secret, only a short prefix of its
/// hash to tell tokens apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenInfo {
    pub id: String,
    pub scope: Role,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

impl Store {
    /// Stores a new session for `user_id`. Creating one is audited by the sign-in step
    /// that caused it. A full session only ever follows a second factor, so it records
    /// that moment as its last MFA.
    pub fn create_session(
        &self,
        user_id: &str,
        token_hash: &str,
        stage: SessionStage,
    ) -> Result<(), StoreError> {
        let now = rfc3339(self.now());
        let mut tx = self.backend.begin()?;
        tx.execute(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, stage, mfa_at) VALUES (?, ?, ?, ?, ?, ?)",
            &[
                token_hash.into(),
                user_id.into(),
                now.clone().into(),
                now.clone().into(),
                stage.code().into(),
                if stage == SessionStage::Full { Value::Text(now) } else { Value::Null },
            ],
        )?;
        tx.commit()
    }

    /// A session opened by single sign-on: it counts as having proved a second factor only
    /// when the directory showed MFA (`mfa_proved`), whatever its stage.
    pub fn create_sso_session(
        &self,
        user_id: &str,
        token_hash: &str,
        stage: SessionStage,
        mfa_proved: bool,
    ) -> Result<(), StoreError> {
        let now = rfc3339(self.now());
        let mut tx = self.backend.begin()?;
        tx.execute(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, stage, mfa_at) VALUES (?, ?, ?, ?, ?, ?)",
            &[
                token_hash.into(),
                user_id.into(),
                now.clone().into(),
                now.clone().into(),
                stage.code().into(),
                if mfa_proved { Value::Text(now) } else { Value::Null },
            ],
        )?;
        tx.commit()
    }

    pub fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let mut tx = self.backend.begin()?;
        let sql = format!(
            "SELECT x.token_hash, x.stage, x.created_at, x.last_seen_at, x.revoked_at, x.mfa_at, {} \
             FROM sessions x JOIN accounts a ON a.user_id = x.user_id JOIN staff s ON s.id = x.user_id \
             WHERE x.token_hash = ?",
            ACCOUNT_COLS
        );
        let rows = tx.query(&sql, &[token_hash.into()])?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let col = |i: usize| {
            r.get(i)
                .ok_or_else(|| StoreError::Corrupt("session row shape".into()))
        };
        Ok(Some(SessionRecord {
            token_hash: col(0)?.as_text()?.to_string(),
            stage: SessionStage::from_code(col(1)?.as_text()?)?,
            created_at: parse_time(col(2)?)?,
            last_seen_at: parse_time(col(3)?)?,
            revoked: !matches!(col(4)?, Value::Null),
            mfa_at: opt_time(col(5)?)?,
            account: decode_account(r.get(6..).unwrap_or_default())?,
        }))
    }

    /// Records activity on a session (for the idle timeout).
    pub fn touch_session(&self, token_hash: &str) -> Result<(), StoreError> {
        self.stamp_now(
            "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?",
            token_hash,
        )
    }

    /// Records a second factor proved again within the session (re-authentication).
    pub fn refresh_session_mfa(&self, token_hash: &str) -> Result<(), StoreError> {
        self.stamp_now(
            "UPDATE sessions SET mfa_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
            token_hash,
        )
    }

    /// Records a use of an API token (callers throttle how often).
    pub fn touch_api_token(&self, token_hash: &str) -> Result<(), StoreError> {
        self.stamp_now(
            "UPDATE api_tokens SET last_used_at = ? WHERE token_hash = ?",
            token_hash,
        )
    }

    /// Runs `sql` (parameters: now, then the token hash) in its own transaction.
    fn stamp_now(&self, sql: &str, token_hash: &str) -> Result<(), StoreError> {
        let now = rfc3339(self.now());
        let mut tx = self.backend.begin()?;
        tx.execute(sql, &[now.into(), token_hash.into()])?;
        tx.commit()
    }

    /// The caller's own API tokens, newest first.
    pub fn list_api_tokens(&self, actor: &Actor) -> Result<Vec<ApiTokenInfo>, StoreError> {
        self.write(|tx, pending| {
            let rows = tx.query(
                "SELECT token_hash, scope, label, created_at, expires_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC",
                &[actor.id.clone().into()],
            )?;
            let out = rows
                .iter()
                .map(|r| {
                    let [h, scope, label, created, exp, used, revoked] = r.as_slice() else {
                        return Err(StoreError::Corrupt("token row shape".into()));
                    };
                    Ok(ApiTokenInfo {
                        id: h.as_text()?.chars().take(16).collect(),
                        scope: Role::from_code(scope.as_text()?)?,
                        label: label.as_text()?.to_string(),
                        created_at: parse_time(created)?,
                        expires_at: opt_time(exp)?,
                        last_used_at: opt_time(used)?,
                        revoked: !matches!(revoked, Value::Null),
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            pending.push(self.entry(actor, Action::ApiTokenList, "api-token", &actor.id, None, Outcome::Success)?);
            Ok(out)
        })
    }

    /// Ends a session. `why` goes into the audit entry (sign-out, idle timeout, …).
    pub fn revoke_session(
        &self,
        actor: &Actor,
        token_hash: &str,
        why: &str,
    ) -> Result<(), StoreError> {
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let n = tx.execute(
                "UPDATE sessions SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                &[now.clone().into(), token_hash.into()],
            )?;
            if n > 0 {
                let mut e = self.entry(
                    actor,
                    Action::SessionRevoke,
                    "session",
                    &actor.id,
                    None,
                    Outcome::Success,
                )?;
                e.reason = Some(why.chars().take(64).collect());
                pending.push(e);
            }
            Ok(())
        })
    }

    /// Issues an API token scoped to `scope`. Staff may only issue tokens no wider than
    /// their own role; administrators may issue integration tokens for any role.
    #[allow(clippy::too_many_arguments)]
    pub fn create_api_token(
        &self,
        actor: &Actor,
        user_id: &str,
        token_hash: &str,
        scope: Role,
        label: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let allowed = actor.may(Permission::AccountsManage)
            || (actor.id == user_id
                && matches!(actor.kind, crate::ActorKind::Staff(r) if r == scope));
        if !allowed {
            self.authorize(
                actor,
                Permission::AccountsManage,
                Action::ApiTokenCreate,
                "api-token",
                "",
            )?;
        }
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            tx.execute(
                "INSERT INTO api_tokens (token_hash, user_id, scope, label, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                &[
                    token_hash.into(),
                    user_id.into(),
                    scope.code().into(),
                    label.chars().take(100).collect::<String>().into(),
                    now.clone().into(),
                    expires_at.map(rfc3339).into(),
                ],
            )?;
            let mut e = self.entry(actor, Action::ApiTokenCreate, "api-token", user_id, None, Outcome::Success)?;
            e.reason = Some(format!("scope {}", scope.code()));
            pending.push(e);
            Ok(())
        })
    }

    pub fn api_token(&self, token_hash: &str) -> Result<Option<ApiTokenRecord>, StoreError> {
        let mut tx = self.backend.begin()?;
        let sql = format!(
            "SELECT t.token_hash, t.scope, t.label, t.created_at, t.expires_at, t.revoked_at, t.last_used_at, {ACCOUNT_COLS} \
             FROM api_tokens t JOIN accounts a ON a.user_id = t.user_id JOIN staff s ON s.id = t.user_id \
             WHERE t.token_hash = ?"
        );
        let rows = tx.query(&sql, &[token_hash.into()])?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let col = |i: usize| {
            r.get(i)
                .ok_or_else(|| StoreError::Corrupt("token row shape".into()))
        };
        Ok(Some(ApiTokenRecord {
            token_hash: col(0)?.as_text()?.to_string(),
            scope: Role::from_code(col(1)?.as_text()?)?,
            label: col(2)?.as_text()?.to_string(),
            created_at: parse_time(col(3)?)?,
            expires_at: opt_time(col(4)?)?,
            revoked: !matches!(col(5)?, Value::Null),
            last_used_at: opt_time(col(6)?)?,
            account: decode_account(r.get(7..).unwrap_or_default())?,
        }))
    }

    pub fn revoke_api_token(&self, actor: &Actor, token_hash: &str) -> Result<bool, StoreError> {
        let owner = self
            .api_token(token_hash)?
            .map(|t| t.account.staff.id.to_string());
        let Some(owner) = owner else {
            return Ok(false);
        };
        if owner != actor.id {
            self.authorize(
                actor,
                Permission::AccountsManage,
                Action::ApiTokenRevoke,
                "api-token",
                &owner,
            )?;
        }
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let n = tx.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL",
                &[now.clone().into(), token_hash.into()],
            )?;
            pending.push(self.entry(
                actor,
                Action::ApiTokenRevoke,
                "api-token",
                &owner,
                None,
                Outcome::Success,
            )?);
            Ok(n > 0)
        })
    }
}
