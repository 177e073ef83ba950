use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use labguard_core::{Role, Staff};
use labguard_training::assign::*;
use labguard_training::course::CourseRelease;
use uuid::Uuid;

fn t(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

fn trainee(n: u128, role: Role, hired: DateTime<Utc>) -> Trainee {
    Trainee {
        staff: Staff {
            id: Uuid::from_u128(n),
            username: format!("u{n}"),
            display_name: format!("User {n}"),
            role,
            email: format!("u{n}@lab.example.com"),
            active: true,
        },
        hired_at: hired,
        manager_id: Some(Uuid::from_u128(900)),
    }
}

fn rule(target: Target, recurrence: Recurrence, policy: VersionPolicy) -> AssignmentRule {
    AssignmentRule {
        id: Uuid::from_u128(500),
        course_id: "hipaa".into(),
        target,
        recurrence,
        due_within_days: 30,
        starts_at: t(2026, 1, 1),
        version_policy: policy,
        min_completed_at: None,
        kind: RuleKind::Standard,
    }
}

fn release(version: u32, at: DateTime<Utc>) -> Vec<CourseRelease> {
    vec![CourseRelease {
        course_id: "hipaa".into(),
        version,
        released_at: at,
    }]
}

fn done(n: u128, version: u32, at: DateTime<Utc>) -> Completion {
    Completion {
        staff_id: Uuid::from_u128(n),
        course_id: "hipaa".into(),
        course_version: version,
        completed_at: at,
        score_percent: 100,
    }
}

#[test]
fn role_rule_initial_and_on_hire() {
    let staff = [
        trainee(1, Role::Phlebotomist, t(2020, 5, 1)),
        trainee(2, Role::Phlebotomist, t(2026, 3, 1)),
        trainee(3, Role::Auditor, t(2020, 5, 1)),
    ];
    let rules = [rule(
        Target::Role(Role::Phlebotomist),
        Recurrence::Once,
        VersionPolicy::KeepOld,
    )];
    let rel = release(1, t(2025, 12, 1));
    // Before the new hire starts only the existing phlebotomist has it.
    let a = due_assignments(&staff, &rules, &rel, &[], t(2026, 2, 15));
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].staff_id, Uuid::from_u128(1));
    assert_eq!(a[0].reason, Reason::Initial);
    assert_eq!(a[0].due_at, t(2026, 1, 31));
    assert_eq!(a[0].overdue_days, 15);
    // After hire: new hire gets hired + 30 days, on-hire reason.
    let a = due_assignments(&staff, &rules, &rel, &[], t(2026, 3, 2));
    assert_eq!(a.len(), 2);
    assert_eq!(a[1].staff_id, Uuid::from_u128(2));
    assert_eq!(a[1].reason, Reason::OnHire);
    assert_eq!(a[1].due_at, t(2026, 3, 31));
    assert_eq!(a[1].overdue_days, 0);
    // Completion satisfies a one-off rule for good.
    let a = due_assignments(
        &staff,
        &rules,
        &rel,
        &[done(1, 1, t(2026, 1, 10))],
        t(2030, 1, 1),
    );
    assert_eq!(
        a.iter().map(|a| a.staff_id).collect::<Vec<_>>(),
        [Uuid::from_u128(2)]
    );
}

#[test]
fn inactive_staff_and_unknown_courses_are_skipped() {
    let mut gone = trainee(1, Role::Phlebotomist, t(2020, 1, 1));
    gone.staff.active = false;
    let rules = [rule(
        Target::AllStaff,
        Recurrence::Once,
        VersionPolicy::KeepOld,
    )];
    assert!(due_assignments(
        &[gone],
        &rules,
        &release(1, t(2025, 1, 1)),
        &[],
        t(2026, 6, 1)
    )
    .is_empty());
    let live = trainee(2, Role::Phlebotomist, t(2020, 1, 1));
    assert!(due_assignments(&[live], &rules, &[], &[], t(2026, 6, 1)).is_empty());
}

