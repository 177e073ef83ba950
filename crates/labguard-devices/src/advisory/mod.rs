//! Vulnerability advisories: OSV records (single, arrays, ecosystem zip archives), NVD CVE
//! records for CPE-identified firmware, the CISA KEV catalog, and vendor VEX statements
//! (CycloneDX and CSAF 2.0).

mod csaf;
mod kev;
mod nvd;
mod osv;
mod vex;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cpe::CpeMatch;
use crate::ecosystem::Ecosystem;
use crate::purl::Purl;

pub use csaf::parse_csaf_vex;
pub use kev::{parse_kev_json, KevCatalog, KevEntry};
pub use nvd::parse_nvd_cve_json;
pub use osv::{
    parse_osv, parse_osv_json, parse_osv_zip, read_osv_archive, OsvImport, MAX_ZIP_ENTRIES,
    MAX_ZIP_ENTRY_BYTES, MAX_ZIP_RATIO, MAX_ZIP_TOTAL_BYTES,
};
pub use vex::{
    parse_cyclonedx_vex, parse_vex, VexDocument, VexProduct, VexStatement, VexStatus, VexVersion,
};

/// One severity rating as the advisory states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityScore {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, or a database's own label.
    pub kind: String,
    /// The vector (for CVSS) or the database's value.
    pub score: String,
}

/// The package an `affected` entry names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedPackage {
    /// Ecosystem.
    pub ecosystem: Ecosystem,
    /// Name as the ecosystem spells it.
    pub name: String,
    /// Package URL, if the advisory gives one.
    pub purl: Option<Purl>,
}

/// How a range's versions are ordered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RangeKind {
    /// SemVer 2.0 precedence.
    SemVer,
    /// The package ecosystem's own ordering.
    Ecosystem,
    /// Git commits; cannot be evaluated without the repository, so only the advisory's
    /// explicit `versions` list is used for these.
    Git,
    /// A type this crate does not know.
    Other(String),
}

/// One event of a range timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RangeEvent {
    /// Vulnerable from this version on (`"0"` = from the beginning).
    Introduced(String),
    /// Not vulnerable from this version on.
    Fixed(String),
    /// Vulnerable up to and including this version.
    LastAffected(String),
    /// Upper limit of the range (`"*"` = none).
    Limit(String),
}

/// One `affected[].ranges[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedRange {
    /// Ordering of the event versions.
    pub kind: RangeKind,
    /// Events in document order.
    pub events: Vec<RangeEvent>,
}

/// What an advisory says is affected: a package with version ranges, or CPE criteria.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Affected {
    /// The package; `None` for CPE-only entries.
    pub package: Option<AffectedPackage>,
    /// Version ranges.
    pub ranges: Vec<AffectedRange>,
    /// Explicitly enumerated affected versions.
    pub versions: Vec<String>,
    /// Per-package severity, when it differs between packages.
    pub severity: Vec<SeverityScore>,
    /// CPE criteria (from NVD or a vendor), for firmware and products without purls.
    pub cpes: Vec<CpeMatch>,
}

/// A normalized advisory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    /// Identifier, e.g. `GHSA-…`, `CVE-…`, `PYSEC-…`.
    pub id: String,
    /// Other identifiers for the same vulnerability.
    pub aliases: Vec<String>,
    /// Last modification time; with `id`, the merge key.
    pub modified: Option<DateTime<Utc>>,
    /// Publication time.
    pub published: Option<DateTime<Utc>>,
    /// Withdrawal time; withdrawn advisories never match.
    pub withdrawn: Option<DateTime<Utc>>,
    /// One-line summary.
    pub summary: Option<String>,
    /// Severity ratings for the whole advisory.
    pub severity: Vec<SeverityScore>,
    /// A database's qualitative severity (`database_specific.severity`, e.g. `HIGH`).
    pub database_severity: Option<String>,
    /// What is affected.
    pub affected: Vec<Affected>,
}

/// Identity of one revision of an advisory. Importing a revision whose key is already
/// stored changes nothing, which makes re-imports incremental and idempotent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MergeKey {
    /// Advisory identifier.
    pub id: String,
    /// Its `modified` time.
    pub modified: Option<DateTime<Utc>>,
}

impl Advisory {
    /// A new advisory with only an identifier.
    pub fn new(id: impl Into<String>) -> Advisory {
        Advisory {
            id: id.into(),
            aliases: Vec::new(),
            modified: None,
            published: None,
            withdrawn: None,
            summary: None,
            severity: Vec::new(),
            database_severity: None,
            affected: Vec::new(),
        }
    }

    /// The key that identifies this revision.
    pub fn merge_key(&self) -> MergeKey {
        MergeKey {
            id: self.id.clone(),
            modified: self.modified,
        }
    }

    /// The identifier and all aliases.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// What [`AdvisoryDb::upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The identifier was new.
    Inserted,
    /// A newer revision replaced the stored one.
    Updated,
    /// The same or an older revision; nothing changed.
    Unchanged,
}

/// Counts from [`AdvisoryDb::merge`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MergeStats {
    /// New identifiers.
    pub inserted: usize,
    /// Newer revisions.
    pub updated: usize,
    /// Same or older revisions, ignored.
    pub unchanged: usize,
}

/// Advisories by identifier, keeping the newest revision of each.
#[derive(Debug, Clone, Default)]
pub struct AdvisoryDb {
    by_id: BTreeMap<String, Advisory>,
}

impl AdvisoryDb {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `adv` unless a revision at least as new is already stored. A revision with a
    /// `modified` time beats one without.
    pub fn upsert(&mut self, adv: Advisory) -> MergeOutcome {
        match self.by_id.get_mut(&adv.id) {
            None => {
                self.by_id.insert(adv.id.clone(), adv);
                MergeOutcome::Inserted
            }
            Some(old) if adv.modified > old.modified => {
                *old = adv;
                MergeOutcome::Updated
            }
            Some(_) => MergeOutcome::Unchanged,
        }
    }

    /// Upserts every advisory and counts what happened.
    pub fn merge(&mut self, advisories: impl IntoIterator<Item = Advisory>) -> MergeStats {
        let mut stats = MergeStats::default();
        for a in advisories {
            match self.upsert(a) {
                MergeOutcome::Inserted => stats.inserted += 1,
                MergeOutcome::Updated => stats.updated += 1,
                MergeOutcome::Unchanged => stats.unchanged += 1,
            }
        }
        stats
    }

    /// Whether this exact revision is already stored (lets a caller skip parsing work).
    pub fn contains_key(&self, key: &MergeKey) -> bool {
        self.by_id
            .get(&key.id)
            .is_some_and(|a| a.modified >= key.modified)
    }

    /// The stored revision of `id`.
    pub fn get(&self, id: &str) -> Option<&Advisory> {
        self.by_id.get(id)
    }

    /// All stored advisories, ordered by identifier.
    pub fn iter(&self) -> impl Iterator<Item = &Advisory> {
        self.by_id.values()
    }

    /// Number of advisories.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// Parses an RFC 3339 timestamp, recording a warning instead of failing.
pub(crate) fn timestamp(
    raw: Option<&str>,
    field: &str,
    who: &str,
    warnings: &mut Vec<String>,
) -> Option<DateTime<Utc>> {
    let raw = raw?.trim();
    if raw.is_empty() {
        return None;
    }
    match DateTime::parse_from_rfc3339(raw) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            warnings.push(format!(
                "{who}: {field} {raw:?} is not an RFC 3339 time; ignored"
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests;
