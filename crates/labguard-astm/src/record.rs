//! Zero-copy E1394 (CLSI LIS2-A2) records: a transmission is records separated by CR,
//! the first an H record declaring the delimiters. Nothing is copied until a value is
//! asked for as text (and then only when it holds escapes or is not UTF-8).

use std::borrow::Cow;

use labguard_hl7::Hl7Timestamp;

use crate::error::{ParseError, ParseProblem};
use crate::text::{decode, unescape, Delimiters};

/// The record types of LIS2-A2 section 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// H: message header.
    Header,
    /// P: patient information.
    Patient,
    /// O: test order.
    Order,
    /// R: result.
    Result,
    /// C: comment (attached to the record before it).
    Comment,
    /// Q: request information (a query).
    Query,
    /// M: manufacturer information.
    Manufacturer,
    /// S: scientific (reserved; kept, not interpreted).
    Scientific,
    /// L: message terminator.
    Terminator,
    /// Anything else; the byte is kept only if it is an ASCII letter (it names the type,
    /// never data).
    Other(u8),
}

impl RecordType {
    fn of(b: u8) -> RecordType {
        match b.to_ascii_uppercase() {
            b'H' => RecordType::Header,
            b'P' => RecordType::Patient,
            b'O' => RecordType::Order,
            b'R' => RecordType::Result,
            b'C' => RecordType::Comment,
            b'Q' => RecordType::Query,
            b'M' => RecordType::Manufacturer,
            b'S' => RecordType::Scientific,
            b'L' => RecordType::Terminator,
            x if x.is_ascii_alphabetic() => RecordType::Other(x),
            _ => RecordType::Other(b'?'),
        }
    }

    /// The one-letter code (`?` for a type that is not a letter).
    pub fn letter(self) -> char {
        char::from(match self {
            RecordType::Header => b'H',
            RecordType::Patient => b'P',
            RecordType::Order => b'O',
            RecordType::Result => b'R',
            RecordType::Comment => b'C',
            RecordType::Query => b'Q',
            RecordType::Manufacturer => b'M',
            RecordType::Scientific => b'S',
            RecordType::Terminator => b'L',
            RecordType::Other(b) => b,
        })
    }
}

/// A parsed transmission: the records from H to L.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmission<'a> {
    delimiters: Delimiters,
    records: Vec<Record<'a>>,
    /// Oddities that did not stop the parse (no values, only record positions).
    pub problems: Vec<ParseProblem>,
}

/// Parses a transmission: the texts of its messages joined (what
/// [`Event::Message`](crate::Event::Message) delivers, in order). Records end in CR; LF
/// and CR LF are tolerated, empty lines skipped.
pub fn parse(input: &[u8]) -> Result<Transmission<'_>, ParseError> {
    let mut lines = input
        .split(|&b| b == b'\r' || b == b'\n')
        .filter(|l| !l.iter().all(|&b| b == b' '));
    let first = lines.next().ok_or(ParseError::Empty)?;
    let delimiters = Delimiters::from_header(first)?;
    let mut records = vec![Record {
        kind: RecordType::Header,
        index: 1,
        text: first,
        delimiters,
    }];
    let mut problems = Vec::new();
    let mut ended = false;
    for (i, text) in lines.enumerate() {
        let index = i + 2;
        let kind = text
            .first()
            .map_or(RecordType::Other(b'?'), |&b| RecordType::of(b));
        let well_formed = text.get(1).is_none_or(|&b| b == delimiters.field);
        if ended {
            problems.push(ParseProblem::AfterTerminator { index });
        }
        match kind {
            _ if !well_formed => problems.push(ParseProblem::UnknownRecordType { index }),
            RecordType::Other(_) => problems.push(ParseProblem::UnknownRecordType { index }),
            RecordType::Header => problems.push(ParseProblem::RepeatedHeader { index }),
            RecordType::Terminator => ended = true,
            _ => {}
        }
        let kind = match well_formed {
            true => kind,
            false => RecordType::Other(b'?'),
        };
        records.push(Record {
            kind,
            index,
            text,
            delimiters,
        });
    }
    if !ended {
        problems.push(ParseProblem::MissingTerminator);
    }
    Ok(Transmission {
        delimiters,
        records,
        problems,
    })
}

impl<'a> Transmission<'a> {
    pub fn delimiters(&self) -> Delimiters {
        self.delimiters
    }

    /// Every record in order, the H record first.
    pub fn records(&self) -> &[Record<'a>] {
        &self.records
    }

    /// The H record.
    pub fn header(&self) -> Header<'a> {
        // `parse` always puts the H record first.
        Header(self.records.first().copied().unwrap_or(Record {
            kind: RecordType::Header,
            index: 1,
            text: b"H",
            delimiters: self.delimiters,
        }))
    }

    /// True when the transmission ends with an L record and nothing follows it.
    pub fn is_complete(&self) -> bool {
        !self.problems.iter().any(|p| {
            matches!(
                p,
                ParseProblem::MissingTerminator | ParseProblem::AfterTerminator { .. }
            )
        })
    }

    /// L-3, the termination code (`N` normal, `T` sender aborted, `E` error, …).
    pub fn termination_code(&self) -> Option<Cow<'a, str>> {
        let l = self
            .records
            .iter()
            .find(|r| r.kind == RecordType::Terminator)?;
        Some(l.field(3).text()).filter(|s| !s.is_empty())
    }
}

/// The H record's fields that a receiver needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a>(pub Record<'a>);

