//! OSCAL 1.1 `assessment-results`: one result whose reviewed controls are the NIST SP
//! 800-66r2 key activities, one observation per evidence record and one finding per
//! specification. UUIDs are derived from content (name-based, version 5 layout) so the same
//! report gives the same document and no randomness is needed.

use chrono::SecondsFormat;
use serde_json::{json, Value};

use crate::evidence::{sha256_hex, Status};
use crate::report::Report;
use crate::risk::Treatment;

/// Version of the OSCAL model the output claims.
pub const OSCAL_VERSION: &str = "1.1.2";

fn uuid_for(parts: &[&str]) -> String {
    let h = ring::digest::digest(&ring::digest::SHA256, parts.join("\u{1f}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h.as_ref()[..16]);
    uuid::Builder::from_sha1_bytes(b).into_uuid().to_string()
}

pub fn render(r: &Report) -> Value {
    let ts = r.generated_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let seed = sha256_hex(format!("{}|{ts}", r.lab).as_bytes());
    let obs_uuid = |collector: &str| uuid_for(&[&seed, "obs", collector]);
    let observations: Vec<Value> = r
        .evidence
        .iter()
        .map(|e| {
            json!({
                "uuid": obs_uuid(&e.collector),
                "title": e.title,
                "description": format!("{} ({}).", e.summary, e.status.label()),
                "methods": ["TEST"],
                "types": ["finding"],
                "collected": e.collected_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                "relevant-evidence": [{
                    "description": format!("labguard evidence record {}, SHA-256 {} of its canonical JSON, in the audit log", e.collector, e.sha256),
                }],
                "remarks": format!("Specifications: {}", e.specs.join(", ")),
            })
        })
        .collect();
    let findings: Vec<Value> = r
        .specs
        .iter()
        .map(|s| {
            let state = if s.status == Status::Met {
                "satisfied"
            } else {
                "not-satisfied"
            };
            let target = s.key_activities.first().cloned().unwrap_or_default();
            let mut f = json!({
                "uuid": uuid_for(&[&seed, "finding", &s.citation]),
                "title": format!("45 CFR {} {}", s.citation, s.title),
                "description": format!("{} Status: {}.", s.meaning, s.status.label()),
                "target": {
                    "type": "objective-id",
                    "target-id": target,
                    "status": {"state": state},
                },
            });
            let related: Vec<Value> = s
                .evidence
                .iter()
                .map(|c| json!({"observation-uuid": obs_uuid(c)}))
                .collect();
            if !related.is_empty() {
                f["related-observations"] = Value::Array(related);
            }
            f
        })
        .collect();
    let mut controls: Vec<&str> = r
        .specs
        .iter()
        .flat_map(|s| s.key_activities.iter().map(String::as_str))
        .collect();
    controls.sort_unstable();
    controls.dedup();
    let include: Vec<Value> = controls.iter().map(|c| json!({"control-id": c})).collect();
    let mut result = json!({
        "uuid": uuid_for(&[&seed, "result"]),
        "title": "HIPAA Security Rule evidence collected by labguard",
        "description": format!("Overall score {:.1}% over {} specifications.", r.overall, r.specs.len()),
        "start": ts,
        "end": ts,
        "reviewed-controls": {"control-selections": [{"include-controls": include}]},
    });
    if !observations.is_empty() {
        result["observations"] = Value::Array(observations);
    }
    if !findings.is_empty() {
        result["findings"] = Value::Array(findings);
    }
    let risks: Vec<Value> = r
        .risks
        .iter()
        .map(|k| {
            let mut v = json!({
                "uuid": uuid_for(&[&seed, "risk", &k.id]),
                "title": k.threat.title(),
                "description": format!(
                    "Threat {} through: {}. Inherent {}x{}={}, residual {}x{}={} ({:?}). Owner {}{}.",
                    k.threat.code(),
                    k.vulnerability,
                    k.likelihood,
                    k.impact,
                    k.inherent_score(),
                    k.residual_likelihood,
                    k.residual_impact,
                    k.residual_score(),
                    k.level(),
                    k.owner,
                    k.due.map(|d| format!(", due {d}")).unwrap_or_default()
                ),
                "statement": format!("Affects {}.", k.specs.join(", ")),
                "status": match k.treatment {
                    Treatment::Open => "open",
                    Treatment::Mitigating => "remediating",
                    Treatment::Accepted => "deviation-approved",
                    Treatment::Closed => "closed",
                },
            });
            let related: Vec<Value> = k
                .links
                .iter()
                .filter(|c| r.evidence.iter().any(|e| &e.collector == *c))
                .map(|c| json!({"observation-uuid": obs_uuid(c)}))
                .collect();
            if !related.is_empty() {
                v["related-observations"] = Value::Array(related);
            }
            v
        })
        .collect();
    if !risks.is_empty() {
        result["risks"] = Value::Array(risks);
    }
    json!({
        "assessment-results": {
            "uuid": uuid_for(&[&seed, "document"]),
            "metadata": {
                "title": format!("HIPAA Security Rule assessment results: {}", r.lab),
                "last-modified": ts,
                "version": "1.0",
                "oscal-version": OSCAL_VERSION,
            },
            "import-ap": {"href": "#labguard-assessment-plan"},
            "results": [result],
        }
    })
}
