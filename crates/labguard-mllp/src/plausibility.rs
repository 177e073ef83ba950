//! Plausibility checks on delivered results: pure logic, no I/O.
//!
//! A result that fails is not dropped and not silently filed: it is held for review and
//! the lab is alerted. Reason codes name the check, never the value, because they end up
//! in alerts and audit entries.

use labguard_core::LabResult;

/// Value outside what a living patient can have (an instrument or transcription fault).
pub const OUTSIDE_LIMITS: &str = "outside-physiologic-limits";
/// Units not among those accepted for the analyte.
pub const WRONG_UNITS: &str = "wrong-units";
/// A numeric analyte whose value is not a number.
pub const NOT_NUMERIC: &str = "non-numeric-value";
/// An analyte the sending instrument is not registered to report.
pub const NOT_REGISTERED: &str = "analyte-not-registered";
/// Observed before the specimen it was measured on was drawn.
pub const BEFORE_DRAW: &str = labguard_store::BEFORE_DRAW;

/// What one analyte may look like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalyteRule {
    pub loinc: &'static str,
    /// Accepted units, compared case-insensitively after trimming; the limits apply to
    /// the first one, the others come with their own factor to it.
    pub units: &'static [(&'static str, f64)],
    /// Physiologic limits (inclusive) in the first unit: far wider than reference
    /// ranges, so only impossible values trip them.
    pub min: f64,
    pub max: f64,
}

/// Limits for common chemistry and haematology analytes. Values are what survivable
/// physiology allows, from clinical-chemistry critical-value literature, not reference
/// ranges.
pub const RULES: &[AnalyteRule] = &[
    rule("2345-7", &[("mg/dL", 1.0), ("mmol/L", 18.016)], 0.0, 2500.0), // glucose
    rule("2339-0", &[("mg/dL", 1.0), ("mmol/L", 18.016)], 0.0, 2500.0), // glucose (blood)
    rule("2823-3", &[("mmol/L", 1.0), ("mEq/L", 1.0)], 0.5, 15.0),      // potassium
    rule("2951-2", &[("mmol/L", 1.0), ("mEq/L", 1.0)], 80.0, 220.0),    // sodium
    rule("2075-0", &[("mmol/L", 1.0), ("mEq/L", 1.0)], 50.0, 180.0),    // chloride
    rule("2160-0", &[("mg/dL", 1.0), ("umol/L", 0.01131)], 0.0, 40.0),  // creatinine
    rule("3094-0", &[("mg/dL", 1.0)], 0.0, 300.0),                      // urea nitrogen
    rule("17861-6", &[("mg/dL", 1.0), ("mmol/L", 4.008)], 1.0, 25.0),   // calcium
    rule("718-7", &[("g/dL", 1.0), ("g/L", 0.1)], 1.0, 30.0),           // haemoglobin
    rule("4544-3", &[("%", 1.0)], 3.0, 90.0),                           // haematocrit
    rule("20570-8", &[("%", 1.0)], 3.0, 90.0),                          // haematocrit
    rule(
        "6690-2",
        &[("10*3/uL", 1.0), ("10^3/uL", 1.0), ("10*9/L", 1.0)],
        0.0,
        1000.0,
    ), // leukocytes
    rule(
        "777-3",
        &[("10*3/uL", 1.0), ("10^3/uL", 1.0), ("10*9/L", 1.0)],
        0.0,
        5000.0,
    ), // platelets
    rule("4548-4", &[("%", 1.0)], 2.0, 25.0),                           // HbA1c
];

const fn rule(
    loinc: &'static str,
    units: &'static [(&'static str, f64)],
    min: f64,
    max: f64,
) -> AnalyteRule {
    AnalyteRule {
        loinc,
        units,
        min,
        max,
    }
}

pub fn rule_for(loinc: &str) -> Option<&'static AnalyteRule> {
    RULES.iter().find(|r| r.loinc == loinc)
}

