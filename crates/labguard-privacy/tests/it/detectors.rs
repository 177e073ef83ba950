//! Each detector fires on a hand-built scenario and stays quiet on its near miss.

use crate::common::*;
use labguard_core::Role;
use labguard_privacy::{CareEvent, CareKind, Detector as D, Reason};

fn break_glass() -> Reason {
    Reason::BreakGlass {
        reason: "patient collapsed in the waiting room".into(),
    }
}

#[test]
fn self_record_fires_on_own_record_only() {
    let ctx = lab();
    let own = access(
        1,
        t(2, 10, 0),
        BOB,
        Role::LabTechnologist,
        "pt-bob",
        Reason::Unstated,
    );
    let got = one(&ctx, own);
    assert!(detectors(&got).contains(&D::SelfRecord));
    // Not also reported as a co-worker's record.
    assert!(!detectors(&got).contains(&D::CoWorker));
    let other = access(
        2,
        t(2, 10, 0),
        BOB,
        Role::LabTechnologist,
        "pt-1",
        Reason::Unstated,
    );
    assert!(!detectors(&one(&ctx, other)).contains(&D::SelfRecord));
}

#[test]
fn same_surname_fires_and_is_quiet_for_assigned_work_or_other_names() {
    let mut ctx = lab();
    assert_eq!(
        detectors(&one(&ctx, alice_opens(1, "pt-relative"))),
        vec![D::SameSurname, D::NoRelationship]
    );
    // Different surname key: no identity alert (pt-1 also has Alice's draw, so nothing).
    assert_eq!(detectors(&one(&ctx, alice_opens(2, "pt-1"))), vec![]);
    // Near miss: the relative's draw is on Alice's worklist and she opens it from there.
    ctx.add_event(CareEvent {
        at: t(2, 9, 0),
        patient: pt("pt-relative"),
        kind: CareKind::Worklist,
        staff: Some(id(ALICE)),
        department: None,
    });
    let from_worklist = access(
        3,
        t(2, 10, 0),
        ALICE,
        Role::Phlebotomist,
        "pt-relative",
        Reason::Worklist,
    );
    assert_eq!(detectors(&one(&ctx, from_worklist)), vec![]);
    // The same link opened by search (no worklist reason) still fires the surname check.
    assert_eq!(
        detectors(&one(&ctx, alice_opens(4, "pt-relative"))),
        vec![D::SameSurname]
    );
}

#[test]
fn same_address_fires_only_on_equal_address_keys() {
    let ctx = lab();
    assert_eq!(
        detectors(&one(&ctx, alice_opens(1, "pt-housemate"))),
        vec![D::SameAddress, D::NoRelationship]
    );
    // pt-2's keys differ from Alice's: only the missing relationship.
    assert_eq!(
        detectors(&one(&ctx, alice_opens(2, "pt-2"))),
        vec![D::NoRelationship]
    );
}

#[test]
fn co_worker_fires_on_a_staff_members_record() {
    let ctx = lab();
    assert_eq!(
        detectors(&one(&ctx, alice_opens(1, "pt-bob"))),
        vec![D::CoWorker, D::NoRelationship]
    );
    assert!(!detectors(&one(&ctx, alice_opens(2, "pt-2"))).contains(&D::CoWorker));
}

#[test]
fn no_relationship_respects_the_window_and_department_links() {
    let mut ctx = lab();
    let got = one(&ctx, alice_opens(1, "pt-2"));
    assert_eq!(detectors(&got), vec![D::NoRelationship]);
    assert_eq!(got[0].facts.window_hours, Some(720));
    assert!(got[0].counts());
    // An order for pt-2 routed to Alice's department 40 days ago: outside the 30-day window.
    ctx.add_event(CareEvent {
        at: t(2, 10, 0) - chrono::Duration::days(40),
        patient: pt("pt-2"),
        kind: CareKind::Order,
        staff: None,
        department: Some("draw".into()),
    });
    assert_eq!(
        detectors(&one(&ctx, alice_opens(2, "pt-2"))),
        vec![D::NoRelationship]
    );
    // Near miss: another one 10 days ago links through the department.
    ctx.add_event(CareEvent {
        at: t(2, 10, 0) - chrono::Duration::days(10),
        patient: pt("pt-2"),
        kind: CareKind::Order,
        staff: None,
        department: Some("draw".into()),
    });
    assert_eq!(detectors(&one(&ctx, alice_opens(3, "pt-2"))), vec![]);
    // Another department's order does not link Bob.
    let bob = access(
        4,
        t(2, 10, 0),
        BOB,
        Role::LabTechnologist,
        "pt-2",
        Reason::Unstated,
    );
    assert_eq!(detectors(&one(&ctx, bob)), vec![D::NoRelationship]);
}

#[test]
fn break_glass_is_linked_not_double_counted() {
    let ctx = lab();
    let bg = |seq, h| {
        access(
            seq,
            t(2, h, 0),
            ALICE,
            Role::Phlebotomist,
            "pt-2",
            break_glass(),
        )
    };
    let batch = [
        bg(1, 10),
        bg(2, 11),
        alice_opens(3, "pt-2"),
        access(
            4,
            t(3, 12, 0),
            ALICE,
            Role::Phlebotomist,
            "pt-2",
            break_glass(),
        ),
    ];
    let (_, got) = labguard_privacy::scan(Default::default(), &batch, &ctx, &Default::default());
    assert_eq!(got.len(), 4);
    // First break-glass access: an alert, but evidence for the grant's review, not counted.
    assert!(got[0].break_glass && got[0].linked_to.is_none() && !got[0].counts());
    // The second within 24 hours is attached to the first.
    assert_eq!(got[1].linked_to, Some(got[0].id));
    // An access without break-glass is not hidden behind the grant.
    assert!(!got[2].break_glass && got[2].counts());
    // A day later (26 hours after the first): a new alert.
    assert_eq!(got[3].linked_to, None);
}

