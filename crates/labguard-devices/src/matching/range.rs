//! The OSV range evaluation algorithm (schema § "Evaluation").

use std::cmp::Ordering;

use crate::advisory::{AffectedRange, RangeEvent};
use crate::version::{Version, VersionScheme};

/// Outcome of evaluating one range for one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeVerdict {
    /// The version is inside the range; `fixed` is the first fix above it, if any.
    Affected {
        /// The smallest `fixed` event version greater than the tested version.
        fixed: Option<String>,
    },
    /// The version is outside the range.
    NotAffected,
}

/// A bound of the timeline: `introduced: "0"` sorts first, `limit: "*"` last.
#[derive(Debug, Clone)]
enum Bound {
    Zero,
    At(Version),
    Infinity,
}

impl Bound {
    fn cmp_version(&self, v: &Version) -> Ordering {
        match self {
            Bound::Zero => Ordering::Less,
            Bound::Infinity => Ordering::Greater,
            Bound::At(b) => b.compare(v).unwrap_or(Ordering::Equal),
        }
    }

    fn sort_key_cmp(&self, other: &Bound) -> Ordering {
        match (self, other) {
            (Bound::Zero, Bound::Zero) | (Bound::Infinity, Bound::Infinity) => Ordering::Equal,
            (Bound::Zero, _) | (_, Bound::Infinity) => Ordering::Less,
            (_, Bound::Zero) | (Bound::Infinity, _) => Ordering::Greater,
            (Bound::At(a), Bound::At(b)) => a.compare(b).unwrap_or(Ordering::Equal),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Introduced,
    Fixed,
    LastAffected,
    Limit,
}

/// Most events one range may hold; real ranges have a handful.
pub const MAX_EVENTS: usize = 1024;

/// Evaluates `range` for version `v` (already parsed under `scheme`). An event version that
/// does not parse under `scheme` is an error naming it: the caller reports the range as
/// unevaluated rather than calling the package clean.
pub fn evaluate(
    range: &AffectedRange,
    scheme: VersionScheme,
    v: &Version,
) -> Result<RangeVerdict, String> {
    if range.events.len() > MAX_EVENTS {
        return Err(format!("range has more than {MAX_EVENTS} events"));
    }
    let mut events: Vec<(Kind, Bound)> = Vec::with_capacity(range.events.len());
    for e in &range.events {
        let (kind, raw) = match e {
            RangeEvent::Introduced(s) => (Kind::Introduced, s),
            RangeEvent::Fixed(s) => (Kind::Fixed, s),
            RangeEvent::LastAffected(s) => (Kind::LastAffected, s),
            RangeEvent::Limit(s) => (Kind::Limit, s),
        };
        let raw = raw.trim();
        let bound = match (kind, raw) {
            (Kind::Introduced, "0") => Bound::Zero,
            (Kind::Limit, r) if r.contains('*') => Bound::Infinity,
            _ => Bound::At(Version::parse(scheme, raw).map_err(|e| e.to_string())?),
        };
        events.push((kind, bound));
    }

    // BeforeLimits: with no limit events an implicit "*" applies.
    let limits: Vec<&Bound> = events
        .iter()
        .filter(|(k, _)| *k == Kind::Limit)
        .map(|(_, b)| b)
        .collect();
    if !limits.is_empty() && !limits.iter().any(|b| b.cmp_version(v) == Ordering::Greater) {
        return Ok(RangeVerdict::NotAffected);
    }

    crate::version::sort_tolerant(&mut events, |a, b| a.1.sort_key_cmp(&b.1));
    let mut vulnerable = false;
    for (kind, bound) in &events {
        let o = bound.cmp_version(v); // bound compared with v
        match kind {
            Kind::Introduced if o != Ordering::Greater => vulnerable = true,
            Kind::Fixed if o != Ordering::Greater => vulnerable = false,
            Kind::LastAffected if o == Ordering::Less => vulnerable = false,
            _ => {}
        }
    }
    if !vulnerable {
        return Ok(RangeVerdict::NotAffected);
    }
    // The first fix above v, as the upgrade target.
    let fixed = events.iter().find_map(|(kind, bound)| match (kind, bound) {
        (Kind::Fixed, Bound::At(b)) if b.compare(v) == Some(Ordering::Greater) => {
            Some(b.to_string())
        }
        _ => None,
    });
    Ok(RangeVerdict::Affected { fixed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::RangeKind;

    fn range(events: &[(&str, &str)]) -> AffectedRange {
        AffectedRange {
            kind: RangeKind::SemVer,
            events: events
                .iter()
                .map(|(k, v)| match *k {
                    "introduced" => RangeEvent::Introduced(v.to_string()),
                    "fixed" => RangeEvent::Fixed(v.to_string()),
                    "last_affected" => RangeEvent::LastAffected(v.to_string()),
                    _ => RangeEvent::Limit(v.to_string()),
                })
                .collect(),
        }
    }

    fn hit(r: &AffectedRange, v: &str) -> bool {
        let v = Version::parse(VersionScheme::SemVer, v).unwrap();
        matches!(
            evaluate(r, VersionScheme::SemVer, &v).unwrap(),
            RangeVerdict::Affected { .. }
        )
    }

    #[test]
    fn schema_example_unfixed() {
        let r = range(&[("introduced", "0")]);
        assert!(hit(&r, "0.0.1") && hit(&r, "99.0.0") && hit(&r, "1.0.0-alpha"));
    }

    #[test]
    fn schema_example_fixed() {
        let r = range(&[("introduced", "0"), ("fixed", "1.0.2")]);
        assert!(hit(&r, "1.0.1") && hit(&r, "0.1.0"));
        assert!(
            !hit(&r, "1.0.2"),
            "the fixed version itself is not affected"
        );
        assert!(!hit(&r, "1.0.3"));
        // A pre-release of the fix precedes it, so it is still affected.
        assert!(hit(&r, "1.0.2-rc.1"));
        let v = Version::parse(VersionScheme::SemVer, "0.9.0").unwrap();
        assert_eq!(
            evaluate(&r, VersionScheme::SemVer, &v).unwrap(),
            RangeVerdict::Affected {
                fixed: Some("1.0.2".into())
            }
        );
    }

    #[test]
    fn schema_example_multiple_ranges() {
        // [1.0.0, 1.0.2) or [3.0.0, 3.2.5); written out of order to exercise the sort.
        let r = range(&[
            ("introduced", "3.0.0"),
            ("fixed", "1.0.2"),
            ("fixed", "3.2.5"),
            ("introduced", "1.0.0"),
        ]);
        for v in ["1.0.0", "1.0.1", "3.0.0", "3.2.4"] {
            assert!(hit(&r, v), "{v}");
        }
        for v in [
            "0.9.9",
            "1.0.2",
            "2.9.9",
            "3.2.5",
            "4.0.0",
            "1.0.0-beta",
            "3.0.0-rc.1",
        ] {
            assert!(!hit(&r, v), "{v}");
        }
    }

    #[test]
    fn schema_example_last_affected_is_inclusive() {
        let r = range(&[("introduced", "0"), ("last_affected", "2.1.214")]);
        assert!(hit(&r, "2.1.214") && hit(&r, "2.1.213"));
        assert!(!hit(&r, "2.1.215") && !hit(&r, "2.2.0"));
    }

    #[test]
    fn pre_releases_of_the_introduced_version_are_not_affected() {
        let r = range(&[("introduced", "2.0.0"), ("fixed", "2.3.1")]);
        assert!(!hit(&r, "2.0.0-alpha.1") && !hit(&r, "2.0.0-rc.2"));
        assert!(hit(&r, "2.0.0") && hit(&r, "2.3.1-beta"));
        assert!(
            !hit(&r, "2.3.1+build.5"),
            "build metadata does not change precedence"
        );
    }

    #[test]
    fn limit_events() {
        let r = range(&[("introduced", "1.0.0"), ("limit", "1.5.0")]);
        assert!(hit(&r, "1.4.9") && !hit(&r, "1.5.0") && !hit(&r, "2.0.0"));
        let r = range(&[("introduced", "1.0.0"), ("limit", "*")]);
        assert!(hit(&r, "9.0.0"));
    }

    #[test]
    fn unparseable_bounds_are_errors_not_misses() {
        let r = range(&[("introduced", "0"), ("fixed", "not-a-version")]);
        let v = Version::parse(VersionScheme::SemVer, "1.0.0").unwrap();
        assert!(evaluate(&r, VersionScheme::SemVer, &v).is_err());
    }
}
