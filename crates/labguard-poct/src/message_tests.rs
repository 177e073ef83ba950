use super::*;

fn parse(s: &str) -> Result<Message, PoctError> {
    Message::parse(s.as_bytes(), &Limits::default())
}

const HELLO: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<HEL.R01>
  <HDR><HDR.control_id V="1"/><HDR.version_id V="POCT1"/>
    <HDR.creation_dttm V="2026-03-02T09:15:00-05:00"/></HDR>
  <DEV>
    <DEV.device_id V="00:50:8B:12:34:56"/>
    <DEV.vendor_id V="ACME"/><DEV.model_id V="GM-200"/><DEV.serial_id V="SN1234"/>
    <DEV.manufacturer_name V="Acme Diagnostics"/><DEV.hw_version V="B"/>
    <DEV.sw_version V="3.1.4"/><DEV.device_name V="Ward 4 meter"/>
    <DCP><DCP.application_timeout V="30"/></DCP>
    <DSC><DSC.connection_profile_cd V="SA"/><DSC.topics_supported_cd V="OBS"/>
      <DSC.topics_supported_cd V="OPL"/><DSC.max_message_sz V="50000"/></DSC>
  </DEV>
</HEL.R01>"#;

#[test]
fn hello_reads_the_device() {
    let m = parse(HELLO).unwrap();
    assert_eq!(m.kind(), MessageType::Hello);
    assert_eq!(m.header.control_id, "1");
    assert_eq!(
        m.header.created_at().map(|t| t.to_rfc3339()),
        Some("2026-03-02T09:15:00-05:00".into())
    );
    let Body::Hello(h) = &m.body else {
        panic!("not a hello")
    };
    assert_eq!(h.device_id, "00:50:8B:12:34:56");
    assert_eq!(h.model_id.as_deref(), Some("GM-200"));
    assert_eq!(h.serial_id.as_deref(), Some("SN1234"));
    assert_eq!(h.sw_version.as_deref(), Some("3.1.4"));
    assert_eq!(h.topics_supported, ["OBS", "OPL"]);
    assert_eq!(h.max_message_sz, Some(50000));
}

#[test]
fn status_reads_counts() {
    let m = parse(
        r#"<DST.R01><HDR><HDR.control_id V="2"/></HDR><DST>
        <DST.status_dttm V="2026-03-02T09:15:01-05:00"/><DST.new_observations_qty V="3"/>
        <DST.observations_qty V="250"/><DST.new_events_qty V="0"/>
        <DST.condition_cd V="R" SN="POCT1"/></DST></DST.R01>"#,
    )
    .unwrap();
    let Body::DeviceStatus(s) = m.body else {
        panic!("not a status")
    };
    assert_eq!(s.new_observations_qty, Some(3));
    assert_eq!(s.observations_qty, Some(250));
    assert_eq!(s.new_events_qty, Some(0));
    assert_eq!(s.condition_cd.as_deref(), Some("R"));
    let bad = r#"<DST.R01><HDR><HDR.control_id V="2"/></HDR><DST><DST.new_observations_qty V="-1"/></DST></DST.R01>"#;
    assert_eq!(
        parse(bad),
        Err(PoctError::Invalid {
            element: "DST.new_observations_qty",
            why: "expected a non-negative whole number"
        })
    );
}

#[test]
fn patient_observations_read_every_field_labguard_uses() {
    let m = parse(include_str!("../testdata/obs_r01.xml")).unwrap();
    assert_eq!(m.kind(), MessageType::PatientObservations);
    let Body::Observations(o) = &m.body else {
        panic!("not observations")
    };
    assert!(!o.non_patient);
    assert_eq!(o.services.len(), 2);
    let s = &o.services[0];
    assert_eq!(s.role_cd, "OBS");
    assert_eq!(s.patient_id.as_deref(), Some("MRN0042"));
    assert_eq!(s.operator_id.as_deref(), Some("RN-7781"));
    assert_eq!(
        s.observation_dttm.as_deref(),
        Some("2026-03-02T09:10:02-05:00")
    );
    assert_eq!(s.reagents[0].lot_number.as_deref(), Some("STRIP-2291"));
    let obs = &s.observations[0];
    assert_eq!(obs.observation_id, "GLU");
    assert_eq!(
        (obs.value.as_deref(), obs.units.as_deref()),
        (Some("112"), Some("mg/dL"))
    );
    assert_eq!(obs.interpretation_cd.as_deref(), Some("H"));
    assert_eq!(obs.normal_range.as_deref(), Some("70-99"));
    let debug = format!("{m:?}");
    assert!(
        !debug.contains("MRN0042") && !debug.contains("\"112\""),
        "{debug}"
    );
    let second = &o.services[1].observations[0];
    assert_eq!(second.code_system.as_deref(), Some("LN"));
}

#[test]
fn qc_observations_read_the_control_material() {
    let m = parse(include_str!("../testdata/obs_r02.xml")).unwrap();
    assert_eq!(m.kind(), MessageType::NonPatientObservations);
    let Body::Observations(o) = &m.body else {
        panic!("not observations")
    };
    assert!(o.non_patient);
    let s = &o.services[0];
    assert_eq!(s.role_cd, "LQC");
    assert!(s.patient_id.is_none());
    let c = s.control.as_ref().unwrap();
    assert_eq!(c.lot_number.as_deref(), Some("CTL-88A"));
    assert_eq!(c.level_cd.as_deref(), Some("H"));
    assert_eq!(s.observations[0].value.as_deref(), Some("301"));
}

