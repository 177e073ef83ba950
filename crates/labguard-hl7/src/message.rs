//! The zero-copy structural parser and its views.

use std::borrow::Cow;

use crate::delims::Delimiters;
use crate::error::{ParseError, ParseProblem};
use crate::escape::unescape;
use crate::scan::{is_terminator, Specials};

/// A parsed HL7 v2 message that borrows every value from its input.
///
/// Parsing splits the input once into segments and fields; repetitions, components and
/// sub-components are split on access, which costs nothing for the many fields nobody
/// reads. Values are returned still escaped by `raw()` accessors and unescaped (as
/// [`Cow`], allocating only when an escape sequence is present) by `text()` accessors.
///
/// Field numbering follows HL7: `segment.field(n)` is `XXX-n`. For MSH, field 1 is the
/// field separator itself and field 2 the encoding characters, so MSH-9 is
/// `msh.field(9)` as in the standard.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    input: &'a str,
    delims: Delimiters,
    /// Every field of every segment as byte offsets into `input`, the segment name first,
    /// in one vector so a message costs two allocations however many segments it has.
    /// Offsets rather than `&str`: half the size, and no char-boundary checks while
    /// scanning (every cut is next to an ASCII delimiter).
    fields: Vec<Span>,
    segments: Vec<(usize, usize)>,
    problems: Vec<ParseProblem>,
}

impl PartialEq for Message<'_> {
    /// Two messages are equal when their delimiters and all segments and fields are equal;
    /// how segments were terminated (CR, LF, CRLF) and a BOM do not matter.
    fn eq(&self, other: &Self) -> bool {
        self.delims == other.delims
            && self.segments.len() == other.segments.len()
            && self.segments().zip(other.segments()).all(|(a, b)| a == b)
    }
}

/// Start and end byte offset of a field in the input.
type Span = (u32, u32);

fn span(a: usize, b: usize) -> Span {
    // Inputs are at most u32::MAX bytes (checked in `parse`).
    (a as u32, b as u32)
}

impl<'a> Message<'a> {
    /// Parses a message from text.
    ///
    /// Accepts a leading UTF-8 byte order mark, segments ended by CR, LF or CRLF, blank
    /// lines between segments, and segments of any name (Z-segments and segments this
    /// crate has no typed view for are kept as they are). The first segment must be MSH.
    pub fn parse(input: &'a str) -> Result<Message<'a>, ParseError> {
        let s = input.strip_prefix('\u{FEFF}').unwrap_or(input);
        if u32::try_from(s.len()).is_err() {
            return Err(ParseError::TooLarge);
        }
        let bytes = s.as_bytes();
        let len = bytes.len();
        let mut i = 0;
        while i < len && bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i += 1;
        }
        if i >= len {
            return Err(ParseError::Empty);
        }
        if bytes.get(i..i + 3) != Some(b"MSH".as_slice()) {
            return Err(ParseError::MissingMsh);
        }
        let fs = match bytes.get(i + 3) {
            None => return Err(ParseError::TruncatedMsh),
            Some(&b) if is_terminator(b) => return Err(ParseError::TruncatedMsh),
            Some(&b) if !b.is_ascii_punctuation() => {
                return Err(ParseError::InvalidDelimiters {
                    why: "delimiters must be ASCII punctuation",
                })
            }
            Some(&b) => b,
        };
        let enc_start = i + 4;
        let enc_end = bytes
            .get(enc_start..)
            .unwrap_or_default()
            .iter()
            .position(|&b| b == fs || is_terminator(b))
            .map_or(len, |p| enc_start + p);
        if enc_end == enc_start {
            return Err(ParseError::TruncatedMsh);
        }
        // Both ends sit next to ASCII bytes (or the end), so they are char boundaries.
        let enc = s.get(enc_start..enc_end).unwrap_or_default();
        let delims = Delimiters::from_msh(fs, enc)?;

        let mut msg = Message {
            input: s,
            delims,
            fields: Vec::with_capacity(len / 12 + 8),
            segments: Vec::with_capacity(len / 80 + 2),
            problems: Vec::new(),
        };
        msg.fields.push(span(i, i + 3));
        msg.fields.push(span(i + 3, i + 4));
        msg.fields.push(span(enc_start, enc_end));
        let mut seg_start = 0;
        // After MSH-2 comes either a field separator (opening MSH-3) or the segment end.
        let mut open = bytes.get(enc_end) == Some(&fs);
        let mut field_start = enc_end + 1;
        let mut in_segment = true;
        // Where the next segment starts once the current one has ended.
        let mut next_start = 0;
        let from = if open { enc_end + 1 } else { enc_end };
        for j in Specials::new(bytes, from, fs) {
            let is_fs = bytes.get(j) == Some(&fs);
            if !in_segment {
                if !is_fs && j == next_start {
                    next_start = j + 1; // CRLF, or a blank line
                    continue;
                }
                (in_segment, open) = (true, true);
                seg_start = msg.fields.len();
                field_start = next_start;
            }
            if is_fs {
                msg.fields.push(span(field_start, j));
                field_start = j + 1;
            } else {
                if open {
                    msg.fields.push(span(field_start, j));
                }
                msg.close_segment(seg_start);
                in_segment = false;
                next_start = j + 1;
            }
        }
        // The last segment may have no terminator.
        if in_segment {
            if open {
                msg.fields.push(span(field_start, len));
            }
            msg.close_segment(seg_start);
        } else if next_start < len {
            seg_start = msg.fields.len();
            msg.fields.push(span(next_start, len));
            msg.close_segment(seg_start);
        }
        Ok(msg)
    }

