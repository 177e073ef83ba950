//! Levey-Jennings chart of one control series as an SVG string.
//!
//! The SVG is served under the web UI's strict CSP, so it has no `<script>`, no `<style>`
//! and no `style=` attributes: colours and dashes are presentation attributes (`fill=`,
//! `stroke=`, `stroke-dasharray=`). It is accessible on its own: `role="img"` with a
//! `<title>` and a `<desc>` that lists the violations in words, and every point has a
//! `<title>` tooltip. Flagged points get a ring as well as a colour, so the mark does not
//! rely on colour alone.
//!
//! Layout: the y axis spans mean ± 4 SD (points beyond are drawn on the edge and say so in
//! their title); points are evenly spaced in measurement order.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::westgard::{ControlSeries, Violation};
use crate::QcError;

#[derive(Debug, Clone, PartialEq)]
pub struct ChartOptions {
    pub width: u32,
    pub height: u32,
    /// Prefix for the element ids `title`/`desc` refer to, unique per page.
    pub id_prefix: String,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            width: 720,
            height: 360,
            id_prefix: "lj".into(),
        }
    }
}

const LEFT: f64 = 100.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 30.0;
/// SDs either side of the mean the y axis shows.
const SPAN: f64 = 4.0;

const REJECT: &str = "#b3261e";
const WARN: &str = "#b06000";
const INK: &str = "#1f4e79";

struct Frame {
    plot_w: f64,
    plot_h: f64,
    n: usize,
}

impl Frame {
    fn x(&self, i: usize) -> f64 {
        LEFT + (i as f64 + 0.5) * self.plot_w / self.n.max(1) as f64
    }

    fn y(&self, z: f64) -> f64 {
        TOP + self.plot_h / 2.0 - z.clamp(-SPAN, SPAN) * self.plot_h / (2.0 * SPAN)
    }
}

/// Renders `series` (the one at `series_index` in the slice `violations` were evaluated
/// on), marking the points those violations name.
pub fn levey_jennings_svg(
    series: &ControlSeries,
    series_index: usize,
    violations: &[Violation],
    options: &ChartOptions,
) -> Result<String, QcError> {
    series.validate()?;
    let width = f64::from(options.width.max(240));
    let height = f64::from(options.height.max(160));
    let order = series.chronological();
    let frame = Frame {
        plot_w: width - LEFT - RIGHT,
        plot_h: height - TOP - BOTTOM,
        n: order.len(),
    };
    // Point index -> (codes, rejects) of the violations naming it.
    let mut flags: Flags<'_> = BTreeMap::new();
    for v in violations {
        for p in v.points.iter().filter(|p| p.series == series_index) {
            let f = flags.entry(p.index).or_default();
            if !f.0.contains(&v.code) {
                f.0.push(v.code);
            }
            f.1 |= v.rejects;
        }
    }
    let m = &series.material;
    let id = escape(&options.id_prefix);
    let mut svg = String::new();
    // Writing to a String cannot fail; the results are ignored for that reason.
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">Levey-Jennings chart: {a}, lot {lot}, level {lvl}</title><desc id="{id}-desc">{desc}</desc><rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>"##,
        w = width,
        h = height,
        a = escape(m.analyte.as_str()),
        lot = escape(&m.lot),
        lvl = escape(&m.level),
        desc = escape(&describe(series, series_index, violations)),
    );
    limit_lines(&mut svg, series, &frame, width);
    let coords: Vec<(usize, f64, f64)> = order
        .iter()
        .enumerate()
        .filter_map(|(pos, &i)| {
            let p = series.points.get(i)?;
            Some((i, frame.x(pos), frame.y(series.z(p.value))))
        })
        .collect();
    if coords.len() > 1 {
        let pts: Vec<String> = coords
            .iter()
            .map(|(_, x, y)| format!("{x:.2},{y:.2}"))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline class="trend" fill="none" stroke="{INK}" stroke-width="1" points="{}"/>"#,
            pts.join(" ")
        );
    }
    draw_points(&mut svg, series, &coords, &flags);
    svg.push_str("</g></svg>");
    Ok(svg)
}

