use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::required;
use crate::{DomainError, Id};

/// A LOINC code such as `2345-7` (glucose, serum/plasma): digits, a dash, one check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LoincCode(String);

impl LoincCode {
    /// Parses and checks the mod-10 check digit LOINC assigns, so a typo in an analyte code
    /// is caught before a result is filed under the wrong test.
    pub fn parse(s: &str) -> Result<LoincCode, DomainError> {
        let s = s.trim();
        let bad = |why| DomainError::Invalid {
            field: "LOINC code",
            why,
        };
        let (body, check) = s.split_once('-').ok_or(bad("expected NNNNN-N"))?;
        if body.is_empty() || body.len() > 7 || !body.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected NNNNN-N"));
        }
        if check.len() != 1 || !check.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected one check digit"));
        }
        if loinc_check_digit(body) != check.as_bytes()[0] - b'0' {
            return Err(bad("check digit does not match"));
        }
        Ok(LoincCode(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// LOINC's mod-10 check digit (the Luhn variant LOINC documents).
fn loinc_check_digit(body: &str) -> u8 {
    let mut sum = 0u32;
    for (i, b) in body.bytes().rev().enumerate() {
        let d = u32::from(b - b'0');
        if i % 2 == 0 {
            let x = d * 2;
            sum += x / 10 + x % 10;
        } else {
            sum += d;
        }
    }
    ((10 - sum % 10) % 10) as u8
}

impl TryFrom<String> for LoincCode {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        LoincCode::parse(&s)
    }
}

impl From<LoincCode> for String {
    fn from(c: LoincCode) -> String {
        c.0
    }
}

impl std::fmt::Display for LoincCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Blood collection containers, by the additive that decides which tests a tube can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContainerType {
    /// Lavender top: EDTA, for haematology.
    Edta,
    /// Light blue top: sodium citrate, for coagulation.
    Citrate,
    /// Green top: lithium heparin, for chemistry on plasma.
    Heparin,
    /// Red or gold top: serum, clot activator / gel.
    Serum,
    /// Grey top: fluoride oxalate, for glucose and lactate.
    Fluoride,
    /// Blood culture bottle.
    BloodCulture,
    /// Capillary (finger-stick) sample, e.g. point-of-care glucose.
    Capillary,
    Other,
}

impl ContainerType {
    pub const ALL: [ContainerType; 8] = [
        ContainerType::Edta,
        ContainerType::Citrate,
        ContainerType::Heparin,
        ContainerType::Serum,
        ContainerType::Fluoride,
        ContainerType::BloodCulture,
        ContainerType::Capillary,
        ContainerType::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ContainerType::Edta => "edta",
            ContainerType::Citrate => "citrate",
            ContainerType::Heparin => "heparin",
            ContainerType::Serum => "serum",
            ContainerType::Fluoride => "fluoride",
            ContainerType::BloodCulture => "blood-culture",
            ContainerType::Capillary => "capillary",
            ContainerType::Other => "other",
        }
    }

    pub fn from_code(s: &str) -> Result<ContainerType, DomainError> {
        ContainerType::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| DomainError::Unknown {
                kind: "container type",
                value: s.chars().take(32).collect(),
            })
    }
}

/// A blood draw: who was drawn, by whom, when, into what, from where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Specimen {
    pub id: Id,
    pub patient_id: Id,
    /// The lab's accession number printed on the tube label; unique.
    pub accession: String,
    /// Staff id of the phlebotomist (or the device for point-of-care tests).
    pub collector: String,
    pub collected_at: DateTime<Utc>,
    pub container: ContainerType,
    /// Body site, e.g. "left antecubital vein".
    pub body_site: String,
}

impl Specimen {
    pub fn validate(&self) -> Result<(), DomainError> {
        required("accession number", &self.accession, 64)?;
        required("collector", &self.collector, 128)?;
        required("body site", &self.body_site, 128)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabOrder {
    pub id: Id,
    pub patient_id: Id,
    pub specimen_id: Option<Id>,
    pub ordering_provider: String,
    pub tests: Vec<LoincCode>,
    pub placed_at: DateTime<Utc>,
}

impl LabOrder {
    pub fn validate(&self) -> Result<(), DomainError> {
        required("ordering provider", &self.ordering_provider, 200)?;
        if self.tests.is_empty() {
            return Err(DomainError::Missing { field: "tests" });
        }
        Ok(())
    }
}

/// Abnormal flags, HL7 table 0078 (the subset labs use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum AbnormalFlag {
    #[default]
    Normal,
    Low,
    High,
    CriticalLow,
    CriticalHigh,
    Abnormal,
}

impl AbnormalFlag {
    pub fn code(self) -> &'static str {
        match self {
            AbnormalFlag::Normal => "N",
            AbnormalFlag::Low => "L",
            AbnormalFlag::High => "H",
            AbnormalFlag::CriticalLow => "LL",
            AbnormalFlag::CriticalHigh => "HH",
            AbnormalFlag::Abnormal => "A",
        }
    }