impl<'a> Header<'a> {
    /// H-5, sender name or id, first component (`name^software^version…` is common):
    /// what the listener binds to the device's enrolment.
    pub fn sender_name(&self) -> Option<Cow<'a, str>> {
        let s = self.0.field(5).component(1).text();
        match s.trim() {
            "" => None,
            t if t.len() == s.len() => Some(s),
            t => Some(Cow::Owned(t.to_string())),
        }
    }

    /// H-5 as sent, all components.
    pub fn sender(&self) -> Field<'a> {
        self.0.field(5)
    }

    /// H-10, receiver id.
    pub fn receiver(&self) -> Field<'a> {
        self.0.field(10)
    }

    /// H-12, processing id (`P` production, `T` training, `D` debugging, `Q` QC).
    pub fn processing_id(&self) -> Cow<'a, str> {
        self.0.field(12).component(1).text()
    }

    /// H-13, the version of LIS2 (E1394) the sender follows.
    pub fn version(&self) -> Cow<'a, str> {
        self.0.field(13).text()
    }

    /// H-14, when the message was written, if given and valid.
    pub fn timestamp(&self) -> Option<Hl7Timestamp> {
        self.0.field(14).timestamp()
    }
}

/// One record: its type, its 1-based position in the transmission, and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub kind: RecordType,
    pub index: usize,
    text: &'a [u8],
    delimiters: Delimiters,
}

impl<'a> Record<'a> {
    /// The record as received (without its CR).
    pub fn raw(&self) -> &'a [u8] {
        self.text
    }

    /// Field `n`, numbered as LIS2-A2 numbers them: field 1 is the record type, so R-3
    /// is `field(3)`. H-2 (the delimiter definition) is never split. A missing field is
    /// empty.
    pub fn field(&self, n: usize) -> Field<'a> {
        let d = self.delimiters;
        let raw = match n {
            0 => &[],
            _ => self
                .text
                .split(|&b| b == d.field)
                .nth(n - 1)
                .unwrap_or_default(),
        };
        Field {
            raw,
            d,
            literal: self.kind == RecordType::Header && n == 2,
        }
    }

    /// Every field in order, field 1 (the record type) first: one pass over the record,
    /// where calling [`field`](Record::field) for each would rescan it.
    pub fn fields(&self) -> impl Iterator<Item = Field<'a>> + 'a {
        let d = self.delimiters;
        let header = self.kind == RecordType::Header;
        self.text
            .split(move |&b| b == d.field)
            .enumerate()
            .map(move |(i, raw)| Field {
                raw,
                d,
                literal: header && i == 1,
            })
    }

    /// How many fields the record has (the record type counts as one).
    pub fn field_count(&self) -> usize {
        let f = self.delimiters.field;
        1 + self.text.iter().filter(|&&b| b == f).count()
    }

    /// The record's sequence number (field 2), if it is a number.
    pub fn sequence(&self) -> Option<u32> {
        std::str::from_utf8(self.field(2).raw())
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

/// One field: repeats of components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    raw: &'a [u8],
    d: Delimiters,
    literal: bool,
}

impl<'a> Field<'a> {
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    pub fn is_empty(&self) -> bool {
        self.raw.iter().all(|&b| b == b' ')
    }

    /// The repeats (at least one, possibly empty).
    pub fn repeats(&self) -> impl Iterator<Item = Repeat<'a>> + 'a {
        let d = self.d;
        let literal = self.literal;
        let raw = self.raw;
        let mut parts = raw.split(move |&b| b == d.repeat && !literal);
        std::iter::from_fn(move || parts.next().map(|raw| Repeat { raw, d }))
    }

    /// The first repeat.
    pub fn first(&self) -> Repeat<'a> {
        self.repeats().next().unwrap_or(Repeat {
            raw: &[],
            d: self.d,
        })
    }

    /// Component `n` (1-based) of the first repeat.
    pub fn component(&self, n: usize) -> Value<'a> {
        self.first().component(n)
    }

    /// The whole field as text, delimiters inside it kept and escapes replaced.
    pub fn text(&self) -> Cow<'a, str> {
        Value {
            raw: self.raw,
            d: self.d,
        }
        .text()
    }

    /// The first component read as an E1394 date/time (`YYYYMMDD[HHMM[SS]]`).
    pub fn timestamp(&self) -> Option<Hl7Timestamp> {
        let v = self.component(1);
        let s = std::str::from_utf8(v.raw()).ok()?;
        Hl7Timestamp::parse(s).ok()
    }
}

/// One repeat of a field: components.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeat<'a> {
    raw: &'a [u8],
    d: Delimiters,
}

impl<'a> Repeat<'a> {
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Component `n` (1-based); empty when absent.
    pub fn component(&self, n: usize) -> Value<'a> {
        let d = self.d;
        let raw = match n {
            0 => &[],
            _ => self
                .raw
                .split(|&b| b == d.component)
                .nth(n - 1)
                .unwrap_or_default(),
        };
        Value { raw, d }
    }

    /// Every component in order.
    pub fn components(&self) -> impl Iterator<Item = Value<'a>> + 'a {
        let d = self.d;
        self.raw
            .split(move |&b| b == d.component)
            .map(move |raw| Value { raw, d })
    }
}

/// One component value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Value<'a> {
    raw: &'a [u8],
    d: Delimiters,
}

impl<'a> Value<'a> {
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    pub fn is_empty(&self) -> bool {
        self.raw.iter().all(|&b| b == b' ')
    }

    /// The value with escapes replaced, as UTF-8 or else ISO-8859-1 text.
    pub fn text(&self) -> Cow<'a, str> {
        decode(unescape(self.raw, &self.d))
    }
}