#[test]
fn annual_recurrence_reopens_before_the_anniversary() {
    let staff = [trainee(1, Role::LabTechnologist, t(2020, 1, 1))];
    let rules = [rule(
        Target::AllStaff,
        Recurrence::Annual,
        VersionPolicy::KeepOld,
    )];
    let rel = release(1, t(2025, 1, 1));
    let c = [done(1, 1, t(2026, 1, 20))];
    // Anniversary 2027-01-20; opens 30 days before (2026-12-21).
    assert!(due_assignments(&staff, &rules, &rel, &c, t(2026, 12, 20)).is_empty());
    let a = due_assignments(&staff, &rules, &rel, &c, t(2026, 12, 21));
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].reason, Reason::Annual);
    assert_eq!(a[0].due_at, t(2027, 1, 20));
}

#[test]
fn new_version_reassigns_only_where_policy_says() {
    let staff = [trainee(1, Role::LabTechnologist, t(2020, 1, 1))];
    let c = [done(1, 1, t(2026, 1, 20))];
    let rel = release(2, t(2026, 4, 1));
    let keep = [rule(
        Target::AllStaff,
        Recurrence::Once,
        VersionPolicy::KeepOld,
    )];
    assert!(due_assignments(&staff, &keep, &rel, &c, t(2026, 4, 2)).is_empty());
    let re = [rule(
        Target::AllStaff,
        Recurrence::Once,
        VersionPolicy::Reassign { within_days: 14 },
    )];
    let a = due_assignments(&staff, &re, &rel, &c, t(2026, 4, 2));
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].reason, Reason::NewVersion);
    assert_eq!(a[0].course_version, 2);
    assert_eq!(a[0].due_at, t(2026, 4, 15));
    // Taking version 2 satisfies it.
    let c2 = [c[0].clone(), done(1, 2, t(2026, 4, 5))];
    assert!(due_assignments(&staff, &re, &rel, &c2, t(2026, 4, 20)).is_empty());
}

#[test]
fn person_rules_dedupe_to_the_earliest_due_and_remedial_ignores_old_completions() {
    let staff = [trainee(1, Role::FrontDesk, t(2020, 1, 1))];
    let role = rule(
        Target::Role(Role::FrontDesk),
        Recurrence::Once,
        VersionPolicy::KeepOld,
    );
    let mut remedial = rule(
        Target::Person(Uuid::from_u128(1)),
        Recurrence::Once,
        VersionPolicy::KeepOld,
    );
    remedial.id = Uuid::from_u128(501);
    remedial.starts_at = t(2026, 5, 1);
    remedial.due_within_days = 7;
    remedial.min_completed_at = Some(t(2026, 5, 1));
    remedial.kind = RuleKind::Remedial {
        campaign_id: Uuid::from_u128(77),
    };
    let c = [done(1, 1, t(2026, 1, 10))];
    let a = due_assignments(
        &staff,
        &[role.clone(), remedial.clone()],
        &release(1, t(2025, 1, 1)),
        &c,
        t(2026, 5, 2),
    );
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].rule_id, Uuid::from_u128(501));
    assert_eq!(a[0].reason, Reason::Remedial);
    assert_eq!(a[0].due_at, t(2026, 5, 8));
    let c2 = [c[0].clone(), done(1, 1, t(2026, 5, 3))];
    assert!(due_assignments(
        &staff,
        &[role, remedial],
        &release(1, t(2025, 1, 1)),
        &c2,
        t(2026, 5, 4)
    )
    .is_empty());
}

fn open(due: DateTime<Utc>, manager: Option<Uuid>) -> Assignment {
    Assignment {
        rule_id: Uuid::from_u128(500),
        staff_id: Uuid::from_u128(1),
        manager_id: manager,
        course_id: "hipaa".into(),
        course_version: 1,
        reason: Reason::Initial,
        due_at: due,
        overdue_days: 0,
    }
}

#[test]
fn reminder_schedule_and_escalation() {
    let s = ReminderSchedule::default();
    let due = t(2026, 6, 30);
    let a = [open(due, Some(Uuid::from_u128(900)))];
    let none = BTreeSet::new();
    assert!(reminders(&a, &s, &none, t(2026, 6, 22)).is_empty());
    let r = reminders(&a, &s, &none, t(2026, 6, 23));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].step, ReminderStep::Before { days: 7 });
    // Once sent, it is not sent again.
    let sent: BTreeSet<String> = r.iter().map(|r| r.key.clone()).collect();
    assert!(reminders(&a, &s, &sent, t(2026, 6, 25)).is_empty());
    // On the due day: the due-day reminder (only the most recent step).
    let r = reminders(&a, &s, &sent, due + Duration::hours(9));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].step, ReminderStep::Before { days: 0 });
    // A job that missed everything sends one step, not a burst.
    assert_eq!(reminders(&a, &s, &none, due).len(), 1);
    // Overdue by 6 days: nothing; by 7: escalation to the manager.
    assert!(reminders(&a, &s, &none, due + Duration::days(6)).is_empty());
    let r = reminders(&a, &s, &none, due + Duration::days(7));
    assert_eq!(
        r[0].step,
        ReminderStep::Escalation {
            manager_id: Some(Uuid::from_u128(900)),
            overdue_days: 7
        }
    );
    assert_eq!(r.len(), 1);
}

