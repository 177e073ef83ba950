//! Observations to labguard results and QC observations.

use chrono::{TimeZone, Utc};
use labguard_core::{AbnormalFlag, Id, LoincCode, ResultStatus};
use labguard_poct::{
    map_observations, AnalyteMap, Body, Control, Limits, MapProblem, Message, Observation,
    Observations, Service,
};

fn r01() -> Observations {
    let m = Message::parse(
        include_bytes!("../../testdata/obs_r01.xml"),
        &Limits::default(),
    )
    .unwrap();
    match m.body {
        Body::Observations(o) => o,
        _ => panic!("not observations"),
    }
}

fn glucose(value: Option<&str>) -> Observation {
    Observation {
        observation_id: "GLU".into(),
        value: value.map(String::from),
        units: Some("mg/dL".into()),
        ..Observation::default()
    }
}

fn service(role: &str, patient: Option<&str>, obs: Vec<Observation>) -> Service {
    Service {
        role_cd: role.into(),
        observation_dttm: Some("2026-03-02T09:10:02-05:00".into()),
        patient_id: patient.map(String::from),
        operator_id: Some("RN-1".into()),
        observations: obs,
        ..Service::default()
    }
}

#[test]
fn patient_results_carry_patient_operator_device_and_lots() {
    let mapped = map_observations(&r01(), "GM-0001", &AnalyteMap::glucose_meters());
    assert!(mapped.problems.is_empty());
    let [first, second] = &mapped.patient[..] else {
        panic!("want two")
    };
    assert_eq!(first.patient_identifier, "MRN0042");
    let m = &first.measured;
    assert_eq!(m.analyte, LoincCode::parse("41653-7").unwrap());
    assert_eq!((m.value.as_str(), m.units.as_str()), ("112", "mg/dL"));
    assert_eq!(m.operator_id.as_deref(), Some("RN-7781"));
    assert_eq!(m.reagent_lots, ["STRIP-2291"]);
    assert_eq!(m.abnormal_flag, AbnormalFlag::High);
    assert_eq!(m.reference_range.high, Some(99.0));
    // 09:10:02 at -05:00 is 14:10:02 UTC.
    assert_eq!(
        m.observed_at,
        Utc.with_ymd_and_hms(2026, 3, 2, 14, 10, 2).unwrap()
    );
    // A code sent as LOINC (SN="LN") needs no mapping entry.
    assert_eq!(second.measured.analyte, LoincCode::parse("2345-7").unwrap());

    let r = first.to_result(Id::from_u128(1), Id::from_u128(2));
    assert_eq!(r.patient_id, Id::from_u128(2));
    assert_eq!(r.performing_device.as_deref(), Some("GM-0001"));
    assert_eq!(r.status, ResultStatus::Final);
    assert!(r.validate().is_ok());
    // Debug output leaves out the patient identifier and the value.
    let debug = format!("{first:?}");
    assert!(
        !debug.contains("MRN0042") && !debug.contains("112"),
        "{debug}"
    );
}

#[test]
fn qc_is_recognised_by_message_role_or_control_material() {
    let map = AnalyteMap::glucose_meters();
    let by_role = Observations {
        non_patient: false,
        services: vec![service("EQC", None, vec![glucose(Some("100"))])],
    };
    let m = map_observations(&by_role, "GM", &map);
    assert_eq!((m.patient.len(), m.qc.len()), (0, 1));
    assert_eq!(m.qc[0].role, "EQC");

    let mut with_control = service("OBS", None, vec![glucose(Some("100"))]);
    with_control.control = Some(Control {
        lot_number: Some("CTL-1".into()),
        ..Control::default()
    });
    let m = map_observations(
        &Observations {
            non_patient: false,
            services: vec![with_control],
        },
        "GM",
        &map,
    );
    assert_eq!(m.qc[0].control_lot.as_deref(), Some("CTL-1"));

    // OBS.R02 is QC even with the patient role.
    let m = map_observations(
        &Observations {
            non_patient: true,
            services: vec![service("OBS", Some("MRN1"), vec![glucose(Some("100"))])],
        },
        "GM",
        &map,
    );
    assert_eq!((m.patient.len(), m.qc.len()), (0, 1));
}

#[test]
fn nothing_is_guessed() {
    let map = AnalyteMap::glucose_meters();
    let mut no_time = service("OBS", Some("MRN1"), vec![glucose(Some("100"))]);
    no_time.observation_dttm = Some("yesterday".into());
    let unknown = Observation {
        observation_id: "KETO".into(),
        ..glucose(Some("1"))
    };
    let obs = Observations {
        non_patient: false,
        services: vec![
            service("OBS", None, vec![glucose(Some("100"))]),
            no_time,
            service(
                "OBS",
                Some("MRN1"),
                vec![unknown, glucose(None), glucose(Some("90"))],
            ),
        ],
    };
    let m = map_observations(&obs, "GM", &map);
    assert_eq!(
        m.problems,
        [
            MapProblem::MissingPatient { service: 0 },
            MapProblem::MissingTime { service: 1 },
            MapProblem::UnknownAnalyte {
                service: 2,
                code: "KETO".into()
            },
            MapProblem::MissingValue {
                service: 2,
                observation: 1
            },
        ]
    );
    assert_eq!(m.patient.len(), 1);
    assert_eq!(m.patient[0].measured.value, "90");
    for p in &m.problems {
        assert!(!p.to_string().contains("MRN1"));
    }
    // A lab's own mapping replaces the meter defaults.
    let mut own = AnalyteMap::new();
    own.insert("keto", LoincCode::parse("2339-0").unwrap());
    let k = Observation {
        observation_id: "KETO".into(),
        ..glucose(Some("1"))
    };
    assert_eq!(own.resolve(&k), Some(LoincCode::parse("2339-0").unwrap()));
    assert_eq!(own.resolve(&glucose(None)), None);
}
