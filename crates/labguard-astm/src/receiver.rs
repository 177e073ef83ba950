//! The receiving end of an E1381 link, sans I/O: bytes and the time go in, [`Event`]s
//! come out.
//!
//! The receiver never acknowledges the last frame of a message by itself: it hands the
//! message up as [`Event::Message`] and waits for [`Receiver::accept`] (after the caller
//! has committed it) or [`Receiver::refuse`]. Until then the sender has no ACK, so a
//! message is never confirmed to an instrument before it is stored.

use std::time::Duration;

use crate::frame::{checksum, hex_value, next_frame_number, ACK, ENQ, EOT, ETB, ETX, LF, NAK, STX};
use crate::link::{Abort, Event, Limits, Timeouts};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Neutral,
    Transfer,
    /// A message was handed up; its last frame awaits `accept` or `refuse`.
    Deciding {
        number: u8,
    },
    /// A limit was exceeded: every frame is NAKed until EOT.
    Refusing,
}

/// One link's receiving state machine. See the module docs.
#[derive(Debug, Clone)]
pub struct Receiver {
    limits: Limits,
    timeouts: Timeouts,
    phase: Phase,
    /// Frame number of the last accepted frame, `None` before the first.
    last: Option<u8>,
    /// Text of the current message's accepted frames.
    message: Vec<u8>,
    frames_in_message: usize,
    /// The frame being received (after STX), when one is.
    frame: Option<FrameBuf>,
    idle_deadline: Duration,
}

#[derive(Debug, Clone)]
struct FrameBuf {
    bytes: Vec<u8>,
    /// Index of the ETB/ETX in `bytes`, once seen.
    end: Option<usize>,
    /// Text beyond the limit was seen: the frame is refused when it ends.
    overlong: bool,
    deadline: Duration,
}

enum Verdict {
    Good { number: u8, last: bool },
    Bad,
}

impl Receiver {
    pub fn new(limits: Limits) -> Receiver {
        Receiver::with_timeouts(limits, Timeouts::default())
    }

    pub fn with_timeouts(limits: Limits, timeouts: Timeouts) -> Receiver {
        Receiver {
            limits,
            timeouts,
            phase: Phase::Neutral,
            last: None,
            message: Vec::new(),
            frames_in_message: 0,
            frame: None,
            idle_deadline: Duration::ZERO,
        }
    }

    /// True when no transfer is under way.
    pub fn is_neutral(&self) -> bool {
        self.phase == Phase::Neutral
    }

    /// True while a handed-up message awaits `accept` or `refuse`.
    pub fn is_deciding(&self) -> bool {
        matches!(self.phase, Phase::Deciding { .. })
    }

    /// When `poll` next has something to do, if ever (no timer runs while neutral or
    /// deciding).
    pub fn deadline(&self) -> Option<Duration> {
        match (self.phase, &self.frame) {
            (Phase::Neutral | Phase::Deciding { .. }, _) => None,
            (_, Some(f)) => Some(f.deadline),
            (_, None) => Some(self.idle_deadline),
        }
    }

    /// Feeds bytes received from the peer at time `now`.
    pub fn feed(&mut self, bytes: &[u8], now: Duration) -> Vec<Event> {
        let mut out = Vec::new();
        for &b in bytes {
            self.byte(b, now, &mut out);
        }
        out
    }

    /// Runs the timers: call at (or after) [`deadline`](Receiver::deadline).
    pub fn poll(&mut self, now: Duration) -> Vec<Event> {
        let mut out = Vec::new();
        if let Some(deadline) = self.deadline() {
            if now >= deadline {
                let why = match self.frame {
                    Some(_) => Abort::FrameIncomplete(self.timeouts.frame),
                    None => Abort::ReceiverIdle(self.timeouts.receiver_idle),
                };
                self.reset();
                out.push(Event::Aborted(why));
            }
        }
        out
    }

    /// Acknowledges the message last handed up (the caller has stored it). Does nothing
    /// unless a message awaits a decision.
    pub fn accept(&mut self, now: Duration) -> Vec<Event> {
        let Phase::Deciding { number } = self.phase else {
            return Vec::new();
        };
        self.last = Some(number);
        self.message.clear();
        self.frames_in_message = 0;
        self.phase = Phase::Transfer;
        self.idle_deadline = now + self.timeouts.receiver_idle;
        vec![Event::Send(vec![ACK])]
    }

    /// Refuses the message last handed up with NAK: the sender retransmits its last
    /// frame (up to its retry limit), and the message is handed up again.
    pub fn refuse(&mut self, now: Duration) -> Vec<Event> {
        let Phase::Deciding { .. } = self.phase else {
            return Vec::new();
        };
        self.phase = Phase::Transfer;
        self.idle_deadline = now + self.timeouts.receiver_idle;
        vec![Event::Send(vec![NAK])]
    }

    fn reset(&mut self) {
        self.phase = Phase::Neutral;
        self.last = None;
        self.message = Vec::new();
        self.frames_in_message = 0;
        self.frame = None;
    }

    fn establish(&mut self, now: Duration, out: &mut Vec<Event>) {
        self.reset();
        self.phase = Phase::Transfer;
        self.idle_deadline = now + self.timeouts.receiver_idle;
        out.push(Event::Send(vec![ACK]));
    }