/// Reason codes for one result from an instrument registered for `registered` analytes
/// (empty list: every analyte allowed). The draw-time check needs the specimen, which
/// the store resolves (`labguard_store::BEFORE_DRAW`); [`before_draw`] is the same rule
/// for callers that have it.
pub fn check(result: &LabResult, registered: &[String]) -> Vec<String> {
    let mut reasons = Vec::new();
    let code = result.analyte.as_str();
    if !registered.is_empty() && !registered.iter().any(|a| a == code) {
        reasons.push(NOT_REGISTERED.to_string());
    }
    let Some(rule) = rule_for(code) else {
        return reasons;
    };
    let units = result.units.trim();
    let Some(&(_, factor)) = rule
        .units
        .iter()
        .find(|(u, _)| u.eq_ignore_ascii_case(units))
    else {
        reasons.push(WRONG_UNITS.to_string());
        return reasons;
    };
    match numeric(&result.value) {
        Some(v) => {
            let v = v * factor;
            if !(rule.min..=rule.max).contains(&v) {
                reasons.push(OUTSIDE_LIMITS.to_string());
            }
        }
        None => reasons.push(NOT_NUMERIC.to_string()),
    }
    reasons
}

/// True when a result was observed before its specimen was drawn.
pub fn before_draw(
    observed: chrono::DateTime<chrono::Utc>,
    drawn: chrono::DateTime<chrono::Utc>,
) -> bool {
    observed < drawn
}

/// The number in a numeric result, accepting the comparator prefixes instruments send at
/// the edges of their range (`<0.1`, `>500`).
fn numeric(v: &str) -> Option<f64> {
    let t = v.trim().trim_start_matches(['<', '>', '=']).trim();
    t.parse::<f64>().ok().filter(|x| x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use labguard_core::{AbnormalFlag, Id, LoincCode, ReferenceRange, ResultStatus};

    fn result(code: &str, value: &str, units: &str) -> LabResult {
        LabResult {
            id: Id::nil(),
            patient_id: Id::nil(),
            specimen_id: None,
            order_id: None,
            analyte: LoincCode::parse(code).unwrap(),
            analyte_name: String::new(),
            value: value.into(),
            units: units.into(),
            reference_range: ReferenceRange::parse(""),
            abnormal_flag: AbnormalFlag::Normal,
            status: ResultStatus::Final,
            performing_device: None,
            verified_by: None,
            observed_at: chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn plausible_results_pass() {
        let reg = vec!["2345-7".to_string(), "2823-3".to_string()];
        assert!(check(&result("2345-7", "95", "mg/dL"), &reg).is_empty());
        assert!(check(&result("2345-7", "5.3", "mmol/L"), &reg).is_empty());
        assert!(check(&result("2823-3", "<0.6", "MMOL/L"), &reg).is_empty());
        // Analytes without a rule pass the value checks.
        assert!(check(&result("2345-7", "95", "mg/dL"), &[]).is_empty());
    }

    #[test]
    fn each_check_names_itself() {
        let reg = vec!["2345-7".to_string()];
        assert_eq!(
            check(&result("2345-7", "9000", "mg/dL"), &reg),
            [OUTSIDE_LIMITS]
        );
        assert_eq!(
            check(&result("2345-7", "-1", "mg/dL"), &reg),
            [OUTSIDE_LIMITS]
        );
        assert_eq!(check(&result("2345-7", "95", "g/L"), &reg), [WRONG_UNITS]);
        assert_eq!(
            check(&result("2345-7", "high", "mg/dL"), &reg),
            [NOT_NUMERIC]
        );
        assert_eq!(
            check(&result("2823-3", "4.0", "mmol/L"), &reg),
            [NOT_REGISTERED]
        );
        assert_eq!(
            check(&result("2823-3", "40", "mmol/L"), &reg),
            [NOT_REGISTERED, OUTSIDE_LIMITS]
        );
        let t = chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        assert!(before_draw(t, t + chrono::Duration::minutes(1)));
        assert!(!before_draw(t, t));
    }

    #[test]
    fn rules_are_well_formed() {
        for r in RULES {
            assert!(LoincCode::parse(r.loinc).is_ok(), "{}", r.loinc);
            assert!(r.min < r.max && !r.units.is_empty());
        }
    }
}
