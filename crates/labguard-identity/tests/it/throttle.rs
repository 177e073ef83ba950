use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use labguard_identity::throttle::Limiter;
use labguard_identity::{AttemptEvent, Decision, Outcome, Throttle, ThrottlePolicy, ThrottleState};

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_750_000_000 + secs, 0).unwrap()
}

fn throttle() -> Throttle {
    Throttle::new(ThrottlePolicy::default(), ThrottleState::default())
}

fn fail(t: &mut Throttle, account: &str, source: &str, when: DateTime<Utc>) -> Decision {
    t.record(&AttemptEvent {
        account,
        source,
        at: when,
        outcome: Outcome::Failure,
    })
}

fn succeed(t: &mut Throttle, account: &str, source: &str, when: DateTime<Utc>) -> Decision {
    t.record(&AttemptEvent {
        account,
        source,
        at: when,
        outcome: Outcome::Success,
    })
}

/// Fails `n` times, each as soon as the throttle allows; returns the time of the last one.
fn fail_n(t: &mut Throttle, account: &str, source: &str, n: u32, start: i64) -> i64 {
    let mut now = start;
    for _ in 0..n {
        let d = t.check(account, source, at(now));
        if let Some(wait) = d.retry_after {
            now += wait.num_seconds();
        }
        assert!(t.check(account, source, at(now)).allowed);
        fail(t, account, source, at(now));
        now += 1;
    }
    now - 1
}

#[test]
fn first_four_failures_cost_nothing() {
    let mut t = throttle();
    for i in 0..4 {
        let d = fail(&mut t, "jsmith", "10.0.0.1", at(i));
        assert!(d.allowed, "after failure {}", i + 1);
        assert_eq!(d.retry_after, None);
    }
}

#[test]
fn delay_from_the_fifth_failure_doubles() {
    let mut t = throttle();
    for i in 0..4 {
        fail(&mut t, "jsmith", "10.0.0.1", at(i));
    }
    let d = fail(&mut t, "jsmith", "10.0.0.1", at(4));
    assert_eq!(
        d,
        Decision {
            allowed: false,
            retry_after: Some(TimeDelta::seconds(5)),
            locked: false,
            limited_by: Some(Limiter::Account),
        }
    );
    assert!(!t.check("jsmith", "10.0.0.1", at(8)).allowed);
    assert!(t.check("jsmith", "10.0.0.1", at(9)).allowed);
    let d = fail(&mut t, "jsmith", "10.0.0.1", at(9));
    assert_eq!(d.retry_after, Some(TimeDelta::seconds(10)));
    // Other accounts are not affected.
    assert!(t.check("other", "10.0.0.2", at(9)).allowed);
}

#[test]
fn tenth_failure_locks_for_thirty_minutes() {
    let mut t = throttle();
    let last = fail_n(&mut t, "jsmith", "10.0.0.1", 10, 0);
    let d = t.check("jsmith", "10.0.0.1", at(last));
    assert!(!d.allowed && d.locked);
    assert_eq!(d.retry_after, Some(TimeDelta::minutes(30)));
    assert_eq!(d.retry_after_secs(), Some(1800));
    assert!(!t.check("jsmith", "10.0.0.9", at(last + 1799)).allowed);
    let after = t.check("jsmith", "10.0.0.9", at(last + 1800));
    assert!(after.allowed && !after.locked);
    // One more failure after the lock expires locks again at once.
    let d = fail(&mut t, "jsmith", "10.0.0.9", at(last + 1800));
    assert!(d.locked);
    assert_eq!(d.retry_after, Some(TimeDelta::minutes(30)));
}

#[test]
fn success_resets_the_account() {
    let mut t = throttle();
    let last = fail_n(&mut t, "jsmith", "10.0.0.1", 4, 0);
    assert!(succeed(&mut t, "jsmith", "10.0.0.1", at(last + 1)).allowed);
    // Four more failures: still no delay, because the count restarted.
    let last = fail_n(&mut t, "jsmith", "10.0.0.1", 4, last + 2);
    assert!(t.check("jsmith", "10.0.0.1", at(last)).allowed);
    // Without the success the fifth would have delayed.
    let d = fail(&mut t, "jsmith", "10.0.0.1", at(last + 1));
    assert!(!d.allowed);
}

#[test]
fn success_does_not_lift_a_lock() {
    let mut t = throttle();
    let last = fail_n(&mut t, "jsmith", "10.0.0.1", 10, 0);
    let d = succeed(&mut t, "jsmith", "10.0.0.1", at(last + 10));
    assert!(d.locked && !d.allowed);
}

