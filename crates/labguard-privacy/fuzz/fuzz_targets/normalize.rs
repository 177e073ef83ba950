//! Arbitrary text (names and addresses come from registration forms and HL7 PID segments)
//! through both blind-key normalizers. Any panic is a bug; the output must be tidy (no
//! leading, trailing or doubled spaces) and normalizing it again must not change it, or
//! staff and patient keys computed at different times would stop matching.
#![no_main]

use labguard_privacy::{normalize_address, normalize_name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for f in [normalize_name, normalize_address] {
        let once = f(&text);
        assert!(!once.starts_with(' ') && !once.ends_with(' ') && !once.contains("  "));
        assert_eq!(f(&once), once);
    }
});
