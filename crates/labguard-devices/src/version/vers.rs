use std::cmp::Ordering;

use super::{Version, VersionScheme};
use crate::error::{Error, Result};

/// A comparator in a `vers:` constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersComparator {
    /// `=` (or no comparator).
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// One `comparator version` pair of a `vers:` range.
#[derive(Debug, Clone)]
pub struct VersConstraint {
    /// How the version is compared.
    pub comparator: VersComparator,
    /// The parsed version.
    pub version: Version,
}

/// A `vers:` version range (the package-url project's "vers" notation), as CycloneDX VEX
/// `affects[].versions[].range` uses, e.g. `vers:semver/>=2.2.0|<=2.4.0`.
#[derive(Debug, Clone)]
pub struct VersRange {
    /// The versioning scheme named after `vers:` (lowercase).
    pub scheme_name: String,
    /// `vers:<scheme>/*` matches every version.
    pub any: bool,
    /// Constraints sorted by version.
    pub constraints: Vec<VersConstraint>,
}

/// Maps a `vers` scheme name to the ordering used here; unknown schemes use the generic one.
pub fn scheme_for_vers(name: &str) -> VersionScheme {
    match name {
        "semver" | "npm" | "cargo" | "golang" | "nuget" => VersionScheme::SemVer,
        "pypi" => VersionScheme::Pep440,
        "maven" => VersionScheme::Maven,
        "deb" | "debian" => VersionScheme::Debian,
        _ => VersionScheme::Generic,
    }
}

impl VersRange {
    /// Parses a `vers:` string.
    pub fn parse(input: &str) -> Result<VersRange> {
        let err = |reason: &str| Error::invalid("vers range", format!("{input:?}: {reason}"));
        let t: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        let rest = t
            .strip_prefix("vers:")
            .ok_or_else(|| err("must start with \"vers:\""))?;
        let (scheme, body) = rest
            .split_once('/')
            .ok_or_else(|| err("missing \"/\" after the scheme"))?;
        let scheme_name = scheme.to_ascii_lowercase();
        if scheme_name.is_empty() {
            return Err(err("empty scheme"));
        }
        if body == "*" {
            return Ok(VersRange {
                scheme_name,
                any: true,
                constraints: Vec::new(),
            });
        }
        let scheme = scheme_for_vers(&scheme_name);
        let mut constraints = Vec::new();
        for part in body.split('|') {
            let (comparator, v) = if let Some(v) = part.strip_prefix(">=") {
                (VersComparator::Ge, v)
            } else if let Some(v) = part.strip_prefix("<=") {
                (VersComparator::Le, v)
            } else if let Some(v) = part.strip_prefix("!=") {
                (VersComparator::Ne, v)
            } else if let Some(v) = part.strip_prefix('>') {
                (VersComparator::Gt, v)
            } else if let Some(v) = part.strip_prefix('<') {
                (VersComparator::Lt, v)
            } else if let Some(v) = part.strip_prefix('=') {
                (VersComparator::Eq, v)
            } else {
                (VersComparator::Eq, part)
            };
            if v.is_empty() {
                return Err(err("a constraint has no version"));
            }
            let version = Version::parse(scheme, v)?;
            constraints.push(VersConstraint {
                comparator,
                version,
            });
        }
        if constraints.len() > 256 {
            return Err(err("more than 256 constraints"));
        }
        super::sort_tolerant(&mut constraints, |a, b| {
            a.version.compare(&b.version).unwrap_or(Ordering::Equal)
        });
        Ok(VersRange {
            scheme_name,
            any: false,
            constraints,
        })
    }

    /// The ordering this range's versions use.
    pub fn scheme(&self) -> VersionScheme {
        scheme_for_vers(&self.scheme_name)
    }

    /// Whether `v` is inside the range, following the vers evaluation rules: equality and
    /// exclusions first, then the sorted bounds read as a sequence of intervals.
    pub fn contains(&self, v: &Version) -> bool {
        if self.any {
            return true;
        }
        let cmp = |c: &VersConstraint| v.compare(&c.version);
        for c in &self.constraints {
            match (c.comparator, cmp(c)) {
                (VersComparator::Eq, Some(Ordering::Equal)) => return true,
                (VersComparator::Ne, Some(Ordering::Equal)) => return false,
                (_, None) => return false,
                _ => {}
            }
        }
        let bounds: Vec<&VersConstraint> = self
            .constraints
            .iter()
            .filter(|c| !matches!(c.comparator, VersComparator::Eq | VersComparator::Ne))
            .collect();
        if bounds.is_empty() {
            // Only `!=` constraints (none hit) means "everything else"; with `=` constraints
            // present the range is just those versions.
            let has_eq = self
                .constraints
                .iter()
                .any(|c| c.comparator == VersComparator::Eq);
            return !has_eq;
        }
        let sat = |c: &VersConstraint| match (c.comparator, cmp(c)) {
            (VersComparator::Lt, Some(o)) => o.is_lt(),
            (VersComparator::Le, Some(o)) => o.is_le(),
            (VersComparator::Gt, Some(o)) => o.is_gt(),
            (VersComparator::Ge, Some(o)) => o.is_ge(),
            _ => false,
        };
        let is_lower =
            |c: &VersConstraint| matches!(c.comparator, VersComparator::Gt | VersComparator::Ge);
        let first = bounds[0];
        if !is_lower(first) && sat(first) {
            return true;
        }
        let last = bounds[bounds.len() - 1];
        if is_lower(last) && sat(last) {
            return true;
        }
        bounds
            .windows(2)
            .any(|w| is_lower(w[0]) && !is_lower(w[1]) && sat(w[0]) && sat(w[1]))
    }
}
