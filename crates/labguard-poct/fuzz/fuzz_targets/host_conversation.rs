//! A hostile device: arbitrary bytes, split on NUL into messages, fed to the host with
//! commits of whatever it delivers and polls in between. Any panic is a bug, and every
//! message the host sends must parse.
#![no_main]

use chrono::{Duration, TimeZone, Utc};
use labguard_poct::{HostConfig, HostConversation, Limits, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut host = HostConversation::new(HostConfig::default(), t0);
    let check = |out: &labguard_poct::Output| {
        for s in &out.send {
            Message::parse(s.as_bytes(), &Limits::default()).expect("host output parses");
        }
    };
    for (i, chunk) in data.split(|b| *b == 0).enumerate() {
        let now = t0 + Duration::seconds(i as i64);
        check(&host.receive(chunk, now));
        for id in host.pending().to_vec() {
            let out = if id.len() % 2 == 0 {
                host.committed(&id, now)
            } else {
                host.failed(&id, now)
            };
            check(&out.expect("pending id commits"));
        }
        check(&host.poll(now + Duration::seconds(30)));
    }
});
