use super::*;
use chrono::{DateTime, TimeZone, Utc};
use labguard_core::{AbnormalFlag, Id, ReferenceRange, ResultStatus};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 4, 6, 0, 0).unwrap()
}

fn result(code: &str, value: &str, units: &str, at: DateTime<Utc>) -> LabResult {
    LabResult {
        id: Id::from_u128(1),
        patient_id: Id::from_u128(42),
        specimen_id: None,
        order_id: None,
        analyte: LoincCode::parse(code).unwrap(),
        analyte_name: String::new(),
        value: value.into(),
        units: units.into(),
        reference_range: ReferenceRange::default(),
        abnormal_flag: AbnormalFlag::Normal,
        status: ResultStatus::Final,
        performing_device: None,
        verified_by: None,
        observed_at: at,
    }
}

/// The outcome of `prev` then `cur` (values and units), 12 hours apart.
fn outcome(table: &DeltaTable, code: &str, prev: (&str, &str), cur: (&str, &str)) -> DeltaOutcome {
    let p = result(code, prev.0, prev.1, t0());
    let c = result(code, cur.0, cur.1, t0() + Duration::hours(12));
    table.check(&c, Some(&p)).unwrap()
}

fn held(o: &DeltaOutcome) -> Option<&HoldReason> {
    match o {
        DeltaOutcome::Hold(h) => Some(&h.reason),
        _ => None,
    }
}

fn defaults() -> DeltaTable {
    DeltaTable::defaults().unwrap()
}

const K: &str = "2823-3";
const GLUCOSE: &str = "2345-7";
const CREATININE: &str = "2160-0";
const PLATELETS: &str = "777-3";

#[test]
fn default_table_covers_common_analytes() {
    let t = defaults();
    for code in [
        K, "2951-2", GLUCOSE, CREATININE, "718-7", PLATELETS, "6690-2", "17861-6", "1742-6",
    ] {
        let rule = t.rule(&LoincCode::parse(code).unwrap());
        let rule = rule.unwrap_or_else(|| panic!("{code} missing"));
        assert!(!rule.source.is_empty(), "{code} has no source");
    }
    assert_eq!(t.rules().count(), 17);
}

#[test]
fn absolute_limit_on_both_sides() {
    let t = defaults();
    // Potassium: 1.0 mmol/L. A change of exactly the limit passes.
    assert_eq!(
        outcome(&t, K, ("4.0", "mmol/L"), ("5.0", "mmol/L")),
        DeltaOutcome::Pass
    );
    assert_eq!(
        outcome(&t, K, ("4.0", "mmol/L"), ("3.0", "mmol/L")),
        DeltaOutcome::Pass
    );
    let up = outcome(&t, K, ("4.0", "mmol/L"), ("5.1", "mmol/L"));
    assert_eq!(held(&up), Some(&HoldReason::Exceeded));
    let down = outcome(&t, K, ("4.0", "mmol/L"), ("2.9", "mmol/L"));
    assert_eq!(held(&down), Some(&HoldReason::Exceeded));
    let DeltaOutcome::Hold(h) = down else {
        unreachable!()
    };
    assert_eq!((h.previous, h.current), (4.0, 2.9));
    assert!((h.change + 1.1).abs() < 1e-9);
    assert!((h.percent_change.unwrap() + 27.5).abs() < 1e-9);
    assert_eq!(h.elapsed, Duration::hours(12));
}

#[test]
fn percent_limit_on_both_sides() {
    let mut t = defaults();
    let mut rule = t
        .rule(&LoincCode::parse(PLATELETS).unwrap())
        .unwrap()
        .clone();
    rule.absolute = None;
    t.set(rule).unwrap();
    // 50% of 200 is 100.
    assert_eq!(
        outcome(&t, PLATELETS, ("200", "10*3/uL"), ("300", "10*3/uL")),
        DeltaOutcome::Pass
    );
    assert_eq!(
        outcome(&t, PLATELETS, ("200", "10*3/uL"), ("100", "10*3/uL")),
        DeltaOutcome::Pass
    );
    let up = outcome(&t, PLATELETS, ("200", "10*3/uL"), ("301", "10*3/uL"));
    assert_eq!(held(&up), Some(&HoldReason::Exceeded));
    let down = outcome(&t, PLATELETS, ("200", "10*3/uL"), ("99", "10*3/uL"));
    assert_eq!(held(&down), Some(&HoldReason::Exceeded));
    // A percent-only limit needs no particular units, only the same on both.
    assert_eq!(
        outcome(&t, PLATELETS, ("200", "10*9/L"), ("300", "10*9/L")),
        DeltaOutcome::Pass
    );
    // From zero any change is beyond a percent limit.
    let from_zero = outcome(&t, PLATELETS, ("0", "10*3/uL"), ("1", "10*3/uL"));
    assert_eq!(held(&from_zero), Some(&HoldReason::Exceeded));
}

