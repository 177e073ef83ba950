//! Privacy monitoring over the store's audit log: a snooper's accesses raise the right
//! alerts and one case, a phlebotomist's worklist patient raises none, a second scan
//! examines nothing again, and a non-officer is refused with the refusal audited.

use crate::common::*;
use chrono::{TimeDelta, Utc};
use labguard_audit::Outcome as AuditOutcome;
use labguard_core::{Id, Role, Staff};
use labguard_privacy::Outcome;
use labguard_store::{Actor, CaseStep, StaffPrivacyProfile, Store, StoreError};

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

struct Seeded {
    officer: Actor,
    snoop: Actor,
    phleb: Actor,
    colleague_record: labguard_core::Patient,
}

/// Staff, patients, profiles, and the three accesses: two by the snooper without any order
/// (a colleague's record, a namesake's), one from the phlebotomist's own draw.
fn seed(store: &Store) -> Seeded {
    let officer = staff(store, "officer", Role::SecurityOfficer);
    let snoop = staff(store, "snoop", Role::FrontDesk);
    let colleague = staff(store, "colleague", Role::Phlebotomist);
    let phleb = staff(store, "phleb", Role::Phlebotomist);

    let colleague_record = patient("MRN-P1", "Okafor", "Ada");
    let mut namesake = patient("MRN-P2", "Lindqvist", "Bo");
    let worklist = patient("MRN-P3", "Rowan", "Ivy");
    // The snooper's namesake lives at the snooper's address, spelled differently.
    namesake.address = Some(labguard_core::Address {
        line: "12 North Main Street".into(),
        city: "Springfield".into(),
        state: "IL".into(),
        postal_code: "62701".into(),
        country: "US".into(),
    });
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
    let p = StaffPrivacyProfile {
        address: Some("12 N. Main St".into()),
        ..profile(&snoop, "LINDQVIST ", None)
    };
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

    Seeded {
        officer,
        snoop,
        phleb,
        colleague_record,
    }
}

#[test]
fn a_snooper_raises_alerts_and_one_case_and_scans_are_incremental() {
    for env in envs("privacy") {
        let n = env.name;
        let store = init(&env);
        let Seeded { officer, snoop, .. } = seed(&store);
        // Accesses are scanned once the relationship window past them has closed.
        let later = Utc::now() + TimeDelta::days(2);
        let early = store.privacy_scan(&officer, Utc::now()).unwrap();
        assert_eq!(early.examined, 0, "{n}: unsettled accesses scanned");

        let first = store.privacy_scan(&officer, later).unwrap();
        assert_eq!(first.examined, 3, "{n}");
        let cases = store.privacy_cases(&officer, true).unwrap();
        assert_eq!(cases.len(), 1, "{n}: cases");
        assert_eq!((cases[0].alerts, cases[0].counted), (5, 5), "{n}");
        let case = &store.privacy_case(&officer, cases[0].case.id.0).unwrap();
        assert_eq!(case.staff, id_of(&snoop), "{n}");
        let mut got: Vec<&str> = case.alerts.iter().map(|a| a.detector.code()).collect();
        got.sort_unstable();
        assert_eq!(
            got,
            [
                "co-worker",
                "no-relationship",
                "no-relationship",
                "same-address",
                "same-surname"
            ],
            "{n}"
        );
        assert_eq!(first.alerts, 5, "{n}: the phlebotomist raised an alert");
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
                e.action == "privacy.scan" && e.actor == who.id && e.outcome == AuditOutcome::Denied
            })
        };
        assert!(denied(&auditor), "{n}: refusal not audited");
        let scans = log
            .iter()
            .filter(|(_, e)| e.action == "privacy.scan" && e.outcome == AuditOutcome::Success)
            .count();
        assert_eq!(scans, 3, "{n}");
    }
}

