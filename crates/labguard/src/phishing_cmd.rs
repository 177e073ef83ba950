//! `labguard phishing` (simulation campaigns) and `labguard lab` (the lab's mail domains).

use anyhow::{anyhow, bail, Result};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use labguard_core::{Id, Role};
use labguard_mail::{CampaignSpec, LaunchOptions, RealPace};
use labguard_store::Actor;
use labguard_training::phishing::{builtin_templates, TargetGroup};

use crate::opts::{emit, Global};
use crate::serve_cmd::parse_duration;

#[derive(Subcommand)]
pub enum PhishingCmd {
    /// The built-in campaign templates.
    Templates,
    /// Create a campaign (nothing is sent until `launch`); prints its id.
    Create {
        #[arg(long)]
        name: String,
        /// Template id (see `labguard phishing templates`).
        #[arg(long)]
        template: String,
        /// `all`, or a role, or several roles separated by commas.
        #[arg(long)]
        to: String,
        /// smtp://HOST:PORT (STARTTLS when offered), smtp://HOST:PORT?tls=required, or
        /// smtps://HOST:PORT.
        #[arg(long)]
        smtp: String,
        /// The sender address (its display name comes from the template).
        #[arg(long)]
        from: String,
        /// Where tracking links point: the labguard server as staff reach it.
        #[arg(long)]
        base_url: String,
        /// Recipient domains for this campaign (repeatable); default: the lab's configured
        /// domains (`labguard lab set-domains`), or else the --from domain.
        #[arg(long = "allow-domain")]
        allow_domain: Vec<String>,
        /// Messages per minute.
        #[arg(long, default_value_t = 30)]
        rate: u32,
        /// Start of the sending window (RFC 3339); default now.
        #[arg(long)]
        start: Option<DateTime<Utc>>,
        /// Length of the sending window (e.g. 8h, 2d).
        #[arg(long, default_value = "8h", value_parser = parse_duration)]
        window: chrono::TimeDelta,
        /// Give up on a recipient after this many attempts (server down or 4xx).
        #[arg(long, default_value_t = 5)]
        max_attempts: u32,
    },
    /// Send a campaign (resumes after an interruption; nobody gets two copies).
    Launch {
        id: Id,
        /// Delay before the first retry; doubles with each attempt.
        #[arg(long, default_value = "30s", value_parser = parse_duration)]
        backoff: chrono::TimeDelta,
        /// The lab's name as the mails show it.
        #[arg(long, default_value = "labguard")]
        lab_name: String,
    },
    /// Every campaign.
    List,
    /// Record "reported" for a campaign mail forwarded to the reporting address: reads the
    /// message (a file, or stdin, e.g. from a mail alias `|labguard phishing reported`).
    Reported { file: Option<std::path::PathBuf> },
    /// Sent, opened, clicked, submitted, reported, time to first report, by role, and who
    /// was assigned remedial training.
    Report { id: Id },
}

#[derive(Subcommand)]
pub enum LabCmd {
    /// The mail domains staff addresses use; campaigns may only mail these.
    SetDomains {
        #[arg(required = true)]
        domains: Vec<String>,
    },
    /// Show the lab's mail domains.
    Domains,
}

