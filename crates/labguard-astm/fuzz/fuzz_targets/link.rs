//! Arbitrary bytes, in arbitrary chunks and at arbitrary times, through the receiver and
//! the sender. Any panic is a bug; the receiver's memory must stay within its limits,
//! and every message it hands up must fit them.
#![no_main]

use std::time::Duration;

use labguard_astm::{Event, Limits, Receiver, Role, Sender};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let limits = Limits {
        max_message: usize::from(first) * 8 + 1,
        max_frames: usize::from(first % 16) + 1,
        max_frame_text: 240,
    };
    let mut rx = Receiver::new(limits);
    let role = if first & 1 == 1 {
        Role::Host
    } else {
        Role::Instrument
    };
    let mut tx = Sender::new(role);
    let _ = tx.start(vec![b"\x021H|\\^&\r\x03XX\r\n".to_vec(); 3], Duration::ZERO);
    let mut now = Duration::ZERO;
    let mut pos = 0;
    while pos < rest.len() {
        let step = 1 + usize::from(rest[pos] % 13);
        let end = (pos + step).min(rest.len());
        let chunk = &rest[pos..end];
        now += Duration::from_millis(u64::from(rest[pos]) * 97);
        for ev in rx.feed(chunk, now).into_iter().chain(rx.poll(now)) {
            if let Event::Message(m) = ev {
                assert!(m.len() <= limits.max_message);
                // Decide both ways, depending on the data.
                if m.len() % 2 == 0 {
                    rx.accept(now);
                } else {
                    rx.refuse(now);
                }
            }
        }
        let _ = tx.feed(chunk, now);
        let _ = tx.poll(now);
        pos = end;
    }
});
