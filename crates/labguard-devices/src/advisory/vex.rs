//! Vendor VEX statements ("is my product affected by CVE-X?") and CycloneDX VEX.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde::Deserialize;

use crate::cpe::Cpe;
use crate::ecosystem::Ecosystem;
use crate::error::{Error, Result};
use crate::purl::Purl;
use crate::sbom::{strip_bom, Component};
use crate::version::{VersRange, Version, VersionScheme};

/// A vendor's verdict on one product for one vulnerability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VexStatus {
    /// Not affected; the justification says why. Suppresses matching findings.
    NotAffected,
    /// Affected.
    Affected,
    /// Fixed in the product versions named. Suppresses matching findings.
    Fixed,
    /// Still being analysed.
    UnderInvestigation,
}

/// A version constraint on a VEX product.
#[derive(Debug, Clone)]
pub enum VexVersion {
    /// Exactly this version.
    Exact(String),
    /// A `vers:` range.
    Range(VersRange),
}

/// Which product a statement is about. Any one identifier that fits identifies the
/// product; with no identifier at all, the name is compared.
#[derive(Debug, Clone, Default)]
pub struct VexProduct {
    /// A CycloneDX `bom-ref` in the SBOM the statement is about.
    pub bom_ref: Option<String>,
    /// The serial number (`urn:uuid:…`) of that SBOM, from a BOM-Link.
    pub bom_serial: Option<String>,
    /// Package URL; a version in it must match too.
    pub purl: Option<Purl>,
    /// CPE pattern.
    pub cpe: Option<Cpe>,
    /// Product name, used only when no identifier is given.
    pub name: Option<String>,
    /// Version constraints; empty means every version.
    pub versions: Vec<VexVersion>,
}

/// One statement.
#[derive(Debug, Clone)]
pub struct VexStatement {
    /// The vulnerability (CVE, GHSA, …).
    pub vulnerability: String,
    /// Other identifiers the document gives for it.
    pub aliases: Vec<String>,
    /// The product it is about.
    pub product: VexProduct,
    /// The verdict.
    pub status: VexStatus,
    /// Machine-readable reason for `NotAffected` (e.g. `code_not_reachable`,
    /// `vulnerable_code_not_present`), kept for display.
    pub justification: Option<String>,
    /// The vendor's explanation or impact statement.
    pub detail: Option<String>,
    /// The document it came from (serial number or CSAF tracking id).
    pub source: Option<String>,
}

/// Statements read from one document.
#[derive(Debug, Clone, Default)]
pub struct VexDocument {
    /// The statements.
    pub statements: Vec<VexStatement>,
    /// Entries skipped or fields ignored.
    pub warnings: Vec<String>,
}

fn normalize_serial(s: &str) -> String {
    s.trim()
        .to_ascii_lowercase()
        .trim_start_matches("urn:uuid:")
        .to_string()
}

impl VexStatement {
    /// Whether the statement names `id` (its vulnerability or an alias).
    pub fn is_about(&self, id: &str) -> bool {
        self.vulnerability.eq_ignore_ascii_case(id)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(id))
    }

    /// Whether the statement covers `component`. `containers` are the components it sits
    /// in (its parents and the SBOM's root product): a statement about a containing product
    /// covers everything inside it. `serial` is the SBOM's serial number, which a BOM-Link
    /// in the statement must name.
    pub fn covers(
        &self,
        component: &Component,
        containers: &[&Component],
        serial: Option<&str>,
    ) -> bool {
        let p = &self.product;
        if let Some(want) = &p.bom_serial {
            // Suppressing on an unverifiable link could hide a real vulnerability.
            match serial {
                Some(have) if normalize_serial(have) == normalize_serial(want) => {}
                _ => return false,
            }
        }
        std::iter::once(component)
            .chain(containers.iter().copied())
            .any(|c| self.identifies(c) && self.version_fits(c))
    }

    fn identifies(&self, c: &Component) -> bool {
        let p = &self.product;
        let by_ref = p.bom_ref.as_ref().map(|r| {
            // A bom-ref that is itself a purl may name the component by purl instead.
            c.bom_ref.as_deref() == Some(r.as_str())
                || Purl::parse(r)
                    .ok()
                    .zip(c.purl.as_ref())
                    .is_some_and(|(a, b)| purl_fits(&a, b))
        });
        let by_purl = p
            .purl
            .as_ref()
            .map(|want| c.purl.as_ref().is_some_and(|have| purl_fits(want, have)));
        let by_cpe = p
            .cpe
            .as_ref()
            .map(|want| c.cpe.as_ref().is_some_and(|have| want.covers(have, false)));
        let ids = [by_ref, by_purl, by_cpe];
        if ids.iter().all(Option::is_none) {
            return p
                .name
                .as_deref()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case(c.name.trim()));
        }
        ids.contains(&Some(true))
    }

    fn version_fits(&self, c: &Component) -> bool {
        if self.product.versions.is_empty() {
            return true;
        }
        let Some(have) = c.effective_version() else {
            return false;
        };
        let scheme = c.purl.as_ref().map_or(VersionScheme::Generic, |u| {
            Ecosystem::from_purl(u).version_scheme()
        });
        self.product.versions.iter().any(|v| match v {
            VexVersion::Exact(want) => {
                want.trim() == have.trim()
                    || Version::parse(scheme, want)
                        .ok()
                        .zip(Version::parse(scheme, have).ok())
                        .is_some_and(|(a, b)| a.compare(&b) == Some(Ordering::Equal))
            }
            VexVersion::Range(r) => {
                Version::parse(r.scheme(), have).is_ok_and(|hv| r.contains(&hv))
            }
        })
    }
}

