//! `labguard users`: accounts from the console (first administrator, scripts), and the
//! access review.

use anyhow::{anyhow, Result};
use clap::Subcommand;
use labguard_core::Role;
use labguard_identity::{recovery, totp, HashParams, TotpSecret};
use labguard_store::{Actor, Store};

use crate::opts::{emit, Global};

#[derive(Subcommand)]
pub enum UsersCmd {
    /// Create an account; prints its one-time password and TOTP enrolment.
    Add {
        #[arg(long)]
        username: String,
        /// phlebotomist, front-desk, lab-technologist, pathologist, security-officer, auditor, administrator
        #[arg(long)]
        role: String,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long, default_value = "")]
        email: String,
    },
    /// Disable a leaver: ends their sessions and revokes their API tokens at once.
    Disable { username: String },
    /// A leaver: record when their employment ended, then disable them at once. The
    /// compliance check wants the account disabled within 1 hour of --left-at.
    Leave {
        username: String,
        /// When employment ended (RFC 3339; default now).
        #[arg(long)]
        left_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Clear a sign-in lock.
    Unlock { username: String },
    /// Every account with role, MFA status and last sign-in.
    List,
}

/// What `users add` hands over once. Secrets: print, never log.
#[derive(serde::Serialize)]
pub struct Credentials {
    pub username: String,
    pub role: String,
    pub password: String,
    pub totp_secret: String,
    pub otpauth_uri: String,
    pub recovery_codes: Vec<String>,
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| anyhow!("random: {e}"))?;
    Ok(b)
}

/// Creates an account with a random password and an enrolled TOTP secret. With
/// `one_time`, the password must be changed at first sign-in.
pub fn create(
    store: &Store,
    username: &str,
    display: &str,
    role: Role,
    email: &str,
    one_time: bool,
) -> Result<Credentials> {
    let op = Actor::operator();
    let (account, password) = labguard_app::accounts::provision_account_with(
        store,
        &op,
        username,
        display,
        role,
        email,
        &HashParams::default(),
        one_time,
    )?;
    let user = account.staff.id.to_string();
    let secret = TotpSecret::from_random_bytes(random::<{ totp::SECRET_LEN }>()?);
    store.start_mfa_enrollment(&op, &user, secret.as_bytes())?;
    let bytes = random::<{ recovery::DEFAULT_COUNT * recovery::BYTES_PER_CODE }>()?;
    let codes = recovery::generate(recovery::DEFAULT_COUNT, &bytes, chrono::Utc::now())?;
    store.confirm_mfa(
        &op,
        &user,
        &serde_json::to_string(&codes.stored)?,
        None,
        None,
    )?;
    Ok(Credentials {
        username: username.into(),
        role: role.code().into(),
        password: password.to_string(),
        totp_secret: secret.to_base32().to_string(),
        otpauth_uri: totp::provisioning_uri(&secret, username)?.to_string(),
        recovery_codes: codes.plaintext.iter().map(|c| c.to_string()).collect(),
    })
}

pub fn run(g: &Global, cmd: UsersCmd) -> Result<()> {
    let store = g.open()?;
    let op = Actor::operator();
    match cmd {
        UsersCmd::Add {
            username,
            role,
            display_name,
            email,
        } => {
            let role = Role::from_code(&role)?;
            let display = display_name.unwrap_or_else(|| username.clone());
            let c = create(&store, &username, &display, role, &email, true)?;
            emit(g, &c, || {
                println!("created {} ({})", c.username, c.role);
                println!(
                    "one-time password: {} (must be changed at first sign-in)",
                    c.password
                );
                println!("TOTP secret:       {}", c.totp_secret);
                println!("enrolment URI:     {}", c.otpauth_uri);
                println!("recovery codes:    {}", c.recovery_codes.join(" "));
                println!("hand these over in person; they are not shown again");
            })?;
        }
        UsersCmd::Disable { username } => {
            let (s, t) = store.disable_account(&op, &username)?;
            println!("disabled {username}: {s} sessions ended, {t} API tokens revoked");
        }
        UsersCmd::Leave { username, left_at } => {
            let left = left_at.unwrap_or_else(chrono::Utc::now);
            store.record_departure(&op, &username, left)?;
            let (s, t) = store.disable_account(&op, &username)?;
            println!(
                "{username} left at {left}: disabled, {s} sessions ended, {t} API tokens revoked"
            );
        }
        UsersCmd::Unlock { username } => {
            store.unlock_account(&op, &username)?;
            println!("unlocked {username}");
        }
        UsersCmd::List => {
            let all = store.list_accounts(&op)?;
            let rows: Vec<_> = all
                .iter()
                .map(labguard_app::accounts::AccountOut::from)
                .collect();
            emit(g, &rows, || {
                println!(
                    "{:<20} {:<18} {:<5} {:<8} last sign-in",
                    "username", "role", "mfa", "status"
                );
                for a in &rows {
                    println!(
                        "{:<20} {:<18} {:<5} {:<8} {}",
                        a.username,
                        a.role,
                        if a.mfa_enrolled { "yes" } else { "NO" },
                        if a.disabled { "disabled" } else { "active" },
                        a.last_sign_in
                            .map(|t| t.to_rfc3339())
                            .unwrap_or_else(|| "never".into())
                    );
                }
            })?;
        }
    }
    store.checkpoint()?;
    Ok(())
}

/// `labguard access-review`: who holds which role, dormant accounts, missing MFA.
pub fn access_review(g: &Global) -> Result<()> {
    let store = g.open()?;
    let report =
        labguard_app::accounts::review_report(&store, &Actor::operator(), chrono::Utc::now())?;
    emit(g, &report, || {
        let c = &report.counts;
        println!(
            "{} accounts: {} enabled, {} disabled, {} dormant, {} missing MFA, {} need action",
            c.total, c.enabled, c.disabled, c.dormant, c.missing_mfa, c.needing_action
        );
        for a in &report.accounts {
            let f: Vec<String> = a.findings.iter().map(|f| f.describe()).collect();
            println!(
                "{:<20} {:<18} {}{}",
                a.username,
                a.role.code(),
                if a.disabled { "disabled " } else { "" },
                if f.is_empty() {
                    "ok".into()
                } else {
                    f.join("; ")
                }
            );
        }
    })?;
    // The review itself is evidence for 164.308(a)(4)(ii)(C): record that it was done.
    store.record_run(
        &Actor::operator(),
        labguard_store::run_kind::ACCESS_REVIEW,
        true,
        None,
        &serde_json::json!({"accounts": report.counts.total, "needing_action": report.counts.needing_action}),
    )?;
    store.checkpoint()?;
    Ok(())
}
