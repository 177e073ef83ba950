//! The E1381 state machines against hand-built wire traffic and each other.

use std::time::Duration;

use labguard_astm::frame::{checksum, frame, ACK, ENQ, EOT, ETB, ETX, NAK, STX};
use labguard_astm::{encode, Abort, Event, Limits, Receiver, Role, Sender, MAX_ATTEMPTS};

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn send(b: &[u8]) -> Event {
    Event::Send(b.to_vec())
}

/// A receiver that has answered ENQ at t=0.
fn established() -> Receiver {
    let mut rx = Receiver::new(Limits::default());
    assert_eq!(rx.feed(&[ENQ], secs(0.0)), [send(&[ACK])]);
    rx
}

#[test]
fn checksums_computed_by_hand() {
    // '1'+'L'+'|'+'1'+'|'+'N'+CR+ETX = 0x31+0x4C+0x7C+0x31+0x7C+0x4E+0x0D+0x03 = 0x204.
    assert_eq!(frame(1, b"L|1|N\r", true), b"\x021L|1|N\r\x0304\r\n");
    // '2'+'P'+'|'+'1'+CR+ETX = 0x32+0x50+0x7C+0x31+0x0D+0x03 = 0x13F.
    assert_eq!(frame(2, b"P|1\r", true), b"\x022P|1\r\x033F\r\n");
    // '1'+'a'+'b'+'c'+ETB = 0x31+0x61+0x62+0x63+0x17 = 0x16E: an intermediate frame.
    assert_eq!(frame(1, b"abc", false), b"\x021abc\x176E\r\n");
    // '0' + ETX = 0x30 + 0x03: a single hex digit is zero-padded.
    assert_eq!(checksum(b"0\x03"), *b"33");
    assert_eq!(checksum(&[0x0A]), *b"0A");
}

#[test]
fn the_last_frame_is_acknowledged_only_after_accept() {
    let mut rx = established();
    let evs = rx.feed(&frame(1, b"H|\\^&\r", true), secs(1.0));
    assert_eq!(evs, [Event::Message(b"H|\\^&\r".to_vec())]);
    assert!(rx.is_deciding());
    // Nothing more is sent until the caller decides.
    assert_eq!(rx.poll(secs(100.0)), []);
    assert_eq!(rx.accept(secs(100.0)), [send(&[ACK])]);
    assert_eq!(rx.accept(secs(100.0)), [], "accepting twice sends nothing");
    assert_eq!(rx.feed(&[EOT], secs(101.0)), [Event::EndOfTransmission]);
    assert!(rx.is_neutral());
}

#[test]
fn a_neutral_receiver_ignores_everything_but_enq() {
    let mut rx = Receiver::new(Limits::default());
    assert_eq!(rx.feed(&frame(1, b"P|1\r", true), secs(0.0)), []);
    assert_eq!(rx.feed(&[EOT, ACK, NAK], secs(0.0)), []);
    assert!(rx.is_neutral());
}

#[test]
fn bad_checksum_is_naked_and_the_retransmission_accepted() {
    let mut rx = established();
    let mut bad = frame(1, b"P|1\r", true);
    let n = bad.len();
    bad[n - 3] = b'0'; // second checksum digit (was F)
    assert_eq!(rx.feed(&bad, secs(1.0)), [send(&[NAK])]);
    let good = frame(1, b"P|1\r", true);
    assert_eq!(
        rx.feed(&good, secs(2.0)),
        [Event::Message(b"P|1\r".to_vec())]
    );
    // Lower-case checksum digits are tolerated.
    rx.accept(secs(2.0));
    // '2'+'L'+'|'+'1'+'|'+'F'+CR+ETX = 0x1FD.
    let f = b"\x022L|1|F\r\x03fd\r\n";
    assert_eq!(rx.feed(f, secs(3.0)), [Event::Message(b"L|1|F\r".to_vec())]);
}