/// `want` (from a statement) fits `have` (a component) if the package is the same and
/// any version in `want` equals the component's.
fn purl_fits(want: &Purl, have: &Purl) -> bool {
    want.same_package(have)
        && want
            .version
            .as_ref()
            .is_none_or(|v| have.version.as_ref() == Some(v))
}

/// Reads VEX statements from CycloneDX or CSAF JSON, detected from the content.
pub fn parse_vex(bytes: &[u8]) -> Result<VexDocument> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "bomFormat")]
        bom_format: Option<String>,
        document: Option<serde_json::Value>,
    }
    let probe: Probe =
        serde_json::from_slice(strip_bom(bytes)).map_err(|e| Error::json("VEX", e))?;
    if probe.bom_format.is_some() {
        parse_cyclonedx_vex(bytes)
    } else if probe.document.is_some() {
        super::parse_csaf_vex(bytes)
    } else {
        Err(Error::UnknownFormat("neither CycloneDX nor CSAF".into()))
    }
}

#[derive(Deserialize)]
struct Bom {
    #[serde(rename = "serialNumber")]
    serial_number: Option<String>,
    metadata: Option<Meta>,
    #[serde(default)]
    components: Vec<RefComponent>,
    #[serde(default)]
    vulnerabilities: Vec<Vuln>,
}

#[derive(Deserialize)]
struct Meta {
    component: Option<RefComponent>,
}

#[derive(Deserialize)]
struct RefComponent {
    #[serde(rename = "bom-ref")]
    bom_ref: Option<String>,
    version: Option<String>,
    purl: Option<String>,
    #[serde(default)]
    components: Vec<RefComponent>,
}

#[derive(Deserialize)]
struct Vuln {
    id: Option<String>,
    #[serde(default)]
    references: Vec<Reference>,
    analysis: Option<Analysis>,
    #[serde(default)]
    affects: Vec<Affects>,
}

#[derive(Deserialize)]
struct Reference {
    id: Option<String>,
}

#[derive(Deserialize)]
struct Analysis {
    state: Option<String>,
    justification: Option<String>,
    detail: Option<String>,
}

#[derive(Deserialize)]
struct Affects {
    #[serde(rename = "ref")]
    target: Option<String>,
    #[serde(default)]
    versions: Vec<AffVersion>,
}

#[derive(Deserialize)]
struct AffVersion {
    version: Option<String>,
    range: Option<String>,
    status: Option<String>,
}

fn collect_refs<'a>(c: &'a RefComponent, out: &mut HashMap<&'a str, &'a RefComponent>) {
    if let Some(r) = &c.bom_ref {
        out.insert(r, c);
    }
    for child in &c.components {
        collect_refs(child, out);
    }
}

/// Splits a BOM-Link `urn:cdx:<serial>/<version>#<bom-ref>` into serial and bom-ref.
fn split_bom_link(r: &str) -> (Option<String>, String) {
    match r
        .strip_prefix("urn:cdx:")
        .and_then(|rest| rest.split_once('#'))
    {
        Some((doc, frag)) => {
            let serial = doc.split('/').next().unwrap_or(doc);
            (
                Some(format!("urn:uuid:{serial}")),
                percent_decode_lossy(frag),
            )
        }
        None => (None, r.to_string()),
    }
}

