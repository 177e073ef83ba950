//! The octet-counting deframer and the SD-PARAM unescaper never panic, and what the
//! deframer accepts re-frames to the same bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut d = labguard_siem::Deframer::new(4096);
    d.push(data);
    let mut out = Vec::new();
    while let Ok(Some(msg)) = d.next_frame() {
        out.extend_from_slice(&labguard_siem::frame(&msg));
    }
    assert!(data.starts_with(&out));
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(v) = labguard_siem::unescape_param_value(s) {
            assert_eq!(labguard_siem::escape_param_value(&v), s);
        }
    }
});
