//! Arbitrary bytes through the record parser, every accessor, the mapping, and an
//! encode → parse round trip. Any panic is a bug.
#![no_main]

use labguard_astm::encode::RecordWriter;
use labguard_astm::{parse, MappingOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(t) = parse(data) else { return };
    let h = t.header();
    let _ = (
        h.sender_name(),
        h.processing_id(),
        h.version(),
        h.timestamp(),
    );
    let _ = t.termination_code();
    for r in t.records() {
        for n in 0..=r.field_count() + 1 {
            let f = r.field(n);
            let _ = (f.text(), f.timestamp());
            for rep in f.repeats() {
                for c in rep.components() {
                    let text = c.text();
                    // A value written back and parsed again reads the same.
                    let mut w = RecordWriter::new('C', t.delimiters());
                    w.field("1").field(&text);
                    let head = RecordWriter::new('H', t.delimiters()).finish();
                    let line = [head, w.finish()].concat();
                    if let Ok(again) = parse(line.as_bytes()) {
                        let back = again
                            .records()
                            .get(1)
                            .map(|r| r.field(3).text().into_owned());
                        if !text.contains(['\r', '\n']) && text.trim() == text.as_ref() {
                            assert_eq!(back.as_deref(), Some(text.as_ref()));
                        }
                    }
                }
            }
        }
    }
    let mut n = 0u128;
    let mapped = t.to_records(&MappingOptions::default(), &mut |_| {
        n += 1;
        (n % 5 != 0).then(|| uuid::Uuid::from_u128(n))
    });
    for p in &mapped.problems {
        let _ = p.to_string();
    }
});
