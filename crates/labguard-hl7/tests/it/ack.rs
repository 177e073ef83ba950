//! Acknowledgment content, exactly.

use chrono::{DateTime, FixedOffset, TimeZone};
use labguard_hl7::{
    Ack, AckCode, AckError, ErrorCode, LabReport, Location, MappingOptions, Message, Severity,
};

fn now() -> DateTime<FixedOffset> {
    FixedOffset::east_opt(3600)
        .unwrap()
        .with_ymd_and_hms(2024, 5, 6, 7, 8, 9)
        .unwrap()
}

const ORU: &str = "MSH|^~\\&|ANALYZER^1.2.3^ISO|LAB|LG|CLINIC|20240506070000+0100||ORU^R01^ORU_R01|CTRL-1|P|2.5.1|||AL|NE||UNICODE UTF-8\r\
PID|1||MRN1^^^LAB^MR||Doe^Jane||19800102|F\r\
OBR|1|PL1|FI1|24317-0^CBC^LN|||20240506060000+0100|||||||||^Smith^Ann\r\
OBX|1|NM|718-7^Hemoglobin^LN||13.2|g/dL|12.0-16.0|N|||F|||20240506065000+0100||||ANALYZER-7\r\
OBX|2|NM|9999-1^Unknown^LN||1|x||N|||F\r";

#[test]
fn original_mode_accept() {
    let msg = Message::parse(ORU).unwrap();
    let ack = Ack::new(AckCode::ApplicationAccept, "ACK-9", now()).build(&msg);
    assert_eq!(
        ack,
        "MSH|^~\\&|LG|CLINIC|ANALYZER^1.2.3^ISO|LAB|20240506070809+0100||ACK^R01^ACK|ACK-9|P|2.5.1||||||UNICODE UTF-8\r\
         MSA|AA|CTRL-1\r"
    );
    let parsed = Message::parse(&ack).unwrap();
    assert_eq!(parsed.first("MSA").unwrap().field(2).text(), "CTRL-1");
}

#[test]
fn application_error_from_mapping_problems() {
    let msg = Message::parse(ORU).unwrap();
    let report = LabReport::read(&msg).unwrap();
    let mapped = report
        .value
        .to_records(&MappingOptions::default(), &mut |_| uuid::Uuid::nil());
    assert_eq!(mapped.value.results.len(), 1);
    assert_eq!(
        mapped.value.results[0].performing_device.as_deref(),
        Some("ANALYZER-7")
    );
    assert_eq!(mapped.problems.len(), 1, "{:?}", mapped.problems);
    let mut ack = Ack::new(AckCode::ApplicationError, "ACK-10", now());
    ack.errors = mapped.problems.iter().map(AckError::from).collect();
    let text = ack.build(&msg);
    let lines: Vec<_> = text.split('\r').collect();
    assert_eq!(lines[1], "MSA|AE|CTRL-1");
    assert_eq!(
        lines[2],
        "ERR||OBX^2^3^1|102^Data type error^HL70357|E|||OBX-3 (segment 5): LOINC code is malformed or its check digit does not match; Result left out"
    );
    assert_eq!(lines.len(), 4); // trailing CR
                                // No patient data in the ERR segment.
    assert!(!text.contains("Doe") && !text.contains("MRN1") && !text.contains("9999"));
}

#[test]
fn reject_in_v23_uses_err1() {
    let msg = Message::parse("MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X9|T|2.3\rPID|1\r").unwrap();
    let mut ack = Ack::new(AckCode::ApplicationReject, "R1", now());
    ack.text = Some("not a lab message");
    ack.errors.push(AckError {
        code: ErrorCode::UnsupportedMessageType,
        severity: Severity::Error,
        location: Some(Location {
            segment: "MSH".into(),
            occurrence: 1,
            index: 1,
            field: Some(9),
            component: None,
        }),
        diagnostic: None,
    });
    ack.errors.push(AckError {
        code: ErrorCode::ApplicationInternalError,
        severity: Severity::Error,
        location: None,
        diagnostic: None,
    });
    assert_eq!(
        ack.build(&msg),
        "MSH|^~\\&|C|D|A|B|20240506070809+0100||ACK^A01|R1|T|2.3\r\
         MSA|AR|X9|not a lab message\r\
         ERR|MSH^1^9^200&Unsupported message type&HL70357~^^^207&Application internal error&HL70357\r"
    );
}

#[test]
fn enhanced_mode_commit_keeps_custom_delimiters() {
    let msg =
        Message::parse("MSH#@!$%&#LAB@X#FAC#LG#CL#20240101##OUL@R22@OUL_R22#C$F$1#P#2.7###AL#NE\r")
            .unwrap();
    assert_eq!(msg.delimiters().truncation(), Some('&'));
    let ack = Ack::new(AckCode::CommitAccept, "A#1", now()).build(&msg);
    assert_eq!(
        ack,
        "MSH#@!$%&#LG#CL#LAB@X#FAC#20240506070809+0100##ACK@R22@ACK#A$F$1#P#2.7\rMSA#CA#C$F$1\r"
    );
    let back = Message::parse(&ack).unwrap();
    assert_eq!(back.msh().field(10).text(), "A#1");
    assert_eq!(back.first("MSA").unwrap().field(2).text(), "C#1");
}

#[test]
fn commit_error_with_warning_and_no_location() {
    let msg = Message::parse(ORU).unwrap();
    let ack = Ack::new(AckCode::CommitError, "C2", now())
        .with_error(AckError {
            code: ErrorCode::RecordLocked,
            severity: Severity::Warning,
            location: None,
            diagnostic: Some("retry | later".into()),
        })
        .build(&msg);
    assert!(
        ack.ends_with(
            "MSA|CE|CTRL-1\rERR|||206^Application record locked^HL70357|W|||retry \\F\\ later\r"
        ),
        "{ack}"
    );
    assert!(AckCode::CommitError.is_error() && !AckCode::CommitAccept.is_error());
}

#[test]
fn ack_for_unparseable_input() {
    let ack = Ack::new(AckCode::ApplicationReject, "R7", now())
        .with_error(AckError {
            code: ErrorCode::SegmentSequence,
            severity: Severity::Error,
            location: None,
            diagnostic: Some("message does not start with an MSH segment".into()),
        })
        .build_without_message("2.5.1");
    assert_eq!(
        ack,
        "MSH|^~\\&|||||20240506070809+0100||ACK^^ACK|R7|P|2.5.1\rMSA|AR|\rERR|||100^Segment sequence error^HL70357|E|||message does not start with an MSH segment\r"
    );
    assert!(Message::parse(&ack).is_ok());
}
