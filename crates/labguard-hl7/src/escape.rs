//! HL7 escape sequences (v2 chapter 2, "Use of escape sequences in text fields").

use std::borrow::Cow;

use crate::delims::Delimiters;

/// Replaces the escape sequences of one value (a sub-component, or any text without
/// unescaped delimiters) by the characters they stand for.
///
/// | sequence | becomes |
/// | --- | --- |
/// | `\F\ \S\ \T\ \R\ \E\` | field, component, sub-component, repetition separator, escape character |
/// | `\P\` | the truncation character, when MSH-2 declares one (v2.7+) |
/// | `\Xhh…\` | the bytes `hh…`, read as UTF-8 when they are valid UTF-8 and otherwise as ISO-8859-1, one character per byte, so no byte is lost |
/// | `\H\ \N\ \.br\ \.sp\ \Zxx\ \Cxxyy\ …` | kept as they are: formatting and character-set escapes are presentation, not data, and the caller decides how to render them |
///
/// An escape character without a closing one is kept literally. The text is only copied
/// when it contains the escape character at all.
pub fn unescape<'a>(s: &'a str, d: &Delimiters) -> Cow<'a, str> {
    let esc = d.escape();
    if !s.as_bytes().contains(&d.escape_b()) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find(esc) {
        out.push_str(rest.get(..p).unwrap_or_default());
        let after = rest.get(p + 1..).unwrap_or_default();
        let Some(q) = after.find(esc) else {
            // Unterminated: not an escape sequence, keep the text as it is.
            out.push_str(rest.get(p..).unwrap_or_default());
            return Cow::Owned(out);
        };
        let seq = after.get(..q).unwrap_or_default();
        match delimiter_for(seq, d) {
            Some(c) => out.push(c),
            None => match hex_bytes(seq) {
                Some(bytes) => push_bytes(&mut out, &bytes),
                None => {
                    out.push(esc);
                    out.push_str(seq);
                    out.push(esc);
                }
            },
        }
        rest = after.get(q + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The character a one-letter delimiter escape stands for.
fn delimiter_for(seq: &str, d: &Delimiters) -> Option<char> {
    match seq {
        "F" => Some(d.field()),
        "S" => Some(d.component()),
        "T" => Some(d.subcomponent()),
        "R" => Some(d.repetition()),
        "E" => Some(d.escape()),
        "P" => d.truncation(),
        _ => None,
    }
}

/// Decodes `Xhhhh` (an even, non-zero number of hex digits after the X).
fn hex_bytes(seq: &str) -> Option<Vec<u8>> {
    let hex = seq.strip_prefix('X')?.as_bytes();
    if hex.is_empty() || hex.len() % 2 != 0 {
        return None;
    }
    let digit = |b: u8| char::from(b).to_digit(16);
    hex.chunks_exact(2)
        .map(|p| match p {
            [h, l] => Some((digit(*h)? * 16 + digit(*l)?) as u8),
            _ => None,
        })
        .collect()
}

fn push_bytes(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => out.push_str(s),
        // ISO-8859-1 maps each byte to the code point of the same number: lossless.
        Err(_) => out.extend(bytes.iter().map(|&b| char::from(b))),
    }
}

/// True for characters that cannot stand as themselves in a value: CR and LF end
/// segments, and the MLLP framing bytes 0x0B/0x1C would end a frame. Tab may stay.
fn needs_hex(c: char) -> bool {
    c.is_ascii_control() && c != '\t'
}

/// Escapes plain text for use as one value (sub-component) with the given delimiters:
/// every delimiter becomes its `\F\`-style sequence and control characters (CR, LF,
/// MLLP framing bytes…) become `\Xhh\`, so the result can never break a segment or a
/// frame. Only copies when something needs escaping.
pub fn escape<'a>(s: &'a str, d: &Delimiters) -> Cow<'a, str> {
    let special = |c: char| needs_hex(c) || escape_code(c, d).is_some();
    if !s.chars().any(special) {
        return Cow::Borrowed(s);
    }
    let esc = d.escape();
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if let Some(code) = escape_code(c, d) {
            out.push(esc);
            out.push(code);
            out.push(esc);
        } else if needs_hex(c) {
            out.push(esc);
            out.push_str(&format!("X{:02X}", c as u32));
            out.push(esc);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn escape_code(c: char, d: &Delimiters) -> Option<char> {
    if c == d.field() {
        Some('F')
    } else if c == d.component() {
        Some('S')
    } else if c == d.subcomponent() {
        Some('T')
    } else if c == d.repetition() {
        Some('R')
    } else if c == d.escape() {
        Some('E')
    } else if Some(c) == d.truncation() {
        Some('P')
    } else {
        None
    }
}

/// Re-encodes one escaped value from delimiters `from` to delimiters `to`, keeping its
/// meaning: delimiter escapes become the character they stand for (escaped again if it
/// is a delimiter of `to`), formatting escapes are rewritten with `to`'s escape character,
/// and literal text is escaped for `to`.
pub(crate) fn translate(raw: &str, from: &Delimiters, to: &Delimiters, out: &mut String) {
    if from == to {
        out.push_str(raw);
        return;
    }
    let esc = from.escape();
    let mut rest = raw;
    while let Some(p) = rest.find(esc) {
        out.push_str(&escape(rest.get(..p).unwrap_or_default(), to));
        let after = rest.get(p + 1..).unwrap_or_default();
        let Some(q) = after.find(esc) else {
            out.push_str(&escape(rest.get(p..).unwrap_or_default(), to));
            return;
        };
        let seq = after.get(..q).unwrap_or_default();
        if let Some(c) = delimiter_for(seq, from) {
            let mut buf = [0u8; 4];
            out.push_str(&escape(c.encode_utf8(&mut buf), to));
        } else if seq
            .chars()
            .any(|c| escape_code(c, to).is_some() || needs_hex(c))
        {
            // The sequence contains one of `to`'s delimiters and cannot be written as an
            // escape there; keep its characters as plain text instead.
            let mut lit = String::with_capacity(seq.len() + 2);
            lit.push(esc);
            lit.push_str(seq);
            lit.push(esc);
            out.push_str(&escape(&lit, to));
        } else {
            out.push(to.escape());
            out.push_str(seq);
            out.push(to.escape());
        }
        rest = after.get(q + 1..).unwrap_or_default();
    }
    out.push_str(&escape(rest, to));
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: Delimiters = Delimiters::STANDARD;

    #[test]
    fn borrows_when_nothing_to_do() {
        assert!(matches!(unescape("plain text", &D), Cow::Borrowed(_)));
        assert!(matches!(escape("plain text", &D), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_then_unescape_is_identity() {
        let d = Delimiters::new('|', '^', '~', '\\', '&', Some('#')).unwrap();
        for s in [
            "a|b^c~d\\e&f#g",
            "line1\r\nline2",
            "\u{b}\u{1c}",
            "tab\tok",
            "é ü 😀",
        ] {
            assert_eq!(unescape(&escape(s, &d), &d), s, "{s:?}");
        }
    }

    #[test]
    fn translate_between_delimiter_sets() {
        let custom = Delimiters::new('#', '@', '!', '$', '%', None).unwrap();
        let mut out = String::new();
        translate("a^b$F$c$H$x$", &custom, &D, &mut out);
        assert_eq!(out, "a\\S\\b#c\\H\\x$");
        assert_eq!(unescape(&out, &D), "a^b#c\\H\\x$");
    }
}
