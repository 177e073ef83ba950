//! The sample messages in testdata/hl7 (see testdata/README.md): everything parses and
//! round-trips, and the lab result messages map to the values read off the files by eye.

use chrono::{DateTime, NaiveDate, Utc};
use labguard_core::{AbnormalFlag, ContainerType, Id, ResultStatus, Sex};
use labguard_hl7::{
    decode, AckCondition, AckMode, Delimiters, LabRecords, LabReport, Mapped, MappingOptions,
    Message, ProblemKind, Record, ReportKind,
};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/hl7");

fn read(name: &str) -> String {
    let bytes = std::fs::read(format!("{DIR}/{name}")).expect("corpus file");
    decode(&bytes).expect("decodes").into_owned()
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("test timestamp")
}

/// Maps with sequential ids, and returns what each id was requested for.
fn map(msg: &Message<'_>) -> (Mapped<LabRecords>, Vec<String>) {
    let report = LabReport::read(msg).expect("a lab report");
    let mut asked = Vec::new();
    let mut mapped = report
        .value
        .to_records(&MappingOptions::default(), &mut |what| {
            asked.push(format!("{what:?}"));
            Id::from_u128(asked.len() as u128)
        });
    let mut problems = report.problems;
    problems.append(&mut mapped.problems);
    mapped.problems = problems;
    (mapped, asked)
}

/// (location, kind, dropped) of each problem, as compact strings.
fn problems(m: &Mapped<LabRecords>) -> Vec<String> {
    m.problems.iter().map(|p| p.to_string()).collect()
}

