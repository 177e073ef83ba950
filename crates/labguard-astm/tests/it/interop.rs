//! Interoperability with an independent implementation: the PyPI `astm` codec (package
//! `astm-2025` 1.0.0, module `astm`). Skipped, with a message, when python3 cannot
//! import it (`python3 -m pip install astm-2025`).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use labguard_astm::frame::ENQ;
use labguard_astm::{encode, parse, Event, Limits, Receiver};

fn python(script: &str, input: &[u8]) -> Option<Vec<u8>> {
    let probe = Command::new("python3")
        .args(["-c", "import astm.codec"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED: python3 cannot import the `astm` package (pip install astm-2025)");
        return None;
    }
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write");
    let out = child.wait_with_output().expect("python3 runs");
    assert!(out.status.success(), "python script failed");
    Some(out.stdout)
}

/// The frames Python writes, as hex lines (one frame each).
const PY_ENCODE: &str = r#"
import sys
from astm import codec
recs = [
    [b'H', b'\\^&', None, None, [b'PYANALYZER', b'1.0'], None, None, None, None, None, None, b'P', b'1394-97', b'20240102030405'],
    [b'P', b'1', b'MRN1', None, None, [b'Doe', b'Jane'], None, b'19800102', b'F'],
    [b'O', b'1', b'S-1', None, [None, None, None, b'GLU'], b'R'],
    [b'R', b'1', [None, None, None, b'GLU', b'Glucose'], b'95', b'mg/dL', b'70 to 99', b'N', None, b'F', None, None, None, b'20240102021500'],
    [b'C', b'1', b'I', b'x' * 300, b'G'],
    [b'L', b'1', b'N'],
]
mode = sys.stdin.read().strip()
if mode == 'packed':
    frames = codec.encode(recs, size=247)
else:
    frames = list(codec.iter_encode(recs, size=247))
for f in frames:
    print(f.hex())
"#;

fn receive(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut rx = Receiver::new(Limits::default());
    let now = Duration::ZERO;
    assert_eq!(rx.feed(&[ENQ], now).len(), 1);
    let mut text = Vec::new();
    for f in frames {
        for ev in rx.feed(f, now) {
            match ev {
                Event::Message(m) => {
                    text.extend_from_slice(&m);
                    rx.accept(now);
                }
                Event::Send(b) => assert_eq!(b, [0x06], "every frame is acknowledged"),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    text
}

fn hex_lines(out: &[u8]) -> Vec<Vec<u8>> {
    String::from_utf8_lossy(out)
        .lines()
        .map(|l| {
            (0..l.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&l[i..i + 2], 16).expect("hex"))
                .collect()
        })
        .collect()
}

#[test]
fn python_encoded_transmissions_are_received_and_parsed() {
    for mode in ["per-record", "packed"] {
        let Some(out) = python(PY_ENCODE, mode.as_bytes()) else {
            return;
        };
        let frames = hex_lines(&out);
        assert!(
            frames.len() >= 2,
            "{mode}: the 300-char comment needs several frames"
        );
        let text = receive(&frames);
        let t = parse(&text).unwrap();
        assert!(t.problems.is_empty(), "{mode}: {:?}", t.problems);
        let kinds: String = t.records().iter().map(|r| r.kind.letter()).collect();
        assert_eq!(kinds, "HPORCL", "{mode}");
        assert_eq!(t.header().sender_name().as_deref(), Some("PYANALYZER"));
        let r = t.records()[3];
        assert_eq!(r.field(3).component(4).text(), "GLU");
        assert_eq!(r.field(4).text(), "95");
        assert_eq!(r.field(6).text(), "70 to 99");
        assert_eq!(t.records()[4].field(4).raw().len(), 300);
    }
}

/// Python checks every frame's checksum and number, joins the messages and decodes the
/// records; it prints each record's fields as a Python literal.
const PY_DECODE: &str = r#"
import sys
from astm import codec
frames = [bytes.fromhex(l) for l in sys.stdin.read().split()]
expect = 1
message = b''
for f in frames:
    assert f[:1] == b'\x02' and f[-2:] == b'\r\n', 'framing'
    end = f[-5:-4]
    assert end in (b'\x03', b'\x17'), 'terminator'
    assert f[-4:-2] == codec.make_checksum(f[1:-4]), 'checksum'
    assert int(f[1:2]) == expect % 8, 'frame number'
    expect += 1
    message += f[2:-5]
    if end == b'\x03':
        for rec in message.split(b'\r'):
            if rec:
                print(repr(codec.decode_record(rec, 'latin-1')))
        message = b''
"#;

#[test]
fn our_transmissions_are_decoded_by_python() {
    let long = "y".repeat(500);
    let records = [
        "H|\\^&|||LABGUARD^0.1|||||||P|1394-97|20240102030405\r".to_string(),
        "P|1|MRN7|||Roe^Rick\r".to_string(),
        "O|1|S-9||^^^NA|R\r".to_string(),
        "R|1|^^^NA^Sodium|141|mmol/L|136 to 145|N||F\r".to_string(),
        format!("C|1|I|{long}|G\r"),
        "L|1|N\r".to_string(),
    ];
    // Enough messages to wrap the frame numbers past 7.
    let mut all = records.to_vec();
    all.splice(5..5, records[1..4].iter().cloned());
    let frames = encode::transmission(&all);
    assert!(frames.len() > 8);
    let hex: String = frames
        .iter()
        .map(|f| f.iter().map(|b| format!("{b:02x}")).collect::<String>() + "\n")
        .collect();
    let Some(out) = python(PY_DECODE, hex.as_bytes()) else {
        return;
    };
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), all.len());
    assert_eq!(
        lines[3],
        "['R', '1', [None, None, None, 'NA', 'Sodium'], '141', 'mmol/L', '136 to 145', 'N', None, 'F']"
    );
    assert_eq!(lines[1], "['P', '1', 'MRN7', None, None, ['Roe', 'Rick']]");
    assert!(
        lines[4].contains(&long),
        "the 500-char comment survives framing"
    );
    assert_eq!(lines[lines.len() - 1], "['L', '1', 'N']");
}
