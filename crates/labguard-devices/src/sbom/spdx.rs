//! SPDX 2.3 JSON (2.2 is read too; its package fields are a subset).

use std::collections::HashSet;

use serde::Deserialize;

use super::{cpe_or_warn, purl_or_warn, strip_bom, Component, ComponentKind, Sbom, SbomFormat};
use crate::error::{Error, Result};

#[derive(Deserialize)]
struct Doc {
    #[serde(rename = "spdxVersion")]
    spdx_version: Option<String>,
    #[serde(rename = "SPDXID")]
    spdx_id: Option<String>,
    #[serde(rename = "documentNamespace")]
    namespace: Option<String>,
    #[serde(rename = "documentDescribes", default)]
    describes: Vec<String>,
    #[serde(default)]
    packages: Vec<Package>,
    #[serde(default)]
    relationships: Vec<Relationship>,
}

#[derive(Deserialize)]
struct Package {
    #[serde(rename = "SPDXID")]
    id: Option<String>,
    name: Option<String>,
    #[serde(rename = "versionInfo")]
    version: Option<String>,
    supplier: Option<String>,
    originator: Option<String>,
    #[serde(rename = "primaryPackagePurpose")]
    purpose: Option<String>,
    #[serde(rename = "externalRefs", default)]
    external_refs: Vec<ExternalRef>,
}

#[derive(Deserialize)]
struct ExternalRef {
    #[serde(rename = "referenceType")]
    ty: Option<String>,
    #[serde(rename = "referenceLocator")]
    locator: Option<String>,
}

#[derive(Deserialize)]
struct Relationship {
    #[serde(rename = "spdxElementId")]
    element: Option<String>,
    #[serde(rename = "relationshipType")]
    ty: Option<String>,
    #[serde(rename = "relatedSpdxElement")]
    related: Option<String>,
}

/// Reads an SPDX 2.3 JSON document. The package the document DESCRIBES becomes
/// [`Sbom::root`] when there is exactly one; purls and CPEs come from `externalRefs`.
pub fn parse_spdx_json(bytes: &[u8]) -> Result<Sbom> {
    let doc: Doc =
        serde_json::from_slice(strip_bom(bytes)).map_err(|e| Error::json("SPDX document", e))?;
    let version = doc
        .spdx_version
        .ok_or_else(|| Error::invalid("SPDX document", "spdxVersion is missing"))?;
    let mut warnings = Vec::new();
    match version.as_str() {
        "SPDX-2.3" => {}
        "SPDX-2.2" => warnings.push("SPDX-2.2 document read with the 2.3 rules".into()),
        _ => {
            return Err(Error::UnsupportedVersion {
                format: "SPDX JSON",
                version,
            })
        }
    }
    let doc_id = doc.spdx_id.as_deref().unwrap_or("SPDXRef-DOCUMENT");
    let mut described: HashSet<&str> = doc.describes.iter().map(String::as_str).collect();
    for r in &doc.relationships {
        let (Some(a), Some(t), Some(b)) = (&r.element, &r.ty, &r.related) else {
            continue;
        };
        match t.as_str() {
            "DESCRIBES" if a == doc_id => {
                described.insert(b);
            }
            "DESCRIBED_BY" if b == doc_id => {
                described.insert(a);
            }
            _ => {}
        }
    }
    let mut root = None;
    let mut components = Vec::new();
    for (i, p) in doc.packages.iter().enumerate() {
        let Some(c) = convert(p, i, &mut warnings) else {
            continue;
        };
        let is_root = described.len() == 1
            && root.is_none()
            && p.id.as_deref().is_some_and(|id| described.contains(id));
        if is_root {
            root = Some(c);
        } else {
            components.push(c);
        }
    }
    Ok(Sbom {
        format: SbomFormat::Spdx,
        spec_version: version,
        serial_number: doc.namespace,
        document_version: None,
        root,
        components,
        warnings,
    })
}

/// "Organization: Acme" → "Acme"; NOASSERTION → None.
fn actor(s: Option<&str>) -> Option<String> {
    let s = s?.trim();
    if s.is_empty() || s == "NOASSERTION" {
        return None;
    }
    let name = s.split_once(':').map_or(s, |(_, n)| n).trim();
    // Drop a trailing "(email)".
    let name = name.split(" (").next().unwrap_or(name).trim();
    (!name.is_empty()).then(|| name.to_string())
}

fn convert(p: &Package, i: usize, warnings: &mut Vec<String>) -> Option<Component> {
    let name = match p.name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => {
            warnings.push(format!("packages[{i}]: package without a name skipped"));
            return None;
        }
    };
    let who = format!("packages[{i}] ({name})");
    let locator = |types: &[&str]| {
        p.external_refs
            .iter()
            .find(|r| r.ty.as_deref().is_some_and(|t| types.contains(&t)))
            .and_then(|r| r.locator.as_deref())
    };
    let version = p
        .version
        .clone()
        .filter(|v| !v.trim().is_empty() && v != "NOASSERTION");
    Some(Component {
        bom_ref: p.id.clone(),
        kind: p
            .purpose
            .as_deref()
            .map_or(ComponentKind::Library, ComponentKind::from_label),
        group: None,
        name,
        version,
        purl: purl_or_warn(locator(&["purl"]), &who, warnings),
        cpe: cpe_or_warn(locator(&["cpe23Type", "cpe22Type"]), &who, warnings),
        supplier: actor(p.supplier.as_deref()).or_else(|| actor(p.originator.as_deref())),
        parent: None,
    })
}
