//! Training and phishing storage on both backends: the delivery state machine that keeps
//! sends at most once, tracking tokens bound to one recipient, remedial assignment on a
//! click, quiz attempts and completions.

use crate::common::*;
use chrono::{Duration, Utc};
use labguard_core::{Id, Role, Staff};
use labguard_store::{
    Actor, Campaign, DeliveryStatus, MailTransport, NewRecipient, Store, StoreError,
};
use labguard_training::phishing::{EventKind, TargetGroup, TrackingToken};
use labguard_training::{RuleKind, Target};

fn staff(store: &Store, name: &str, role: Role) -> Staff {
    let s = Staff {
        id: Id::new_v4(),
        username: name.into(),
        display_name: format!("{name} Example"),
        role,
        email: format!("{name}@lab.example.org"),
        active: true,
    };
    store.add_staff(&op(), &s).unwrap();
    s
}

fn campaign(store: &Store, people: &[&Staff]) -> Campaign {
    let now = Utc::now();
    let c = Campaign {
        id: Id::new_v4(),
        name: "courier notice".into(),
        template_id: "specimen-courier".into(),
        target: TargetGroup::AllStaff,
        from_address: "it@lab.example.org".into(),
        smtp_url: "smtp://127.0.0.1:2525".into(),
        base_url: "https://labguard.lab.example.org".into(),
        allowed_domains: vec!["lab.example.org".into()],
        per_minute: 60,
        window_start: now,
        window_end: now + Duration::hours(1),
        max_attempts: 3,
        created_at: now,
        launched_at: None,
    };
    let rs: Vec<NewRecipient> = people
        .iter()
        .map(|s| NewRecipient {
            staff_id: s.id,
            role: s.role,
            email: s.email.clone(),
            display_name: s.display_name.clone(),
        })
        .collect();
    store.create_campaign(&op(), &c, &rs).unwrap();
    c
}

fn token(b: u8) -> TrackingToken {
    TrackingToken::from_random([b; 32])
}

fn rid(store: &Store, c: &Campaign, s: &Staff) -> Id {
    store
        .campaign_recipients(&op(), c.id)
        .unwrap()
        .into_iter()
        .find(|r| r.staff_id == s.id)
        .unwrap()
        .id
}