    fn close_segment(&mut self, start: usize) {
        let end = self.fields.len();
        let this = self.fields.get(start..end).unwrap_or_default();
        let input = self.input;
        let text = |sp: &Span| input.get(sp.0 as usize..sp.1 as usize).unwrap_or_default();
        // A line of only spaces (trailing whitespace in a file) is not a segment.
        if let [only] = this {
            if text(only).trim().is_empty() {
                self.fields.truncate(start);
                return;
            }
        }
        let index = self.segments.len() + 1;
        let name = this.first().map(text).unwrap_or_default();
        let valid = name.len() == 3
            && name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !valid {
            self.problems
                .push(ParseProblem::InvalidSegmentName { index });
        } else if name == "MSH" && index > 1 {
            self.problems.push(ParseProblem::RepeatedMsh { index });
        }
        self.segments.push((start, end));
    }

    /// Parses a message from bytes that must be UTF-8 (ASCII is UTF-8).
    ///
    /// Invalid UTF-8 is refused with its byte offset rather than replaced, because a
    /// replacement character in a result value or a name silently changes patient data.
    /// For senders of 8-bit legacy text use [`decode`](crate::decode) first.
    pub fn parse_bytes(input: &'a [u8]) -> Result<Message<'a>, ParseError> {
        match std::str::from_utf8(input) {
            Ok(s) => Message::parse(s),
            Err(e) => Err(ParseError::InvalidUtf8 {
                offset: e.valid_up_to(),
            }),
        }
    }

    /// The delimiters declared in MSH-1/MSH-2.
    pub fn delimiters(&self) -> Delimiters {
        self.delims
    }

    /// The input the message was parsed from, without a byte order mark.
    pub fn input(&self) -> &'a str {
        self.input
    }

    /// Oddities found while parsing (bad segment names, a second MSH).
    pub fn problems(&self) -> &[ParseProblem] {
        &self.problems
    }

