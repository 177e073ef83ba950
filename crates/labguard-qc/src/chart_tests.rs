use super::*;
use crate::westgard::{evaluate, ControlMaterial, QcPoint, WestgardConfig};
use chrono::{TimeZone, Utc};
use labguard_core::LoincCode;

/// Mean 100, SD 2; on the default 720x360 canvas the plot is 600 x 300 px starting at
/// (100, 30), so the mean is at y = 180 and one SD is 37.5 px.
fn series(values: &[f64]) -> ControlSeries {
    ControlSeries {
        material: ControlMaterial {
            lot: "L<1>&\"2\"".into(),
            level: "2".into(),
            analyte: LoincCode::parse("2345-7").unwrap(),
            units: "mg/dL".into(),
            mean: 100.0,
            sd: 2.0,
        },
        points: values
            .iter()
            .enumerate()
            .map(|(i, &value)| QcPoint {
                run: 10 + i as u64,
                at: Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap()
                    + chrono::Duration::hours(i as i64),
                value,
            })
            .collect(),
    }
}

fn num(n: roxmltree::Node<'_, '_>, attr: &str) -> f64 {
    n.attribute(attr).unwrap().parse().unwrap()
}

#[test]
fn points_are_where_the_z_scores_put_them() {
    let s = series(&[101.0, 105.0, 105.0, 92.0]);
    let v = evaluate(std::slice::from_ref(&s), &WestgardConfig::default()).unwrap();
    let svg = levey_jennings_svg(&s, 0, &v, &ChartOptions::default()).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("role"), Some("img"));

    let points: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .filter(|n| n.attribute("class").is_some_and(|c| c.starts_with("point")))
        .collect();
    assert_eq!(points.len(), 4);
    // x: 100 + (i + 0.5) * 150. y: 180 - 37.5 z; -4 SD (92) is exactly the bottom edge.
    let want = [
        (175.0, 161.25),
        (325.0, 86.25),
        (475.0, 86.25),
        (625.0, 330.0),
    ];
    for (p, (x, y)) in points.iter().zip(want) {
        assert_eq!((num(*p, "cx"), num(*p, "cy")), (x, y));
    }
    let runs: Vec<_> = points
        .iter()
        .map(|p| p.attribute("data-run").unwrap())
        .collect();
    assert_eq!(runs, ["10", "11", "12", "13"]);

    // 105, 105 is 2-2s; 92 (-4 SD) is 1-3s: three rejected points, each with a ring.
    let classes: Vec<_> = points
        .iter()
        .map(|p| p.attribute("class").unwrap())
        .collect();
    assert_eq!(
        classes,
        [
            "point",
            "point violation reject",
            "point violation reject",
            "point violation reject"
        ]
    );
    let rings = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("mark"))
        .count();
    assert_eq!(rings, 3);
    let tip = points[1]
        .children()
        .find(|n| n.has_tag_name("title"))
        .unwrap();
    assert_eq!(tip.text(), Some("Run 11: 105 mg/dL, +2.50 SD (2-2s)"));
}

#[test]
fn limit_lines_sit_at_whole_sds() {
    let s = series(&[100.0]);
    let svg = levey_jennings_svg(&s, 0, &[], &ChartOptions::default()).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let lines: Vec<(i32, f64)> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("limit"))
        .map(|n| {
            (
                n.attribute("data-sd").unwrap().parse().unwrap(),
                num(n, "y1"),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (3, 67.5),
            (2, 105.0),
            (1, 142.5),
            (0, 180.0),
            (-1, 217.5),
            (-2, 255.0),
            (-3, 292.5)
        ]
    );
    let labels: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(labels[1], "104 (+2 SD)");
    assert_eq!(labels[3], "100 (mean)");
}

#[test]
fn chart_is_accessible_and_needs_no_unsafe_inline() {
    let s = series(&[101.0, 105.0, 99.0]);
    let v = evaluate(std::slice::from_ref(&s), &WestgardConfig::default()).unwrap();
    let opts = ChartOptions {
        id_prefix: "glu-2".into(),
        ..ChartOptions::default()
    };
    let svg = levey_jennings_svg(&s, 0, &v, &opts).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let root = doc.root_element();
    assert_eq!(
        root.attribute("aria-labelledby"),
        Some("glu-2-title glu-2-desc")
    );
    let title = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("glu-2-title"))
        .unwrap();
    // The lot's markup characters are escaped, not interpreted.
    assert_eq!(
        title.text(),
        Some("Levey-Jennings chart: 2345-7, lot L<1>&\"2\", level 2")
    );
    let desc = doc
        .descendants()
        .find(|n| n.attribute("id") == Some("glu-2-desc"))
        .unwrap();
    assert_eq!(
        desc.text(),
        Some("3 control results; target mean 100 mg/dL, SD 2. 1-2s (warning) at run 11.")
    );
    for n in doc.descendants().filter(|n| n.is_element()) {
        assert!(!["script", "style", "foreignObject"].contains(&n.tag_name().name()));
        for a in n.attributes() {
            assert!(
                a.name() != "style" && !a.name().starts_with("on"),
                "{}",
                a.name()
            );
        }
    }
    assert!(!svg.contains("javascript:"));
}

#[test]
fn only_this_series_points_are_marked() {
    let s = series(&[101.0, 105.0]);
    let v = evaluate(
        &[series(&[100.0, 100.0]), s.clone()],
        &WestgardConfig::default(),
    )
    .unwrap();
    // Series 1's warning is not series 0's.
    let svg0 = levey_jennings_svg(&s, 0, &v, &ChartOptions::default()).unwrap();
    assert!(!svg0.contains("point violation") && svg0.contains("No rule violations."));
    let svg1 = levey_jennings_svg(&s, 1, &v, &ChartOptions::default()).unwrap();
    assert!(svg1.contains("point violation warning"));
    let mut bad = s;
    bad.material.sd = -1.0;
    assert!(levey_jennings_svg(&bad, 0, &[], &ChartOptions::default()).is_err());
}
