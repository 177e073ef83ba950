//! E1381 (CLSI LIS1-A) frames: `STX FN text ETB|ETX C1 C2 CR LF`.

/// Start of text: opens a frame.
pub const STX: u8 = 0x02;
/// End of text: closes the last frame of a message.
pub const ETX: u8 = 0x03;
/// End of transmission: ends the transfer phase (or, as a reply, a receiver interrupt).
pub const EOT: u8 = 0x04;
/// Enquiry: asks for the line.
pub const ENQ: u8 = 0x05;
/// Acknowledge.
pub const ACK: u8 = 0x06;
/// Line feed: the last byte of a frame.
pub const LF: u8 = 0x0A;
/// Carriage return: ends a record, and precedes LF at the end of a frame.
pub const CR: u8 = 0x0D;
/// Negative acknowledge.
pub const NAK: u8 = 0x15;
/// End of transmission block: closes an intermediate frame.
pub const ETB: u8 = 0x17;

/// The most text one frame may carry (LIS1-A 6.3.1: 247 characters per frame, 7 of
/// them framing).
pub const MAX_FRAME_TEXT: usize = 240;

/// The checksum LIS1-A defines: the sum of every byte from the frame number through the
/// ETB or ETX, modulo 256, as two upper-case hex digits.
pub fn checksum(fn_through_end: &[u8]) -> [u8; 2] {
    let sum = fn_through_end
        .iter()
        .fold(0u8, |acc, &b| acc.wrapping_add(b));
    [hex_digit(sum >> 4), hex_digit(sum & 0x0f)]
}

fn hex_digit(n: u8) -> u8 {
    match n {
        0..=9 => b'0' + n,
        _ => b'A' + (n - 10),
    }
}

/// The value of one checksum digit; lower case is tolerated on input.
pub(crate) fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'A'..=b'F' => Some(b - b'A' + 10),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// The frame number after `n` (1..7, then 0; LIS1-A 6.3.1.2).
pub fn next_frame_number(n: u8) -> u8 {
    (n + 1) % 8
}

/// One frame on the wire: `STX FN text (ETB|ETX) C1 C2 CR LF`. `number` is taken modulo
/// 8; `last` chooses ETX (the message ends here) over ETB.
pub fn frame(number: u8, text: &[u8], last: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 7);
    out.push(STX);
    out.push(b'0' + number % 8);
    out.extend_from_slice(text);
    out.push(if last { ETX } else { ETB });
    let cs = checksum(out.get(1..).unwrap_or_default());
    out.extend_from_slice(&cs);
    out.extend_from_slice(&[CR, LF]);
    out
}

/// Splits one message (a record, or several, each ending in CR) into frames of at most
/// `max_text` bytes of text (clamped to 1..=240), numbered from `first_number`. Returns
/// the frames and the number the next message's first frame takes.
pub fn frames(message: &[u8], first_number: u8, max_text: usize) -> (Vec<Vec<u8>>, u8) {
    let size = max_text.clamp(1, MAX_FRAME_TEXT);
    let mut out = Vec::with_capacity(message.len() / size + 1);
    let mut n = first_number % 8;
    let chunks: Vec<&[u8]> = if message.is_empty() {
        vec![message]
    } else {
        message.chunks(size).collect()
    };
    let count = chunks.len();
    for (i, chunk) in chunks.into_iter().enumerate() {
        out.push(frame(n, chunk, i + 1 == count));
        n = next_frame_number(n);
    }
    (out, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_a_terminator_record() {
        // "1L|1|N" CR ETX: 0x31+0x4C+0x7C+0x31+0x7C+0x4E+0x0D+0x03 = 0x204 → 04.
        assert_eq!(&checksum(b"1L|1|N\r\x03"), b"04");
    }

    #[test]
    fn frame_numbers_wrap_after_seven() {
        assert_eq!(next_frame_number(7), 0);
        assert_eq!(next_frame_number(0), 1);
        assert_eq!(frame(9, b"x", true).get(1), Some(&b'1'));
    }
}
