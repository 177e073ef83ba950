//! CSAF 2.0 VEX (`document.category` = `csaf_vex`).

use std::collections::HashMap;

use serde::Deserialize;

use super::vex::{VexDocument, VexProduct, VexStatement, VexStatus, VexVersion};
use crate::cpe::Cpe;
use crate::error::{Error, Result};
use crate::purl::Purl;
use crate::sbom::strip_bom;
use crate::version::VersRange;

#[derive(Deserialize)]
struct Csaf {
    document: Document,
    product_tree: Option<ProductTree>,
    #[serde(default)]
    vulnerabilities: Vec<Vuln>,
}

#[derive(Deserialize)]
struct Document {
    category: Option<String>,
    csaf_version: Option<String>,
    tracking: Option<Tracking>,
}

#[derive(Deserialize)]
struct Tracking {
    id: Option<String>,
}

#[derive(Deserialize, Default)]
struct ProductTree {
    #[serde(default)]
    branches: Vec<Branch>,
    #[serde(default)]
    full_product_names: Vec<FullProductName>,
    #[serde(default)]
    relationships: Vec<Relationship>,
    #[serde(default)]
    product_groups: Vec<ProductGroup>,
}

#[derive(Deserialize)]
struct Branch {
    category: Option<String>,
    name: Option<String>,
    #[serde(default)]
    branches: Vec<Branch>,
    product: Option<FullProductName>,
}

#[derive(Deserialize)]
struct FullProductName {
    product_id: String,
    name: Option<String>,
    product_identification_helper: Option<Helper>,
}

#[derive(Deserialize)]
struct Helper {
    purl: Option<String>,
    cpe: Option<String>,
}

#[derive(Deserialize)]
struct Relationship {
    full_product_name: FullProductName,
    product_reference: String,
    relates_to_product_reference: String,
}

#[derive(Deserialize)]
struct ProductGroup {
    group_id: String,
    #[serde(default)]
    product_ids: Vec<String>,
}

#[derive(Deserialize)]
struct Vuln {
    cve: Option<String>,
    #[serde(default)]
    ids: Vec<VulnId>,
    #[serde(default)]
    product_status: HashMap<String, Vec<String>>,
    #[serde(default)]
    flags: Vec<Scoped>,
    #[serde(default)]
    threats: Vec<Scoped>,
}

#[derive(Deserialize)]
struct VulnId {
    text: Option<String>,
}

/// A flag or threat: a label or text scoped to products and groups.
#[derive(Deserialize)]
struct Scoped {
    label: Option<String>,
    category: Option<String>,
    details: Option<String>,
    #[serde(default)]
    product_ids: Vec<String>,
    #[serde(default)]
    group_ids: Vec<String>,
}

/// What the product tree says about one product id.
#[derive(Clone, Default)]
struct Info {
    name: Option<String>,
    purl: Option<Purl>,
    cpe: Option<Cpe>,
    versions: Vec<VexVersion>,
}

struct Walk<'a> {
    products: HashMap<String, Info>,
    warnings: &'a mut Vec<String>,
}

impl Walk<'_> {
    fn helper(&mut self, p: &FullProductName, mut info: Info) -> Info {
        if let Some(h) = &p.product_identification_helper {
            if let Some(raw) = &h.purl {
                match Purl::parse(raw) {
                    Ok(u) => info.purl = Some(u),
                    Err(e) => self
                        .warnings
                        .push(format!("{}: {e}; purl ignored", p.product_id)),
                }
            }
            if let Some(raw) = &h.cpe {
                match Cpe::parse(raw) {
                    Ok(c) => info.cpe = Some(c),
                    Err(e) => self
                        .warnings
                        .push(format!("{}: {e}; CPE ignored", p.product_id)),
                }
            }
        }
        if p.name.is_some() {
            info.name = p.name.clone();
        }
        info
    }

    fn branch(&mut self, b: &Branch, inherited: &Info, product_name: Option<&str>) {
        let mut ctx = inherited.clone();
        let mut pname = product_name.map(str::to_string);
        match (b.category.as_deref(), b.name.as_deref()) {
            (Some("product_name"), Some(n)) => pname = Some(n.to_string()),
            (Some("product_version"), Some(v)) => {
                ctx.versions = vec![VexVersion::Exact(v.to_string())]
            }
            (Some("product_version_range"), Some(r)) => match VersRange::parse(r) {
                Ok(r) => ctx.versions = vec![VexVersion::Range(r)],
                // Without its range the statement would cover every version: too broad.
                Err(e) => self
                    .warnings
                    .push(format!("branch {r:?}: {e}; products under it ignored")),
            },
            _ => {}
        }
        if let Some(p) = &b.product {
            let skip = matches!(b.category.as_deref(), Some("product_version_range"))
                && ctx.versions.is_empty();
            if !skip {
                let mut info = self.helper(p, ctx.clone());
                // The product's own name is usually "Vendor Product 4.2"; the branch's
                // product_name is the plain name a component would carry.
                if let Some(n) = &pname {
                    info.name = Some(n.clone());
                }
                self.products.insert(p.product_id.clone(), info);
            }
        }
        for child in &b.branches {
            self.branch(child, &ctx, pname.as_deref());
        }
    }
}

