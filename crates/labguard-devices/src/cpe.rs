//! CPE names (2.3 formatted strings and 2.2 URIs) and NVD-style CPE match criteria with
//! version ranges, used for instrument firmware that has no package URL.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::version::{Version, VersionScheme};

/// One CPE attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpeValue {
    /// `*`: any value.
    Any,
    /// `-`: not applicable.
    Na,
    /// A concrete value, lowercase, escapes removed. May hold `*`/`?` wildcards when
    /// `wildcard` is set (unescaped in the source).
    Value {
        /// The value text.
        text: String,
        /// Whether unescaped `*` or `?` occur in it.
        wildcard: bool,
    },
}

impl CpeValue {
    fn parse23(raw: &str) -> CpeValue {
        match raw {
            "*" | "" => return CpeValue::Any,
            "-" => return CpeValue::Na,
            _ => {}
        }
        let mut text = String::with_capacity(raw.len());
        let mut wildcard = false;
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        text.push(n.to_ascii_lowercase());
                    }
                }
                '*' | '?' => {
                    wildcard = true;
                    text.push(c);
                }
                _ => text.push(c.to_ascii_lowercase()),
            }
        }
        CpeValue::Value { text, wildcard }
    }

    /// The concrete value, if any.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            CpeValue::Value { text, .. } => Some(text),
            _ => None,
        }
    }

    /// CPE name matching of one attribute: does `self` (the criterion) cover `target`?
    fn covers(&self, target: &CpeValue) -> bool {
        match (self, target) {
            (CpeValue::Any, _) => true,
            (CpeValue::Na, CpeValue::Na) => true,
            (CpeValue::Value { text, wildcard }, CpeValue::Value { text: t, .. }) => {
                if *wildcard {
                    glob(text.as_bytes(), t.as_bytes())
                } else {
                    text == t
                }
            }
            _ => false,
        }
    }
}

