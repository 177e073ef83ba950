//! Arbitrary bytes through the POCT1-A reader: the bounded XML parse, the typed message,
//! the encode/parse round trip and the mapping. Any panic is a bug.
#![no_main]

use labguard_poct::{map_observations, xml, AnalyteMap, Body, Limits, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(root) = xml::parse(data, &limits) else {
        return;
    };
    let Ok(msg) = Message::from_element(&root) else {
        return;
    };
    // What we encode must parse back to the same message.
    let encoded = msg.encode();
    // Escaping can lengthen values, so the re-parse is bounded only by depth.
    let unbounded = Limits {
        max_bytes: usize::MAX,
        max_elements: usize::MAX,
        max_attributes: usize::MAX,
        max_value: usize::MAX,
        ..limits
    };
    let again = Message::parse(encoded.as_bytes(), &unbounded).expect("encoded message parses");
    assert_eq!(again, msg);
    if let Body::Observations(o) = &msg.body {
        let mapped = map_observations(o, "FUZZ", &AnalyteMap::glucose_meters());
        for p in &mapped.problems {
            let _ = p.to_string();
        }
    }
});
