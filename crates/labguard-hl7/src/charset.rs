//! Turning received bytes into text without losing any.

use std::borrow::Cow;

use crate::error::ParseError;

/// Decodes a received message to text, losslessly.
///
/// * Valid UTF-8 (which includes ASCII) is borrowed as it is.
/// * Otherwise, if MSH-18 declares a Unicode character set (`UNICODE UTF-8`…), the
///   bytes are corrupt and [`ParseError::InvalidUtf8`] gives the offset of the first
///   bad byte.
/// * Otherwise the sender is taken to use ISO-8859-1 (HL7's `8859/1`, what 8-bit
///   legacy instruments send): each byte becomes the character with the same number, so
///   no byte is lost and [`encode_latin1`] gives the original bytes back.
///
/// A returned `Cow::Owned` therefore means "decoded as ISO-8859-1"; answer such a
/// sender with [`encode_latin1`] of the reply.
pub fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, ParseError> {
    let err = match std::str::from_utf8(bytes) {
        Ok(s) => return Ok(Cow::Borrowed(s)),
        Err(e) => e,
    };
    if declares_unicode(bytes) {
        return Err(ParseError::InvalidUtf8 {
            offset: err.valid_up_to(),
        });
    }
    Ok(Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect()))
}

/// Encodes text as ISO-8859-1; `None` if a character has no ISO-8859-1 code.
pub fn encode_latin1(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
}

/// Reads MSH-18 straight from the bytes (delimiters are ASCII, so this works before
/// the text is decoded).
fn declares_unicode(bytes: &[u8]) -> bool {
    let line_end = bytes
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(bytes.len());
    let line = bytes.get(..line_end).unwrap_or_default();
    let (Some(b"MSH"), Some(&fs), Some(&cs)) = (line.get(..3), line.get(3), line.get(4)) else {
        return false;
    };
    // Split index 17 is MSH-18: index 0 is "MSH", index 1 MSH-2 (MSH-1 is the separator).
    let Some(field) = line.split(|&b| b == fs).nth(17) else {
        return false;
    };
    let value = field.split(|&b| b == cs).next().unwrap_or_default();
    let upper = value.to_ascii_uppercase();
    upper.windows(3).any(|w| w == b"UTF") || upper.windows(7).any(|w| w == b"UNICODE")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_borrowed() {
        let s = "MSH|^~\\&|é\r".as_bytes();
        assert!(matches!(decode(s), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn latin1_is_lossless() {
        let bytes = b"MSH|^~\\&|A|B||||||||||||||8859/1\rPID|1||1||M\xfcller\r";
        let text = decode(bytes).unwrap();
        assert!(text.contains("Müller"));
        assert_eq!(encode_latin1(&text).unwrap(), bytes.to_vec());
        assert_eq!(encode_latin1("😀"), None);
    }

    #[test]
    fn declared_utf8_with_bad_bytes_is_refused() {
        let bytes = b"MSH|^~\\&|A|B||||||||||||||UNICODE UTF-8\rPID|1||1||M\xfcller\r";
        assert_eq!(decode(bytes), Err(ParseError::InvalidUtf8 { offset: 51 }));
    }
}