#[test]
fn delivery_is_at_most_once_and_tokens_are_bound_to_one_recipient() {
    for env in envs("phish_state") {
        let store = init(&env);
        let ana = staff(&store, "ana", Role::Phlebotomist);
        let bo = staff(&store, "bo", Role::LabTechnologist);
        let c1 = campaign(&store, &[&ana, &bo]);
        let c2 = campaign(&store, &[&ana]);
        let back = store.campaign(&op(), c1.id).unwrap();
        assert_eq!(
            (
                &back.name,
                &back.target,
                &back.allowed_domains,
                back.per_minute
            ),
            (&c1.name, &c1.target, &c1.allowed_domains, c1.per_minute),
            "{}",
            env.name
        );
        assert_eq!(store.list_campaigns(&op()).unwrap().len(), 2);

        // Claim, then a second claim (another process, or a restart) must refuse.
        let (ta, tb, t2) = (token(1), token(2), token(3));
        let ra = rid(&store, &c1, &ana);
        assert!(store.claim_recipient(&op(), ra, &ta).unwrap());
        assert!(
            !store.claim_recipient(&op(), ra, &token(9)).unwrap(),
            "{}",
            env.name
        );
        store.mark_sent(&op(), ra, MailTransport::Tls).unwrap();
        assert!(!store.claim_recipient(&op(), ra, &token(9)).unwrap());

        // Bo's server said 4xx: back to pending, and the first token is dead.
        let rb = rid(&store, &c1, &bo);
        assert!(store.claim_recipient(&op(), rb, &token(7)).unwrap());
        store
            .mark_retry(&op(), rb, "451 try later", Some(Utc::now()))
            .unwrap();
        assert!(store
            .record_tracking_event(token(7).as_str(), EventKind::Clicked, 14)
            .unwrap()
            .is_none());
        assert!(store.claim_recipient(&op(), rb, &tb).unwrap());
        store.mark_sent(&op(), rb, MailTransport::Plain).unwrap();

        let ra2 = rid(&store, &c2, &ana);
        assert!(store.claim_recipient(&op(), ra2, &t2).unwrap());
        store.mark_sent(&op(), ra2, MailTransport::Tls).unwrap();

        // A token records for its own campaign and person only.
        let ev = store
            .record_tracking_event(ta.as_str(), EventKind::Clicked, 14)
            .unwrap()
            .unwrap();
        assert_eq!(
            (ev.campaign_id, ev.staff_id),
            (c1.id, ana.id),
            "{}",
            env.name
        );
        assert!(ev.first && ev.remedial_assigned);
        let again = store
            .record_tracking_event(ta.as_str(), EventKind::Submitted, 14)
            .unwrap()
            .unwrap();
        assert!(
            again.first && !again.remedial_assigned,
            "one remedial rule per campaign"
        );
        let dup = store
            .record_tracking_event(ta.as_str(), EventKind::Clicked, 14)
            .unwrap()
            .unwrap();
        assert!(!dup.first);
        let ev = store
            .record_tracking_event(tb.as_str(), EventKind::Reported, 14)
            .unwrap()
            .unwrap();
        assert_eq!((ev.campaign_id, ev.staff_id), (c1.id, bo.id));
        assert!(!ev.remedial_assigned);

        // Unknown and malformed tokens record nothing.
        for bad in [
            token(200).as_str().to_string(),
            "short".into(),
            String::new(),
        ] {
            assert!(store
                .record_tracking_event(&bad, EventKind::Clicked, 14)
                .unwrap()
                .is_none());
        }

        let e1 = store.campaign_events(&op(), c1.id).unwrap();
        let e2 = store.campaign_events(&op(), c2.id).unwrap();
        let kinds = |es: &[labguard_training::phishing::PhishEvent], who: Id| {
            let mut v: Vec<EventKind> = es
                .iter()
                .filter(|e| e.staff_id == who)
                .map(|e| e.kind)
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            kinds(&e1, ana.id),
            vec![EventKind::Sent, EventKind::Clicked, EventKind::Submitted]
        );
        assert_eq!(
            kinds(&e1, bo.id),
            vec![EventKind::Sent, EventKind::Reported]
        );
        assert_eq!(kinds(&e2, ana.id), vec![EventKind::Sent], "{}", env.name);

        // Remedial training: the phishing course for Ana, tied to campaign 1.
        let rules = store.training_rules(&Actor::operator()).unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].target, Target::Person(ana.id));
        assert_eq!(rules[0].course_id, labguard_training::PHISHING_COURSE_ID);
        assert_eq!(rules[0].kind, RuleKind::Remedial { campaign_id: c1.id });

        let recs = store.campaign_recipients(&op(), c1.id).unwrap();
        assert!(recs.iter().all(|r| r.status == DeliveryStatus::Sent));
        let deliveries = store.campaign_deliveries(&op(), c1.id).unwrap();
        assert_eq!(deliveries.len(), 3, "{}", env.name);
        assert_eq!(
            deliveries
                .iter()
                .filter(|d| d.outcome == "deferred")
                .count(),
            1
        );
        // How each accepted mail travelled is kept per attempt (the deferred one has none).
        let plain: Vec<Id> = deliveries
            .iter()
            .filter(|d| d.transport == Some(MailTransport::Plain))
            .map(|d| d.recipient_id)
            .collect();
        assert_eq!(plain, [rb], "{}", env.name);
        assert!(deliveries
            .iter()
            .filter(|d| d.outcome != "accepted")
            .all(|d| d.transport.is_none()));
        // The token is kept only as a digest.
        let rows = raw(
            &env,
            "SELECT token_digest FROM phishing_recipients WHERE id = ?",
            &[ra.to_string().into()],
        );
        assert_eq!(rows[0][0].as_text().unwrap(), ta.digest());
        assert_ne!(rows[0][0].as_text().unwrap(), ta.as_str());
        // The whole story is in a verifiable audit log.
        store.verify(&mut |_, _| {}).unwrap();
    }
}

