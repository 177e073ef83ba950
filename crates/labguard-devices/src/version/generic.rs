use std::cmp::Ordering;
use std::fmt;

use super::cmp_digits;
use crate::error::{Error, Result};

/// A dotted version of no particular ecosystem, as instrument firmware uses
/// (`4.2.1`, `v2.10b`, `1.0.3-build7`, `R12_SP3`).
///
/// Tokens are digit runs and letter runs; separators (`.`, `-`, `_`, `+`, `/`, space) only
/// split. Each token takes a place in one order: pre-release words (`dev`, `snapshot`,
/// `alpha`/`a`, `beta`/`b`, `pre`, `rc`/`c`) < 0 < other words < 1 < 2 < …, and a missing
/// token counts as 0. So `2.0rc1 < 2.0 == 2.0.0 < 2.0sp1 < 2.0.1`.
#[derive(Debug, Clone)]
pub struct GenericVersion {
    tokens: Vec<Token>,
    text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Num(String),
    Word(String),
}

/// Pre-release words and their rank; words of equal rank are equal (`a` == `alpha`).
const PRE_WORDS: [(&str, u8); 10] = [
    ("dev", 0),
    ("snapshot", 0),
    ("alpha", 1),
    ("a", 1),
    ("beta", 2),
    ("b", 2),
    ("pre", 3),
    ("preview", 3),
    ("c", 4),
    ("rc", 4),
];

/// Where a token sits in the order. A missing token counts as zero, so padding a version
/// with zeros never changes it, and mapping every token into one ordered key space keeps
/// the comparison a total order: pre-release words < 0 < other words < 1 < 2 < …
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Key<'a> {
    Pre(u8),
    Zero,
    Word(&'a str),
    Num(Digits<'a>),
}

/// Digits without leading zeros, ordered numerically.
#[derive(PartialEq, Eq)]
struct Digits<'a>(&'a str);

impl PartialOrd for Digits<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Digits<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_digits(self.0, other.0)
    }
}

fn key(t: Option<&Token>) -> Key<'_> {
    match t {
        None => Key::Zero,
        Some(Token::Num(n)) if n.is_empty() => Key::Zero,
        Some(Token::Num(n)) => Key::Num(Digits(n)),
        Some(Token::Word(w)) => match PRE_WORDS.iter().find(|(p, _)| p == w) {
            Some((_, rank)) => Key::Pre(*rank),
            None => Key::Word(w),
        },
    }
}

impl GenericVersion {
    /// Parses any string with at least one letter or digit.
    pub fn parse(input: &str) -> Result<GenericVersion> {
        let t = input.trim();
        let lower = t.to_ascii_lowercase();
        let body = lower
            .strip_prefix('v')
            .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or(&lower);
        let mut tokens = Vec::new();
        let mut cur = String::new();
        let mut cur_digit = false;
        for c in body.chars() {
            let is_digit = c.is_ascii_digit();
            let is_word = c.is_alphanumeric() && !is_digit;
            if !(is_digit || is_word) || (!cur.is_empty() && is_digit != cur_digit) {
                push(&mut tokens, &mut cur, cur_digit);
            }
            if is_digit || is_word {
                cur.push(c);
                cur_digit = is_digit;
            }
        }
        push(&mut tokens, &mut cur, cur_digit);
        if tokens.is_empty() {
            return Err(Error::Version {
                scheme: "generic",
                input: input.to_string(),
                reason: "no digits or letters",
            });
        }
        Ok(GenericVersion {
            tokens,
            text: t.to_string(),
        })
    }
}

fn push(tokens: &mut Vec<Token>, cur: &mut String, digit: bool) {
    if cur.is_empty() {
        return;
    }
    let s = std::mem::take(cur);
    tokens.push(if digit {
        Token::Num(s.trim_start_matches('0').to_string())
    } else {
        Token::Word(s)
    });
}

impl Ord for GenericVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.tokens.len().max(other.tokens.len());
        (0..n)
            .map(|i| key(self.tokens.get(i)).cmp(&key(other.tokens.get(i))))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl PartialOrd for GenericVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for GenericVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for GenericVersion {}

impl fmt::Display for GenericVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
