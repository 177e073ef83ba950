//! A tiny SVG renderer for bar and line charts (per-role click rates, campaign trends), so
//! the web UI and printed reports show pictures without a JavaScript chart library.
//!
//! Output is a self-contained `<svg>` element. Every label is escaped; non-finite values
//! are drawn as 0 so a division by zero upstream cannot produce broken SVG. The geometry
//! (`bar_layout`, `line_layout`) is public too: the web UI draws it with its templates.

use std::fmt::Write as _;

use crate::render::escape_html;

const W: f64 = 640.0;
const H: f64 = 320.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 64.0;
const COLORS: [&str; 4] = ["#2f6db5", "#d9822b", "#3a9a5b", "#b53a3a"];

fn clean(v: f64) -> f64 {
    if v.is_finite() {
        v.max(0.0)
    } else {
        0.0
    }
}

/// Axis maximum: `fixed` if given (100 for percentages), else the data maximum, at least 1.
fn axis_max(values: impl Iterator<Item = f64>, fixed: Option<f64>) -> f64 {
    match fixed.map(clean) {
        Some(m) if m > 0.0 => m,
        _ => values.map(clean).fold(1.0, f64::max),
    }
}

/// A chart's frame: its size, title, and the horizontal grid lines with their values.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    pub title: String,
    /// Appended to every value label ("%").
    pub unit: String,
    /// Where the grid lines start and end.
    pub left: f64,
    pub right: f64,
    pub grid: Vec<GridLine>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GridLine {
    pub y: f64,
    pub value: f64,
    /// Where the value label is drawn.
    pub label_x: f64,
    pub label_y: f64,
}

fn frame_of(title: &str, max: f64, unit: &str) -> Frame {
    let plot_h = H - TOP - BOTTOM;
    Frame {
        width: W,
        height: H,
        title: title.to_string(),
        unit: unit.to_string(),
        left: LEFT,
        right: W - RIGHT,
        grid: (0..=4)
            .map(|i| {
                let y = TOP + plot_h - plot_h * f64::from(i) / 4.0;
                GridLine {
                    y,
                    value: max * f64::from(i) / 4.0,
                    label_x: LEFT - 4.0,
                    label_y: y + 4.0,
                }
            })
            .collect(),
    }
}

fn frame(out: &mut String, f: &Frame) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" \
         height=\"{H}\" role=\"img\" aria-label=\"{t}\" font-family=\"sans-serif\" \
         font-size=\"12\"><title>{t}</title>\
         <text x=\"{x}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{t}</text>",
        t = escape_html(&f.title),
        x = f.width / 2.0,
    );
    for g in &f.grid {
        let _ = write!(
            out,
            "<line x1=\"{l}\" y1=\"{y:.1}\" x2=\"{x2}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{lx}\" y=\"{ty:.1}\" text-anchor=\"end\">{v:.0}{u}</text>",
            l = f.left,
            y = g.y,
            x2 = f.right,
            lx = g.label_x,
            ty = g.label_y,
            v = g.value,
            u = escape_html(&f.unit),
        );
    }
}

fn y_of(v: f64, max: f64) -> f64 {
    let plot_h = H - TOP - BOTTOM;
    TOP + plot_h - plot_h * (clean(v).min(max) / max)
}

/// A bar chart's geometry, for renderers other than [`bar_chart`] (the web UI's templates).
#[derive(Debug, Clone, PartialEq)]
pub struct BarLayout {
    pub frame: Frame,
    pub bars: Vec<BarBox>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BarBox {
    pub label: String,
    /// The value drawn (non-finite and negative values as 0).
    pub value: f64,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub colour: &'static str,
    /// The bar's centre, where its value (above) and label (below) are drawn.
    pub cx: f64,
    pub value_y: f64,
    pub label_y: f64,
}

/// Vertical bars, one per `(label, value)`: the geometry.
pub fn bar_layout(
    title: &str,
    bars: &[(String, f64)],
    fixed_max: Option<f64>,
    unit: &str,
) -> BarLayout {
    let max = axis_max(bars.iter().map(|b| b.1), fixed_max);
    let slot = (W - LEFT - RIGHT) / bars.len().max(1) as f64;
    let base = H - BOTTOM;
    BarLayout {
        frame: frame_of(title, max, unit),
        bars: bars
            .iter()
            .enumerate()
            .map(|(i, (label, v))| {
                let x = LEFT + slot * i as f64 + slot * 0.15;
                let y = y_of(*v, max);
                BarBox {
                    label: label.clone(),
                    value: clean(*v),
                    x,
                    y,
                    w: slot * 0.7,
                    h: base - y,
                    colour: COLORS[0],
                    cx: x + slot * 0.35,
                    value_y: y - 4.0,
                    label_y: base + 16.0,
                }
            })
            .collect(),
    }
}

/// Vertical bars, one per `(label, value)`.
pub fn bar_chart(
    title: &str,
    bars: &[(String, f64)],
    fixed_max: Option<f64>,
    unit: &str,
) -> String {
    let l = bar_layout(title, bars, fixed_max, unit);
    let mut out = String::new();
    frame(&mut out, &l.frame);
    let u = escape_html(unit);
    for b in &l.bars {
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{c}\">\
             <title>{l}: {val:.1}{u}</title></rect>\
             <text x=\"{cx:.1}\" y=\"{vy:.1}\" text-anchor=\"middle\">{val:.0}{u}</text>\
             <text x=\"{cx:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\">{l}</text>",
            x = b.x,
            y = b.y,
            w = b.w,
            h = b.h,
            c = b.colour,
            l = escape_html(&b.label),
            val = b.value,
            cx = b.cx,
            ly = b.label_y,
            vy = b.value_y,
        );
    }
    out.push_str("</svg>");
    out
}

