//! Case filing, the review state machine, false-positive labels and tuning records.

use crate::common::*;
use labguard_core::Role;
use labguard_privacy::{
    propose_tunings, scan, Alert, CaseBook, CaseError, CaseStatus, Config, Dashboard, Detector,
    Outcome, Period, Reason, ScanState, Tuning, TuningChange, TuningError,
};

const OFFICER: u128 = 99;

/// Alice: no-relationship on pt-2 Monday and pt-vip Wednesday, a linked repeat on pt-2;
/// Bob: one on pt-2 Thursday.
fn week_of_alerts() -> Vec<Alert> {
    let ctx = lab();
    let batch = [
        alice_opens(1, "pt-2"),
        access(
            2,
            t(2, 11, 0),
            ALICE,
            Role::Phlebotomist,
            "pt-2",
            Reason::Unstated,
        ),
        access(
            3,
            t(4, 10, 0),
            ALICE,
            Role::Phlebotomist,
            "pt-vip",
            Reason::Unstated,
        ),
        access(
            4,
            t(5, 10, 0),
            BOB,
            Role::LabTechnologist,
            "pt-2",
            Reason::Unstated,
        ),
    ];
    scan(ScanState::default(), &batch, &ctx, &Config::default()).1
}

#[test]
fn alerts_group_per_user_and_week() {
    let alerts = week_of_alerts();
    assert_eq!(alerts.len(), 4);
    let mut book = CaseBook::new(Period::Week, 0);
    let touched = book.file(&alerts);
    assert_eq!(touched.len(), 2);
    let alice = book.get(touched[0]).unwrap();
    assert_eq!(alice.staff, id(ALICE));
    assert_eq!(alice.alerts.len(), 3);
    // The linked repeat is evidence, not a second unexplained access.
    assert_eq!(alice.counted(), 2);
    assert_eq!(alice.period_start, t(2, 0, 0));
    assert_eq!(alice.period_end, t(9, 0, 0));
    assert_eq!(alice.status, CaseStatus::Open);
    assert_eq!(book.get(touched[1]).unwrap().staff, id(BOB));
}

#[test]
fn linked_or_break_glass_alerts_alone_open_no_case() {
    let ctx = lab();
    let bg = access(
        1,
        t(2, 10, 0),
        ALICE,
        Role::Phlebotomist,
        "pt-2",
        Reason::BreakGlass {
            reason: "stat".into(),
        },
    );
    let (_, alerts) = scan(ScanState::default(), &[bg], &ctx, &Config::default());
    assert_eq!(alerts.len(), 1);
    let mut book = CaseBook::new(Period::Day, 0);
    assert!(book.file(&alerts).is_empty());
    assert!(book.cases.is_empty());
}

#[test]
fn transitions_are_validated() {
    let mut book = CaseBook::new(Period::Week, 0);
    let ids = book.file(&week_of_alerts());
    let c = book.get_mut(ids[0]).unwrap();
    let (me, officer, at) = (id(ALICE), id(OFFICER), t(10, 9, 0));
    assert_eq!(c.note(officer, "looked", at), Err(CaseError::NotAssigned));
    assert_eq!(
        c.close(officer, Outcome::Appropriate, "fine", at),
        Err(CaseError::NotAssigned)
    );
    assert_eq!(c.assign(officer, me, at), Err(CaseError::SelfReview));
    assert_eq!(c.assign(me, officer, at), Err(CaseError::SelfReview));
    c.assign(officer, officer, at).unwrap();
    assert_eq!(c.status, CaseStatus::Assigned);
    assert_eq!(
        c.note(officer, "   ", at),
        Err(CaseError::EmptyText("a note"))
    );
    c.note(officer, "asked the user; no order on file", at)
        .unwrap();
    assert_eq!(c.status, CaseStatus::Noted);
    assert_eq!(c.reopen(officer, "why", at), Err(CaseError::NotClosed));
    assert_eq!(
        c.close(officer, Outcome::Sanction, "", at),
        Err(CaseError::EmptyText("closing"))
    );
    c.close(officer, Outcome::Sanction, "written warning", at)
        .unwrap();
    assert_eq!(c.status, CaseStatus::Closed(Outcome::Sanction));
    assert_eq!(
        c.close(officer, Outcome::Appropriate, "again", at),
        Err(CaseError::Closed)
    );
    assert_eq!(c.note(officer, "late", at), Err(CaseError::Closed));
    let first = c.alerts[0].id;
    assert_eq!(
        c.label_false_positive(first, officer, "was fine", at),
        Err(CaseError::Contradiction)
    );
    assert_eq!(
        c.reopen(officer, "", at),
        Err(CaseError::EmptyText("reopening"))
    );
    c.reopen(officer, "user appealed", at).unwrap();
    assert_eq!(c.status, CaseStatus::Noted);
    // Assign, note, close, reopen: four events recorded, refusals none.
    assert_eq!(c.history.len(), 4);
}

#[test]
fn a_new_alert_after_closing_opens_a_new_case() {
    let alerts = week_of_alerts();
    let mut book = CaseBook::new(Period::Week, 0);
    let ids = book.file(&alerts[..1]);
    let c = book.get_mut(ids[0]).unwrap();
    c.assign(id(OFFICER), id(OFFICER), t(3, 9, 0)).unwrap();
    c.close(id(OFFICER), Outcome::Referred, "to HR", t(3, 9, 0))
        .unwrap();
    let again = book.file(&alerts[2..3]);
    assert_eq!(again.len(), 1);
    assert_ne!(again[0], ids[0]);
    assert_eq!(book.cases.len(), 2);
}

