//! Training reminders and escalations over SMTP to a real sink: the learner gets the
//! before-due reminder, the security officer the escalation, and a second run sends nothing.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use labguard_core::{Id, Role, Staff};
use labguard_mail::{send_reminders, ReminderOptions};
use labguard_store::{Actor, DataDir, StoreOptions};
use labguard_testkit::sink::Sink;
use labguard_training::{Assignment, Reason, ReminderSchedule};

#[test]
fn reminders_and_escalations_are_mailed_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = DataDir::sqlite(dir.path().join("data"))
        .init(StoreOptions::default())
        .unwrap();
    let op = Actor::operator();
    let mk = |name: &str, role: Role| {
        let s = Staff {
            id: Id::new_v4(),
            username: name.into(),
            display_name: format!("{name} Example"),
            role,
            email: format!("{name}@lab.example.org"),
            active: true,
        };
        store.add_staff(&op, &s).unwrap();
        s
    };
    let ana = mk("ana", Role::Phlebotomist);
    let bo = mk("bo", Role::FrontDesk);
    mk("sol", Role::SecurityOfficer);
    let now = Utc::now();
    let open = vec![
        Assignment {
            rule_id: Id::new_v4(),
            staff_id: ana.id,
            manager_id: None,
            course_id: "passwords-mfa".into(),
            course_version: 1,
            reason: Reason::Initial,
            due_at: now + Duration::days(5),
            overdue_days: 0,
        },
        Assignment {
            rule_id: Id::new_v4(),
            staff_id: bo.id,
            manager_id: None,
            course_id: "hipaa-security-basics".into(),
            course_version: 1,
            reason: Reason::Annual,
            due_at: now - Duration::days(10),
            overdue_days: 10,
        },
    ];
    let titles = BTreeMap::from([
        ("passwords-mfa".to_string(), "Passwords and MFA".to_string()),
        (
            "hipaa-security-basics".to_string(),
            "HIPAA security basics".to_string(),
        ),
    ]);
    let sink = Sink::start().unwrap();
    let opts = ReminderOptions {
        smtp_url: sink.url(),
        from_address: "training@lab.example.org".into(),
        lab_name: "Northside Lab".into(),
        base_url: "https://labguard.lab.example.org".into(),
        schedule: ReminderSchedule::default(),
        timeout: std::time::Duration::from_secs(10),
    };
    let out = send_reminders(&store, &op, &open, &titles, &opts, now).unwrap();
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(out.iter().all(|o| o.sent), "{out:?}");
    let to_ana = sink.received_for("ana@lab.example.org");
    assert_eq!(to_ana.len(), 1);
    let text = to_ana[0].decoded();
    assert!(
        text.contains("Training due in 7 days: Passwords and MFA"),
        "{text}"
    );
    assert!(text.contains("https://labguard.lab.example.org/training/course/passwords-mfa"));
    let to_sol = sink.received_for("sol@lab.example.org");
    assert_eq!(to_sol.len(), 1);
    assert!(to_sol[0].decoded().contains("Overdue training: bo Example"));
    assert!(sink.received_for("bo@lab.example.org").is_empty());

    let again = send_reminders(&store, &op, &open, &titles, &opts, now).unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert_eq!(sink.received().len(), 2);
}