#[test]
fn restricted_record_without_relationship_replaces_no_relationship() {
    let mut ctx = lab();
    let got = one(&ctx, alice_opens(1, "pt-vip"));
    assert_eq!(detectors(&got), vec![D::Restricted]);
    ctx.add_event(CareEvent {
        at: t(2, 9, 0),
        patient: pt("pt-vip"),
        kind: CareKind::Specimen,
        staff: Some(id(ALICE)),
        department: None,
    });
    assert_eq!(detectors(&one(&ctx, alice_opens(2, "pt-vip"))), vec![]);
}

#[test]
fn dormant_fires_on_deceased_or_long_inactive_without_reason() {
    let ctx = lab();
    let got = one(&ctx, alice_opens(1, "pt-old"));
    assert_eq!(detectors(&got), vec![D::Dormant]);
    // 2 March 10:00 minus (2 March 08:00 minus 730 days): 730 days and 2 hours.
    assert_eq!(got[0].facts.inactive_days, Some(730));
    let dead = one(&ctx, alice_opens(2, "pt-deceased"));
    assert_eq!(detectors(&dead), vec![D::Dormant]);
    assert_eq!(dead[0].facts.inactive_days, Some(11));
    // Near misses: 100 days inactive is under the 365-day limit; a break-glass reason on
    // the deceased record makes it a (break-glass) missing relationship, not dormant.
    assert_eq!(
        detectors(&one(&ctx, alice_opens(3, "pt-recent"))),
        vec![D::NoRelationship]
    );
    let bg = access(
        4,
        t(2, 10, 0),
        ALICE,
        Role::Phlebotomist,
        "pt-deceased",
        break_glass(),
    );
    assert_eq!(detectors(&one(&ctx, bg)), vec![D::NoRelationship]);
}

#[test]
fn after_hours_follows_the_shift_with_grace() {
    let ctx = lab();
    // pt-1 has Alice's draw, so only the time can alert.
    let at = |seq, day, h, m, reason| {
        access(seq, t(day, h, m), ALICE, Role::Phlebotomist, "pt-1", reason)
    };
    assert_eq!(
        detectors(&one(&ctx, at(1, 2, 20, 0, Reason::Unstated))),
        vec![D::AfterHours]
    );
    // Saturday 7 March, mid-morning: not a shift day.
    assert_eq!(
        detectors(&one(&ctx, at(2, 7, 10, 0, Reason::Unstated))),
        vec![D::AfterHours]
    );
    // Near misses: 16:30 is inside the 60-minute grace, 07:05 too; the worklist is work.
    assert_eq!(
        detectors(&one(&ctx, at(3, 2, 16, 30, Reason::Unstated))),
        vec![]
    );
    assert_eq!(
        detectors(&one(&ctx, at(4, 3, 7, 5, Reason::Unstated))),
        vec![]
    );
    assert_eq!(
        detectors(&one(&ctx, at(5, 2, 20, 0, Reason::Worklist))),
        vec![]
    );
    // Carol has no shift on file: never after hours.
    let carol = access(
        6,
        t(7, 23, 0),
        CAROL,
        Role::Phlebotomist,
        "pt-1",
        Reason::Worklist,
    );
    assert_eq!(detectors(&one(&ctx, carol)), vec![]);
}

#[test]
fn night_shift_runs_past_midnight() {
    let s = weekdays(22, 6);
    // Monday 23:00 and Tuesday 05:00 (Monday's shift) are covered; Monday 12:00 is not.
    assert!(s.covers(t(2, 23, 0), 0));
    assert!(s.covers(t(3, 5, 0), 0));
    assert!(!s.covers(t(2, 12, 0), 0));
    // Saturday 05:00 belongs to Friday's shift; Sunday 05:00 to no shift.
    assert!(s.covers(t(7, 5, 0), 0));
    assert!(!s.covers(t(8, 5, 0), 0));
}

#[test]
fn disabled_detector_stays_quiet_for_that_role_only() {
    let ctx = lab();
    let mut cfg = labguard_privacy::Config::default();
    cfg.roles
        .entry(Role::Phlebotomist)
        .or_default()
        .disabled
        .insert(D::NoRelationship);
    let (_, got) =
        labguard_privacy::scan(Default::default(), &[alice_opens(1, "pt-2")], &ctx, &cfg);
    assert_eq!(detectors(&got), vec![]);
    let bob = access(
        2,
        t(2, 10, 0),
        BOB,
        Role::LabTechnologist,
        "pt-2",
        Reason::Unstated,
    );
    let (_, got) = labguard_privacy::scan(Default::default(), &[bob], &ctx, &cfg);
    assert_eq!(detectors(&got), vec![D::NoRelationship]);
}

#[test]
fn explanations_fill_placeholders_without_reexpanding_names() {
    let ctx = lab();
    let got = one(&ctx, alice_opens(1, "pt-2"));
    assert_eq!(
        got[0].explain("User A", "{count}"),
        "User A opened the record of {count} with no order, specimen, draw, result or worklist entry linking them within 720 hours."
    );
    for d in D::ALL {
        // Every explanation is one sentence naming the user.
        let e = d.explanation();
        assert!(
            e.starts_with("{staff}") && e.ends_with('.') && e.matches(". ").count() == 0,
            "{d}"
        );
    }
}
