//! MLLP (Minimal Lower Layer Protocol) framing, without any I/O: a frame is
//! `0x0B <message> 0x1C 0x0D`.

use std::collections::VecDeque;

use thiserror::Error;

/// Start block (VT).
pub const START_BLOCK: u8 = 0x0B;
/// End block (FS), followed by [`CARRIAGE_RETURN`].
pub const END_BLOCK: u8 = 0x1C;
/// The byte that must follow [`END_BLOCK`].
pub const CARRIAGE_RETURN: u8 = 0x0D;

/// The default largest message accepted: 1 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1 << 20;

/// Why a byte stream is not valid MLLP. Offsets count bytes since the decoder was
/// created; no message content is included, so the error can be logged as the reason for
/// closing a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum MllpError {
    /// A byte other than the start block arrived between frames.
    #[error("data before start block at byte {offset}")]
    DataBeforeStart { offset: u64 },
    /// A start block arrived inside a frame (a sender restarted mid-message).
    #[error("start block inside a frame at byte {offset}")]
    StartInsideFrame { offset: u64 },
    /// The end block was not followed by a carriage return.
    #[error("end block not followed by carriage return at byte {offset}")]
    MissingCarriageReturn { offset: u64 },
    /// The message grew past the size limit before its end block.
    #[error("message exceeds {limit} bytes (frame started at byte {start})")]
    Oversize { limit: usize, start: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for a start block.
    Idle,
    /// Inside a frame.
    InFrame,
    /// Saw the end block, waiting for its CR.
    AfterEnd,
    /// A framing error was found; the stream cannot be trusted any more.
    Failed,
}

/// A streaming MLLP decoder: push bytes as they arrive, take complete messages out.
///
/// ```
/// use labguard_hl7::mllp::{frame, MllpDecoder};
/// let wire = frame(b"MSH|^~\\&|A\r");
/// let mut dec = MllpDecoder::new();
/// dec.push(&wire[..5]);
/// assert!(dec.next_frame().is_none());
/// dec.push(&wire[5..]);
/// assert_eq!(dec.next_frame().unwrap().unwrap(), b"MSH|^~\\&|A\r");
/// ```
///
/// After a framing error, the frames completed before it are still returned, then the
/// error once; the decoder then ignores further input, because after a framing error
/// there is no telling where the next message starts: close the connection.
#[derive(Debug, Clone)]
pub struct MllpDecoder {
    max: usize,
    lenient: bool,
    state: State,
    current: Vec<u8>,
    frame_start: u64,
    offset: u64,
    ready: VecDeque<Vec<u8>>,
    error: Option<MllpError>,
    error_reported: bool,
}

impl Default for MllpDecoder {
    fn default() -> Self {
        MllpDecoder::new()
    }
}

impl MllpDecoder {
    /// A decoder with the default 1 MiB limit.
    pub fn new() -> MllpDecoder {
        MllpDecoder::with_max_message_size(DEFAULT_MAX_MESSAGE_SIZE)
    }

    /// A decoder refusing messages longer than `max` bytes (framing bytes excluded).
    pub fn with_max_message_size(max: usize) -> MllpDecoder {
        MllpDecoder {
            max,
            lenient: false,
            state: State::Idle,
            current: Vec::new(),
            frame_start: 0,
            offset: 0,
            ready: VecDeque::new(),
            error: None,
            error_reported: false,
        }
    }

    /// Tolerates CR and LF between frames, which some senders add after each frame.
    /// Anything else between frames is still an error.
    pub fn allow_newlines_between_frames(mut self, yes: bool) -> MllpDecoder {
        self.lenient = yes;
        self
    }

    /// True once a framing error was found.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// True when part of a frame is buffered (e.g. the connection closed mid-message).
    pub fn in_frame(&self) -> bool {
        matches!(self.state, State::InFrame | State::AfterEnd)
    }

    fn fail(&mut self, e: MllpError) {
        self.error = Some(e);
        self.state = State::Failed;
        self.current = Vec::new();
    }

