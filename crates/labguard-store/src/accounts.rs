//! Sign-in accounts: the credentials of a staff member (password hash, TOTP secret, recovery
//! code digests), their sign-in history and the throttle counters. Authentication rules live
//! in `labguard-identity`; this module only stores and audits.
//!
//! The TOTP secret is the one credential the server must be able to read back, so it is
//! sealed with the data key like patient data (bound to `accounts/<user id>/totp_secret`).

use chrono::{DateTime, Utc};
use labguard_audit::Outcome;
use labguard_core::{Id, Permission, Role, Staff};
use labguard_crypto::FieldRef;
use zeroize::Zeroizing;

use crate::action::Action;
use crate::actor::{Actor, ActorKind};
use crate::backend::{Row, Tx, Value};
pub(crate) use crate::codec::{opt_time, parse_time};
use crate::store::{rfc3339, Store};
use crate::StoreError;

/// One account: the staff row and its credentials. `password_hash` is a PHC string; it is
/// not a secret in the way a password is, but never print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub staff: Staff,
    pub password_hash: String,
    pub password_checked_at: DateTime<Utc>,
    pub blocklist_failed: bool,
    pub has_totp_secret: bool,
    pub totp_last_step: Option<u64>,
    pub mfa_enrolled: bool,
    /// JSON of `labguard_identity::RecoveryCodeSet` (digests only).
    pub recovery_codes: Option<String>,
    pub last_sign_in: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Signed in with a one-time password: only a password change is allowed until done.
    pub password_must_change: bool,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("user", &self.staff.id)
            .field("username", &self.staff.username)
            .field("role", &self.staff.role)
            .field("mfa_enrolled", &self.mfa_enrolled)
            .field("disabled", &self.disabled_at.is_some())
            .finish_non_exhaustive()
    }
}

impl Account {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some() || !self.staff.active
    }

    /// The store actor this account acts as once signed in.
    pub fn actor(&self) -> Actor {
        Actor::staff(self.staff.id.to_string(), self.staff.role)
    }
}

/// What happened at a sign-in step, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInEvent {
    PasswordAccepted,
    PasswordRejected,
    MfaAccepted,
    MfaRejected,
    RecoveryCodeUsed,
    /// Refused by the throttle before any credential was checked.
    Throttled,
    /// This failure locked the account or the source address.
    Locked,
    SignedOut,
}

impl SignInEvent {
    fn action(self) -> (Action, Outcome) {
        match self {
            SignInEvent::PasswordAccepted => (Action::AuthPassword, Outcome::Success),
            SignInEvent::PasswordRejected => (Action::AuthSignInFailure, Outcome::Denied),
            SignInEvent::MfaAccepted => (Action::AuthSignIn, Outcome::Success),
            SignInEvent::MfaRejected => (Action::AuthSignInFailure, Outcome::Denied),
            SignInEvent::RecoveryCodeUsed => (Action::AuthRecoveryCode, Outcome::Success),
            SignInEvent::Throttled => (Action::AuthThrottled, Outcome::Denied),
            SignInEvent::Locked => (Action::AuthLock, Outcome::Denied),
            SignInEvent::SignedOut => (Action::AuthSignOut, Outcome::Success),
        }
    }
}

pub(crate) const ACCOUNT_COLS: &str = "s.id, s.username, s.display_name, s.role, s.email, s.active, \
     a.password_hash, a.password_checked_at, a.blocklist_failed, CASE WHEN a.totp_secret IS NULL THEN 0 ELSE 1 END, \
     a.totp_last_step, a.mfa_enrolled, a.recovery_codes, a.last_sign_in, a.disabled_at, a.created_at, a.password_must_change";

pub(crate) fn account_select() -> String {
    format!("SELECT {ACCOUNT_COLS} FROM accounts a JOIN staff s ON s.id = a.user_id")
}

fn flag(v: &Value) -> Result<bool, StoreError> {
    match v {
        Value::Int(i) => Ok(*i != 0),
        _ => Err(StoreError::Corrupt("expected a flag column".into())),
    }
}