#[test]
fn both_limits_as_the_table_combines_them() {
    let mut t = defaults();
    // Creatinine: 0.5 mg/dL and 50%, both needed.
    let both = outcome(&t, CREATININE, ("1.0", "mg/dL"), ("1.6", "mg/dL"));
    assert_eq!(held(&both), Some(&HoldReason::Exceeded));
    // 100% but only 0.4 mg/dL; 0.6 mg/dL but only 15%.
    assert_eq!(
        outcome(&t, CREATININE, ("0.4", "mg/dL"), ("0.8", "mg/dL")),
        DeltaOutcome::Pass
    );
    assert_eq!(
        outcome(&t, CREATININE, ("4.0", "mg/dL"), ("4.6", "mg/dL")),
        DeltaOutcome::Pass
    );
    // The same limits combined with "either" hold both.
    let mut rule = t
        .rule(&LoincCode::parse(CREATININE).unwrap())
        .unwrap()
        .clone();
    rule.combine = Combine::Either;
    assert_eq!(rule.limit_text(), "0.5 mg/dL or 50%");
    t.set(rule).unwrap();
    let pct = outcome(&t, CREATININE, ("0.4", "mg/dL"), ("0.8", "mg/dL"));
    assert_eq!(held(&pct), Some(&HoldReason::Exceeded));
    let abs = outcome(&t, CREATININE, ("4.0", "mg/dL"), ("4.6", "mg/dL"));
    assert_eq!(held(&abs), Some(&HoldReason::Exceeded));
}

#[test]
fn window_is_inclusive_and_older_results_are_not_compared() {
    let t = defaults();
    let p = result(K, "4.0", "mmol/L", t0());
    let at_edge = result(K, "6.0", "mmol/L", t0() + Duration::hours(48));
    let outcome = t.check(&at_edge, Some(&p)).unwrap();
    assert_eq!(held(&outcome), Some(&HoldReason::Exceeded));
    let past = result(
        K,
        "6.0",
        "mmol/L",
        t0() + Duration::hours(48) + Duration::minutes(1),
    );
    assert_eq!(
        t.check(&past, Some(&p)).unwrap(),
        DeltaOutcome::NotChecked(NotChecked::OutsideWindow)
    );
    assert_eq!(
        t.check(&p, Some(&past)).unwrap(),
        DeltaOutcome::NotChecked(NotChecked::PreviousNotEarlier)
    );
}

#[test]
fn different_units_are_held_never_compared() {
    let t = defaults();
    // 5.5 mmol/L then 99 mg/dL is the same glucose; compared as numbers it would pass
    // neither way. It is held with the reason.
    let o = outcome(&t, GLUCOSE, ("5.5", "mmol/L"), ("99", "mg/dL"));
    assert_eq!(
        held(&o),
        Some(&HoldReason::UnitMismatch {
            previous_units: "mmol/L".into(),
            current_units: "mg/dL".into()
        })
    );
    // Same units as each other but not the table's, with an absolute limit: held too.
    let o = outcome(&t, GLUCOSE, ("5.5", "mmol/L"), ("5.6", "mmol/L"));
    assert_eq!(
        held(&o),
        Some(&HoldReason::UnitsNotInTable {
            units: "mmol/L".into()
        })
    );
    // Units compare case-insensitively.
    assert_eq!(
        outcome(&t, K, ("4.0", "MMOL/L"), ("4.1", "mmol/l")),
        DeltaOutcome::Pass
    );
}

