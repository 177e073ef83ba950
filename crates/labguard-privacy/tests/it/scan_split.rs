//! Splitting a stream into batches at any points, saving and loading the state between
//! them, gives the same alerts and state as one pass; re-delivered entries are skipped.

use crate::common::*;
use labguard_core::Role;
use labguard_privacy::{rescan, scan, Access, Config, Reason, ScanState, Seen, VolumeConfig};
use proptest::prelude::*;

fn cfg() -> Config {
    Config {
        repeat_window_hours: 3,
        volume: VolumeConfig {
            k: 1.0,
            min_mad: 0.5,
            min_user_hours: 2,
            min_user_days: 1,
            min_role_buckets: 2,
            user_history: 6,
            role_history: 10,
            min_count: 2,
        },
        ..Config::default()
    }
}

const PATIENTS: [&str; 9] = [
    "pt-1",
    "pt-2",
    "pt-bob",
    "pt-relative",
    "pt-housemate",
    "pt-vip",
    "pt-deceased",
    "pt-old",
    "pt-x",
];

fn stream() -> impl Strategy<Value = Vec<Access>> {
    prop::collection::vec(
        (0u32..=90, 0usize..3, 0usize..PATIENTS.len(), 0u8..3),
        0..160,
    )
    .prop_map(|steps| {
        let mut at = t(2, 6, 0);
        steps
            .into_iter()
            .enumerate()
            .map(|(i, (gap, who, p, r))| {
                at += chrono::Duration::minutes(i64::from(gap));
                let (staff, role) = [
                    (ALICE, Role::Phlebotomist),
                    (BOB, Role::LabTechnologist),
                    (CAROL, Role::Phlebotomist),
                ][who];
                let reason = match r {
                    0 => Reason::Unstated,
                    1 => Reason::Worklist,
                    _ => Reason::BreakGlass {
                        reason: "stat".into(),
                    },
                };
                Access {
                    seq: 10 + i as u64 * 2,
                    at,
                    staff: id(staff),
                    role,
                    patient: pt(PATIENTS[p]),
                    what: Seen::Results,
                    reason,
                }
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn batches_equal_one_pass(accesses in stream(), cuts in prop::collection::vec(0usize..200, 0..6)) {
        let ctx = lab();
        let cfg = cfg();
        let (whole_state, whole) = scan(ScanState::default(), &accesses, &ctx, &cfg);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(accesses.len())).collect();
        cuts.sort_unstable();
        let mut state = ScanState::default();
        let mut alerts = vec![];
        let mut from: usize = 0;
        for end in cuts.into_iter().chain([accesses.len()]) {
            // Each batch also re-delivers the previous batch's last entry.
            let start = from.saturating_sub(1);
            let (s, a) = scan(state, &accesses[start..end], &ctx, &cfg);
            alerts.extend(a);
            // Saved and loaded between runs, as the store does.
            let saved = serde_json::to_string(&s).expect("state serializes");
            state = serde_json::from_str(&saved).expect("state loads");
            from = end;
        }
        prop_assert_eq!(&alerts, &whole);
        prop_assert_eq!(state.examined, accesses.len() as u64);
        prop_assert_eq!(state.cursor, accesses.last().map(|a| a.seq));
        prop_assert_eq!(serde_json::to_string(&state).ok(), serde_json::to_string(&whole_state).ok());
    }

    #[test]
    fn on_demand_rescan_equals_incremental_for_a_period(accesses in stream(), from_h in 0i64..60, len_h in 1i64..60) {
        let ctx = lab();
        let cfg = cfg();
        let (_, all) = scan(ScanState::default(), &accesses, &ctx, &cfg);
        let from = t(2, 6, 0) + chrono::Duration::hours(from_h);
        let to = from + chrono::Duration::hours(len_h);
        let want: Vec<_> = all.into_iter().filter(|a| a.at >= from && a.at < to).collect();
        prop_assert_eq!(rescan(&accesses, &ctx, &cfg, from, to), want);
    }
}

#[test]
fn the_stream_exercises_several_detectors() {
    // Guards the property tests against a generator that raises nothing.
    let ctx = lab();
    let mut at = t(2, 6, 0);
    let accesses: Vec<Access> = (0..200u64)
        .map(|i| {
            at += chrono::Duration::minutes(7);
            access(
                i,
                at,
                [ALICE, BOB, CAROL][i as usize % 3],
                Role::Phlebotomist,
                PATIENTS[(i as usize * 5) % 9],
                Reason::Unstated,
            )
        })
        .collect();
    let (_, alerts) = scan(ScanState::default(), &accesses, &ctx, &cfg());
    let mut kinds: Vec<_> = alerts.iter().map(|a| a.detector).collect();
    kinds.sort();
    kinds.dedup();
    assert!(kinds.len() >= 6, "{kinds:?}");
    assert!(alerts.iter().any(|a| a.linked_to.is_some()));
}
