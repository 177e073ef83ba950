//! Compliance evidence over a real store (SQLite and PostgreSQL): every built-in collector
//! is run against a store where its control holds and one where it does not; the records
//! are saved, audited and read back intact.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::common::{envs, op, raw, Env};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use labguard_compliance::attest::{Attestation, PolicyDocument, Subject};
use labguard_compliance::collect::{collect_all, NoExternalFacts};
use labguard_compliance::incident::{Incident, IncidentStatus};
use labguard_compliance::risk::{Risk, Threat, Treatment};
use labguard_compliance::{Evidence, Status};
use labguard_core::{Role, Staff};
use labguard_store::testing::Value;
use labguard_store::{run_kind, Actor, Store, StoreOptions};
use serde_json::json;

type Now = Arc<Mutex<DateTime<Utc>>>;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

fn open(env: &Env) -> (Store, Now) {
    let now: Now = Arc::new(Mutex::new(start()));
    let n = now.clone();
    let opts = StoreOptions {
        node: "test-node".into(),
        clock: Arc::new(move || *n.lock().unwrap()),
        ..StoreOptions::default()
    };
    let s = env
        .data
        .init(opts)
        .unwrap_or_else(|e| panic!("{}: init: {e}", env.name));
    (s, now)
}

fn set(now: &Now, t: DateTime<Utc>) {
    *now.lock().unwrap() = t;
}

fn account(s: &Store, username: &str, role: Role, email: &str, mfa: bool) -> String {
    let id = uuid::Uuid::new_v4();
    let staff = Staff {
        id,
        username: username.into(),
        display_name: format!("{username} (fictional)"),
        role,
        email: email.into(),
        active: true,
    };
    s.create_account(&op(), &staff, "$argon2id$placeholder", false)
        .unwrap();
    if mfa {
        s.start_mfa_enrollment(&op(), &id.to_string(), &[7u8; 20])
            .unwrap();
        s.confirm_mfa(&op(), &id.to_string(), "{}", None, None)
            .unwrap();
    }
    id.to_string()
}

fn alert(env: &Env, id: &str, at: DateTime<Utc>) {
    raw(
        env,
        "INSERT INTO alerts (id, kind, user_id, subject_id, created_at) VALUES (?, 'break-glass', NULL, NULL, ?)",
        &[id.into(), at.to_rfc3339().into()],
    );
}

fn status_of(ev: &[Evidence], collector: &str) -> Status {
    ev.iter()
        .find(|e| e.collector == collector)
        .unwrap_or_else(|| panic!("no evidence from {collector}"))
        .status
}

fn collect(s: &Store, now: &Now) -> Vec<Evidence> {
    let facts = s.compliance_facts(&op()).unwrap();
    let ev = collect_all(&facts, &NoExternalFacts, *now.lock().unwrap());
    s.save_evidence(&op(), &ev).unwrap();
    ev
}

