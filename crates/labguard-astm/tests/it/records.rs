//! E1394 record parsing and encoding.

use labguard_astm::encode::RecordWriter;
use labguard_astm::{parse, Delimiters, ParseError, ParseProblem, RecordType};

const CHEM: &[u8] = include_bytes!("../../testdata/chemistry.astm");

#[test]
fn a_chemistry_transmission_parses() {
    let t = parse(CHEM).unwrap();
    let kinds: String = t.records().iter().map(|r| r.kind.letter()).collect();
    assert_eq!(kinds, "HPORRRRRRL");
    assert!(t.problems.is_empty());
    assert!(t.is_complete());
    let h = t.header();
    assert_eq!(h.sender_name().as_deref(), Some("CHEMAN"));
    assert_eq!(h.sender().component(3).text(), "2.1.0");
    assert_eq!(h.receiver().text(), "LIS");
    assert_eq!(h.processing_id(), "P");
    assert_eq!(h.version(), "1394-97");
    let ts = h.timestamp().unwrap();
    assert_eq!(ts.local.to_string(), "2024-03-12 10:15:00");
    assert_eq!(t.termination_code().as_deref(), Some("N"));
    // H-2 is the delimiter definition, never split.
    assert_eq!(t.records()[0].field(2).raw(), b"\\^&");
    let o = t.records()[2];
    assert_eq!(o.kind, RecordType::Order);
    let tests: Vec<String> = o
        .field(5)
        .repeats()
        .map(|r| r.component(4).text().into_owned())
        .collect();
    assert_eq!(tests, ["GLU", "NA", "K", "CL", "CREA", "BUN"]);
    assert_eq!(o.field(4).component(2).text(), "1");
    let k = t.records()[5];
    assert_eq!(k.sequence(), Some(3));
    assert_eq!(k.field(3).component(5).text(), "Potassium");
    assert_eq!(k.field(4).text(), "5.6");
    assert_eq!(k.field(7).text(), "H");
    assert_eq!(k.field(14).text(), "CHEMAN-01");
    assert_eq!(k.field(40).raw(), b"", "missing fields are empty");
    assert_eq!(k.field_count(), 14);
    let all: Vec<&[u8]> = k.fields().map(|f| f.raw()).collect();
    assert_eq!(all.len(), 14);
    assert_eq!(
        (all[0], all[3], all[13]),
        (&b"R"[..], &b"5.6"[..], &b"CHEMAN-01"[..])
    );
    assert_eq!(
        t.records()[0].fields().nth(1).map(|f| f.repeats().count()),
        Some(1)
    );
}

#[test]
fn delimiters_come_from_the_header() {
    let text = b"H!~@%!!!SENDER@X\rR!1!@@@GLU@Gl%F%u~second!5.0\rL!1!N\r";
    let t = parse(text).unwrap();
    assert_eq!(
        t.delimiters(),
        Delimiters::new(b'!', b'~', b'@', b'%').unwrap()
    );
    assert_eq!(t.header().sender_name().as_deref(), Some("SENDER"));
    let r = t.records()[1];
    assert_eq!(r.field(3).component(4).text(), "GLU");
    assert_eq!(
        r.field(3).component(5).text(),
        "Gl!u",
        "escaped field delimiter"
    );
    assert_eq!(r.field(3).repeats().count(), 2);
    assert_eq!(r.field(4).text(), "5.0");
}

#[test]
fn escapes_are_replaced_in_values() {
    let t = parse(b"H|\\^&\rC|1|I|a&F&b&S&c&R&d&E&e&X0D&\rL|1\r").unwrap();
    let c = t.records()[1];
    // The four LIS2-A2 escapes; other sequences are kept as written.
    assert_eq!(c.field(4).component(1).text(), "a|b^c\\d&e&X0D&");
    assert_eq!(c.field(4).raw(), b"a&F&b&S&c&R&d&E&e&X0D&");
}

