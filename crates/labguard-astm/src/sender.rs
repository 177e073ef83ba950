//! The sending end of an E1381 link, sans I/O: establishment (ENQ), frames with
//! retransmission, termination (EOT), contention, and the sender's timers.

use std::time::Duration;

use crate::frame::{ACK, ENQ, EOT, NAK};
use crate::link::{Abort, Event, Role, Timeouts};

/// How often a frame may be sent and refused before the message is abandoned
/// (LIS1-A 6.5.1.2: six times).
pub const MAX_ATTEMPTS: u8 = 6;

/// How often a receiver may answer ENQ with NAK (busy) before the sender gives up.
/// LIS1-A sets no limit; a bound keeps a stuck peer from holding a sender forever.
pub const MAX_LINE_REFUSALS: u8 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    /// ENQ sent, waiting for ACK/NAK.
    AwaitLine,
    /// Frame `next` sent, waiting for its reply.
    AwaitReply,
    /// Waiting to bid (ENQ) again: after a busy NAK or a contention.
    Backoff,
}

/// One link's sending state machine.
#[derive(Debug, Clone)]
pub struct Sender {
    role: Role,
    timeouts: Timeouts,
    phase: Phase,
    frames: Vec<Vec<u8>>,
    next: usize,
    refusals: u8,
    line_refusals: u8,
    deadline: Duration,
}

impl Sender {
    pub fn new(role: Role) -> Sender {
        Sender::with_timeouts(role, Timeouts::default())
    }

    pub fn with_timeouts(role: Role, timeouts: Timeouts) -> Sender {
        Sender {
            role,
            timeouts,
            phase: Phase::Idle,
            frames: Vec::new(),
            next: 0,
            refusals: 0,
            line_refusals: 0,
            deadline: Duration::ZERO,
        }
    }

    /// True when no transmission is under way (or waiting to bid again).
    pub fn is_idle(&self) -> bool {
        self.phase == Phase::Idle
    }

    /// When `poll` next has something to do.
    pub fn deadline(&self) -> Option<Duration> {
        (self.phase != Phase::Idle).then_some(self.deadline)
    }

    /// Starts a transmission of `frames` (from [`encode::transmission`](crate::encode::transmission)
    /// or [`frame::frames`](crate::frame::frames)) by bidding for the line. Ignored, with
    /// no events, while another transmission is under way.
    pub fn start(&mut self, frames: Vec<Vec<u8>>, now: Duration) -> Vec<Event> {
        if self.phase != Phase::Idle {
            return Vec::new();
        }
        self.frames = frames;
        self.next = 0;
        self.refusals = 0;
        self.line_refusals = 0;
        self.bid(now)
    }

    fn bid(&mut self, now: Duration) -> Vec<Event> {
        self.phase = Phase::AwaitLine;
        self.deadline = now + self.timeouts.reply;
        vec![Event::Send(vec![ENQ])]
    }

    /// Feeds bytes received from the peer at time `now`.
    pub fn feed(&mut self, bytes: &[u8], now: Duration) -> Vec<Event> {
        let mut out = Vec::new();
        for &b in bytes {
            match self.phase {
                Phase::AwaitLine => self.line_reply(b, now, &mut out),
                Phase::AwaitReply => self.frame_reply(b, now, &mut out),
                Phase::Idle | Phase::Backoff => {}
            }
        }
        out
    }

    /// Runs the timers: call at (or after) [`deadline`](Sender::deadline).
    pub fn poll(&mut self, now: Duration) -> Vec<Event> {
        if self.phase == Phase::Idle || now < self.deadline {
            return Vec::new();
        }
        match self.phase {
            Phase::Backoff => self.bid(now),
            _ => self.terminate(Abort::NoReply(self.timeouts.reply)),
        }
    }

    fn terminate(&mut self, why: Abort) -> Vec<Event> {
        self.phase = Phase::Idle;
        self.frames = Vec::new();
        vec![Event::Send(vec![EOT]), Event::Aborted(why)]
    }

    fn line_reply(&mut self, b: u8, now: Duration, out: &mut Vec<Event>) {
        match b {
            ACK => self.send_frame(now, out),
            NAK => {
                self.line_refusals += 1;
                if self.line_refusals >= MAX_LINE_REFUSALS {
                    self.phase = Phase::Idle;
                    self.frames = Vec::new();
                    out.push(Event::Aborted(Abort::LineRefused(self.line_refusals)));
                } else {
                    self.phase = Phase::Backoff;
                    self.deadline = now + self.timeouts.busy_retry;
                }
            }
            ENQ => {
                // Contention (LIS1-A 6.2.7): the instrument keeps its bid and repeats it
                // after 1 s; the host yields and receives for at least 20 s.
                self.phase = Phase::Backoff;
                match self.role {
                    Role::Instrument => self.deadline = now + self.timeouts.instrument_contention,
                    Role::Host => {
                        self.deadline = now + self.timeouts.host_contention;
                        out.push(Event::Contention {
                            retry_at: self.deadline,
                        });
                    }
                }
            }
            _ => {}
        }
    }

    fn frame_reply(&mut self, b: u8, now: Duration, out: &mut Vec<Event>) {
        // EOT in reply is a receiver interrupt: the frame was accepted; the sender may
        // carry on (LIS1-A 6.3.5), which this one does.
        if b == ACK || b == EOT {
            self.next += 1;
            self.refusals = 0;
            return self.send_frame(now, out);
        }
        // NAK, or any other character, is a refusal (LIS1-A 6.3.4).
        self.refusals += 1;
        if self.refusals >= MAX_ATTEMPTS {
            out.extend(self.terminate(Abort::TooManyRetries(self.refusals)));
            return;
        }
        self.resend(now, out);
    }

    fn send_frame(&mut self, now: Duration, out: &mut Vec<Event>) {
        if self.next >= self.frames.len() {
            self.phase = Phase::Idle;
            self.frames = Vec::new();
            out.push(Event::Send(vec![EOT]));
            out.push(Event::Delivered);
            return;
        }
        self.resend(now, out);
    }

    fn resend(&mut self, now: Duration, out: &mut Vec<Event>) {
        let frame = self.frames.get(self.next).cloned().unwrap_or_default();
        self.phase = Phase::AwaitReply;
        self.deadline = now + self.timeouts.reply;
        out.push(Event::Send(frame));
    }
}