#[test]
fn explanations_name_the_limit_never_the_values() {
    let t = defaults();
    let o = outcome(&t, K, ("4.25", "mmol/L"), ("6.75", "mmol/L"));
    let DeltaOutcome::Hold(h) = o else {
        panic!("not held")
    };
    let text = h.explain();
    assert_eq!(
        text,
        "Potassium changed by more than its delta limit (1 mmol/L) since the previous \
         result 12 h earlier; review before release."
    );
    assert_eq!(h.to_string(), text);
    let debug = format!("{h:?}");
    for shown in [&text, &debug] {
        assert!(!shown.contains("4.25") && !shown.contains("6.75") && !shown.contains("2.5"));
    }
    let o = outcome(&t, GLUCOSE, ("5.5", "mmol/L"), ("99", "mg/dL"));
    let DeltaOutcome::Hold(h) = o else {
        panic!("not held")
    };
    assert_eq!(
        h.explain(),
        "Glucose was reported in mg/dL but the previous result in mmol/L, so they were not \
         compared; review before release."
    );
}

#[test]
fn checks_that_do_not_apply() {
    let t = defaults();
    let cur = result(K, "4.0", "mmol/L", t0());
    assert_eq!(
        t.check(&cur, None).unwrap(),
        DeltaOutcome::NotChecked(NotChecked::NoPrevious)
    );
    let hba1c = result("4548-4", "6.0", "%", t0());
    assert_eq!(
        t.check(&hba1c, Some(&hba1c)).unwrap(),
        DeltaOutcome::NotChecked(NotChecked::NoRule)
    );
    assert_eq!(
        outcome(&t, K, ("<0.5", "mmol/L"), ("4.0", "mmol/L")),
        DeltaOutcome::NotChecked(NotChecked::NotNumeric)
    );
    let mut other = result(K, "4.0", "mmol/L", t0() - Duration::hours(1));
    other.patient_id = Id::from_u128(7);
    let err = t.check(&cur, Some(&other)).unwrap_err();
    assert_eq!(err, QcError::Mismatch { field: "patient" });
    assert_eq!(
        err.to_string(),
        "the previous result is for a different patient"
    );
    let na = result("2951-2", "140", "mmol/L", t0() - Duration::hours(1));
    assert_eq!(
        t.check(&cur, Some(&na)).unwrap_err(),
        QcError::Mismatch { field: "analyte" }
    );
}

#[test]
fn a_lab_overrides_and_removes_entries() {
    let mut t = defaults();
    let overrides = DeltaTable::from_json(
        r#"{"analytes": [{"loinc": "2823-3", "name": "Potassium", "units": "mmol/L",
            "absolute": 1.5, "window_hours": 24}]}"#,
    )
    .unwrap();
    t.merge(overrides);
    assert_eq!(
        outcome(&t, K, ("4.0", "mmol/L"), ("5.4", "mmol/L")),
        DeltaOutcome::Pass
    );
    assert_eq!(t.rules().count(), 17);
    t.remove(&LoincCode::parse(K).unwrap());
    assert_eq!(
        outcome(&t, K, ("4.0", "mmol/L"), ("9.0", "mmol/L")),
        DeltaOutcome::NotChecked(NotChecked::NoRule)
    );
}

#[test]
fn malformed_tables_are_refused() {
    let entry_in = |window: u32, extra: &str| {
        format!(
            r#"{{"analytes": [{{"loinc": "2823-3", "name": "K", "units": "mmol/L",
                "window_hours": {window}{extra}}}]}}"#
        )
    };
    let entry = |extra: &str| entry_in(24, extra);
    assert!(DeltaTable::from_json(&entry(r#", "absolute": 1"#)).is_ok());
    for bad in [
        entry(""),
        entry(r#", "absolute": -1"#),
        entry(r#", "percent": 0"#),
        entry(r#", "absolute": 1, "colour": "red""#),
        entry(r#", "absolute": 1}, {"loinc": "2823-3", "name": "K", "units": "x", "window_hours": 1, "absolute": 2"#),
        r#"{"analytes": [{"loinc": "2823-4", "name": "K", "units": "mmol/L", "window_hours": 1, "absolute": 1}]}"#.to_string(),
        entry_in(0, r#", "absolute": 1"#),
    ] {
        assert!(DeltaTable::from_json(&bad).is_err(), "{bad}");
    }
}
