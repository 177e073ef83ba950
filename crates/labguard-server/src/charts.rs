//! The charts' geometry: each builder turns counts into coordinates; the markup (inline SVG,
//! no script and no style attribute, so the CSP needs no `unsafe-inline`) is in
//! `templates/partials/charts.html`.

/// Rounds to one decimal, as the charts draw.
fn r1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Vertical bars, one per day.
pub(crate) struct ColumnChart {
    pub id: &'static str,
    pub title: String,
    pub width: u32,
    pub columns: Vec<Column>,
}

pub(crate) struct Column {
    pub x: usize,
    /// The column's label (a day, `MM-DD`) and where it is drawn.
    pub label: String,
    pub label_x: usize,
    pub label_y: u32,
    /// Stacked segments, bottom first.
    pub segments: Vec<Segment>,
    /// The count drawn above the column, when shown, and its height.
    pub value: Option<u64>,
    pub value_y: f64,
}

pub(crate) struct Segment {
    pub y: f64,
    pub h: f64,
    pub colour: &'static str,
    pub tooltip: String,
}

/// The part of a `YYYY-MM-DD` day a narrow column has room for.
fn short_day(day: &str) -> String {
    day.get(5..).unwrap_or(day).to_string()
}

/// One bar per day with its count on top (the security dashboard's charts).
pub(crate) fn daily_counts(id: &'static str, title: &str, days: &[(String, u64)]) -> ColumnChart {
    let max = days.iter().map(|d| d.1).max().unwrap_or(0).max(1);
    let columns = days
        .iter()
        .enumerate()
        .map(|(i, (day, n))| {
            let h = (*n as f64 / max as f64 * 100.0).round();
            let x = 10 + i * 50;
            Column {
                x,
                label: short_day(day),
                label_x: x + 18,
                label_y: 145,
                segments: vec![Segment {
                    y: 115.0 - h,
                    h,
                    colour: "#2b6cb0",
                    tooltip: format!("{day}: {n}"),
                }],
                value: Some(*n),
                value_y: 110.0 - h,
            }
        })
        .collect();
    ColumnChart {
        id,
        title: title.to_string(),
        width: 360,
        columns,
    }
}

/// One stacked segment's `(name, count, colour)`.
pub(crate) type Part = (&'static str, u64, &'static str);

/// Stacked bars per day: `(day, parts)`, bottom segment first.
pub(crate) fn stacked(id: &'static str, title: &str, days: &[(String, Vec<Part>)]) -> ColumnChart {
    let max = days
        .iter()
        .map(|(_, s)| s.iter().map(|x| x.1).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let columns = days
        .iter()
        .enumerate()
        .map(|(i, (day, parts))| {
            let x = 10 + i * 50;
            let mut y = 120.0;
            let segments = parts
                .iter()
                .map(|(name, n, colour)| {
                    let h = (*n as f64 / max as f64 * 100.0).round();
                    y -= h;
                    Segment {
                        y,
                        h,
                        colour,
                        tooltip: format!("{day}: {name} {n}"),
                    }
                })
                .collect();
            Column {
                x,
                label: short_day(day),
                label_x: x + 18,
                label_y: 140,
                segments,
                value: None,
                value_y: 0.0,
            }
        })
        .collect();
    ColumnChart {
        id,
        title: title.to_string(),
        width: 420,
        columns,
    }
}

/// Horizontal bars with a label on the left and the count after the bar.
pub(crate) struct BarChart {
    pub id: &'static str,
    pub title: String,
    pub height: usize,
    /// Where the bars start (room for the longest label).
    pub bar_x: f64,
    pub bars: Vec<Bar>,
}

pub(crate) struct Bar {
    pub label: String,
    pub n: usize,
    pub y: usize,
    pub text_y: usize,
    pub w: f64,
    pub value_x: f64,
    pub colour: &'static str,
}

/// `(label, count, colour)` rows as horizontal bars, starting at `bar_x`.
pub(crate) fn bars(
    id: &'static str,
    title: &str,
    bar_x: f64,
    rows: &[(String, usize, &'static str)],
) -> BarChart {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let bars = rows
        .iter()
        .enumerate()
        .map(|(i, (label, n, colour))| {
            let y = 10 + i * 26;
            let w = (*n as f64 / max as f64 * 220.0).round();
            Bar {
                label: label.clone(),
                n: *n,
                y,
                text_y: y + 14,
                w,
                value_x: bar_x + 5.0 + w,
                colour,
            }
        })
        .collect();
    BarChart {
        id,
        title: title.to_string(),
        height: 20 + rows.len() * 26,
        bar_x,
        bars,
    }
}

/// A share as a ring (MFA coverage).
pub(crate) struct Donut {
    pub id: &'static str,
    pub caption: String,
    pub label: &'static str,
    pub percent: f64,
    pub large: u8,
    pub x: f64,
    pub y: f64,
}

pub(crate) fn donut(
    id: &'static str,
    caption: String,
    label: &'static str,
    part: u64,
    whole: u64,
) -> Donut {
    let pct = if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64 * 100.0
    };
    let arc = (pct * 3.6).min(359.9).to_radians();
    Donut {
        id,
        caption,
        label,
        percent: pct.round(),
        large: u8::from(pct > 50.0),
        x: r1(60.0 + 50.0 * arc.sin()),
        y: r1(60.0 - 50.0 * arc.cos()),
    }
}

/// Lines over days, one per series, with a legend.
pub(crate) struct LineChart {
    pub id: &'static str,
    pub title: String,
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub bottom: f64,
    pub axis_end: f64,
    pub max: u32,
    pub series: Vec<Line>,
    /// The first and last day, under the axis.
    pub range: Option<(String, String)>,
    /// The legend's one item when no series has a point.
    pub empty: &'static str,
}

pub(crate) struct Line {
    pub name: String,
    pub colour: &'static str,
    /// `x,y x,y …`
    pub points: String,
    pub total: u32,
}

/// `series` as `(name, colour, counts per day)`, all over the same `days`; series with no
/// count above zero are left out.
pub(crate) fn lines(
    id: &'static str,
    title: &str,
    days: &[String],
    series: &[(String, &'static str, Vec<u32>)],
    empty: &'static str,
) -> LineChart {
    let (width, height, left, bottom) = (560.0_f64, 200.0_f64, 30.0_f64, 170.0_f64);
    let shown: Vec<_> = series
        .iter()
        .filter(|s| s.2.iter().any(|n| *n > 0))
        .collect();
    let max = shown
        .iter()
        .flat_map(|s| s.2.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let step = if days.len() > 1 {
        (width - left - 10.0) / (days.len() - 1) as f64
    } else {
        0.0
    };
    let series = shown
        .iter()
        .map(|(name, colour, counts)| Line {
            name: name.clone(),
            colour,
            points: counts
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let x = left + step * i as f64;
                    let y = bottom - f64::from(*n) / f64::from(max) * (bottom - 10.0);
                    format!("{x:.1},{y:.1}")
                })
                .collect::<Vec<_>>()
                .join(" "),
            total: counts.iter().sum(),
        })
        .collect();
    LineChart {
        id,
        title: title.to_string(),
        width,
        height,
        left,
        bottom,
        axis_end: width - 10.0,
        max,
        series,
        range: days
            .first()
            .zip(days.last())
            .map(|(a, b)| (a.clone(), b.clone())),
        empty,
    }
}
