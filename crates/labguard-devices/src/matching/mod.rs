//! Matching SBOM components against advisories.
//!
//! Packages match by purl (ecosystem + name; version, qualifiers and subpath ignored) or,
//! for components without a purl, by name; firmware matches by CPE with version ranges.
//! Advisories that share an identifier (GHSA ↔ CVE aliases) become one finding. A VEX
//! `not_affected` or `fixed` statement moves a finding to the suppressed list, keeping the
//! vendor's justification.

mod alias;
mod range;

use std::collections::{BTreeSet, HashMap};

use crate::advisory::{Advisory, RangeKind, SeverityScore, VexStatement, VexStatus};
use crate::device::Asset;
use crate::ecosystem::Ecosystem;
use crate::sbom::{Component, Sbom};
use crate::version::{Version, VersionScheme};

pub use range::{evaluate as evaluate_range, RangeVerdict};

/// How a component was tied to an advisory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchBasis {
    /// Package URL ecosystem and name.
    Purl,
    /// CPE criteria.
    Cpe,
    /// Name only (the component has no purl): less certain.
    Name,
}

/// One vulnerability found in one component (aliases merged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The affected component.
    pub component: Component,
    /// Display identifier: a CVE when the alias group has one, else the smallest id.
    pub id: String,
    /// Every other identifier of the vulnerability, sorted.
    pub aliases: Vec<String>,
    /// The advisories that matched, sorted.
    pub advisory_ids: Vec<String>,
    /// Strongest basis among the matches.
    pub basis: MatchBasis,
    /// Versions that fix it (first fix above the component's version per range), sorted.
    pub fixed_versions: Vec<String>,
    /// Severity ratings from all matched advisories, de-duplicated.
    pub severity: Vec<SeverityScore>,
    /// A database's qualitative severity, if any advisory gives one.
    pub database_severity: Option<String>,
    /// A summary from one of the advisories.
    pub summary: Option<String>,
}

impl Finding {
    /// The identifier and all aliases.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}

/// A finding that a vendor VEX statement says does not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppressedFinding {
    /// The finding as matched.
    pub finding: Finding,
    /// `NotAffected` or `Fixed`.
    pub status: VexStatus,
    /// The statement's justification, for display.
    pub justification: Option<String>,
    /// The vendor's explanation.
    pub detail: Option<String>,
    /// The VEX document it came from.
    pub source: Option<String>,
}

/// The result of matching one SBOM or device.
#[derive(Debug, Clone, Default)]
pub struct MatchReport {
    /// Open findings.
    pub findings: Vec<Finding>,
    /// Findings suppressed by VEX.
    pub suppressed: Vec<SuppressedFinding>,
    /// What could not be evaluated (unparseable versions, missing versions, conflicting
    /// VEX), so that a gap is never mistaken for a clean result.
    pub warnings: Vec<String>,
}

/// (advisory, affected entry).
type Slot = (usize, usize);
/// (advisory, affected entry, CPE criterion).
type CpeSlot = (usize, usize, usize);
/// (advisory, basis, first fix above the version).
type Hit = (usize, MatchBasis, Option<String>);

/// Advisories indexed for matching. Build once per advisory set; reuse for every device.
pub struct MatchIndex<'a> {
    advisories: Vec<&'a Advisory>,
    by_package: HashMap<(Ecosystem, String), Vec<Slot>>,
    by_name: HashMap<String, Vec<Slot>>,
    by_cpe: HashMap<(String, String), Vec<CpeSlot>>,
    cpe_wildcards: Vec<CpeSlot>,
    aliases: alias::Groups,
}

