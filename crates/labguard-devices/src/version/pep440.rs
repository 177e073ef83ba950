use std::cmp::Ordering;
use std::fmt;

use crate::error::{Error, Result};

/// A PEP 440 (Python) version.
///
/// Accepts the normalizations the PEP allows: case, a leading `v`, alternate spellings
/// (`alpha`→`a`, `c`/`pre`/`preview`→`rc`, `rev`/`r`→`post`), `-`/`_`/`.` separators,
/// implicit numbers, and `1.0-1` as a post release.
#[derive(Debug, Clone)]
pub struct Pep440Version {
    epoch: u64,
    release: Vec<u64>,
    pre: Option<(PreKind, u64)>,
    post: Option<u64>,
    dev: Option<u64>,
    local: Vec<LocalSegment>,
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PreKind {
    Alpha,
    Beta,
    Rc,
}

/// Local version segment. Variant order gives the PEP's rule: numbers sort above strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalSegment {
    Str(String),
    Num(u64),
}

/// Sort key with explicit infinities, as PEP 440 places absent parts above or below any
/// present value depending on the part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Bound<T> {
    NegInf,
    Val(T),
    PosInf,
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn eat(&mut self, word: &str) -> bool {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            true
        } else {
            false
        }
    }
    fn eat_sep(&mut self) -> bool {
        if matches!(self.peek(), Some(b'-' | b'_' | b'.')) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn number(&mut self) -> Option<std::result::Result<u64, ()>> {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        if start == self.i {
            return None;
        }
        // Digits are ASCII, so the slice is valid UTF-8.
        let digits = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        Some(digits.parse::<u64>().map_err(|_| ()))
    }
}

impl Pep440Version {
    /// Parses a PEP 440 version string.
    pub fn parse(input: &str) -> Result<Pep440Version> {
        let err = |reason| Error::Version {
            scheme: "PEP 440",
            input: input.to_string(),
            reason,
        };
        let lower = input.trim().to_ascii_lowercase();
        let body = lower.strip_prefix('v').unwrap_or(&lower);
        let mut c = Cursor {
            s: body.as_bytes(),
            i: 0,
        };
        let too_big = || err("number too large");

        let mut epoch = 0;
        let mut release = Vec::new();
        let first = match c.number() {
            Some(n) => n.map_err(|_| too_big())?,
            None => return Err(err("must start with a release number")),
        };
        if c.peek() == Some(b'!') {
            c.i += 1;
            epoch = first;
            match c.number() {
                Some(n) => release.push(n.map_err(|_| too_big())?),
                None => return Err(err("epoch must be followed by a release number")),
            }
        } else {
            release.push(first);
        }
        while c.peek() == Some(b'.') && matches!(c.s.get(c.i + 1), Some(b'0'..=b'9')) {
            c.i += 1;
            if let Some(n) = c.number() {
                release.push(n.map_err(|_| too_big())?);
            }
        }

        // Pre-release: [sep] (a|b|rc|alpha|beta|c|pre|preview) [sep] [N]
        let save = c.i;
        c.eat_sep();
        let kind = if c.eat("alpha") || c.eat("a") {
            Some(PreKind::Alpha)
        } else if c.eat("beta") || c.eat("b") {
            Some(PreKind::Beta)
        } else if c.eat("preview") || c.eat("pre") || c.eat("rc") || c.eat("c") {
            Some(PreKind::Rc)
        } else {
            None
        };
        let pre = match kind {
            Some(k) => {
                let before = c.i;
                c.eat_sep();
                match c.number() {
                    Some(n) => Some((k, n.map_err(|_| too_big())?)),
                    None => {
                        c.i = before;
                        Some((k, 0))
                    }
                }
            }
            None => {
                c.i = save;
                None
            }
        };

        // Post-release: "-N" or [sep] (post|rev|r) [sep] [N]
        let save = c.i;
        let mut post = None;
        if c.peek() == Some(b'-') && matches!(c.s.get(c.i + 1), Some(b'0'..=b'9')) {
            c.i += 1;
            if let Some(n) = c.number() {
                post = Some(n.map_err(|_| too_big())?);
            }
        } else {
            c.eat_sep();
            if c.eat("post") || c.eat("rev") || c.eat("r") {
                let before = c.i;
                c.eat_sep();
                post = Some(match c.number() {
                    Some(n) => n.map_err(|_| too_big())?,
                    None => {
                        c.i = before;
                        0
                    }
                });
            } else {
                c.i = save;
            }
        }

        // Development release: [sep] dev [sep] [N]
        let save = c.i;
        c.eat_sep();
        let dev = if c.eat("dev") {
            let before = c.i;
            c.eat_sep();
            Some(match c.number() {
                Some(n) => n.map_err(|_| too_big())?,
                None => {
                    c.i = before;
                    0
                }
            })
        } else {
            c.i = save;
            None
        };

        // Local version: + segment ([-_.] segment)*
        let mut local = Vec::new();
        if c.peek() == Some(b'+') {
            let rest = &body[c.i + 1..];
            if rest.is_empty() {
                return Err(err("empty local version"));
            }
            for seg in rest.split(['.', '-', '_']) {
                if seg.is_empty() || !seg.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(err("local version segments must be alphanumeric"));
                }
                local.push(match seg.parse::<u64>() {
                    Ok(n) if seg.bytes().all(|b| b.is_ascii_digit()) => LocalSegment::Num(n),
                    _ if seg.bytes().all(|b| b.is_ascii_digit()) => return Err(too_big()),
                    _ => LocalSegment::Str(seg.to_string()),
                });
            }
            c.i = c.s.len();
        }
        if c.i != c.s.len() {
            return Err(err("unexpected text after the version"));
        }
        Ok(Pep440Version {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
            text: input.trim().to_string(),
        })
    }

    /// True for alpha, beta, release-candidate and development releases.
    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    fn key(&self) -> (Bound<(PreKind, u64)>, Bound<u64>, Bound<u64>) {
        // A bare dev release (1.0.dev0) sorts before 1.0a0, hence NegInf.
        let pre = match (self.pre, self.post, self.dev) {
            (None, None, Some(_)) => Bound::NegInf,
            (None, _, _) => Bound::PosInf,
            (Some(p), _, _) => Bound::Val(p),
        };
        let post = self.post.map_or(Bound::NegInf, Bound::Val);
        let dev = self.dev.map_or(Bound::PosInf, Bound::Val);
        (pre, post, dev)
    }
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| cmp_release(&self.release, &other.release))
            .then_with(|| self.key().cmp(&other.key()))
            // No local part sorts below any local part; LocalSegment's derive orders the rest.
            .then_with(|| self.local.cmp(&other.local))
    }
}

/// Release segments compare as if the shorter were padded with zeros (1.0 == 1.0.0).
fn cmp_release(a: &[u64], b: &[u64]) -> Ordering {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            a.get(i)
                .copied()
                .unwrap_or(0)
                .cmp(&b.get(i).copied().unwrap_or(0))
        })
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

impl PartialEq for Pep440Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Pep440Version {}

impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Pep440Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
