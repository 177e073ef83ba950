//! Accounts and authentication logic for labguard, free of I/O.
//!
//! Everything here is a pure function or a plain state machine: the caller (the web server)
//! passes in the current time and any random bytes it needs, and stores whatever state comes
//! back. That keeps every rule testable with fixed inputs and keeps secrets out of places the
//! library cannot see (no clock, no RNG, no files, no network).
//!
//! Modules, by concern:
//! - [`password`]: NIST SP 800-63B rev 4 password policy and Argon2id hashing.
//! - [`totp`]: RFC 6238 one-time codes for MFA, with replay refusal.
//! - [`recovery`]: one-time recovery codes for when the authenticator is lost.
//! - [`throttle`]: failed sign-in tracking per account and per source address.
//! - [`session`]: session IDs, API tokens, session timeouts and CSRF tokens.
//! - [`breakglass`]: time-boxed emergency access to one patient's record.
//! - [`review`]: periodic access review (dormant accounts, missing MFA).
//! - [`oidc`]: single sign-on policy (role-mapping rules, MFA claims, pending flows).
//!
//! Secrets held by this crate are wrapped in [`zeroize::Zeroizing`] so they are wiped when
//! dropped, and secret comparisons are constant time.

pub mod breakglass;
pub mod oidc;
pub mod password;
pub mod recovery;
pub mod review;
pub mod session;
pub mod throttle;
pub mod totp;

pub use breakglass::{BreakGlassError, BreakGlassGrant, BreakGlassPolicy, BreakGlassRequest};
pub use password::{
    check_password, dummy_verify, hash_password, needs_rehash, verify_password, HashError,
    HashParams, PasswordProblem, PolicyContext,
};
pub use recovery::{RecoveryCodeSet, RecoveryError};
pub use review::{AccessReviewPolicy, AccessReviewReport, AccountFacts, AccountReview, Finding};
pub use session::{
    ApiToken, CsrfKey, SessionPolicy, SessionStatus, SessionTimes, TokenError, TokenHash, TokenKind,
};
pub use throttle::{AttemptEvent, Decision, Outcome, Throttle, ThrottlePolicy, ThrottleState};
pub use totp::{TotpError, TotpSecret};