    /// Feeds received bytes. Complete frames queue up for [`next_frame`](Self::next_frame).
    pub fn push(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match self.state {
                State::Failed => return,
                State::Idle => {
                    let Some((&b, rest)) = data.split_first() else {
                        return;
                    };
                    if b == START_BLOCK {
                        self.state = State::InFrame;
                        self.frame_start = self.offset;
                    } else if !(self.lenient && (b == b'\r' || b == b'\n')) {
                        self.fail(MllpError::DataBeforeStart {
                            offset: self.offset,
                        });
                        return;
                    }
                    self.offset += 1;
                    data = rest;
                }
                State::InFrame => {
                    // Copy the run up to the next framing byte in one go.
                    let stop = data
                        .iter()
                        .position(|&b| b == END_BLOCK || b == START_BLOCK);
                    let run = stop.unwrap_or(data.len());
                    if self.current.len().saturating_add(run) > self.max {
                        self.fail(MllpError::Oversize {
                            limit: self.max,
                            start: self.frame_start,
                        });
                        return;
                    }
                    self.current
                        .extend_from_slice(data.get(..run).unwrap_or_default());
                    self.offset += run as u64;
                    data = data.get(run..).unwrap_or_default();
                    match data.split_first() {
                        Some((&START_BLOCK, _)) => {
                            self.fail(MllpError::StartInsideFrame {
                                offset: self.offset,
                            });
                            return;
                        }
                        Some((_, rest)) => {
                            self.state = State::AfterEnd;
                            self.offset += 1;
                            data = rest;
                        }
                        None => {}
                    }
                }
                State::AfterEnd => {
                    let Some((&b, rest)) = data.split_first() else {
                        return;
                    };
                    if b != CARRIAGE_RETURN {
                        self.fail(MllpError::MissingCarriageReturn {
                            offset: self.offset,
                        });
                        return;
                    }
                    self.offset += 1;
                    data = rest;
                    let msg = std::mem::take(&mut self.current);
                    self.ready.push_back(msg);
                    self.state = State::Idle;
                }
            }
        }
    }

    /// The next complete message, then (once) the framing error if there was one.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, MllpError>> {
        if let Some(f) = self.ready.pop_front() {
            return Some(Ok(f));
        }
        match (self.error, self.error_reported) {
            (Some(e), false) => {
                self.error_reported = true;
                Some(Err(e))
            }
            _ => None,
        }
    }
}

/// Frames a message for sending: `0x0B msg 0x1C 0x0D`.
///
/// The message must not contain 0x0B or 0x1C; messages written by this crate never do,
/// because [`escape`](crate::escape()) turns control characters into `\Xhh\`.
pub fn frame(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 3);
    out.push(START_BLOCK);
    out.extend_from_slice(msg);
    out.push(END_BLOCK);
    out.push(CARRIAGE_RETURN);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(d: &mut MllpDecoder) -> Vec<Result<Vec<u8>, MllpError>> {
        std::iter::from_fn(|| d.next_frame()).collect()
    }

    #[test]
    fn byte_by_byte_and_batched() {
        let mut wire = frame(b"one\r");
        wire.extend(frame(b"two\r"));
        wire.extend(frame(b""));
        let mut d = MllpDecoder::new();
        for b in &wire {
            d.push(std::slice::from_ref(b));
        }
        let want = vec![Ok(b"one\r".to_vec()), Ok(b"two\r".to_vec()), Ok(vec![])];
        assert_eq!(drain(&mut d), want);
        let mut d = MllpDecoder::new();
        d.push(&wire);
        assert_eq!(drain(&mut d), want);
        assert!(!d.in_frame() && !d.failed());
    }

    #[test]
    fn framing_errors() {
        let cases: [(&[u8], MllpError); 4] = [
            (b"x\x0bmsg\x1c\r", MllpError::DataBeforeStart { offset: 0 }),
            (b"\x0bab\x0bc", MllpError::StartInsideFrame { offset: 3 }),
            (
                b"\x0bab\x1cX",
                MllpError::MissingCarriageReturn { offset: 4 },
            ),
            (b"\x0b12345", MllpError::Oversize { limit: 4, start: 0 }),
        ];
        for (wire, err) in cases {
            let mut d = MllpDecoder::with_max_message_size(4);
            d.push(wire);
            d.push(&frame(b"ok"));
            assert_eq!(drain(&mut d), vec![Err(err)], "{wire:?}");
            assert!(d.failed());
        }
    }

    #[test]
    fn frames_before_an_error_survive() {
        let mut wire = frame(b"good");
        wire.extend_from_slice(b"junk");
        let mut d = MllpDecoder::new();
        d.push(&wire);
        let got = drain(&mut d);
        assert_eq!(
            got,
            vec![
                Ok(b"good".to_vec()),
                Err(MllpError::DataBeforeStart { offset: 7 })
            ]
        );
        assert_eq!(d.next_frame(), None);
    }

    #[test]
    fn size_limit_is_exact_and_newlines_optional() {
        let mut d = MllpDecoder::with_max_message_size(4);
        d.push(&frame(b"1234"));
        assert_eq!(drain(&mut d), vec![Ok(b"1234".to_vec())]);
        let mut d = MllpDecoder::new().allow_newlines_between_frames(true);
        let mut wire = frame(b"a");
        wire.extend_from_slice(b"\r\n");
        wire.extend(frame(b"b"));
        d.push(&wire);
        assert_eq!(drain(&mut d).len(), 2);
    }
}
