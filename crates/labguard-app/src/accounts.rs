//! Account provisioning and the access review, shared by the API, the web UI and
//! `labguard users`.

use chrono::{DateTime, Utc};
use labguard_core::{Id, Role, Staff};
use labguard_identity::{
    hash_password, AccessReviewPolicy, AccessReviewReport, AccountFacts, HashParams,
};
use labguard_store::{Account, Actor, Store, StoreError};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::{random, AppError};

/// An account as listed to administrators: no secrets, no hashes.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountOut {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub mfa_enrolled: bool,
    pub last_sign_in: Option<DateTime<Utc>>,
    pub disabled: bool,
}

impl From<&Account> for AccountOut {
    fn from(a: &Account) -> Self {
        AccountOut {
            user_id: a.staff.id.to_string(),
            username: a.staff.username.clone(),
            display_name: a.staff.display_name.clone(),
            role: a.staff.role.code().into(),
            mfa_enrolled: a.mfa_enrolled,
            last_sign_in: a.last_sign_in,
            disabled: a.is_disabled(),
        }
    }
}

fn username_ok(u: &str) -> bool {
    (2..=64).contains(&u.len())
        && u.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && u.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

/// Creates an account with a random initial password (returned once).
pub fn provision_account(
    store: &Store,
    actor: &Actor,
    username: &str,
    display_name: &str,
    role: Role,
    email: &str,
    params: &HashParams,
) -> Result<(Account, Zeroizing<String>), AppError> {
    provision_account_with(
        store,
        actor,
        username,
        display_name,
        role,
        email,
        params,
        false,
    )
}

/// A random password handed over once: 20 symbols from a 32-letter alphabet, 100 bits,
/// well past any blocklist. No punctuation, so it never starts with `-` on a command line.
pub fn one_time_password() -> Result<Zeroizing<String>, AppError> {
    const ALPHA: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let bytes = Zeroizing::new(random::<20>()?);
    Ok(Zeroizing::new(
        bytes
            .iter()
            .map(|b| char::from(ALPHA[usize::from(*b) % 32]))
            .collect::<String>(),
    ))
}

fn check_fields(username: &str, display_name: &str, email: &str) -> Result<(), AppError> {
    if !username_ok(username) {
        return Err(AppError::Invalid(
            "username must be 2-64 characters: lower-case letters, digits, '.', '_' or '-'",
        ));
    }
    // PostgreSQL text cannot hold NUL, and no name or address needs control characters.
    if display_name
        .chars()
        .chain(email.chars())
        .any(char::is_control)
    {
        return Err(AppError::Invalid(
            "display name and email may not contain control characters",
        ));
    }
    if display_name.chars().count() > 100 || email.chars().count() > 200 {
        return Err(AppError::Invalid("display name or email too long"));
    }
    Ok(())
}

/// [`provision_account`]; with `one_time`, the password must be changed at first sign-in
/// (what an administrator hands over is known to two people until then).
#[allow(clippy::too_many_arguments)]
pub fn provision_account_with(
    store: &Store,
    actor: &Actor,
    username: &str,
    display_name: &str,
    role: Role,
    email: &str,
    params: &HashParams,
    one_time: bool,
) -> Result<(Account, Zeroizing<String>), AppError> {
    check_fields(username, display_name, email)?;
    let password = one_time_password()?;
    let salt = random::<16>()?;
    let phc = hash_password(&password, &salt, params)
        .map_err(|_| AppError::Internal("password hashing failed"))?;
    let staff = Staff {
        id: Id::new_v4(),
        username: username.to_string(),
        display_name: display_name.to_string(),
        role,
        email: email.to_string(),
        active: true,
    };
    store.create_account_with(actor, &staff, &phc, false, one_time)?;
    let account = store
        .account_by_id(&staff.id.to_string())?
        .ok_or_else(|| StoreError::NotFound("the account just created".into()))?;
    Ok((account, password))
}

/// Who holds which role, dormant accounts, missing MFA, under the default review policy.
pub fn review_report(
    store: &Store,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<AccessReviewReport, StoreError> {
    let facts: Vec<AccountFacts> = store
        .list_accounts(actor)?
        .iter()
        .map(|a| AccountFacts {
            user: a.staff.id,
            username: a.staff.username.clone(),
            role: a.staff.role,
            created_at: a.created_at,
            last_sign_in: a.last_sign_in,
            mfa_enrolled: a.mfa_enrolled,
            disabled: a.is_disabled(),
        })
        .collect();
    Ok(AccessReviewPolicy::default().review(&facts, now))
}
