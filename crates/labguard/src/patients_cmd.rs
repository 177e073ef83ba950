use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::Subcommand;
use labguard_core::{Id, Patient, Sex};
use labguard_store::{Actor, Store};

use crate::opts::{emit, Global};

#[derive(Subcommand)]
pub enum PatientsCmd {
    /// Register a patient.
    Add {
        #[arg(long)]
        mrn: String,
        #[arg(long)]
        family: String,
        #[arg(long)]
        given: String,
        /// YYYY-MM-DD
        #[arg(long)]
        birth_date: String,
        /// F, M, O or U
        #[arg(long, default_value = "U")]
        sex: String,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
    },
    /// Find a patient by MRN, or by family + given name + date of birth.
    Find {
        #[arg(long, required_unless_present = "family")]
        mrn: Option<String>,
        #[arg(long, requires_all = ["given", "birth_date"])]
        family: Option<String>,
        #[arg(long)]
        given: Option<String>,
        #[arg(long)]
        birth_date: Option<String>,
    },
    /// Who opened a patient's record and why (the HIPAA 164.528 accounting): alias of
    /// `privacy access-report`; --format json, html or pdf.
    AccessReport(crate::privacy_cmd::ReportArgs),
    /// Show one patient by id or MRN.
    Show {
        #[arg(long, required_unless_present = "mrn")]
        id: Option<String>,
        #[arg(long)]
        mrn: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum ResultsCmd {
    /// Show a patient's results (by MRN or patient id).
    Show {
        #[arg(long, required_unless_present = "patient_id")]
        mrn: Option<String>,
        #[arg(long)]
        patient_id: Option<String>,
    },
}

fn date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").context("dates are written YYYY-MM-DD")
}

fn print_patient(p: &Patient) {
    println!("patient {}", p.id);
    println!("  MRN         {}", p.mrn);
    println!("  name        {}, {}", p.family, p.given);
    println!("  birth date  {}", p.birth_date);
    println!("  sex         {}", p.sex.code());
    if let Some(ph) = &p.phone {
        println!("  phone       {ph}");
    }
    if let Some(e) = &p.email {
        println!("  email       {e}");
    }
}

fn resolve(store: &Store, actor: &Actor, id: Option<&str>, mrn: Option<&str>) -> Result<Patient> {
    match (id, mrn) {
        (Some(id), _) => {
            let id = Id::parse_str(id.trim()).context("patient ids are UUIDs")?;
            Ok(store.get_patient(actor, id)?)
        }
        (None, Some(mrn)) => store
            .find_patient_by_mrn(actor, mrn)?
            .context("no patient with that MRN"),
        (None, None) => bail!("give --id or --mrn"),
    }
}

pub fn run(g: &Global, cmd: PatientsCmd) -> Result<()> {
    let store = g.open()?;
    let actor = Actor::operator();
    match cmd {
        PatientsCmd::AccessReport(r) => {
            crate::privacy_cmd::access_report(g, &store, &r, chrono::Utc::now())?;
        }
        PatientsCmd::Add {
            mrn,
            family,
            given,
            birth_date,
            sex,
            phone,
            email,
        } => {
            let p = Patient {
                id: Id::new_v4(),
                mrn,
                family,
                given,
                birth_date: date(&birth_date)?,
                sex: Sex::from_code(&sex),
                phone,
                email,
                address: None,
            };
            store.add_patient(&actor, &p).map_err(|e| match e {
                labguard_store::StoreError::Conflict => {
                    anyhow::anyhow!("a patient with this MRN already exists")
                }
                other => other.into(),
            })?;
            emit(g, &p, || println!("added patient {}", p.id))?;
        }
        PatientsCmd::Find {
            mrn,
            family,
            given,
            birth_date,
        } => {
            let found = match (mrn, family, given, birth_date) {
                (Some(m), ..) => store.find_patient_by_mrn(&actor, &m)?.into_iter().collect(),
                (None, Some(f), Some(gv), Some(d)) => {
                    store.find_patients_by_name_dob(&actor, &f, &gv, date(&d)?)?
                }
                _ => bail!("give --mrn, or --family, --given and --birth-date"),
            };
            store.checkpoint()?;
            if found.is_empty() {
                bail!("no matching patient");
            }
            emit(g, &found, || found.iter().for_each(print_patient))?;
        }
        PatientsCmd::Show { id, mrn } => {
            let p = resolve(&store, &actor, id.as_deref(), mrn.as_deref())?;
            emit(g, &p, || print_patient(&p))?;
        }
    }
    store.checkpoint()?;
    Ok(())
}

pub fn run_results(g: &Global, cmd: ResultsCmd) -> Result<()> {
    let store = g.open()?;
    let actor = Actor::operator();
    let ResultsCmd::Show { mrn, patient_id } = cmd;
    let p = resolve(&store, &actor, patient_id.as_deref(), mrn.as_deref())?;
    let results = store.results_for_patient(&actor, p.id)?;
    store.checkpoint()?;
    emit(g, &results, || {
        println!("results for patient {} ({} found)", p.id, results.len());
        for r in &results {
            println!(
                "  {}  {:<8} {:<28} {:>8} {:<10} ref {:<10} {:<2} {}",
                r.observed_at.format("%Y-%m-%d %H:%M"),
                r.analyte,
                r.analyte_name,
                r.value,
                r.units,
                r.reference_range.text,
                r.abnormal_flag.code(),
                r.status.code()
            );
        }
    })
}
