//! Quality control at filing time: control readings judged by the Westgard rules against
//! the lab's targets; a rejected run holds the device's patient results of that analyte
//! (same delivery and later ones) until a run passes, and raises an alert.

use crate::common::*;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use labguard_core::{Id, LabResult, LoincCode, Patient, Role};
use labguard_qc::ControlMaterial;
use labguard_store::{
    Actor, Enrollment, Inbound, IngestOutcome, QcReading, Store, StoreError, Transport, QC_REJECTED,
};

fn enrollment() -> Enrollment {
    Enrollment {
        id: Id::new_v4(),
        name: "chem-qc".into(),
        sending_app: "CHEM".into(),
        sending_facility: "LAB".into(),
        analytes: vec!["2823-3".into(), "2345-7".into()],
        transport: Transport::Tls,
        cert_serial: Some("01".into()),
        cert_fingerprint: Some("fp-qc".into()),
        allow_from: vec![],
        enrolled_at: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        revoked_at: None,
        protocol: labguard_store::Protocol::Hl7,
    }
}

fn at(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 3, 6, 0, 0).unwrap() + TimeDelta::hours(hours)
}

fn k() -> LoincCode {
    LoincCode::parse("2823-3").unwrap()
}

fn control(level: &str, value: f64, hours: i64) -> QcReading {
    QcReading {
        lot: "LOT-7".into(),
        level: level.into(),
        analyte: k(),
        units: "mmol/L".into(),
        value,
        observed_at: at(hours),
    }
}

fn patient_k(p: &Patient, value: &str, hours: i64) -> LabResult {
    let s = specimen(p, "unused");
    LabResult {
        analyte: k(),
        analyte_name: "Potassium".into(),
        units: "mmol/L".into(),
        specimen_id: None,
        observed_at: at(hours),
        ..glucose(p, &s, value)
    }
}

fn deliver(
    store: &Store,
    dev: &Enrollment,
    control_id: &str,
    results: Vec<LabResult>,
    qc: Vec<QcReading>,
) -> IngestOutcome {
    let n = results.len();
    let mrns = results
        .first()
        .map(|r| vec![(r.patient_id, "MRN-Q1".to_string())]);
    store
        .ingest(&Inbound {
            device_id: dev.id,
            actor: dev.actor(),
            control_id: control_id.into(),
            raw: format!("H|\\^&|||CHEM|||||||P|1\rL|1|N\r{control_id}").into_bytes(),
            specimens: vec![],
            orders: vec![],
            results,
            holds: vec![vec![]; n],
            patient_mrns: mrns.unwrap_or_default(),
            specimen_accessions: vec![],
            qc,
        })
        .unwrap()
}