#[test]
fn wrong_frame_numbers_are_naked_and_repeats_reacknowledged() {
    let mut rx = established();
    assert_eq!(
        rx.feed(&frame(2, b"P|1\r", true), secs(1.0)),
        [send(&[NAK])]
    );
    assert_eq!(
        rx.feed(&frame(0, b"P|1\r", true), secs(1.0)),
        [send(&[NAK])]
    );
    assert_eq!(
        rx.feed(&frame(1, b"P|1\r", true), secs(1.0)),
        [Event::Message(b"P|1\r".to_vec())]
    );
    rx.accept(secs(1.0));
    // Our ACK was lost and the sender repeats frame 1: ACK again, no second message.
    assert_eq!(
        rx.feed(&frame(1, b"P|1\r", true), secs(2.0)),
        [send(&[ACK])]
    );
    // A frame with a non-digit number, or no text at all, is refused.
    assert_eq!(rx.feed(b"\x02x\x03", secs(2.0)), []);
    assert_eq!(rx.feed(b"7B\r\n", secs(2.0)), [send(&[NAK])]);
}

#[test]
fn frame_numbers_wrap_from_seven_to_zero() {
    let records: Vec<String> = (1..=9).map(|i| format!("C|{i}|I|note\r")).collect();
    let frames = encode::transmission(&records);
    let numbers: Vec<u8> = frames.iter().map(|f| f[1]).collect();
    assert_eq!(numbers, b"123456701");
    let mut rx = established();
    let mut got = Vec::new();
    for f in &frames {
        for ev in rx.feed(f, secs(1.0)) {
            if let Event::Message(m) = ev {
                got.push(String::from_utf8(m).unwrap());
                assert_eq!(rx.accept(secs(1.0)), [send(&[ACK])]);
            }
        }
    }
    assert_eq!(got, records);
}

#[test]
fn a_600_character_record_travels_in_three_frames() {
    let record = format!("C|1|I|{}\r", "x".repeat(593));
    assert_eq!(record.len(), 600);
    let frames = encode::transmission(&[&record]);
    assert_eq!(frames.len(), 3);
    let lens: Vec<usize> = frames.iter().map(|f| f.len() - 7).collect();
    assert_eq!(lens, [240, 240, 120]);
    let ends: Vec<u8> = frames.iter().map(|f| f[f.len() - 5]).collect();
    assert_eq!(ends, [ETB, ETB, ETX]);
    let mut rx = established();
    // Intermediate frames are acknowledged at once; the last one waits.
    assert_eq!(rx.feed(&frames[0], secs(1.0)), [send(&[ACK])]);
    assert_eq!(rx.feed(&frames[1], secs(1.0)), [send(&[ACK])]);
    let evs = rx.feed(&frames[2], secs(1.0));
    assert_eq!(evs, [Event::Message(record.clone().into_bytes())]);
    // Refused: NAK; the sender repeats the last frame and the whole record comes again.
    assert_eq!(rx.refuse(secs(2.0)), [send(&[NAK])]);
    let evs = rx.feed(&frames[2], secs(3.0));
    assert_eq!(evs, [Event::Message(record.into_bytes())]);
}

#[test]
fn oversize_messages_are_refused_with_bounded_memory() {
    let limits = Limits {
        max_message: 300,
        ..Limits::default()
    };
    let record = format!("C|1|I|{}\r", "x".repeat(593));
    let frames = encode::transmission(&[&record]);
    let mut rx = Receiver::new(limits);
    rx.feed(&[ENQ], secs(0.0));
    assert_eq!(rx.feed(&frames[0], secs(1.0)), [send(&[ACK])]);
    let evs = rx.feed(&frames[1], secs(1.0));
    assert_eq!(
        evs,
        [
            Event::Aborted(Abort::MessageTooLarge { limit: 300 }),
            send(&[NAK])
        ]
    );
    // Everything after is refused until the sender gives up.
    assert_eq!(rx.feed(&frames[1], secs(2.0)), [send(&[NAK])]);
    assert_eq!(rx.feed(&frames[2], secs(2.0)), [send(&[NAK])]);
    assert_eq!(rx.feed(&[EOT], secs(3.0)), [Event::EndOfTransmission]);

    let limits = Limits {
        max_frames: 2,
        ..Limits::default()
    };
    let mut rx = Receiver::new(limits);
    rx.feed(&[ENQ], secs(0.0));
    rx.feed(&frames[0], secs(1.0));
    rx.feed(&frames[1], secs(1.0));
    let evs = rx.feed(&frames[2], secs(1.0));
    assert_eq!(evs[0], Event::Aborted(Abort::TooManyFrames { limit: 2 }));
}

