//! `labguard privacy`: scan the audit log for snooping, review the cases, flag records,
//! import staff profiles, and produce a patient's access report. Logic lives in
//! labguard-app's `privacy` and the store; this file parses and renders.

use anyhow::{anyhow, bail, Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;
use labguard_app::privacy as svc;
use labguard_privacy::Outcome;
use labguard_store::{Actor, CaseStep};

use crate::opts::{emit, Format, Global};

#[derive(Subcommand)]
pub enum PrivacyCmd {
    /// Examine the record accesses logged since the last scan (each entry once) and list
    /// the new alerts (--since: only those at or after that day).
    Scan {
        /// YYYY-MM-DD (UTC): list only new alerts from this day on.
        #[arg(long)]
        since: Option<NaiveDate>,
    },
    /// Privacy cases, newest last.
    Cases {
        /// Only cases not yet closed.
        #[arg(long)]
        open: bool,
    },
    /// Show or review one case.
    #[command(subcommand)]
    Case(CaseCmd),
    /// Flag a patient's record as restricted (VIP, employee) and/or deceased.
    Flag(FlagArgs),
    /// Staff privacy profiles from HR.
    #[command(subcommand)]
    Profile(ProfileCmd),
    /// Who opened a patient's record in a period (by name), as JSON (--format json) or
    /// HTML (--format html); text lists the rows.
    AccessReport(ReportArgs),
    /// Open cases, alerts per detector, top users, backlog age.
    Dashboard,
    /// Detector tunings: list, proposals from false-positive labels, record one.
    #[command(subcommand)]
    Tune(crate::privacy_tune_cmd::TuneCmd),
}

#[derive(Subcommand)]
pub enum CaseCmd {
    Show {
        id: u64,
    },
    /// Assign the case to a reviewer (by username).
    Assign {
        id: u64,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        officer: OfficerArgs,
    },
    Note {
        id: u64,
        text: String,
        #[command(flatten)]
        officer: OfficerArgs,
    },
    /// Close with an outcome: appropriate, sanction or referred.
    Close {
        id: u64,
        #[arg(long)]
        outcome: String,
        #[arg(long)]
        why: String,
        #[command(flatten)]
        officer: OfficerArgs,
    },
}

/// Review steps are the officer's own (re-authenticates: password on stdin or
/// LABGUARD_OFFICER_PASSWORD, and --totp if the officer has MFA).
#[derive(clap::Args)]
pub struct OfficerArgs {
    #[arg(long = "as")]
    pub officer: String,
    #[arg(long)]
    pub totp: Option<String>,
}

#[derive(clap::Args)]
pub struct FlagArgs {
    #[arg(long)]
    pub mrn: String,
    #[arg(long)]
    pub restricted: bool,
    #[arg(long)]
    pub deceased: bool,
}

#[derive(Subcommand)]
pub enum ProfileCmd {
    /// CSV lines `username,surname,address,department` (surname and address are kept
    /// only as blind keys).
    Import { file: std::path::PathBuf },
}

#[derive(clap::Args)]
pub struct ReportArgs {
    #[arg(long)]
    pub mrn: String,
    /// First day (YYYY-MM-DD, UTC), inclusive; default six years back (HIPAA's
    /// accounting period).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last day, inclusive; default today.
    #[arg(long)]
    pub to: Option<NaiveDate>,
}

fn day_start(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(chrono::NaiveTime::MIN).and_utc()
}

pub fn run(g: &Global, cmd: PrivacyCmd) -> Result<()> {
    let store = g.open()?;
    let op = Actor::operator();
    let now = Utc::now();
    match cmd {
        PrivacyCmd::Scan { since } => {
            let s = svc::scan(&store, &op, now, since.map(day_start))?;
            emit(g, &s, || {
                println!(
                    "examined {} accesses, {} alerts, cases touched: {:?}",
                    s.examined, s.alerts, s.cases_touched
                );
                for a in &s.new_alerts {
                    println!(
                        "  {}  {:<15} {}",
                        a.at.format("%Y-%m-%d %H:%M"),
                        a.detector,
                        a.explanation
                    );
                }
            })
        }
        PrivacyCmd::Cases { open } => {
            let rows = svc::case_rows(&store, &op, open)?;
            emit(g, &rows, || {
                for r in &rows {
                    println!(
                        "{:>4}  {:<16} {:<18} {:<22} {} alerts ({} unexplained)",
                        r.id, r.staff, r.role, r.status, r.alerts, r.unexplained
                    );
                }
            })
        }
        PrivacyCmd::Case(c) => case(g, &store, &op, c),
        PrivacyCmd::Flag(f) => {
            if !(f.restricted || f.deceased) {
                bail!("give --restricted and/or --deceased");
            }
            svc::flag(&store, &op, &f.mrn, f.restricted, f.deceased)?;
            emit(g, &"flagged", || println!("flagged"))
        }
        PrivacyCmd::Profile(ProfileCmd::Import { file }) => {
            let csv = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let s = svc::import_profiles(&store, &op, &csv)?;
            emit(g, &s, || {
                println!("imported {} profiles", s.imported);
                for p in &s.problems {
                    println!("line {}: {}", p.line, p.why);
                }
            })
        }
        PrivacyCmd::AccessReport(r) => access_report(g, &store, &r, now),
        PrivacyCmd::Tune(t) => crate::privacy_tune_cmd::run(g, &store, t),
        PrivacyCmd::Dashboard => {
            let d = store.privacy_dashboard(&op, now)?;
            emit(g, &d, || {
                println!("open cases: {}", d.open_cases);
                for u in &d.top_users {
                    println!("{u:?}");
                }
            })
        }
    }
}

/// `privacy access-report` and its alias `patients access-report`.
pub fn access_report(
    g: &Global,
    store: &labguard_store::Store,
    r: &ReportArgs,
    now: DateTime<Utc>,
) -> Result<()> {
    let op = Actor::operator();
    let to = day_start(r.to.unwrap_or(now.date_naive())) + chrono::Duration::days(1);
    let from = r
        .from
        .map(day_start)
        .unwrap_or_else(|| to - chrono::Duration::days(6 * 366));
    let report = svc::access_report(store, &op, &r.mrn, from, to)?;
    match g.format {
        Format::Html => println!("{}", report.to_html()),
        Format::Json => println!("{}", report.to_json()?),
        Format::Pdf => {
            use std::io::Write;
            let lines: Vec<String> = report.rows.iter().map(row_line).collect();
            let pdf = labguard_compliance::render::pdf::text_document(
                "Patient access report",
                &report.subject,
                &lines,
            );
            std::io::stdout().write_all(&pdf)?;
        }
        _ => {
            for row in &report.rows {
                println!("{}", row_line(row));
            }
        }
    }
    Ok(())
}

fn row_line(row: &labguard_privacy::AccessRow) -> String {
    format!(
        "{}  {:<16} {:<18} {:<14} {}",
        row.at.format("%Y-%m-%d %H:%M"),
        row.staff.label(),
        row.role.code(),
        row.what,
        row.why
    )
}

fn case(g: &Global, store: &labguard_store::Store, op: &Actor, c: CaseCmd) -> Result<()> {
    let officer =
        |o: &OfficerArgs| crate::reauth::security_officer(store, &o.officer, o.totp.as_deref());
    let (id, actor, step) = match c {
        CaseCmd::Show { id } => {
            let case = svc::case(store, op, id)?;
            return emit(g, &case, || {
                println!("case {} ({} alerts)", case.id.0, case.alerts.len());
                for a in &case.alerts {
                    println!(
                        "  {}  {}  {}",
                        a.at.format("%Y-%m-%d %H:%M"),
                        a.detector.code(),
                        a.id
                    );
                }
            });
        }
        CaseCmd::Assign { id, to, officer: o } => {
            let to = store
                .list_staff(op)?
                .into_iter()
                .find(|s| s.username == to)
                .map(|s| s.id)
                .ok_or_else(|| anyhow!("no member of staff called {to}"))?;
            (id, officer(&o)?, CaseStep::Assign { to })
        }
        CaseCmd::Note {
            id,
            text,
            officer: o,
        } => (id, officer(&o)?, CaseStep::Note { text }),
        CaseCmd::Close {
            id,
            outcome,
            why,
            officer: o,
        } => {
            let outcome = match outcome.as_str() {
                "appropriate" => Outcome::Appropriate,
                "sanction" => Outcome::Sanction,
                "referred" => Outcome::Referred,
                _ => bail!("--outcome must be appropriate, sanction or referred"),
            };
            (id, officer(&o)?, CaseStep::Close { outcome, why })
        }
    };
    let case = store.privacy_case_step(&actor, id, &step)?;
    emit(g, &case, || {
        println!("case {}: {:?}", case.id.0, case.status)
    })
}
