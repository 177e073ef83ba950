//! Where one POCT1-A2 message ends on a byte stream. The device messaging layer over TCP
//! has no framing bytes: a message is one XML document, complete when its root element
//! closes. [`Splitter`] buffers a connection's bytes and cuts them into documents, with a
//! size bound so a peer that never closes its root cannot grow the buffer.
//!
//! A literal `</ROOT>` can only be the root's end tag: `<` may not appear raw in attribute
//! values or text, so the search needs no full parse (the conversation parses each piece).

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FramingError {
    #[error("a message is larger than {0} bytes")]
    TooLarge(usize),
    #[error("a message must start with an XML element (byte {0})")]
    NotXml(usize),
}

/// Cuts a byte stream into XML documents of at most `max` bytes.
#[derive(Debug)]
pub struct Splitter {
    buf: Vec<u8>,
    max: usize,
}

impl Splitter {
    pub fn new(max: usize) -> Splitter {
        Splitter {
            buf: Vec::new(),
            max,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// True while part of a message is buffered.
    pub fn in_message(&self) -> bool {
        self.buf.iter().any(|b| !is_separator(*b))
    }

    /// The next complete document, if one is buffered. After an error the stream cannot be
    /// resynchronised: the caller closes the connection.
    pub fn next_message(&mut self) -> Option<Result<Vec<u8>, FramingError>> {
        let start = self.buf.iter().position(|b| !is_separator(*b));
        let Some(start) = start else {
            self.buf.clear();
            return None;
        };
        match find_end(&self.buf, start) {
            Ok(Some(end)) if end - start > self.max => Some(Err(FramingError::TooLarge(self.max))),
            Ok(Some(end)) => {
                let msg = self.buf.get(start..end).unwrap_or_default().to_vec();
                self.buf.drain(..end);
                Some(Ok(msg))
            }
            Ok(None) if self.buf.len() - start > self.max => {
                Some(Err(FramingError::TooLarge(self.max)))
            }
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// Whitespace, NUL and a byte-order mark's bytes between documents.
fn is_separator(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0 | 0xEF | 0xBB | 0xBF)
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The end (exclusive) of the document starting at `start`, `None` if not yet complete.
fn find_end(buf: &[u8], start: usize) -> Result<Option<usize>, FramingError> {
    let mut i = start;
    // Prolog: the XML declaration, comments and processing instructions before the root.
    loop {
        let rest = buf.get(i..).unwrap_or_default();
        if rest.len() < 4 {
            return Ok(None);
        }
        let (open, close): (&[u8], &[u8]) = if rest.starts_with(b"<?") {
            (b"<?", b"?>")
        } else if rest.starts_with(b"<!--") {
            (b"<!--", b"-->")
        } else if rest.starts_with(b"<!") {
            // A DOCTYPE travels with its document, whose parser refuses it (answered AE);
            // an internal subset ends at "]>".
            let bracket = rest.iter().position(|b| *b == b'[');
            let gt = rest.iter().position(|b| *b == b'>');
            match (bracket, gt) {
                (Some(b), Some(g)) if b < g => (b"<!", b"]>"),
                _ => (b"<!", b">"),
            }
        } else if rest.first() == Some(&b'<') {
            break;
        } else {
            return Err(FramingError::NotXml(i));
        };
        let Some(e) = find(buf, i + open.len(), close) else {
            return Ok(None);
        };
        i = e + close.len();
        while buf.get(i).is_some_and(|b| is_separator(*b)) {
            i += 1;
        }
    }
    // The root's name, then the end of its start tag (quotes respected).
    let name_start = i + 1;
    let mut j = name_start;
    while buf
        .get(j)
        .is_some_and(|b| !b.is_ascii_whitespace() && *b != b'>' && *b != b'/')
    {
        j += 1;
    }
    if j >= buf.len() {
        return Ok(None);
    }
    let name = buf.get(name_start..j).unwrap_or_default();
    if name.is_empty() || !(name[0].is_ascii_alphabetic() || name[0] == b'_') {
        return Err(FramingError::NotXml(i));
    }
    let mut quote: Option<u8> = None;
    let mut k = j;
    loop {
        let Some(&b) = buf.get(k) else {
            return Ok(None);
        };
        match (quote, b) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => {
                if buf.get(k.wrapping_sub(1)) == Some(&b'/') && k > j {
                    return Ok(Some(k + 1)); // <ROOT/>
                }
                break;
            }
            _ => {}
        }
        k += 1;
    }
    // The root's end tag: `</NAME` then optional whitespace and `>`.
    let mut end_tag = b"</".to_vec();
    end_tag.extend_from_slice(name);
    let mut from = k + 1;
    loop {
        let Some(p) = find(buf, from, &end_tag) else {
            return Ok(None);
        };
        let mut q = p + end_tag.len();
        while buf.get(q).is_some_and(u8::is_ascii_whitespace) {
            q += 1;
        }
        match buf.get(q) {
            None => return Ok(None),
            Some(b'>') => return Ok(Some(q + 1)),
            // `</NAMEX`: a longer name, keep looking.
            Some(_) => from = p + 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &mut Splitter) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(m) = s.next_message() {
            out.push(String::from_utf8(m.unwrap()).unwrap());
        }
        out
    }

    #[test]
    fn documents_are_cut_at_their_root_end_whatever_the_reads() {
        let stream =
            "<?xml version=\"1.0\"?>\r\n<HEL.R01><HDR><HDR.control_id V=\"1\"/></HDR></HEL.R01>\n\
                      <!-- c --><DST.R01 a='x>'><DST.R01X/></DST.R01 >\0<EOT.R01/>\
                      <!DOCTYPE R [<!ENTITY a \"b\">]><R>&a;</R>";
        for chunk in 1..stream.len() {
            let mut s = Splitter::new(1 << 16);
            let mut got = Vec::new();
            for piece in stream.as_bytes().chunks(chunk) {
                s.push(piece);
                got.extend(all(&mut s));
            }
            assert_eq!(got.len(), 4, "chunk {chunk}: {got:?}");
            assert!(got[0].starts_with("<?xml") && got[0].ends_with("</HEL.R01>"));
            assert!(got[1].starts_with("<!--") && got[1].ends_with("</DST.R01 >"));
            assert_eq!(got[2], "<EOT.R01/>");
            assert!(got[3].starts_with("<!DOCTYPE") && got[3].ends_with("</R>"));
            assert!(!s.in_message());
        }
    }

    #[test]
    fn oversize_and_non_xml_are_errors() {
        let mut s = Splitter::new(64);
        s.push(b"<OBS.R01>");
        s.push(&[b'x'; 100]);
        assert_eq!(s.next_message(), Some(Err(FramingError::TooLarge(64))));
        let mut s = Splitter::new(64);
        s.push(b"hello");
        assert!(matches!(
            s.next_message(),
            Some(Err(FramingError::NotXml(0)))
        ));
        let mut s = Splitter::new(64);
        s.push(b"<OBS.R01>");
        assert_eq!(s.next_message(), None);
        assert!(s.in_message());
    }
}
