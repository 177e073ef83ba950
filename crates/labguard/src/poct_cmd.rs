//! `labguard poct parse FILE...`: what labguard reads in POCT1-A2 messages (one XML message
//! per file, as a meter or docking station sends them), as JSON Lines like `hl7 parse`,
//! so an analyst can check a meter's feed before enrolling it. The output is the file's
//! own content (patient data included): it goes to stdout for the operator, never to a log.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use labguard_poct::{map_observations, AnalyteMap, Body, Limits, Measured, Message};
use serde_json::{json, Value};

#[derive(Subcommand)]
pub enum PoctCmd {
    /// Parse POCT1-A2 XML messages and print each one's type, header and the results and
    /// QC observations it carries.
    Parse {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

pub fn run(cmd: PoctCmd) -> Result<()> {
    match cmd {
        PoctCmd::Parse { files } => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            for f in &files {
                serde_json::to_writer(&mut out, &parse_file(f)?)?;
                writeln!(out)?;
            }
            Ok(())
        }
    }
}

fn parse_file(path: &Path) -> Result<Value> {
    let limits = Limits::default();
    let len = std::fs::metadata(path)
        .with_context(|| format!("{}: cannot read", path.display()))?
        .len();
    if len > limits.max_bytes as u64 {
        bail!("{}: larger than {} bytes", path.display(), limits.max_bytes);
    }
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let msg =
        Message::parse(&bytes, &limits).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(describe(path, &msg))
}

fn measured(m: &Measured) -> Value {
    json!({
        "analyte": m.analyte.as_str(),
        "analyte_name": m.analyte_name,
        "value": m.value,
        "units": m.units,
        "abnormal_flag": m.abnormal_flag,
        "observed_at": m.observed_at,
        "operator_id": m.operator_id,
        "reagent_lots": m.reagent_lots,
    })
}

fn describe(path: &Path, msg: &Message) -> Value {
    let mut obj = json!({
        "file": path.display().to_string(),
        "type": msg.kind().code(),
        "control_id": msg.header.control_id,
        "version": msg.header.version_id,
        "created": msg.header.creation_dttm,
    });
    match &msg.body {
        Body::Hello(h) => {
            obj["device"] = json!({
                "device_id": h.device_id, "vendor": h.vendor_id, "model": h.model_id,
                "serial": h.serial_id, "sw_version": h.sw_version,
            });
        }
        Body::DeviceStatus(s) => {
            obj["status"] = json!({
                "observations": s.observations_qty, "new_observations": s.new_observations_qty,
                "condition": s.condition_cd,
            });
        }
        Body::Observations(o) => {
            let mapped = map_observations(o, "file", &AnalyteMap::glucose_meters());
            let results: Vec<Value> = mapped
                .patient
                .iter()
                .map(|p| {
                    let mut v = measured(&p.measured);
                    v["patient_id"] = json!(p.patient_identifier);
                    v
                })
                .collect();
            let qc: Vec<Value> = mapped
                .qc
                .iter()
                .map(|q| {
                    let mut v = measured(&q.measured);
                    v["role"] = json!(q.role);
                    v["control_lot"] = json!(q.control_lot);
                    v["control_level"] = json!(q.control_level);
                    v
                })
                .collect();
            let problems: Vec<String> = mapped.problems.iter().map(ToString::to_string).collect();
            obj["results"] = json!(results);
            obj["qc"] = json!(qc);
            obj["problems"] = json!(problems);
        }
        _ => {}
    }
    obj
}
