//! `devices report`: the fleet report (built in labguard-server, shared with the API)
//! printed as JSON or text.

use anyhow::Result;
use chrono::Utc;
use labguard_app::devices::{fleet_report, Recording};
use labguard_devices::risk::RemediationPolicy;
use labguard_store::{Actor, Store};

use crate::opts::{emit, Global};

/// Remediation deadlines in days (defaults from the 2025 Security Rule proposal).
#[derive(clap::Args, Debug, Clone)]
pub struct PolicyArgs {
    /// Days to fix a known exploited (CISA KEV) vulnerability.
    #[arg(long, default_value_t = 15)]
    pub kev_days: i64,
    #[arg(long, default_value_t = 15)]
    pub critical_days: i64,
    #[arg(long, default_value_t = 30)]
    pub high_days: i64,
    #[arg(long, default_value_t = 90)]
    pub medium_days: i64,
    #[arg(long, default_value_t = 180)]
    pub low_days: i64,
}

impl Default for PolicyArgs {
    fn default() -> Self {
        let p = RemediationPolicy::default();
        PolicyArgs {
            kev_days: p.kev_days,
            critical_days: p.critical_days,
            high_days: p.high_days,
            medium_days: p.medium_days,
            low_days: p.low_days,
        }
    }
}

impl PolicyArgs {
    fn policy(&self) -> RemediationPolicy {
        RemediationPolicy {
            kev_days: self.kev_days,
            critical_days: self.critical_days,
            high_days: self.high_days,
            medium_days: self.medium_days,
            low_days: self.low_days,
        }
    }
}

pub fn report(
    g: &Global,
    store: &Store,
    actor: &Actor,
    only: Option<&str>,
    policy: &PolicyArgs,
) -> Result<()> {
    let out = fleet_report(
        store,
        actor,
        only,
        &policy.policy(),
        Utc::now(),
        Recording::Record,
    )?;
    store.checkpoint()?;
    emit(g, &out, || {
        for d in &out.devices {
            println!(
                "{}\t{} {} {}\t{} finding(s), {} suppressed by VEX{}",
                d.name,
                d.manufacturer,
                d.model,
                d.firmware.as_deref().unwrap_or("-"),
                d.findings.len(),
                d.suppressed.len(),
                if d.weak_authentication {
                    "\tweak device authentication (legacy plain TCP)"
                } else {
                    ""
                }
            );
        }
        println!("\nremediation, most urgent first:");
        for r in &out.remediation {
            println!(
                "{:>5.1} {:<8} {}{}\t{}\t{} {}\tdue {}{}",
                r.score,
                r.severity,
                r.vulnerability,
                if r.kev { " (KEV)" } else { "" },
                r.device,
                r.component,
                r.component_version.as_deref().unwrap_or(""),
                r.deadline.date_naive(),
                if r.overdue { " OVERDUE" } else { "" }
            );
        }
        for a in &out.alerts {
            println!("ALERT: {a}");
        }
    })
}
