use std::cmp::Ordering;
use std::fmt;

use crate::error::{Error, Result};

/// A SemVer 2.0 version ordered by precedence (build metadata ignored, pre-releases below
/// their release). Parsing tolerates what real feeds contain: a leading `v` or `=`, and a
/// missing minor or patch number (`1.2` reads as `1.2.0`).
#[derive(Debug, Clone)]
pub struct SemVersion(semver::Version);

impl SemVersion {
    /// Parses a SemVer string, leniently as described on the type.
    pub fn parse(input: &str) -> Result<SemVersion> {
        let err = |reason| Error::Version {
            scheme: "SemVer",
            input: input.to_string(),
            reason,
        };
        let t = input.trim();
        let t = t
            .strip_prefix('v')
            .or_else(|| t.strip_prefix('V'))
            .or_else(|| t.strip_prefix('='))
            .unwrap_or(t);
        if t.is_empty() {
            return Err(err("empty"));
        }
        if let Ok(v) = semver::Version::parse(t) {
            return Ok(SemVersion(v));
        }
        // Pad a short core ("1", "1.2") and keep any pre-release/build suffix as is.
        let split = t.find(['-', '+']).unwrap_or(t.len());
        let (core, rest) = t.split_at(split);
        let parts: Vec<&str> = core.split('.').collect();
        let numeric = parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !numeric || parts.len() > 3 {
            return Err(err("not MAJOR.MINOR.PATCH[-PRE][+BUILD]"));
        }
        let mut padded = core.to_string();
        for _ in parts.len()..3 {
            padded.push_str(".0");
        }
        padded.push_str(rest);
        semver::Version::parse(&padded)
            .map(SemVersion)
            .map_err(|_| err("not MAJOR.MINOR.PATCH[-PRE][+BUILD]"))
    }

    /// The underlying `semver` value.
    pub fn inner(&self) -> &semver::Version {
        &self.0
    }

    /// True for a pre-release such as `1.0.0-rc.1`.
    pub fn is_prerelease(&self) -> bool {
        !self.0.pre.is_empty()
    }
}

impl Ord for SemVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        // SemVer §10: build metadata MUST be ignored when determining precedence.
        let (a, b) = (&self.0, &other.0);
        (a.major, a.minor, a.patch)
            .cmp(&(b.major, b.minor, b.patch))
            .then_with(|| a.pre.cmp(&b.pre))
    }
}

impl PartialOrd for SemVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SemVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SemVersion {}

impl fmt::Display for SemVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
