//! The daily compliance collection runs once per day for the whole lab, however many
//! nodes share the database and however often they wake.

use crate::common;

use chrono::{TimeDelta, TimeZone, Utc};
use labguard_app::compliance::collect_if_due;
use labguard_store::Actor;

#[test]
fn two_nodes_ticking_on_the_same_day_collect_once() {
    for env in common::envs("sched") {
        let nodes = common::nodes(&env, 2);
        let day = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        // Both nodes wake at once, then again an hour later (a restart mid-day).
        let collected: usize = std::thread::scope(|s| {
            let ticks: Vec<_> = nodes
                .iter()
                .map(|n| s.spawn(move || collect_if_due(n, &Actor::system(), day).unwrap()))
                .collect();
            ticks.into_iter().filter_map(|t| t.join().unwrap()).count()
        });
        let later = day + TimeDelta::hours(1);
        let again = nodes
            .iter()
            .filter_map(|n| collect_if_due(n, &Actor::system(), later).unwrap())
            .count();
        assert_eq!((collected, again), (1, 0), "{}", env.name);
        let trend = |n: &labguard_store::Store| {
            n.compliance_report(&Actor::operator(), None)
                .unwrap()
                .trend
                .len()
        };
        assert_eq!(trend(&nodes[1]), 1, "{}: one score saved", env.name);
        // The next day belongs to whichever node wakes first, once.
        let next = day + TimeDelta::days(1);
        assert!(collect_if_due(&nodes[1], &Actor::system(), next)
            .unwrap()
            .is_some());
        assert!(collect_if_due(&nodes[0], &Actor::system(), next)
            .unwrap()
            .is_none());
        assert_eq!(trend(&nodes[0]), 2, "{}", env.name);
    }
}
