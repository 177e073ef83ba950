//! The CISA Known Exploited Vulnerabilities catalog.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sbom::strip_bom;

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevEntry {
    /// CVE identifier.
    pub cve_id: String,
    /// Vendor or project.
    pub vendor_project: String,
    /// Product.
    pub product: String,
    /// CISA's name for the vulnerability.
    pub vulnerability_name: String,
    /// When CISA added it.
    pub date_added: Option<NaiveDate>,
    /// Description.
    pub short_description: String,
    /// What federal agencies must do.
    pub required_action: String,
    /// Federal remediation due date.
    pub due_date: Option<NaiveDate>,
    /// Known use in ransomware campaigns.
    pub known_ransomware_use: bool,
    /// Notes and references.
    pub notes: String,
    /// CWE identifiers.
    pub cwes: Vec<String>,
}

/// The catalog, keyed by CVE identifier (uppercase).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevCatalog {
    /// Catalog title.
    pub title: String,
    /// Catalog version, e.g. `2025.08.25`.
    pub catalog_version: String,
    /// Release time.
    pub date_released: Option<DateTime<Utc>>,
    /// Entries by CVE.
    pub entries: BTreeMap<String, KevEntry>,
    /// Entries skipped or fields ignored.
    pub warnings: Vec<String>,
}

impl KevCatalog {
    /// The entry for `cve` (case-insensitive).
    pub fn get(&self, cve: &str) -> Option<&KevEntry> {
        self.entries.get(&cve.trim().to_ascii_uppercase())
    }

    /// Whether `cve` is known exploited.
    pub fn contains(&self, cve: &str) -> bool {
        self.get(cve).is_some()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    title: Option<String>,
    catalog_version: Option<String>,
    date_released: Option<String>,
    count: Option<u64>,
    vulnerabilities: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    #[serde(rename = "cveID")]
    cve_id: String,
    #[serde(default)]
    vendor_project: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    vulnerability_name: String,
    date_added: Option<String>,
    #[serde(default)]
    short_description: String,
    #[serde(default)]
    required_action: String,
    due_date: Option<String>,
    known_ransomware_campaign_use: Option<String>,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    cwes: Vec<String>,
}

fn date(
    raw: Option<&str>,
    field: &str,
    cve: &str,
    warnings: &mut Vec<String>,
) -> Option<NaiveDate> {
    let raw = raw?;
    match NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            warnings.push(format!("{cve}: {field} {raw:?} is not YYYY-MM-DD; ignored"));
            None
        }
    }
}

/// Reads the catalog JSON (`known_exploited_vulnerabilities.json`). A malformed entry is
/// skipped with a warning; a catalog without a `vulnerabilities` array is an error.
pub fn parse_kev_json(bytes: &[u8]) -> Result<KevCatalog> {
    let raw: Raw =
        serde_json::from_slice(strip_bom(bytes)).map_err(|e| Error::json("KEV catalog", e))?;
    let items = raw
        .vulnerabilities
        .ok_or_else(|| Error::invalid("KEV catalog", "no vulnerabilities array"))?;
    let mut cat = KevCatalog {
        title: raw.title.unwrap_or_default(),
        catalog_version: raw.catalog_version.unwrap_or_default(),
        ..KevCatalog::default()
    };
    cat.date_released = super::timestamp(
        raw.date_released.as_deref(),
        "dateReleased",
        "KEV catalog",
        &mut cat.warnings,
    );
    let listed = items.len();
    for (i, v) in items.into_iter().enumerate() {
        let e: RawEntry = match serde_json::from_value(v) {
            Ok(e) => e,
            Err(err) => {
                cat.warnings
                    .push(format!("vulnerabilities[{i}] skipped: {err}"));
                continue;
            }
        };
        let cve = e.cve_id.trim().to_ascii_uppercase();
        if !cve.starts_with("CVE-") {
            cat.warnings.push(format!(
                "vulnerabilities[{i}]: {cve:?} is not a CVE id; skipped"
            ));
            continue;
        }
        let entry = KevEntry {
            date_added: date(
                e.date_added.as_deref(),
                "dateAdded",
                &cve,
                &mut cat.warnings,
            ),
            due_date: date(e.due_date.as_deref(), "dueDate", &cve, &mut cat.warnings),
            known_ransomware_use: e
                .known_ransomware_campaign_use
                .is_some_and(|k| k.eq_ignore_ascii_case("known")),
            vendor_project: e.vendor_project,
            product: e.product,
            vulnerability_name: e.vulnerability_name,
            short_description: e.short_description,
            required_action: e.required_action,
            notes: e.notes,
            cwes: e.cwes,
            cve_id: cve.clone(),
        };
        if cat.entries.insert(cve.clone(), entry).is_some() {
            cat.warnings
                .push(format!("{cve}: listed twice; last entry kept"));
        }
    }
    if let Some(count) = raw.count {
        if count != listed as u64 {
            cat.warnings.push(format!(
                "count says {count} but {listed} entries are listed"
            ));
        }
    }
    Ok(cat)
}
