//! RFC 5425 §4.3 / RFC 6587 §3.4.1 octet counting: `MSG-LEN SP SYSLOG-MSG`, MSG-LEN in
//! decimal without leading zeros.

/// Largest frame the [`Deframer`] accepts unless told otherwise (RFC 5425 §4.3.1 asks
/// receivers to take at least 2048 octets and says 8192 should be).
pub const MAX_FRAME: usize = 64 * 1024;

/// One message, framed.
pub fn frame(msg: &[u8]) -> Vec<u8> {
    let mut out = format!("{} ", msg.len()).into_bytes();
    out.extend_from_slice(msg);
    out
}

/// Why a byte stream is not octet-counted frames.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// MSG-LEN is empty, has a leading zero or a non-digit.
    #[error("bad frame length")]
    BadLength,
    /// MSG-LEN is above the limit.
    #[error("frame of {0} bytes is over the limit")]
    TooLong(usize),
}

/// Incremental deframer: push bytes as they arrive, take whole messages out.
pub struct Deframer {
    buf: Vec<u8>,
    max: usize,
}

impl Deframer {
    /// A deframer refusing frames longer than `max` bytes.
    pub fn new(max: usize) -> Deframer {
        Deframer {
            buf: Vec::new(),
            max,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held that are not yet a whole frame.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next whole message, `None` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        // Longest MSG-LEN we could accept, in digits, plus the space.
        let max_digits = self.max.to_string().len();
        let Some(sp) = self
            .buf
            .iter()
            .take(max_digits + 1)
            .position(|&b| b == b' ')
        else {
            if self.buf.len() > max_digits || self.buf.iter().any(|b| !b.is_ascii_digit()) {
                return Err(FrameError::BadLength);
            }
            return Ok(None);
        };
        let digits = &self.buf[..sp];
        if digits.is_empty() || digits[0] == b'0' || !digits.iter().all(u8::is_ascii_digit) {
            return Err(FrameError::BadLength);
        }
        let len: usize = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(FrameError::BadLength)?;
        if len > self.max {
            return Err(FrameError::TooLong(len));
        }
        let Some(end) = (sp + 1).checked_add(len).filter(|&e| e <= self.buf.len()) else {
            return Ok(None);
        };
        let msg = self.buf[sp + 1..end].to_vec();
        self.buf.drain(..end);
        Ok(Some(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn frames_and_deframes_split_anywhere() {
        let mut stream = frame(b"<110>1 - - labguard - - - \xef\xbb\xbfhello");
        stream.extend(frame(b"second"));
        for cut in 0..stream.len() {
            let mut d = Deframer::new(MAX_FRAME);
            d.push(&stream[..cut]);
            let mut got = vec![];
            while let Some(m) = d.next_frame().unwrap() {
                got.push(m);
            }
            d.push(&stream[cut..]);
            while let Some(m) = d.next_frame().unwrap() {
                got.push(m);
            }
            assert_eq!(got.len(), 2);
            assert_eq!(got[1], b"second");
            assert_eq!(d.pending(), 0);
        }
    }

    #[test]
    fn refuses_bad_and_oversize_lengths() {
        for bad in [&b"05 hello"[..], b" x", b"1a hello", b"abc"] {
            let mut d = Deframer::new(100);
            d.push(bad);
            assert_eq!(d.next_frame(), Err(FrameError::BadLength), "{bad:?}");
        }
        let mut d = Deframer::new(100);
        d.push(b"101 ");
        assert_eq!(d.next_frame(), Err(FrameError::TooLong(101)));
        let mut d = Deframer::new(100);
        d.push(b"99999");
        assert_eq!(d.next_frame(), Err(FrameError::BadLength));
    }

    proptest! {
        #[test]
        fn any_messages_round_trip(msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..200), 0..8)) {
            let mut d = Deframer::new(MAX_FRAME);
            for m in &msgs { d.push(&frame(m)); }
            for m in &msgs { let got = d.next_frame().unwrap(); prop_assert_eq!(got.as_ref(), Some(m)); }
            prop_assert_eq!(d.next_frame().unwrap(), None);
        }

        /// What the fuzz target checks, on arbitrary bytes: no panic, and what is accepted
        /// re-frames to a prefix of the input.
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut d = Deframer::new(100);
            d.push(&data);
            let mut out = Vec::new();
            while let Ok(Some(m)) = d.next_frame() {
                out.extend(frame(&m));
            }
            prop_assert!(data.starts_with(&out));
        }
    }
}