/// Decodes the first 17 columns of a row selected with [`account_select`].
pub(crate) fn decode_account(r: &[Value]) -> Result<Account, StoreError> {
    let col = |i: usize| {
        r.get(i)
            .ok_or_else(|| StoreError::Corrupt("account row shape".into()))
    };
    Ok(Account {
        staff: Staff {
            id: Id::parse_str(col(0)?.as_text()?)
                .map_err(|_| StoreError::Corrupt("staff id".into()))?,
            username: col(1)?.as_text()?.into(),
            display_name: col(2)?.as_text()?.into(),
            role: Role::from_code(col(3)?.as_text()?)?,
            email: col(4)?.as_text()?.into(),
            active: col(5)?.as_int()? != 0,
        },
        password_hash: col(6)?.as_text()?.into(),
        password_checked_at: parse_time(col(7)?)?,
        blocklist_failed: flag(col(8)?)?,
        has_totp_secret: flag(col(9)?)?,
        totp_last_step: match col(10)? {
            Value::Null => None,
            v => Some(
                u64::try_from(v.as_int()?).map_err(|_| StoreError::Corrupt("totp step".into()))?,
            ),
        },
        mfa_enrolled: flag(col(11)?)?,
        recovery_codes: col(12)?.opt_text()?.map(str::to_string),
        last_sign_in: opt_time(col(13)?)?,
        disabled_at: opt_time(col(14)?)?,
        created_at: parse_time(col(15)?)?,
        password_must_change: flag(col(16)?)?,
    })
}

fn first_account(rows: Vec<Row>) -> Result<Option<Account>, StoreError> {
    rows.first().map(|r| decode_account(r)).transpose()
}

impl Store {
    /// Creates a staff member and their account in one transaction.
    pub fn create_account(
        &self,
        actor: &Actor,
        staff: &Staff,
        password_hash: &str,
        blocklist_failed: bool,
    ) -> Result<(), StoreError> {
        self.create_account_with(actor, staff, password_hash, blocklist_failed, false)
    }

