//! Instrument deliveries: one transaction per batch, duplicates recognised, implausible
//! results held, and the stored originals covered by `verify`.

use crate::common::*;
use chrono::{TimeZone, Utc};
use labguard_core::{Id, Role};
use labguard_store::testing::Value;
use labguard_store::{
    Actor, Enrollment, HeldDecision, Inbound, StoreError, Transport, VerifyProblem, BEFORE_DRAW,
    UNKNOWN_PATIENT,
};

fn enrollment(name: &str) -> Enrollment {
    Enrollment {
        id: Id::new_v4(),
        name: name.into(),
        sending_app: "CHEM".into(),
        sending_facility: "LAB".into(),
        analytes: vec!["2345-7".into()],
        transport: Transport::Tls,
        cert_serial: Some("01".into()),
        cert_fingerprint: Some(format!("fp-{name}")),
        allow_from: vec![],
        enrolled_at: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        revoked_at: None,
        protocol: labguard_store::Protocol::Hl7,
    }
}

fn inbound(
    dev: &Enrollment,
    control: &str,
    mrn: &str,
    results: Vec<labguard_core::LabResult>,
) -> Inbound {
    let rid = results.first().map_or_else(Id::new_v4, |r| r.patient_id);
    let n = results.len();
    Inbound {
        device_id: dev.id,
        actor: dev.actor(),
        control_id: control.into(),
        raw: format!("MSH|^~\\&|CHEM|LAB|||||ORU^R01|{control}|P|2.5.1\r").into_bytes(),
        specimens: vec![],
        orders: vec![],
        results,
        holds: vec![vec![]; n],
        patient_mrns: vec![(rid, mrn.into())],
        specimen_accessions: vec![],
        qc: vec![],
    }
}

#[test]
fn ingest_files_holds_deduplicates_and_verify_covers_originals() {
    for env in envs("ingest") {
        let store = init(&env);
        let dev = enrollment("chem-1");
        store.enroll_instrument(&op(), &dev).unwrap();
        assert_eq!(store.instruments().unwrap(), vec![dev.clone()]);

        let p = patient("MRN-7", "Underhill", "Posy");
        store.add_patient(&op(), &p).unwrap();
        let s = specimen(&p, "ACC-7");
        store.add_specimen(&op(), &s).unwrap();

        // Resolver ids differ from stored ids: the store swaps in the known patient.
        let rid = Id::new_v4();
        let mut r = glucose(&p, &s, "101");
        r.patient_id = rid;
        r.specimen_id = None;
        let m1 = inbound(&dev, "C1", "mrn-7", vec![r.clone()]);
        let o1 = store.ingest(&m1).unwrap();
        assert_eq!(
            (o1.filed, o1.held, o1.duplicate),
            (1, 0, false),
            "{}",
            env.name
        );
        let filed = store.results_for_patient(&op(), p.id).unwrap();
        assert_eq!(filed.len(), 1);
        assert_eq!(filed[0].performing_device.as_deref(), Some("device:chem-1"));

        // The same control id again: the first outcome, no second copy.
        let again = store.ingest(&m1).unwrap();
        assert!(again.duplicate);
        assert_eq!(again.message_id, o1.message_id);
        assert_eq!(store.results_for_patient(&op(), p.id).unwrap().len(), 1);

        // Unknown patient, a plausibility hold, and a result before the draw, in one batch.
        let mut unknown = glucose(&p, &s, "99");
        unknown.patient_id = Id::new_v4();
        let m2 = inbound(&dev, "C2", "NOBODY", vec![unknown]);
        let mut held = glucose(&p, &s, "9000");
        held.patient_id = rid;
        let mut m3 = inbound(&dev, "C3", "MRN-7", vec![held]);
        m3.holds = vec![vec!["outside-physiologic-limits".into()]];
        let mut early = glucose(&p, &s, "90");
        early.patient_id = rid;
        early.specimen_id = Some(Id::new_v4());
        early.observed_at = Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap();
        let mut m4 = inbound(&dev, "C4", "MRN-7", vec![early.clone()]);
        m4.specimen_accessions = vec![(early.specimen_id.unwrap(), "ACC-7".into())];
        let outs = store.ingest_batch(&[m2, m3, m4]).unwrap();
        let outs: Vec<_> = outs.into_iter().map(Result::unwrap).collect();
        assert!(outs.iter().all(|o| o.filed == 0 && o.held == 1), "{outs:?}");
        let review = store.held_results(&op()).unwrap();
        let mut reasons: Vec<String> = review.iter().flat_map(|h| h.reasons.clone()).collect();
        reasons.sort();
        assert_eq!(
            reasons,
            vec![
                BEFORE_DRAW.to_string(),
                "outside-physiologic-limits".into(),
                UNKNOWN_PATIENT.into()
            ]
        );
        assert_eq!(store.open_alerts(10).unwrap().len(), 3);
        assert_eq!(store.instrument_counts().unwrap(), (4, 3));

        // Review: a technologist may not decide; a pathologist releases one (filed, with
        // them as verifier), rejects one, and cannot file one with no known patient.
        let by_reason = |r: &str| {
            review
                .iter()
                .find(|h| h.reasons.iter().any(|x| x == r))
                .unwrap()
                .id
        };
        let tech = Actor::staff("tess", Role::LabTechnologist);
        let path = Actor::staff("pam", Role::Pathologist);
        let hold = by_reason("outside-physiologic-limits");
        assert!(matches!(
            store.decide_held_result(&tech, hold, HeldDecision::Release),
            Err(StoreError::Denied(_))
        ));
        let filed = store
            .decide_held_result(&path, hold, HeldDecision::Release)
            .unwrap()
            .unwrap();
        assert_eq!(filed.verified_by.as_deref(), Some("pam"));
        let now_filed = store.results_for_patient(&op(), p.id).unwrap();
        assert_eq!(now_filed.len(), 2, "{}", env.name);
        assert!(now_filed.iter().any(|r| r.value == "9000"));
        // Decided once only.
        assert!(matches!(
            store.decide_held_result(&path, hold, HeldDecision::Reject),
            Err(StoreError::Conflict)
        ));
        assert!(matches!(
            store.decide_held_result(&path, by_reason(UNKNOWN_PATIENT), HeldDecision::Release),
            Err(StoreError::MissingReference)
        ));
        assert!(store
            .decide_held_result(&path, by_reason(BEFORE_DRAW), HeldDecision::Reject)
            .unwrap()
            .is_none());
        assert_eq!(store.held_results(&path).unwrap().len(), 1);
        assert_eq!(store.open_alerts(10).unwrap().len(), 1);

        store.checkpoint().unwrap();
        store.verify(&mut |_, _| {}).unwrap();

        // Change a stored original behind labguard's back: verify names the row.
        let id = o1.message_id.to_string();
        raw(
            &env,
            "UPDATE inbound_messages SET raw_sha256 = ? WHERE id = ?",
            &[Value::Text("00".repeat(32)), Value::Text(id.clone())],
        );
        match store.verify(&mut |_, _| {}) {
            Err(VerifyProblem::Row { table, id: bad, .. }) => {
                assert_eq!((table, bad.as_str()), ("inbound_messages", id.as_str()));
            }
            other => panic!("{}: tampering not caught: {other:?}", env.name),
        }
    }
}

