//! Privacy monitoring over the store's audit log: a snooper's accesses raise the right
//! alerts and one case, a phlebotomist's worklist patient raises none, a second scan
//! examines nothing again, and a non-officer is refused with the refusal audited.

mod common;

use chrono::{TimeDelta, Utc};
use common::*;
use labguard_audit::Outcome;
use labguard_core::{Id, Role, Staff};
use labguard_store::{Actor, StaffPrivacyProfile, Store, StoreError};

fn staff(store: &Store, username: &str, role: Role) -> Actor {
    let id = Id::new_v4();
    store
        .add_staff(
            &op(),
            &Staff {
                id,
                username: username.into(),
                display_name: username.into(),
                role,
                email: format!("{username}@lab.example"),
                active: true,
            },
        )
        .unwrap();
    Actor::staff(id.to_string(), role)
}

fn id_of(a: &Actor) -> Id {
    a.id.parse().unwrap()
}

#[test]
fn a_snooper_raises_alerts_and_one_case_and_scans_are_incremental() {
    for env in envs("privacy") {
        let n = env.name;
        let store = init(&env);
        let officer = staff(&store, "officer", Role::SecurityOfficer);
        let snoop = staff(&store, "snoop", Role::FrontDesk);
        let colleague = staff(&store, "colleague", Role::Phlebotomist);
        let phleb = staff(&store, "phleb", Role::Phlebotomist);

        let colleague_record = patient("MRN-P1", "Okafor", "Ada");
        let namesake = patient("MRN-P2", "Lindqvist", "Bo");
        let worklist = patient("MRN-P3", "Rowan", "Ivy");
        for p in [&colleague_record, &namesake, &worklist] {
            store.add_patient(&op(), p).unwrap();
        }
        let mut draw = specimen(&worklist, "ACC-P3");
        draw.collector = phleb.id.clone();
        draw.collected_at = Utc::now() - TimeDelta::hours(1);
        store.add_specimen(&op(), &draw).unwrap();

        // HR import: the snooper's surname; the colleague is also a patient of the lab.
        let profile = |actor: &Actor, surname: &str, own: Option<Id>| StaffPrivacyProfile {
            staff_id: id_of(actor),
            surname: Some(surname.into()),
            own_patient: own,
            ..Default::default()
        };
        let p = profile(&snoop, "LINDQVIST ", None);
        assert!(matches!(
            store.set_staff_privacy_profile(&snoop, &p),
            Err(StoreError::Denied(_))
        ));
        store.set_staff_privacy_profile(&officer, &p).unwrap();
        store
            .set_staff_privacy_profile(
                &officer,
                &profile(&colleague, "Okafor", Some(colleague_record.id)),
            )
            .unwrap();
        store
            .set_staff_privacy_profile(&officer, &profile(&phleb, "Mbeki", None))
            .unwrap();

        // The accesses: two by the snooper without any order, one from the worklist.
        store.get_patient(&snoop, colleague_record.id).unwrap();
        store.get_patient(&snoop, namesake.id).unwrap();
        store.get_patient(&phleb, worklist.id).unwrap();

        // Accesses are scanned once the relationship window past them has closed.
        let later = Utc::now() + TimeDelta::days(2);
        let early = store.privacy_scan(&officer, Utc::now()).unwrap();
        assert_eq!(early.examined, 0, "{n}: unsettled accesses scanned");

        let first = store.privacy_scan(&officer, later).unwrap();
        assert_eq!(first.examined, 3, "{n}");
        let cases = store.privacy_cases(&officer, true).unwrap();
        assert_eq!(cases.len(), 1, "{n}: cases");
        let case = &cases[0];
        assert_eq!(case.staff, id_of(&snoop), "{n}");
        let mut got: Vec<&str> = case.alerts.iter().map(|a| a.detector.code()).collect();
        got.sort_unstable();
        assert_eq!(
            got,
            [
                "co-worker",
                "no-relationship",
                "no-relationship",
                "same-surname"
            ],
            "{n}"
        );
        assert_eq!(first.alerts, 4, "{n}: the phlebotomist raised an alert");
        assert_eq!(first.cases_touched, vec![case.id.0], "{n}");

        // Nothing is examined twice.
        let second = store.privacy_scan(&officer, later).unwrap();
        assert_eq!((second.examined, second.alerts), (0, 0), "{n}");
        assert_eq!(second.cursor, first.cursor, "{n}");

        // A non-officer is refused, and the refusal is in the log.
        let auditor = staff(&store, "auditor", Role::Auditor);
        assert!(matches!(
            store.privacy_scan(&auditor, later),
            Err(StoreError::Denied(_))
        ));
        assert!(matches!(
            store.privacy_cases(&snoop, false),
            Err(StoreError::Denied(_))
        ));
        let log = store.audit_entries(&officer, 0, 100_000).unwrap();
        let denied = |who: &Actor| {
            log.iter().any(|(_, e)| {
                e.action == "privacy.scan" && e.actor == who.id && e.outcome == Outcome::Denied
            })
        };
        assert!(denied(&auditor), "{n}: refusal not audited");
        let scans = log
            .iter()
            .filter(|(_, e)| e.action == "privacy.scan" && e.outcome == Outcome::Success)
            .count();
        assert_eq!(scans, 3, "{n}");
    }
}
