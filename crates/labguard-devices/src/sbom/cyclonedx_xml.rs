//! CycloneDX XML, spec versions 1.0 to 1.6: components only (XML VEX is not read).

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::{cpe_or_warn, purl_or_warn, Component, ComponentKind, Sbom, SbomFormat};
use crate::error::{Error, Result};

/// Deepest element nesting accepted; real BOMs nest a few levels.
const MAX_DEPTH: usize = 256;

/// A component being read: its slot in document order and its raw fields.
#[derive(Default)]
struct Pending {
    slot: usize,
    in_metadata: bool,
    ty: Option<String>,
    bom_ref: Option<String>,
    group: Option<String>,
    name: Option<String>,
    version: Option<String>,
    purl: Option<String>,
    cpe: Option<String>,
    supplier: Option<String>,
    publisher: Option<String>,
}

fn xml_err(e: impl std::fmt::Display, pos: u64) -> Error {
    Error::invalid("CycloneDX XML", format!("{e} (at byte {pos})"))
}

fn attr(e: &BytesStart<'_>, key: &[u8], pos: u64) -> Result<Option<String>> {
    for a in e.attributes() {
        let a = a.map_err(|err| xml_err(err, pos))?;
        if a.key.local_name().as_ref() == key {
            return Ok(Some(
                a.unescape_value()
                    .map_err(|err| xml_err(err, pos))?
                    .into_owned(),
            ));
        }
    }
    Ok(None)
}

/// Reads a CycloneDX XML BOM. The spec version comes from the namespace
/// (`http://cyclonedx.org/schema/bom/1.x`).
pub fn parse_cyclonedx_xml(bytes: &[u8]) -> Result<Sbom> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().trim_text(true);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();
    // Slots keep document order (parents before children), filled when a component ends.
    let mut slots: Vec<Option<Component>> = Vec::new();
    let mut slot_parent: Vec<Option<usize>> = Vec::new();
    let mut root = None;
    let mut warnings = Vec::new();
    let mut spec_version = None;
    let mut serial_number = None;
    let mut document_version = None;
    loop {
        buf.clear();
        let pos = reader.buffer_position();
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| xml_err(e, pos))?;
        match event {
            Event::Start(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.is_empty() {
                    if name != "bom" {
                        return Err(Error::UnknownFormat(format!(
                            "XML root <{name}> is not a CycloneDX <bom>"
                        )));
                    }
                    let ns = attr(&e, b"xmlns", pos)?.unwrap_or_default();
                    spec_version = ns
                        .strip_prefix("http://cyclonedx.org/schema/bom/")
                        .map(str::to_string);
                    serial_number = attr(&e, b"serialNumber", pos)?;
                    document_version = attr(&e, b"version", pos)?.and_then(|v| v.parse().ok());
                }
                if name == "component" {
                    let parent = pending.last().map(|p| p.slot);
                    let in_metadata = path.last().is_some_and(|p| p == "metadata");
                    let parent_slot = parent.filter(|s| *s != usize::MAX);
                    let slot = if in_metadata { usize::MAX } else { slots.len() };
                    if !in_metadata {
                        slots.push(None);
                        slot_parent.push(parent_slot);
                    }
                    pending.push(Pending {
                        slot,
                        in_metadata,
                        ty: attr(&e, b"type", pos)?,
                        bom_ref: attr(&e, b"bom-ref", pos)?,
                        ..Pending::default()
                    });
                }
                path.push(name);
                if path.len() > MAX_DEPTH {
                    return Err(xml_err(
                        format!("nested deeper than {MAX_DEPTH} elements"),
                        pos,
                    ));
                }
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(|e| xml_err(e, pos))?.into_owned();
                let n = path.len();
                let (Some(field), Some(p)) = (path.last(), pending.last_mut()) else {
                    continue;
                };
                let parent = n.checked_sub(2).map(|i| path[i].as_str());
                let grand = n.checked_sub(3).map(|i| path[i].as_str());
                match (grand, parent, field.as_str()) {
                    (_, Some("component"), "name") => p.name = Some(text),
                    (_, Some("component"), "version") => p.version = Some(text),
                    (_, Some("component"), "group") => p.group = Some(text),
                    (_, Some("component"), "purl") => p.purl = Some(text),
                    (_, Some("component"), "cpe") => p.cpe = Some(text),
                    (_, Some("component"), "publisher" | "author") => p.publisher = Some(text),
                    (Some("component"), Some("supplier" | "manufacturer"), "name") => {
                        p.supplier = Some(text)
                    }
                    _ => {}
                }
            }
            Event::End(_) => {
                if path.pop().as_deref() != Some("component") {
                    continue;
                }
                let Some(p) = pending.pop() else { continue };
                let done = finish(&p, &mut warnings);
                if p.in_metadata {
                    root = done;
                } else if let Some(slot) = slots.get_mut(p.slot) {
                    *slot = done;
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = path.last() {
        return Err(Error::invalid(
            "CycloneDX XML",
            format!("document ends inside <{open}>"),
        ));
    }
    let spec_version = spec_version
        .ok_or_else(|| Error::invalid("CycloneDX XML", "no CycloneDX namespace on <bom>"))?;
    if !["1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6"].contains(&spec_version.as_str()) {
        warnings.push(format!(
            "spec version {spec_version:?} is not 1.0–1.6; read with the 1.6 rules"
        ));
    }
    // Drop skipped slots and point children at their nearest kept ancestor.
    let mut new_index = vec![None; slots.len()];
    let mut components = Vec::new();
    for (i, slot) in slots.into_iter().enumerate() {
        let Some(mut c) = slot else { continue };
        // Parents precede children, so every ancestor slot is already resolved.
        let mut parent = slot_parent[i];
        while let Some(ps) = parent {
            if let Some(ni) = new_index[ps] {
                c.parent = Some(ni);
                break;
            }
            parent = slot_parent[ps];
        }
        new_index[i] = Some(components.len());
        components.push(c);
    }
    Ok(Sbom {
        format: SbomFormat::CycloneDx,
        spec_version,
        serial_number,
        document_version,
        root,
        components,
        warnings,
    })
}

fn finish(p: &Pending, warnings: &mut Vec<String>) -> Option<Component> {
    let name = match p.name.as_deref().map(str::trim) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => {
            warnings.push("component without a name skipped".to_string());
            return None;
        }
    };
    let who = format!("component {name}");
    Some(Component {
        bom_ref: p.bom_ref.clone(),
        kind: p
            .ty
            .as_deref()
            .map_or(ComponentKind::Library, ComponentKind::from_label),
        group: p.group.clone().filter(|g| !g.is_empty()),
        version: p.version.clone().filter(|v| !v.trim().is_empty()),
        purl: purl_or_warn(p.purl.as_deref(), &who, warnings),
        cpe: cpe_or_warn(p.cpe.as_deref(), &who, warnings),
        supplier: p.supplier.clone().or_else(|| p.publisher.clone()),
        parent: None,
        name,
    })
}