/// One named series of a line chart; all series share the x labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

/// A line chart's geometry, for renderers other than [`line_chart`].
#[derive(Debug, Clone, PartialEq)]
pub struct LineLayout {
    pub frame: Frame,
    pub x_labels: Vec<XLabel>,
    pub lines: Vec<LinePath>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct XLabel {
    pub x: f64,
    pub y: f64,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LinePath {
    pub name: String,
    pub colour: &'static str,
    pub points: Vec<Point>,
    /// The legend's colour square and the name beside it.
    pub key_x: f64,
    pub key_y: f64,
    pub name_x: f64,
    pub name_y: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// Lines over shared x labels (campaign names), with a legend: the geometry.
pub fn line_layout(
    title: &str,
    x_labels: &[String],
    series: &[Series],
    fixed_max: Option<f64>,
    unit: &str,
) -> LineLayout {
    let max = axis_max(
        series.iter().flat_map(|s| s.values.iter().copied()),
        fixed_max,
    );
    let n = x_labels.len().max(1);
    let step = (W - LEFT - RIGHT) / n as f64;
    let x_of = |i: usize| LEFT + step * (i as f64 + 0.5);
    LineLayout {
        frame: frame_of(title, max, unit),
        x_labels: x_labels
            .iter()
            .enumerate()
            .map(|(i, l)| XLabel {
                x: x_of(i),
                y: H - BOTTOM + 16.0,
                text: l.clone(),
            })
            .collect(),
        lines: series
            .iter()
            .enumerate()
            .map(|(si, s)| LinePath {
                name: s.name.clone(),
                colour: COLORS[si % COLORS.len()],
                points: s
                    .values
                    .iter()
                    .take(n)
                    .enumerate()
                    .map(|(i, v)| Point {
                        x: x_of(i),
                        y: y_of(*v, max),
                    })
                    .collect(),
                key_x: LEFT + 140.0 * si as f64,
                key_y: H - 24.0,
                name_x: LEFT + 140.0 * si as f64 + 14.0,
                name_y: H - 15.0,
            })
            .collect(),
    }
}

/// Lines over shared x labels (campaign names), with a legend.
pub fn line_chart(
    title: &str,
    x_labels: &[String],
    series: &[Series],
    fixed_max: Option<f64>,
    unit: &str,
) -> String {
    let l = line_layout(title, x_labels, series, fixed_max, unit);
    let mut out = String::new();
    frame(&mut out, &l.frame);
    for x in &l.x_labels {
        let _ = write!(
            out,
            "<text x=\"{x:.1}\" y=\"{y}\" text-anchor=\"middle\">{l}</text>",
            x = x.x,
            y = x.y,
            l = escape_html(&x.text),
        );
    }
    for s in &l.lines {
        let color = s.colour;
        let pts: Vec<String> = s
            .points
            .iter()
            .map(|p| format!("{:.1},{:.1}", p.x, p.y))
            .collect();
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            pts.join(" ")
        );
        for p in &pts {
            if let Some((x, y)) = p.split_once(',') {
                let _ = write!(
                    out,
                    "<circle cx=\"{x}\" cy=\"{y}\" r=\"3\" fill=\"{color}\"/>"
                );
            }
        }
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"{y}\" width=\"10\" height=\"10\" fill=\"{color}\"/>\
             <text x=\"{tx}\" y=\"{ty}\">{name}</text>",
            x = s.key_x,
            y = s.key_y,
            tx = s.name_x,
            ty = s.name_y,
            name = escape_html(&s.name),
        );
    }
    out.push_str("</svg>");
    out
}

/// The campaign trend: click, submit and report rates per campaign, in percent.
pub fn trend_chart(points: &[crate::phishing::TrendPoint]) -> String {
    let (labels, series) = trend_series(points);
    line_chart(
        "Phishing exercises over time",
        &labels,
        &series,
        Some(100.0),
        "%",
    )
}

/// [`trend_chart`]'s geometry.
pub fn trend_layout(points: &[crate::phishing::TrendPoint]) -> LineLayout {
    let (labels, series) = trend_series(points);
    line_layout(
        "Phishing exercises over time",
        &labels,
        &series,
        Some(100.0),
        "%",
    )
}

fn trend_series(points: &[crate::phishing::TrendPoint]) -> (Vec<String>, [Series; 3]) {
    let labels: Vec<String> = points.iter().map(|p| p.name.clone()).collect();
    let series = [
        Series {
            name: "clicked %".into(),
            values: points.iter().map(|p| p.click_rate).collect(),
        },
        Series {
            name: "submitted %".into(),
            values: points.iter().map(|p| p.submit_rate).collect(),
        },
        Series {
            name: "reported %".into(),
            values: points.iter().map(|p| p.report_rate).collect(),
        },
    ];
    (labels, series)
}

/// Click rate per role for one campaign.
pub fn role_click_chart(report: &crate::phishing::CampaignReport) -> String {
    bar_chart("Click rate by role", &role_bars(report), Some(100.0), "%")
}

/// [`role_click_chart`]'s geometry.
pub fn role_click_layout(report: &crate::phishing::CampaignReport) -> BarLayout {
    bar_layout("Click rate by role", &role_bars(report), Some(100.0), "%")
}

fn role_bars(report: &crate::phishing::CampaignReport) -> Vec<(String, f64)> {
    crate::phishing::click_rate_by_role(report)
        .into_iter()
        .map(|(r, v)| (r.code().to_string(), v))
        .collect()
}
