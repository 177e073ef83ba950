//! Writing HL7 v2: a small segment writer and re-encoding of parsed messages.

use crate::delims::Delimiters;
use crate::escape::{escape, translate};
use crate::message::Message;

/// Builds a message segment by segment. Segments are ended with CR, as HL7 requires.
///
/// ```
/// use labguard_hl7::{Delimiters, MessageWriter};
/// let mut w = MessageWriter::new(Delimiters::STANDARD);
/// w.msh().field("LAB").skip_to(9).components(&["ACK", "R01", "ACK"]);
/// w.segment("MSA").field("AA").field("MSG^1");
/// assert_eq!(w.finish(), "MSH|^~\\&|LAB||||||ACK^R01^ACK\rMSA|AA|MSG\\S\\1\r");
/// ```
#[derive(Debug, Clone)]
pub struct MessageWriter {
    delims: Delimiters,
    out: String,
}

impl MessageWriter {
    /// A writer for messages with the given delimiters.
    pub fn new(delims: Delimiters) -> MessageWriter {
        MessageWriter {
            delims,
            out: String::with_capacity(256),
        }
    }

    /// The delimiters this writer uses.
    pub fn delimiters(&self) -> Delimiters {
        self.delims
    }

    fn start(&mut self, name: &str) {
        if !self.out.is_empty() {
            self.out.push('\r');
        }
        self.out.push_str(name);
    }

    /// Starts the MSH segment, writing MSH-1 and MSH-2; the next field written is MSH-3.
    pub fn msh(&mut self) -> SegmentWriter<'_> {
        self.start("MSH");
        self.out.push(self.delims.field());
        self.out.push_str(&self.delims.encoding_characters());
        SegmentWriter { w: self, next: 3 }
    }

    /// Starts a segment. `name` is written as it is: pass a segment name such as `MSA`.
    pub fn segment(&mut self, name: &str) -> SegmentWriter<'_> {
        self.start(name);
        SegmentWriter { w: self, next: 1 }
    }

    /// The message, every segment ended by CR.
    pub fn finish(mut self) -> String {
        if !self.out.is_empty() {
            self.out.push('\r');
        }
        self.out
    }
}

/// Writes the fields of one segment in order. Text is escaped; `raw` is not.
#[derive(Debug)]
pub struct SegmentWriter<'w> {
    w: &'w mut MessageWriter,
    next: usize,
}

impl SegmentWriter<'_> {
    fn sep(&mut self) {
        self.w.out.push(self.w.delims.field());
        self.next += 1;
    }

    /// Writes the next field as one escaped value.
    pub fn field(&mut self, text: &str) -> &mut Self {
        self.sep();
        let d = self.w.delims;
        self.w.out.push_str(&escape(text, &d));
        self
    }

    /// Writes the next field as components, each escaped; trailing empty components are
    /// left out as HL7 recommends.
    pub fn components(&mut self, parts: &[&str]) -> &mut Self {
        self.sep();
        let d = self.w.delims;
        let used = parts
            .iter()
            .rposition(|p| !p.is_empty())
            .map_or(0, |i| i + 1);
        for (i, p) in parts.iter().take(used).enumerate() {
            if i > 0 {
                self.w.out.push(d.component());
            }
            self.w.out.push_str(&escape(p, &d));
        }
        self
    }

    /// Writes the next field verbatim. `raw` must already be encoded with this writer's
    /// delimiters (e.g. a field copied from a parsed message with the same delimiters).
    pub fn raw(&mut self, raw: &str) -> &mut Self {
        self.sep();
        self.w.out.push_str(raw);
        self
    }

    /// Leaves fields empty so that the next field written is field `n`.
    pub fn skip_to(&mut self, n: usize) -> &mut Self {
        while self.next < n {
            self.sep();
        }
        self
    }
}

impl Message<'_> {
    /// Writes the message back with its own delimiters, segments ended by CR.
    ///
    /// Values are copied exactly as they were received (escapes included), so
    /// `Message::parse(&m.encode())` equals `m`.
    pub fn encode(&self) -> String {
        self.encode_with(self.delimiters())
    }

    /// Writes the message with other delimiters, re-escaping every value so that it keeps
    /// its meaning: e.g. a `^` that was plain text under `#@!$%` becomes `\S\` under
    /// `|^~\&`.
    pub fn encode_with(&self, to: Delimiters) -> String {
        let from = self.delimiters();
        let mut out = String::with_capacity(self.input().len() + 16);
        for seg in self.segments() {
            out.push_str(seg.name());
            let mut first = 1;
            if seg.index() == 1 {
                out.push(to.field());
                out.push_str(&to.encoding_characters());
                first = 3;
            }
            for n in first..=seg.field_count() {
                out.push(to.field());
                let field = seg.field(n);
                if from == to {
                    out.push_str(field.raw());
                    continue;
                }
                for (r, rep) in field.repetitions().enumerate() {
                    if r > 0 {
                        out.push(to.repetition());
                    }
                    for (c, comp) in rep.components().enumerate() {
                        if c > 0 {
                            out.push(to.component());
                        }
                        for (s, sub) in comp.subcomponents().enumerate() {
                            if s > 0 {
                                out.push(to.subcomponent());
                            }
                            translate(sub, &from, &to, &mut out);
                        }
                    }
                }
            }
            out.push('\r');
        }
        out
    }
}
