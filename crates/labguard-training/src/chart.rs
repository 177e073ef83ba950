//! A tiny SVG renderer for bar and line charts (per-role click rates, campaign trends), so
//! the web UI and printed reports show pictures without a JavaScript chart library.
//!
//! Output is a self-contained `<svg>` element. Every label is escaped; non-finite values
//! are drawn as 0 so a division by zero upstream cannot produce broken SVG.

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

fn frame(out: &mut String, title: &str, max: f64, unit: &str) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" \
         height=\"{H}\" role=\"img\" aria-label=\"{t}\" font-family=\"sans-serif\" \
         font-size=\"12\"><title>{t}</title>\
         <text x=\"{x}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{t}</text>",
        t = escape_html(title),
        x = W / 2.0,
    );
    let plot_h = H - TOP - BOTTOM;
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = TOP + plot_h - plot_h * f64::from(i) / 4.0;
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{x2}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{lx}\" y=\"{ty:.1}\" text-anchor=\"end\">{v:.0}{u}</text>",
            x2 = W - RIGHT,
            lx = LEFT - 4.0,
            ty = y + 4.0,
            u = escape_html(unit),
        );
    }
}

fn y_of(v: f64, max: f64) -> f64 {
    let plot_h = H - TOP - BOTTOM;
    TOP + plot_h - plot_h * (clean(v).min(max) / max)
}

/// Vertical bars, one per `(label, value)`.
pub fn bar_chart(
    title: &str,
    bars: &[(String, f64)],
    fixed_max: Option<f64>,
    unit: &str,
) -> String {
    let max = axis_max(bars.iter().map(|b| b.1), fixed_max);
    let mut out = String::new();
    frame(&mut out, title, max, unit);
    let slot = (W - LEFT - RIGHT) / bars.len().max(1) as f64;
    let base = H - BOTTOM;
    for (i, (label, v)) in bars.iter().enumerate() {
        let x = LEFT + slot * i as f64 + slot * 0.15;
        let y = y_of(*v, max);
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{c}\">\
             <title>{l}: {val:.1}{u}</title></rect>\
             <text x=\"{cx:.1}\" y=\"{vy:.1}\" text-anchor=\"middle\">{val:.0}{u}</text>\
             <text x=\"{cx:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\">{l}</text>",
            w = slot * 0.7,
            h = base - y,
            c = COLORS[0],
            l = escape_html(label),
            val = clean(*v),
            u = escape_html(unit),
            cx = x + slot * 0.35,
            ly = base + 16.0,
            vy = y - 4.0,
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

/// Lines over shared x labels (campaign names), with a legend.
pub fn line_chart(
    title: &str,
    x_labels: &[String],
    series: &[Series],
    fixed_max: Option<f64>,
    unit: &str,
) -> String {
    let max = axis_max(
        series.iter().flat_map(|s| s.values.iter().copied()),
        fixed_max,
    );
    let mut out = String::new();
    frame(&mut out, title, max, unit);
    let n = x_labels.len().max(1);
    let step = (W - LEFT - RIGHT) / n as f64;
    let x_of = |i: usize| LEFT + step * (i as f64 + 0.5);
    for (i, l) in x_labels.iter().enumerate() {
        let _ = write!(
            out,
            "<text x=\"{x:.1}\" y=\"{y}\" text-anchor=\"middle\">{l}</text>",
            x = x_of(i),
            y = H - BOTTOM + 16.0,
            l = escape_html(l),
        );
    }
    for (si, s) in series.iter().enumerate() {
        let color = COLORS[si % COLORS.len()];
        let pts: Vec<String> = s
            .values
            .iter()
            .take(n)
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x_of(i), y_of(*v, max)))
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
            x = LEFT + 140.0 * si as f64,
            y = H - 24.0,
            tx = LEFT + 140.0 * si as f64 + 14.0,
            ty = H - 15.0,
            name = escape_html(&s.name),
        );
    }
    out.push_str("</svg>");
    out
}

/// The campaign trend: click, submit and report rates per campaign, in percent.
pub fn trend_chart(points: &[crate::phishing::TrendPoint]) -> String {
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
    line_chart(
        "Phishing exercises over time",
        &labels,
        &series,
        Some(100.0),
        "%",
    )
}

/// Click rate per role for one campaign.
pub fn role_click_chart(report: &crate::phishing::CampaignReport) -> String {
    let bars: Vec<(String, f64)> = crate::phishing::click_rate_by_role(report)
        .into_iter()
        .map(|(r, v)| (r.code().to_string(), v))
        .collect();
    bar_chart("Click rate by role", &bars, Some(100.0), "%")
}
