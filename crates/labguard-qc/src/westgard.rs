//! Westgard multirules on control-material series.
//!
//! A series is one control material (lot + level) for one analyte, with the target mean
//! and SD the lab assigned to it. Every point becomes a z-score, `(value - mean) / sd`, and
//! the rules read z-scores only. "Beyond k SD" is strict (`|z| > k`): a value exactly on a
//! control limit is within it, as on the Levey-Jennings chart where the line is the limit.
//!
//! Rules, as Westgard et al. (Clin Chem 1981;27:493) define them:
//! - 1-2s (warning): one point beyond 2 SD. Reported only for points no rejection rule
//!   already names, so a 2-2s or 1-3s violation is not also listed as a warning.
//! - 1-3s: one point beyond 3 SD (random error).
//! - 2-2s: two consecutive points beyond 2 SD on the same side, either across the levels
//!   of one run or across consecutive runs of one level (systematic error).
//! - R-4s: within one run, one level beyond +2 SD and another beyond -2 SD (random error).
//! - 4-1s: four consecutive points of one level beyond 1 SD on the same side.
//! - n-x (8, 10 or 12): n consecutive points of one level on the same side of the mean;
//!   a point exactly on the mean breaks the streak.
//!
//! Streak rules report one violation per maximal streak, with all its points, so five
//! points beyond +1 SD are one 4-1s violation, not two.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use labguard_core::LoincCode;
use serde::{Deserialize, Serialize};

use crate::QcError;

/// A control material as the lab set it up: lot, level and the assigned target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlMaterial {
    pub lot: String,
    /// The level as the manufacturer names it ("1", "normal", "high").
    pub level: String,
    pub analyte: LoincCode,
    pub units: String,
    /// Target mean and SD, established by the lab for this lot (not the package insert's).
    pub mean: f64,
    pub sd: f64,
}

/// One measurement of a control material.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QcPoint {
    /// The analytical run it was measured in: points of several levels with one run id
    /// were measured together.
    pub run: u64,
    pub at: DateTime<Utc>,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlSeries {
    pub material: ControlMaterial,
    pub points: Vec<QcPoint>,
}

impl ControlSeries {
    /// The point's distance from the target in SDs.
    pub fn z(&self, value: f64) -> f64 {
        (value - self.material.mean) / self.material.sd
    }

    /// Point indices in measurement order (time, then run), whatever order they came in.
    pub fn chronological(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.points.len()).collect();
        idx.sort_by_key(|&i| self.points.get(i).map(|p| (p.at, p.run)));
        idx
    }

    pub(crate) fn validate(&self) -> Result<(), QcError> {
        let m = &self.material;
        if !m.mean.is_finite() {
            return Err(invalid("control mean", "must be a finite number"));
        }
        if !(m.sd.is_finite() && m.sd > 0.0) {
            return Err(invalid("control SD", "must be a positive number"));
        }
        if self.points.iter().any(|p| !p.value.is_finite()) {
            return Err(invalid("control value", "must be a finite number"));
        }
        Ok(())
    }
}

fn invalid(field: &'static str, why: &'static str) -> QcError {
    QcError::Invalid { field, why }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rule {
    OneTwoS,
    OneThreeS,
    TwoTwoS,
    RFourS,
    FourOneS,
    /// n consecutive points on one side of the mean; n is [`WestgardConfig::nx`].
    NxMean,
}

impl Rule {
    pub const ALL: [Rule; 6] = [
        Rule::OneTwoS,
        Rule::OneThreeS,
        Rule::TwoTwoS,
        Rule::RFourS,
        Rule::FourOneS,
        Rule::NxMean,
    ];

    /// The rule's usual name, e.g. `2-2s`.
    pub fn code(self, nx: NxCount) -> &'static str {
        match self {
            Rule::OneTwoS => "1-2s",
            Rule::OneThreeS => "1-3s",
            Rule::TwoTwoS => "2-2s",
            Rule::RFourS => "R-4s",
            Rule::FourOneS => "4-1s",
            Rule::NxMean => match nx {
                NxCount::Eight => "8-x",
                NxCount::Ten => "10-x",
                NxCount::Twelve => "12-x",
            },
        }
    }

    /// Whether a violation rejects the run (all but the 1-2s warning do).
    pub fn rejects(self) -> bool {
        self != Rule::OneTwoS
    }
}

