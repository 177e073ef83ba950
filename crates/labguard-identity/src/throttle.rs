//! Throttling of failed sign-ins, per account and per source address.
//!
//! A pure state machine: the server asks [`Throttle::check`] before verifying credentials,
//! reports each outcome with [`Throttle::record`], and persists [`ThrottleState`] (it is
//! serde-serializable) between requests. Time always comes from the caller.
//!
//! Per account (defaults): from the 5th consecutive failure each further attempt waits a
//! doubling delay (5 s, 10 s, 20 s, …), the 10th locks the account for 30 minutes, and each
//! failure after a lock expires locks it again. At 50 consecutive failures the lock no longer
//! expires and an administrator must unlock, which keeps the account under SP 800-63B's
//! limit of 100 consecutive failures however long the attacker waits. A success resets the
//! account's count.
//!
//! Per source address the limits are looser (many staff can share one NAT address): delays
//! from the 10th failure, a 15-minute block at 50. A success does *not* reset a source: an
//! attacker spraying one password over many accounts could otherwise clear the count by
//! signing in to an account of their own every few tries. Source counts are forgotten after
//! an hour without failures instead.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// Limits for one kind of key (accounts or sources).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierPolicy {
    /// Consecutive failures after which each further attempt must wait.
    pub delay_after: u32,
    /// Consecutive failures that lock the key for `lock_duration`.
    pub lock_after: u32,
    /// Delay after `delay_after` failures; doubles with each further failure.
    pub base_delay: TimeDelta,
    pub max_delay: TimeDelta,
    pub lock_duration: TimeDelta,
    /// Consecutive failures after which the lock only ends by [`Throttle::unlock_account`]
    /// or [`Throttle::unlock_source`].
    pub manual_unlock_after: Option<u32>,
    /// Failures are forgotten after this long without a new one.
    pub forget_after: Option<TimeDelta>,
}

impl TierPolicy {
    pub fn account_default() -> TierPolicy {
        TierPolicy {
            delay_after: 5,
            lock_after: 10,
            base_delay: TimeDelta::seconds(5),
            max_delay: TimeDelta::minutes(5),
            lock_duration: TimeDelta::minutes(30),
            manual_unlock_after: Some(50),
            forget_after: None,
        }
    }

    pub fn source_default() -> TierPolicy {
        TierPolicy {
            delay_after: 10,
            lock_after: 50,
            base_delay: TimeDelta::seconds(1),
            max_delay: TimeDelta::minutes(1),
            lock_duration: TimeDelta::minutes(15),
            manual_unlock_after: None,
            forget_after: Some(TimeDelta::hours(1)),
        }
    }

    fn delay_for(&self, failures: u32) -> TimeDelta {
        let doublings = failures.saturating_sub(self.delay_after).min(30);
        let factor = 1_i32 << doublings;
        self.base_delay
            .checked_mul(factor)
            .map_or(self.max_delay, |d| d.min(self.max_delay))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub account: TierPolicy,
    pub source: TierPolicy,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            account: TierPolicy::account_default(),
            source: TierPolicy::source_default(),
        }
    }
}

/// Failure history of one account or source address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    pub failures: u32,
    pub last_failure: Option<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
    /// Locked until an administrator unlocks.
    pub locked_manual: bool,
}

/// Everything the throttle remembers; persist it between requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleState {
    pub accounts: BTreeMap<String, Counter>,
    pub sources: BTreeMap<String, Counter>,
}

/// Which limit refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limiter {
    Account,
    Source,
}

/// Whether a sign-in attempt may proceed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// How long until an attempt will be allowed; `None` when allowed now or when only an
    /// administrator can unlock.
    pub retry_after: Option<TimeDelta>,
    /// True when a lock (not just a delay) is in force.
    pub locked: bool,
    pub limited_by: Option<Limiter>,
}

impl Decision {
    fn allow() -> Decision {
        Decision {
            allowed: true,
            retry_after: None,
            locked: false,
            limited_by: None,
        }
    }

    /// `retry_after` in whole seconds, rounded up, for an HTTP `Retry-After` header.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after.map(|d| {
            let ms = d.num_milliseconds().max(0) as u64;
            ms.div_ceil(1000)
        })
    }

    /// The stricter of two decisions.
    fn combine(self, other: Decision) -> Decision {
        if self.allowed {
            return other;
        }
        if other.allowed {
            return self;
        }
        let manual = |d: &Decision| d.locked && d.retry_after.is_none();
        // A lock only an administrator can lift beats any timed refusal; otherwise the
        // longer wait wins.
        let stricter =
            if manual(&self) || (!manual(&other) && self.retry_after >= other.retry_after) {
                self
            } else {
                other
            };
        Decision {
            locked: self.locked || other.locked,
            ..stricter
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Success,
    Failure,
}

/// One verified sign-in attempt. `account` is the submitted username (or account ID), and
/// `source` the client address as the server sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptEvent<'a> {
    pub account: &'a str,
    pub source: &'a str,
    pub at: DateTime<Utc>,
    pub outcome: Outcome,
}