#[test]
fn every_collector_where_its_control_holds() {
    for env in envs("compliance_holds") {
        let (s, now) = open(&env);
        let t0 = start();
        s.record_run(
            &op(),
            run_kind::AUDIT_VERIFY,
            true,
            Some(1200),
            &json!({"entries": 10}),
        )
        .unwrap();
        s.record_run(&op(), run_kind::BACKUP_CREATE, true, Some(3000), &json!({}))
            .unwrap();
        s.record_run(
            &op(),
            run_kind::BACKUP_RESTORE,
            true,
            Some(60_000),
            &json!({"drill": true}),
        )
        .unwrap();
        s.record_run(
            &op(),
            run_kind::ACCESS_REVIEW,
            true,
            None,
            &json!({"findings": 0}),
        )
        .unwrap();
        s.record_run(
            &op(),
            run_kind::SERVER_START,
            true,
            None,
            &json!({"idle_timeout_secs": 900, "tls": true, "min_tls": "1.2"}),
        )
        .unwrap();
        account(
            &s,
            "ana.tech",
            Role::LabTechnologist,
            "ana@lab.example",
            true,
        );
        account(
            &s,
            "sam.officer",
            Role::SecurityOfficer,
            "sam@lab.example",
            true,
        );
        account(&s, "lee.leaver", Role::FrontDesk, "lee@lab.example", true);
        s.record_departure(&op(), "lee.leaver", t0).unwrap();
        set(&now, t0 + Duration::minutes(20));
        s.disable_account(&op(), "lee.leaver").unwrap();
        alert(&env, "alert-1", t0);
        s.review_alert(&op(), "alert-1").unwrap();
        set(&now, t0 + Duration::hours(1));

        let ev = collect(&s, &now);
        for c in [
            "encryption-at-rest",
            "audit-verified",
            "backups",
            "restore-drill",
            "mfa-coverage",
            "unique-user-ids",
            "automatic-logoff",
            "sessions-tls",
            "access-review",
            "leavers-disabled",
            "break-glass-reviewed",
            "incidents-handled",
        ] {
            assert_eq!(
                status_of(&ev, c),
                Status::Met,
                "{}: {c}: {:?}",
                env.name,
                ev.iter().find(|e| e.collector == c)
            );
        }
        // Training and device facts are not connected on this branch: a person must look.
        for c in [
            "training-completion",
            "phishing-rates",
            "device-inventory",
            "device-assessments",
            "kev-critical-overdue",
        ] {
            assert_eq!(status_of(&ev, c), Status::NeedsPerson, "{}: {c}", env.name);
        }
        // Saved, read back intact, and each record is in the audit log with its hash.
        let back = s.latest_evidence(&op()).unwrap();
        assert_eq!(back.len(), ev.len());
        assert!(back.iter().all(Evidence::intact));
        let n = raw(&env, "SELECT COUNT(*) FROM compliance_evidence", &[]);
        assert_eq!(n[0][0], Value::Int(ev.len() as i64));
        let report = s.verify(&mut |_, _| {}).unwrap();
        assert!(report.entries > ev.len() as u64);
    }
}

#[test]
fn every_collector_where_its_control_fails() {
    for env in envs("compliance_fails") {
        let (s, now) = open(&env);
        let t0 = start();
        // Old backup, no restore drill, a failed verify, a stale access review.
        set(&now, t0 - Duration::days(100));
        s.record_run(&op(), run_kind::ACCESS_REVIEW, true, None, &json!({}))
            .unwrap();
        set(&now, t0 - Duration::days(10));
        s.record_run(&op(), run_kind::BACKUP_CREATE, true, None, &json!({}))
            .unwrap();
        set(&now, t0);
        s.record_run(
            &op(),
            run_kind::AUDIT_VERIFY,
            false,
            None,
            &json!({"problem": "entry 3"}),
        )
        .unwrap();
        s.record_run(
            &op(),
            run_kind::SERVER_START,
            true,
            None,
            &json!({"idle_timeout_secs": 7200, "tls": false, "min_tls": ""}),
        )
        .unwrap();
        // A key over a year old.
        raw(
            &env,
            "UPDATE keys SET created_at = ? WHERE purpose = 'data'",
            &["2024-01-01T00:00:00.000000Z".into()],
        );
        // A generic shared account without MFA that sees patient data, and two accounts
        // sharing one mailbox.
        account(&s, "admin", Role::LabTechnologist, "lab@lab.example", false);
        account(&s, "bo.desk", Role::FrontDesk, "lab@lab.example", true);
        account(
            &s,
            "kim.leaver",
            Role::Phlebotomist,
            "kim@lab.example",
            true,
        );
        s.record_departure(&op(), "kim.leaver", t0).unwrap();
        set(&now, t0 + Duration::hours(2));
        s.disable_account(&op(), "kim.leaver").unwrap();
        alert(&env, "alert-old", t0 - Duration::days(8));
        // An incident 90 days old, never assessed, nobody told.
        let inc = Incident {
            id: "inc-1".into(),
            title: "Misdirected fax of a report".into(),
            kind: "misdirected".into(),
            discovered_on: (t0 - Duration::days(90)).date_naive(),
            status: IncidentStatus::Open,
            affected: 1,
            by_state: BTreeMap::new(),
            assessment: None,
            notified: vec![],
        };
        s.save_incident(&op(), &inc).unwrap();

        let ev = collect(&s, &now);
        let expect = [
            ("encryption-at-rest", Status::PartlyMet),
            ("audit-verified", Status::NotMet),
            ("backups", Status::NotMet),
            ("restore-drill", Status::NotMet),
            ("mfa-coverage", Status::NotMet),
            ("unique-user-ids", Status::NotMet),
            ("automatic-logoff", Status::NotMet),
            ("sessions-tls", Status::NotMet),
            ("access-review", Status::NotMet),
            ("leavers-disabled", Status::NotMet),
            ("break-glass-reviewed", Status::NotMet),
            ("incidents-handled", Status::NotMet),
        ];
        for (c, want) in expect {
            assert_eq!(status_of(&ev, c), want, "{}: {c}", env.name);
        }
        // Tampering with a saved record is caught on read.
        raw(
            &env,
            "UPDATE compliance_evidence SET record = REPLACE(record, '\"not-met\"', '\"met\"') WHERE collector = 'backups'",
            &[],
        );
        assert!(s.latest_evidence(&op()).is_err(), "{}", env.name);
    }
}

