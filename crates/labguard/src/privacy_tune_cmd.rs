//! `labguard privacy tune`: the tunings in force, proposals from reviewers' false-positive
//! labels, and recording one tuning as an explicit, re-authenticated, audited record.

use anyhow::{anyhow, bail, Result};
use chrono::Utc;
use clap::Subcommand;
use labguard_core::Role;
use labguard_privacy::{propose_tunings, Config, Detector, Tuning, TuningChange};
use labguard_store::{Actor, Store};

use crate::opts::{emit, Global};
use crate::privacy_cmd::OfficerArgs;

#[derive(Subcommand)]
pub enum TuneCmd {
    /// The tunings in force, oldest first.
    List,
    /// What the false-positive labels suggest (nothing changes until `tune add`).
    Propose {
        /// Labels needed for one role and detector.
        #[arg(long, default_value_t = 3)]
        min_labels: usize,
    },
    /// Record one tuning for a role: --disable, --enable, or --value for the detector's
    /// setting (volume: k; after-hours: grace minutes; no-relationship: window hours;
    /// dormant: days).
    Add {
        #[arg(long)]
        role: String,
        #[arg(long)]
        detector: String,
        #[arg(long, conflicts_with_all = ["enable", "value"])]
        disable: bool,
        #[arg(long, conflicts_with = "value")]
        enable: bool,
        #[arg(long)]
        value: Option<f64>,
        /// Why (kept with the record and shown to auditors).
        #[arg(long)]
        why: String,
        #[command(flatten)]
        officer: OfficerArgs,
    },
}

fn change(
    detector: Detector,
    disable: bool,
    enable: bool,
    value: Option<f64>,
) -> Result<TuningChange> {
    if disable {
        return Ok(TuningChange::Disable(detector));
    }
    if enable {
        return Ok(TuningChange::Enable(detector));
    }
    let v = value.ok_or_else(|| anyhow!("give --disable, --enable or --value"))?;
    let whole = |v: f64| -> Result<u32> {
        if v.fract() == 0.0 && v > 0.0 && v <= f64::from(u32::MAX) {
            Ok(v as u32)
        } else {
            bail!(
                "--value must be a whole number above 0 for {}",
                detector.code()
            )
        }
    };
    Ok(match detector {
        Detector::Volume => TuningChange::VolumeK(v),
        Detector::AfterHours => TuningChange::AfterHoursGraceMinutes(
            u16::try_from(whole(v)?).map_err(|_| anyhow!("--value too large"))?,
        ),
        Detector::NoRelationship => TuningChange::RelationshipBeforeHours(whole(v)?),
        Detector::Dormant => TuningChange::DormantAfterDays(whole(v)?),
        d => bail!("{} has no setting: use --disable or --enable", d.code()),
    })
}

pub fn run(g: &Global, store: &Store, cmd: TuneCmd) -> Result<()> {
    let op = Actor::operator();
    match cmd {
        TuneCmd::List => {
            let ts = store.privacy_tunings(&op)?;
            emit(g, &ts, || {
                for t in &ts {
                    println!(
                        "{}  {:<18} {:?}  by {}: {}",
                        t.at.format("%Y-%m-%d %H:%M"),
                        t.role.code(),
                        t.change,
                        t.by,
                        t.why
                    );
                }
            })
        }
        TuneCmd::Propose { min_labels } => {
            let labels: Vec<_> = store
                .privacy_cases(&op, false)?
                .into_iter()
                .flat_map(|c| c.case.false_positives)
                .collect();
            let ps = propose_tunings(&labels, &Config::default(), min_labels);
            emit(g, &ps, || {
                if ps.is_empty() {
                    println!("no proposals");
                }
                for p in &ps {
                    println!(
                        "{:<18} {:<15} {:?} ({} labels)",
                        p.role.code(),
                        p.detector.code(),
                        p.change,
                        p.evidence.len()
                    );
                }
            })
        }
        TuneCmd::Add {
            role,
            detector,
            disable,
            enable,
            value,
            why,
            officer,
        } => {
            let role = Role::from_code(&role).map_err(|_| anyhow!("unknown role {role}"))?;
            let d = Detector::from_code(&detector)
                .ok_or_else(|| anyhow!("unknown detector {detector}"))?;
            let change = change(d, disable, enable, value)?;
            let actor =
                crate::reauth::security_officer(store, &officer.officer, officer.totp.as_deref())?;
            let by = actor
                .id
                .parse()
                .map_err(|_| anyhow!("the officer has no staff id"))?;
            let t = Tuning::new(role, change, by, &why, Utc::now(), vec![])?;
            let n = store.privacy_tune(&actor, &t)?;
            emit(g, &serde_json::json!({"tuning": n}), || {
                println!("tuning {n} recorded")
            })
        }
    }
}
