//! Changing credentials: a new authenticator (kept pending until a code from it is
//! confirmed), a password change, an administrator's reset. Each ends the account's other
//! sessions in the same transaction as the change, so whoever holds a stolen session loses
//! it the moment the owner (or an administrator) acts.

use labguard_audit::Outcome;
use labguard_core::{Id, Permission};
use labguard_crypto::FieldRef;

use crate::action::Action;
use crate::actor::Actor;
use crate::backend::{Tx, Value};
use crate::store::{rfc3339, Store};
use crate::StoreError;

/// What confirming an enrolment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfaConfirmed {
    /// An authenticator was in force before and has been replaced (alerted).
    pub replaced: bool,
    pub sessions_ended: u64,
}

/// What a password change or reset ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CredentialChange {
    pub sessions_ended: u64,
    pub tokens_revoked: u64,
}

/// Ends every live session of `user_id` but `keep` (the caller's own, when it survives).
pub(crate) fn end_sessions(
    tx: &mut dyn Tx,
    user_id: &str,
    keep: Option<&str>,
    now: &str,
) -> Result<u64, StoreError> {
    tx.execute(
        "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND token_hash <> ?",
        &[now.into(), user_id.into(), keep.unwrap_or("").into()],
    )
}

pub(crate) fn revoke_tokens(tx: &mut dyn Tx, user_id: &str, now: &str) -> Result<u64, StoreError> {
    tx.execute(
        "UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
        &[now.into(), user_id.into()],
    )
}

impl Store {
    /// Stores a new TOTP secret (sealed) as *pending*. The authenticator in force, if any,
    /// stays in force: only [`Store::confirm_mfa`] with a code from the new one switches.
    pub fn start_mfa_enrollment(
        &self,
        actor: &Actor,
        user_id: &str,
        secret: &[u8],
    ) -> Result<(), StoreError> {
        self.self_or_operator(actor, user_id, Action::MfaEnrollStart)?;
        self.write(|tx, pending| {
            let ring = self.ring()?;
            let ct = ring.seal(
                &FieldRef::new("accounts", user_id, "pending_totp_secret"),
                secret,
            )?;
            let version = i64::from(ring.active_version());
            drop(ring);
            let n = tx.execute(
                "UPDATE accounts SET pending_totp_secret = ?, pending_totp_key_version = ? WHERE user_id = ?",
                &[ct.into(), Value::Int(version), user_id.into()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound("account".into()));
            }
            pending.push(self.entry(
                actor,
                Action::MfaEnrollStart,
                "account",
                user_id,
                None,
                Outcome::Success,
            )?);
            Ok(())
        })
    }

