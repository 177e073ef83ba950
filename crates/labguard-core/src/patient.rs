use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{optional, required};
use crate::{DomainError, Id};

/// Administrative sex as HL7 table 0001 codes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Sex {
    Female,
    Male,
    Other,
    #[default]
    Unknown,
}

impl Sex {
    pub fn code(self) -> &'static str {
        match self {
            Sex::Female => "F",
            Sex::Male => "M",
            Sex::Other => "O",
            Sex::Unknown => "U",
        }
    }

    /// Accepts HL7 codes and plain words; anything else is `Unknown` rather than an error,
    /// because instruments send all sorts here and the field is not safety-relevant.
    pub fn from_code(s: &str) -> Sex {
        match s.trim().to_ascii_uppercase().as_str() {
            "F" | "FEMALE" => Sex::Female,
            "M" | "MALE" => Sex::Male,
            "O" | "A" | "N" | "OTHER" => Sex::Other,
            _ => Sex::Unknown,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Address {
    pub line: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
}

/// A patient of the lab. Every field but `id` identifies the person and is stored encrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Patient {
    pub id: Id,
    /// Medical record number, unique within the lab.
    pub mrn: String,
    pub family: String,
    pub given: String,
    pub birth_date: NaiveDate,
    pub sex: Sex,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<Address>,
}

impl Patient {
    pub fn validate(&self) -> Result<(), DomainError> {
        required("mrn", &self.mrn, 64)?;
        if !self
            .mrn
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        {
            return Err(DomainError::Invalid {
                field: "mrn",
                why: "use letters, digits, '-', '.' or '_'",
            });
        }
        required("family name", &self.family, 200)?;
        required("given name", &self.given, 200)?;
        optional("phone", &self.phone, 40)?;
        optional("email", &self.email, 254)?;
        if let Some(e) = &self.email {
            if !e.is_empty() && !e.contains('@') {
                return Err(DomainError::Invalid {
                    field: "email",
                    why: "must contain '@'",
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> Patient {
        Patient {
            id: Id::nil(),
            mrn: "MRN-1".into(),
            family: "Testperson".into(),
            given: "Alex".into(),
            birth_date: NaiveDate::from_ymd_opt(1980, 1, 2).unwrap(),
            sex: Sex::Female,
            phone: None,
            email: Some("a@example.org".into()),
            address: None,
        }
    }

    #[test]
    fn validation_names_field_not_value() {
        assert!(p().validate().is_ok());
        let mut bad = p();
        bad.mrn = "MRN 1; DROP".into();
        let e = bad.validate().unwrap_err().to_string();
        assert!(e.contains("mrn") && !e.contains("DROP"), "{e}");
        let mut bad = p();
        bad.family = "  ".into();
        assert_eq!(
            bad.validate(),
            Err(DomainError::Missing {
                field: "family name"
            })
        );
        let mut bad = p();
        bad.email = Some("nope".into());
        assert!(bad.validate().is_err());
    }

    #[test]
    fn sex_codes_round_trip() {
        for s in [Sex::Female, Sex::Male, Sex::Other, Sex::Unknown] {
            assert_eq!(Sex::from_code(s.code()), s);
        }
        assert_eq!(Sex::from_code("x"), Sex::Unknown);
    }
}