impl Counter {
    fn forgotten(&self, policy: &TierPolicy, now: DateTime<Utc>) -> bool {
        match (policy.forget_after, self.last_failure) {
            (Some(after), Some(last)) => !self.is_locked(now) && now - last >= after,
            _ => false,
        }
    }

    fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_manual || self.locked_until.is_some_and(|until| now < until)
    }

    fn decide(&self, policy: &TierPolicy, now: DateTime<Utc>, limiter: Limiter) -> Decision {
        let refuse = |retry_after: Option<TimeDelta>, locked: bool| Decision {
            allowed: false,
            retry_after,
            locked,
            limited_by: Some(limiter),
        };
        if self.locked_manual {
            return refuse(None, true);
        }
        if let Some(until) = self.locked_until.filter(|until| now < *until) {
            return refuse(Some(until - now), true);
        }
        if self.forgotten(policy, now) || self.failures < policy.delay_after {
            return Decision::allow();
        }
        if let Some(last) = self.last_failure {
            let next = last + policy.delay_for(self.failures);
            if now < next {
                return refuse(Some(next - now), false);
            }
        }
        Decision::allow()
    }

    fn fail(&mut self, policy: &TierPolicy, now: DateTime<Utc>) {
        if self.forgotten(policy, now) {
            *self = Counter::default();
        }
        self.failures = self.failures.saturating_add(1);
        self.last_failure = Some(now);
        if policy
            .manual_unlock_after
            .is_some_and(|limit| self.failures >= limit)
        {
            self.locked_manual = true;
        } else if self.failures >= policy.lock_after {
            self.locked_until = Some(now + policy.lock_duration);
        }
    }
}

/// The throttle: a policy applied to a state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttle {
    pub policy: ThrottlePolicy,
    pub state: ThrottleState,
}

impl Throttle {
    pub fn new(policy: ThrottlePolicy, state: ThrottleState) -> Throttle {
        Throttle { policy, state }
    }

    /// May an attempt for `account` from `source` be verified now? Ask before checking the
    /// password, and do not check it when refused.
    pub fn check(&self, account: &str, source: &str, now: DateTime<Utc>) -> Decision {
        let by_account = self
            .state
            .accounts
            .get(account)
            .map_or_else(Decision::allow, |c| {
                c.decide(&self.policy.account, now, Limiter::Account)
            });
        let by_source = self
            .state
            .sources
            .get(source)
            .map_or_else(Decision::allow, |c| {
                c.decide(&self.policy.source, now, Limiter::Source)
            });
        by_account.combine(by_source)
    }

    /// Records the outcome of a verified attempt and returns the decision for the next one.
    pub fn record(&mut self, event: &AttemptEvent<'_>) -> Decision {
        match event.outcome {
            Outcome::Failure => {
                self.state
                    .accounts
                    .entry(event.account.to_owned())
                    .or_default()
                    .fail(&self.policy.account, event.at);
                self.state
                    .sources
                    .entry(event.source.to_owned())
                    .or_default()
                    .fail(&self.policy.source, event.at);
            }
            Outcome::Success => {
                // A success cannot lift a lock: the server should not have verified at all.
                let locked = self
                    .state
                    .accounts
                    .get(event.account)
                    .is_some_and(|c| c.is_locked(event.at));
                if !locked {
                    self.state.accounts.remove(event.account);
                }
            }
        }
        self.check(event.account, event.source, event.at)
    }

    /// Administrator unlock: clears the account's lock and its failure count.
    pub fn unlock_account(&mut self, account: &str) {
        self.state.accounts.remove(account);
    }

    pub fn unlock_source(&mut self, source: &str) {
        self.state.sources.remove(source);
    }

    /// Drops entries that no longer restrict anything, so attempts against made-up usernames
    /// and one-off addresses do not accumulate. Run it periodically.
    pub fn prune(&mut self, now: DateTime<Utc>) {
        let policy = &self.policy;
        self.state
            .accounts
            .retain(|_, c| !(c.forgotten(&policy.account, now) || c.failures == 0));
        self.state
            .sources
            .retain(|_, c| !(c.forgotten(&policy.source, now) || c.failures == 0));
    }
}