#[test]
fn transcript_lists_open_then_completed_newest_first() {
    let me = Uuid::from_u128(1);
    let c = [
        done(1, 1, t(2025, 1, 1)),
        done(1, 2, t(2026, 1, 1)),
        done(2, 1, t(2026, 2, 1)),
    ];
    let tr = transcript(me, &c, &[open(t(2026, 7, 1), None)]);
    assert_eq!(tr.entries.len(), 3);
    assert!(matches!(
        tr.entries[0].status,
        TranscriptStatus::Open { .. }
    ));
    assert_eq!(
        tr.entries[1].status,
        TranscriptStatus::Completed {
            completed_at: t(2026, 1, 1),
            course_version: 2,
            score_percent: 100
        }
    );
    let json = serde_json::to_value(&tr).unwrap();
    assert_eq!(json["entries"][0]["status"], "open");
    assert_eq!(json["entries"][2]["course_version"], 1);
}

#[test]
fn rules_from_course_audience_drive_assignments() {
    let courses = labguard_training::builtin_courses().unwrap();
    let device = courses
        .iter()
        .find(|c| c.id == "medical-device-security")
        .unwrap();
    let mut n = 0;
    let rules = rules_for_audience(
        device,
        Recurrence::Annual,
        30,
        VersionPolicy::Reassign { within_days: 30 },
        t(2026, 1, 1),
        |_| {
            n += 1;
            Uuid::from_u128(n)
        },
    );
    assert_eq!(
        rules.iter().map(|r| r.target.clone()).collect::<Vec<_>>(),
        [
            Target::Role(Role::LabTechnologist),
            Target::Role(Role::Pathologist),
            Target::Role(Role::SecurityOfficer),
            Target::Role(Role::Administrator),
        ]
    );
    let staff = [
        trainee(1, Role::LabTechnologist, t(2020, 1, 1)),
        trainee(2, Role::FrontDesk, t(2020, 1, 1)),
    ];
    let a = due_assignments(&staff, &rules, &[device.release()], &[], t(2026, 1, 2));
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].staff_id, Uuid::from_u128(1));
    assert_eq!(a[0].course_id, "medical-device-security");
    let all = rules_for_audience(
        &courses[0],
        Recurrence::Once,
        14,
        VersionPolicy::KeepOld,
        t(2026, 1, 1),
        |_| Uuid::nil(),
    );
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].target, Target::AllStaff);
}

#[test]
fn notices_are_worded_per_step_and_single_line_subjects() {
    use labguard_training::notify::{notice, NoticeContext};
    let ctx = NoticeContext {
        lab_name: "North Lab",
        learner_name: "Ana\r\nBcc: x@evil.net",
        course_title: "HIPAA basics",
        course_url: "https://lg.lab.example.com/training/hipaa",
    };
    let a = [open(t(2026, 6, 30), Some(Uuid::from_u128(900)))];
    let none = BTreeSet::new();
    let s = ReminderSchedule::default();
    let r7 = &reminders(&a, &s, &none, t(2026, 6, 23))[0];
    let n = notice(r7, &ctx);
    assert_eq!(n.subject, "Training due in 7 days: HIPAA basics");
    assert!(n.text.contains("due on 2026-06-30"));
    assert!(n.text.contains("https://lg.lab.example.com/training/hipaa"));
    let r0 = &reminders(&a, &s, &none, t(2026, 6, 30))[0];
    assert_eq!(notice(r0, &ctx).subject, "Training due today: HIPAA basics");
    let esc = &reminders(&a, &s, &none, t(2026, 7, 10))[0];
    let n = notice(esc, &ctx);
    assert_eq!(
        n.subject,
        "Overdue training: Ana  Bcc: x@evil.net - HIPAA basics"
    );
    assert!(n.text.contains("(10 days overdue)"));
}
