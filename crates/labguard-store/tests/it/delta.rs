//! Delta checks at filing time: a result that changed too much since the same patient's
//! previous result of the same analyte is held with both values for the reviewer; within
//! the limit, outside the window, another patient or another analyte, it is filed.

use crate::common::*;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use labguard_core::{Id, LabResult, LoincCode, Patient};
use labguard_store::{
    Enrollment, Inbound, IngestOutcome, Store, Transport, DELTA_EXCEEDED, DELTA_UNITS_DIFFER,
};

fn enrollment() -> Enrollment {
    Enrollment {
        id: Id::new_v4(),
        name: "chem-delta".into(),
        sending_app: "CHEM".into(),
        sending_facility: "LAB".into(),
        analytes: vec!["2823-3".into()],
        transport: Transport::Tls,
        cert_serial: Some("01".into()),
        cert_fingerprint: Some("fp-delta".into()),
        allow_from: vec![],
        enrolled_at: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
        revoked_at: None,
        protocol: labguard_store::Protocol::Hl7,
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 6, 0, 0).unwrap()
}

fn potassium(p: &Patient, value: &str, units: &str, hours: i64) -> LabResult {
    let s = specimen(p, "unused");
    LabResult {
        analyte: LoincCode::parse("2823-3").unwrap(),
        analyte_name: "Potassium".into(),
        units: units.into(),
        specimen_id: None,
        observed_at: t0() + TimeDelta::hours(hours),
        ..glucose(p, &s, value)
    }
}

fn deliver(
    store: &Store,
    dev: &Enrollment,
    control: &str,
    mrn: &str,
    results: Vec<LabResult>,
) -> IngestOutcome {
    let n = results.len();
    let rid = results[0].patient_id;
    store
        .ingest(&Inbound {
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
        })
        .unwrap()
}

#[test]
fn delta_checks_hold_big_changes_with_both_values_and_file_the_rest() {
    for env in envs("delta") {
        let store = init(&env);
        let dev = enrollment();
        store.enroll_instrument(&op(), &dev).unwrap();
        let a = patient("MRN-D1", "Quill", "Ada");
        let b = patient("MRN-D2", "Marsh", "Ben");
        store.add_patient(&op(), &a).unwrap();
        store.add_patient(&op(), &b).unwrap();
        let n = env.name;
        let filed_held = |o: IngestOutcome| (o.filed, o.held);

        // No previous result: filed. Then +0.9 mmol/L within 48 h (limit 1.0): filed.
        let first = deliver(
            &store,
            &dev,
            "D1",
            "MRN-D1",
            vec![potassium(&a, "4.0", "mmol/L", 0)],
        );
        assert_eq!(filed_held(first), (1, 0), "{n}");
        let near = deliver(
            &store,
            &dev,
            "D2",
            "MRN-D1",
            vec![potassium(&a, "4.9", "mmol/L", 2)],
        );
        assert_eq!(
            filed_held(near),
            (1, 0),
            "{n}: a change within the limit was held"
        );

        // +1.2 against the latest filed (4.9): held, the reviewer sees 4.9 beside 6.1.
        let jump = deliver(
            &store,
            &dev,
            "D3",
            "MRN-D1",
            vec![potassium(&a, "6.1", "mmol/L", 4)],
        );
        assert_eq!(
            filed_held(jump),
            (0, 1),
            "{n}: a change beyond the limit was filed"
        );
        let held = store.held_results(&op()).unwrap();
        assert_eq!(held.len(), 1, "{n}");
        assert_eq!(held[0].reasons, vec![DELTA_EXCEEDED.to_string()], "{n}");
        assert_eq!(held[0].result.value, "6.1");
        let prev = held[0].previous.as_ref().expect("previous value shown");
        assert_eq!((prev.value.as_str(), prev.patient_id), ("4.9", a.id), "{n}");

        // Another patient's first potassium is never compared with Ada's.
        let other = deliver(
            &store,
            &dev,
            "D4",
            "MRN-D2",
            vec![potassium(&b, "6.0", "mmol/L", 5)],
        );
        assert_eq!(filed_held(other), (1, 0), "{n}: compared across patients");

        // 58 h after the latest filed result: outside the 48 h window, filed.
        let late = deliver(
            &store,
            &dev,
            "D5",
            "MRN-D1",
            vec![potassium(&a, "6.2", "mmol/L", 60)],
        );
        assert_eq!(filed_held(late), (1, 0), "{n}: compared outside the window");

        // Other units are never compared: held as such.
        let units = deliver(
            &store,
            &dev,
            "D6",
            "MRN-D1",
            vec![potassium(&a, "6.3", "mg/dL", 61)],
        );
        assert_eq!(filed_held(units), (0, 1), "{n}");

        // Two results in one message: the second is checked against the first.
        let pair = deliver(
            &store,
            &dev,
            "D7",
            "MRN-D1",
            vec![
                potassium(&a, "6.4", "mmol/L", 62),
                potassium(&a, "8.0", "mmol/L", 63),
            ],
        );
        assert_eq!(filed_held(pair), (1, 1), "{n}: same-message delta missed");

        let mut reasons: Vec<String> = store
            .held_results(&op())
            .unwrap()
            .into_iter()
            .flat_map(|h| h.reasons)
            .collect();
        reasons.sort();
        assert_eq!(
            reasons,
            vec![DELTA_EXCEEDED, DELTA_EXCEEDED, DELTA_UNITS_DIFFER],
            "{n}"
        );
        let values: Vec<String> = store
            .results_for_patient(&op(), a.id)
            .unwrap()
            .into_iter()
            .map(|r| r.value)
            .collect();
        assert_eq!(values.len(), 4, "{n}: {values:?}");
        assert!(!values.contains(&"6.1".to_string()) && !values.contains(&"8.0".to_string()));
        store.verify(&mut |_, _| {}).unwrap();
    }
}