#[test]
fn give_up_marks_failed_and_permissions_hold() {
    for env in envs("phish_fail") {
        let store = init(&env);
        let ana = staff(&store, "ana", Role::FrontDesk);
        let c = campaign(&store, &[&ana]);
        let r = rid(&store, &c, &ana);
        assert!(store.claim_recipient(&op(), r, &token(4)).unwrap());
        store.mark_failed(&op(), r, "550 no such user").unwrap();
        let rec = &store.campaign_recipients(&op(), c.id).unwrap()[0];
        assert_eq!(rec.status, DeliveryStatus::Failed);
        assert_eq!(rec.attempts, 1);
        assert_eq!(rec.last_error.as_deref(), Some("550 no such user"));
        assert!(!store.claim_recipient(&op(), r, &token(5)).unwrap());

        let tech = Actor::staff(Id::new_v4().to_string(), Role::LabTechnologist);
        assert!(matches!(
            store.create_campaign(&tech, &c, &[]),
            Err(StoreError::Denied(_))
        ));
        let so = Actor::staff(Id::new_v4().to_string(), Role::SecurityOfficer);
        store
            .set_lab_mail_domains(&so, &["lab.example.org".into()])
            .unwrap();
        assert_eq!(store.lab_mail_domains().unwrap(), vec!["lab.example.org"]);
        assert!(store.set_lab_mail_domains(&tech, &[]).is_err());

        // Reading campaigns is checked in the store, whoever calls: a technologist is
        // refused every read (and the refusal is in the audit log); an auditor may read.
        let (before, _) = store.audit_head().unwrap();
        assert!(matches!(
            store.campaign_recipients(&tech, c.id),
            Err(StoreError::Denied(_))
        ));
        assert!(store.campaign(&tech, c.id).is_err());
        assert!(store.list_campaigns(&tech).is_err());
        assert!(store.campaign_events(&tech, c.id).is_err());
        assert!(store.campaign_deliveries(&tech, c.id).is_err());
        let (after, _) = store.audit_head().unwrap();
        assert_eq!(after, before + 5, "{}: each refusal is audited", env.name);
        let auditor = Actor::staff(Id::new_v4().to_string(), Role::Auditor);
        assert_eq!(store.campaign_recipients(&auditor, c.id).unwrap().len(), 1);
    }
}

#[test]
fn quiz_attempts_and_completions() {
    for env in envs("training") {
        let store = init(&env);
        let ana = staff(&store, "ana", Role::Phlebotomist);
        let me = Actor::staff(ana.id.to_string(), Role::Phlebotomist);
        let other = Actor::staff(Id::new_v4().to_string(), Role::Phlebotomist);
        assert!(store
            .start_attempt_within(&other, ana.id, "hipaa-basics", 1, 7, 5)
            .is_err());
        let seed = u64::MAX - 3;
        let a = store
            .start_attempt_within(&me, ana.id, "hipaa-basics", 1, seed, 5)
            .unwrap();
        let att = store.attempt(&me, a).unwrap();
        assert_eq!(att.seed, seed, "{}", env.name);
        assert_eq!(
            store.attempts_used(&me, ana.id, "hipaa-basics", 1).unwrap(),
            0
        );
        store
            .finish_attempt_within(&me, &att, 40, false, None, 5)
            .unwrap();
        assert!(matches!(
            store.finish_attempt_within(&me, &att, 100, true, Some("{}"), 5),
            Err(StoreError::Conflict)
        ));
        let b = store
            .start_attempt_within(&me, ana.id, "hipaa-basics", 1, 8, 5)
            .unwrap();
        let att_b = store.attempt(&me, b).unwrap();
        store
            .finish_attempt_within(&me, &att_b, 100, true, Some("{\"cert\":1}"), 5)
            .unwrap();
        assert_eq!(
            store.attempts_used(&me, ana.id, "hipaa-basics", 1).unwrap(),
            2
        );
        let done = store.completion_records(&me, Some(ana.id)).unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].0.score_percent, 100);
        assert_eq!(done[0].1, "{\"cert\":1}");
        assert_eq!(store.attempt(&me, a).unwrap().passed, Some(false));

        store
            .add_course_version(
                &op(),
                &labguard_store::StoredCourse {
                    course_id: "spill-kit".into(),
                    version: 2,
                    source: "---\nid: spill-kit\n---".into(),
                    released_at: Utc::now(),
                },
            )
            .unwrap();
        assert_eq!(
            store.lab_courses(&Actor::operator()).unwrap()[0].version,
            2,
            "{}",
            env.name
        );
    }
}

