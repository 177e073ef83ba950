//! Delimiters, escape sequences and character decoding of E1394 text.

use std::borrow::Cow;

use crate::error::ParseError;

/// The four delimiters an H record declares: `H|\^&` is field `|`, repeat `\`,
/// component `^`, escape `&` (LIS2-A2 6.6). The record separator is always CR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Delimiters {
    pub field: u8,
    pub repeat: u8,
    pub component: u8,
    pub escape: u8,
}

impl Default for Delimiters {
    fn default() -> Self {
        Delimiters {
            field: b'|',
            repeat: b'\\',
            component: b'^',
            escape: b'&',
        }
    }
}

impl Delimiters {
    /// Builds a set, refusing letters, digits, controls, non-ASCII and repeats: any of
    /// those would make records ambiguous.
    pub fn new(field: u8, repeat: u8, component: u8, escape: u8) -> Result<Delimiters, ParseError> {
        let all = [field, repeat, component, escape];
        if all
            .iter()
            .any(|b| !b.is_ascii_graphic() || b.is_ascii_alphanumeric())
        {
            return Err(ParseError::InvalidDelimiters {
                why: "a delimiter is a letter, digit, space, control or non-ASCII byte",
            });
        }
        for (i, a) in all.iter().enumerate() {
            if all.iter().skip(i + 1).any(|b| b == a) {
                return Err(ParseError::InvalidDelimiters {
                    why: "two delimiters are the same character",
                });
            }
        }
        Ok(Delimiters {
            field,
            repeat,
            component,
            escape,
        })
    }

    /// Reads the delimiters from the start of an H record (`H`, field delimiter, then
    /// repeat, component and escape).
    pub fn from_header(record: &[u8]) -> Result<Delimiters, ParseError> {
        match record {
            [b'H', f, r, c, e, rest @ ..] if rest.first().is_none_or(|b| b == f) => {
                Delimiters::new(*f, *r, *c, *e)
            }
            [b'H', ..] => Err(ParseError::TruncatedHeader),
            _ => Err(ParseError::MissingHeader),
        }
    }

    /// The H-2 text these delimiters are declared with: repeat, component, escape.
    pub fn definition(&self) -> [u8; 3] {
        [self.repeat, self.component, self.escape]
    }
}

/// Replaces `&F& &S& &R& &E&` by the delimiter each stands for (LIS2-A2 6.6.5). Other
/// sequences (`&H&`, `&N&`, `&Xhh&`, manufacturer ones) are presentation or local
/// conventions and are kept as written, as is an escape character with no closing one.
/// Borrows when there is nothing to replace.
pub fn unescape<'a>(raw: &'a [u8], d: &Delimiters) -> Cow<'a, [u8]> {
    if !raw.contains(&d.escape) {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(p) = rest.iter().position(|&b| b == d.escape) {
        out.extend_from_slice(rest.get(..p).unwrap_or_default());
        let after = rest.get(p + 1..).unwrap_or_default();
        let Some(q) = after.iter().position(|&b| b == d.escape) else {
            out.extend_from_slice(rest.get(p..).unwrap_or_default());
            return Cow::Owned(out);
        };
        let seq = after.get(..q).unwrap_or_default();
        match seq {
            b"F" => out.push(d.field),
            b"S" => out.push(d.component),
            b"R" => out.push(d.repeat),
            b"E" => out.push(d.escape),
            _ => {
                out.push(d.escape);
                out.extend_from_slice(seq);
                out.push(d.escape);
            }
        }
        rest = after.get(q + 1..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
    Cow::Owned(out)
}

/// Escapes the delimiters in `text` so it can be written as one component value.
pub fn escape<'a>(text: &'a str, d: &Delimiters) -> Cow<'a, str> {
    let special = |b: u8| b == d.field || b == d.repeat || b == d.component || b == d.escape;
    if !text.bytes().any(special) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        let letter = match u8::try_from(c) {
            Ok(b) if b == d.field => Some('F'),
            Ok(b) if b == d.component => Some('S'),
            Ok(b) if b == d.repeat => Some('R'),
            Ok(b) if b == d.escape => Some('E'),
            _ => None,
        };
        match letter {
            Some(l) => {
                out.push(char::from(d.escape));
                out.push(l);
                out.push(char::from(d.escape));
            }
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Bytes as text: UTF-8 when they are UTF-8, else ISO-8859-1 (what 8-bit analyzers
/// send), one character per byte so nothing is lost.
pub fn decode(bytes: Cow<'_, [u8]>) -> Cow<'_, str> {
    match bytes {
        Cow::Borrowed(b) => match std::str::from_utf8(b) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => Cow::Owned(b.iter().map(|&c| char::from(c)).collect()),
        },
        Cow::Owned(v) => match String::from_utf8(v) {
            Ok(s) => Cow::Owned(s),
            Err(e) => Cow::Owned(e.as_bytes().iter().map(|&c| char::from(c)).collect()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_escapes_round_trip() {
        let d = Delimiters::default();
        let raw = b"a&F&b&S&c&R&d&E&e";
        assert_eq!(unescape(raw, &d).as_ref(), b"a|b^c\\d&e");
        assert_eq!(escape("a|b^c\\d&e", &d), "a&F&b&S&c&R&d&E&e");
        assert_eq!(unescape(b"&H&bold&N&", &d).as_ref(), b"&H&bold&N&");
        assert_eq!(unescape(b"tail&", &d).as_ref(), b"tail&");
    }

    #[test]
    fn latin1_is_kept_byte_for_byte() {
        assert_eq!(decode(Cow::Borrowed(b"M\xfcller")), "Müller");
        assert_eq!(decode(Cow::Borrowed("Müller".as_bytes())), "Müller");
    }
}
