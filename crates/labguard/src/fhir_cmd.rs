//! `labguard fhir export`: a patient's results as a FHIR R4 Bundle (Patient, Specimen,
//! Observation, DiagnosticReport). Every record read is audited by the store.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use labguard_store::Actor;

use crate::opts::Global;

#[derive(Subcommand)]
pub enum FhirCmd {
    /// Export one patient's lab results as a FHIR R4 collection Bundle (JSON).
    Export {
        /// The patient's MRN.
        #[arg(long)]
        mrn: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(g: &Global, cmd: FhirCmd) -> Result<()> {
    let FhirCmd::Export { mrn, out } = cmd;
    let store = g.open()?;
    let actor = Actor::operator();
    let patient = store
        .find_patient_by_mrn(&actor, &mrn)?
        .context("no patient with that MRN")?;
    let results = store.results_for_patient(&actor, patient.id)?;
    let mut ids: Vec<_> = results.iter().filter_map(|r| r.specimen_id).collect();
    ids.sort();
    ids.dedup();
    let specimens = store.specimens_by_id(&actor, &ids)?;
    store.checkpoint()?;
    let bundle = labguard_mllp::fhir::bundle(&patient, &specimens, &results);
    let text = serde_json::to_string_pretty(&bundle)?;
    match out {
        Some(p) => std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?,
        None => println!("{text}"),
    }
    Ok(())
}
