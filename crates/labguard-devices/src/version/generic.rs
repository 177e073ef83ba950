use std::cmp::Ordering;
use std::fmt;

use super::cmp_digits;
use crate::error::{Error, Result};

/// A dotted version of no particular ecosystem, as instrument firmware uses
/// (`4.2.1`, `v2.10b`, `1.0.3-build7`, `R12_SP3`).
///
/// Tokens are digit runs and letter runs; separators (`.`, `-`, `_`, `+`, `/`, space) only
/// split. Numbers compare numerically and sort above words. When one version runs out, a
/// missing number counts as 0 and a missing word sorts above pre-release words (`alpha`,
/// `beta`, `rc`, `pre`, `dev`, `snapshot`, and single `a`/`b`) but below any other word,
/// so `2.0rc1 < 2.0 < 2.0sp1`.
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

const PRE_WORDS: [&str; 10] = [
    "a", "b", "alpha", "beta", "rc", "pre", "preview", "dev", "snapshot", "c",
];

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

fn cmp_missing(t: &Token) -> Ordering {
    match t {
        Token::Num(n) if n.is_empty() => Ordering::Equal,
        Token::Num(_) => Ordering::Greater,
        Token::Word(w) if PRE_WORDS.contains(&w.as_str()) => Ordering::Less,
        Token::Word(_) => Ordering::Greater,
    }
}

impl Ord for GenericVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.tokens.len().max(other.tokens.len());
        for i in 0..n {
            let o = match (self.tokens.get(i), other.tokens.get(i)) {
                (Some(Token::Num(a)), Some(Token::Num(b))) => cmp_digits(a, b),
                (Some(Token::Word(a)), Some(Token::Word(b))) => a.cmp(b),
                (Some(Token::Num(_)), Some(Token::Word(_))) => Ordering::Greater,
                (Some(Token::Word(_)), Some(Token::Num(_))) => Ordering::Less,
                (Some(a), None) => cmp_missing(a),
                (None, Some(b)) => cmp_missing(b).reverse(),
                (None, None) => Ordering::Equal,
            };
            if o.is_ne() {
                return o;
            }
        }
        Ordering::Equal
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
