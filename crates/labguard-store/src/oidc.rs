//! Single sign-on links (migration v19): a directory identity (issuer + subject) to one staff
//! account, and the latest refresh token, sealed like a TOTP secret. These calls run before
//! anyone is known (sign-in) or as the system (the periodic directory check), so they take
//! no actor; each step is audited here.

use labguard_audit::Outcome;
use labguard_core::Staff;
use labguard_crypto::FieldRef;
use zeroize::Zeroizing;

use crate::accounts::{account_select, decode_account, Account};
use crate::action::Action;
use crate::actor::{Actor, ActorKind};
use crate::backend::Value;
use crate::store::{rfc3339, Store};
use crate::StoreError;

/// What a directory sign-in came to, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoEvent {
    /// Signed in (the session may still wait for labguard's own second factor).
    SignedIn,
    /// Refused; the reason names a rule, never a claim's value.
    Refused(&'static str),
}

/// An account whose directory standing the periodic check must confirm.
pub struct SsoCheck {
    pub user_id: String,
    pub refresh_token: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for SsoCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoCheck")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// The password hash of an account that signs in only through the directory: not a PHC
/// string, so no password ever verifies against it.
pub const SSO_ONLY_PASSWORD: &str = "!sso-only";

fn sso_actor() -> Actor {
    Actor {
        id: "sso".into(),
        kind: ActorKind::System,
    }
}

fn clip(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

impl Store {
    /// The account linked to this directory identity.
    pub fn sso_account(&self, issuer: &str, subject: &str) -> Result<Option<Account>, StoreError> {
        let mut tx = self.backend.begin()?;
        let sql = format!(
            "{} JOIN oidc_links l ON l.user_id = s.id WHERE l.issuer = ? AND l.subject = ?",
            account_select()
        );
        let rows = tx.query(&sql, &[issuer.into(), subject.into()])?;
        rows.first().map(|r| decode_account(r)).transpose()
    }

    /// First sign-in: creates the staff member, an account no password opens, and the link,
    /// in one transaction, audited as an account creation by single sign-on.
    pub fn create_sso_account(
        &self,
        staff: &Staff,
        issuer: &str,
        subject: &str,
    ) -> Result<Account, StoreError> {
        let id = staff.id.to_string();
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
                    Value::Int(1),
                    now.clone().into(),
                ],
            )?;
            tx.execute(
                "INSERT INTO accounts (user_id, password_hash, password_checked_at, blocklist_failed, created_at, password_must_change) VALUES (?, ?, ?, 0, ?, 0)",
                &[id.clone().into(), SSO_ONLY_PASSWORD.into(), now.clone().into(), now.clone().into()],
            )?;
            tx.execute(
                "INSERT INTO oidc_links (issuer, subject, user_id, created_at) VALUES (?, ?, ?, ?)",
                &[issuer.into(), subject.into(), id.clone().into(), now.clone().into()],
            )?;
            let mut e = self.entry(&sso_actor(), Action::AccountCreate, "account", &id, None, Outcome::Success)?;
            e.reason = Some(format!("single sign-on, role {}", staff.role.code()));
            pending.push(e);
            Ok(())
        })?;
        self.account_by_id(&id)?
            .ok_or_else(|| StoreError::NotFound("account".into()))
    }

    /// Audits a directory sign-in step. `source` is the client address.
    pub fn record_sso(
        &self,
        user: Option<&Account>,
        source: &str,
        event: SsoEvent,
    ) -> Result<(), StoreError> {
        let (action, outcome, why) = match &event {
            SsoEvent::SignedIn => (Action::AuthSsoSignIn, Outcome::Success, "signed in"),
            SsoEvent::Refused(why) => (Action::AuthSsoRefused, Outcome::Denied, *why),
        };
        let actor = user.map(Account::actor).unwrap_or_else(sso_actor);
        let id = user.map(|a| a.staff.id.to_string()).unwrap_or_default();
        let mut e = self.entry(&actor, action, "account", &id, None, outcome)?;
        e.reason = Some(format!("{}; source {}", clip(why, 80), clip(source, 64)));
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            if event == SsoEvent::SignedIn {
                tx.execute(
                    "UPDATE accounts SET last_sign_in = ? WHERE user_id = ?",
                    &[now.clone().into(), id.clone().into()],
                )?;
            }
            pending.push(e.clone());
            Ok(())
        })
    }

    /// Keeps the newest refresh token for the account (sealed), or forgets it (`None`).
    pub fn save_sso_refresh(&self, user_id: &str, token: Option<&str>) -> Result<(), StoreError> {
        let now = rfc3339(self.now());
        let (ct, version) = match token {
            Some(t) => {
                let ring = self.ring()?;
                let ct = ring.seal(
                    &FieldRef::new("oidc_links", user_id, "refresh_token"),
                    t.as_bytes(),
                )?;
                (
                    Value::Blob(ct),
                    Value::Int(i64::from(ring.active_version())),
                )
            }
            None => (Value::Null, Value::Null),
        };
        let mut tx = self.backend.begin()?;
        tx.execute(
            "UPDATE oidc_links SET refresh_token = ?, refresh_key_version = ?, checked_at = ? WHERE user_id = ?",
            &[ct, version, now.into(), user_id.into()],
        )?;
        tx.commit()
    }

    /// Linked accounts that hold a live session: the directory must still vouch for each.
    pub fn sso_checks_due(&self) -> Result<Vec<SsoCheck>, StoreError> {
        let mut tx = self.backend.begin()?;
        let rows = tx.query(
            "SELECT l.user_id, l.refresh_token FROM oidc_links l WHERE EXISTS \
             (SELECT 1 FROM sessions x WHERE x.user_id = l.user_id AND x.revoked_at IS NULL) ORDER BY l.user_id",
            &[],
        )?;
        drop(tx);
        let ring = self.ring()?;
        rows.iter()
            .map(|r| {
                let [user, rt] = r.as_slice() else {
                    return Err(StoreError::Corrupt("oidc_links row shape".into()));
                };
                let user_id = user.as_text()?.to_string();
                let refresh_token = match rt {
                    Value::Null => None,
                    v => {
                        let pt = ring
                            .open(&FieldRef::new("oidc_links", &user_id, "refresh_token"), v.as_blob()?)
                            .map_err(|_| StoreError::Corrupt(format!("oidc_links row {user_id}, column refresh_token: ciphertext failed authentication")))?;
                        Some(Zeroizing::new(String::from_utf8_lossy(&pt).into_owned()))
                    }
                };
                Ok(SsoCheck { user_id, refresh_token })
            })
            .collect()
    }

    /// Ends every session of a linked account because the directory no longer vouches for
    /// it (refresh refused, or no refresh token to ask with). Returns the sessions ended.
    pub fn end_sso_sessions(&self, user_id: &str, why: &str) -> Result<u64, StoreError> {
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let n = crate::credentials::end_sessions(tx, user_id, None, &now)?;
            tx.execute(
                "UPDATE oidc_links SET refresh_token = NULL, refresh_key_version = NULL, checked_at = ? WHERE user_id = ?",
                &[now.clone().into(), user_id.into()],
            )?;
            let mut e = self.entry(&sso_actor(), Action::AuthSsoSessionEnded, "account", user_id, None, Outcome::Success)?;
            e.reason = Some(format!("{n} sessions ended: {}", clip(why, 80)));
            pending.push(e);
            Ok(n)
        })
    }
}
