//! `labguard compliance risk`: the risk register (seed, set, list, history).

use anyhow::{anyhow, Result};
use chrono::NaiveDate;
use clap::Subcommand;
use labguard_compliance::risk::{Risk, Threat, Treatment};
use labguard_store::{Actor, Store};

use crate::opts::{emit, Global};

#[derive(Subcommand)]
pub enum RiskCmd {
    /// Add the starter entry for every lab threat not yet in the register.
    Seed {
        #[arg(long)]
        owner: String,
        #[arg(long)]
        due: Option<NaiveDate>,
    },
    /// Change a risk (a history snapshot is kept for the trend).
    Set {
        id: String,
        #[arg(long)]
        likelihood: Option<u8>,
        #[arg(long)]
        impact: Option<u8>,
        #[arg(long)]
        residual_likelihood: Option<u8>,
        #[arg(long)]
        residual_impact: Option<u8>,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        due: Option<NaiveDate>,
        /// open, mitigating, accepted, closed
        #[arg(long)]
        treatment: Option<String>,
        /// Evidence collector or device finding id to link.
        #[arg(long)]
        link: Vec<String>,
    },
    List,
    History {
        id: String,
    },
}

pub fn run(g: &Global, store: &Store, cmd: RiskCmd) -> Result<()> {
    let op = Actor::operator();
    match cmd {
        RiskCmd::Seed { owner, due } => {
            let have: Vec<String> = store.list_risks(&op)?.into_iter().map(|r| r.id).collect();
            let mut n = 0;
            for t in Threat::ALL {
                if !have.iter().any(|h| h == t.code()) {
                    store.upsert_risk(&op, &Risk::starter(t, &owner, due))?;
                    n += 1;
                }
            }
            println!("{n} risks added to the register");
        }
        RiskCmd::Set {
            id,
            likelihood,
            impact,
            residual_likelihood,
            residual_impact,
            owner,
            due,
            treatment,
            link,
        } => {
            let mut r = store
                .list_risks(&op)?
                .into_iter()
                .find(|r| r.id == id)
                .ok_or_else(|| anyhow!("no risk {id:?} (see `labguard compliance risk list`)"))?;
            r.likelihood = likelihood.unwrap_or(r.likelihood);
            r.impact = impact.unwrap_or(r.impact);
            r.residual_likelihood = residual_likelihood.unwrap_or(r.residual_likelihood);
            r.residual_impact = residual_impact.unwrap_or(r.residual_impact);
            r.owner = owner.unwrap_or(r.owner);
            r.due = due.or(r.due);
            if let Some(t) = treatment {
                r.treatment =
                    Treatment::from_code(&t).ok_or_else(|| anyhow!("unknown treatment {t:?}"))?;
            }
            for l in link {
                if !r.links.contains(&l) {
                    r.links.push(l);
                }
            }
            store.upsert_risk(&op, &r)?;
            println!(
                "{id}: inherent {} residual {} ({:?})",
                r.inherent_score(),
                r.residual_score(),
                r.level()
            );
        }
        RiskCmd::List => {
            let rs = store.list_risks(&op)?;
            let today = chrono::Utc::now().date_naive();
            emit(g, &rs, || {
                for r in &rs {
                    println!(
                        "{:<22} {}x{}={:<3} residual {:<3} {:<9?} {:<11} owner {:<14} due {}{}",
                        r.id,
                        r.likelihood,
                        r.impact,
                        r.inherent_score(),
                        r.residual_score(),
                        r.level(),
                        r.treatment.code(),
                        r.owner,
                        r.due.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
                        if r.overdue(today) { " OVERDUE" } else { "" }
                    );
                }
            })?;
        }
        RiskCmd::History { id } => {
            let h = store.risk_history(&op, &id)?;
            emit(g, &h, || {
                for s in &h {
                    println!(
                        "{} inherent {:<3} residual {:<3} {}",
                        s.at.format("%Y-%m-%d %H:%M"),
                        s.inherent,
                        s.residual,
                        s.treatment.code()
                    );
                }
            })?;
        }
    }
    Ok(())
}
