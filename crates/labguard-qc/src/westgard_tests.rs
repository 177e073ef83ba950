//! Each rule on a hand-made series that breaks exactly that rule. Level 1 has mean 100 and
//! SD 2, level 2 mean 200 and SD 4, so z-scores are exact in binary: 105 is +2.5 SD,
//! 104 exactly +2 SD.

use super::*;
use chrono::TimeZone;

fn at(run: u64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap() + chrono::Duration::hours(run as i64)
}

fn series(level: &str, mean: f64, sd: f64, values: &[f64]) -> ControlSeries {
    ControlSeries {
        material: ControlMaterial {
            lot: "LOT-A1".into(),
            level: level.into(),
            analyte: LoincCode::parse("2345-7").unwrap(),
            units: "mg/dL".into(),
            mean,
            sd,
        },
        points: values
            .iter()
            .enumerate()
            .map(|(i, &value)| QcPoint {
                run: i as u64 + 1,
                at: at(i as u64 + 1),
                value,
            })
            .collect(),
    }
}

fn l1(values: &[f64]) -> ControlSeries {
    series("1", 100.0, 2.0, values)
}

fn l2(values: &[f64]) -> ControlSeries {
    series("2", 200.0, 4.0, values)
}

fn run(s: &[ControlSeries]) -> Vec<Violation> {
    evaluate(s, &WestgardConfig::default()).unwrap()
}

fn codes(v: &[Violation]) -> Vec<&'static str> {
    v.iter().map(|v| v.code).collect()
}

fn indices(v: &Violation) -> Vec<(usize, usize)> {
    v.points.iter().map(|p| (p.series, p.index)).collect()
}

#[test]
fn in_control_series_has_no_violations() {
    let v = run(&[
        l1(&[101.0, 99.0, 102.0, 98.0, 103.0, 97.0]),
        l2(&[204.0, 196.0, 200.0, 208.0, 192.0, 202.0]),
    ]);
    assert!(v.is_empty(), "{v:?}");
    assert!(run(&[]).is_empty());
}

#[test]
fn one_two_s_is_a_warning_only() {
    let v = run(&[l1(&[101.0, 99.0, 105.0, 99.0])]);
    assert_eq!(codes(&v), ["1-2s"]);
    assert_eq!(indices(&v[0]), [(0, 2)]);
    assert!(!v[0].rejects);
    assert_eq!(v[0].scope, Scope::Point);
    assert!(!run_rejected(&v, 3));
}

#[test]
fn values_on_a_limit_are_within_it() {
    // Exactly +2 SD: nothing. Exactly +3 SD: beyond 2 but not beyond 3.
    assert!(run(&[l1(&[101.0, 104.0, 99.0])]).is_empty());
    assert!(run(&[l1(&[101.0, 96.0, 99.0])]).is_empty());
    assert_eq!(codes(&run(&[l1(&[101.0, 106.0, 99.0])])), ["1-2s"]);
    assert_eq!(codes(&run(&[l1(&[101.0, 94.0, 99.0])])), ["1-2s"]);
}

#[test]
fn one_three_s_rejects() {
    let v = run(&[l1(&[101.0, 99.0, 107.0, 99.0])]);
    assert_eq!(codes(&v), ["1-3s"]);
    assert_eq!(indices(&v[0]), [(0, 2)]);
    assert!(v[0].rejects && run_rejected(&v, 3) && !run_rejected(&v, 2));
    assert_eq!(codes(&run(&[l1(&[101.0, 93.0, 99.0])])), ["1-3s"]);
}

#[test]
fn two_two_s_across_runs_of_one_level() {
    let v = run(&[l1(&[101.0, 99.0, 105.0, 105.0, 99.0])]);
    assert_eq!(codes(&v), ["2-2s"]);
    assert_eq!(v[0].scope, Scope::AcrossRuns);
    assert_eq!(indices(&v[0]), [(0, 2), (0, 3)]);
    // Opposite sides are not 2-2s (and one level cannot be R-4s): two warnings.
    assert_eq!(
        codes(&run(&[l1(&[101.0, 105.0, 95.0, 99.0])])),
        ["1-2s", "1-2s"]
    );
    // The second point exactly on +2 SD: one warning only.
    assert_eq!(codes(&run(&[l1(&[101.0, 105.0, 104.0, 99.0])])), ["1-2s"]);
}

#[test]
fn two_two_s_within_one_run_across_levels() {
    let v = run(&[l1(&[101.0, 105.0, 99.0]), l2(&[196.0, 210.0, 204.0])]);
    assert_eq!(codes(&v), ["2-2s"]);
    assert_eq!(v[0].scope, Scope::WithinRun);
    assert_eq!(indices(&v[0]), [(0, 1), (1, 1)]);
    assert!(run_rejected(&v, 2) && !run_rejected(&v, 1) && !run_rejected(&v, 3));
}

#[test]
fn r_four_s_within_one_run() {
    let v = run(&[l1(&[101.0, 105.0, 99.0]), l2(&[204.0, 190.0, 196.0])]);
    assert_eq!(codes(&v), ["R-4s"]);
    assert_eq!(v[0].scope, Scope::WithinRun);
    assert_eq!(indices(&v[0]), [(0, 1), (1, 1)]);
    // Level 2 exactly on -2 SD: no range violation, level 1's warning stays.
    let v = run(&[l1(&[101.0, 105.0, 99.0]), l2(&[204.0, 192.0, 196.0])]);
    assert_eq!(codes(&v), ["1-2s"]);
    // Across runs, +2.5 then -2.5 on different levels is not R-4s.
    let v = run(&[l1(&[105.0, 101.0]), l2(&[204.0, 190.0])]);
    assert_eq!(codes(&v), ["1-2s", "1-2s"]);
}