    /// Makes the pending secret the account's authenticator, with new recovery code
    /// digests, and ends every session but `keep`. `step` is the step of the code that
    /// proved the new secret (a replay of it then fails). Replacing an authenticator that
    /// was in force raises a security alert.
    pub fn confirm_mfa(
        &self,
        actor: &Actor,
        user_id: &str,
        recovery_codes_json: &str,
        step: Option<u64>,
        keep: Option<&str>,
    ) -> Result<MfaConfirmed, StoreError> {
        self.self_or_operator(actor, user_id, Action::MfaEnroll)?;
        let step = step
            .map(i64::try_from)
            .transpose()
            .map_err(|_| StoreError::Backend("step range".into()))?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let rows = tx.query(
                "SELECT pending_totp_secret, mfa_enrolled FROM accounts WHERE user_id = ? AND pending_totp_secret IS NOT NULL",
                &[user_id.into()],
            )?;
            let Some([ct, enrolled]) = rows.first().map(Vec::as_slice) else {
                return Err(StoreError::NotFound("pending TOTP enrolment".into()));
            };
            let replaced = enrolled.as_int()? != 0;
            let ring = self.ring()?;
            let moved = crate::table::reseal_as(
                &ring,
                ("accounts", user_id),
                ("pending_totp_secret", "totp_secret"),
                ct,
            )?;
            let version = i64::from(ring.active_version());
            drop(ring);
            // Compare-and-set on the pending ciphertext: a second enrolment started in the
            // meantime is not confirmed by a code for the first.
            let n = tx.execute(
                "UPDATE accounts SET totp_secret = ?, totp_key_version = ?, totp_last_step = ?, mfa_enrolled = 1, recovery_codes = ?, \
                 pending_totp_secret = NULL, pending_totp_key_version = NULL WHERE user_id = ? AND pending_totp_secret = ?",
                &[
                    moved,
                    Value::Int(version),
                    step.map(Value::Int).unwrap_or(Value::Null),
                    recovery_codes_json.into(),
                    user_id.into(),
                    ct.clone(),
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound("pending TOTP enrolment".into()));
            }
            let sessions_ended = end_sessions(tx, user_id, keep, &now)?;
            let action = if replaced { Action::MfaChange } else { Action::MfaEnroll };
            if replaced {
                tx.execute(
                    "INSERT INTO alerts (id, kind, user_id, subject_id, created_at) VALUES (?, 'mfa-changed', ?, ?, ?)",
                    &[
                        Id::new_v4().to_string().into(),
                        user_id.into(),
                        user_id.into(),
                        now.clone().into(),
                    ],
                )?;
            }
            let mut e = self.entry(actor, action, "account", user_id, None, Outcome::Success)?;
            e.reason = Some(format!("{sessions_ended} other sessions ended"));
            pending.push(e);
            Ok(MfaConfirmed {
                replaced,
                sessions_ended,
            })
        })
    }

    /// The account holder's password change: the new hash, the one-time flag cleared,
    /// every other session ended and, if asked, every API token revoked.
    pub fn change_password(
        &self,
        actor: &Actor,
        user_id: &str,
        password_hash: &str,
        keep: Option<&str>,
        revoke_api_tokens: bool,
    ) -> Result<CredentialChange, StoreError> {
        self.self_or_operator(actor, user_id, Action::AccountPassword)?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let n = tx.execute(
                "UPDATE accounts SET password_hash = ?, password_checked_at = ?, blocklist_failed = 0, password_must_change = 0 WHERE user_id = ?",
                &[password_hash.into(), now.clone().into(), user_id.into()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound("account".into()));
            }
            let c = CredentialChange {
                sessions_ended: end_sessions(tx, user_id, keep, &now)?,
                tokens_revoked: if revoke_api_tokens {
                    revoke_tokens(tx, user_id, &now)?
                } else {
                    0
                },
            };
            let mut e = self.entry(actor, Action::AccountPassword, "account", user_id, None, Outcome::Success)?;
            e.reason = Some(format!(
                "{} other sessions ended, {} API tokens revoked",
                c.sessions_ended, c.tokens_revoked
            ));
            pending.push(e);
            Ok(c)
        })
    }

    /// An administrator's reset: a one-time password (must be changed at next sign-in),
    /// every session ended and every API token revoked. The authenticator is kept, so the
    /// new password alone does not sign anyone in.
    pub fn reset_password(
        &self,
        actor: &Actor,
        username: &str,
        password_hash: &str,
    ) -> Result<CredentialChange, StoreError> {
        self.authorize(
            actor,
            Permission::AccountsManage,
            Action::AccountResetPassword,
            "account",
            "",
        )?;
        let account = self
            .account_by_username(username)?
            .ok_or_else(|| StoreError::NotFound("account".into()))?;
        let id = account.staff.id.to_string();
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            tx.execute(
                "UPDATE accounts SET password_hash = ?, password_checked_at = ?, blocklist_failed = 0, password_must_change = 1 WHERE user_id = ?",
                &[password_hash.into(), now.clone().into(), id.clone().into()],
            )?;
            let c = CredentialChange {
                sessions_ended: end_sessions(tx, &id, None, &now)?,
                tokens_revoked: revoke_tokens(tx, &id, &now)?,
            };
            let mut e = self.entry(
                actor,
                Action::AccountResetPassword,
                "account",
                &id,
                None,
                Outcome::Success,
            )?;
            e.reason = Some(format!(
                "{} sessions ended, {} API tokens revoked",
                c.sessions_ended, c.tokens_revoked
            ));
            pending.push(e);
            Ok(c)
        })
    }
}
