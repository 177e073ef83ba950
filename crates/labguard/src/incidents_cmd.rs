//! `labguard incidents`: the incident register, the 164.402 breach risk assessment and the
//! notification clocks with reminders. Titles must not carry PHI.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};
use chrono::{NaiveDate, Utc};
use clap::Subcommand;
use labguard_compliance::incident::{
    reminders, BreachAssessment, Exclusion, Incident, IncidentStatus, Level, Recipient,
};
use labguard_store::Actor;

use crate::opts::{emit, Global};

#[derive(Subcommand)]
pub enum IncidentsCmd {
    /// Register an incident (no patient names or details in the title).
    Add {
        #[arg(long)]
        title: String,
        /// e.g. lost-laptop, ransomware, misdirected, snooping
        #[arg(long)]
        kind: String,
        /// Date of discovery (YYYY-MM-DD): the notification clocks start here.
        #[arg(long)]
        discovered: NaiveDate,
        /// Individuals affected.
        #[arg(long, default_value_t = 0)]
        affected: u32,
        /// Residents affected per state, e.g. --state NY=600 (repeat).
        #[arg(long)]
        state: Vec<String>,
    },
    /// The four-factor breach risk assessment (45 CFR 164.402).
    Assess {
        id: String,
        /// unintentional-workforce-access, inadvertent-internal-disclosure,
        /// recipient-could-not-retain
        #[arg(long)]
        exclusion: Option<String>,
        /// The PHI was encrypted per HHS guidance and the key was safe.
        #[arg(long)]
        secured: bool,
        /// Factor 1: nature and extent of the PHI (low, medium, high).
        #[arg(long, default_value = "high")]
        nature: String,
        /// Factor 2: the unauthorized person.
        #[arg(long, default_value = "high")]
        person: String,
        /// Factor 3: whether the PHI was acquired or viewed.
        #[arg(long, default_value = "high")]
        acquired: String,
        /// Factor 4: how far the risk was mitigated (low = well mitigated).
        #[arg(long, default_value = "high")]
        mitigation: String,
        #[arg(long, default_value = "")]
        notes: String,
    },
    /// Record a notice given: individuals, hhs, hhs-annual-log, media.
    Notify {
        id: String,
        #[arg(long)]
        to: String,
    },
    /// Set the status: open, contained, closed.
    Status { id: String, status: String },
    /// Every incident with its determination, deadlines and today's reminders.
    List,
}

fn level(s: &str) -> Result<Level> {
    serde_json::from_value(serde_json::Value::String(s.into()))
        .map_err(|_| anyhow!("{s:?} is not low, medium or high"))
}

fn find(store: &labguard_store::Store, op: &Actor, id: &str) -> Result<Incident> {
    store
        .list_incidents(op)?
        .into_iter()
        .find(|i| i.id == id)
        .ok_or_else(|| anyhow!("no incident {id:?}"))
}

pub fn run(g: &Global, cmd: IncidentsCmd) -> Result<()> {
    let store = g.open()?;
    let op = Actor::operator();
    match cmd {
        IncidentsCmd::Add {
            title,
            kind,
            discovered,
            affected,
            state,
        } => {
            let mut by_state = BTreeMap::new();
            for s in state {
                let (k, v) = s
                    .split_once('=')
                    .ok_or_else(|| anyhow!("--state wants ST=COUNT"))?;
                by_state.insert(
                    k.trim().to_uppercase(),
                    v.trim()
                        .parse::<u32>()
                        .map_err(|_| anyhow!("--state count must be a number"))?,
                );
            }
            let i = Incident {
                id: format!("inc-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
                title,
                kind,
                discovered_on: discovered,
                status: IncidentStatus::Open,
                affected,
                by_state,
                assessment: None,
                notified: vec![],
            };
            store.save_incident(&op, &i)?;
            println!(
                "incident {} registered; until assessed it is presumed a breach:",
                i.id
            );
            for d in i.deadlines() {
                println!("  notify {} by {}", d.recipient.label(), d.due);
            }
        }
        IncidentsCmd::Assess {
            id,
            exclusion,
            secured,
            nature,
            person,
            acquired,
            mitigation,
            notes,
        } => {
            let mut i = find(&store, &op, &id)?;
            let exclusion: Option<Exclusion> = match exclusion {
                Some(e) => Some(
                    serde_json::from_value(serde_json::Value::String(e.clone()))
                        .map_err(|_| anyhow!("unknown exclusion {e:?}"))?,
                ),
                None => None,
            };
            let a = BreachAssessment {
                exclusion,
                secured,
                nature_and_extent: level(&nature)?,
                unauthorized_person: level(&person)?,
                acquired_or_viewed: level(&acquired)?,
                mitigation: level(&mitigation)?,
                notes,
            };
            let d = a.determination();
            i.assessment = Some(a);
            store.save_incident(&op, &i)?;
            println!("{id}: {d:?}");
            for dl in i.deadlines() {
                println!("  notify {} by {}", dl.recipient.label(), dl.due);
            }
        }
        IncidentsCmd::Notify { id, to } => {
            let mut i = find(&store, &op, &id)?;
            let r: Recipient = serde_json::from_value(serde_json::Value::String(to.clone()))
                .map_err(|_| anyhow!("unknown recipient {to:?}"))?;
            if !i.deadlines().iter().any(|d| d.recipient == r) {
                bail!("{id} owes no notice to {to}");
            }
            if !i.notified.contains(&r) {
                i.notified.push(r);
            }
            store.save_incident(&op, &i)?;
            println!("{id}: notice to {} recorded", r.label());
        }
        IncidentsCmd::Status { id, status } => {
            let mut i = find(&store, &op, &id)?;
            i.status = IncidentStatus::from_code(&status)
                .ok_or_else(|| anyhow!("status is open, contained or closed"))?;
            store.save_incident(&op, &i)?;
            println!("{id}: {status}");
        }
        IncidentsCmd::List => {
            let all = store.list_incidents(&op)?;
            let today = Utc::now().date_naive();
            let rows: Vec<_> = all
                .iter()
                .map(|i| {
                    serde_json::json!({
                        "incident": i,
                        "determination": i.assessment.as_ref().map(|a| a.determination()),
                        "deadlines": i.deadlines(),
                        "reminders": reminders(&i.deadlines(), &i.notified, today),
                    })
                })
                .collect();
            emit(g, &rows, || {
                for i in &all {
                    let det = i
                        .assessment
                        .as_ref()
                        .map(|a| format!("{:?}", a.determination()))
                        .unwrap_or_else(|| "unassessed".into());
                    println!(
                        "{} {} [{}] {} affected, discovered {}, {det}",
                        i.id,
                        i.title,
                        i.status.code(),
                        i.affected,
                        i.discovered_on
                    );
                    for d in i.deadlines() {
                        let done = i.notified.contains(&d.recipient);
                        let left = (d.due - today).num_days();
                        let when = if done {
                            "done".to_string()
                        } else if left < 0 {
                            format!("OVERDUE by {} days", -left)
                        } else {
                            format!("{left} days left")
                        };
                        println!("  {:<32} by {} {when}", d.recipient.label(), d.due);
                    }
                }
            })?;
        }
    }
    store.checkpoint()?;
    Ok(())
}
