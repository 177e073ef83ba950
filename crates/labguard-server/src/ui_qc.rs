//! The QC section of an instrument's device page: per analyte, what the Westgard rules
//! said of the latest run, the results its rejections recalled, and a Levey-Jennings chart
//! per control level. QC values are not patient data; the charts are CSP-safe SVG
//! (labguard-qc draws them without scripts or style attributes).

use labguard_core::{LoincCode, Permission as P, Role};
use labguard_qc::{ChartOptions, ControlMaterial, WestgardConfig};
use labguard_store::{qc_chart_series, Actor, QcRecord};

use crate::state::AppState;

struct AnalyteQc {
    analyte: String,
    materials: Vec<ControlMaterial>,
    records: Vec<QcRecord>,
}

/// The QC section's values (`templates/partials/qc.html`).
pub(crate) enum QcSection {
    Unreadable,
    Empty,
    Analytes {
        recalled: usize,
        analytes: Vec<AnalyteView>,
    },
}

pub(crate) struct AnalyteView {
    pub analyte: String,
    pub latest: u64,
    pub status: String,
    /// None when the rules could not be evaluated (nothing is drawn).
    pub charts: Option<Vec<LjChart>>,
}

pub(crate) struct LjChart {
    pub lot: String,
    pub level: String,
    /// labguard-qc's SVG, None when it could not be drawn.
    pub svg: Option<String>,
}

/// The section, or a one-line notice when the QC history cannot be read.
pub(crate) async fn section(
    st: &AppState,
    actor: Actor,
    role: Role,
    instrument: &str,
) -> QcSection {
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
        return QcSection::Unreadable;
    };
    if analytes.is_empty() {
        return QcSection::Empty;
    }
    QcSection::Analytes {
        recalled,
        analytes: analytes.iter().map(analyte_view).collect(),
    }
}

fn analyte_view(a: &AnalyteQc) -> AnalyteView {
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
        (true, _) => format!("rejected ({})", codes.join(", ")),
        (false, true) => "in control".to_string(),
        (false, false) => format!("accepted with warning ({})", codes.join(", ")),
    };
    let series = qc_chart_series(&a.materials, &a.records);
    let charts = labguard_qc::evaluate(&series, &WestgardConfig::default())
        .ok()
        .map(|violations| {
            series
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.points.is_empty())
                .map(|(i, s)| LjChart {
                    lot: s.material.lot.clone(),
                    level: s.material.level.clone(),
                    svg: labguard_qc::levey_jennings_svg(
                        s,
                        i,
                        &violations,
                        &ChartOptions::default(),
                    )
                    .ok(),
                })
                .collect()
        });
    AnalyteView {
        analyte: a.analyte.clone(),
        latest,
        status,
        charts,
    }
}
