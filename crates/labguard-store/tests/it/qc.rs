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
