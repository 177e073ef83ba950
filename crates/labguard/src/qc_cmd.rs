//! `labguard qc`: the lab's control targets and each device's QC history with the Westgard
//! verdicts (JSON, or a Levey-Jennings chart as SVG). QC data is not patient data.

use std::io::Write;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use labguard_core::LoincCode;
use labguard_qc::{ChartOptions, ControlMaterial, ControlSeries, QcPoint};
use labguard_store::{Actor, QcRecord, Store};

use crate::opts::Global;

#[derive(Subcommand)]
pub enum QcCmd {
    /// Set the target mean and SD of a control material (lot, level, analyte).
    Target(TargetArgs),
    /// A device's QC points for one analyte with the rules' verdicts (JSON Lines), or
    /// with `--svg LEVEL` the Levey-Jennings chart of that control level.
    Show {
        /// The instrument's enrolled name.
        #[arg(long)]
        device: String,
        /// LOINC code of the analyte.
        #[arg(long)]
        analyte: String,
        /// Print the chart of this control level as SVG instead of JSON.
        #[arg(long, value_name = "LEVEL")]
        svg: Option<String>,
    },
}

#[derive(Args)]
pub struct TargetArgs {
    #[arg(long)]
    analyte: String,
    #[arg(long)]
    lot: String,
    #[arg(long)]
    level: String,
    #[arg(long)]
    units: String,
    #[arg(long)]
    mean: f64,
    #[arg(long)]
    sd: f64,
}

pub fn run(g: &Global, cmd: QcCmd) -> Result<()> {
    let store = g.open()?;
    match cmd {
        QcCmd::Target(a) => {
            let m = ControlMaterial {
                lot: a.lot,
                level: a.level,
                analyte: loinc(&a.analyte)?,
                units: a.units,
                mean: a.mean,
                sd: a.sd,
            };
            store.set_qc_material(&Actor::operator(), &m)?;
            println!(
                "target set: {} lot {} level {}: mean {} SD {}",
                m.analyte.as_str(),
                m.lot,
                m.level,
                m.mean,
                m.sd
            );
            Ok(())
        }
        QcCmd::Show {
            device,
            analyte,
            svg,
        } => show(&store, &device, &loinc(&analyte)?, svg.as_deref()),
    }
}

fn loinc(code: &str) -> Result<LoincCode> {
    LoincCode::parse(code).with_context(|| format!("{code:?} is not a LOINC code"))
}

fn show(store: &Store, device: &str, analyte: &LoincCode, svg: Option<&str>) -> Result<()> {
    let actor = Actor::operator();
    let Some(dev) = store.instruments()?.into_iter().find(|d| d.name == device) else {
        bail!("no instrument named {device:?} is enrolled");
    };
    let records = store.qc_records(&actor, dev.id, analyte)?;
    let mut out = std::io::stdout().lock();
    let Some(level) = svg else {
        for r in &records {
            serde_json::to_writer(&mut out, r)?;
            writeln!(out)?;
        }
        return Ok(());
    };
    let materials = store.qc_materials(&actor, analyte)?;
    let series = chart_series(&materials, &records);
    let Some(index) = series.iter().position(|s| s.material.level == level) else {
        bail!(
            "no control target for level {level:?} of {}",
            analyte.as_str()
        );
    };
    let violations = labguard_qc::evaluate(&series, &labguard_qc::WestgardConfig::default())
        .context("evaluating the QC series")?;
    let chart = labguard_qc::levey_jennings_svg(
        &series[index],
        index,
        &violations,
        &ChartOptions::default(),
    )
    .context("drawing the chart")?;
    writeln!(out, "{chart}")?;
    Ok(())
}

/// The stored points grouped by material, for the rules and the chart.
pub fn chart_series(materials: &[ControlMaterial], records: &[QcRecord]) -> Vec<ControlSeries> {
    materials
        .iter()
        .map(|m| ControlSeries {
            material: m.clone(),
            points: records
                .iter()
                .filter(|r| r.lot == m.lot && r.level == m.level)
                .map(|r| QcPoint {
                    run: r.run,
                    at: r.observed_at,
                    value: r.value,
                })
                .collect(),
        })
        .collect()
}