#[test]
fn registers_permissions_and_history() {
    for env in envs("compliance_registers") {
        let (s, now) = open(&env);
        let so_id = account(
            &s,
            "sam.officer",
            Role::SecurityOfficer,
            "sam@lab.example",
            true,
        );
        let so = Actor::staff(so_id.clone(), Role::SecurityOfficer);
        let auditor = Actor::staff("aud", Role::Auditor);
        let tech = Actor::staff("tech", Role::LabTechnologist);

        // Risk register with history.
        let mut r = Risk::starter(Threat::Ransomware, "sam.officer", None);
        s.upsert_risk(&so, &r).unwrap();
        set(&now, start() + Duration::days(30));
        r.residual_likelihood = 2;
        r.treatment = Treatment::Mitigating;
        s.upsert_risk(&so, &r).unwrap();
        let h = s.risk_history(&auditor, "ransomware").unwrap();
        assert_eq!(
            h.iter().map(|x| x.residual).collect::<Vec<_>>(),
            vec![20, 10]
        );
        r.residual_impact = 9;
        assert!(s.upsert_risk(&so, &r).is_err(), "scale is checked");
        assert!(s
            .upsert_risk(&tech, &Risk::starter(Threat::PowerLoss, "x", None))
            .is_err());
        assert!(s
            .upsert_risk(&auditor, &Risk::starter(Threat::PowerLoss, "x", None))
            .is_err());
        assert_eq!(s.list_risks(&auditor).unwrap().len(), 1);
        assert!(s.list_risks(&tech).is_err());

        // Policy versions: the new one supersedes the old, which is then kept 6 years.
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let mut p = PolicyDocument {
            id: "pol-1".into(),
            subject: Subject::SecurityPolicies,
            title: "Access control policy".into(),
            version: 1,
            owner: "sam.officer".into(),
            sha256: "ab".repeat(32),
            effective_from: d(2025, 1, 1),
            superseded_on: None,
            review_due: d(2026, 1, 1),
        };
        s.add_policy_version(&so, &p).unwrap();
        p.id = "pol-2".into();
        p.version = 2;
        p.effective_from = d(2026, 6, 1);
        s.add_policy_version(&so, &p).unwrap();
        let ps = s.list_policies(&auditor).unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].retain_until(), Some(d(2032, 6, 1)));
        assert_eq!(ps[1].superseded_on, None);

        // Attestations: only the security officer, as themself.
        let a = Attestation {
            id: "att-1".into(),
            subject: Subject::FacilityControls,
            statement: "Doors badge-controlled; visitor log kept".into(),
            status: Status::Met,
            signed_by: so_id.clone(),
            signer_name: "sam.officer".into(),
            signed_at: start(),
            document_sha256: None,
        };
        assert!(s.attest(&op(), &a).is_err(), "the operator cannot sign");
        let mut forged = a.clone();
        forged.signed_by = "someone-else".into();
        assert!(s.attest(&so, &forged).is_err(), "cannot sign for another");
        s.attest(&so, &a).unwrap();
        assert_eq!(s.list_attestations(&auditor).unwrap().len(), 1);

        // Score history for the trend.
        s.record_score(&so, 42.5, &[]).unwrap();
        set(&now, start() + Duration::days(60));
        s.record_score(&so, 55.0, &[]).unwrap();
        let hist = s.score_history(&auditor).unwrap();
        assert_eq!(
            hist.iter().map(|(p, _)| p.score).collect::<Vec<_>>(),
            vec![42.5, 55.0]
        );
        assert!(s.score_history(&tech).is_err());
        assert!(
            s.save_evidence(&auditor, &[]).is_err(),
            "auditors read, never write"
        );
        s.verify(&mut |_, _| {}).unwrap();
    }
}
