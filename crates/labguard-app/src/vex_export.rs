//! A device's findings (and the vendor statements that cleared some) as a CycloneDX 1.6
//! VEX document, to send to the manufacturer or an ISAC. The one VEX builder: the CLI's
//! `devices export-vex` renders what this returns.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use labguard_devices::advisory::VexStatus;
use labguard_devices::matching::Finding;
use labguard_devices::risk::{finding_key, RemediationPolicy};
use labguard_devices::sbom::Component;
use labguard_store::{Actor, Store, StoreError};
use serde_json::json;

use crate::devices::{analyze, severity, statement_for, Recording};

/// CycloneDX's `analysis.justification` values; CSAF flags are mapped onto them.
fn cdx_justification(j: &str) -> Option<&'static str> {
    Some(match j {
        "code_not_present" | "vulnerable_code_not_present" | "component_not_present" => {
            "code_not_present"
        }
        "code_not_reachable" | "vulnerable_code_not_in_execute_path" => "code_not_reachable",
        "requires_configuration" => "requires_configuration",
        "requires_dependency" => "requires_dependency",
        "requires_environment" | "vulnerable_code_cannot_be_controlled_by_adversary" => {
            "requires_environment"
        }
        "protected_by_compiler" => "protected_by_compiler",
        "protected_at_runtime" => "protected_at_runtime",
        "protected_at_perimeter" => "protected_at_perimeter",
        "protected_by_mitigating_control" | "inline_mitigations_already_exist" => {
            "protected_by_mitigating_control"
        }
        _ => return None,
    })
}

/// The device's findings as a CycloneDX 1.6 VEX document, as of `now`. A read: nothing is
/// recorded.
pub fn vex_document(
    store: &Store,
    actor: &Actor,
    device: &str,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, StoreError> {
    let a = analyze(
        store,
        actor,
        Some(device),
        &RemediationPolicy::default(),
        now,
        Recording::ReadOnly,
    )?;
    let (d, sbom, report) = a
        .devices
        .first()
        .ok_or_else(|| StoreError::NotFound("device".into()))?;
    let plan = a.plan.devices.first();
    let firmware = d.asset.firmware_component();
    let mut containers: Vec<&Component> = firmware.iter().collect();
    containers.extend(sbom.as_ref().and_then(|s| s.root.as_ref()));
    let mut components: Vec<serde_json::Value> = Vec::new();
    let mut refs: HashMap<String, String> = HashMap::new();
    let mut bom_ref = |c: &Component| -> String {
        let key = c
            .purl
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| c.cpe.as_ref().map(ToString::to_string))
            .unwrap_or_else(|| format!("{}@{}", c.name, c.effective_version().unwrap_or("")));
        if let Some(r) = refs.get(&key) {
            return r.clone();
        }
        let r = format!("component-{}", refs.len() + 1);
        let mut v = json!({"type": "library", "bom-ref": r, "name": c.name});
        if let Some(ver) = c.effective_version() {
            v["version"] = json!(ver);
        }
        if let Some(p) = &c.purl {
            v["purl"] = json!(p.to_string());
        }
        if let Some(cpe) = &c.cpe {
            v["cpe"] = json!(cpe.to_string());
        }
        components.push(v);
        refs.insert(key, r.clone());
        r
    };
    let mut vulns = Vec::new();
    let vuln = |f: &Finding, r: String, analysis: serde_json::Value| {
        let mut v = json!({
            "id": f.id,
            "references": f.aliases.iter().map(|a| json!({"id": a, "source": {"name": source_of(a)}})).collect::<Vec<_>>(),
            "affects": [{"ref": r}],
            "analysis": analysis,
        });
        if let Some(s) = &f.summary {
            v["description"] = json!(s);
        }
        let ratings: Vec<serde_json::Value> = f
            .severity
            .iter()
            .filter_map(|s| {
                let method = match s.kind.as_str() {
                    "CVSS_V3" if s.score.starts_with("CVSS:3.0") => "CVSSv3",
                    "CVSS_V3" => "CVSSv31",
                    "CVSS_V4" => "CVSSv4",
                    "CVSS_V2" => "CVSSv2",
                    _ => return None,
                };
                Some(json!({"method": method, "vector": s.score}))
            })
            .collect();
        if !ratings.is_empty() {
            v["ratings"] = json!(ratings);
        }
        v
    };
    for f in &report.findings {
        let st = statement_for(f, &containers, sbom.as_ref(), &a.vex);
        let state = match st.map(|s| s.status) {
            Some(VexStatus::Affected) => "exploitable",
            _ => "in_triage",
        };
        let mut analysis = json!({"state": state});
        if let Some(item) = plan.and_then(|p| {
            p.items
                .iter()
                .find(|i| i.key == finding_key(&d.asset.id, f, &f.id))
        }) {
            analysis["detail"] = json!(format!(
                "labguard risk {:.1} ({}), remediation due {}: {}",
                item.risk.score,
                severity(item.risk.priority),
                item.due.date_naive(),
                item.action
            ));
        }
        vulns.push(vuln(f, bom_ref(&f.component), analysis));
    }
    for s in &report.suppressed {
        let state = match s.status {
            VexStatus::Fixed => "resolved",
            _ => "not_affected",
        };
        let mut analysis = json!({"state": state});
        if let Some(j) = s.justification.as_deref().and_then(cdx_justification) {
            analysis["justification"] = json!(j);
        }
        let detail = [s.justification.clone(), s.detail.clone()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        if !detail.is_empty() {
            analysis["detail"] = json!(detail);
        }
        vulns.push(vuln(&s.finding, bom_ref(&s.finding.component), analysis));
    }
    let mut product = json!({
        "type": "device",
        "bom-ref": format!("device:{}", d.asset.id),
        "name": d.asset.model,
        "manufacturer": {"name": d.asset.manufacturer},
    });
    if let Some(v) = &d.asset.firmware_version {
        product["version"] = json!(v);
    }
    Ok(json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", labguard_core::Id::new_v4()),
        "version": 1,
        "metadata": {
            "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "tools": {"components": [{"type": "application", "name": "labguard", "version": env!("CARGO_PKG_VERSION")}]},
            "component": product,
        },
        "components": components,
        "vulnerabilities": vulns,
    }))
}

fn source_of(id: &str) -> &'static str {
    match id.split('-').next().unwrap_or("") {
        "CVE" => "NVD",
        "GHSA" => "GitHub",
        "PYSEC" => "PyPA",
        _ => "OSV",
    }
}
