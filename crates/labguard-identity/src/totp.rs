//! Time-based one-time passwords (RFC 6238) for MFA: HMAC-SHA-1, 30-second steps, 6 digits.
//!
//! These are the settings every authenticator app supports (several silently ignore any
//! other algorithm or period in the enrolment URI), so enrolment works on the first try.
//! The code arithmetic is `totp-rs`; this module adds the enrolment URI and QR code, and the
//! replay rule RFC 6238 section 5.2 asks of verifiers: a step, once accepted, is never
//! accepted again, so the caller stores the step [`verify`] returns and passes it back next
//! time.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use zeroize::Zeroizing;

/// Issuer shown in authenticator apps.
pub const ISSUER: &str = "labguard";
/// Seconds per step.
pub const STEP_SECONDS: u64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Bytes of secret for a new enrolment (RFC 4226 recommends 160 bits).
pub const SECRET_LEN: usize = 20;
/// Steps either side of the current one that are still accepted, for clock drift and the
/// time it takes to type the code.
pub const SKEW_STEPS: u64 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    #[error("the TOTP secret must be 16 to 64 bytes")]
    SecretLength,
    #[error("the TOTP secret is not valid base32")]
    SecretEncoding,
    #[error("the account name must be non-empty and must not contain ':'")]
    AccountName,
    #[error("the code must be {DIGITS} digits")]
    CodeFormat,
    #[error("the code is not valid")]
    Invalid,
    /// The code was right but its step was already used. Show the user the same message as
    /// for [`TotpError::Invalid`]; this variant exists for the audit log.
    #[error("the code has already been used")]
    Replayed,
    #[error("could not build the QR code: {0}")]
    Qr(String),
}

/// A shared TOTP secret, wiped from memory when dropped. Store it encrypted at rest: unlike a
/// password hash, it is what the server needs to check codes.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    /// A new secret for enrolment, from 20 bytes of the caller's CSPRNG.
    pub fn from_random_bytes(bytes: [u8; SECRET_LEN]) -> TotpSecret {
        let bytes = Zeroizing::new(bytes);
        TotpSecret(Zeroizing::new(bytes.to_vec()))
    }

    /// A stored secret. RFC 4226 requires at least 128 bits.
    pub fn from_bytes(bytes: &[u8]) -> Result<TotpSecret, TotpError> {
        if !(16..=64).contains(&bytes.len()) {
            return Err(TotpError::SecretLength);
        }
        Ok(TotpSecret(Zeroizing::new(bytes.to_vec())))
    }

    /// A secret in the unpadded RFC 4648 base32 form authenticator apps show.
    pub fn from_base32(text: &str) -> Result<TotpSecret, TotpError> {
        let compact = Zeroizing::new(
            text.chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_uppercase(),
        );
        let secret = totp_rs::Secret::try_from_base32(compact.trim_end_matches('='))
            .map_err(|_| TotpError::SecretEncoding)?;
        TotpSecret::from_bytes(secret.as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Unpadded base32, for users who type the secret in instead of scanning the QR code.
    pub fn to_base32(&self) -> Zeroizing<String> {
        Zeroizing::new(
            self.totp("x")
                .map(|t| t.secret().to_base32())
                .unwrap_or_default(),
        )
    }

    fn totp(&self, account_name: &str) -> Result<totp_rs::Totp, TotpError> {
        let bytes = Zeroizing::new(self.0.to_vec());
        totp_rs::Builder::new()
            .with_algorithm(totp_rs::Algorithm::SHA1)
            .with_digits(DIGITS as u8)
            .with_step_duration(STEP_SECONDS)
            .with_skew(0)
            .with_secret(bytes.to_vec())
            .with_issuer(Some(ISSUER))
            .with_account_name(account_name)
            .build()
            .map_err(|e| match e {
                totp_rs::TotpError::InvalidAccountName { .. }
                | totp_rs::TotpError::AccountNameNotSet => TotpError::AccountName,
                _ => TotpError::SecretLength,
            })
    }
}

fn check_account_name(account_name: &str) -> Result<(), TotpError> {
    if account_name.trim().is_empty()
        || account_name.contains(':')
        || account_name.chars().any(char::is_control)
    {
        return Err(TotpError::AccountName);
    }
    Ok(())
}

/// The `otpauth://totp/labguard:<account>?secret=…&issuer=labguard` URI for enrolment.
/// The URI contains the secret: show it only to the user enrolling, never log it.
pub fn provisioning_uri(
    secret: &TotpSecret,
    account_name: &str,
) -> Result<Zeroizing<String>, TotpError> {
    check_account_name(account_name)?;
    let uri = secret
        .totp(account_name)?
        .to_url()
        .map_err(|_| TotpError::AccountName)?;
    Ok(Zeroizing::new(uri))
}

/// The provisioning URI as a QR code in an SVG document, to embed in the enrolment page.
pub fn provisioning_qr_svg(
    secret: &TotpSecret,
    account_name: &str,
) -> Result<Zeroizing<String>, TotpError> {
    let uri = provisioning_uri(secret, account_name)?;
    // Level M survives a smudged screen and keeps the code small enough to scan easily.
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)
        .map_err(|e| TotpError::Qr(e.to_string()))?;
    let svg = code
        .render::<svg::Color>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    Ok(Zeroizing::new(svg))
}

/// The RFC 6238 step number at `unix_seconds`.
pub fn step_at(unix_seconds: u64) -> u64 {
    unix_seconds / STEP_SECONDS
}

/// Checks `code` at `now_unix`, accepting the current step and one either side, and refusing
/// any step at or before `last_used_step`. On success returns the matched step, which the
/// caller must store as the new `last_used_step` before reporting success.
///
/// Spaces in the code are ignored (apps display "123 456").
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    now_unix: u64,
    last_used_step: Option<u64>,
) -> Result<u64, TotpError> {
    let code = Zeroizing::new(code.chars().filter(|c| *c != ' ').collect::<String>());
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TotpError::CodeFormat);
    }
    // No account name is needed to check codes; "x" satisfies the builder.
    let totp = secret.totp("x")?;
    let now_step = step_at(now_unix);
    let first = now_step.saturating_sub(SKEW_STEPS);
    let last = now_step.saturating_add(SKEW_STEPS);

    let mut accepted = None;
    let mut replayed = false;
    // Oldest first, so that in the (2^-20 likely) case two steps share a code, the one
    // returned is the earliest not yet used. totp-rs compares codes in constant time.
    for step in first..=last {
        let Some(time) = step.checked_mul(STEP_SECONDS) else {
            continue;
        };
        if totp.check(&code, time).is_none() {
            continue;
        }
        if last_used_step.is_some_and(|used| step <= used) {
            replayed = true;
        } else if accepted.is_none() {
            accepted = Some(step);
        }
    }
    match accepted {
        Some(step) => Ok(step),
        None if replayed => Err(TotpError::Replayed),
        None => Err(TotpError::Invalid),
    }
}
