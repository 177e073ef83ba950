//! `labguard compliance`: collect evidence, show status, render the audit report, sign
//! attestations, keep policies, BAAs and the risk register. The rules live in
//! labguard-compliance; storage and audit in labguard-store.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use chrono::{NaiveDate, Utc};
use clap::Subcommand;
use labguard_compliance::attest::{Attestation, Baa, PolicyDocument, Subject};
use labguard_compliance::evidence::sha256_hex;
use labguard_compliance::render::{html, oscal, pdf};
use labguard_compliance::report::Report;
use labguard_compliance::Status;
use labguard_store::{Actor, Store};

use crate::opts::{emit, Format, Global};

#[derive(Subcommand)]
pub enum ComplianceCmd {
    /// Run every evidence collector, save the hashed records (audited) and the score.
    Collect,
    /// Score per safeguard and each specification's status (text chart, or --format json).
    Status,
    /// The audit-ready report: --format html, pdf or oscal (OSCAL 1.1 assessment-results).
    Report {
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Lab name on the report (default: the lab id).
        #[arg(long)]
        lab: Option<String>,
    },
    /// Every Security Rule specification with its NIST SP 800-66r2 key activities.
    Catalog,
    /// Sign an attestation as the security officer (re-authenticates: password on stdin or
    /// LABGUARD_OFFICER_PASSWORD, and --totp if the officer has MFA).
    Attest(AttestArgs),
    /// Policies and procedures (versioned documents).
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// Business associate agreements.
    #[command(subcommand)]
    Baa(BaaCmd),
    /// The risk register (threat x vulnerability, 1-5 scales).
    #[command(subcommand)]
    Risk(crate::risk_cmd::RiskCmd),
}

#[derive(Subcommand)]
pub enum PolicyCmd {
    /// Add a version; the previous version of the same title is superseded (kept 6 years).
    Add(PolicyAddArgs),
    /// Every version, with retention and review reminders.
    List,
}