/// Attempts started in parallel cannot be graded past the limit, and once it is reached no
/// new attempt starts: the count and the write share one transaction under the write lock.
#[test]
fn the_quiz_attempt_limit_holds_under_parallel_starts_and_submits() {
    for env in envs("quizrace") {
        let store = std::sync::Arc::new(init(&env));
        let ana = staff(&store, "ana", Role::Phlebotomist);
        let me = Actor::staff(ana.id.to_string(), Role::Phlebotomist);
        let limit = 3u32;
        let starts: Vec<_> = (0..8u64)
            .map(|i| {
                let (store, me) = (store.clone(), me.clone());
                std::thread::spawn(move || {
                    store.start_attempt_within(&me, ana.id, "hipaa-basics", 1, i, limit)
                })
            })
            .collect();
        let ids: Vec<Id> = starts
            .into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect();
        let submits: Vec<_> = ids
            .into_iter()
            .map(|id| {
                let (store, me) = (store.clone(), me.clone());
                std::thread::spawn(move || {
                    let a = store.attempt(&me, id)?;
                    store.finish_attempt_within(&me, &a, 10, false, None, limit)
                })
            })
            .collect();
        let results: Vec<Result<(), StoreError>> =
            submits.into_iter().map(|h| h.join().unwrap()).collect();
        let graded = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(graded, limit as usize, "{}", env.name);
        assert!(
            results
                .iter()
                .all(|r| r.is_ok() || matches!(r, Err(StoreError::Denied(_)))),
            "{}: {results:?}",
            env.name
        );
        assert_eq!(
            store.attempts_used(&me, ana.id, "hipaa-basics", 1).unwrap(),
            limit,
            "{}",
            env.name
        );
        assert!(matches!(
            store.start_attempt_within(&me, ana.id, "hipaa-basics", 1, 99, limit),
            Err(StoreError::Denied(_))
        ));
    }
}

/// Staff and training reads are checked in the store: a learner reads their own record and
/// nobody else's, the directory is for those who manage people or read reports, an
/// instrument reads no training at all, and every refusal is in the audit log.
#[test]
fn staff_and_training_reads_are_authorized_in_the_store() {
    for env in envs("trainingreads") {
        let store = init(&env);
        let ana = staff(&store, "ana", Role::Phlebotomist);
        let bo = staff(&store, "bo", Role::Phlebotomist);
        let me = Actor::staff(ana.id.to_string(), Role::Phlebotomist);
        let auditor = Actor::staff(Id::new_v4().to_string(), Role::Auditor);
        let device = Actor::device("analyzer-1");

        assert_eq!(store.staff_member(&me, ana.id).unwrap().username, "ana");
        assert_eq!(store.completions(&me, Some(ana.id)).unwrap().len(), 0);
        assert_eq!(store.staff_since(&me, Some(ana.id)).unwrap().len(), 1);
        assert!(store.lab_courses(&me).is_ok());
        assert!(store.training_rules(&me).is_ok());

        let (before, _) = store.audit_head().unwrap();
        assert!(matches!(store.list_staff(&me), Err(StoreError::Denied(_))));
        assert!(matches!(
            store.staff_member(&me, bo.id),
            Err(StoreError::Denied(_))
        ));
        assert!(store.completions(&me, None).is_err());
        assert!(store.completions(&me, Some(bo.id)).is_err());
        assert!(store.staff_since(&me, None).is_err());
        assert!(store.attempts_used(&me, bo.id, "hipaa-basics", 1).is_err());
        assert!(store.reminders_sent(&me).is_err());
        assert!(store.lab_courses(&device).is_err());
        assert!(store.training_rules(&device).is_err());
        let (after, _) = store.audit_head().unwrap();
        assert_eq!(after, before + 9, "{}: each refusal is audited", env.name);

        // Someone else's quiz attempt looks as if it did not exist, and is still audited.
        let bo_actor = Actor::staff(bo.id.to_string(), Role::Phlebotomist);
        let a = store
            .start_attempt_within(&bo_actor, bo.id, "hipaa-basics", 1, 1, 5)
            .unwrap();
        assert!(matches!(
            store.attempt(&me, a),
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.audit_head().unwrap().0, after + 2, "{}", env.name);
        assert_eq!(store.attempt(&bo_actor, a).unwrap().staff_id, bo.id);

        let names: Vec<String> = store
            .list_staff(&auditor)
            .unwrap()
            .into_iter()
            .map(|s| s.username)
            .collect();
        assert_eq!(names, ["ana", "bo"], "{}", env.name);
        assert!(store.completions(&auditor, None).is_ok());
    }
}
