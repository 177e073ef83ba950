//! FHIR R4 export: a patient's lab results as a `collection` Bundle of Patient, Specimen,
//! Observation and DiagnosticReport resources. Pure mapping from `labguard-core` records
//! to JSON; the caller reads the records through the store (which audits the reads).

use labguard_core::{AbnormalFlag, LabResult, Patient, ResultStatus, Sex, Specimen};
use serde_json::{json, Value};

fn urn(id: &impl std::fmt::Display) -> String {
    format!("urn:uuid:{id}")
}

fn entry(id: &impl std::fmt::Display, resource: Value) -> Value {
    json!({ "fullUrl": urn(id), "resource": resource })
}

fn patient(p: &Patient) -> Value {
    let gender = match p.sex {
        Sex::Female => "female",
        Sex::Male => "male",
        Sex::Other => "other",
        Sex::Unknown => "unknown",
    };
    json!({
        "resourceType": "Patient",
        "id": p.id.to_string(),
        "identifier": [{
            "type": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR" }] },
            "value": p.mrn,
        }],
        "name": [{ "family": p.family, "given": [p.given] }],
        "gender": gender,
        "birthDate": p.birth_date.format("%Y-%m-%d").to_string(),
    })
}

fn specimen(s: &Specimen) -> Value {
    json!({
        "resourceType": "Specimen",
        "id": s.id.to_string(),
        "accessionIdentifier": { "value": s.accession },
        "subject": { "reference": urn(&s.patient_id) },
        "collection": {
            "collectedDateTime": s.collected_at.to_rfc3339(),
            "bodySite": { "text": s.body_site },
        },
    })
}

fn status(s: ResultStatus) -> &'static str {
    match s {
        ResultStatus::Preliminary => "preliminary",
        ResultStatus::Final => "final",
        ResultStatus::Corrected => "corrected",
    }
}

fn interpretation(f: AbnormalFlag) -> &'static str {
    match f {
        AbnormalFlag::Normal => "N",
        AbnormalFlag::Low => "L",
        AbnormalFlag::High => "H",
        AbnormalFlag::CriticalLow => "LL",
        AbnormalFlag::CriticalHigh => "HH",
        AbnormalFlag::Abnormal => "A",
    }
}

fn observation(r: &LabResult) -> Value {
    let mut o = json!({
        "resourceType": "Observation",
        "id": r.id.to_string(),
        "status": status(r.status),
        "category": [{ "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "laboratory",
        }] }],
        "code": { "coding": [{
            "system": "http://loinc.org",
            "code": r.analyte.as_str(),
            "display": r.analyte_name,
        }] },
        "subject": { "reference": urn(&r.patient_id) },
        "effectiveDateTime": r.observed_at.to_rfc3339(),
        "interpretation": [{ "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
            "code": interpretation(r.abnormal_flag),
        }] }],
    });
    // A number becomes a Quantity (UCUM units as sent); anything else stays text.
    match r.value.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => {
            o["valueQuantity"] = json!({
                "value": v, "unit": r.units, "system": "http://unitsofmeasure.org", "code": r.units,
            });
        }
        _ => o["valueString"] = json!(r.value),
    }
    if !r.reference_range.text.is_empty() {
        o["referenceRange"] = json!([{ "text": r.reference_range.text }]);
    }
    if let Some(s) = r.specimen_id {
        o["specimen"] = json!({ "reference": urn(&s) });
    }
    o
}

/// A collection Bundle: the patient, the specimens, each result as an Observation, and one
/// DiagnosticReport per specimen (results without a specimen share one more).
pub fn bundle(p: &Patient, specimens: &[Specimen], results: &[LabResult]) -> Value {
    let mut entries = vec![entry(&p.id, patient(p))];
    for s in specimens {
        entries.push(entry(&s.id, specimen(s)));
    }
    for r in results {
        entries.push(entry(&r.id, observation(r)));
    }
    let mut groups: Vec<(Option<labguard_core::Id>, Vec<&LabResult>)> = Vec::new();
    for r in results {
        match groups.iter_mut().find(|g| g.0 == r.specimen_id) {
            Some(g) => g.1.push(r),
            None => groups.push((r.specimen_id, vec![r])),
        }
    }
    for (spec, rs) in groups {
        let id = labguard_core::Id::new_v4();
        let all_final = rs.iter().all(|r| r.status != ResultStatus::Preliminary);
        let issued = rs.iter().map(|r| r.observed_at).max();
        let mut d = json!({
            "resourceType": "DiagnosticReport",
            "id": id.to_string(),
            "status": if all_final { "final" } else { "preliminary" },
            "category": [{ "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB",
            }] }],
            "code": { "coding": [{
                "system": "http://loinc.org", "code": "11502-2", "display": "Laboratory report",
            }] },
            "subject": { "reference": urn(&p.id) },
            "result": rs.iter().map(|r| json!({ "reference": urn(&r.id) })).collect::<Vec<_>>(),
        });
        if let Some(t) = issued {
            d["issued"] = json!(t.to_rfc3339());
            d["effectiveDateTime"] = json!(t.to_rfc3339());
        }
        if let Some(s) = spec {
            d["specimen"] = json!([{ "reference": urn(&s) }]);
        }
        entries.push(entry(&id, d));
    }
    json!({ "resourceType": "Bundle", "type": "collection", "entry": entries })
}