#[test]
fn four_one_s_is_one_violation_per_streak() {
    let v = run(&[l1(&[99.0, 103.0, 103.0, 103.0, 103.0, 99.0])]);
    assert_eq!(codes(&v), ["4-1s"]);
    assert_eq!(v[0].scope, Scope::AcrossRuns);
    assert_eq!(v[0].points.len(), 4);
    let v = run(&[l1(&[99.0, 97.0, 97.0, 97.0, 97.0, 97.0, 101.0])]);
    assert_eq!(codes(&v), ["4-1s"]);
    assert_eq!(indices(&v[0]), [(0, 1), (0, 2), (0, 3), (0, 4), (0, 5)]);
    // The first point exactly on +1 SD: only three beyond.
    assert!(run(&[l1(&[99.0, 102.0, 103.0, 103.0, 103.0, 99.0])]).is_empty());
}

#[test]
fn n_x_counts_as_configured() {
    let mut values = vec![99.0];
    values.extend([101.0; 10]);
    values.push(99.0);
    let v = run(&[l1(&values)]);
    assert_eq!(codes(&v), ["10-x"]);
    assert_eq!(v[0].points.len(), 10);
    assert_eq!(v[0].points.first().map(|p| p.index), Some(1));

    // Nine is not enough for 10-x, but is for 8-x; ten is not enough for 12-x.
    let nine: Vec<f64> = [99.0].into_iter().chain([101.0; 9]).collect();
    assert!(run(&[l1(&nine)]).is_empty());
    let eight = WestgardConfig {
        nx: NxCount::Eight,
        ..WestgardConfig::default()
    };
    assert_eq!(codes(&evaluate(&[l1(&nine)], &eight).unwrap()), ["8-x"]);
    let twelve = WestgardConfig {
        nx: NxCount::Twelve,
        ..WestgardConfig::default()
    };
    assert!(evaluate(&[l1(&values)], &twelve).unwrap().is_empty());
    let below: Vec<f64> = [98.0; 12].to_vec();
    assert_eq!(codes(&evaluate(&[l1(&below)], &twelve).unwrap()), ["12-x"]);

    // A point exactly on the mean breaks the streak.
    let mut broken = vec![101.0; 5];
    broken.push(100.0);
    broken.extend([101.0; 5]);
    assert!(run(&[l1(&broken)]).is_empty());
}

#[test]
fn disabled_rules_are_not_reported() {
    let config = WestgardConfig {
        disabled: [Rule::FourOneS].into(),
        ..WestgardConfig::default()
    };
    let s = [l1(&[99.0, 103.0, 103.0, 103.0, 103.0, 99.0])];
    assert!(evaluate(&s, &config).unwrap().is_empty());
    // With 1-3s off, its point is an unclaimed warning.
    let config = WestgardConfig {
        disabled: [Rule::OneThreeS].into(),
        ..WestgardConfig::default()
    };
    let v = evaluate(&[l1(&[101.0, 107.0])], &config).unwrap();
    assert_eq!(codes(&v), ["1-2s"]);
}

#[test]
fn order_of_input_points_does_not_matter() {
    let mut s = l1(&[101.0, 99.0, 105.0, 105.0, 99.0]);
    s.points.reverse();
    let v = run(&[s]);
    assert_eq!(codes(&v), ["2-2s"]);
    // Indices still point into the given vector: 105s are now at 1 and 2.
    assert_eq!(indices(&v[0]), [(0, 2), (0, 1)]);
}

#[test]
fn evaluate_run_keeps_violations_touching_that_run() {
    let s = [l1(&[101.0, 99.0, 105.0, 105.0, 99.0, 105.0])];
    let config = WestgardConfig::default();
    let r4 = evaluate_run(&s, &config, 4).unwrap();
    assert_eq!(codes(&r4), ["2-2s"]);
    assert!(run_rejected(&r4, 4));
    let r6 = evaluate_run(&s, &config, 6).unwrap();
    assert_eq!(codes(&r6), ["1-2s"]);
    assert!(!run_rejected(&r6, 6));
    assert!(evaluate_run(&s, &config, 5).unwrap().is_empty());
}

#[test]
fn bad_targets_and_mixed_analytes_are_refused() {
    let mut s = l1(&[101.0]);
    s.material.sd = 0.0;
    assert!(matches!(
        evaluate(&[s.clone()], &WestgardConfig::default()),
        Err(QcError::Invalid {
            field: "control SD",
            ..
        })
    ));
    s.material.sd = 2.0;
    s.points[0].value = f64::NAN;
    assert!(evaluate(&[s], &WestgardConfig::default()).is_err());
    let mut other = l2(&[200.0]);
    other.material.analyte = LoincCode::parse("2823-3").unwrap();
    assert_eq!(
        evaluate(&[l1(&[100.0]), other], &WestgardConfig::default()),
        Err(QcError::MixedAnalytes)
    );
}
