//! Per-ecosystem version ordering.
//!
//! Each scheme parses into its own type with a total order; [`Version`] wraps them so the
//! matcher can hold parsed versions of any ecosystem. Two versions of different schemes
//! are never compared (that would be a silent false match or miss).

mod debian;
mod generic;
mod maven;
mod pep440;
mod semver_lenient;
mod vers;

use std::cmp::Ordering;
use std::fmt;

pub use debian::DebianVersion;
pub use generic::GenericVersion;
pub use maven::MavenVersion;
pub use pep440::Pep440Version;
pub use semver_lenient::SemVersion;
pub use vers::{VersComparator, VersConstraint, VersRange};

use crate::error::{Error, Result};

/// Longest version string accepted. Real versions are short; the bound keeps hostile input
/// from costing quadratic time in the comparators.
pub const MAX_VERSION_LEN: usize = 256;

/// A version ordering rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VersionScheme {
    /// SemVer 2.0 precedence (npm, crates.io, Go, and OSV `SEMVER` ranges). A leading `v`
    /// and missing minor/patch parts are tolerated.
    SemVer,
    /// Python PEP 440: epochs, pre/post/dev releases and local versions.
    Pep440,
    /// Maven `ComparableVersion`-like ordering with its qualifier ranks.
    Maven,
    /// Debian `[epoch:]upstream[-revision]` with dpkg's `~` rule (also Ubuntu).
    Debian,
    /// Dotted numbers with alphanumeric suffixes; for firmware and anything unknown.
    Generic,
}

impl VersionScheme {
    /// Human name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            VersionScheme::SemVer => "SemVer",
            VersionScheme::Pep440 => "PEP 440",
            VersionScheme::Maven => "Maven",
            VersionScheme::Debian => "Debian",
            VersionScheme::Generic => "generic",
        }
    }
}

/// A version parsed under one [`VersionScheme`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    /// See [`VersionScheme::SemVer`].
    SemVer(SemVersion),
    /// See [`VersionScheme::Pep440`].
    Pep440(Pep440Version),
    /// See [`VersionScheme::Maven`].
    Maven(MavenVersion),
    /// See [`VersionScheme::Debian`].
    Debian(DebianVersion),
    /// See [`VersionScheme::Generic`].
    Generic(GenericVersion),
}

impl Version {
    /// Parses `input` under `scheme`.
    pub fn parse(scheme: VersionScheme, input: &str) -> Result<Version> {
        if input.len() > MAX_VERSION_LEN {
            return Err(Error::Version {
                scheme: scheme.name(),
                input: input.chars().take(40).collect::<String>() + "…",
                reason: "longer than 256 bytes",
            });
        }
        Ok(match scheme {
            VersionScheme::SemVer => Version::SemVer(SemVersion::parse(input)?),
            VersionScheme::Pep440 => Version::Pep440(Pep440Version::parse(input)?),
            VersionScheme::Maven => Version::Maven(MavenVersion::parse(input)?),
            VersionScheme::Debian => Version::Debian(DebianVersion::parse(input)?),
            VersionScheme::Generic => Version::Generic(GenericVersion::parse(input)?),
        })
    }

    /// The scheme this version was parsed under.
    pub fn scheme(&self) -> VersionScheme {
        match self {
            Version::SemVer(_) => VersionScheme::SemVer,
            Version::Pep440(_) => VersionScheme::Pep440,
            Version::Maven(_) => VersionScheme::Maven,
            Version::Debian(_) => VersionScheme::Debian,
            Version::Generic(_) => VersionScheme::Generic,
        }
    }

    /// Orders two versions of the same scheme; `None` when the schemes differ.
    pub fn compare(&self, other: &Version) -> Option<Ordering> {
        match (self, other) {
            (Version::SemVer(a), Version::SemVer(b)) => Some(a.cmp(b)),
            (Version::Pep440(a), Version::Pep440(b)) => Some(a.cmp(b)),
            (Version::Maven(a), Version::Maven(b)) => Some(a.cmp(b)),
            (Version::Debian(a), Version::Debian(b)) => Some(a.cmp(b)),
            (Version::Generic(a), Version::Generic(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::SemVer(v) => v.fmt(f),
            Version::Pep440(v) => v.fmt(f),
            Version::Maven(v) => v.fmt(f),
            Version::Debian(v) => v.fmt(f),
            Version::Generic(v) => v.fmt(f),
        }
    }
}

/// Parses both strings under `scheme` and orders them.
///
/// ```
/// use labguard_devices::version::{compare, VersionScheme};
/// use std::cmp::Ordering;
/// assert_eq!(compare(VersionScheme::Pep440, "1.0rc1", "1.0").unwrap(), Ordering::Less);
/// assert_eq!(compare(VersionScheme::Debian, "1.0~beta1", "1.0").unwrap(), Ordering::Less);
/// ```
pub fn compare(scheme: VersionScheme, a: &str, b: &str) -> Result<Ordering> {
    let a = Version::parse(scheme, a)?;
    let b = Version::parse(scheme, b)?;
    // Same scheme on both sides, so `compare` always answers.
    Ok(a.compare(&b).unwrap_or(Ordering::Equal))
}

/// Orders two strings of ASCII digits numerically without overflow: versions such as
/// `20240101123456789012` are legal in several ecosystems.
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Sorts with a comparator that may not be a total order on hostile input (version
/// orderings of real ecosystems have quirks). The standard library's sorts may panic on
/// such a comparator; insertion sort cannot. Callers bound the length.
pub(crate) fn sort_tolerant<T>(v: &mut [T], mut cmp: impl FnMut(&T, &T) -> Ordering) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && cmp(&v[j - 1], &v[j]) == Ordering::Greater {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

#[cfg(test)]
mod tests;