#[derive(clap::Args)]
pub struct AttestArgs {
    /// security-policies, sanction-policy, security-officer, incident-procedure,
    /// contingency-plan, disaster-recovery-plan, emergency-mode-plan,
    /// criticality-analysis, baa-register, facility-controls, workstation-controls,
    /// media-disposal, evaluation, risk-analysis
    #[arg(long)]
    pub subject: String,
    #[arg(long)]
    pub statement: String,
    /// met or partly-met
    #[arg(long, default_value = "met")]
    pub status: String,
    /// The security officer's username.
    #[arg(long)]
    pub officer: String,
    #[arg(long, env = "LABGUARD_OFFICER_TOTP")]
    pub totp: Option<String>,
    /// The document attested (its SHA-256 is recorded).
    #[arg(long)]
    pub document: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct PolicyAddArgs {
    #[arg(long)]
    pub subject: String,
    #[arg(long)]
    pub title: String,
    #[arg(long)]
    pub file: PathBuf,
    #[arg(long)]
    pub owner: String,
    #[arg(long)]
    pub effective: NaiveDate,
    #[arg(long)]
    pub review_due: NaiveDate,
}

#[derive(Subcommand)]
pub enum BaaCmd {
    Add {
        #[arg(long)]
        vendor: String,
        #[arg(long)]
        services: String,
        #[arg(long)]
        signed: NaiveDate,
        #[arg(long)]
        expires: Option<NaiveDate>,
    },
    List,
}

pub fn run(g: &Global, cmd: ComplianceCmd) -> Result<()> {
    let store = g.open()?;
    let op = Actor::operator();
    match cmd {
        ComplianceCmd::Collect => collect_cmd(g, &store, &op),
        ComplianceCmd::Status => status(g, &store, &op),
        ComplianceCmd::Report { out, lab } => report(g, &store, &op, out, lab),
        ComplianceCmd::Catalog => catalog(g),
        ComplianceCmd::Attest(a) => attest(&store, a),
        ComplianceCmd::Policy(PolicyCmd::Add(a)) => policy_add(&store, &op, a),
        ComplianceCmd::Policy(PolicyCmd::List) => policy_list(g, &store, &op),
        ComplianceCmd::Baa(BaaCmd::Add {
            vendor,
            services,
            signed,
            expires,
        }) => baa_add(&store, &op, vendor, services, signed, expires),
        ComplianceCmd::Baa(BaaCmd::List) => baa_list(g, &store, &op),
        ComplianceCmd::Risk(c) => risk(g, &store, c),
    }?;
    store.checkpoint()?;
    Ok(())
}

fn collect_cmd(g: &Global, store: &Store, op: &Actor) -> Result<()> {
    let r = collect(store, op)?;
    emit(g, &r.evidence, || {
        for e in &r.evidence {
            println!("{:<14} {:<28} {}", e.status.label(), e.collector, e.summary);
        }
        println!("overall score {:.1}%", r.overall);
    })?;
    Ok(())
}

fn status(g: &Global, store: &Store, op: &Actor) -> Result<()> {
    let r = build(store, op, None)?;
    let json = serde_json::json!({
        "overall": r.overall,
        "safeguards": r.safeguards,
        "proposed": r.proposed,
        "specs": r.specs.iter().map(|s| serde_json::json!({
            "citation": s.citation, "status": s.status, "evidence": s.evidence,
        })).collect::<Vec<_>>(),
        "collected": !r.evidence.is_empty(),
        "reminders": r.reminders,
    });
    emit(g, &json, || print_status(&r))?;
    Ok(())
}

fn report(
    g: &Global,
    store: &Store,
    op: &Actor,
    out: Option<PathBuf>,
    lab: Option<String>,
) -> Result<()> {
    let r = build(store, op, lab)?;
    let bytes = match g.format {
        Format::Html => html::render(&r).into_bytes(),
        Format::Pdf => pdf::render(&r),
        Format::Oscal => serde_json::to_vec_pretty(&oscal::render(&r))?,
        Format::Text | Format::Json | Format::Jsonl | Format::Syslog => {
            bail!("choose the report format: --format html, pdf or oscal")
        }
    };
    match out {
        Some(p) => {
            std::fs::write(&p, &bytes).with_context(|| format!("writing {}", p.display()))?;
            eprintln!("report written to {} ({} bytes)", p.display(), bytes.len());
        }
        None => std::io::stdout().write_all(&bytes)?,
    }
    // Who exported which report is itself on the record.
    store.record_run(
        op,
        labguard_store::RunKind::ComplianceReport,
        true,
        None,
        &serde_json::json!({"format": format!("{:?}", g.format).to_lowercase(), "sha256": sha256_hex(&bytes)}),
    )?;
    Ok(())
}

fn catalog(g: &Global) -> Result<()> {
    let c = labguard_compliance::catalog::catalog();
    emit(g, &c.specs, || {
        for s in &c.specs {
            println!(
                "{:<22} {:<11} {:?}  {}  [{}]",
                s.citation,
                format!("{:?}", s.requirement),
                s.kind,
                s.title,
                s.key_activities.join(" ")
            );
        }
        for p in &c.proposed {
            println!("{:<22} proposed    {}", p.id, p.title);
        }
    })?;
    Ok(())
}

fn attest(
    store: &Store,
    AttestArgs {
        subject,
        statement,
        status,
        officer,
        totp,
        document,
    }: AttestArgs,
) -> Result<()> {
    let subject =
        Subject::from_code(&subject).ok_or_else(|| anyhow!("unknown subject {subject:?}"))?;
    let status = match Status::from_code(&status) {
        Some(s @ (Status::Met | Status::PartlyMet)) => s,
        _ => bail!("--status must be met or partly-met"),
    };
    let actor = crate::reauth::security_officer(store, &officer, totp.as_deref())?;
    let document_sha256 = match document {
        Some(p) => Some(sha256_hex(
            &std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?,
        )),
        None => None,
    };
    let a = Attestation {
        id: uuid::Uuid::new_v4().to_string(),
        subject,
        statement,
        status,
        signed_by: actor.id.clone(),
        signer_name: officer.clone(),
        signed_at: Utc::now(),
        document_sha256,
    };
    store.attest(&actor, &a)?;
    println!(
        "attestation {} signed by {officer} for {}",
        a.id,
        subject.code()
    );
    Ok(())
}

fn policy_add(
    store: &Store,
    op: &Actor,
    PolicyAddArgs {
        subject,
        title,
        file,
        owner,
        effective,
        review_due,
    }: PolicyAddArgs,
) -> Result<()> {
    let subject =
        Subject::from_code(&subject).ok_or_else(|| anyhow!("unknown subject {subject:?}"))?;
    let text = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let version = store
        .list_policies(op)?
        .iter()
        .filter(|p| p.subject == subject && p.title == title)
        .map(|p| p.version)
        .max()
        .unwrap_or(0)
        + 1;
    let doc = PolicyDocument {
        id: uuid::Uuid::new_v4().to_string(),
        subject,
        title: title.clone(),
        version,
        owner,
        sha256: sha256_hex(&text),
        effective_from: effective,
        superseded_on: None,
        review_due,
    };
    store.add_policy_version(op, &doc)?;
    println!("{title} v{version} recorded (sha256 {})", doc.sha256);
    Ok(())
}

fn policy_list(g: &Global, store: &Store, op: &Actor) -> Result<()> {
    let ps = store.list_policies(op)?;
    let today = Utc::now().date_naive();
    emit(g, &ps, || {
        for p in &ps {
            let note = match (p.retain_until(), p.review_reminder(today)) {
                (Some(r), _) => format!(
                    "superseded {}, keep until {r}",
                    p.superseded_on.unwrap_or(r)
                ),
                (None, Some(d)) if d < 0 => format!("review OVERDUE by {} days", -d),
                (None, Some(d)) => format!("review due in {d} days"),
                (None, None) => format!("in effect, review due {}", p.review_due),
            };
            println!(
                "{:<20} {:<32} v{:<3} {:<14} {note}",
                p.subject.code(),
                p.title,
                p.version,
                p.owner
            );
        }
    })?;
    Ok(())
}

fn baa_add(
    store: &Store,
    op: &Actor,
    vendor: String,
    services: String,
    signed: NaiveDate,
    expires: Option<NaiveDate>,
) -> Result<()> {
    let b = Baa {
        id: uuid::Uuid::new_v4().to_string(),
        vendor: vendor.clone(),
        services,
        signed_on: signed,
        expires_on: expires,
        terminated_on: None,
    };
    store.add_baa(op, &b)?;
    println!("BAA with {vendor} recorded");
    Ok(())
}

fn baa_list(g: &Global, store: &Store, op: &Actor) -> Result<()> {
    let bs = store.list_baas(op)?;
    let today = Utc::now().date_naive();
    emit(g, &bs, || {
        for b in &bs {
            println!(
                "{:<28} {:<30} signed {} {}",
                b.vendor,
                b.services,
                b.signed_on,
                if b.current(today) {
                    "current"
                } else {
                    "LAPSED"
                }
            );
        }
    })?;
    Ok(())
}

fn risk(g: &Global, store: &Store, c: crate::risk_cmd::RiskCmd) -> Result<()> {
    crate::risk_cmd::run(g, store, c)?;
    Ok(())
}

/// Runs the collectors, saves the evidence and the score, and returns the report.
pub fn collect(store: &Store, actor: &Actor) -> Result<Report> {
    Ok(labguard_app::compliance::collect(store, actor, Utc::now())?)
}

/// Builds the report from stored evidence, score history, risks and incidents.
pub fn build(store: &Store, actor: &Actor, lab: Option<String>) -> Result<Report> {
    Ok(store.compliance_report(actor, lab)?)
}

fn print_status(r: &Report) {
    if r.evidence.is_empty() {
        println!("no evidence collected yet: run `labguard compliance collect`");
    }
    println!("overall {:>5.1}%", r.overall);
    for g in &r.safeguards {
        let n = (g.score / 5.0).round() as usize;
        println!(
            "{:<40} {:>5.1}% {:<20} met {} partly {} not {} person {}",
            g.safeguard.title(),
            g.score,
            "#".repeat(n.min(20)),
            g.met,
            g.partly,
            g.not_met,
            g.needs_person
        );
    }
    println!();
    for s in &r.specs {
        println!("{:<22} {:<14} {}", s.citation, s.status.label(), s.title);
    }
    println!();
    for p in &r.proposed {
        println!("{:<26} {:<14} {}", p.id, p.status.label(), p.title);
    }
    if !r.reminders.is_empty() {
        println!("\ncoming due:");
        for m in &r.reminders {
            let when = if m.days_left < 0 {
                format!("OVERDUE by {} days", -m.days_left)
            } else {
                format!("{} days left", m.days_left)
            };
            println!("  {:<9} {:<60} {} {when}", m.kind, m.subject, m.due);
        }
    }
    if let Some(last) = r.trend.last() {
        println!(
            "\nlast recorded score {:.1}% at {}",
            last.score,
            last.at.format("%Y-%m-%d %H:%M")
        );
    }
}