    /// The number of segments.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// Always false: a parsed message has at least its MSH.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// All segments in order.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'_>> + '_ {
        (1..=self.segments.len()).filter_map(move |i| self.segment(i))
    }

    /// The segment at 1-based position `index`.
    pub fn segment(&self, index: usize) -> Option<Segment<'_>> {
        let &(start, end) = self.segments.get(index.checked_sub(1)?)?;
        Some(Segment {
            input: self.input,
            fields: self.fields.get(start..end)?,
            delims: self.delims,
            index,
            is_msh: index == 1,
        })
    }

    /// The MSH segment (always the first).
    pub fn msh(&self) -> Segment<'_> {
        self.segment(1).unwrap_or(Segment {
            input: self.input,
            fields: &[],
            delims: self.delims,
            index: 1,
            is_msh: true,
        })
    }

    /// All segments with the given name, in order.
    pub fn segments_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = Segment<'s>> + 's {
        self.segments().filter(move |s| s.name() == name)
    }

    /// The first segment with the given name.
    pub fn first(&self, name: &str) -> Option<Segment<'_>> {
        self.segments().find(|s| s.name() == name)
    }
}

/// One segment of a [`Message`].
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    input: &'a str,
    fields: &'a [Span],
    delims: Delimiters,
    index: usize,
    is_msh: bool,
}

impl PartialEq for Segment<'_> {
    /// Segments are equal when their fields hold the same text (where in their inputs
    /// they stand does not matter).
    fn eq(&self, other: &Self) -> bool {
        self.fields.len() == other.fields.len()
            && (0..self.fields.len()).all(|n| self.raw(n) == other.raw(n))
    }
}

impl Eq for Segment<'_> {}

impl<'a> Segment<'a> {
    /// Field `n` as it stands in the input (0 is the segment name).
    fn raw(&self, n: usize) -> &'a str {
        self.fields
            .get(n)
            .and_then(|&(a, b)| self.input.get(a as usize..b as usize))
            .unwrap_or_default()
    }

    /// The segment name, e.g. `PID` or `ZXY`.
    pub fn name(&self) -> &'a str {
        self.raw(0)
    }

    /// The 1-based position of the segment in its message (what ERR-2 calls the segment
    /// sequence).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The highest field number present (trailing empty fields included).
    pub fn field_count(&self) -> usize {
        self.fields.len().saturating_sub(1)
    }

    /// Field `n` in HL7 numbering; an empty field when absent.
    pub fn field(&self, n: usize) -> Field<'a> {
        let raw = if n == 0 { "" } else { self.raw(n) };
        Field {
            raw,
            delims: self.delims,
            literal: self.is_msh && n <= 2,
        }
    }

    /// Shorthand for `field(n).component(c).text()`: first repetition, component `c`,
    /// first sub-component, unescaped.
    pub fn text(&self, n: usize, c: usize) -> Cow<'a, str> {
        self.field(n).component(c).text()
    }

    /// The fields (1..=field_count), numbered as in HL7.
    pub fn fields(&self) -> impl Iterator<Item = (usize, Field<'a>)> + '_ {
        (1..=self.field_count()).map(move |n| (n, self.field(n)))
    }

    /// The delimiters of the message this segment belongs to.
    pub fn delimiters(&self) -> Delimiters {
        self.delims
    }
}

/// One field: zero or more repetitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    raw: &'a str,
    delims: Delimiters,
    /// MSH-1 and MSH-2 hold delimiter characters and are never split or unescaped.
    literal: bool,
}

impl<'a> Field<'a> {
    /// The field as it stands in the message, delimiters and escapes included.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// True when the field holds nothing.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// True for the HL7 explicit null `""` ("delete the stored value").
    pub fn is_null(&self) -> bool {
        self.raw == "\"\""
    }

    /// The repetitions of the field (one for a non-repeating field, none when empty).
    pub fn repetitions(&self) -> impl Iterator<Item = Repetition<'a>> + 'a {
        let (d, literal) = (self.delims, self.literal);
        let sep = if literal { None } else { Some(d.repetition()) };
        split_opt(self.raw, sep).map(move |raw| Repetition {
            raw,
            delims: d,
            literal,
        })
    }