/// How many consecutive same-side points the n-x rule needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum NxCount {
    Eight,
    #[default]
    Ten,
    Twelve,
}

impl NxCount {
    pub fn n(self) -> usize {
        match self {
            NxCount::Eight => 8,
            NxCount::Ten => 10,
            NxCount::Twelve => 12,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WestgardConfig {
    pub nx: NxCount,
    /// Rules the lab director has switched off for this analyte (e.g. 4-1s on a
    /// low-precision assay).
    pub disabled: BTreeSet<Rule>,
}

impl WestgardConfig {
    fn on(&self, rule: Rule) -> bool {
        !self.disabled.contains(&rule)
    }
}

/// Where the points of a violation lie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// One point.
    Point,
    /// Several points of one run (across levels).
    WithinRun,
    /// Points of consecutive runs (one level).
    AcrossRuns,
}

/// A point, by its series' position in the input and its index in that series' `points`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PointRef {
    pub series: usize,
    pub index: usize,
    pub run: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub rule: Rule,
    /// The rule's name with the configured n for n-x (`10-x`).
    pub code: &'static str,
    pub scope: Scope,
    /// The points involved, in measurement order.
    pub points: Vec<PointRef>,
    /// Whether this violation rejects the runs it touches.
    pub rejects: bool,
}

/// A point with its z-score, as the rules see it.
#[derive(Clone, Copy)]
struct Z {
    at: PointRef,
    z: f64,
}

/// Evaluates every rule over `series`: all levels of one analyte, each with its history.
/// Empty input gives no violations.
pub fn evaluate(
    series: &[ControlSeries],
    config: &WestgardConfig,
) -> Result<Vec<Violation>, QcError> {
    for s in series {
        s.validate()?;
    }
    if let Some(first) = series.first() {
        if series
            .iter()
            .any(|s| s.material.analyte != first.material.analyte)
        {
            return Err(QcError::MixedAnalytes);
        }
    }
    let ordered: Vec<Vec<Z>> = series
        .iter()
        .enumerate()
        .map(|(si, s)| {
            s.chronological()
                .into_iter()
                .filter_map(|i| {
                    let p = s.points.get(i)?;
                    let at = PointRef {
                        series: si,
                        index: i,
                        run: p.run,
                    };
                    Some(Z {
                        at,
                        z: s.z(p.value),
                    })
                })
                .collect()
        })
        .collect();

    let mut out = Vec::new();
    let mut push = |rule: Rule, scope: Scope, points: Vec<PointRef>| {
        if config.on(rule) {
            out.push(Violation {
                rule,
                code: rule.code(config.nx),
                scope,
                points,
                rejects: rule.rejects(),
            });
        }
    };
    for z in ordered.iter().flatten().filter(|z| z.z.abs() > 3.0) {
        push(Rule::OneThreeS, Scope::Point, vec![z.at]);
    }
    within_runs(&ordered, &mut push);
    for level in &ordered {
        streaks(level, 2.0, 2, Rule::TwoTwoS, &mut push);
        streaks(level, 1.0, 4, Rule::FourOneS, &mut push);
        streaks(level, 0.0, config.nx.n(), Rule::NxMean, &mut push);
    }
    warnings(&ordered, &mut out, config);
    Ok(out)
}

/// 2-2s and R-4s across the levels measured in one run.
fn within_runs(ordered: &[Vec<Z>], push: &mut impl FnMut(Rule, Scope, Vec<PointRef>)) {
    let mut runs: BTreeMap<u64, Vec<Z>> = BTreeMap::new();
    for z in ordered.iter().flatten() {
        runs.entry(z.at.run).or_default().push(*z);
    }
    for points in runs.values() {
        let levels = |pred: &dyn Fn(f64) -> bool| -> Vec<Z> {
            points.iter().copied().filter(|z| pred(z.z)).collect()
        };
        let high = levels(&|z| z > 2.0);
        let low = levels(&|z| z < -2.0);
        for side in [&high, &low] {
            let series: BTreeSet<usize> = side.iter().map(|z| z.at.series).collect();
            if series.len() >= 2 {
                push(
                    Rule::TwoTwoS,
                    Scope::WithinRun,
                    side.iter().map(|z| z.at).collect(),
                );
            }
        }
        let max = high.iter().max_by(|a, b| a.z.total_cmp(&b.z));
        let min = low.iter().min_by(|a, b| a.z.total_cmp(&b.z));
        if let (Some(hi), Some(lo)) = (max, min) {
            if hi.at.series != lo.at.series {
                let mut pair = vec![hi.at, lo.at];
                pair.sort();
                push(Rule::RFourS, Scope::WithinRun, pair);
            }
        }
    }
}

/// Maximal runs of at least `len` consecutive points beyond `limit` SD on one side.
fn streaks(
    level: &[Z],
    limit: f64,
    len: usize,
    rule: Rule,
    push: &mut impl FnMut(Rule, Scope, Vec<PointRef>),
) {
    let side = |z: f64| {
        if z > limit {
            1
        } else if z < -limit {
            -1
        } else {
            0
        }
    };
    let mut start = 0;
    while start < level.len() {
        let s = level.get(start).map_or(0, |z| side(z.z));
        let mut end = start + 1;
        while s != 0 && level.get(end).is_some_and(|z| side(z.z) == s) {
            end += 1;
        }
        if s != 0 && end - start >= len {
            let points: Vec<PointRef> = level
                .get(start..end)
                .unwrap_or_default()
                .iter()
                .map(|z| z.at)
                .collect();
            let runs: BTreeSet<u64> = points.iter().map(|p| p.run).collect();
            let scope = if runs.len() > 1 {
                Scope::AcrossRuns
            } else {
                Scope::WithinRun
            };
            push(rule, scope, points);
        }
        start = end;
    }
}

/// 1-2s warnings for points beyond 2 SD that no rejection already names.
fn warnings(ordered: &[Vec<Z>], out: &mut Vec<Violation>, config: &WestgardConfig) {
    if !config.on(Rule::OneTwoS) {
        return;
    }
    let named: BTreeSet<PointRef> = out
        .iter()
        .filter(|v| v.rejects)
        .flat_map(|v| v.points.iter().copied())
        .collect();
    for z in ordered.iter().flatten() {
        if z.z.abs() > 2.0 && !named.contains(&z.at) {
            out.push(Violation {
                rule: Rule::OneTwoS,
                code: Rule::OneTwoS.code(config.nx),
                scope: Scope::Point,
                points: vec![z.at],
                rejects: false,
            });
        }
    }
}

/// The violations that touch `run`: what decides whether that run's patient results may
/// be released.
pub fn evaluate_run(
    series: &[ControlSeries],
    config: &WestgardConfig,
    run: u64,
) -> Result<Vec<Violation>, QcError> {
    Ok(evaluate(series, config)?
        .into_iter()
        .filter(|v| v.points.iter().any(|p| p.run == run))
        .collect())
}

/// True when a rejecting violation includes a point of `run`.
pub fn run_rejected(violations: &[Violation], run: u64) -> bool {
    violations
        .iter()
        .any(|v| v.rejects && v.points.iter().any(|p| p.run == run))
}

#[cfg(test)]
#[path = "westgard_tests.rs"]
mod tests;