impl<'a> MatchIndex<'a> {
    /// Indexes `advisories`; withdrawn ones are left out.
    pub fn new(advisories: impl IntoIterator<Item = &'a Advisory>) -> MatchIndex<'a> {
        let advisories: Vec<&Advisory> = advisories
            .into_iter()
            .filter(|a| a.withdrawn.is_none())
            .collect();
        let mut by_package: HashMap<(Ecosystem, String), Vec<Slot>> = HashMap::new();
        let mut by_name: HashMap<String, Vec<Slot>> = HashMap::new();
        let mut by_cpe: HashMap<(String, String), Vec<CpeSlot>> = HashMap::new();
        let mut cpe_wildcards = Vec::new();
        for (ai, adv) in advisories.iter().enumerate() {
            for (fi, aff) in adv.affected.iter().enumerate() {
                if let Some(p) = &aff.package {
                    let name = p.ecosystem.normalize_name(&p.name);
                    by_package
                        .entry((p.ecosystem.clone(), name.clone()))
                        .or_default()
                        .push((ai, fi));
                    by_name.entry(name).or_default().push((ai, fi));
                }
                for (ci, m) in aff.cpes.iter().enumerate() {
                    match (m.criteria.vendor(), m.criteria.product()) {
                        (Some(v), Some(p))
                            if !v.contains(['*', '?']) && !p.contains(['*', '?']) =>
                        {
                            by_cpe
                                .entry((v.to_string(), p.to_string()))
                                .or_default()
                                .push((ai, fi, ci));
                        }
                        _ => cpe_wildcards.push((ai, fi, ci)),
                    }
                }
            }
        }
        let aliases = alias::Groups::build(&advisories);
        MatchIndex {
            advisories,
            by_package,
            by_name,
            by_cpe,
            cpe_wildcards,
            aliases,
        }
    }

    /// Number of advisories indexed.
    pub fn len(&self) -> usize {
        self.advisories.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.advisories.is_empty()
    }

    /// Matches every component of `sbom` (root included) and applies `vex`. A VEX
    /// statement about a component also covers the components nested in it.
    pub fn match_sbom(&self, sbom: &Sbom, vex: &[VexStatement]) -> MatchReport {
        self.match_device_parts(None, Some(sbom), vex)
    }

    /// Matches a device: its firmware (from the asset's CPE and version) plus its SBOM. The
    /// firmware and the SBOM root count as containers of every SBOM component for VEX.
    pub fn match_device(
        &self,
        asset: &Asset,
        sbom: Option<&Sbom>,
        vex: &[VexStatement],
    ) -> MatchReport {
        let firmware = asset.firmware_component();
        self.match_device_parts(firmware.as_ref(), sbom, vex)
    }

    fn match_device_parts(
        &self,
        firmware: Option<&Component>,
        sbom: Option<&Sbom>,
        vex: &[VexStatement],
    ) -> MatchReport {
        let mut top: Vec<&Component> = firmware.into_iter().collect();
        top.extend(sbom.and_then(|s| s.root.as_ref()));
        let mut items: Vec<(&Component, Vec<&Component>)> = top
            .iter()
            .map(|c| {
                (
                    *c,
                    top.iter()
                        .copied()
                        .filter(|o| !std::ptr::eq(*o, *c))
                        .collect(),
                )
            })
            .collect();
        if let Some(s) = sbom {
            for c in &s.components {
                let mut containers = top.clone();
                // Walk up the nesting; the bound guards against a cycle in hand-built input.
                let mut parent = c.parent;
                for _ in 0..s.components.len() {
                    let Some(p) = parent.and_then(|i| s.components.get(i)) else {
                        break;
                    };
                    containers.push(p);
                    parent = p.parent;
                }
                items.push((c, containers));
            }
        }
        self.run(&items, sbom.and_then(|s| s.serial_number.as_deref()), vex)
    }

    /// Matches a list of components. `root` is the product they belong to, so VEX
    /// statements about the product apply to them; `serial` is its SBOM's serial number.
    pub fn match_components(
        &self,
        components: &[&Component],
        root: Option<&Component>,
        serial: Option<&str>,
        vex: &[VexStatement],
    ) -> MatchReport {
        let containers: Vec<&Component> = root.into_iter().collect();
        let items: Vec<(&Component, Vec<&Component>)> = components
            .iter()
            .map(|c| (*c, containers.clone()))
            .collect();
        self.run(&items, serial, vex)
    }

    fn run(
        &self,
        items: &[(&Component, Vec<&Component>)],
        serial: Option<&str>,
        vex: &[VexStatement],
    ) -> MatchReport {
        let mut report = MatchReport::default();
        for (c, containers) in items {
            for f in self.match_component(c, &mut report.warnings) {
                self.apply_vex(f, containers, serial, vex, &mut report);
            }
        }
        report
    }

    fn apply_vex(
        &self,
        f: Finding,
        containers: &[&Component],
        serial: Option<&str>,
        vex: &[VexStatement],
        report: &mut MatchReport,
    ) {
        let applicable: Vec<&VexStatement> = vex
            .iter()
            .filter(|s| {
                f.ids().any(|id| s.is_about(id)) && s.covers(&f.component, containers, serial)
            })
            .collect();
        let clearing = applicable
            .iter()
            .find(|s| matches!(s.status, VexStatus::NotAffected | VexStatus::Fixed));
        let affirming = applicable.iter().any(|s| s.status == VexStatus::Affected);
        match clearing {
            Some(s) if !affirming => report.suppressed.push(SuppressedFinding {
                status: s.status,
                justification: s.justification.clone(),
                detail: s.detail.clone(),
                source: s.source.clone(),
                finding: f,
            }),
            Some(_) => {
                // Contradicting statements: keep the finding visible.
                report.warnings.push(format!(
                    "{} in {}: VEX statements disagree (affected and not affected); finding kept",
                    f.id, f.component.name
                ));
                report.findings.push(f);
            }
            None => report.findings.push(f),
        }
    }

    /// Matches one component; problems go to `warnings`.
    pub fn match_component(&self, c: &Component, warnings: &mut Vec<String>) -> Vec<Finding> {
        // (advisory, basis, fixed) per matching affected entry.
        let mut hits: Vec<Hit> = Vec::new();
        let version = c.effective_version();
        let who = match version {
            Some(v) => format!("{} {v}", c.name),
            None => c.name.clone(),
        };
        let candidates: Vec<(Slot, MatchBasis)> = match &c.purl {
            Some(p) => {
                let eco = p.ecosystem();
                let name = eco.normalize_name(&p.package_name());
                self.by_package
                    .get(&(eco, name))
                    .into_iter()
                    .flatten()
                    .map(|s| (*s, MatchBasis::Purl))
                    .collect()
            }
            None => {
                let mut names = vec![c.name.to_lowercase()];
                if let Some(g) = &c.group {
                    names.push(format!("{g}:{}", c.name).to_lowercase());
                    names.push(format!("{g}/{}", c.name).to_lowercase());
                }
                let mut seen = BTreeSet::new();
                names
                    .iter()
                    .flat_map(|n| self.by_name.get(n).into_iter().flatten())
                    .filter(|s| seen.insert(**s))
                    .map(|s| (*s, MatchBasis::Name))
                    .collect()
            }
        };
        for ((ai, fi), basis) in candidates {
            let adv = self.advisories[ai];
            let aff = &adv.affected[fi];
            let Some(pkg) = &aff.package else { continue };
            let Some(v) = version else {
                warnings.push(format!(
                    "{who}: no version, so {} cannot be evaluated",
                    adv.id
                ));
                continue;
            };
            match affected_by(aff, &pkg.ecosystem, v) {
                Ok(Some(fixed)) => hits.push((ai, basis, fixed)),
                Ok(None) => {}
                Err(e) => warnings.push(format!("{who}: {} not evaluated: {e}", adv.id)),
            }
        }
        if let Some(cpe) = &c.cpe {
            let key = (
                cpe.vendor().unwrap_or("").to_string(),
                cpe.product().unwrap_or("").to_string(),
            );
            let slots = self
                .by_cpe
                .get(&key)
                .into_iter()
                .flatten()
                .chain(&self.cpe_wildcards);
            for &(ai, fi, ci) in slots {
                if self.advisories[ai].affected[fi].cpes[ci].matches(cpe, c.version.as_deref()) {
                    hits.push((ai, MatchBasis::Cpe, None));
                }
            }
        }
        self.group_hits(c, hits)
    }

    fn group_hits(&self, c: &Component, hits: Vec<Hit>) -> Vec<Finding> {
        let mut by_group: Vec<(usize, Vec<Hit>)> = Vec::new();
        for h in hits {
            let g = self.aliases.group_of(h.0);
            match by_group.iter_mut().find(|(gg, _)| *gg == g) {
                Some((_, list)) => list.push(h),
                None => by_group.push((g, vec![h])),
            }
        }
        by_group
            .into_iter()
            .map(|(g, list)| {
                let (id, aliases) = self.aliases.ids(g);
                let mut advisory_ids = BTreeSet::new();
                let mut fixed = BTreeSet::new();
                let mut severity: Vec<SeverityScore> = Vec::new();
                let mut basis = MatchBasis::Name;
                let mut summary = None;
                let mut database_severity = None;
                for (ai, b, fx) in list {
                    let adv = self.advisories[ai];
                    advisory_ids.insert(adv.id.clone());
                    basis = basis.min(b);
                    fixed.extend(fx);
                    for s in adv
                        .severity
                        .iter()
                        .chain(adv.affected.iter().flat_map(|a| &a.severity))
                    {
                        if !severity.contains(s) {
                            severity.push(s.clone());
                        }
                    }
                    summary = summary.or_else(|| adv.summary.clone());
                    database_severity = database_severity.or_else(|| adv.database_severity.clone());
                }
                Finding {
                    component: c.clone(),
                    id,
                    aliases,
                    advisory_ids: advisory_ids.into_iter().collect(),
                    basis,
                    fixed_versions: fixed.into_iter().collect(),
                    severity,
                    database_severity,
                    summary,
                }
            })
            .collect()
    }
}

/// Whether version `v` is affected by one `affected` entry: its explicit `versions` list or
/// any evaluable range. `Ok(Some(fixed))` when affected (with the first fix above `v`, if
/// known), `Ok(None)` when not, `Err` when nothing could be evaluated.
fn affected_by(
    aff: &crate::advisory::Affected,
    eco: &Ecosystem,
    v: &str,
) -> Result<Option<Option<String>>, String> {
    let eco_scheme = eco.version_scheme();
    let parsed_eco = Version::parse(eco_scheme, v);
    let listed = aff.versions.iter().any(|listed| {
        listed.trim() == v.trim()
            || parsed_eco
                .as_ref()
                .ok()
                .zip(Version::parse(eco_scheme, listed).ok())
                .is_some_and(|(a, b)| a.compare(&b) == Some(std::cmp::Ordering::Equal))
    });
    if listed {
        return Ok(Some(None));
    }
    let mut errors = Vec::new();
    let mut evaluated = aff.ranges.is_empty() && !aff.versions.is_empty();
    let mut fixed_hit: Option<Option<String>> = None;
    for r in &aff.ranges {
        let scheme = match r.kind {
            RangeKind::SemVer => VersionScheme::SemVer,
            RangeKind::Ecosystem => eco_scheme,
            // GIT and unknown range types need data this crate does not have; the
            // advisory's `versions` list (checked above) covers them.
            RangeKind::Git | RangeKind::Other(_) => {
                evaluated |= !aff.versions.is_empty();
                continue;
            }
        };
        let parsed = match Version::parse(scheme, v) {
            Ok(p) => p,
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        };
        match range::evaluate(r, scheme, &parsed) {
            Ok(RangeVerdict::Affected { fixed }) => {
                evaluated = true;
                if fixed_hit.as_ref().is_none_or(|f| f.is_none()) {
                    fixed_hit = Some(fixed);
                }
            }
            Ok(RangeVerdict::NotAffected) => evaluated = true,
            Err(e) => errors.push(e),
        }
    }
    match fixed_hit {
        Some(f) => Ok(Some(f)),
        None if evaluated || errors.is_empty() => Ok(None),
        None => Err(errors.join("; ")),
    }
}

#[cfg(test)]
mod tests;
