//! Writing E1394 records and whole E1381 transmissions (for tests, simulators and
//! queries sent to instruments).

use crate::frame::{frames, ENQ, EOT, MAX_FRAME_TEXT};
use crate::text::{escape, Delimiters};

/// Builds one record field by field; values are escaped, trailing empty fields dropped.
#[derive(Debug, Clone)]
pub struct RecordWriter {
    d: Delimiters,
    buf: String,
    /// Length of `buf` up to the last non-empty field.
    kept: usize,
}

impl RecordWriter {
    /// Starts a record of type `kind` (`'H'`, `'P'`, …). An H record gets its
    /// delimiter definition (H-2) written here, so its next field is H-3.
    pub fn new(kind: char, d: Delimiters) -> RecordWriter {
        let mut buf = String::new();
        buf.push(kind);
        if kind == 'H' {
            buf.push(char::from(d.field));
            buf.extend(d.definition().map(char::from));
        }
        let kept = buf.len();
        RecordWriter { d, buf, kept }
    }

    /// The next field, one value.
    pub fn field(&mut self, value: &str) -> &mut Self {
        self.components(&[value])
    }

    /// The next field, one repeat of components (`a^b^c`).
    pub fn components(&mut self, components: &[&str]) -> &mut Self {
        self.repeats(&[components])
    }

    /// The next field, repeats of components (`a^b\c^d`).
    pub fn repeats(&mut self, repeats: &[&[&str]]) -> &mut Self {
        self.buf.push(char::from(self.d.field));
        for (i, comps) in repeats.iter().enumerate() {
            if i > 0 {
                self.buf.push(char::from(self.d.repeat));
            }
            // Trailing empty components carry nothing.
            let n = comps
                .iter()
                .rposition(|c| !c.is_empty())
                .map_or(0, |p| p + 1);
            for (j, c) in comps.iter().take(n).enumerate() {
                if j > 0 {
                    self.buf.push(char::from(self.d.component));
                }
                self.buf.push_str(&escape(c, &self.d));
            }
        }
        if !self.buf.ends_with(char::from(self.d.field)) {
            self.kept = self.buf.len();
        }
        self
    }

    /// `n` empty fields.
    pub fn skip(&mut self, n: usize) -> &mut Self {
        for _ in 0..n {
            self.buf.push(char::from(self.d.field));
        }
        self
    }

    /// The record text, ending in CR.
    pub fn finish(&self) -> String {
        let mut s = self.buf.get(..self.kept).unwrap_or_default().to_string();
        s.push('\r');
        s
    }
}

/// The frames of a transmission that sends each record as its own message (the usual
/// LIS1-A practice), splitting records longer than 240 characters into intermediate
/// frames. Frame numbers run on from 1 across messages, wrapping 7 → 0.
pub fn transmission<R: AsRef<[u8]>>(records: &[R]) -> Vec<Vec<u8>> {
    transmission_with(records, MAX_FRAME_TEXT)
}

/// [`transmission`] with frames of at most `max_text` bytes of text (1..=240).
pub fn transmission_with<R: AsRef<[u8]>>(records: &[R], max_text: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut n = 1;
    for r in records {
        let (mut f, next) = frames(r.as_ref(), n, max_text);
        out.append(&mut f);
        n = next;
    }
    out
}

/// A whole transmission as one byte stream, `ENQ frames… EOT`, for peers or tests that
/// do not wait for replies.
pub fn wire<R: AsRef<[u8]>>(records: &[R]) -> Vec<u8> {
    let mut out = vec![ENQ];
    for f in transmission(records) {
        out.extend_from_slice(&f);
    }
    out.push(EOT);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_carries_its_delimiters_and_trailing_fields_go() {
        let d = Delimiters::default();
        let mut w = RecordWriter::new('H', d);
        w.skip(2).components(&["LIS", "", ""]).skip(3).field("");
        assert_eq!(w.finish(), "H|\\^&|||LIS\r");
        let mut r = RecordWriter::new('R', d);
        r.field("1").components(&["", "", "", "NA"]).field("1|2");
        assert_eq!(r.finish(), "R|1|^^^NA|1&F&2\r");
    }
}