    /// [`Store::create_account`], optionally with a one-time password that must be changed
    /// at first sign-in.
    pub fn create_account_with(
        &self,
        actor: &Actor,
        staff: &Staff,
        password_hash: &str,
        blocklist_failed: bool,
        must_change: bool,
    ) -> Result<(), StoreError> {
        let id = staff.id.to_string();
        self.authorize(
            actor,
            Permission::AccountsManage,
            Action::AccountCreate,
            "account",
            &id,
        )?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            tx.execute(
                "INSERT INTO staff (id, username, display_name, role, email, active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                &[
                    id.clone().into(),
                    staff.username.clone().into(),
                    staff.display_name.clone().into(),
                    staff.role.code().into(),
                    staff.email.clone().into(),
                    Value::Int(i64::from(staff.active)),
                    now.clone().into(),
                ],
            )?;
            tx.execute(
                "INSERT INTO accounts (user_id, password_hash, password_checked_at, blocklist_failed, created_at, password_must_change) VALUES (?, ?, ?, ?, ?, ?)",
                &[
                    id.clone().into(),
                    password_hash.into(),
                    now.clone().into(),
                    Value::Int(i64::from(blocklist_failed)),
                    now.clone().into(),
                    Value::Int(i64::from(must_change)),
                ],
            )?;
            pending.push(self.entry(actor, Action::AccountCreate, "account", &id, None, Outcome::Success)?);
            Ok(())
        })
    }

    /// The account with this username (case-insensitive). Used by sign-in before anyone is
    /// authenticated, so it is not audited itself: the sign-in outcome is.
    pub fn account_by_username(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let mut tx = self.backend.begin()?;
        let sql = format!("{} WHERE lower(s.username) = lower(?)", account_select());
        first_account(tx.query(&sql, &[username.trim().into()])?)
    }

    pub fn account_by_id(&self, user_id: &str) -> Result<Option<Account>, StoreError> {
        let mut tx = self.backend.begin()?;
        let sql = format!("{} WHERE s.id = ?", account_select());
        first_account(tx.query(&sql, &[user_id.into()])?)
    }

    /// Every account, for administrators and access reviews.
    pub fn list_accounts(&self, actor: &Actor) -> Result<Vec<Account>, StoreError> {
        if !(actor.may(Permission::AccountsManage) || actor.may(Permission::ReportsRead)) {
            self.authorize(
                actor,
                Permission::AccountsManage,
                Action::AccountList,
                "account",
                "",
            )?;
        }
        self.write(|tx, pending| {
            let sql = format!("{} ORDER BY s.username", account_select());
            let out = tx
                .query(&sql, &[])?
                .iter()
                .map(|r| decode_account(r))
                .collect::<Result<Vec<_>, _>>()?;
            pending.push(self.entry(
                actor,
                Action::AccountList,
                "account",
                "",
                None,
                Outcome::Success,
            )?);
            Ok(out)
        })
    }

    /// Only the account holder (or the console operator) may change their credentials.
    pub(crate) fn self_or_operator(
        &self,
        actor: &Actor,
        user_id: &str,
        action: Action,
    ) -> Result<(), StoreError> {
        let ok = match actor.kind {
            ActorKind::Operator | ActorKind::System => true,
            ActorKind::Staff(_) => actor.id == user_id,
            ActorKind::Device => false,
        };
        if ok {
            return Ok(());
        }
        self.append_entries(&[self.entry(
            actor,
            action,
            "account",
            user_id,
            None,
            Outcome::Denied,
        )?])?;
        Err(StoreError::Denied(format!(
            "only the account holder may {action}"
        )))
    }

    /// Replaces the password hash (a password change or a rehash with new parameters).
    pub fn set_password_hash(
        &self,
        actor: &Actor,
        user_id: &str,
        password_hash: &str,
        blocklist_failed: bool,
    ) -> Result<(), StoreError> {
        self.self_or_operator(actor, user_id, Action::AccountPassword)?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let n = tx.execute(
                "UPDATE accounts SET password_hash = ?, password_checked_at = ?, blocklist_failed = ?, password_must_change = 0 WHERE user_id = ?",
                &[password_hash.into(), now.clone().into(), Value::Int(i64::from(blocklist_failed)), user_id.into()],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound("account".into()));
            }
            pending.push(self.entry(actor, Action::AccountPassword, "account", user_id, None, Outcome::Success)?);
            Ok(())
        })
    }

    /// The account's TOTP secret, unsealed, for checking a code.
    pub fn totp_secret(&self, user_id: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        self.sealed_secret(user_id, "totp_secret")
    }

    /// The secret of an enrolment started but not yet confirmed, unsealed.
    pub fn pending_totp_secret(
        &self,
        user_id: &str,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        self.sealed_secret(user_id, "pending_totp_secret")
    }

    /// `column` is one of our two fixed column names, never input.
    fn sealed_secret(
        &self,
        user_id: &str,
        column: &'static str,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let mut tx = self.backend.begin()?;
        let rows = tx.query(
            &format!("SELECT {column} FROM accounts WHERE user_id = ? AND {column} IS NOT NULL"),
            &[user_id.into()],
        )?;
        drop(tx);
        let Some(v) = rows.into_iter().next().and_then(|r| r.into_iter().next()) else {
            return Ok(None);
        };
        let pt = self
            .ring()?
            .open(&FieldRef::new("accounts", user_id, column), v.as_blob()?)
            .map_err(|e| match e {
                labguard_crypto::CryptoError::Authentication => StoreError::Corrupt(format!(
                    "accounts row {user_id}, column {column}: ciphertext failed authentication"
                )),
                other => StoreError::Crypto(other),
            })?;
        Ok(Some(Zeroizing::new(pt.to_vec())))
    }

    /// Records `step` as the last accepted TOTP step, only if it is newer than the stored
    /// one. The compare-and-set makes a replay lose even when two requests race.
    pub fn accept_totp_step(&self, user_id: &str, step: u64) -> Result<bool, StoreError> {
        let step = i64::try_from(step).map_err(|_| StoreError::Backend("step range".into()))?;
        let mut tx = self.backend.begin()?;
        let n = tx.execute(
            "UPDATE accounts SET totp_last_step = ? WHERE user_id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)",
            &[Value::Int(step), user_id.into(), Value::Int(step)],
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// Replaces the stored recovery codes (after one was consumed, or a new set issued).
    pub fn set_recovery_codes(&self, user_id: &str, json: &str) -> Result<(), StoreError> {
        let mut tx = self.backend.begin()?;
        tx.execute(
            "UPDATE accounts SET recovery_codes = ? WHERE user_id = ?",
            &[json.into(), user_id.into()],
        )?;
        tx.commit()
    }

    /// Audits a sign-in step. `user_id` is `None` when the username matched no account: the
    /// submitted name is not recorded, since people sometimes type a password into it.
    pub fn record_sign_in(
        &self,
        user: Option<&Account>,
        source: &str,
        event: SignInEvent,
    ) -> Result<(), StoreError> {
        let (action, outcome) = event.action();
        let actor = match user {
            Some(a) => a.actor(),
            None => Actor {
                id: "unknown-account".into(),
                kind: ActorKind::System,
            },
        };
        let id = user.map(|a| a.staff.id.to_string()).unwrap_or_default();
        let mut e = self.entry(&actor, action, "account", &id, None, outcome)?;
        e.reason = Some(format!(
            "source {}",
            source.chars().take(64).collect::<String>()
        ));
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            if event == SignInEvent::MfaAccepted {
                tx.execute(
                    "UPDATE accounts SET last_sign_in = ? WHERE user_id = ?",
                    &[now.clone().into(), id.clone().into()],
                )?;
            }
            pending.push(e.clone());
            Ok(())
        })
    }

    /// The stored throttle counters (JSON) for an account name and a source address.
    pub fn throttle_counters(
        &self,
        account: &str,
        source: &str,
    ) -> Result<(Option<String>, Option<String>), StoreError> {
        let mut tx = self.backend.begin()?;
        let mut get = |tier: &str, key: &str| -> Result<Option<String>, StoreError> {
            tx.query(
                "SELECT counter FROM sign_in_throttle WHERE tier = ? AND key = ?",
                &[tier.into(), key.into()],
            )?
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next())
            .map(|v| v.as_text().map(str::to_string))
            .transpose()
        };
        Ok((get("account", account)?, get("source", source)?))
    }

    /// Saves (or, with `None`, clears) the counters for an account name and a source.
    pub fn save_throttle_counters(
        &self,
        account: (&str, Option<&str>),
        source: (&str, Option<&str>),
    ) -> Result<(), StoreError> {
        let now = rfc3339(self.now());
        let mut tx = self.backend.begin()?;
        for (tier, (key, counter)) in [("account", account), ("source", source)] {
            tx.execute(
                "DELETE FROM sign_in_throttle WHERE tier = ? AND key = ?",
                &[tier.into(), key.into()],
            )?;
            if let Some(c) = counter {
                tx.execute(
                    "INSERT INTO sign_in_throttle (tier, key, counter, updated_at) VALUES (?, ?, ?, ?)",
                    &[tier.into(), key.into(), c.into(), now.clone().into()],
                )?;
            }
        }
        tx.commit()
    }

    /// An administrator's unlock: clears the account's failure count and lock.
    pub fn unlock_account(&self, actor: &Actor, username: &str) -> Result<(), StoreError> {
        self.authorize(
            actor,
            Permission::AccountsManage,
            Action::AuthUnlock,
            "account",
            "",
        )?;
        let account = self
            .account_by_username(username)?
            .ok_or_else(|| StoreError::NotFound("account".into()))?;
        let id = account.staff.id.to_string();
        let key = account.staff.username.to_lowercase();
        self.write(|tx, pending| {
            tx.execute(
                "DELETE FROM sign_in_throttle WHERE tier = 'account' AND key = ?",
                &[key.clone().into()],
            )?;
            pending.push(self.entry(
                actor,
                Action::AuthUnlock,
                "account",
                &id,
                None,
                Outcome::Success,
            )?);
            Ok(())
        })
    }

    /// Disables a leaver's account and, in the same transaction, ends every session and
    /// revokes every API token they hold. Returns (sessions ended, tokens revoked).
    pub fn disable_account(&self, actor: &Actor, username: &str) -> Result<(u64, u64), StoreError> {
        self.authorize(
            actor,
            Permission::AccountsManage,
            Action::AccountDisable,
            "account",
            "",
        )?;
        let account = self
            .account_by_username(username)?
            .ok_or_else(|| StoreError::NotFound("account".into()))?;
        let id = account.staff.id.to_string();
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            disable_in(tx, &id, &now)?;
            let s = crate::credentials::end_sessions(tx, &id, None, &now)?;
            let t = crate::credentials::revoke_tokens(tx, &id, &now)?;
            let mut e = self.entry(
                actor,
                Action::AccountDisable,
                "account",
                &id,
                None,
                Outcome::Success,
            )?;
            e.reason = Some(format!("{s} sessions ended, {t} API tokens revoked"));
            pending.push(e);
            Ok((s, t))
        })
    }
}