    pub fn from_code(s: &str) -> AbnormalFlag {
        match s.trim() {
            "L" => AbnormalFlag::Low,
            "H" => AbnormalFlag::High,
            "LL" => AbnormalFlag::CriticalLow,
            "HH" => AbnormalFlag::CriticalHigh,
            "A" | "AA" => AbnormalFlag::Abnormal,
            _ => AbnormalFlag::Normal,
        }
    }
}

/// Result status, HL7 table 0085 reduced to what the lab workflow distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ResultStatus {
    #[default]
    Preliminary,
    Final,
    Corrected,
}

impl ResultStatus {
    pub fn code(self) -> &'static str {
        match self {
            ResultStatus::Preliminary => "P",
            ResultStatus::Final => "F",
            ResultStatus::Corrected => "C",
        }
    }

    pub fn from_code(s: &str) -> Result<ResultStatus, DomainError> {
        match s.trim() {
            "P" | "R" | "S" | "I" => Ok(ResultStatus::Preliminary),
            "F" => Ok(ResultStatus::Final),
            "C" => Ok(ResultStatus::Corrected),
            other => Err(DomainError::Unknown {
                kind: "result status",
                value: other.chars().take(8).collect(),
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReferenceRange {
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// The range as the instrument wrote it, e.g. "70-99" or "<5.0".
    pub text: String,
}

impl ReferenceRange {
    pub fn parse(text: &str) -> ReferenceRange {
        let t = text.trim();
        let num = |s: &str| s.trim().parse::<f64>().ok();
        let (low, high) = if let Some(rest) = t.strip_prefix('<') {
            (None, num(rest.trim_start_matches('=')))
        } else if let Some(rest) = t.strip_prefix('>') {
            (num(rest.trim_start_matches('=')), None)
        } else if let Some((a, b)) = t.split_once('-').filter(|(a, _)| !a.trim().is_empty()) {
            (num(a), num(b))
        } else {
            (None, None)
        };
        ReferenceRange {
            low,
            high,
            text: t.to_string(),
        }
    }
}

/// One observation: an analyte measured on a specimen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabResult {
    pub id: Id,
    pub patient_id: Id,
    pub specimen_id: Option<Id>,
    pub order_id: Option<Id>,
    pub analyte: LoincCode,
    pub analyte_name: String,
    pub value: String,
    pub units: String,
    pub reference_range: ReferenceRange,
    pub abnormal_flag: AbnormalFlag,
    pub status: ResultStatus,
    pub performing_device: Option<String>,
    pub verified_by: Option<String>,
    pub observed_at: DateTime<Utc>,
}

impl LabResult {
    pub fn validate(&self) -> Result<(), DomainError> {
        required("value", &self.value, 4096)?;
        if self.units.chars().count() > 64 {
            return Err(DomainError::TooLong {
                field: "units",
                max: 64,
            });
        }
        Ok(())
    }

    /// The numeric value, when the result is quantitative.
    pub fn numeric_value(&self) -> Option<f64> {
        self.value
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loinc_check_digit_is_enforced() {
        for good in ["2345-7", "718-7", "6690-2", "789-8", "2160-0", "17861-6"] {
            assert!(LoincCode::parse(good).is_ok(), "{good}");
        }
        for bad in ["2345-8", "2345", "-7", "ab-1", "2345-77", ""] {
            assert!(LoincCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reference_ranges_parse() {
        let r = ReferenceRange::parse("70-99");
        assert_eq!((r.low, r.high), (Some(70.0), Some(99.0)));
        let r = ReferenceRange::parse("<5.0");
        assert_eq!((r.low, r.high), (None, Some(5.0)));
        let r = ReferenceRange::parse(">=60");
        assert_eq!((r.low, r.high), (Some(60.0), None));
        let r = ReferenceRange::parse("negative");
        assert_eq!((r.low, r.high), (None, None));
    }

    #[test]
    fn codes_round_trip() {
        for c in ContainerType::ALL {
            assert_eq!(ContainerType::from_code(c.code()).unwrap(), c);
        }
        assert!(ContainerType::from_code("purple").is_err());
        for s in [
            ResultStatus::Preliminary,
            ResultStatus::Final,
            ResultStatus::Corrected,
        ] {
            assert_eq!(ResultStatus::from_code(s.code()).unwrap(), s);
        }
        assert_eq!(AbnormalFlag::from_code("HH"), AbnormalFlag::CriticalHigh);
    }
}
