//! Strings from URLs and forwarded mail: token parsing, token extraction and the recipient
//! allow-list must never panic, and what they accept must be exactly what they promise.
#![no_main]

use libfuzzer_sys::fuzz_target;
use labguard_training::phishing::{tokens_in_text, DomainAllowList, TrackingToken};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = TrackingToken::parse(s) {
        assert_eq!(t.as_str(), s, "only canonical tokens are accepted");
    }
    for t in tokens_in_text(s, "https://lg.lab.example.com") {
        assert_eq!(t.as_str().len(), 43);
    }
    let Ok(allow) = DomainAllowList::new(&["lab.example.com", "*.clinic.example.org"]) else {
        return;
    };
    if let Ok(addr) = allow.check(s) {
        let domain = addr.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        assert!(
            domain == "lab.example.com" || domain.ends_with(".clinic.example.org"),
            "{addr}"
        );
        assert_eq!(addr.matches('@').count(), 1);
        assert!(!addr.chars().any(|c| c.is_control() || c.is_whitespace() || c == '<'));
    }
});
