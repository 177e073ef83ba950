//! Structural parsing, escapes, delimiters, malformed input and the encoder.

use std::borrow::Cow;

use labguard_hl7::{
    decode, escape, unescape, Delimiters, Message, MessageWriter, ParseError, ParseProblem,
};

const D: Delimiters = Delimiters::STANDARD;

#[test]
fn every_escape_sequence() {
    let cases = [
        (r"a\F\b", "a|b"),
        (r"a\S\b", "a^b"),
        (r"a\T\b", "a&b"),
        (r"a\R\b", "a~b"),
        (r"a\E\b", r"a\b"),
        (r"\X41\", "A"),
        (r"\X0D0A\", "\r\n"),
        (r"\XC3A9\", "é"),              // valid UTF-8 bytes
        (r"\XE9\", "é"),                // not UTF-8: read as ISO-8859-1, byte kept
        (r"\xe9\", r"\xe9\"),           // lower-case x is not the hex escape
        (r"\X4\", r"\X4\"),             // odd digit count: kept as is
        (r"\XZZ\", r"\XZZ\"),           // not hex: kept as is
        (r"\H\bold\N\", r"\H\bold\N\"), // formatting: passed through
        (r"a\.br\b", r"a\.br\b"),
        (
            r"\.sp2\\.in+4\\.ti-2\\.sk3\\.ce\\.fi\\.nf\",
            r"\.sp2\\.in+4\\.ti-2\\.sk3\\.ce\\.fi\\.nf\",
        ),
        (r"\Zlocal\", r"\Zlocal\"),
        (r"\C2842\\M2442\", r"\C2842\\M2442\"),
        (r"\P\", r"\P\"),         // no truncation character declared
        (r"open \F", r"open \F"), // unterminated
        (r"\\", r"\\"),
        ("", ""),
    ];
    for (raw, want) in cases {
        assert_eq!(unescape(raw, &D), want, "{raw}");
    }
    let trunc = Delimiters::new('|', '^', '~', '\\', '&', Some('#')).unwrap();
    assert_eq!(unescape(r"1\P\2", &trunc), "1#2");
    assert!(matches!(
        unescape("no escapes", &D),
        Cow::Borrowed("no escapes")
    ));
}

#[test]
fn escaping_for_output() {
    assert_eq!(escape(r"a|b^c~d\e&f", &D), r"a\F\b\S\c\R\d\E\e\T\f");
    assert_eq!(escape("x\ry\nz\u{b}\u{1c}", &D), r"x\X0D\y\X0A\z\X0B\\X1C\");
    assert!(matches!(escape("plain", &D), Cow::Borrowed("plain")));
    let trunc = Delimiters::new('|', '^', '~', '\\', '&', Some('#')).unwrap();
    assert_eq!(escape("#1", &trunc), r"\P\1");
    assert_eq!(escape("#1", &D), "#1");
}

const SAMPLE: &str = "MSH|^~\\&|LIS|LAB|LG|CLINIC|20240102030405||ORU^R01|M1|P|2.5\r\
PID|1||A1^^^X^MR~B2^^^Y^PI||Doe&Van^Jane^Q~Alias^Al||19800102|F\r\
OBX|1|ST|1-8^Note^LN||caf\\E\\ \\T\\ co\\XC3A9\\|||||F\r\
ZXY|custom|data^with^parts\r";

#[test]
fn fields_components_repetitions_subcomponents() {
    let m = Message::parse(SAMPLE).unwrap();
    assert_eq!(m.len(), 4);
    let msh = m.msh();
    // MSH-1 is the separator itself and MSH-2 is not split.
    assert_eq!(msh.field(1).raw(), "|");
    assert_eq!(msh.field(2).raw(), "^~\\&");
    assert_eq!(msh.field(2).text(), "^~\\&");
    assert_eq!(msh.field(2).repetitions().count(), 1);
    assert_eq!(msh.field(3).text(), "LIS");
    assert_eq!(msh.text(9, 2), "R01");
    assert_eq!(msh.field(10).text(), "M1");
    assert_eq!(msh.field_count(), 12);
    assert!(msh.field(13).is_empty());

    let pid = m.first("PID").unwrap();
    assert_eq!(pid.index(), 2);
    let ids: Vec<_> = pid
        .field(3)
        .repetitions()
        .map(|r| r.text().into_owned())
        .collect();
    assert_eq!(ids, ["A1", "B2"]);
    assert_eq!(pid.field(3).rep(2).component(5).text(), "PI");
    assert_eq!(pid.field(3).rep(3).raw(), "");
    let name = pid.field(5).rep(1);
    assert_eq!(name.component(1).raw(), "Doe&Van");
    assert_eq!(name.component(1).sub(1), "Doe");
    assert_eq!(name.component(1).sub(2), "Van");
    assert_eq!(name.component(1).sub(3), "");
    assert_eq!(name.component(3).text(), "Q");
    assert_eq!(pid.field(5).rep(2).component(2).text(), "Al");
    assert_eq!(pid.field(5).rep(0).raw(), "");
    assert_eq!(pid.field(0).raw(), "");

    let obx = m.first("OBX").unwrap();
    assert_eq!(obx.field(5).text(), "caf\\ & coé");
    assert_eq!(obx.field(5).raw(), "caf\\E\\ \\T\\ co\\XC3A9\\");

    let z = m.segments_named("ZXY").next().unwrap();
    assert_eq!(z.name(), "ZXY");
    assert_eq!(z.field(2).component(3).text(), "parts");
}

#[test]
fn custom_delimiters() {
    let text = "MSH#@!$%#LIS#LAB#####ORU@R01#M2#P#2.5\rPID#1##A1@@@X@MR!B2##Doe%Van@Jane###a$F$b$S$c^d|e\r";
    let m = Message::parse(text).unwrap();
    let d = m.delimiters();
    assert_eq!(
        (
            d.field(),
            d.component(),
            d.repetition(),
            d.escape(),
            d.subcomponent()
        ),
        ('#', '@', '!', '$', '%')
    );
    assert_eq!(m.msh().text(9, 2), "R01");
    let pid = m.first("PID").unwrap();
    assert_eq!(pid.field(3).rep(2).text(), "B2");
    assert_eq!(pid.field(5).component(1).sub(2), "Van");
    // `^` and `|` are plain text here; $F$ and $S$ are this message's # and @.
    assert_eq!(pid.field(8).text(), "a#b@c^d|e");
    // Re-encoding with |^~\& escapes what is now a delimiter.
    let std = m.encode_with(Delimiters::STANDARD);
    assert!(
        std.ends_with("PID|1||A1^^^X^MR~B2||Doe&Van^Jane|||a#b@c\\S\\d\\F\\e\r"),
        "{std}"
    );
    let again = Message::parse(&std).unwrap();
    assert_eq!(again.first("PID").unwrap().field(8).text(), "a#b@c^d|e");
}

#[test]
fn truncation_character_v27() {
    let m = Message::parse("MSH|^~\\&#|A|B||||||ADT^A01|1|P|2.7\rNTE|1||50\\P\\ off#\r").unwrap();
    assert_eq!(m.delimiters().truncation(), Some('#'));
    assert_eq!(m.msh().field(2).raw(), "^~\\&#");
    assert_eq!(m.first("NTE").unwrap().field(3).text(), "50# off#");
    assert_eq!(Message::parse(&m.encode()).unwrap(), m);
}

#[test]
fn segment_terminators_and_bom() {
    let base = Message::parse("MSH|^~\\&|A\rPID|1\rOBX|1\r").unwrap();
    for text in [
        "MSH|^~\\&|A\nPID|1\nOBX|1",
        "MSH|^~\\&|A\r\nPID|1\r\nOBX|1\r\n",
        "\u{feff}MSH|^~\\&|A\rPID|1\n\nOBX|1\r\r",
        "\r\n  MSH|^~\\&|A\rPID|1\rOBX|1\r   \n",
    ] {
        let m = Message::parse(text).unwrap();
        assert_eq!(m, base, "{text:?}");
        assert!(m.problems().is_empty());
    }
    assert_eq!(
        base.segments().map(|s| s.name()).collect::<Vec<_>>(),
        ["MSH", "PID", "OBX"]
    );
}

#[test]
fn malformed_input_is_an_error_not_a_panic() {
    use ParseError::*;
    let cases: [(&str, ParseError); 10] = [
        ("", Empty),
        ("\r\n \r", Empty),
        ("\u{feff}", Empty),
        ("PID|1||123\r", MissingMsh),
        ("MSA|AA|1\rMSH|^~\\&\r", MissingMsh),
        ("MSH", TruncatedMsh),
        ("MSH\rPID|1", TruncatedMsh),
        ("MSH||", TruncatedMsh),
        (
            "MSH|^~\r",
            InvalidDelimiters {
                why: "MSH-2 must hold 4 or 5 encoding characters",
            },
        ),
        (
            "MSHX^~\\&",
            InvalidDelimiters {
                why: "delimiters must be ASCII punctuation",
            },
        ),
    ];
    for (text, err) in cases {
        assert_eq!(Message::parse(text), Err(err), "{text:?}");
    }
    assert!(matches!(
        Message::parse("MSHé^~\\&|"),
        Err(InvalidDelimiters { .. })
    ));
    assert!(matches!(
        Message::parse("MSH|^^\\&|"),
        Err(InvalidDelimiters { .. })
    ));
    // Messages name positions only.
    assert_eq!(
        MissingMsh.to_string(),
        "message does not start with an MSH segment"
    );
}

#[test]
fn odd_segments_are_kept_with_problems() {
    let m = Message::parse("MSH|^~\\&|A\rpid|1\rTOOLONG|x\r@@@\rMSH|^~\\&|B\rZZ1|z\r").unwrap();
    assert_eq!(m.len(), 6);
    assert_eq!(
        m.problems(),
        [
            ParseProblem::InvalidSegmentName { index: 2 },
            ParseProblem::InvalidSegmentName { index: 3 },
            ParseProblem::InvalidSegmentName { index: 4 },
            ParseProblem::RepeatedMsh { index: 5 },
        ]
    );
    assert_eq!(m.segment(6).unwrap().field(1).text(), "z");
    assert!(m.segment(7).is_none() && m.segment(0).is_none());
}

#[test]
fn garbage_and_invalid_utf8() {
    // Invalid UTF-8 is refused with its offset by parse_bytes...
    let bytes = b"MSH|^~\\&|A\rPID|1||\xff\xfe\r";
    assert_eq!(
        Message::parse_bytes(bytes),
        Err(ParseError::InvalidUtf8 { offset: 18 })
    );
    // ...and read losslessly as ISO-8859-1 by decode when no Unicode charset is declared.
    let text = decode(bytes).unwrap();
    assert!(matches!(text, Cow::Owned(_)));
    let m = Message::parse(&text).unwrap();
    assert_eq!(m.first("PID").unwrap().field(3).text(), "\u{ff}\u{fe}");
    assert_eq!(
        labguard_hl7::encode_latin1(&m.encode()).unwrap(),
        b"MSH|^~\\&|A\rPID|1||\xff\xfe\r"
    );
    // Random bytes never panic.
    let mut x = 0x1234_5678_u32;
    for _ in 0..2000 {
        let mut buf = b"MSH|^~\\&|".to_vec();
        for _ in 0..64 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let alphabet = b"|^~\\&\r\nAZ09#\xc3\xa9 ";
            buf.push(alphabet[x as usize % alphabet.len()]);
        }
        if let Ok(t) = decode(&buf) {
            if let Ok(m) = Message::parse(&t) {
                let _ = m.encode();
                for s in m.segments() {
                    for (_, f) in s.fields() {
                        for r in f.repetitions() {
                            for c in r.components() {
                                let _ = c.sub(2);
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn writer_escapes_and_round_trips() {
    let mut w = MessageWriter::new(D);
    w.msh()
        .field("APP")
        .field("FAC")
        .skip_to(9)
        .components(&["ORU", "R01", ""])
        .field("X|1");
    w.segment("NTE")
        .field("1")
        .skip_to(3)
        .field("line1\nline2 ^ & ~ \\");
    let out = w.finish();
    assert_eq!(
        out,
        "MSH|^~\\&|APP|FAC|||||ORU^R01|X\\F\\1\rNTE|1||line1\\X0A\\line2 \\S\\ \\T\\ \\R\\ \\E\\\r"
    );
    let m = Message::parse(&out).unwrap();
    assert_eq!(m.msh().field(10).text(), "X|1");
    assert_eq!(
        m.first("NTE").unwrap().field(3).text(),
        "line1\nline2 ^ & ~ \\"
    );
    assert_eq!(m.encode(), out);
}