#[test]
fn a_rejected_qc_run_holds_patient_results_until_a_run_passes() {
    for env in envs("qc") {
        let n = env.name;
        let store = init(&env);
        let dev = enrollment();
        store.enroll_instrument(&op(), &dev).unwrap();
        let p = patient("MRN-Q1", "Rowan", "Ivy");
        store.add_patient(&op(), &p).unwrap();

        // Targets: only a pathologist (result verification) may set them.
        let level = |lvl: &str, mean: f64| ControlMaterial {
            lot: "LOT-7".into(),
            level: lvl.into(),
            analyte: k(),
            units: "mmol/L".into(),
            mean,
            sd: 0.1,
        };
        let phleb = Actor::staff("phleb-1", Role::Phlebotomist);
        assert!(matches!(
            store.set_qc_material(&phleb, &level("1", 4.0)),
            Err(StoreError::Denied(_))
        ));
        let path = Actor::staff("path-1", Role::Pathologist);
        store.set_qc_material(&path, &level("1", 4.0)).unwrap();
        store.set_qc_material(&path, &level("2", 6.0)).unwrap();
        let bad_sd = ControlMaterial {
            sd: 0.0,
            ..level("3", 1.0)
        };
        assert!(
            store.set_qc_material(&path, &bad_sd).is_err(),
            "{n}: SD 0 accepted"
        );

        // Run 1 in control: the patient result in the same delivery is filed.
        let o = deliver(
            &store,
            &dev,
            "Q1",
            vec![patient_k(&p, "4.2", 1)],
            vec![control("1", 4.05, 0), control("2", 6.02, 0)],
        );
        assert_eq!((o.filed, o.held, o.qc_rejected.len()), (1, 0, 0), "{n}");

        // Run 2: level 1 at +3.5 SD breaks 1-3s: rejected, the patient result held.
        let o = deliver(
            &store,
            &dev,
            "Q2",
            vec![patient_k(&p, "4.3", 3)],
            vec![control("1", 4.35, 2), control("2", 6.01, 2)],
        );
        assert_eq!(
            (o.filed, o.held),
            (0, 1),
            "{n}: result filed after rejected QC"
        );
        assert_eq!(o.qc_rejected, vec!["2823-3".to_string()], "{n}");
        let held = store.held_results(&op()).unwrap();
        assert_eq!(held[0].reasons, vec![QC_REJECTED.to_string()], "{n}");
        let alerts = store.open_alerts(50).unwrap();
        assert!(
            alerts
                .iter()
                .any(|a| a.kind == "qc-rejected" && a.detail.contains("1-3s")),
            "{n}: {alerts:?}"
        );

        // Later deliveries without QC stay held; another analyte is not affected.
        let o = deliver(&store, &dev, "Q3", vec![patient_k(&p, "4.4", 4)], vec![]);
        assert_eq!(
            (o.filed, o.held),
            (0, 1),
            "{n}: locked device filed a result"
        );
        let s = specimen(&p, "unused");
        let glu = LabResult {
            specimen_id: None,
            observed_at: at(4),
            ..glucose(&p, &s, "95")
        };
        let o = deliver(&store, &dev, "Q4", vec![glu], vec![]);
        assert_eq!((o.filed, o.held), (1, 0), "{n}: other analyte held");

        // Run 3 back in control: results file again.
        let o = deliver(
            &store,
            &dev,
            "Q5",
            vec![patient_k(&p, "4.3", 6)],
            vec![control("1", 3.98, 5), control("2", 5.97, 5)],
        );
        assert_eq!((o.filed, o.held, o.qc_rejected.len()), (1, 0, 0), "{n}");

        let tech = Actor::staff("tech-1", Role::LabTechnologist);
        let recs = store.qc_records(&tech, dev.id, &k()).unwrap();
        assert_eq!(recs.len(), 6, "{n}");
        let rejected: Vec<_> = recs
            .iter()
            .filter(|r| r.rejects)
            .map(|r| (r.run, r.level.as_str(), r.value))
            .collect();
        assert_eq!(rejected, vec![(2, "1", 4.35), (2, "2", 6.01)], "{n}");
        assert!(recs
            .iter()
            .filter(|r| r.run == 2)
            .all(|r| r.violations.contains(&"1-3s".to_string())));
        assert!(matches!(
            store.qc_records(&phleb, dev.id, &k()),
            Err(StoreError::Denied(_))
        ));
        store.verify(&mut |_, _| {}).unwrap();
    }
}