    /// Repetition `n` (1-based); empty when absent.
    pub fn rep(&self, n: usize) -> Repetition<'a> {
        self.repetitions()
            .nth(n.saturating_sub(1))
            .filter(|_| n > 0)
            .unwrap_or(Repetition {
                raw: "",
                delims: self.delims,
                literal: self.literal,
            })
    }

    /// Component `n` (1-based) of the first repetition.
    pub fn component(&self, n: usize) -> Component<'a> {
        self.rep(1).component(n)
    }

    /// The first repetition's first component's first sub-component, unescaped: the whole
    /// value of a simple field.
    pub fn text(&self) -> Cow<'a, str> {
        self.component(1).text()
    }
}

/// One repetition of a field: one or more components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repetition<'a> {
    raw: &'a str,
    delims: Delimiters,
    literal: bool,
}

impl<'a> Repetition<'a> {
    /// The repetition as it stands in the message.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// True when the repetition holds nothing.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The components.
    pub fn components(&self) -> impl Iterator<Item = Component<'a>> + 'a {
        let (d, literal) = (self.delims, self.literal);
        let sep = if literal { None } else { Some(d.component()) };
        split_opt(self.raw, sep).map(move |raw| Component {
            raw,
            delims: d,
            literal,
        })
    }

    /// Component `n` (1-based); empty when absent.
    pub fn component(&self, n: usize) -> Component<'a> {
        self.components()
            .nth(n.saturating_sub(1))
            .filter(|_| n > 0)
            .unwrap_or(Component {
                raw: "",
                delims: self.delims,
                literal: self.literal,
            })
    }

    /// The first component's first sub-component, unescaped.
    pub fn text(&self) -> Cow<'a, str> {
        self.component(1).text()
    }
}

/// One component: one or more sub-components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Component<'a> {
    raw: &'a str,
    delims: Delimiters,
    literal: bool,
}

impl<'a> Component<'a> {
    /// The component as it stands in the message.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    /// True when the component holds nothing.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The sub-components, still escaped.
    pub fn subcomponents(&self) -> impl Iterator<Item = &'a str> + 'a {
        let sep = if self.literal {
            None
        } else {
            Some(self.delims.subcomponent())
        };
        split_opt(self.raw, sep)
    }

    /// Sub-component `n` (1-based), unescaped; empty when absent.
    pub fn sub(&self, n: usize) -> Cow<'a, str> {
        let raw = self
            .subcomponents()
            .nth(n.saturating_sub(1))
            .filter(|_| n > 0)
            .unwrap_or_default();
        if self.literal {
            Cow::Borrowed(raw)
        } else {
            unescape(raw, &self.delims)
        }
    }

    /// The first sub-component, unescaped: the value of a simple component.
    pub fn text(&self) -> Cow<'a, str> {
        self.sub(1)
    }
}

/// Splits on `sep`, or yields the whole text when there is no separator; yields nothing
/// for empty text so an empty field has no repetitions.
fn split_opt(raw: &str, sep: Option<char>) -> Parts<'_> {
    Parts {
        rest: (!raw.is_empty()).then_some(raw),
        // Delimiters are ASCII (checked in `Delimiters::new`), so splitting on the byte
        // never lands inside a multi-byte character.
        sep: sep.map(|c| c as u8),
    }
}

/// Allocation-free splitter behind every `repetitions()`/`components()` call.
struct Parts<'a> {
    rest: Option<&'a str>,
    sep: Option<u8>,
}

impl<'a> Iterator for Parts<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let r = self.rest?;
        let cut = self
            .sep
            .and_then(|c| r.bytes().position(|b| b == c))
            .and_then(|p| Some((r.get(..p)?, r.get(p + 1..)?)));
        match cut {
            Some((head, tail)) => {
                self.rest = Some(tail);
                Some(head)
            }
            None => {
                self.rest = None;
                Some(r)
            }
        }
    }
}