#[test]
fn revocation_is_recorded_and_refusals_audited() {
    for env in envs("revoke") {
        let store = init(&env);
        let dev = enrollment("hema-2");
        store.enroll_instrument(&op(), &dev).unwrap();
        let (before, _) = store.audit_head().unwrap();
        store
            .refuse_delivery(&dev.actor(), Some(dev.id), "sender-mismatch")
            .unwrap();
        assert_eq!(store.audit_head().unwrap().0, before + 1);
        let r = store.revoke_instrument(&op(), "hema-2").unwrap();
        assert!(r.revoked_at.is_some());
        assert!(!store.instruments().unwrap()[0].is_active());
        assert!(store.revoke_instrument(&op(), "nope").is_err());
    }
}

#[test]
fn the_protocol_is_kept_and_last_contact_recorded_without_an_audit_entry() {
    for env in envs("seen") {
        let store = init(&env);
        let dev = Enrollment {
            protocol: labguard_store::Protocol::Poct,
            ..enrollment("gluc-1")
        };
        store.enroll_instrument(&op(), &dev).unwrap();
        assert_eq!(
            store.instruments().unwrap()[0].protocol,
            labguard_store::Protocol::Poct,
            "{}",
            env.name
        );
        assert_eq!(store.device_statuses().unwrap()[0].last_seen_at, None);
        let (before, _) = store.audit_head().unwrap();
        let status = serde_json::json!({"docked": true, "model": "GlucoCheck"});
        store.record_device_seen(dev.id, Some(&status)).unwrap();
        store.record_device_seen(dev.id, None).unwrap();
        let s = &store.device_statuses().unwrap()[0];
        assert!(s.last_seen_at.is_some());
        assert_eq!(
            s.status.as_ref(),
            Some(&status),
            "a bare contact keeps the status"
        );
        assert_eq!(store.audit_head().unwrap().0, before);
        store.checkpoint().unwrap();
        store.verify(&mut |_, _| {}).unwrap();
    }
}