    fn byte(&mut self, b: u8, now: Duration, out: &mut Vec<Event>) {
        match self.phase {
            Phase::Neutral => {
                // LIS1-A 6.2: a neutral receiver answers ENQ and ignores everything else.
                if b == ENQ {
                    self.establish(now, out);
                }
            }
            Phase::Deciding { .. } => {
                // The sender waits for our reply; only giving up (EOT) means anything.
                if b == EOT {
                    self.reset();
                    out.push(Event::Aborted(Abort::EotBeforeDecision));
                }
            }
            Phase::Transfer | Phase::Refusing => match self.frame.take() {
                Some(f) => self.frame_byte(f, b, now, out),
                None => match b {
                    STX => self.start_frame(now),
                    EOT => {
                        self.reset();
                        out.push(Event::EndOfTransmission);
                    }
                    // A sender that lost our ACK may bid again: start over.
                    ENQ => self.establish(now, out),
                    _ => {}
                },
            },
        }
    }

    fn start_frame(&mut self, now: Duration) {
        self.frame = Some(FrameBuf {
            bytes: Vec::with_capacity(self.limits.max_frame_text.min(4096) + 8),
            end: None,
            overlong: false,
            deadline: now + self.timeouts.frame,
        });
    }

    fn frame_byte(&mut self, mut f: FrameBuf, b: u8, now: Duration, out: &mut Vec<Event>) {
        let Some(end) = f.end else {
            match b {
                // A new frame starts: the broken one is dropped unanswered.
                STX => return self.start_frame(now),
                EOT => return self.byte(EOT, now, out),
                ETB | ETX => f.end = Some(f.bytes.len()),
                _ => {}
            }
            // FN + text may not pass the limit; count on without storing.
            if f.end.is_some() || f.bytes.len() <= self.limits.max_frame_text {
                f.bytes.push(b);
            } else {
                f.overlong = true;
            }
            self.frame = Some(f);
            return;
        };
        f.bytes.push(b);
        // C1 C2 CR LF follow the terminator.
        if f.bytes.len() < end + 5 {
            self.frame = Some(f);
            return;
        }
        let verdict = match f.overlong {
            true => Verdict::Bad,
            false => check(&f.bytes, end),
        };
        self.idle_deadline = now + self.timeouts.receiver_idle;
        self.frame_done(&f.bytes, end, verdict, out);
    }

    fn frame_done(&mut self, bytes: &[u8], end: usize, verdict: Verdict, out: &mut Vec<Event>) {
        let nak = || Event::Send(vec![NAK]);
        let Verdict::Good { number, last } = verdict else {
            return out.push(nak());
        };
        if self.phase == Phase::Refusing {
            return out.push(nak());
        }
        if self.last == Some(number) {
            // A repeat of the frame we accepted: our ACK was lost. Acknowledge again.
            return out.push(Event::Send(vec![ACK]));
        }
        let expected = self.last.map_or(1, next_frame_number);
        if number != expected {
            return out.push(nak());
        }
        let text = bytes.get(1..end).unwrap_or_default();
        if self.message.len() + text.len() > self.limits.max_message {
            let limit = self.limits.max_message;
            return self.refuse_all(Abort::MessageTooLarge { limit }, out);
        }
        if self.frames_in_message >= self.limits.max_frames {
            let limit = self.limits.max_frames;
            return self.refuse_all(Abort::TooManyFrames { limit }, out);
        }
        let before = self.message.len();
        self.message.extend_from_slice(text);
        self.frames_in_message += 1;
        if !last {
            self.last = Some(number);
            return out.push(Event::Send(vec![ACK]));
        }
        // Keep the intermediate frames' text (already acknowledged) in case the caller
        // refuses and the last frame comes again.
        let whole = std::mem::take(&mut self.message);
        self.message = whole.get(..before).unwrap_or_default().to_vec();
        self.frames_in_message -= 1;
        self.phase = Phase::Deciding { number };
        out.push(Event::Message(whole));
    }

    fn refuse_all(&mut self, why: Abort, out: &mut Vec<Event>) {
        self.phase = Phase::Refusing;
        self.message = Vec::new();
        self.frames_in_message = 0;
        out.push(Event::Aborted(why));
        out.push(Event::Send(vec![NAK]));
    }
}

/// Checks a complete frame: `bytes` is FN text term C1 C2 CR LF, `end` the terminator.
fn check(bytes: &[u8], end: usize) -> Verdict {
    let (Some(&fnum), Some(&term), Some(tail)) =
        (bytes.first(), bytes.get(end), bytes.get(end + 1..end + 5))
    else {
        return Verdict::Bad;
    };
    let number = match fnum {
        b'0'..=b'7' if end >= 1 => fnum - b'0',
        _ => return Verdict::Bad,
    };
    let want = checksum(bytes.get(..=end).unwrap_or_default());
    let got = match tail {
        [c1, c2, b'\r', LF] => (hex_value(*c1), hex_value(*c2)),
        _ => return Verdict::Bad,
    };
    let want = (hex_value(want[0]), hex_value(want[1]));
    if got != want || got.0.is_none() {
        return Verdict::Bad;
    }
    Verdict::Good {
        number,
        last: term == ETX,
    }
}
