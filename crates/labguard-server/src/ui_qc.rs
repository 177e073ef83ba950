//! The QC section of an instrument's device page: per analyte, what the Westgard rules
//! said of the latest run, the results its rejections recalled, and a Levey-Jennings chart
//! per control level. QC values are not patient data; the charts are CSP-safe SVG
//! (labguard-qc draws them without scripts or style attributes).

use labguard_core::{LoincCode, Permission as P, Role};
use labguard_qc::{ChartOptions, ControlMaterial, WestgardConfig};
use labguard_store::{qc_chart_series, Actor, QcRecord};

use crate::state::AppState;
use crate::ui::esc;

struct AnalyteQc {
    analyte: String,
    materials: Vec<ControlMaterial>,
    records: Vec<QcRecord>,
}

/// The section's HTML, or a one-line notice when the QC history cannot be read.
pub async fn section(st: &AppState, actor: Actor, role: Role, instrument: &str) -> String {
    let name = instrument.to_string();
    let may_review = role.allows(P::ResultVerify);
    let loaded = st
        .run(move |s| {
            let Some(dev) = s.instruments()?.into_iter().find(|d| d.name == name) else {
                return Ok((Vec::new(), 0));
            };
            let mut out = Vec::new();
            for code in s.qc_analytes(&actor, dev.id)? {
                let Ok(analyte) = LoincCode::parse(&code) else {
                    continue;
                };
                out.push(AnalyteQc {
                    materials: s.qc_materials(&actor, &analyte)?,
                    records: s.qc_records(&actor, dev.id, &analyte)?,
                    analyte: code,
                });
            }
            // Only reviewers see the recall queue (the call is audited; others would
            // leave a refusal in the log on every page view).
            let recalled = if may_review {
                s.qc_recalls(&actor, true)?
                    .iter()
                    .filter(|r| r.device_id == dev.id)
                    .count()
            } else {
                0
            };
            Ok((out, recalled))
        })
        .await;
    let Ok((analytes, recalled)) = loaded else {
        return "<section id=\"qc\"><h2>Quality control</h2><p>The QC history could not be read.</p></section>".into();
    };
    if analytes.is_empty() {
        return "<section id=\"qc\"><h2>Quality control</h2><p>No control runs reported yet.</p></section>".into();
    }
    let mut html = String::from("<section id=\"qc\"><h2>Quality control</h2>");
    if recalled > 0 {
        html.push_str(&format!(
            "<p class=\"overdue\" id=\"qc-recalls\">{recalled} result(s) recalled by a rejected run await review.</p>"
        ));
    }
    for a in &analytes {
        html.push_str(&analyte_block(a));
    }
    html.push_str("</section>");
    html
}

fn analyte_block(a: &AnalyteQc) -> String {
    let latest = a.records.iter().map(|r| r.run).max().unwrap_or(0);
    let last: Vec<&QcRecord> = a.records.iter().filter(|r| r.run == latest).collect();
    let rejected = last.iter().any(|r| r.rejects);
    let mut codes: Vec<&str> = last
        .iter()
        .flat_map(|r| r.violations.iter().map(String::as_str))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    let status = match (rejected, codes.is_empty()) {
        (true, _) => format!("rejected ({})", esc(&codes.join(", "))),
        (false, true) => "in control".to_string(),
        (false, false) => format!("accepted with warning ({})", esc(&codes.join(", "))),
    };
    let mut html = format!(
        "<article class=\"qc-analyte\" data-analyte=\"{0}\"><h3>{0}</h3><p>Latest run {latest}: <strong class=\"qc-status\">{status}</strong></p><div class=\"charts\">",
        esc(&a.analyte)
    );
    let series = qc_chart_series(&a.materials, &a.records);
    let Ok(violations) = labguard_qc::evaluate(&series, &WestgardConfig::default()) else {
        html.push_str("<p>The chart could not be drawn.</p></div></article>");
        return html;
    };
    for (i, s) in series.iter().enumerate() {
        if s.points.is_empty() {
            continue;
        }
        match labguard_qc::levey_jennings_svg(s, i, &violations, &ChartOptions::default()) {
            Ok(svg) => html.push_str(&format!(
                "<figure class=\"lj-chart\"><figcaption>Lot {} level {}</figcaption>{svg}</figure>",
                esc(&s.material.lot),
                esc(&s.material.level)
            )),
            Err(_) => html.push_str("<p>The chart could not be drawn.</p>"),
        }
    }
    html.push_str("</div></article>");
    html
}
