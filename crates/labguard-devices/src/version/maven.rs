use std::cmp::Ordering;
use std::fmt;

use super::cmp_digits;
use crate::error::{Error, Result};

/// A Maven version ordered like Maven's `ComparableVersion`: tokens split at `.`, `-` and
/// digit/letter transitions; `-` and transitions open a sub-list; trailing "null" items
/// (`0`, `""`, `ga`, `final`, `release`) are dropped; known qualifiers rank
/// `alpha < beta < milestone < rc < snapshot < "" < sp`, and unknown ones sort after `sp`
/// alphabetically.
#[derive(Debug, Clone)]
pub struct MavenVersion {
    items: Vec<Item>,
    text: String,
}

#[derive(Debug, Clone)]
enum Item {
    /// Digits, leading zeros stripped.
    Int(String),
    /// Canonical qualifier, aliases resolved ("cr" → "rc", "ga" → "").
    Str(String),
    List(Vec<Item>),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];

/// Rank key of a qualifier: its index among the known ones, or after all of them.
fn qualifier_rank(q: &str) -> (usize, &str) {
    match QUALIFIERS.iter().position(|k| *k == q) {
        Some(i) => (i, ""),
        None => (QUALIFIERS.len(), q),
    }
}

fn string_item(s: &str, followed_by_digit: bool) -> Item {
    let s = if followed_by_digit && s.len() == 1 {
        match s {
            "a" => "alpha",
            "b" => "beta",
            "m" => "milestone",
            other => other,
        }
    } else {
        s
    };
    let s = match s {
        "ga" | "final" | "release" => "",
        "cr" => "rc",
        other => other,
    };
    Item::Str(s.to_string())
}

fn int_item(s: &str) -> Item {
    Item::Int(s.trim_start_matches('0').to_string())
}

impl Item {
    fn is_null(&self) -> bool {
        match self {
            Item::Int(d) => d.is_empty(),
            Item::Str(s) => s.is_empty(),
            Item::List(l) => l.is_empty(),
        }
    }

    /// Compares with an absent item (the other version ran out).
    fn cmp_null(&self) -> Ordering {
        match self {
            Item::Int(d) if d.is_empty() => Ordering::Equal,
            Item::Int(_) => Ordering::Greater,
            Item::Str(s) => qualifier_rank(s).cmp(&qualifier_rank("")),
            // Maven looks at the head only; comparing the whole list against nothing agrees
            // on real versions and keeps the order transitive.
            Item::List(l) => cmp_lists(l, &[]),
        }
    }

    fn cmp_item(&self, other: &Item) -> Ordering {
        match (self, other) {
            (Item::Int(a), Item::Int(b)) => cmp_digits(a, b),
            (Item::Int(_), _) => Ordering::Greater,
            (Item::Str(_), Item::Int(_)) => Ordering::Less,
            (Item::Str(a), Item::Str(b)) => qualifier_rank(a).cmp(&qualifier_rank(b)),
            // Maven ranks a list above a qualifier outright; comparing with the list's head
            // first gives the same answer for real versions and stays transitive for odd
            // ones (a list whose head sorts below the null item, e.g. [rc]).
            (Item::Str(_), Item::List(l)) => match l.first() {
                Some(head) => self.cmp_item(head).then(Ordering::Less),
                None => self.cmp_null(),
            },
            (Item::List(_), Item::Int(_)) => Ordering::Less,
            (Item::List(_), Item::Str(_)) => other.cmp_item(self).reverse(),
            (Item::List(a), Item::List(b)) => cmp_lists(a, b),
        }
    }
}

fn cmp_lists(a: &[Item], b: &[Item]) -> Ordering {
    let n = a.len().max(b.len());
    for i in 0..n {
        let o = match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) => x.cmp_item(y),
            (Some(x), None) => x.cmp_null(),
            (None, Some(y)) => y.cmp_null().reverse(),
            (None, None) => Ordering::Equal,
        };
        if o.is_ne() {
            return o;
        }
    }
    Ordering::Equal
}

/// Drops trailing null items, looking through nested lists as Maven does.
fn normalize(list: &mut Vec<Item>) {
    let mut i = list.len();
    while i > 0 {
        i -= 1;
        if list[i].is_null() {
            list.remove(i);
        } else if !matches!(list[i], Item::List(_)) {
            break;
        }
    }
}

/// Adds a qualifier. A qualifier always opens its own list when the current one has items
/// (the specification's ".qualifier" == "-qualifier"); keeping qualifiers at list heads is
/// also what keeps the ordering transitive.
fn push_str(stack: &mut Vec<Vec<Item>>, item: Item) {
    if stack.last().is_some_and(|l| !l.is_empty()) {
        stack.push(Vec::new());
    }
    if let Some(l) = stack.last_mut() {
        l.push(item);
    }
}

impl MavenVersion {
    /// Parses a Maven version. Any non-empty string is a Maven version; only empty or
    /// whitespace-containing strings are refused.
    pub fn parse(input: &str) -> Result<MavenVersion> {
        let t = input.trim();
        if t.is_empty() || t.chars().any(char::is_whitespace) {
            return Err(Error::Version {
                scheme: "Maven",
                input: input.to_string(),
                reason: "empty or contains whitespace",
            });
        }
        let lower = t.to_ascii_lowercase();
        let s = lower.as_str();
        let bytes = s.as_bytes();
        // Each `-` or digit/letter transition opens a list nested in the current one; the
        // chain is folded back from the innermost list at the end.
        let mut stack: Vec<Vec<Item>> = vec![Vec::new()];
        let mut start = 0;
        let mut digit = false;
        for (i, &c) in bytes.iter().enumerate() {
            let cur = stack.len() - 1;
            if c == b'.' || c == b'-' {
                if i == start {
                    stack[cur].push(Item::Int(String::new()));
                } else if digit {
                    stack[cur].push(int_item(&s[start..i]));
                } else {
                    push_str(&mut stack, string_item(&s[start..i], false));
                }
                start = i + 1;
                if c == b'-' {
                    stack.push(Vec::new());
                }
                // A separator resets the token kind.
                digit = false;
            } else if c.is_ascii_digit() {
                if !digit && i > start {
                    push_str(&mut stack, string_item(&s[start..i], true));
                    start = i;
                    stack.push(Vec::new());
                }
                digit = true;
            } else {
                if digit && i > start {
                    stack[cur].push(int_item(&s[start..i]));
                    start = i;
                    stack.push(Vec::new());
                }
                digit = false;
            }
        }
        if s.len() > start {
            let tail = &s[start..];
            if digit {
                let cur = stack.len() - 1;
                stack[cur].push(int_item(tail));
            } else {
                push_str(&mut stack, string_item(tail, false));
            }
        }
        let mut inner = stack.pop().unwrap_or_default();
        normalize(&mut inner);
        while let Some(mut parent) = stack.pop() {
            parent.push(Item::List(inner));
            normalize(&mut parent);
            inner = parent;
        }
        Ok(MavenVersion {
            items: inner,
            text: t.to_string(),
        })
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_lists(&self.items, &other.items)
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for MavenVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for MavenVersion {}

impl fmt::Display for MavenVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