fn target(to: &str) -> Result<TargetGroup> {
    if to == "all" {
        return Ok(TargetGroup::AllStaff);
    }
    let roles = to
        .split(',')
        .map(|r| {
            Role::from_code(r.trim()).map_err(|_| {
                anyhow!("--to must be all or roles like phlebotomist,front-desk (got {r})")
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TargetGroup::Roles(roles))
}

pub fn run(g: &Global, cmd: PhishingCmd) -> Result<()> {
    let op = Actor::operator();
    if let PhishingCmd::Templates = cmd {
        let ts: Vec<_> = builtin_templates()
            .into_iter()
            .map(|t| serde_json::json!({"id": t.id, "name": t.name, "subject": t.subject}))
            .collect();
        return emit(g, &ts, || {
            for t in &ts {
                println!(
                    "{:<20} {}",
                    t["id"].as_str().unwrap_or(""),
                    t["name"].as_str().unwrap_or("")
                );
            }
        });
    }
    let store = g.open()?;
    match cmd {
        PhishingCmd::Templates => Ok(()),
        PhishingCmd::Create {
            name,
            template,
            to,
            smtp,
            from,
            base_url,
            allow_domain,
            rate,
            start,
            window,
            max_attempts,
        } => {
            if rate == 0 {
                bail!("--rate must be at least 1 message per minute");
            }
            let start = start.unwrap_or_else(Utc::now);
            let spec = CampaignSpec {
                name,
                template_id: template,
                target: target(&to)?,
                from_address: from,
                smtp_url: smtp,
                base_url,
                allowed_domains: allow_domain,
                per_minute: rate,
                window_start: start,
                window_end: start + window,
                max_attempts,
            };
            let created = labguard_mail::create_campaign(&store, &op, &spec)?;
            for r in &created.refused {
                eprintln!("not mailing {}: {}", r.username, r.reason);
            }
            emit(g, &created, || println!("{}", created.campaign_id))
        }
        PhishingCmd::Launch {
            id,
            backoff,
            lab_name,
        } => {
            let pb = crate::progress::bar("sending");
            let opts = LaunchOptions {
                lab_name,
                backoff_base: backoff,
                ..LaunchOptions::default()
            };
            let report = labguard_mail::launch(&store, &op, id, &opts, &RealPace, &mut |d, t| {
                pb.set_length(t as u64);
                pb.set_position(d as u64);
            })?;
            pb.finish_and_clear();
            emit(g, &report, || {
                println!(
                    "sent {}, failed {}, unconfirmed {}, pending {}{}",
                    report.sent,
                    report.failed,
                    report.unconfirmed,
                    report.pending,
                    if report.window_closed {
                        " (the sending window closed)"
                    } else {
                        ""
                    }
                );
                for r in report.recipients.iter().filter(|r| r.last_error.is_some()) {
                    println!(
                        "  {} after {} attempt(s): {}",
                        r.email,
                        r.attempts,
                        r.last_error.as_deref().unwrap_or("")
                    );
                }
            })?;
            if report.failed + report.unconfirmed > 0 {
                eprintln!("some recipients were not confirmed as sent (see above)");
            }
            if report.sent_without_tls > 0 {
                eprintln!(
                    "warning: {} mail(s) went out without TLS (the SMTP server offered no STARTTLS); add ?tls=required to the SMTP URL to refuse that",
                    report.sent_without_tls
                );
            }
            Ok(())
        }
        PhishingCmd::Reported { file } => {
            let text = match file {
                Some(f) => std::fs::read(&f)?,
                None => {
                    let mut b = Vec::new();
                    std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut b)?;
                    b
                }
            };
            let n = labguard_mail::record_forwarded_report(
                &store,
                &op,
                &String::from_utf8_lossy(&text),
            )?;
            emit(g, &serde_json::json!({"recorded": n}), || {
                println!("recorded {n} report(s)")
            })
        }
        PhishingCmd::List => {
            let cs = store.list_campaigns(&op)?;
            emit(g, &cs, || {
                for c in &cs {
                    println!(
                        "{}  {:<24} {:<18} {}",
                        c.id,
                        c.name,
                        c.template_id,
                        c.launched_at
                            .map_or("not launched".into(), |t| t.to_rfc3339())
                    );
                }
            })
        }
        PhishingCmd::Report { id } => {
            let r = labguard_app::training::phishing_report(&store, &op, id)?;
            emit(g, &r, || {
                println!("{} ({})", r.name, r.template);
                println!(
                    "sent {}  opened {}  clicked {}  submitted {}  reported {}",
                    r.sent, r.opened, r.clicked, r.submitted, r.reported
                );
                if let Some(s) = r.time_to_first_report_secs {
                    println!("first report after {s} s");
                }
                if r.delivery.sent_without_tls > 0 {
                    println!(
                        "warning: {} mail(s) went out without TLS (no STARTTLS on the SMTP server)",
                        r.delivery.sent_without_tls
                    );
                }
                for (role, c) in &r.by_role {
                    println!(
                        "  {:<18} sent {} clicked {} reported {}",
                        role.code(),
                        c.sent,
                        c.clicked,
                        c.reported
                    );
                }
                for e in &r.remedial_assigned {
                    println!(
                        "remedial training: {} ({}) due {}",
                        e.username,
                        e.course_id,
                        e.due_at.format("%Y-%m-%d")
                    );
                }
            })
        }
    }
}

pub fn run_lab(g: &Global, cmd: LabCmd) -> Result<()> {
    let store = g.open()?;
    match cmd {
        LabCmd::SetDomains { domains } => {
            labguard_training::phishing::DomainAllowList::new(&domains)?;
            let domains: Vec<String> = domains
                .iter()
                .map(|d| d.trim().to_ascii_lowercase())
                .collect();
            store.set_lab_mail_domains(&Actor::operator(), &domains)?;
            emit(g, &domains, || {
                println!("lab mail domains: {}", domains.join(", "))
            })
        }
        LabCmd::Domains => {
            let d = store.lab_mail_domains()?;
            emit(g, &d, || println!("{}", d.join("\n")))
        }
    }
}
