//! CycloneDX JSON, spec versions 1.2 to 1.6.

use serde::Deserialize;

use super::{cpe_or_warn, purl_or_warn, strip_bom, Component, ComponentKind, Sbom, SbomFormat};
use crate::error::{Error, Result};

#[derive(Deserialize)]
struct Bom {
    #[serde(rename = "bomFormat")]
    bom_format: Option<String>,
    #[serde(rename = "specVersion")]
    spec_version: Option<String>,
    #[serde(rename = "serialNumber")]
    serial_number: Option<String>,
    version: Option<serde_json::Value>,
    metadata: Option<Metadata>,
    #[serde(default)]
    components: Vec<CdxComponent>,
}

#[derive(Deserialize)]
struct Metadata {
    component: Option<CdxComponent>,
}

#[derive(Deserialize)]
struct Org {
    name: Option<String>,
}

#[derive(Deserialize)]
struct CdxComponent {
    #[serde(rename = "type")]
    ty: Option<String>,
    #[serde(rename = "bom-ref")]
    bom_ref: Option<String>,
    group: Option<String>,
    name: Option<String>,
    version: Option<String>,
    purl: Option<String>,
    cpe: Option<String>,
    supplier: Option<Org>,
    manufacturer: Option<Org>,
    publisher: Option<String>,
    author: Option<String>,
    #[serde(default)]
    components: Vec<CdxComponent>,
}

/// Spec versions with a JSON encoding.
const SUPPORTED: [&str; 5] = ["1.2", "1.3", "1.4", "1.5", "1.6"];

/// Reads a CycloneDX JSON BOM (software or hardware). Nested components are flattened
/// with [`Component::parent`] pointing at their container.
pub fn parse_cyclonedx_json(bytes: &[u8]) -> Result<Sbom> {
    let bom: Bom =
        serde_json::from_slice(strip_bom(bytes)).map_err(|e| Error::json("CycloneDX BOM", e))?;
    if bom.bom_format.as_deref() != Some("CycloneDX") {
        return Err(Error::UnknownFormat(
            "bomFormat is not \"CycloneDX\"".into(),
        ));
    }
    let mut warnings = Vec::new();
    let spec_version = match bom.spec_version {
        Some(v) if SUPPORTED.contains(&v.as_str()) => v,
        Some(v) if v == "1.0" || v == "1.1" => {
            return Err(Error::UnsupportedVersion {
                format: "CycloneDX JSON",
                version: v,
            })
        }
        Some(v) => {
            warnings.push(format!(
                "specVersion {v:?} is not one of 1.2–1.6; read with the 1.6 rules"
            ));
            v
        }
        None => return Err(Error::invalid("CycloneDX BOM", "specVersion is missing")),
    };
    let root = bom
        .metadata
        .and_then(|m| m.component)
        .and_then(|c| convert(&c, None, "metadata.component", &mut warnings));
    let mut components = Vec::new();
    for (i, c) in bom.components.iter().enumerate() {
        flatten(
            c,
            None,
            &format!("components[{i}]"),
            &mut components,
            &mut warnings,
        );
    }
    Ok(Sbom {
        format: SbomFormat::CycloneDx,
        spec_version,
        serial_number: bom.serial_number,
        document_version: bom.version.and_then(|v| v.as_u64()),
        root,
        components,
        warnings,
    })
}

fn flatten(
    c: &CdxComponent,
    parent: Option<usize>,
    path: &str,
    out: &mut Vec<Component>,
    warnings: &mut Vec<String>,
) {
    let me = match convert(c, parent, path, warnings) {
        Some(comp) => {
            out.push(comp);
            Some(out.len() - 1)
        }
        // Children of a skipped component still count; they hang off its parent.
        None => parent,
    };
    for (i, child) in c.components.iter().enumerate() {
        flatten(child, me, &format!("{path}.components[{i}]"), out, warnings);
    }
}

fn convert(
    c: &CdxComponent,
    parent: Option<usize>,
    path: &str,
    warnings: &mut Vec<String>,
) -> Option<Component> {
    let name = match c.name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => {
            warnings.push(format!("{path}: component without a name skipped"));
            return None;
        }
    };
    let who = format!("{path} ({name})");
    Some(Component {
        bom_ref: c.bom_ref.clone(),
        kind: c
            .ty
            .as_deref()
            .map_or(ComponentKind::Library, ComponentKind::from_label),
        group: c.group.clone().filter(|g| !g.is_empty()),
        name,
        version: c.version.clone().filter(|v| !v.trim().is_empty()),
        purl: purl_or_warn(c.purl.as_deref(), &who, warnings),
        cpe: cpe_or_warn(c.cpe.as_deref(), &who, warnings),
        supplier: c
            .supplier
            .as_ref()
            .and_then(|o| o.name.clone())
            .or_else(|| c.manufacturer.as_ref().and_then(|o| o.name.clone()))
            .or_else(|| c.publisher.clone())
            .or_else(|| c.author.clone()),
        parent,
    })
}