#[test]
fn every_file_parses_and_round_trips() {
    let mut names: Vec<_> = std::fs::read_dir(DIR)
        .expect("corpus dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("name"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 10);
    let custom = Delimiters::new('#', '@', '!', '$', '%', None).expect("delims");
    for name in names {
        let text = read(&name);
        let msg = Message::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(msg.problems().is_empty(), "{name}: {:?}", msg.problems());
        assert!(msg.len() >= 4, "{name}");
        // Same delimiters: byte-exact values, CR terminators.
        let again = msg.encode();
        assert!(!again.contains('\n'));
        assert_eq!(Message::parse(&again).expect("re-parse"), msg, "{name}");
        // Other delimiters: the same values after unescaping.
        let other = msg.encode_with(custom);
        let back = Message::parse(&other).expect("custom parse");
        assert_eq!(back.delimiters(), custom);
        assert_eq!(leaves(&back), leaves(&msg), "{name}");
        assert_eq!(
            Message::parse(&back.encode_with(Delimiters::STANDARD)).unwrap(),
            msg
        );
    }
}

/// Every unescaped sub-component, by position, to compare messages across delimiters.
fn leaves(m: &Message<'_>) -> Vec<(usize, usize, usize, usize, usize, String)> {
    let mut out = Vec::new();
    for seg in m.segments() {
        for (f, field) in seg.fields().skip(if seg.index() == 1 { 2 } else { 0 }) {
            for (r, rep) in field.repetitions().enumerate() {
                for (c, comp) in rep.components().enumerate() {
                    for s in 0..comp.subcomponents().count() {
                        let v = comp.sub(s + 1).into_owned();
                        out.push((seg.index(), f, r, c, s, v));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn lab_oru_1_maps_the_blood_count() {
    let text = read("LAB-ORU-1.hl7");
    assert!(text.starts_with('\u{feff}'));
    let msg = Message::parse(&text).unwrap();
    let (m, asked) = map(&msg);
    assert_eq!(
        asked[..5],
        [
            r#"Patient { mrn: "10006579" }"#,
            r#"Specimen { accession: "SpecimenID" }"#,
            r#"Specimen { accession: "SpecimenID" }"#,
            r#"Order { placer: Some("88502218"), filler: Some("82503246") }"#,
            r#"Order { placer: Some("855238581"), filler: Some("890775544") }"#,
        ]
    );
    let r = &m.value;
    assert_eq!(r.patients.len(), 1);
    let p = &r.patients[0];
    assert_eq!(
        (p.mrn.as_str(), p.family.as_str(), p.given.as_str()),
        ("10006579", "DUCK", "DONALD")
    );
    assert_eq!(p.birth_date, NaiveDate::from_ymd_opt(1924, 10, 10).unwrap());
    assert_eq!(p.sex, Sex::Male);
    assert_eq!(p.phone.as_deref(), Some("8885551212"));
    let a = p.address.as_ref().unwrap();
    assert_eq!(
        (a.line.as_str(), a.city.as_str(), a.state.as_str()),
        ("111 DUCK ST", "FOWL", "CA")
    );

    let tests: Vec<_> = r.orders.iter().map(|o| o.tests[0].as_str()).collect();
    assert_eq!(tests, ["24317-0", "26464-8"]);
    assert!(r.orders.iter().all(|o| o.ordering_provider == "URO"));
    // No ORC-9/OBR-6/OBR-7: placed at MSH-7, 06:45 at +07:00.
    assert!(r
        .orders
        .iter()
        .all(|o| o.placed_at == utc("2014-10-05T23:45:00Z")));
    assert_eq!(r.orders[0].specimen_id, Some(Id::from_u128(2)));

    let got: Vec<_> = r
        .results
        .iter()
        .map(|x| {
            (
                x.analyte.as_str(),
                x.analyte_name.as_str(),
                x.value.as_str(),
                x.units.as_str(),
                x.abnormal_flag,
                x.status,
                x.observed_at,
                x.order_id,
            )
        })
        .collect();
    use AbnormalFlag::Normal;
    use ResultStatus::{Final, Preliminary};
    let (o1, o2) = (Some(Id::from_u128(4)), Some(Id::from_u128(5)));
    let t0627 = utc("2014-10-05T23:27:00Z");
    let t0830 = utc("2014-10-06T01:30:00Z");
    assert_eq!(
        got,
        [
            (
                "11273-0",
                "ERYTHROCYTES",
                "4.06",
                "tera.l-1",
                Normal,
                Preliminary,
                t0627,
                o1
            ),
            (
                "20570-8",
                "HEMATOCRIT",
                "40.1",
                "%",
                Normal,
                Preliminary,
                t0830,
                o1
            ),
            (
                "11125-2",
                "PLATELETS",
                "221",
                "giga.l-1",
                Normal,
                Final,
                t0830,
                o1
            ),
            (
                "23761-0",
                "NEUTROPHILS/100 LEUKOCYTES",
                "72",
                "%",
                Normal,
                Preliminary,
                t0627,
                o2
            ),
            (
                "26450-7",
                "EOSINOPHILS/100 LEUKOCYTES",
                "2",
                "%",
                Normal,
                Preliminary,
                t0627,
                o2
            ),
            (
                "26478-8",
                "LYMPHOCYTES/100 LEUKOCYTES",
                "20",
                "%",
                Normal,
                Preliminary,
                t0627,
                o2
            ),
            (
                "26485-3",
                "MONOCYTES/100 LEUKOCYTES",
                "6",
                "%",
                Normal,
                Preliminary,
                t0627,
                o2
            ),
            (
                "30180-4",
                "BASOPHILS/100 LEUKOCYTES",
                "0",
                "%",
                Normal,
                Preliminary,
                t0627,
                o2
            ),
        ]
    );
    assert_eq!(r.results[0].numeric_value(), Some(4.06));
    assert!(r.results.iter().all(|x| x.patient_id == Id::from_u128(1)));
    // Both SPMs lack a body site (SPM-8), so no Specimen record, but results keep the
    // specimen's id; the two pending OBXs (status I, no value) are not results.
    assert!(r.specimens.is_empty());
    assert_eq!(r.results[0].specimen_id, Some(Id::from_u128(2)));
    assert_eq!(r.results[3].specimen_id, Some(Id::from_u128(3)));
    assert_eq!(
        problems(&m),
        [
            "SPM-8 (segment 9): required value is missing; Specimen left out",
            "SPM-8 (segment 16): required value is missing; Specimen left out",
            "OBX-5 (segment 4): result status says there is no result to file; Result left out",
            "OBX-5 (segment 6): result status says there is no result to file; Result left out",
        ]
    );
    assert!(!m.is_complete());
}

#[test]
fn oru_r01_typed_views_and_problems() {
    let text = read("ORU-R01-01.hl7");
    let msg = Message::parse(&text).unwrap();
    let report = LabReport::read(&msg).unwrap().value;
    assert_eq!(report.kind, ReportKind::OruR01);
    let h = &report.header;
    assert_eq!(h.sending_application.namespace, "IA PHIMS Stage");
    assert_eq!(
        h.sending_application.universal_id,
        "2.16.840.1.114222.4.3.3.5.1.2"
    );
    assert_eq!(h.sending_facility.namespace, "IA Public Health Lab");
    assert_eq!(h.receiving_application.namespace, "IA.DOH.IDSS");
    assert_eq!(h.receiving_facility.name(), "IA DOH");
    assert_eq!(
        h.datetime
            .unwrap()
            .to_utc(MappingOptions::default().default_offset),
        utc("2012-03-14T15:14:00Z")
    );
    assert_eq!(
        (h.message_code.as_ref(), h.trigger_event.as_ref()),
        ("ORU", "R01")
    );
    assert_eq!(h.message_structure, "ORU_R01");
    assert_eq!(
        h.control_id,
        "2.16.840.1.114222.4.3.3.5.1.2-20120314235954.325"
    );
    assert_eq!(
        (h.processing_id.as_ref(), h.version.as_ref()),
        ("T", "2.5.1")
    );
    assert_eq!(
        AckMode::of(&msg),
        AckMode::Enhanced {
            accept: AckCondition::Always,
            application: AckCondition::Never
        }
    );

    let pid = &report.patients[0].pid;
    let mrn = pid.mrn().unwrap();
    assert_eq!(
        (mrn.id.as_ref(), mrn.identifier_type.as_ref()),
        ("14", "PI")
    );
    assert_eq!(mrn.assigning_authority, "IA PHIMS Stage");
    let name = pid.name().unwrap();
    assert_eq!(
        (
            name.family.as_ref(),
            name.given.as_ref(),
            name.name_type.as_ref()
        ),
        ("Finn", "Huckleberry", "L")
    );
    assert_eq!(pid.addresses[0].postal_code, "50112");
    assert_eq!(
        report.patients[0].visit.as_ref().unwrap().patient_class,
        "P"
    );

    // ORC before OBR (with a TXA between) form one order.
    assert_eq!(report.orders.len(), 1);
    let order = &report.orders[0];
    assert_eq!(order.orc.as_ref().unwrap().order_control, "NW");
    let obr = order.obr.as_ref().unwrap();
    assert_eq!(obr.placer_order_number.id, "845439");
    assert_eq!(obr.placer_order_number.namespace, "GHH OE");
    assert_eq!(obr.filler_order_number.id, "986");
    assert_eq!(obr.universal_service_id.code, "625-4");
    assert_eq!(obr.universal_service_id.system, "XYZ");
    assert_eq!(obr.collectors[0].id, "10535");
    assert_eq!(obr.collectors[0].family, "van Beethoven");
    // NTE-3 escapes: \T\ is the sub-component separator.
    assert!(order.notes[0].comments[0].ends_with("E.coli O157:H7 & other STECs, and Aeromonas"));
    assert_eq!(order.notes.len(), 2);

    let obx = &report.observations[1].obx;
    assert_eq!(obx.value_type, "CWE");
    assert_eq!(obx.values, ["Salmonella"]);
    assert_eq!(obx.units.code, "beats/min");
    assert_eq!(obx.reference_range, "70-80");
    assert_eq!(obx.abnormal_flags, ["A"]);
    assert_eq!(obx.status, "P");
    assert_eq!(obx.observers[0].id, "1134");
    assert_eq!(obx.equipment[0].id, "EI12.3");
    assert_eq!(obx.equipment.len(), 2);
    assert_eq!(report.observations[1].notes.len(), 2);
    assert_eq!(report.specimens[0].spm.accession(), Some("2012999999"));
    assert_eq!(report.specimens[0].spm.placer_id.id, "2012545");

    let (m, _) = map(&msg);
    let s = &m.value.specimens[0];
    assert_eq!(s.accession, "2012999999");
    assert_eq!(s.container, ContainerType::Serum);
    assert_eq!(s.collector, "10535");
    assert_eq!(s.collected_at, utc("2011-01-03T22:34:28Z"));
    assert_eq!(s.body_site, "Specimen source site");
    assert_eq!(m.value.patients[0].mrn, "14");
    // No order: OBR-16 and ORC-12 are empty. The one LOINC-coded OBX (after SPM) holds
    // "27~25" with status I: preliminary, as labguard-core reads I.
    assert!(m.value.orders.is_empty());
    assert_eq!(m.value.results.len(), 1);
    let x = &m.value.results[0];
    assert_eq!(
        (x.analyte.as_str(), x.value.as_str(), x.status),
        ("8867-4", "27; 25", ResultStatus::Preliminary)
    );
    assert_eq!(x.specimen_id, Some(s.id));
    assert_eq!(
        problems(&m),
        [
            "OBX (segment 5): segment is out of sequence; Result left out",
            "OBR-4 (segment 14): observation identifier is not coded in LOINC (coding system is not LN)",
            "OBR-16 (segment 14): required value is missing; Order left out",
            "OBX-11 (segment 11): required value is missing; Result left out",
            "OBX-5 (segment 11): required value is missing; Result left out",
            "OBX-3 (segment 11): required value is missing; Result left out",
            "OBX-3 (segment 20): observation identifier is not coded in LOINC (coding system is not LN); Result left out",
            "OBX-11 (segment 27): result status says there is no result to file; Result left out",
            "OBX-3 (segment 27): observation identifier is not coded in LOINC (coding system is not LN); Result left out",
        ]
    );
    let nl = m
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::NotLoinc)
        .count();
    assert_eq!(nl, 3);
}

#[test]
fn oul_r22_maps_specimen_first() {
    let text = read("OUL-R22-01.hl7");
    let msg = Message::parse(&text).unwrap();
    let report = LabReport::read(&msg).unwrap().value;
    assert_eq!(report.kind, ReportKind::OulR22);
    assert_eq!(report.header.version, "2.8");
    assert_eq!(report.header.charset, "UNICODE UTF-8");
    assert_eq!(
        AckMode::of(&msg),
        AckMode::Enhanced {
            accept: AckCondition::Never,
            application: AckCondition::Always
        }
    );
    let spm = &report.specimens[0].spm;
    assert_eq!(spm.placer_id.id, "2017-PAT-123456-1");
    assert_eq!(spm.accession(), Some("2017-PAT-123456-1"));
    assert_eq!(spm.specimen_type.code, "SKBP");
    // OBR then ORC: one order, on the specimen before it.
    assert_eq!(report.orders.len(), 1);
    assert_eq!(report.orders[0].specimen, Some(0));
    assert_eq!(report.orders[0].orc.as_ref().unwrap().order_control, "SC");
    let slide = &report.observations[2].obx;
    assert_eq!(slide.value_type, "RP");
    assert!(slide.values[0].ends_with(
        "?ContainerType=CaseView&ContainerID=0&SlideID=40bcbe96bcbf8cda8b07403263b92cb4"
    ));
    let thumb = &report.observations[3].obx;
    assert_eq!(thumb.values, ["VGhpcyBpcyBhIEJhc2U2NCBzdHJpbmc="]);

    let (m, asked) = map(&msg);
    assert_eq!(asked[1], r#"Specimen { accession: "2017-PAT-123456-1" }"#);
    let p = &m.value.patients[0];
    assert_eq!(p.birth_date, NaiveDate::from_ymd_opt(2019, 4, 11).unwrap());
    assert_eq!(p.phone.as_deref(), Some("(700)000-0000"));
    assert_eq!(m.value.results.len(), 1);
    let x = &m.value.results[0];
    assert_eq!(x.analyte.as_str(), "8867-4");
    assert_eq!(x.analyte_name, "heartrate");
    assert_eq!(x.value, "160; 120");
    assert_eq!(x.units, "beats/min");
    assert_eq!(
        (x.reference_range.low, x.reference_range.high),
        (Some(100.0), Some(120.0))
    );
    assert_eq!(x.abnormal_flag, AbnormalFlag::Abnormal);
    assert_eq!(x.status, ResultStatus::Preliminary);
    assert_eq!(x.observed_at, utc("1999-08-02T00:00:00Z"));
    assert_eq!(x.performing_device.as_deref(), Some("EI12.3"));
    assert_eq!(x.verified_by.as_deref(), Some("1134"));
    assert_eq!(x.specimen_id, Some(Id::from_u128(2)));
    assert_eq!(x.order_id, None);
    assert!(m.problems.iter().any(|p| p.to_string()
        == "OBX-3 (segment 26): observation identifier is not coded in LOINC (coding system is not LN); Result left out"));
    assert_eq!(
        m.problems
            .iter()
            .filter(|p| p.dropped == Some(Record::Result))
            .count(),
        8
    );
}

#[test]
fn other_message_types_are_refused_with_code_200() {
    for name in [
        "ADT-A01-01.hl7",
        "ORM-O01-01.hl7",
        "OML-O21-01.hl7",
        "VXU-V04-01.hl7",
    ] {
        let text = read(name);
        let msg = Message::parse(&text).unwrap();
        let err = LabReport::read(&msg).unwrap_err();
        assert_eq!(err.kind.error_code().code(), 200, "{name}");
        assert_eq!(err.location.field, Some(9));
    }
}
