//! SBOM import: CycloneDX JSON 1.2–1.6 and XML 1.0–1.6 (software and hardware BOMs) and
//! SPDX 2.3 JSON, normalized to one component list.

mod cyclonedx;
mod cyclonedx_xml;
mod spdx;

use serde::{Deserialize, Serialize};

use crate::cpe::Cpe;
use crate::error::{Error, Result};
use crate::purl::Purl;

pub use cyclonedx::parse_cyclonedx_json;
pub use cyclonedx_xml::parse_cyclonedx_xml;
pub use spdx::parse_spdx_json;

/// SBOM document format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SbomFormat {
    /// OWASP CycloneDX.
    CycloneDx,
    /// Linux Foundation SPDX.
    Spdx,
}

/// What a component is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ComponentKind {
    /// Application.
    Application,
    /// Library.
    Library,
    /// Framework.
    Framework,
    /// Firmware.
    Firmware,
    /// Physical device or part (hardware BOMs).
    Device,
    /// Operating system.
    OperatingSystem,
    /// Container image.
    Container,
    /// Platform.
    Platform,
    /// File.
    File,
    /// Anything else, with the document's own word for it.
    Other(String),
}

impl ComponentKind {
    /// Reads a CycloneDX `type` or SPDX `primaryPackagePurpose` value.
    pub fn from_label(label: &str) -> ComponentKind {
        match label.to_ascii_lowercase().replace('_', "-").as_str() {
            "application" => ComponentKind::Application,
            "library" => ComponentKind::Library,
            "framework" => ComponentKind::Framework,
            "firmware" => ComponentKind::Firmware,
            "device" => ComponentKind::Device,
            "operating-system" => ComponentKind::OperatingSystem,
            "container" => ComponentKind::Container,
            "platform" => ComponentKind::Platform,
            "file" | "source" | "archive" => ComponentKind::File,
            other => ComponentKind::Other(other.to_string()),
        }
    }
}

/// One component, normalized from either format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// The document's identifier for it (CycloneDX `bom-ref`, SPDX `SPDXID`).
    pub bom_ref: Option<String>,
    /// What it is.
    pub kind: ComponentKind,
    /// Group or namespace (CycloneDX `group`).
    pub group: Option<String>,
    /// Name.
    pub name: String,
    /// Version as written.
    pub version: Option<String>,
    /// Package URL, when present and valid.
    pub purl: Option<Purl>,
    /// CPE, when present and valid.
    pub cpe: Option<Cpe>,
    /// Supplier, manufacturer or publisher.
    pub supplier: Option<String>,
    /// Index in [`Sbom::components`] of the component this one is nested in.
    pub parent: Option<usize>,
}

impl Component {
    /// A component with only a kind and a name.
    pub fn new(kind: ComponentKind, name: impl Into<String>) -> Component {
        Component {
            bom_ref: None,
            kind,
            group: None,
            name: name.into(),
            version: None,
            purl: None,
            cpe: None,
            supplier: None,
            parent: None,
        }
    }

    /// The version to match with: the component's own, else the purl's, else the CPE's.
    pub fn effective_version(&self) -> Option<&str> {
        self.version
            .as_deref()
            .or_else(|| self.purl.as_ref().and_then(|p| p.version.as_deref()))
            .or_else(|| self.cpe.as_ref().and_then(|c| c.version()))
    }
}

/// A parsed SBOM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sbom {
    /// Document format.
    pub format: SbomFormat,
    /// Specification version the document declares, e.g. `1.4` or `SPDX-2.3`.
    pub spec_version: String,
    /// CycloneDX serial number (`urn:uuid:…`) or SPDX document namespace.
    pub serial_number: Option<String>,
    /// CycloneDX BOM version.
    pub document_version: Option<u64>,
    /// The product the SBOM describes (CycloneDX `metadata.component`, SPDX described
    /// package), kept out of `components`.
    pub root: Option<Component>,
    /// Every component, nested ones flattened in document order.
    pub components: Vec<Component>,
    /// Problems that did not stop the import (skipped components, bad purls, …).
    pub warnings: Vec<String>,
}

impl Sbom {
    /// The root (if any) followed by all components.
    pub fn all_components(&self) -> impl Iterator<Item = &Component> {
        self.root.iter().chain(self.components.iter())
    }
}

/// Reads an SBOM of any supported format, detected from its content.
///
/// Returns an error when the bytes are not JSON, not an SBOM, or a format version this
/// crate does not read; per-component problems become [`Sbom::warnings`].
pub fn parse_sbom(bytes: &[u8]) -> Result<Sbom> {
    let bytes = strip_bom(bytes);
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        Some(b'{') => {}
        Some(b'<') => return parse_cyclonedx_xml(bytes),
        _ => return Err(Error::UnknownFormat("not a JSON document".into())),
    }
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "bomFormat")]
        bom_format: Option<String>,
        #[serde(rename = "spdxVersion")]
        spdx_version: Option<String>,
    }
    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| Error::json("SBOM", e))?;
    match (probe.bom_format.as_deref(), probe.spdx_version.as_deref()) {
        (Some("CycloneDX"), _) => parse_cyclonedx_json(bytes),
        (_, Some(_)) => parse_spdx_json(bytes),
        (Some(other), _) => Err(Error::UnknownFormat(format!("bomFormat {other:?}"))),
        (None, None) => Err(Error::UnknownFormat(
            "neither CycloneDX (bomFormat) nor SPDX (spdxVersion)".into(),
        )),
    }
}

/// Drops a UTF-8 byte-order mark, which some exporters write.
pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Parses an optional purl, turning failure into a warning.
pub(crate) fn purl_or_warn(
    raw: Option<&str>,
    who: &str,
    warnings: &mut Vec<String>,
) -> Option<Purl> {
    let raw = raw?.trim();
    if raw.is_empty() {
        return None;
    }
    match Purl::parse(raw) {
        Ok(p) => Some(p),
        Err(e) => {
            warnings.push(format!("{who}: {e}; purl ignored"));
            None
        }
    }
}

/// Parses an optional CPE, turning failure into a warning.
pub(crate) fn cpe_or_warn(raw: Option<&str>, who: &str, warnings: &mut Vec<String>) -> Option<Cpe> {
    let raw = raw?.trim();
    if raw.is_empty() {
        return None;
    }
    match Cpe::parse(raw) {
        Ok(c) => Some(c),
        Err(e) => {
            warnings.push(format!("{who}: {e}; CPE ignored"));
            None
        }
    }
}
