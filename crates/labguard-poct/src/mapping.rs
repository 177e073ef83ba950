//! From POCT1-A observations to labguard's domain: patient results and QC observations.
//!
//! A service is QC when it came in OBS.R02, when its role is not `OBS` (LQC, EQC, CAL,
//! PRF...), or when it names a control material and no patient. Patient observations keep
//! the device's patient identifier as text: the caller resolves it to a patient record
//! (and refuses results for unknown patients). The operator id is surfaced on both kinds
//! so the caller can check it against the staff list and the training records.
//!
//! Nothing is guessed: an analyte code the lab has not mapped, a missing patient, a
//! missing or unreadable time, or a missing value makes a problem and skips that
//! observation, never a result filed under a default.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use labguard_core::{AbnormalFlag, Id, LabResult, LoincCode, ReferenceRange, ResultStatus};

use crate::message::{parse_time, Observation, Observations, Service};

/// Device analyte codes to LOINC, case-insensitive. Codes sent with `SN="LN"` are LOINC
/// already and need no entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnalyteMap {
    codes: BTreeMap<String, LoincCode>,
}

impl AnalyteMap {
    pub fn new() -> AnalyteMap {
        AnalyteMap::default()
    }

    /// The codes glucose meters commonly send, mapped to 41653-7 (glucose in capillary
    /// blood by glucometer). A lab whose meters mean something else replaces them.
    pub fn glucose_meters() -> AnalyteMap {
        let mut m = AnalyteMap::new();
        if let Ok(glu) = LoincCode::parse("41653-7") {
            for code in ["GLU", "GLUC", "BG", "GLUCOSE"] {
                m.insert(code, glu.clone());
            }
        }
        m
    }

    pub fn insert(&mut self, device_code: &str, loinc: LoincCode) {
        self.codes
            .insert(device_code.trim().to_ascii_uppercase(), loinc);
    }

    pub fn resolve(&self, obs: &Observation) -> Option<LoincCode> {
        let code = obs.observation_id.trim();
        if obs
            .code_system
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("LN"))
        {
            return LoincCode::parse(code).ok();
        }
        self.codes.get(&code.to_ascii_uppercase()).cloned()
    }
}

/// What one observation has in common on both sides.
#[derive(Clone, PartialEq)]
pub struct Measured {
    pub analyte: LoincCode,
    pub analyte_name: String,
    pub value: String,
    pub units: String,
    pub reference_range: ReferenceRange,
    pub abnormal_flag: AbnormalFlag,
    pub observed_at: DateTime<Utc>,
    pub operator_id: Option<String>,
    pub device_id: String,
    pub reagent_lots: Vec<String>,
}

/// A patient result, waiting for the caller to resolve the patient.
#[derive(Clone, PartialEq)]
pub struct PatientObservation {
    /// `PT.patient_id` as the device sent it: patient data.
    pub patient_identifier: String,
    pub measured: Measured,
}

impl PatientObservation {
    /// The result for patient `patient_id`. Point-of-care results are released at the
    /// bedside, so they arrive final.
    pub fn to_result(&self, id: Id, patient_id: Id) -> LabResult {
        let m = &self.measured;
        LabResult {
            id,
            patient_id,
            specimen_id: None,
            order_id: None,
            analyte: m.analyte.clone(),
            analyte_name: m.analyte_name.clone(),
            value: m.value.clone(),
            units: m.units.clone(),
            reference_range: m.reference_range.clone(),
            abnormal_flag: m.abnormal_flag,
            status: ResultStatus::Final,
            performing_device: Some(m.device_id.clone()),
            verified_by: None,
            observed_at: m.observed_at,
        }
    }
}

/// A QC (or other non-patient) observation: control material, lot and level.
#[derive(Debug, Clone, PartialEq)]
pub struct QcObservation {
    /// `LQC`, `EQC`, `CAL`, ... (`OBS` when only the message type said QC).
    pub role: String,
    pub control_name: Option<String>,
    pub control_lot: Option<String>,
    pub control_level: Option<String>,
    pub measured: Measured,
}

impl QcObservation {
    pub fn numeric_value(&self) -> Option<f64> {
        self.measured
            .value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
    }
}

/// Why an observation was skipped. Names positions and device codes, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapProblem {
    UnknownAnalyte { service: usize, code: String },
    MissingPatient { service: usize },
    MissingTime { service: usize },
    MissingValue { service: usize, observation: usize },
}

