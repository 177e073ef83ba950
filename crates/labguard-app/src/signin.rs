//! The one throttled credential check: sign-in, re-authentication in the web UI and API,
//! and the CLI's security-officer re-authentication all count failures in the same
//! per-account and per-source throttle, serialized in the process (striped locks) and
//! across nodes (PostgreSQL advisory locks), so parallel guesses are counted one by one.

use chrono::{DateTime, Utc};
use labguard_identity::throttle::Counter;
use labguard_identity::{
    totp, AttemptEvent, Decision, Outcome, RecoveryCodeSet, Throttle, ThrottlePolicy,
    ThrottleState, TotpSecret,
};
use labguard_store::{Account, SignInEvent, Store, StoreError};

use crate::error::AppError;

const STRIPES: usize = 64;

/// Striped locks keyed by account name and source address.
pub struct ThrottleLocks([std::sync::Mutex<()>; STRIPES]);

impl Default for ThrottleLocks {
    fn default() -> Self {
        ThrottleLocks(std::array::from_fn(|_| std::sync::Mutex::new(())))
    }
}

impl ThrottleLocks {
    fn stripe(key: &str) -> usize {
        use std::hash::{BuildHasher, Hasher};
        // A fixed hasher: the stripe only spreads contention, it protects nothing secret.
        let mut h =
            std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
                .build_hasher();
        h.write(key.as_bytes());
        (h.finish() % STRIPES as u64) as usize
    }

    /// Holds the locks for an account name and a source address (in a fixed order).
    pub fn hold(&self, account: &str, source: &str) -> Vec<std::sync::MutexGuard<'_, ()>> {
        let (a, b) = (Self::stripe(account), Self::stripe(source));
        let mut order = vec![a.min(b), a.max(b)];
        order.dedup();
        order
            .into_iter()
            .map(|i| self.0[i].lock().unwrap_or_else(|p| p.into_inner()))
            .collect()
    }
}

/// What a credential check runs under: the store, the throttle policy, this process's
/// locks and the time.
pub struct Guard<'a> {
    pub store: &'a Store,
    pub policy: &'a ThrottlePolicy,
    pub locks: &'a ThrottleLocks,
    pub now: DateTime<Utc>,
}

/// The result of one throttled check.
#[derive(Debug)]
pub enum Verdict {
    Passed,
    /// Refused unchecked: the account or source is throttled.
    Throttled(Decision),
    /// The credentials were wrong; the failure is counted and recorded.
    Refused,
}

/// What the caller's check found.
pub enum Check {
    Passed,
    /// Wrong, recorded as this event.
    Failed(SignInEvent),
}

/// The throttle key of an account name: trimmed and lower-cased.
pub fn throttle_key(username: &str) -> String {
    username.trim().to_lowercase()
}

fn counter(json: Option<String>) -> Option<Counter> {
    json.and_then(|j| serde_json::from_str(&j).ok())
}

/// Loads the throttle for one account name and source address.
pub fn load_throttle(
    store: &Store,
    policy: &ThrottlePolicy,
    key: &str,
    src: &str,
) -> Result<Throttle, StoreError> {
    let (a, s) = store.throttle_counters(key, src)?;
    let mut state = ThrottleState::default();
    if let Some(c) = counter(a) {
        state.accounts.insert(key.to_string(), c);
    }
    if let Some(c) = counter(s) {
        state.sources.insert(src.to_string(), c);
    }
    Ok(Throttle::new(policy.clone(), state))
}

pub fn save_throttle(store: &Store, t: &Throttle, key: &str, src: &str) -> Result<(), StoreError> {
    let get = |c: Option<&Counter>| c.and_then(|c| serde_json::to_string(c).ok());
    let (a, s) = (
        get(t.state.accounts.get(key)),
        get(t.state.sources.get(src)),
    );
    store.save_throttle_counters((key, a.as_deref()), (src, s.as_deref()))
}

/// Counts a failed attempt and records it (and a lock it causes). Best effort: the caller
/// refuses whatever happens here.
pub fn record_failure(
    g: &Guard,
    t: &mut Throttle,
    who: Option<&Account>,
    key: &str,
    src: &str,
    event: SignInEvent,
) {
    let d = t.record(&AttemptEvent {
        account: key,
        source: src,
        at: g.now,
        outcome: Outcome::Failure,
    });
    let _ = save_throttle(g.store, t, key, src);
    let _ = g.store.record_sign_in(who, src, event);
    if d.locked {
        let _ = g.store.record_sign_in(who, src, SignInEvent::Locked);
    }
}

/// Runs `check` for the account named `key` (`who` when it exists) under the throttle:
/// refused unchecked while the account or source is throttled; a failure counts exactly
/// like a failed sign-in, a pass clears the account's count.
pub fn throttled_check<E: From<StoreError>>(
    g: &Guard,
    key: &str,
    who: Option<&Account>,
    src: &str,
    check: impl FnOnce(&Store) -> Result<Check, E>,
) -> Result<Verdict, E> {
    let _serial = g.locks.hold(key, src);
    // Several nodes on one PostgreSQL share the counters: serialize across them too.
    let _nodes = g.store.cross_node_locks(&[
        &format!("sign-in account {key}"),
        &format!("sign-in source {src}"),
    ])?;
    let mut t = load_throttle(g.store, g.policy, key, src)?;
    let d = t.check(key, src, g.now);
    if !d.allowed {
        g.store.record_sign_in(who, src, SignInEvent::Throttled)?;
        return Ok(Verdict::Throttled(d));
    }
    if let Check::Failed(event) = check(g.store)? {
        record_failure(g, &mut t, who, key, src, event);
        return Ok(Verdict::Refused);
    }
    t.record(&AttemptEvent {
        account: key,
        source: src,
        at: g.now,
        outcome: Outcome::Success,
    });
    save_throttle(g.store, &t, key, src)?;
    Ok(Verdict::Passed)
}

/// A second factor: a code from the authenticator app, or a recovery code.
pub enum Factor<'a> {
    Totp(&'a str),
    Recovery(&'a str),
}

/// Checks a TOTP code (against the authenticator in force, refusing replays) or consumes
/// a recovery code.
pub fn second_factor_ok(
    store: &Store,
    a: &Account,
    factor: Factor,
    src: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let user = a.staff.id.to_string();
    match factor {
        Factor::Totp(code) => {
            let Some(secret) = store.totp_secret(&user)? else {
                return Ok(false);
            };
            let secret = TotpSecret::from_bytes(&secret)
                .map_err(|_| AppError::Internal("stored TOTP secret"))?;
            let unix = u64::try_from(now.timestamp()).unwrap_or(0);
            match totp::verify(&secret, code, unix, a.totp_last_step) {
                Ok(step) => Ok(store.accept_totp_step(&user, step)?),
                Err(_) => Ok(false),
            }
        }
        Factor::Recovery(rc) => {
            let Some(mut set) = a
                .recovery_codes
                .as_deref()
                .and_then(|j| serde_json::from_str::<RecoveryCodeSet>(j).ok())
            else {
                return Ok(false);
            };
            if set.consume(rc, now).is_err() {
                return Ok(false);
            }
            let json =
                serde_json::to_string(&set).map_err(|_| AppError::Internal("recovery codes"))?;
            store.set_recovery_codes(&user, &json)?;
            store.record_sign_in(Some(a), src, SignInEvent::RecoveryCodeUsed)?;
            Ok(true)
        }
    }
}
