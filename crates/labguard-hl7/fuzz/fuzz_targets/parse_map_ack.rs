//! Arbitrary bytes through everything that reads outside input: decode, parse, encode
//! round trip, typed mapping, and ACK building. Any panic is a bug.
#![no_main]

use chrono::{FixedOffset, TimeZone};
use labguard_hl7::{decode, Ack, AckCode, AckError, Delimiters, LabReport, MappingOptions, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Message::parse_bytes(data);
    let Ok(text) = decode(data) else { return };
    let Ok(msg) = Message::parse(&text) else { return };
    check_against_naive_split(&text, &msg);

    // Round trip with the message's own delimiters must be exact.
    let encoded = msg.encode();
    let again = Message::parse(&encoded).expect("encoded message parses");
    assert_eq!(again, msg);
    // Converting delimiters must keep it parseable with the same shape.
    let other = Delimiters::new('#', '@', '!', '$', '%', None).unwrap();
    let converted_text = msg.encode_with(other);
    let converted = Message::parse(&converted_text).expect("converted parses");
    assert_eq!(converted.len(), msg.len());

    let when = FixedOffset::east_opt(0).unwrap().with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let mut ack = Ack::new(AckCode::ApplicationAccept, "FUZZ", when);
    match LabReport::read(&msg) {
        Ok(report) => {
            let mut n = 0u128;
            let mapped = report.value.to_records(&MappingOptions::default(), &mut |_| {
                n += 1;
                uuid::Uuid::from_u128(n)
            });
            for p in report.problems.iter().chain(&mapped.problems) {
                let _ = p.to_string();
                ack.errors.push(AckError::from(p));
            }
        }
        Err(p) => ack.errors.push(AckError::from(&p)),
    }
    if !ack.errors.is_empty() {
        ack.code = AckCode::ApplicationError;
    }
    let out = ack.build(&msg);
    let parsed = Message::parse(&out).expect("ACK parses");
    assert_eq!(parsed.delimiters(), msg.delimiters());
    assert_eq!(parsed.first("MSA").map(|s| s.field(2).raw()), Some(msg.msh().field(10).raw()));
});

/// The fast (SWAR) scanner must agree with the obvious line/field split.
fn check_against_naive_split(text: &str, msg: &Message<'_>) {
    let s = text.strip_prefix('\u{feff}').unwrap_or(text).trim_start();
    let fs = msg.delimiters().field();
    let mut want: Vec<Vec<&str>> = Vec::new();
    for line in s.split(['\r', '\n']) {
        let mut fields: Vec<&str> = line.split(fs).collect();
        if fields.len() == 1 && line.trim().is_empty() {
            continue;
        }
        if want.is_empty() {
            // MSH-1 is the separator itself.
            fields.insert(1, &s[3..4]);
        }
        want.push(fields);
    }
    assert_eq!(want.len(), msg.len());
    for (seg, fields) in msg.segments().zip(&want) {
        let got: Vec<&str> = std::iter::once(seg.name())
            .chain((1..=seg.field_count()).map(|n| seg.field(n).raw()))
            .collect();
        assert_eq!(&got, fields);
    }
}
