//! The volume detector against hand-computed baselines.

use crate::common::*;
use labguard_core::Role;
use labguard_privacy::{
    scan, Access, Alert, Bucket, Config, Detector, Reason, ScanState, VolumeConfig,
};

fn cfg() -> Config {
    Config {
        volume: VolumeConfig {
            k: 3.0,
            min_mad: 1.0,
            min_user_hours: 5,
            min_user_days: 5,
            min_role_buckets: 5,
            user_history: 100,
            role_history: 100,
            min_count: 5,
        },
        ..Config::default()
    }
}

/// `n` distinct patients opened by `who` on 2026-03-`day` from `hour`:00, a minute apart.
fn burst(seq: &mut u64, who: u128, day: u32, hour: u32, n: u32, tag: &str) -> Vec<Access> {
    (0..n)
        .map(|i| {
            *seq += 1;
            access(
                *seq,
                t(day, hour, i),
                who,
                Role::Phlebotomist,
                &format!("pt-{tag}-{day}-{i}"),
                Reason::Worklist,
            )
        })
        .collect()
}

fn volume(alerts: &[Alert]) -> Vec<&Alert> {
    alerts
        .iter()
        .filter(|a| a.detector == Detector::Volume)
        .collect()
}

/// Alice and Carol each open 4 patients at 09:00 on 2-8 March: seven buckets of 4.
fn history(seq: &mut u64) -> Vec<Access> {
    let mut v = vec![];
    for day in 2..=8 {
        v.extend(burst(seq, ALICE, day, 9, 4, "a"));
        v.extend(burst(seq, CAROL, day, 9, 4, "c"));
    }
    v
}

#[test]
fn fires_once_per_bucket_above_both_baselines() {
    let ctx = lab();
    let mut seq = 0;
    let mut stream = history(&mut seq);
    stream.extend(burst(&mut seq, ALICE, 9, 10, 12, "spike"));
    let (_, alerts) = scan(ScanState::default(), &stream, &ctx, &cfg());
    let v = volume(&alerts);
    // Alice's history: 7 hours and 7 days of 4 (day 8 closes at her first access on day 9).
    // Role history: Alice's 7 plus Carol's 6 closed buckets, all 4. Median 4, MAD 0, so
    // threshold 4 + 3 * max(0, 1) = 7: the 8th distinct patient crosses it, in both buckets.
    assert_eq!(v.len(), 2);
    let eighth = stream.len() as u64 - 4;
    for (a, bucket) in v.iter().zip([Bucket::Hour, Bucket::Day]) {
        assert_eq!(a.seq, eighth);
        assert_eq!(a.id.bucket, Some(bucket));
        assert_eq!(a.facts.count, Some(8));
        assert_eq!(a.facts.threshold, Some(7.0));
        assert_eq!(
            (a.facts.user_median, a.facts.role_median),
            (Some(4.0), Some(4.0))
        );
        assert!(a.patient.is_none() && a.counts());
    }
    assert_eq!(
        v[0].explain("User A", ""),
        "User A opened 8 distinct patient records in one hour, above the threshold of 7.0 set by their own and their role's usual volume."
    );
}

#[test]
fn near_miss_at_the_threshold_is_quiet() {
    let ctx = lab();
    let mut seq = 0;
    let mut stream = history(&mut seq);
    stream.extend(burst(&mut seq, ALICE, 9, 10, 7, "spike"));
    // The same patient again does not add to the distinct count.
    stream.push(access(
        seq + 1,
        t(9, 10, 30),
        ALICE,
        Role::Phlebotomist,
        "pt-spike-9-0",
        Reason::Worklist,
    ));
    let (_, alerts) = scan(ScanState::default(), &stream, &ctx, &cfg());
    assert!(volume(&alerts).is_empty());
}

#[test]
fn needs_minimum_history() {
    let ctx = lab();
    let mut seq = 0;
    let mut stream = vec![];
    for day in 2..=4 {
        stream.extend(burst(&mut seq, ALICE, day, 9, 4, "a"));
        stream.extend(burst(&mut seq, CAROL, day, 9, 4, "c"));
    }
    // Only 3 completed buckets for Alice (5 needed): a spike of 20 stays quiet.
    stream.extend(burst(&mut seq, ALICE, 5, 10, 20, "spike"));
    let (_, alerts) = scan(ScanState::default(), &stream, &ctx, &cfg());
    assert!(volume(&alerts).is_empty());
}

#[test]
fn a_busy_users_own_baseline_keeps_their_normal_day_quiet() {
    let ctx = lab();
    let mut seq = 0;
    let mut stream = vec![];
    for day in 2..=8 {
        stream.extend(burst(&mut seq, ALICE, day, 9, 4, "a"));
        // Carol always opens 12: her own threshold is 12 + 3 = 15.
        stream.extend(burst(&mut seq, CAROL, day, 9, 12, "c"));
    }
    stream.extend(burst(&mut seq, CAROL, 9, 9, 12, "c"));
    let (_, alerts) = scan(ScanState::default(), &stream, &ctx, &cfg());
    assert!(volume(&alerts).is_empty());
}

#[test]
fn tuning_k_takes_effect_on_saved_state() {
    let ctx = lab();
    let mut seq = 0;
    let hist = history(&mut seq);
    let spike = burst(&mut seq, ALICE, 9, 10, 12, "spike");
    let (state, _) = scan(ScanState::default(), &hist, &ctx, &cfg());
    let mut tuned = cfg();
    tuned.roles.entry(Role::Phlebotomist).or_default().volume_k = Some(10.0);
    // Threshold now 4 + 10 = 14: 12 patients stay quiet.
    let (_, alerts) = scan(state, &spike, &ctx, &tuned);
    assert!(volume(&alerts).is_empty());
}
