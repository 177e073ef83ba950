//! What the E1381 state machines tell their caller, and the limits and timers they keep.
//!
//! Time is a monotonic [`Duration`] since an origin the caller picks (e.g. the
//! `Instant` the connection opened): the machines never read a clock.

use std::time::Duration;

use thiserror::Error;

/// Something the caller must act on. Each `feed`, `poll`, `accept` or `refuse` returns
/// these in order; `Send` bytes go to the wire in that order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Bytes to write to the peer.
    Send(Vec<u8>),
    /// Receiver: a complete message (the text of its frames joined, frame numbers and
    /// framing removed; usually one record ending in CR). Its last frame is *not*
    /// acknowledged yet: call [`Receiver::accept`](crate::Receiver::accept) once it is
    /// safely stored, or [`Receiver::refuse`](crate::Receiver::refuse).
    Message(Vec<u8>),
    /// Receiver: the sender sent EOT; the line is neutral again.
    EndOfTransmission,
    /// Sender: every frame was acknowledged and EOT sent.
    Delivered,
    /// Sender: both sides bid for the line at once. A host yields: it must now act as
    /// receiver (feed the peer's bytes to a [`Receiver`](crate::Receiver), starting with
    /// an ENQ) and bids again at `retry_at`, when `poll` sends ENQ.
    Contention { retry_at: Duration },
    /// The transfer ended without completing; the line is neutral.
    Aborted(Abort),
}

/// Why a transfer was abandoned. Carries counts and limits, never message content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Abort {
    #[error("no frame or EOT from the sender within {0:?}")]
    ReceiverIdle(Duration),
    #[error("a frame was not completed within {0:?}")]
    FrameIncomplete(Duration),
    #[error("no reply from the receiver within {0:?}")]
    NoReply(Duration),
    #[error("a frame was refused {0} times")]
    TooManyRetries(u8),
    #[error("the receiver refused the line {0} times")]
    LineRefused(u8),
    #[error("the sender ended the transmission while a message awaited its decision")]
    EotBeforeDecision,
    #[error("message exceeds {limit} bytes")]
    MessageTooLarge { limit: usize },
    #[error("message exceeds {limit} frames")]
    TooManyFrames { limit: usize },
}

/// Resource limits of a receiver: beyond them the message is refused and its frames
/// NAKed until EOT, so memory stays bounded whatever a peer sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message (joined frame texts), in bytes.
    pub max_message: usize,
    /// Most frames in one message.
    pub max_frames: usize,
    /// Longest frame text accepted. LIS1-A allows 240; some analyzers send more, so the
    /// receiver may be told to be lenient (a frame longer than this is NAKed).
    pub max_frame_text: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message: 1 << 20,
            max_frames: 8192,
            max_frame_text: crate::frame::MAX_FRAME_TEXT,
        }
    }
}

/// The LIS1-A timers (section 6.5.2), adjustable for tests and odd peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Sender: wait for a reply to ENQ or a frame (15 s).
    pub reply: Duration,
    /// Receiver: wait for the next frame or EOT after replying (30 s).
    pub receiver_idle: Duration,
    /// Receiver: a frame that has started (STX) must end within this (15 s).
    pub frame: Duration,
    /// Sender: wait after the line was refused with NAK before bidding again (10 s).
    pub busy_retry: Duration,
    /// Host sender: wait after losing a contention (at least 20 s).
    pub host_contention: Duration,
    /// Instrument sender: wait after winning a contention before re-sending ENQ (1 s).
    pub instrument_contention: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            reply: Duration::from_secs(15),
            receiver_idle: Duration::from_secs(30),
            frame: Duration::from_secs(15),
            busy_retry: Duration::from_secs(10),
            host_contention: Duration::from_secs(20),
            instrument_contention: Duration::from_secs(1),
        }
    }
}

/// Which end of the link a sender is: on contention the instrument keeps the line and the
/// host (the computer system) yields (LIS1-A 6.2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Host,
    Instrument,
}