fn disable_in(tx: &mut dyn Tx, id: &str, now: &str) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE accounts SET disabled_at = ? WHERE user_id = ? AND disabled_at IS NULL",
        &[now.into(), id.into()],
    )?;
    tx.execute("UPDATE staff SET active = 0 WHERE id = ?", &[id.into()])?;
    Ok(())
}

impl Store {
    /// Re-encrypts the identity secrets sealed with the data key (TOTP secrets, pending
    /// ones, break-glass reasons, single sign-on refresh tokens) under key version `to`. Key rotation calls it before retiring old keys, or
    /// those rows would become unreadable and every user would lose their second factor.
    pub(crate) fn reseal_identity_secrets(&self, to: u32) -> Result<u64, StoreError> {
        let to_v = i64::from(to);
        self.write(|tx, _pending| {
            let ring = self.ring()?;
            let totp = reseal_column(
                tx,
                &ring,
                to_v,
                "SELECT user_id, totp_secret FROM accounts WHERE totp_secret IS NOT NULL AND (totp_key_version IS NULL OR totp_key_version < ?)",
                ("accounts", "totp_secret"),
                "UPDATE accounts SET totp_secret = ?, totp_key_version = ? WHERE user_id = ?",
            )?;
            let reasons = reseal_column(
                tx,
                &ring,
                to_v,
                "SELECT id, reason FROM break_glass WHERE key_version < ?",
                ("break_glass", "reason"),
                "UPDATE break_glass SET reason = ?, key_version = ? WHERE id = ?",
            )?;
            let pending = reseal_column(
                tx,
                &ring,
                to_v,
                "SELECT user_id, pending_totp_secret FROM accounts WHERE pending_totp_secret IS NOT NULL AND (pending_totp_key_version IS NULL OR pending_totp_key_version < ?)",
                ("accounts", "pending_totp_secret"),
                "UPDATE accounts SET pending_totp_secret = ?, pending_totp_key_version = ? WHERE user_id = ?",
            )?;
            let refresh = reseal_column(
                tx,
                &ring,
                to_v,
                "SELECT user_id, refresh_token FROM oidc_links WHERE refresh_token IS NOT NULL AND (refresh_key_version IS NULL OR refresh_key_version < ?)",
                ("oidc_links", "refresh_token"),
                "UPDATE oidc_links SET refresh_token = ?, refresh_key_version = ? WHERE user_id = ?",
            )?;
            Ok(totp + reasons + pending + refresh)
        })
    }
}

/// Re-encrypts one encrypted column under key version `to`: `select` yields (id, ciphertext)
/// rows still on an older version, `update` takes (ciphertext, version, id).
pub(crate) fn reseal_column(
    tx: &mut dyn crate::backend::Tx,
    ring: &labguard_crypto::KeyRing,
    to: i64,
    select: &str,
    (table, column): (&str, &str),
    update: &str,
) -> Result<u64, StoreError> {
    let mut n = 0u64;
    for r in tx.query(select, &[Value::Int(to)])? {
        let [id, ct] = r.as_slice() else {
            return Err(StoreError::Corrupt(format!("{table} row shape")));
        };
        let id = id.as_text()?;
        let new = crate::table::reseal(ring, table, id, column, ct)?;
        tx.execute(update, &[new, Value::Int(to), id.into()])?;
        n += 1;
    }
    Ok(n)
}