#[test]
fn small_messages_parse() {
    let req = parse(
        r#"<REQ.R01><HDR><HDR.control_id V="5"/></HDR><REQ><REQ.request_cd V="ROBS"/></REQ></REQ.R01>"#,
    );
    assert_eq!(req.unwrap().body, Body::Request("ROBS".into()));
    let ack = parse(
        r#"<ACK.R01><HDR><HDR.control_id V="6"/></HDR><ACK><ACK.type_cd V="AE"/><ACK.ack_control_id V="5"/><ACK.note_txt V="busy"/></ACK></ACK.R01>"#,
    );
    assert_eq!(
        ack.unwrap().body,
        Body::Ack(Ack {
            type_cd: AckCode::Error,
            ack_control_id: Some("5".into()),
            note_txt: Some("busy".into())
        })
    );
    let eot = parse(
        r#"<EOT.R01><HDR><HDR.control_id V="7"/></HDR><EOT><EOT.topic_cd V="OBS"/></EOT></EOT.R01>"#,
    );
    assert_eq!(eot.unwrap().body, Body::EndOfTopic("OBS".into()));
    let end = parse(
        r#"<END.R01><HDR><HDR.control_id V="8"/></HDR><TRM><TRM.reason_cd V="NRM"/></TRM></END.R01>"#,
    );
    assert_eq!(end.unwrap().body, Body::End(Some("NRM".into())));
    let opl = parse(
        r#"<OPL.R01><HDR><HDR.control_id V="9"/></HDR><OPR><OPR.operator_id V="RN-1"/><OPR.name V="A Nurse"/><ACC><ACC.method_cd V="ALL"/></ACC></OPR><OPR><OPR.operator_id V="RN-2"/></OPR></OPL.R01>"#,
    );
    let Body::OperatorList(l) = opl.unwrap().body else {
        panic!("not OPL")
    };
    assert_eq!(l.operators.len(), 2);
    assert_eq!(l.operators[0].access.as_deref(), Some("ALL"));
}

#[test]
fn missing_and_unknown_parts_are_named() {
    assert_eq!(
        parse(r#"<XYZ.R01><HDR><HDR.control_id V="1"/></HDR></XYZ.R01>"#),
        Err(PoctError::UnknownType("XYZ.R01".into()))
    );
    assert_eq!(
        parse("<HEL.R01><DEV/></HEL.R01>"),
        Err(PoctError::Missing { element: "HDR" })
    );
    assert_eq!(
        parse(r#"<HEL.R01><HDR><HDR.control_id V=" "/></HDR></HEL.R01>"#),
        Err(PoctError::Missing {
            element: "HDR.control_id"
        })
    );
    assert_eq!(
        parse(r#"<HEL.R01><HDR><HDR.control_id V="1"/></HDR><DEV/></HEL.R01>"#),
        Err(PoctError::Missing {
            element: "DEV.device_id"
        })
    );
    assert_eq!(
        parse(
            r#"<ACK.R01><HDR><HDR.control_id V="1"/></HDR><ACK><ACK.type_cd V="OK"/></ACK></ACK.R01>"#
        ),
        Err(PoctError::Invalid {
            element: "ACK.type_cd",
            why: "expected AA, AE or AR"
        })
    );
    // The error text never carries the patient id that was in the message.
    let e = parse(r#"<OBS.R01><HDR><HDR.control_id V="1"/></HDR><SVC><PT><PT.patient_id V="MRN0042"/><OBS/></PT></SVC></OBS.R01>"#)
        .unwrap_err();
    assert_eq!(
        e,
        PoctError::Missing {
            element: "OBS.observation_id"
        }
    );
    assert!(!e.to_string().contains("MRN0042"));
}

#[test]
fn encoding_round_trips() {
    for text in [
        HELLO,
        include_str!("../testdata/obs_r01.xml"),
        include_str!("../testdata/obs_r02.xml"),
        r#"<OPL.R01><HDR><HDR.control_id V="9"/></HDR><OPR><OPR.operator_id V="R&amp;1"/><ACC><ACC.method_cd V="ALL"/></ACC></OPR></OPL.R01>"#,
        r#"<END.R01><HDR><HDR.control_id V="8"/></HDR></END.R01>"#,
        r#"<DST.R01><HDR><HDR.control_id V="2"/></HDR><DST/></DST.R01>"#,
    ] {
        let m = parse(text).unwrap();
        let again = parse(&m.encode()).unwrap();
        assert_eq!(again, m, "{}", m.encode());
    }
}

/// The fuzz target's property on every one-byte edit of the samples: whatever parses
/// encodes to something that parses back to the same message.
#[test]
fn mutated_samples_round_trip_or_fail_cleanly() {
    let unbounded = Limits {
        max_bytes: usize::MAX,
        max_elements: usize::MAX,
        max_attributes: usize::MAX,
        max_value: usize::MAX,
        ..Limits::default()
    };
    let mut parsed = 0;
    for sample in [
        HELLO,
        include_str!("../testdata/obs_r01.xml"),
        include_str!("../testdata/obs_r02.xml"),
    ] {
        let bytes = sample.as_bytes();
        for i in 0..bytes.len() {
            for edit in 0..4u8 {
                let mut b = bytes.to_vec();
                match edit {
                    0 => {
                        b.remove(i);
                    }
                    1 => b.insert(i, b'"'),
                    2 => b.insert(i, b'\t'),
                    _ => b[i] = b'&',
                }
                let Ok(m) = Message::parse(&b, &Limits::default()) else {
                    continue;
                };
                parsed += 1;
                let again = Message::parse(m.encode().as_bytes(), &unbounded);
                assert_eq!(again.as_ref(), Ok(&m), "edit {edit} at {i}");
            }
        }
    }
    // Many edits (inside values, whitespace) still parse: the property was exercised.
    assert!(parsed > 1000, "{parsed}");
}