#[test]
fn false_positives_feed_explicit_tuning_records() {
    let mut book = CaseBook::new(Period::Week, 0);
    let ids = book.file(&week_of_alerts());
    let officer = id(OFFICER);
    let at = t(10, 9, 0);
    let c = book.get_mut(ids[0]).unwrap();
    let (a0, a2) = (c.alerts[0].id, c.alerts[2].id);
    assert_eq!(
        c.label_false_positive(a0, id(ALICE), "mine", at),
        Err(CaseError::SelfReview)
    );
    assert_eq!(
        c.label_false_positive(a0, officer, "", at),
        Err(CaseError::EmptyText("a false-positive label"))
    );
    let fp = c
        .label_false_positive(a0, officer, "standing order kept on paper", at)
        .unwrap();
    assert_eq!(
        c.label_false_positive(a0, officer, "again", at),
        Err(CaseError::AlreadyLabelled)
    );
    let foreign = week_of_alerts()[3].id;
    assert_eq!(
        c.label_false_positive(foreign, officer, "x", at),
        Err(CaseError::UnknownAlert)
    );
    let restricted = c
        .label_false_positive(a2, officer, "VIP was a colleague's test", at)
        .unwrap();
    c.assign(officer, officer, at).unwrap();
    assert_eq!(
        c.close(officer, Outcome::Sanction, "no", at),
        Err(CaseError::Contradiction)
    );
    c.close(officer, Outcome::Appropriate, "job related", at)
        .unwrap();

    let cfg = Config::default();
    // One label is below a minimum of 2: nothing proposed.
    assert!(propose_tunings(std::slice::from_ref(&fp), &cfg, 2).is_empty());
    let labels = [fp.clone(), fp.clone(), restricted];
    let props = propose_tunings(&labels, &cfg, 2);
    // The restricted label never yields a proposal; two no-relationship labels do.
    assert_eq!(props.len(), 1);
    assert_eq!(props[0].detector, Detector::NoRelationship);
    assert_eq!(props[0].change, TuningChange::RelationshipBeforeHours(1440));
    let p = props[0].clone();
    assert_eq!(
        p.clone().accept(officer, " ", at),
        Err(TuningError::NoReason)
    );
    let tuning = p
        .accept(officer, "paper standing orders for phlebotomy", at)
        .unwrap();
    assert_eq!(tuning.by, officer);
    let tuned = cfg.apply(&tuning).unwrap();
    assert_eq!(tuned.relationship_before(Role::Phlebotomist), 1440);
    assert_eq!(tuned.relationship_before(Role::LabTechnologist), 720);
    // Config changes only through a record; a tampered record is checked again.
    let bad = Tuning {
        change: TuningChange::VolumeK(f64::NAN),
        ..tuning
    };
    assert_eq!(cfg.apply(&bad), Err(TuningError::BadK));
}

#[test]
fn dashboard_counts_and_pseudonymous_mode() {
    let alerts = week_of_alerts();
    let mut book = CaseBook::new(Period::Week, 0);
    let ids = book.file(&alerts);
    let bob_case = book.get_mut(ids[1]).unwrap();
    bob_case
        .assign(id(OFFICER), id(OFFICER), t(6, 9, 0))
        .unwrap();
    let names = |s: &labguard_core::Id| (*s == id(ALICE)).then(|| "Alice Example".to_string());
    let named = Dashboard::compute(
        &book,
        &alerts,
        (t(2, 0, 0).date_naive(), t(5, 0, 0).date_naive()),
        t(12, 10, 0),
        5,
        Some(&names),
    );
    assert_eq!(named.open_cases, 2);
    assert_eq!(named.backlog.unassigned, 1);
    // Alice's case opened 2 March 10:00, Bob's 5 March 10:00; as of 12 March 10:00.
    assert_eq!(named.backlog.oldest_hours, Some(240));
    assert_eq!(named.backlog.median_hours, Some(204.0));
    // Bob's is exactly 168 hours old: not older than a week.
    assert_eq!(named.backlog.older_than_week, 1);
    let series = |d: Detector| {
        named
            .per_detector
            .iter()
            .find(|s| s.detector == d)
            .unwrap()
            .points
            .clone()
    };
    let nr: Vec<u32> = series(Detector::NoRelationship)
        .iter()
        .map(|p| p.1)
        .collect();
    // 2 March: Alice (the repeat is linked, not counted); 5 March: Bob.
    assert_eq!(nr, vec![1, 0, 0, 1]);
    let rs: Vec<u32> = series(Detector::Restricted).iter().map(|p| p.1).collect();
    assert_eq!(rs, vec![0, 0, 1, 0]);
    assert_eq!(named.top_users[0].label, "Alice Example");
    assert_eq!(named.top_users[0].unexplained, 2);
    assert_eq!(named.top_users[1].unexplained, 1);
    let auditor = Dashboard::compute(
        &book,
        &alerts,
        (t(2, 0, 0).date_naive(), t(5, 0, 0).date_naive()),
        t(12, 10, 0),
        5,
        None,
    );
    assert!(auditor.pseudonymous);
    assert_eq!(auditor.top_users[0].label, "User A");
    assert!(auditor.top_users.iter().all(|u| u.staff.is_none()));
    let json = serde_json::to_string(&auditor).unwrap();
    assert!(!json.contains(&id(ALICE).to_string()) && !json.contains("Alice"));
}