#[test]
fn a_frame_longer_than_the_limit_is_naked() {
    let mut rx = established();
    let text = vec![b'x'; 300];
    assert_eq!(rx.feed(&frame(1, &text, true), secs(1.0)), [send(&[NAK])]);
    let lenient = Limits {
        max_frame_text: 300,
        ..Limits::default()
    };
    let mut rx = Receiver::new(lenient);
    rx.feed(&[ENQ], secs(0.0));
    assert_eq!(
        rx.feed(&frame(1, &text, true), secs(1.0)),
        [Event::Message(text)]
    );
}

#[test]
fn receiver_idle_for_30_seconds_returns_to_neutral() {
    let mut rx = established();
    assert_eq!(rx.deadline(), Some(secs(30.0)));
    assert_eq!(rx.poll(secs(29.9)), []);
    assert_eq!(
        rx.poll(secs(30.0)),
        [Event::Aborted(Abort::ReceiverIdle(secs(30.0)))]
    );
    assert!(rx.is_neutral());
    // Each reply restarts the timer.
    let mut rx = established();
    rx.feed(&frame(1, b"P|1\r", true), secs(20.0));
    rx.accept(secs(25.0));
    assert_eq!(rx.poll(secs(54.9)), []);
    assert_eq!(rx.poll(secs(55.0)).len(), 1);
}

#[test]
fn a_frame_left_unfinished_for_15_seconds_aborts() {
    let mut rx = established();
    rx.feed(&[STX, b'1', b'P', b'|'], secs(1.0));
    assert_eq!(rx.deadline(), Some(secs(16.0)));
    assert_eq!(rx.poll(secs(15.9)), []);
    assert_eq!(
        rx.poll(secs(16.0)),
        [Event::Aborted(Abort::FrameIncomplete(secs(15.0)))]
    );
    assert!(rx.is_neutral());
}

#[test]
fn eot_while_deciding_is_reported() {
    let mut rx = established();
    rx.feed(&frame(1, b"L|1|N\r", true), secs(1.0));
    assert_eq!(
        rx.feed(&[EOT], secs(16.0)),
        [Event::Aborted(Abort::EotBeforeDecision)]
    );
    assert_eq!(rx.accept(secs(17.0)), []);
}

fn frames3() -> Vec<Vec<u8>> {
    encode::transmission(&["H|\\^&\r", "P|1\r", "L|1|N\r"])
}

#[test]
fn sender_establishes_sends_and_terminates() {
    let frames = frames3();
    let mut tx = Sender::new(Role::Host);
    assert_eq!(tx.start(frames.clone(), secs(0.0)), [send(&[ENQ])]);
    assert_eq!(tx.start(frames.clone(), secs(0.0)), [], "busy");
    assert_eq!(tx.feed(&[ACK], secs(1.0)), [Event::Send(frames[0].clone())]);
    assert_eq!(tx.feed(&[ACK], secs(2.0)), [Event::Send(frames[1].clone())]);
    // EOT in reply is a receiver interrupt: the frame counts as accepted.
    assert_eq!(tx.feed(&[EOT], secs(3.0)), [Event::Send(frames[2].clone())]);
    assert_eq!(tx.feed(&[ACK], secs(4.0)), [send(&[EOT]), Event::Delivered]);
    assert!(tx.is_idle());
}

#[test]
fn sender_retransmits_after_nak_and_aborts_after_six_refusals() {
    let frames = frames3();
    let mut tx = Sender::new(Role::Instrument);
    tx.start(frames.clone(), secs(0.0));
    tx.feed(&[ACK], secs(0.0));
    // Five refusals: the frame is sent a sixth time, and accepted.
    for i in 0..5 {
        assert_eq!(
            tx.feed(&[NAK], secs(1.0)),
            [Event::Send(frames[0].clone())],
            "{i}"
        );
    }
    assert_eq!(tx.feed(&[ACK], secs(2.0)), [Event::Send(frames[1].clone())]);
    // Any character but ACK/EOT counts as a refusal; the sixth one ends the transfer.
    for _ in 0..5 {
        tx.feed(b"?", secs(3.0));
    }
    assert_eq!(
        tx.feed(&[NAK], secs(3.0)),
        [
            send(&[EOT]),
            Event::Aborted(Abort::TooManyRetries(MAX_ATTEMPTS))
        ]
    );
    assert!(tx.is_idle());
}