#[test]
fn fifty_failures_need_an_administrator() {
    let mut t = throttle();
    let last = fail_n(&mut t, "jsmith", "10.0.0.1", 50, 0);
    let d = t.check("jsmith", "10.0.0.1", at(last + 365 * 86_400));
    assert!(!d.allowed && d.locked);
    assert_eq!(d.retry_after, None);
    t.unlock_account("jsmith");
    let d = t.check("jsmith", "10.0.0.2", at(last + 365 * 86_400));
    assert!(d.allowed);
}

#[test]
fn spraying_from_one_address_is_slowed_even_with_a_success_in_between() {
    let mut t = throttle();
    // Nine failures, each against a different account, then the attacker signs in to their
    // own account from the same address.
    for i in 0..9 {
        fail(&mut t, &format!("victim{i}"), "203.0.113.7", at(i));
    }
    succeed(&mut t, "attacker", "203.0.113.7", at(9));
    let d = fail(&mut t, "victim9", "203.0.113.7", at(10));
    assert!(!d.allowed);
    assert_eq!(d.limited_by, Some(Limiter::Source));
    assert_eq!(d.retry_after, Some(TimeDelta::seconds(1)));
    // Someone else from another address is unaffected.
    assert!(t.check("victim9", "198.51.100.1", at(10)).allowed);
}

#[test]
fn source_blocks_at_fifty_and_forgets_after_an_hour() {
    let mut t = throttle();
    let mut now = 0;
    for i in 0..50 {
        let d = t.check(&format!("user{i}"), "203.0.113.7", at(now));
        now += d.retry_after.map_or(0, |w| w.num_seconds());
        fail(&mut t, &format!("user{i}"), "203.0.113.7", at(now));
    }
    let d = t.check("fresh", "203.0.113.7", at(now));
    assert!(d.locked);
    assert_eq!(d.limited_by, Some(Limiter::Source));
    assert_eq!(d.retry_after, Some(TimeDelta::minutes(15)));
    // An hour after the last failure the address starts clean.
    assert!(t.check("fresh", "203.0.113.7", at(now + 3600)).allowed);
    let d = fail(&mut t, "fresh", "203.0.113.7", at(now + 3600));
    assert!(d.allowed, "count restarted: {d:?}");
}

#[test]
fn the_stricter_limit_wins() {
    let mut t = throttle();
    // Lock the account manually (50 failures), then put a short delay on a source.
    let last = fail_n(&mut t, "jsmith", "10.0.0.1", 50, 0);
    for i in 0..10 {
        fail(&mut t, &format!("u{i}"), "10.0.0.2", at(last + i));
    }
    let d = t.check("jsmith", "10.0.0.2", at(last + 10));
    assert_eq!(d.limited_by, Some(Limiter::Account));
    assert_eq!(d.retry_after, None);
    assert!(d.locked);
}

#[test]
fn state_survives_serialization() {
    let mut t = throttle();
    let last = fail_n(&mut t, "jsmith", "10.0.0.1", 7, 0);
    let json = serde_json::to_string(&t.state).unwrap();
    let restored = Throttle::new(
        ThrottlePolicy::default(),
        serde_json::from_str(&json).unwrap(),
    );
    assert_eq!(restored.state, t.state);
    assert_eq!(
        restored.check("jsmith", "10.0.0.1", at(last)),
        t.check("jsmith", "10.0.0.1", at(last))
    );
    assert!(!restored.check("jsmith", "10.0.0.1", at(last)).allowed);
}

#[test]
fn retry_after_rounds_up_to_whole_seconds() {
    let mut t = throttle();
    for i in 0..5 {
        fail(&mut t, "jsmith", "10.0.0.1", at(i));
    }
    let half = at(4) + TimeDelta::milliseconds(500);
    assert_eq!(
        t.check("jsmith", "10.0.0.1", half).retry_after_secs(),
        Some(5)
    );
    assert_eq!(
        t.check("jsmith", "10.0.0.1", at(5)).retry_after_secs(),
        Some(4)
    );
}

#[test]
fn prune_drops_only_what_no_longer_matters() {
    let mut t = throttle();
    fail(&mut t, "jsmith", "10.0.0.1", at(0));
    succeed(&mut t, "jsmith", "10.0.0.1", at(1));
    fail(&mut t, "kept", "10.0.0.2", at(2));
    t.prune(at(2 + 3600));
    assert!(!t.state.accounts.contains_key("jsmith"));
    assert!(t.state.accounts.contains_key("kept"));
    // Both sources are an hour past their last failure.
    assert!(t.state.sources.is_empty());
}