#[test]
fn latin1_text_is_decoded_losslessly() {
    let t = parse(b"H|\\^&\rP|1|M1|||M\xfcller^J\xf6rg\rL|1\r").unwrap();
    let p = t.records()[1];
    assert_eq!(p.field(6).component(1).text(), "Müller");
    assert_eq!(p.field(6).component(2).text(), "Jörg");
}

#[test]
fn line_endings_and_blank_lines_are_tolerated() {
    let t = parse(b"H|\\^&\r\nP|1\n\r\n  \rL|1|N\r\n").unwrap();
    let kinds: String = t.records().iter().map(|r| r.kind.letter()).collect();
    assert_eq!(kinds, "HPL");
    assert_eq!(t.records()[2].index, 3);
}

#[test]
fn structural_errors() {
    assert_eq!(parse(b""), Err(ParseError::Empty));
    assert_eq!(parse(b"\r\r"), Err(ParseError::Empty));
    assert_eq!(parse(b"P|1\rL|1\r"), Err(ParseError::MissingHeader));
    assert_eq!(parse(b"H|\\\r"), Err(ParseError::TruncatedHeader));
    assert!(matches!(
        parse(b"H||^&\r"),
        Err(ParseError::InvalidDelimiters { .. })
    ));
    assert!(matches!(
        parse(b"H|a^&\r"),
        Err(ParseError::InvalidDelimiters { .. })
    ));
}

#[test]
fn odd_records_are_kept_with_problems() {
    let t = parse(b"H|\\^&\rZ|1|x\rPX|1\rH|\\^&\rL|1|N\rP|2\r").unwrap();
    assert_eq!(
        t.problems,
        [
            ParseProblem::UnknownRecordType { index: 2 },
            ParseProblem::UnknownRecordType { index: 3 },
            ParseProblem::RepeatedHeader { index: 4 },
            ParseProblem::AfterTerminator { index: 6 },
        ]
    );
    assert_eq!(t.records().len(), 6);
    assert_eq!(t.records()[1].kind, RecordType::Other(b'Z'));
    assert!(!t.is_complete());
    let t = parse(b"H|\\^&\rP|1\r").unwrap();
    assert_eq!(t.problems, [ParseProblem::MissingTerminator]);
    // Problems name positions only.
    assert_eq!(
        ParseProblem::UnknownRecordType { index: 2 }.to_string(),
        "record 2 has an unknown record type"
    );
}

#[test]
fn written_records_parse_back_to_the_same_values() {
    let d = Delimiters::default();
    let mut h = RecordWriter::new('H', d);
    h.skip(2)
        .components(&["LG|SIM", "1.0"])
        .skip(6)
        .field("P")
        .field("LIS2-A2")
        .field("20240102030405");
    let mut r = RecordWriter::new('R', d);
    r.field("1")
        .components(&["", "", "", "GLU", "Glu^cose"])
        .field("9\\5&")
        .repeats(&[&["H"], &["W"]]);
    let text = [h.finish(), r.finish(), RecordWriter::new('L', d).finish()].concat();
    assert_eq!(
        text,
        "H|\\^&|||LG&F&SIM^1.0|||||||P|LIS2-A2|20240102030405\r\
         R|1|^^^GLU^Glu&S&cose|9&R&5&E&|H\\W\rL\r"
    );
    let t = parse(text.as_bytes()).unwrap();
    assert_eq!(t.header().sender_name().as_deref(), Some("LG|SIM"));
    assert_eq!(t.header().version(), "LIS2-A2");
    let rec = t.records()[1];
    assert_eq!(rec.field(3).component(5).text(), "Glu^cose");
    assert_eq!(rec.field(4).text(), "9\\5&");
    let flags: Vec<_> = rec.field(5).repeats().map(|r| r.raw()).collect();
    assert_eq!(flags, [b"H", b"W"]);
}