/// Reads a CSAF 2.0 VEX document. Each product listed in a vulnerability's
/// `product_status` becomes one statement; a `known_not_affected` product takes its
/// justification from a `flags` label and its detail from an `impact` threat.
pub fn parse_csaf_vex(bytes: &[u8]) -> Result<VexDocument> {
    let csaf: Csaf =
        serde_json::from_slice(strip_bom(bytes)).map_err(|e| Error::json("CSAF document", e))?;
    match csaf.document.csaf_version.as_deref() {
        Some("2.0") | Some("2.1") => {}
        Some(v) => {
            return Err(Error::UnsupportedVersion {
                format: "CSAF",
                version: v.to_string(),
            })
        }
        None => {
            return Err(Error::invalid(
                "CSAF document",
                "document.csaf_version is missing",
            ))
        }
    }
    let mut doc = VexDocument::default();
    if csaf.document.category.as_deref() != Some("csaf_vex") {
        doc.warnings.push(format!(
            "document.category is {:?}, not \"csaf_vex\"; product statuses read anyway",
            csaf.document.category.as_deref().unwrap_or("")
        ));
    }
    let source = csaf.document.tracking.and_then(|t| t.id);
    let tree = csaf.product_tree.unwrap_or_default();
    let mut walk = Walk {
        products: HashMap::new(),
        warnings: &mut doc.warnings,
    };
    for b in &tree.branches {
        walk.branch(b, &Info::default(), None);
    }
    for p in &tree.full_product_names {
        let info = walk.helper(p, Info::default());
        walk.products.insert(p.product_id.clone(), info);
    }
    for r in &tree.relationships {
        // "component X as part of product Y": the device vendor speaks for product Y, so
        // the statement is matched against Y (and so covers Y's components).
        let base = walk
            .products
            .get(&r.relates_to_product_reference)
            .or_else(|| walk.products.get(&r.product_reference))
            .cloned()
            .unwrap_or_default();
        let info = walk.helper(&r.full_product_name, base);
        walk.products
            .insert(r.full_product_name.product_id.clone(), info);
    }
    let products = walk.products;
    let groups: HashMap<&str, &[String]> = tree
        .product_groups
        .iter()
        .map(|g| (g.group_id.as_str(), g.product_ids.as_slice()))
        .collect();
    let in_scope = |s: &Scoped, pid: &str| {
        s.product_ids.iter().any(|p| p == pid)
            || s.group_ids.iter().any(|g| {
                groups
                    .get(g.as_str())
                    .is_some_and(|ids| ids.iter().any(|p| p == pid))
            })
    };

    for (vi, v) in csaf.vulnerabilities.iter().enumerate() {
        let mut ids: Vec<String> = v.cve.iter().cloned().collect();
        ids.extend(v.ids.iter().filter_map(|i| i.text.clone()));
        let Some((vulnerability, aliases)) = ids.split_first() else {
            doc.warnings
                .push(format!("vulnerabilities[{vi}]: no cve or ids; skipped"));
            continue;
        };
        for (status_name, list) in &v.product_status {
            let status = match status_name.as_str() {
                "known_not_affected" => VexStatus::NotAffected,
                "known_affected" | "first_affected" | "last_affected" => VexStatus::Affected,
                "fixed" | "first_fixed" => VexStatus::Fixed,
                "under_investigation" => VexStatus::UnderInvestigation,
                _ => continue,
            };
            for pid in list {
                let Some(info) = products.get(pid) else {
                    doc.warnings.push(format!(
                        "{vulnerability}: product {pid:?} is not in the product tree; skipped"
                    ));
                    continue;
                };
                let justification = v
                    .flags
                    .iter()
                    .find(|f| in_scope(f, pid))
                    .and_then(|f| f.label.clone());
                let detail = v
                    .threats
                    .iter()
                    .find(|t| t.category.as_deref() == Some("impact") && in_scope(t, pid))
                    .and_then(|t| t.details.clone());
                if status == VexStatus::NotAffected && justification.is_none() && detail.is_none() {
                    doc.warnings.push(format!(
                        "{vulnerability}: {pid} is known_not_affected without a flag or impact statement"
                    ));
                }
                doc.statements.push(VexStatement {
                    vulnerability: vulnerability.clone(),
                    aliases: aliases.to_vec(),
                    product: VexProduct {
                        bom_ref: None,
                        bom_serial: None,
                        purl: info.purl.clone(),
                        cpe: info.cpe.clone(),
                        name: info.name.clone(),
                        versions: info.versions.clone(),
                    },
                    status,
                    justification: if status == VexStatus::NotAffected {
                        justification
                    } else {
                        None
                    },
                    detail,
                    source: source.clone(),
                });
            }
        }
    }
    Ok(doc)
}