#[test]
fn cases_are_reviewed_and_the_access_report_and_dashboard_are_audited() {
    for env in envs("privacy_review") {
        let n = env.name;
        let store = init(&env);
        let s = seed(&store);
        let later = Utc::now() + TimeDelta::days(2);
        store.privacy_scan(&s.officer, later).unwrap();
        let case = store
            .privacy_cases(&s.officer, true)
            .unwrap()
            .remove(0)
            .case;

        // The snooper cannot review; the reviewed member of staff cannot be the assignee.
        let assign = |to: &Actor| CaseStep::Assign { to: id_of(to) };
        assert!(matches!(
            store.privacy_case_step(&s.snoop, case.id.0, &assign(&s.officer)),
            Err(StoreError::Denied(_))
        ));
        assert!(store
            .privacy_case_step(&s.officer, case.id.0, &assign(&s.snoop))
            .is_err());
        store
            .privacy_case_step(&s.officer, case.id.0, &assign(&s.officer))
            .unwrap();
        let note = CaseStep::Note {
            text: "asked the front desk lead".into(),
        };
        store
            .privacy_case_step(&s.officer, case.id.0, &note)
            .unwrap();
        let close = CaseStep::Close {
            outcome: Outcome::Sanction,
            why: "no work reason; written warning".into(),
        };
        let closed = store
            .privacy_case_step(&s.officer, case.id.0, &close)
            .unwrap();
        assert!(closed.is_closed(), "{n}");
        assert!(
            store.privacy_cases(&s.officer, true).unwrap().is_empty(),
            "{n}"
        );
        assert_eq!(
            store.privacy_cases(&s.officer, false).unwrap().len(),
            1,
            "{n}"
        );
        // The closed sanction case is compliance evidence: the sanction policy applied
        // (164.308(a)(1)(ii)(C)) and activity reviewed (164.308(a)(1)(ii)(D)).
        let facts = store.compliance_facts(&s.officer).unwrap();
        assert_eq!(
            (
                facts.privacy.cases,
                facts.privacy.closed,
                facts.privacy.sanctions
            ),
            (1, 1, 1),
            "{n}"
        );
        let now = Utc::now();
        let sanction = labguard_compliance::collect::privacy_sanctions(&facts.privacy, now);
        assert_eq!(sanction.status, labguard_compliance::Status::Met, "{n}");
        assert!(sanction.specs.iter().any(|c| c == "164.308(a)(1)(ii)(C)"));
        let review = labguard_compliance::collect::privacy_reviews(&facts.privacy, now);
        assert_eq!(review.status, labguard_compliance::Status::Met, "{n}");
        assert!(review.specs.iter().any(|c| c == "164.308(a)(1)(ii)(D)"));
        let none = labguard_compliance::collect::privacy_sanctions(&Default::default(), now);
        assert_eq!(none.status, labguard_compliance::Status::NeedsPerson);

        // The colleague's record was opened once, by the snooper, named in the report.
        let from = Utc::now() - TimeDelta::days(1);
        let report = store
            .patient_access_report(&s.officer, s.colleague_record.id, from, later)
            .unwrap();
        let rows: Vec<(&str, &str)> = report
            .rows
            .iter()
            .map(|r| (r.staff.label(), r.what.as_str()))
            .collect();
        assert_eq!(rows, [("snoop", "demographics")], "{n}");
        assert!(matches!(
            store.patient_access_report(&s.phleb, s.colleague_record.id, from, later),
            Err(StoreError::Denied(_))
        ));

        // The auditor's dashboard is pseudonymous; the officer's names staff.
        let auditor = staff(&store, "auditor", Role::Auditor);
        let pseudo = store.privacy_dashboard(&auditor, later).unwrap();
        assert!(pseudo.pseudonymous, "{n}");
        assert!(
            !store
                .privacy_dashboard(&s.officer, later)
                .unwrap()
                .pseudonymous
        );
        assert!(matches!(
            store.privacy_dashboard(&s.phleb, later),
            Err(StoreError::Denied(_))
        ));

        let log = store.audit_entries(&s.officer, 0, 100_000).unwrap();
        let count = |action: &str| log.iter().filter(|(_, e)| e.action == action).count();
        assert_eq!(
            count("privacy.access-report"),
            2,
            "{n}: one success, one refusal"
        );
        let generated = log.iter().find(|(_, e)| {
            e.action == "privacy.access-report" && e.outcome == AuditOutcome::Success
        });
        assert!(
            generated.is_some_and(|(_, e)| e.patient_ref.is_some() && e.actor == s.officer.id),
            "{n}"
        );
        assert_eq!(count("privacy.case.close"), 1, "{n}");
        assert_eq!(count("privacy.dashboard"), 3, "{n}");
    }
}

