//! `labguard qc`: the lab's control targets and each device's QC history with the Westgard
//! verdicts (JSON, or a Levey-Jennings chart as SVG). QC data is not patient data.

use std::io::Write;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use labguard_core::LoincCode;
use labguard_qc::{ChartOptions, ControlMaterial};
use labguard_store::{Actor, Store};

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
    /// Results a rejected QC run recalled for review (JSON Lines: ids and state, no values).
    Recalls {
        /// Only those still held.
        #[arg(long)]
        open: bool,
    },
    /// Release a recalled result (it may then be signed off) or reject it (it never can be).
    Recall {
        #[arg(value_enum)]
        decision: RecallDecision,
        /// The result's id, as `qc recalls` lists it.
        result_id: String,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum RecallDecision {
    Release,
    Reject,
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
        QcCmd::Recalls { open } => {
            let mut out = std::io::stdout().lock();
            for r in store.qc_recalls(&Actor::operator(), open)? {
                serde_json::to_writer(&mut out, &r)?;
                writeln!(out)?;
            }
            Ok(())
        }
        QcCmd::Recall {
            decision,
            result_id,
        } => {
            let id = result_id
                .parse()
                .with_context(|| format!("{result_id:?} is not a result id"))?;
            let d = match decision {
                RecallDecision::Release => labguard_store::HeldDecision::Release,
                RecallDecision::Reject => labguard_store::HeldDecision::Reject,
            };
            let r = store.decide_qc_recall(&Actor::operator(), id, d)?;
            println!("result {}: {}", r.result_id, r.state);
            Ok(())
        }
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
    let series = labguard_store::qc_chart_series(&materials, &records);
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