#[test]
fn sender_gives_up_after_15_seconds_without_reply() {
    let mut tx = Sender::new(Role::Host);
    tx.start(frames3(), secs(0.0));
    assert_eq!(tx.poll(secs(14.9)), []);
    assert_eq!(
        tx.poll(secs(15.0)),
        [send(&[EOT]), Event::Aborted(Abort::NoReply(secs(15.0)))]
    );
    let mut tx = Sender::new(Role::Host);
    tx.start(frames3(), secs(0.0));
    tx.feed(&[ACK], secs(10.0));
    assert_eq!(tx.poll(secs(24.9)), [], "the frame's own 15 s");
    assert_eq!(tx.poll(secs(25.0)).len(), 2);
}

#[test]
fn contention_the_host_yields_for_20_seconds_the_instrument_retries_after_1() {
    let mut host = Sender::new(Role::Host);
    host.start(frames3(), secs(0.0));
    assert_eq!(
        host.feed(&[ENQ], secs(0.5)),
        [Event::Contention {
            retry_at: secs(20.5)
        }]
    );
    // While yielding it ignores the line (the caller feeds the peer to a Receiver).
    assert_eq!(host.feed(&[ACK], secs(1.0)), []);
    assert_eq!(host.poll(secs(20.4)), []);
    assert_eq!(host.poll(secs(20.5)), [send(&[ENQ])]);

    let mut instrument = Sender::new(Role::Instrument);
    instrument.start(frames3(), secs(0.0));
    assert_eq!(instrument.feed(&[ENQ], secs(0.5)), []);
    assert_eq!(instrument.poll(secs(1.4)), []);
    assert_eq!(instrument.poll(secs(1.5)), [send(&[ENQ])]);
}

#[test]
fn a_busy_receiver_is_asked_again_after_10_seconds() {
    let mut tx = Sender::new(Role::Host);
    tx.start(frames3(), secs(0.0));
    assert_eq!(tx.feed(&[NAK], secs(1.0)), []);
    assert_eq!(tx.poll(secs(10.9)), []);
    assert_eq!(tx.poll(secs(11.0)), [send(&[ENQ])]);
    for _ in 0..4 {
        tx.feed(&[NAK], secs(11.0));
        tx.poll(secs(100.0));
    }
    assert_eq!(
        tx.feed(&[NAK], secs(100.0)),
        [Event::Aborted(Abort::LineRefused(6))]
    );
}

/// Runs a sender against a receiver, passing bytes both ways; `corrupt` flips a byte of
/// the n-th frame the first time it is sent.
fn run_link(records: &[&str], corrupt: Option<usize>) -> (Vec<u8>, Vec<Event>, usize) {
    let mut tx = Sender::new(Role::Instrument);
    let mut rx = Receiver::new(Limits::default());
    let now = secs(0.0);
    let mut to_rx: Vec<Vec<u8>> = Vec::new();
    let mut tx_events = Vec::new();
    let mut frames_seen = 0;
    let mut text = Vec::new();
    let mut pending = tx.start(encode::transmission(records), now);
    for _ in 0..1000 {
        for ev in pending.drain(..) {
            match ev {
                Event::Send(mut b) => {
                    if b.first() == Some(&STX) {
                        frames_seen += 1;
                        if Some(frames_seen) == corrupt {
                            b[3] ^= 0x20;
                        }
                    }
                    to_rx.push(b);
                }
                other => tx_events.push(other),
            }
        }
        let Some(bytes) = to_rx.pop() else { break };
        for ev in rx.feed(&bytes, now) {
            let replies = match ev {
                Event::Send(b) => b,
                Event::Message(m) => {
                    text.extend_from_slice(&m);
                    match rx.accept(now).pop() {
                        Some(Event::Send(b)) => b,
                        _ => Vec::new(),
                    }
                }
                _ => Vec::new(),
            };
            pending.extend(tx.feed(&replies, now));
        }
    }
    (text, tx_events, frames_seen)
}

#[test]
fn sender_and_receiver_deliver_a_chemistry_transmission() {
    let data = include_str!("../../testdata/chemistry.astm");
    let records: Vec<&str> = data.split_inclusive('\r').collect();
    assert_eq!(records.len(), 10);
    let (text, events, sent) = run_link(&records, None);
    assert_eq!(text, data.as_bytes());
    assert_eq!(events, [Event::Delivered]);
    assert_eq!(sent, 10);
    // One corrupted frame is NAKed, retransmitted, and nothing is lost or doubled.
    let (text, events, sent) = run_link(&records, Some(4));
    assert_eq!(text, data.as_bytes());
    assert_eq!(events, [Event::Delivered]);
    assert_eq!(sent, 11, "the corrupted frame was sent twice");
}
