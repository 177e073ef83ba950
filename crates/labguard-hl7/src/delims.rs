//! The separator and encoding characters a message declares in MSH-1 and MSH-2.

use crate::error::ParseError;

/// The delimiters of one message.
///
/// Every HL7 v2 message names its own delimiters in MSH-1 (field separator) and MSH-2
/// (component, repetition, escape, sub-component and, from v2.7, truncation character).
/// They are almost always `|^~\&`, but nothing requires that, so the parser, the encoder
/// and the ACK builder all work from this value.
///
/// All delimiters are ASCII punctuation or symbols and pairwise distinct; this is checked
/// on construction. Keeping them ASCII lets the parser split on bytes without ever cutting
/// a multi-byte UTF-8 character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Delimiters {
    field: u8,
    component: u8,
    repetition: u8,
    escape: u8,
    subcomponent: u8,
    truncation: Option<u8>,
}

impl Default for Delimiters {
    fn default() -> Self {
        Delimiters::STANDARD
    }
}

impl Delimiters {
    /// `|^~\&`, what nearly every sender uses.
    pub const STANDARD: Delimiters = Delimiters {
        field: b'|',
        component: b'^',
        repetition: b'~',
        escape: b'\\',
        subcomponent: b'&',
        truncation: None,
    };

    /// Builds a delimiter set, refusing characters that would make messages ambiguous.
    pub fn new(
        field: char,
        component: char,
        repetition: char,
        escape: char,
        subcomponent: char,
        truncation: Option<char>,
    ) -> Result<Delimiters, ParseError> {
        let all = [
            Some(field),
            Some(component),
            Some(repetition),
            Some(escape),
            Some(subcomponent),
            truncation,
        ];
        for (i, c) in all.iter().enumerate() {
            let Some(c) = c else { continue };
            // Letters, digits, spaces and control characters occur in data (and CR/LF end
            // segments); a delimiter from those would make splitting ambiguous.
            if !c.is_ascii_punctuation() {
                return Err(ParseError::InvalidDelimiters {
                    why: "delimiters must be ASCII punctuation",
                });
            }
            if all.iter().skip(i + 1).any(|o| o == &Some(*c)) {
                return Err(ParseError::InvalidDelimiters {
                    why: "delimiters must be distinct",
                });
            }
        }
        Ok(Delimiters {
            field: field as u8,
            component: component as u8,
            repetition: repetition as u8,
            escape: escape as u8,
            subcomponent: subcomponent as u8,
            truncation: truncation.map(|c| c as u8),
        })
    }

    /// Reads MSH-1 (one character) and MSH-2 (four, or five with the truncation
    /// character). `enc` is the text of MSH-2 as it stands between the field separators.
    pub(crate) fn from_msh(field: u8, enc: &str) -> Result<Delimiters, ParseError> {
        let b = enc.as_bytes();
        if !(4..=5).contains(&b.len()) {
            return Err(ParseError::InvalidDelimiters {
                why: "MSH-2 must hold 4 or 5 encoding characters",
            });
        }
        let c = |i: usize| char::from(b.get(i).copied().unwrap_or(0));
        let trunc = b.get(4).map(|&t| char::from(t));
        Delimiters::new(char::from(field), c(0), c(1), c(2), c(3), trunc)
    }

    /// The field separator (MSH-1).
    pub fn field(&self) -> char {
        char::from(self.field)
    }
    /// The component separator (first character of MSH-2).
    pub fn component(&self) -> char {
        char::from(self.component)
    }
    /// The repetition separator.
    pub fn repetition(&self) -> char {
        char::from(self.repetition)
    }
    /// The escape character.
    pub fn escape(&self) -> char {
        char::from(self.escape)
    }
    /// The sub-component separator.
    pub fn subcomponent(&self) -> char {
        char::from(self.subcomponent)
    }
    /// The truncation character (v2.7+), when MSH-2 declares one.
    pub fn truncation(&self) -> Option<char> {
        self.truncation.map(char::from)
    }

    /// The text of MSH-2 for these delimiters, e.g. `^~\&`.
    pub fn encoding_characters(&self) -> String {
        let mut s = String::with_capacity(5);
        for b in [
            self.component,
            self.repetition,
            self.escape,
            self.subcomponent,
        ] {
            s.push(char::from(b));
        }
        if let Some(t) = self.truncation {
            s.push(char::from(t));
        }
        s
    }

    pub(crate) fn escape_b(&self) -> u8 {
        self.escape
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_and_custom() {
        assert_eq!(
            Delimiters::from_msh(b'|', "^~\\&"),
            Ok(Delimiters::STANDARD)
        );
        let d = Delimiters::from_msh(b'#', "@!$%").unwrap();
        assert_eq!((d.field(), d.component(), d.repetition()), ('#', '@', '!'));
        assert_eq!(
            (d.escape(), d.subcomponent(), d.truncation()),
            ('$', '%', None)
        );
        let t = Delimiters::from_msh(b'|', "^~\\&#").unwrap();
        assert_eq!(t.truncation(), Some('#'));
        assert_eq!(t.encoding_characters(), "^~\\&#");
    }

    #[test]
    fn refuses_ambiguous() {
        assert!(Delimiters::from_msh(b'|', "^~\\").is_err());
        assert!(Delimiters::from_msh(b'|', "^~\\&#!").is_err());
        assert!(Delimiters::from_msh(b'|', "^^\\&").is_err());
        assert!(Delimiters::from_msh(b'|', "^~\\|").is_err());
        assert!(Delimiters::from_msh(b'A', "^~\\&").is_err());
        assert!(Delimiters::from_msh(b'|', "^~ &").is_err());
    }
}
