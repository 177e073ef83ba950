//! NVD CVE API 2.0 JSON, for vulnerabilities published only by CPE (device firmware).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{Advisory, Affected, SeverityScore};
use crate::cpe::{Cpe, CpeMatch};
use crate::error::{Error, Result};
use crate::sbom::strip_bom;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cve {
    id: String,
    published: Option<String>,
    last_modified: Option<String>,
    vuln_status: Option<String>,
    #[serde(default)]
    descriptions: Vec<Description>,
    metrics: Option<Value>,
    #[serde(default)]
    configurations: Vec<Configuration>,
}

#[derive(Deserialize)]
struct Description {
    lang: Option<String>,
    value: Option<String>,
}

#[derive(Deserialize)]
struct Configuration {
    #[serde(default)]
    nodes: Vec<Node>,
}

#[derive(Deserialize)]
struct Node {
    #[serde(default)]
    negate: bool,
    #[serde(rename = "cpeMatch", default)]
    cpe_match: Vec<RawMatch>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMatch {
    #[serde(default)]
    vulnerable: bool,
    criteria: String,
    version_start_including: Option<String>,
    version_start_excluding: Option<String>,
    version_end_including: Option<String>,
    version_end_excluding: Option<String>,
}

/// NVD times carry no zone; they are UTC.
fn nvd_time(raw: Option<&str>) -> Option<DateTime<Utc>> {
    let raw = raw?.trim();
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// Reads an NVD CVE API 2.0 response (`{"vulnerabilities":[{"cve":…}]}`), a single
/// `{"cve":…}` item, or a bare CVE object. Each CVE becomes an advisory whose vulnerable
/// `cpeMatch` criteria (with version ranges) sit in one CPE-only [`Affected`] entry.
///
/// Configurations that AND a vulnerable product with a non-vulnerable platform are read
/// by their vulnerable part alone: a possible false positive, never a miss.
pub fn parse_nvd_cve_json(bytes: &[u8]) -> Result<super::OsvImport> {
    let v: Value =
        serde_json::from_slice(strip_bom(bytes)).map_err(|e| Error::json("NVD CVE", e))?;
    let items: Vec<Value> = if let Some(list) = v.get("vulnerabilities").and_then(Value::as_array) {
        list.iter().filter_map(|i| i.get("cve").cloned()).collect()
    } else if let Some(cve) = v.get("cve") {
        vec![cve.clone()]
    } else if v.get("id").is_some() {
        vec![v]
    } else {
        return Err(Error::UnknownFormat(
            "not an NVD CVE API 2.0 document".into(),
        ));
    };
    let mut out = super::OsvImport::default();
    for (i, item) in items.into_iter().enumerate() {
        let cve: Cve = match serde_json::from_value(item) {
            Ok(c) => c,
            Err(e) => {
                out.warnings
                    .push(format!("vulnerabilities[{i}] skipped: {e}"));
                continue;
            }
        };
        let mut cpes = Vec::new();
        for node in cve
            .configurations
            .iter()
            .flat_map(|c| &c.nodes)
            .filter(|n| !n.negate)
        {
            for m in node.cpe_match.iter().filter(|m| m.vulnerable) {
                match Cpe::parse(&m.criteria) {
                    Ok(criteria) => cpes.push(CpeMatch {
                        criteria,
                        version_start_including: m.version_start_including.clone(),
                        version_start_excluding: m.version_start_excluding.clone(),
                        version_end_including: m.version_end_including.clone(),
                        version_end_excluding: m.version_end_excluding.clone(),
                    }),
                    Err(e) => out
                        .warnings
                        .push(format!("{}: {e}; criterion ignored", cve.id)),
                }
            }
        }
        let mut severity = Vec::new();
        if let Some(metrics) = &cve.metrics {
            for (key, kind) in [
                ("cvssMetricV40", "CVSS_V4"),
                ("cvssMetricV31", "CVSS_V3"),
                ("cvssMetricV30", "CVSS_V3"),
                ("cvssMetricV2", "CVSS_V2"),
            ] {
                let vectors = metrics
                    .get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten();
                for m in vectors {
                    if let Some(vs) = m.pointer("/cvssData/vectorString").and_then(Value::as_str) {
                        severity.push(SeverityScore {
                            kind: kind.to_string(),
                            score: vs.to_string(),
                        });
                    }
                }
            }
        }
        let modified = nvd_time(cve.last_modified.as_deref());
        let rejected = cve.vuln_status.as_deref() == Some("Rejected");
        let mut adv = Advisory::new(cve.id.trim());
        adv.modified = modified;
        adv.published = nvd_time(cve.published.as_deref());
        adv.withdrawn = if rejected {
            modified.or(adv.published)
        } else {
            None
        };
        adv.summary = cve
            .descriptions
            .iter()
            .find(|d| d.lang.as_deref() == Some("en"))
            .and_then(|d| d.value.clone());
        adv.severity = severity;
        if !cpes.is_empty() {
            adv.affected.push(Affected {
                cpes,
                ..Affected::default()
            });
        }
        out.advisories.push(adv);
    }
    Ok(out)
}
