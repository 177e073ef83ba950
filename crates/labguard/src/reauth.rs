//! Re-authentication of the security officer before an attestation: the account must hold
//! the security-officer role, be enabled, and present its password (and a TOTP code when
//! enrolled). The check is labguard-app's throttled one, so failures here count against
//! the same account and source allowance as sign-in, and every outcome is recorded like one.

use anyhow::{bail, Context, Result};
use labguard_app::signin::{
    second_factor_ok, throttle_key, throttled_check, Check, Factor, Guard, ThrottleLocks, Verdict,
};
use labguard_core::Role;
use labguard_identity::{dummy_verify, verify_password, HashParams, ThrottlePolicy};
use labguard_store::{Account, Actor, SignInEvent, Store};
use zeroize::Zeroizing;

const SOURCE: &str = "cli:attest";

/// The password from LABGUARD_OFFICER_PASSWORD, else the first line of standard input.
fn password() -> Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("LABGUARD_OFFICER_PASSWORD") {
        return Ok(Zeroizing::new(p));
    }
    eprint!("password for the security officer: ");
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(Zeroizing::new(
        line.trim_end_matches(['\r', '\n']).to_string(),
    ))
}

pub fn security_officer(store: &Store, username: &str, code: Option<&str>) -> Result<Actor> {
    let password = password()?;
    let key = throttle_key(username);
    let account = store.account_by_username(&key)?;
    let (policy, locks) = (ThrottlePolicy::default(), ThrottleLocks::default());
    let now = chrono::Utc::now();
    let g = Guard {
        store,
        policy: &policy,
        locks: &locks,
        now,
    };
    let mut needs_code = false;
    let verdict = throttled_check(&g, &key, account.as_ref(), SOURCE, |store| {
        check(
            store,
            account.as_ref(),
            &password,
            code,
            &mut needs_code,
            now,
        )
    })?;
    match (verdict, account) {
        (Verdict::Passed, Some(a)) => {
            store.record_sign_in(Some(&a), SOURCE, SignInEvent::MfaAccepted)?;
            Ok(a.actor())
        }
        (Verdict::Throttled(_), _) => bail!(
            "re-authentication refused: too many failed attempts for this account or here; \
             wait and try again, or ask an administrator to unlock"
        ),
        _ if needs_code => bail!("this security officer uses MFA: pass --totp CODE"),
        _ => bail!(
            "re-authentication failed: wrong username, password or code, or not a security officer"
        ),
    }
}

/// Password (the first factor, so a wrong one burns no code), then the TOTP code when the
/// account has MFA. `needs_code` is set when only the code was missing.
fn check(
    store: &Store,
    account: Option<&Account>,
    password: &str,
    code: Option<&str>,
    needs_code: &mut bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Check, labguard_app::error::AppError> {
    let Some(a) = account else {
        // Same work for a name that does not exist, so timing tells nothing.
        dummy_verify(password, &HashParams::default());
        return Ok(Check::Failed(SignInEvent::PasswordRejected));
    };
    if a.is_disabled()
        || a.staff.role != Role::SecurityOfficer
        || !verify_password(password, &a.password_hash)
    {
        return Ok(Check::Failed(SignInEvent::PasswordRejected));
    }
    if !a.mfa_enrolled {
        return Ok(Check::Passed);
    }
    let Some(code) = code else {
        *needs_code = true;
        return Ok(Check::Failed(SignInEvent::MfaRejected));
    };
    Ok(
        if second_factor_ok(store, a, Factor::Totp(code), SOURCE, now)? {
            Check::Passed
        } else {
            Check::Failed(SignInEvent::MfaRejected)
        },
    )
}