#[test]
fn two_nodes_scanning_at_once_examine_each_access_once() {
    for env in envs("privacy_nodes") {
        let n = env.name;
        let store = init(&env);
        let s = seed(&store);
        drop(store);
        let nodes: Vec<Store> = ["node-a", "node-b"]
            .iter()
            .map(|name| {
                let mut o = opts();
                o.node = (*name).into();
                env.data.open(o).unwrap()
            })
            .collect();
        let later = Utc::now() + TimeDelta::days(2);
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = nodes
                .iter()
                .map(|node| scope.spawn(|| node.privacy_scan(&s.officer, later)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let (mut examined, mut alerts) = (0, 0);
        for r in results {
            // A node that lost the race on SQLite may see the database busy; it scans
            // nothing then, which is also once.
            match r {
                Ok(sum) => {
                    examined += sum.examined;
                    alerts += sum.alerts;
                }
                Err(StoreError::Busy) => {}
                Err(e) => panic!("{n}: {e}"),
            }
        }
        assert_eq!((examined, alerts), (3, 5), "{n}");
        let cases = nodes[0].privacy_cases(&s.officer, false).unwrap();
        assert_eq!(cases.len(), 1, "{n}");
        assert_eq!(cases[0].alerts, 5, "{n}");
    }
}

/// A tuning is an explicit record: disabling same-surname for the front desk silences it
/// for that role only (a technologist namesake still fires), the front desk's other rules
/// still fire, a tuning in someone else's name or without a reason is refused, and each
/// recorded tuning is audited.
#[test]
fn a_stored_tuning_silences_one_rule_for_one_role_only() {
    use labguard_privacy::{Detector, Tuning, TuningChange};
    for env in envs("privacy_tune") {
        let n = env.name;
        let store = init(&env);
        let s = seed(&store);
        // A technologist who shares the same surname opens the same namesake's record.
        let tech = staff(&store, "tech", Role::LabTechnologist);
        store
            .set_staff_privacy_profile(
                &s.officer,
                &StaffPrivacyProfile {
                    staff_id: id_of(&tech),
                    surname: Some("Lindqvist".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        let namesake = store.find_patient_by_mrn(&op(), "MRN-P2").unwrap().unwrap();
        store.get_patient(&tech, namesake.id).unwrap();

        let now = Utc::now();
        let tuning = |by: &Actor, why: &str| {
            Tuning::new(
                Role::FrontDesk,
                TuningChange::Disable(Detector::SameSurname),
                id_of(by),
                why,
                now,
                vec![],
            )
        };
        assert!(
            tuning(&s.officer, "  ").is_err(),
            "{n}: a tuning needs a reason"
        );
        let forged = tuning(&s.snoop, "my own rule").unwrap();
        assert!(matches!(
            store.privacy_tune(&s.snoop, &forged),
            Err(StoreError::Denied(_))
        ));
        assert!(
            matches!(
                store.privacy_tune(&s.officer, &forged),
                Err(StoreError::Denied(_))
            ),
            "{n}: filed in someone else's name"
        );
        let t = tuning(
            &s.officer,
            "front desk registers relatives by surname at the counter",
        )
        .unwrap();
        assert_eq!(store.privacy_tune(&s.officer, &t).unwrap(), 1, "{n}");
        assert_eq!(store.privacy_tunings(&s.officer).unwrap(), vec![t], "{n}");

        store
            .privacy_scan(&s.officer, Utc::now() + TimeDelta::days(2))
            .unwrap();
        let cases: Vec<_> = store
            .privacy_cases(&s.officer, false)
            .unwrap()
            .iter()
            .map(|c| store.privacy_case(&s.officer, c.case.id.0).unwrap())
            .collect();
        let of = |who: &Actor| -> Vec<&str> {
            let mut v: Vec<&str> = cases
                .iter()
                .filter(|c| c.staff == id_of(who))
                .flat_map(|c| c.alerts.iter().map(|a| a.detector.code()))
                .collect();
            v.sort_unstable();
            v
        };
        let front = of(&s.snoop);
        assert!(
            !front.contains(&"same-surname"),
            "{n}: tuned rule fired: {front:?}"
        );
        assert!(
            front.contains(&"same-address") && front.contains(&"co-worker"),
            "{n}: untuned rules silenced: {front:?}"
        );
        assert!(
            of(&tech).contains(&"same-surname"),
            "{n}: other role silenced: {:?}",
            of(&tech)
        );

        let log = store.audit_entries(&s.officer, 0, 100_000).unwrap();
        let tunes: Vec<_> = log
            .iter()
            .filter(|(_, e)| e.action == "privacy.tune")
            .map(|(_, e)| e.outcome)
            .collect();
        assert!(
            tunes.contains(&AuditOutcome::Success) && tunes.contains(&AuditOutcome::Denied),
            "{n}: {tunes:?}"
        );
    }
}