#[test]
fn a_rejected_run_recalls_the_results_filed_since_the_last_accepted_run() {
    for env in envs("qc_recall") {
        let n = env.name;
        let store = init(&env);
        let dev = enrollment();
        store.enroll_instrument(&op(), &dev).unwrap();
        let other = Enrollment {
            id: Id::new_v4(),
            name: "chem-2".into(),
            cert_serial: Some("02".into()),
            cert_fingerprint: Some("fp-qc-2".into()),
            ..enrollment()
        };
        store.enroll_instrument(&op(), &other).unwrap();
        let p = patient("MRN-Q1", "Rowan", "Ivy");
        store.add_patient(&op(), &p).unwrap();
        let path = Actor::staff("path-1", Role::Pathologist);
        for (lvl, mean) in [("1", 4.0), ("2", 6.0)] {
            let m = ControlMaterial {
                lot: "LOT-7".into(),
                level: lvl.into(),
                analyte: k(),
                units: "mmol/L".into(),
                mean,
                sd: 0.1,
            };
            store.set_qc_material(&path, &m).unwrap();
        }
        let good = || vec![control("1", 4.02, 0), control("2", 6.01, 0)];

        // Before the last accepted run: never recalled.
        let early = patient_k(&p, "4.0", 0);
        deliver(&store, &dev, "R0", vec![early.clone()], good());
        // The accepted run, then patient results on this device and one on another.
        deliver(&store, &dev, "R1", vec![], good());
        let a = patient_k(&p, "4.2", 1);
        let b = patient_k(&p, "4.4", 2);
        deliver(&store, &dev, "R2", vec![a.clone()], vec![]);
        deliver(&store, &dev, "R3", vec![b.clone()], vec![]);
        let s = specimen(&p, "unused");
        let glu = LabResult {
            specimen_id: None,
            observed_at: at(2),
            ..glucose(&p, &s, "95")
        };
        deliver(&store, &dev, "R4", vec![glu.clone()], vec![]);
        let elsewhere = patient_k(&p, "4.1", 2);
        deliver(&store, &other, "R5", vec![elsewhere.clone()], vec![]);

        // The rejected run (1-3s) recalls a and b only.
        let o = deliver(
            &store,
            &dev,
            "R6",
            vec![],
            vec![control("1", 4.35, 3), control("2", 6.0, 3)],
        );
        assert_eq!(o.qc_rejected, vec!["2823-3".to_string()], "{n}");
        let open = store.qc_recalls(&path, true).unwrap();
        let mut ids: Vec<Id> = open.iter().map(|r| r.result_id).collect();
        ids.sort();
        let mut want = vec![a.id, b.id];
        want.sort();
        assert_eq!(ids, want, "{n}: wrong results recalled");
        assert!(open
            .iter()
            .all(|r| r.state == "held" && r.device_id == dev.id));
        let alerts = store.open_alerts(50).unwrap();
        assert!(
            alerts
                .iter()
                .any(|al| al.kind == "qc-rejected" && al.detail.contains("2 result(s)")),
            "{n}: {alerts:?}"
        );

        // A recalled result cannot be signed off until released; a rejected one never.
        assert!(store.verify_result(&path, a.id).is_err(), "{n}");
        store.verify_result(&path, early.id).unwrap();
        store.verify_result(&path, glu.id).unwrap();
        let phleb = Actor::staff("phleb-1", Role::Phlebotomist);
        assert!(matches!(
            store.decide_qc_recall(&phleb, a.id, labguard_store::HeldDecision::Release),
            Err(StoreError::Denied(_))
        ));
        assert!(matches!(
            store.qc_recalls(&phleb, false),
            Err(StoreError::Denied(_))
        ));
        let r = store
            .decide_qc_recall(&path, a.id, labguard_store::HeldDecision::Release)
            .unwrap();
        assert_eq!(
            (r.state.as_str(), r.decided_by.as_deref()),
            ("released", Some(path.id.as_str()))
        );
        store.verify_result(&path, a.id).unwrap();
        store
            .decide_qc_recall(&path, b.id, labguard_store::HeldDecision::Reject)
            .unwrap();
        assert!(store.verify_result(&path, b.id).is_err(), "{n}");
        assert!(matches!(
            store.decide_qc_recall(&path, b.id, labguard_store::HeldDecision::Release),
            Err(StoreError::Conflict)
        ));
        assert!(matches!(
            store.decide_qc_recall(&path, Id::new_v4(), labguard_store::HeldDecision::Release),
            Err(StoreError::NotFound(_))
        ));
        assert!(store.qc_recalls(&path, true).unwrap().is_empty(), "{n}");

        // A second rejected run does not recall the same results again.
        deliver(
            &store,
            &dev,
            "R7",
            vec![],
            vec![control("1", 4.36, 4), control("2", 6.0, 4)],
        );
        let all = store.qc_recalls(&path, false).unwrap();
        let names = |id: Id| {
            [
                (a.id, "a"),
                (b.id, "b"),
                (early.id, "early"),
                (glu.id, "glu"),
                (elsewhere.id, "elsewhere"),
            ]
            .iter()
            .find(|(i, _)| *i == id)
            .map_or("?", |(_, s)| *s)
        };
        let got: Vec<_> = all.iter().map(|r| names(r.result_id)).collect();
        assert_eq!(all.len(), 2, "{n}: {got:?}");
        store.verify(&mut |_, _| {}).unwrap();
    }
}
