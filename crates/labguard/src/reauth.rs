//! Re-authentication of the security officer before an attestation: the account must hold
//! the security-officer role, be enabled, and present its password (and a TOTP code when
//! enrolled). Every outcome is recorded like a sign-in.

use anyhow::{anyhow, bail, Context, Result};
use labguard_core::Role;
use labguard_identity::{totp, verify_password, TotpSecret};
use labguard_store::{Actor, SignInEvent, Store};
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
    let refused = || {
        anyhow!(
            "re-authentication failed: wrong username, password or code, or not a security officer"
        )
    };
    let password = password()?;
    let Some(a) = store.account_by_username(username)? else {
        bail!(refused());
    };
    if a.is_disabled()
        || a.staff.role != Role::SecurityOfficer
        || !verify_password(&password, &a.password_hash)
    {
        store.record_sign_in(Some(&a), SOURCE, SignInEvent::PasswordRejected)?;
        bail!(refused());
    }
    if a.mfa_enrolled {
        let Some(code) = code else {
            store.record_sign_in(Some(&a), SOURCE, SignInEvent::MfaRejected)?;
            bail!("this security officer uses MFA: pass --totp CODE");
        };
        let user = a.staff.id.to_string();
        let secret = store.totp_secret(&user)?.ok_or_else(refused)?;
        let secret = TotpSecret::from_bytes(&secret).map_err(|_| refused())?;
        let unix = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
        let ok = match totp::verify(&secret, code, unix, a.totp_last_step) {
            Ok(step) => store.accept_totp_step(&user, step)?,
            Err(_) => false,
        };
        if !ok {
            store.record_sign_in(Some(&a), SOURCE, SignInEvent::MfaRejected)?;
            bail!(refused());
        }
    }
    store.record_sign_in(Some(&a), SOURCE, SignInEvent::MfaAccepted)?;
    Ok(a.actor())
}