impl fmt::Display for CpeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpeValue::Any => f.write_str("*"),
            CpeValue::Na => f.write_str("-"),
            CpeValue::Value { text, wildcard } => {
                for c in text.chars() {
                    let special = !c.is_ascii_alphanumeric() && c != '_';
                    if special && !(*wildcard && (c == '*' || c == '?')) {
                        write!(f, "\\{c}")?;
                    } else {
                        write!(f, "{c}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// `*` and `?` glob, iterative to stay linear-ish on hostile patterns.
fn glob(pat: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pat.len() && (pat[p] == b'?' || pat[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pat.len() && pat[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// A CPE name: part (`a` application, `o` operating system/firmware, `h` hardware), vendor,
/// product, version and the remaining attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cpe {
    attrs: [CpeValue; 11],
}

/// Splits on ':' not preceded by an escaping backslash.
fn split_escaped(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ':' {
            out.push(&s[start..i]);
            start = i + 1;
        }
    }
    out.push(&s[start..]);
    out
}

impl Cpe {
    /// Parses `cpe:2.3:...` (11 attributes) or a 2.2 URI `cpe:/a:vendor:product:...`.
    pub fn parse(input: &str) -> Result<Cpe> {
        let err = |reason| Error::Cpe {
            input: input.to_string(),
            reason,
        };
        let t = input.trim();
        if t.len() > 1024 {
            return Err(err("longer than 1024 bytes"));
        }
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("cpe:2.3:") {
            let fields = split_escaped(&t[8..]);
            if fields.len() != 11 {
                return Err(err("a CPE 2.3 name has 11 attributes after \"cpe:2.3:\""));
            }
            let attrs: [CpeValue; 11] = std::array::from_fn(|i| CpeValue::parse23(fields[i]));
            Self::check_part(&attrs[0]).ok_or_else(|| err("part must be a, o or h"))?;
            Ok(Cpe { attrs })
        } else if let Some(rest) = lower.strip_prefix("cpe:/") {
            let fields: Vec<&str> = rest.split(':').collect();
            if fields.len() > 7 {
                return Err(err("a CPE 2.2 URI has at most 7 components"));
            }
            let mut attrs: [CpeValue; 11] = std::array::from_fn(|_| CpeValue::Any);
            for (i, f) in fields.iter().enumerate() {
                let decoded = percent_decode(f).ok_or_else(|| err("bad percent-encoding"))?;
                attrs[i] = match decoded.as_str() {
                    "" => CpeValue::Any,
                    "-" => CpeValue::Na,
                    v => CpeValue::Value {
                        text: v.to_string(),
                        wildcard: false,
                    },
                };
            }
            Self::check_part(&attrs[0]).ok_or_else(|| err("part must be a, o or h"))?;
            Ok(Cpe { attrs })
        } else {
            Err(err("must start with \"cpe:2.3:\" or \"cpe:/\""))
        }
    }

    fn check_part(v: &CpeValue) -> Option<()> {
        match v {
            CpeValue::Any => Some(()),
            CpeValue::Value { text, .. } if matches!(text.as_str(), "a" | "o" | "h") => Some(()),
            _ => None,
        }
    }

    /// Vendor, if concrete.
    pub fn vendor(&self) -> Option<&str> {
        self.attrs[1].as_str()
    }

    /// Product, if concrete.
    pub fn product(&self) -> Option<&str> {
        self.attrs[2].as_str()
    }

    /// Version, if concrete.
    pub fn version(&self) -> Option<&str> {
        self.attrs[3].as_str()
    }

    /// Attribute by index in CPE order (0 = part … 10 = other).
    pub fn attr(&self, i: usize) -> Option<&CpeValue> {
        self.attrs.get(i)
    }

    /// Whether this name, read as a pattern, covers `target` on every attribute.
    /// With `skip_version`, the version attribute is left to a range check.
    pub fn covers(&self, target: &Cpe, skip_version: bool) -> bool {
        (0..11).all(|i| (skip_version && i == 3) || self.attrs[i].covers(&target.attrs[i]))
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl fmt::Display for Cpe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cpe:2.3")?;
        for a in &self.attrs {
            write!(f, ":{a}")?;
        }
        Ok(())
    }
}

impl Serialize for Cpe {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cpe {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Cpe::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An NVD-style CPE match criterion: a CPE pattern plus an optional version range, e.g.
/// every `cpe:2.3:o:acme:analyzer_firmware:*` before 4.2.1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpeMatch {
    /// The CPE pattern.
    pub criteria: Cpe,
    /// Lower bound, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_start_including: Option<String>,
    /// Lower bound, exclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_start_excluding: Option<String>,
    /// Upper bound, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_end_including: Option<String>,
    /// Upper bound, exclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_end_excluding: Option<String>,
}

impl CpeMatch {
    /// A criterion without a version range.
    pub fn new(criteria: Cpe) -> CpeMatch {
        CpeMatch {
            criteria,
            version_start_including: None,
            version_start_excluding: None,
            version_end_including: None,
            version_end_excluding: None,
        }
    }

    fn has_range(&self) -> bool {
        self.version_start_including.is_some()
            || self.version_start_excluding.is_some()
            || self.version_end_including.is_some()
            || self.version_end_excluding.is_some()
    }

    /// Whether `target` matches. The version tested against a range is the target's CPE
    /// version, or `fallback_version` (the component's own version) when the CPE has none.
    /// Versions are ordered with the generic firmware scheme; a bound or version that does
    /// not parse makes the criterion not match (never a guess).
    pub fn matches(&self, target: &Cpe, fallback_version: Option<&str>) -> bool {
        if !self.has_range() {
            if self.criteria.covers(target, false) {
                return true;
            }
            // A component CPE without a version may still carry one in the SBOM.
            return match (target.version(), fallback_version, self.criteria.version()) {
                (None, Some(v), Some(_)) => {
                    self.criteria.covers(target, true)
                        && Version::parse(VersionScheme::Generic, v)
                            .ok()
                            .zip(
                                self.criteria
                                    .version()
                                    .and_then(|c| Version::parse(VersionScheme::Generic, c).ok()),
                            )
                            .is_some_and(|(a, b)| a.compare(&b) == Some(Ordering::Equal))
                }
                _ => false,
            };
        }
        if !self.criteria.covers(target, true) {
            return false;
        }
        let Some(v) = target.version().or(fallback_version) else {
            return false;
        };
        let Ok(v) = Version::parse(VersionScheme::Generic, v) else {
            return false;
        };
        let check = |bound: &Option<String>, ok: fn(Ordering) -> bool| match bound {
            None => true,
            Some(b) => Version::parse(VersionScheme::Generic, b)
                .ok()
                .and_then(|b| v.compare(&b))
                .is_some_and(ok),
        };
        check(&self.version_start_including, Ordering::is_ge)
            && check(&self.version_start_excluding, Ordering::is_gt)
            && check(&self.version_end_including, Ordering::is_le)
            && check(&self.version_end_excluding, Ordering::is_lt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_23_and_22_forms() {
        let c = Cpe::parse("cpe:2.3:o:acme:hema\\:lyzer_firmware:4.2.1:*:*:*:*:*:*:*").unwrap();
        assert_eq!(c.vendor(), Some("acme"));
        assert_eq!(c.product(), Some("hema:lyzer_firmware"));
        assert_eq!(c.version(), Some("4.2.1"));
        assert_eq!(Cpe::parse(&c.to_string()).unwrap(), c);
        let u = Cpe::parse("cpe:/o:Acme:analyzer_fw:2.0").unwrap();
        assert_eq!(u.product(), Some("analyzer_fw"));
        assert_eq!(u.attr(4), Some(&CpeValue::Any));
        for bad in [
            "",
            "cpe:2.3:a:b",
            "cpe:2.3:x:a:b:c:*:*:*:*:*:*:*",
            "cpe:/a:%zz",
            "cpe:2.2:a",
        ] {
            assert!(Cpe::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn range_criteria_for_firmware() {
        let target = |v: &str| {
            Cpe::parse(&format!(
                "cpe:2.3:o:acme:analyzer_firmware:{v}:*:*:*:*:*:*:*"
            ))
            .unwrap()
        };
        let mut m =
            CpeMatch::new(Cpe::parse("cpe:2.3:o:acme:analyzer_firmware:*:*:*:*:*:*:*:*").unwrap());
        m.version_start_including = Some("4.0".into());
        m.version_end_excluding = Some("4.2.1".into());
        assert!(m.matches(&target("4.0"), None));
        assert!(m.matches(&target("4.2.0"), None));
        assert!(!m.matches(&target("4.2.1"), None));
        assert!(!m.matches(&target("3.9.9"), None));
        m.version_end_excluding = None;
        m.version_end_including = Some("4.2.1".into());
        assert!(m.matches(&target("4.2.1"), None));
        m.version_start_including = None;
        m.version_start_excluding = Some("4.0".into());
        assert!(!m.matches(&target("4.0"), None));
        // Version unknown on the CPE: use the component's version.
        let nov = Cpe::parse("cpe:2.3:o:acme:analyzer_firmware:*:*:*:*:*:*:*:*").unwrap();
        assert!(m.matches(&nov, Some("4.1")));
        assert!(!m.matches(&nov, None));
        // Other products never match.
        let other = Cpe::parse("cpe:2.3:o:acme:centrifuge_firmware:4.1:*:*:*:*:*:*:*").unwrap();
        assert!(!m.matches(&other, None));
    }

    #[test]
    fn exact_and_wildcard_criteria() {
        let t = Cpe::parse("cpe:2.3:a:acme:lis_gateway:2.0:*:*:*:*:*:*:*").unwrap();
        assert!(
            CpeMatch::new(Cpe::parse("cpe:2.3:a:acme:lis_gateway:2.0:*:*:*:*:*:*:*").unwrap())
                .matches(&t, None)
        );
        assert!(!CpeMatch::new(
            Cpe::parse("cpe:2.3:a:acme:lis_gateway:2.1:*:*:*:*:*:*:*").unwrap()
        )
        .matches(&t, None));
        assert!(
            CpeMatch::new(Cpe::parse("cpe:2.3:a:acme:lis_*:*:*:*:*:*:*:*:*").unwrap())
                .matches(&t, None)
        );
        assert!(CpeMatch::new(
            Cpe::parse("cpe:2.3:a:acme:lis_gateway:2.0.0:*:*:*:*:*:*:*").unwrap()
        )
        .matches(
            &Cpe::parse("cpe:2.3:a:acme:lis_gateway:*:*:*:*:*:*:*:*").unwrap(),
            Some("2.0")
        ));
        assert!(glob(b"a*b?c", b"axxxbyc") && !glob(b"a*b", b"ac"));
    }
}