type Flags<'a> = BTreeMap<usize, (Vec<&'a str>, bool)>;

/// The points (index, x, y), each with its tooltip, flagged ones ringed.
fn draw_points(
    svg: &mut String,
    series: &ControlSeries,
    coords: &[(usize, f64, f64)],
    flags: &Flags<'_>,
) {
    let m = &series.material;
    svg.push_str(r#"<g class="points">"#);
    for &(i, x, y) in coords {
        let Some(p) = series.points.get(i) else {
            continue;
        };
        let z = series.z(p.value);
        let off = if z.abs() > SPAN { ", off scale" } else { "" };
        let flag = flags.get(&i);
        let (class, fill, note) = match flag {
            Some((codes, true)) => ("point violation reject", REJECT, codes.join(", ")),
            Some((codes, false)) => ("point violation warning", WARN, codes.join(", ")),
            None => ("point", INK, String::new()),
        };
        if let Some((_, rejects)) = flag {
            let ring = if *rejects { REJECT } else { WARN };
            let _ = write!(
                svg,
                r#"<circle class="mark" cx="{x:.2}" cy="{y:.2}" r="8" fill="none" stroke="{ring}" stroke-width="2"/>"#
            );
        }
        let note = if note.is_empty() {
            String::new()
        } else {
            format!(" ({note})")
        };
        let _ = write!(
            svg,
            r#"<circle class="{class}" cx="{x:.2}" cy="{y:.2}" r="4" fill="{fill}" data-run="{run}"><title>Run {run}: {v} {u}, {z:+.2} SD{off}{note}</title></circle>"#,
            run = p.run,
            v = p.value,
            u = escape(&m.units),
            note = escape(&note),
        );
    }
}

/// Mean and ±1/2/3 SD lines with their labels.
fn limit_lines(svg: &mut String, series: &ControlSeries, frame: &Frame, width: f64) {
    let m = &series.material;
    for k in [3i32, 2, 1, 0, -1, -2, -3] {
        let y = frame.y(f64::from(k));
        let (stroke, dash) = match k.abs() {
            0 => (INK, ""),
            1 => ("#767676", r#" stroke-dasharray="2 3""#),
            2 => (WARN, r#" stroke-dasharray="6 3""#),
            _ => (REJECT, ""),
        };
        let label = match k {
            0 => "mean".to_string(),
            _ => format!("{k:+} SD"),
        };
        let value = m.mean + f64::from(k) * m.sd;
        let _ = write!(
            svg,
            r##"<line class="limit" data-sd="{k}" x1="{LEFT}" y1="{y:.2}" x2="{x2}" y2="{y:.2}" stroke="{stroke}" stroke-width="1"{dash}/><text x="{tx}" y="{ty:.2}" text-anchor="end" font-family="sans-serif" font-size="11" fill="#333333">{value} ({label})</text>"##,
            x2 = width - RIGHT,
            tx = LEFT - 6.0,
            ty = y + 4.0,
            value = round_label(value),
        );
    }
}

/// The chart in words, for `<desc>`: what a screen reader announces.
fn describe(series: &ControlSeries, series_index: usize, violations: &[Violation]) -> String {
    let m = &series.material;
    let mut text = format!(
        "{} control results; target mean {} {}, SD {}.",
        series.points.len(),
        m.mean,
        m.units,
        m.sd
    );
    let mine: Vec<&Violation> = violations
        .iter()
        .filter(|v| v.points.iter().any(|p| p.series == series_index))
        .collect();
    if mine.is_empty() {
        text.push_str(" No rule violations.");
    }
    for v in mine {
        let runs: Vec<String> = v
            .points
            .iter()
            .filter(|p| p.series == series_index)
            .map(|p| p.run.to_string())
            .collect();
        let kind = if v.rejects { "rejects" } else { "warning" };
        let _ = write!(text, " {} ({kind}) at run {}.", v.code, runs.join(", "));
    }
    text
}

/// Labels to 4 significant decimals, without float noise (`104.00000000001`).
fn round_label(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// XML text and attribute escaping (the five predefined entities).
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && !matches!(c, '\t' | '\n') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[path = "chart_tests.rs"]
mod tests;