fn percent_decode_lossy(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads the `vulnerabilities` of a CycloneDX BOM or VEX document as statements. Each
/// `affects` entry yields one statement per distinct version status.
pub fn parse_cyclonedx_vex(bytes: &[u8]) -> Result<VexDocument> {
    let bom: Bom =
        serde_json::from_slice(strip_bom(bytes)).map_err(|e| Error::json("CycloneDX VEX", e))?;
    let mut refs = HashMap::new();
    if let Some(c) = bom.metadata.as_ref().and_then(|m| m.component.as_ref()) {
        collect_refs(c, &mut refs);
    }
    for c in &bom.components {
        collect_refs(c, &mut refs);
    }
    let mut doc = VexDocument::default();
    for (vi, v) in bom.vulnerabilities.iter().enumerate() {
        let Some(id) = v.id.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
            doc.warnings
                .push(format!("vulnerabilities[{vi}]: no id; skipped"));
            continue;
        };
        let aliases: Vec<String> = v.references.iter().filter_map(|r| r.id.clone()).collect();
        let analysis = v.analysis.as_ref();
        let base = match analysis.and_then(|a| a.state.as_deref()) {
            Some("not_affected" | "false_positive") => VexStatus::NotAffected,
            Some("resolved" | "resolved_with_pedigree") => VexStatus::Fixed,
            Some("exploitable") | None => VexStatus::Affected,
            Some("in_triage") => VexStatus::UnderInvestigation,
            Some(other) => {
                doc.warnings.push(format!(
                    "{id}: unknown analysis state {other:?}; read as in_triage"
                ));
                VexStatus::UnderInvestigation
            }
        };
        let justification = analysis.and_then(|a| match a.state.as_deref() {
            Some("false_positive") => Some("false_positive".to_string()),
            _ => a.justification.clone(),
        });
        let detail = analysis.and_then(|a| a.detail.clone());
        for (ai, aff) in v.affects.iter().enumerate() {
            let Some(target) = aff.target.as_deref() else {
                doc.warnings
                    .push(format!("{id}: affects[{ai}] has no ref; skipped"));
                continue;
            };
            let (serial, bom_ref) = split_bom_link(target);
            let local = if serial.is_none() {
                refs.get(bom_ref.as_str())
            } else {
                None
            };
            let purl = local
                .and_then(|c| c.purl.as_deref())
                .or(Some(bom_ref.as_str()).filter(|r| r.starts_with("pkg:")))
                .and_then(|p| Purl::parse(p).ok());
            let mut groups: Vec<(VexStatus, Vec<VexVersion>)> = Vec::new();
            for (k, ver) in aff.versions.iter().enumerate() {
                let status = match ver.status.as_deref() {
                    Some("unaffected") => VexStatus::NotAffected,
                    Some("unknown") => VexStatus::UnderInvestigation,
                    // "affected" is the default; under a not_affected analysis it is a
                    // positive claim that these versions are affected.
                    _ if base == VexStatus::NotAffected => VexStatus::Affected,
                    _ => base,
                };
                let constraint = match (&ver.version, &ver.range) {
                    (Some(v), _) => VexVersion::Exact(v.clone()),
                    (None, Some(r)) => match VersRange::parse(r) {
                        Ok(r) => VexVersion::Range(r),
                        Err(e) => {
                            doc.warnings
                                .push(format!("{id}: affects[{ai}].versions[{k}]: {e}; skipped"));
                            continue;
                        }
                    },
                    (None, None) => {
                        doc.warnings.push(format!(
                            "{id}: affects[{ai}].versions[{k}] is empty; skipped"
                        ));
                        continue;
                    }
                };
                match groups.iter_mut().find(|(s, _)| *s == status) {
                    Some((_, list)) => list.push(constraint),
                    None => groups.push((status, vec![constraint])),
                }
            }
            if aff.versions.is_empty() {
                // A statement on a product described in this same document is about the
                // version described there.
                let versions = local
                    .and_then(|c| c.version.clone())
                    .map(|v| vec![VexVersion::Exact(v)])
                    .unwrap_or_default();
                groups.push((base, versions));
            }
            for (status, versions) in groups {
                doc.statements.push(VexStatement {
                    vulnerability: id.to_string(),
                    aliases: aliases.clone(),
                    product: VexProduct {
                        bom_ref: Some(bom_ref.clone()),
                        bom_serial: serial.clone(),
                        purl: purl.clone(),
                        cpe: None,
                        name: None,
                        versions,
                    },
                    justification: if status == VexStatus::NotAffected {
                        justification.clone()
                    } else {
                        None
                    },
                    status,
                    detail: detail.clone(),
                    source: bom.serial_number.clone(),
                });
            }
        }
    }
    Ok(doc)
}