impl fmt::Display for MapProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapProblem::UnknownAnalyte { service, code } => {
                write!(
                    f,
                    "service {service}: analyte code {code:?} is not mapped to LOINC"
                )
            }
            MapProblem::MissingPatient { service } => {
                write!(
                    f,
                    "service {service}: patient observation without PT.patient_id"
                )
            }
            MapProblem::MissingTime { service } => {
                write!(
                    f,
                    "service {service}: SVC.observation_dttm missing or not ISO 8601"
                )
            }
            MapProblem::MissingValue {
                service,
                observation,
            } => write!(f, "service {service}, observation {observation}: no value"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mapped {
    pub patient: Vec<PatientObservation>,
    pub qc: Vec<QcObservation>,
    pub problems: Vec<MapProblem>,
}

/// Maps one OBS message from device `device_id`.
pub fn map_observations(obs: &Observations, device_id: &str, analytes: &AnalyteMap) -> Mapped {
    let mut out = Mapped::default();
    for (si, svc) in obs.services.iter().enumerate() {
        let qc = obs.non_patient
            || !svc.role_cd.eq_ignore_ascii_case("OBS")
            || (svc.control.is_some() && svc.patient_id.is_none());
        let Some(at) = svc.observation_dttm.as_deref().and_then(parse_time) else {
            out.problems.push(MapProblem::MissingTime { service: si });
            continue;
        };
        let patient = svc.patient_id.clone();
        if !qc && patient.is_none() {
            out.problems
                .push(MapProblem::MissingPatient { service: si });
            continue;
        }
        for (oi, o) in svc.observations.iter().enumerate() {
            let measured = match measure(svc, o, at.with_timezone(&Utc), device_id, analytes) {
                Ok(m) => m,
                Err(skip) => {
                    out.problems.push(skip.at(si, oi));
                    continue;
                }
            };
            match (&patient, qc) {
                (Some(p), false) => out.patient.push(PatientObservation {
                    patient_identifier: p.clone(),
                    measured,
                }),
                _ => out.qc.push(QcObservation {
                    role: svc.role_cd.clone(),
                    control_name: svc.control.as_ref().and_then(|c| c.name.clone()),
                    control_lot: svc.control.as_ref().and_then(|c| c.lot_number.clone()),
                    control_level: svc.control.as_ref().and_then(|c| c.level_cd.clone()),
                    measured,
                }),
            }
        }
    }
    out
}

/// A problem before its position is known.
enum Skip {
    Unknown(String),
    NoValue,
}

impl Skip {
    fn at(self, service: usize, observation: usize) -> MapProblem {
        match self {
            Skip::Unknown(code) => MapProblem::UnknownAnalyte { service, code },
            Skip::NoValue => MapProblem::MissingValue {
                service,
                observation,
            },
        }
    }
}

fn measure(
    svc: &Service,
    o: &Observation,
    at: DateTime<Utc>,
    device_id: &str,
    analytes: &AnalyteMap,
) -> Result<Measured, Skip> {
    let analyte = analytes
        .resolve(o)
        .ok_or_else(|| Skip::Unknown(o.observation_id.chars().take(32).collect()))?;
    let value = o.value.clone().ok_or(Skip::NoValue)?;
    Ok(Measured {
        analyte,
        analyte_name: o.display_name.clone().unwrap_or_default(),
        value,
        units: o.units.clone().unwrap_or_default(),
        reference_range: o
            .normal_range
            .as_deref()
            .map(ReferenceRange::parse)
            .unwrap_or_default(),
        abnormal_flag: o
            .interpretation_cd
            .as_deref()
            .map(AbnormalFlag::from_code)
            .unwrap_or_default(),
        observed_at: at,
        operator_id: svc.operator_id.clone(),
        device_id: device_id.to_string(),
        reagent_lots: svc
            .reagents
            .iter()
            .filter_map(|r| r.lot_number.clone())
            .collect(),
    })
}

// Debug without the patient identifier or the value, so these cannot reach a log.
impl fmt::Debug for Measured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Measured")
            .field("analyte", &self.analyte)
            .field("units", &self.units)
            .field("observed_at", &self.observed_at)
            .field("device_id", &self.device_id)
            .field("value", &"<redacted>")
            .finish()
    }
}

impl fmt::Debug for PatientObservation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PatientObservation")
            .field("patient_identifier", &"<redacted>")
            .field("measured", &self.measured)
            .finish()
    }
}
