//! Mapping transmissions into domain records, QC apart.

use labguard_astm::{parse, AstmRecords, Dropped, Mapped, MappingOptions, ProblemKind};
use labguard_core::{AbnormalFlag, ContainerType, LoincCode, ResultStatus, Sex};

const CHEM: &[u8] = include_bytes!("../../testdata/chemistry.astm");

fn options() -> MappingOptions {
    let mut o = MappingOptions::default();
    for (code, loinc) in [
        ("GLU", "2345-7"),
        ("NA", "2951-2"),
        ("K", "2823-3"),
        ("CL", "2075-0"),
        ("CREA", "2160-0"),
        ("BUN", "3094-0"),
    ] {
        o.test_codes
            .insert(code.into(), LoincCode::parse(loinc).unwrap());
    }
    o
}

/// Maps `text`, recording every id request.
fn map(text: &[u8], opts: &MappingOptions) -> (Mapped<AstmRecords>, Vec<String>) {
    let t = parse(text).unwrap();
    let mut asked = Vec::new();
    let mut n = 0u128;
    let m = t.to_records(opts, &mut |what| {
        asked.push(format!("{what:?}"));
        n += 1;
        Some(uuid::Uuid::from_u128(n))
    });
    (m, asked)
}

#[test]
fn a_chemistry_panel_maps_to_patient_specimen_order_and_six_results() {
    let (m, asked) = map(CHEM, &options());
    assert!(m.problems.is_empty(), "{:?}", m.problems);
    let lab = &m.value.lab;
    assert_eq!(asked[0], r#"Patient { mrn: "MRN-000123" }"#);
    assert_eq!(asked[1], r#"Specimen { accession: "ACC-2024-0001" }"#);
    assert_eq!(
        asked[2],
        r#"Order { placer: Some("ACC-2024-0001"), filler: Some("77") }"#
    );
    let p = &lab.patients[0];
    assert_eq!((p.family.as_str(), p.given.as_str()), ("Doe", "Jane"));
    assert_eq!(p.birth_date.to_string(), "1980-01-02");
    assert_eq!(p.sex, Sex::Female);
    let s = &lab.specimens[0];
    assert_eq!(s.collector, "PHLEB7");
    assert_eq!(s.body_site, "Antecubital");
    assert_eq!(s.container, ContainerType::Serum);
    assert_eq!(s.collected_at.to_rfc3339(), "2024-03-12T08:05:00+00:00");
    let o = &lab.orders[0];
    assert_eq!(o.ordering_provider, "1234 Smith Ann");
    assert_eq!(o.tests.len(), 6);
    assert_eq!(o.placed_at.to_rfc3339(), "2024-03-12T08:30:00+00:00");
    assert_eq!(lab.results.len(), 6);
    let k = &lab.results[2];
    assert_eq!(k.analyte.as_str(), "2823-3");
    assert_eq!(k.analyte_name, "Potassium");
    assert_eq!((k.value.as_str(), k.units.as_str()), ("5.6", "mmol/L"));
    assert_eq!(k.reference_range.low, Some(3.5));
    assert_eq!(k.reference_range.high, Some(5.1));
    assert_eq!(k.reference_range.text, "3.5 to 5.1");
    assert_eq!(k.abnormal_flag, AbnormalFlag::High);
    assert_eq!(k.status, ResultStatus::Final);
    assert_eq!(k.verified_by.as_deref(), Some("VER1"));
    assert_eq!(k.performing_device.as_deref(), Some("CHEMAN-01"));
    assert_eq!(k.observed_at.to_rfc3339(), "2024-03-12T10:12:20+00:00");
    assert_eq!(k.patient_id, p.id);
    assert_eq!((k.specimen_id, k.order_id), (Some(s.id), Some(o.id)));
    assert!(m.value.qc.is_empty());
}

#[test]
fn the_instrument_clock_offset_applies() {
    let mut opts = options();
    opts.default_offset = chrono::FixedOffset::east_opt(3600).unwrap();
    let (m, _) = map(CHEM, &opts);
    let r = &m.value.lab.results[0];
    assert_eq!(r.observed_at.to_rfc3339(), "2024-03-12T09:12:00+00:00");
}

#[test]
fn unmapped_test_codes_drop_the_result_and_name_only_the_field() {
    let (m, _) = map(CHEM, &MappingOptions::default());
    assert!(m.value.lab.results.is_empty());
    let unmapped: Vec<String> = m
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::UnmappedTest)
        .map(|p| p.to_string())
        .collect();
    assert_eq!(unmapped.len(), 7, "six results and the order");
    assert_eq!(
        unmapped[1],
        "R-3 (record 4): test code is not LOINC and not in the test map; Result left out"
    );
    for p in &m.problems {
        let s = p.to_string();
        for secret in ["Doe", "Jane", "MRN-000123", "5.6", "GLU", "ACC-2024"] {
            assert!(!s.contains(secret), "{s}");
        }
    }
}

#[test]
fn a_bare_instrument_p_record_resolves_the_patient_through_the_specimen() {
    let text = b"H|\\^&|||AN\rP|1\rO|1|S-77||^^^2345-7\rR|1|^^^2345-7|101|mg/dL||H||F||||20240102030405\rL|1|N\r";
    let (m, asked) = map(text, &MappingOptions::default());
    assert!(m.is_complete(), "{:?}", m.problems);
    assert_eq!(asked[0], r#"PatientOfSpecimen { accession: "S-77" }"#);
    assert!(
        m.value.lab.patients.is_empty(),
        "a reference, not a new patient"
    );
    assert!(
        m.value.lab.orders.is_empty(),
        "no ordering physician: a reference"
    );
    let r = &m.value.lab.results[0];
    assert_eq!(r.value, "101");
    assert_eq!(
        r.performing_device.as_deref(),
        Some("AN"),
        "H-5 when R-14 is empty"
    );
    // A resolver that does not know the specimen leaves the results out.
    let t = parse(text).unwrap();
    let m = t.to_records(&MappingOptions::default(), &mut |_| None);
    assert!(m.value.lab.results.is_empty());
    assert!(m
        .problems
        .iter()
        .any(|p| p.kind == ProblemKind::Unresolved { what: "patient" }));
}

#[test]
fn result_statuses_flags_and_missing_values() {
    let text = b"H|\\^&|||AN||||||||1394-97|20240102030405\rP|1|M1\rO|1|S1||^^^2345-7\r\
R|1|^^^2345-7|90|mg/dL||N||X\r\
R|2|^^^2345-7|91|mg/dL||N||\r\
R|3|^^^2345-7|92|mg/dL||ZZ||C\r\
R|4|^^^2345-7||mg/dL||N||F\r\
R|5|^^^2345-7|93|mg/dL||N||W\rL|1|N\r";
    let (m, _) = map(text, &MappingOptions::default());
    let got: Vec<(&str, ResultStatus, AbnormalFlag)> = m
        .value
        .lab
        .results
        .iter()
        .map(|r| (r.value.as_str(), r.status, r.abnormal_flag))
        .collect();
    assert_eq!(
        got,
        [
            ("91", ResultStatus::Preliminary, AbnormalFlag::Normal),
            ("92", ResultStatus::Corrected, AbnormalFlag::Abnormal),
            ("93", ResultStatus::Preliminary, AbnormalFlag::Normal),
        ]
    );
    let kinds: Vec<(String, ProblemKind, Option<Dropped>)> = m
        .problems
        .iter()
        .map(|p| (p.location.to_string(), p.kind.clone(), p.dropped))
        .collect();
    let table = "abnormal flag";
    assert_eq!(
        kinds,
        [
            (
                "R-9 (record 4)".into(),
                ProblemKind::NoResult,
                Some(Dropped::Result)
            ),
            ("R-9 (record 5)".into(), ProblemKind::MissingValue, None),
            (
                "R-7 (record 6)".into(),
                ProblemKind::UnknownCode { table },
                None
            ),
            (
                "R-4 (record 7)".into(),
                ProblemKind::MissingValue,
                Some(Dropped::Result)
            ),
        ]
    );
}

#[test]
fn qc_by_action_code_is_reported_apart() {
    let text = b"H|\\^&|||AN\rP|1\rO|1|CTRL-N^LOT42^L1||^^^GLU|||||||Q\r\
R|1|^^^GLU^Glucose|98|mg/dL|90 to 110|N||F||||20240102030405|AN-1\r\
R|2|^^^NA|140|mmol/L||N||F||||20240102030410\rL|1|N\r";
    let (m, asked) = map(text, &options());
    assert!(asked.is_empty(), "QC asks for no patient ids: {asked:?}");
    assert_eq!(m.value.lab, Default::default());
    assert_eq!(m.value.qc.len(), 2);
    let q = &m.value.qc[0];
    assert_eq!(q.control, "CTRL-N");
    assert_eq!(
        (q.lot.as_deref(), q.level.as_deref()),
        (Some("LOT42"), Some("L1"))
    );
    assert_eq!(
        (q.test_code.as_str(), q.analyte_name.as_str()),
        ("GLU", "Glucose")
    );
    assert_eq!(q.analyte.as_ref().map(|l| l.as_str()), Some("2345-7"));
    assert_eq!((q.value.as_str(), q.units.as_str()), ("98", "mg/dL"));
    assert_eq!(q.reference_range.low, Some(90.0));
    assert_eq!(q.instrument.as_deref(), Some("AN-1"));
    assert_eq!(
        q.observed_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2024-01-02T03:04:05+00:00")
    );
    assert_eq!(m.value.qc[1].instrument.as_deref(), Some("AN"));
}

#[test]
fn qc_by_id_prefix_and_by_processing_id() {
    let by_patient = b"H|\\^&\rP|1|QC-HIGH\rO|1|||^^^GLU\rR|1|^^^GLU|250|mg/dL||H||F\rL|1|N\r";
    let (m, asked) = map(by_patient, &options());
    assert!(asked.is_empty());
    assert_eq!(m.value.qc[0].control, "QC-HIGH");
    assert_eq!(m.value.qc[0].abnormal_flag, AbnormalFlag::High);
    let by_specimen = b"H|\\^&\rP|1\rO|1|qc1^L7^2||^^^GLU\rR|1|^^^GLU|99|mg/dL||N||F\rL|1|N\r";
    let (m, _) = map(by_specimen, &options());
    assert_eq!(m.value.qc[0].control, "qc1");
    assert_eq!(m.value.qc[0].level.as_deref(), Some("2"));
    let by_header = b"H|\\^&||||||||||Q\rP|1|M1\rO|1|S1||^^^GLU\rR|1|^^^GLU|99\rL|1|N\r";
    let (m, _) = map(by_header, &options());
    assert!(m.value.lab.results.is_empty());
    assert_eq!(m.value.qc.len(), 1);
    // A patient id that merely contains QC is not QC.
    let not_qc = b"H|\\^&\rP|1|AQC1\rO|1|S1||^^^GLU\rR|1|^^^GLU|99||||F||||20240102\rL|1|N\r";
    let (m, _) = map(not_qc, &options());
    assert_eq!(m.value.lab.results.len(), 1);
    assert!(m.value.qc.is_empty());
}

#[test]
fn results_before_any_order_are_out_of_sequence() {
    let text = b"H|\\^&\rP|1|M1\rR|1|^^^2345-7|5||||F\rL|1|N\r";
    let (m, _) = map(text, &MappingOptions::default());
    assert!(m.value.lab.results.is_empty());
    assert_eq!(m.problems[0].kind, ProblemKind::OutOfSequence);
    assert_eq!(m.problems[0].dropped, Some(Dropped::Result));
    assert_eq!(m.problems[0].location.to_string(), "R (record 3)");
}

#[test]
fn partial_demographics_leave_the_patient_out() {
    let text =
        b"H|\\^&\rP|1|M1|||Doe^Jane\rO|1|S1||^^^2345-7\rR|1|^^^2345-7|5||||F||||20240102\rL|1|N\r";
    let (m, _) = map(text, &MappingOptions::default());
    assert!(m.value.lab.patients.is_empty());
    assert_eq!(m.problems[0].location.to_string(), "P-8 (record 2)");
    assert_eq!(m.problems[0].dropped, Some(Dropped::Patient));
    // Its results are still filed under the patient's id.
    assert_eq!(m.value.lab.results.len(), 1);
}
