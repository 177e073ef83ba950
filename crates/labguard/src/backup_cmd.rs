use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use labguard_store::{run_kind, Actor};

use crate::opts::{emit, Global};

#[derive(Subcommand)]
pub enum BackupCmd {
    /// Write a consistent, age-encrypted snapshot.
    Create {
        #[arg(long)]
        to: PathBuf,
        /// age X25519 public key (age1…) the backup is encrypted to.
        #[arg(long)]
        recipient: String,
    },
    /// Decrypt, check every checksum and run the full audit verify on the snapshot.
    Verify {
        #[arg(long)]
        from: PathBuf,
        /// age identity file (AGE-SECRET-KEY-1…).
        #[arg(long)]
        identity: PathBuf,
    },
    /// Restore into a new data dir (never overwrites) and verify the result.
    Restore {
        #[arg(long)]
        from: PathBuf,
        #[arg(long)]
        identity: PathBuf,
        /// Record this restore as a drill in the live lab whose data dir this is (default:
        /// in the restored data, which becomes the lab after a real restore).
        #[arg(long)]
        record_to: Option<PathBuf>,
    },
}

pub fn run(g: &Global, cmd: BackupCmd) -> Result<()> {
    match cmd {
        BackupCmd::Create { to, recipient } => {
            let store = g.open()?;
            let started = std::time::Instant::now();
            let m = labguard_backup::create(&store, &g.data(), &Actor::operator(), &to, &recipient)
                .context("backup failed")?;
            store
                .record_run(
                    &Actor::operator(),
                    run_kind::BACKUP_CREATE,
                    true,
                    Some(millis(started.elapsed())),
                    &serde_json::json!({"audit_entries": m.audit_size}),
                )
                .context("recording the backup")?;
            emit(g, &m, || {
                println!(
                    "backup written to {} ({} audit entries, root {})",
                    to.display(),
                    m.audit_size,
                    m.audit_root
                )
            })
        }
        BackupCmd::Verify { from, identity } => {
            let started = std::time::Instant::now();
            let res = labguard_backup::verify(&from, &identity);
            // Recorded in this data dir's lab when there is one (a verify may run elsewhere).
            if let Ok(store) = g.open() {
                store
                    .record_run(
                        &Actor::operator(),
                        run_kind::BACKUP_VERIFY,
                        res.is_ok(),
                        Some(millis(started.elapsed())),
                        &serde_json::json!({}),
                    )
                    .context("recording the backup verify")?;
            }
            let c = res.context("backup verify failed")?;
            let json = serde_json::json!({
                "ok": true,
                "created_at": c.manifest.created_at,
                "audit_entries": c.verify.entries,
                "rows_checked": c.verify.rows_checked,
            });
            emit(g, &json, || {
                println!(
                    "backup intact: taken {}, {} audit entries and {} encrypted rows verified",
                    c.manifest.created_at, c.verify.entries, c.verify.rows_checked
                )
            })
        }
        BackupCmd::Restore {
            from,
            identity,
            record_to,
        } => {
            let r = labguard_backup::restore(&from, &identity, &g.data_dir)
                .context("restore failed")?;
            // A timed, verified restore is the drill evidence for 164.308(a)(7)(ii)(D) and
            // the proposed 72-hour restore.
            let lab = Global {
                data_dir: record_to.clone().unwrap_or_else(|| g.data_dir.clone()),
                database: if record_to.is_some() {
                    g.database.clone()
                } else {
                    None
                },
                ..g.clone()
            };
            lab.open()?
                .record_run(
                    &Actor::operator(),
                    run_kind::BACKUP_RESTORE,
                    true,
                    Some(millis(r.duration)),
                    &serde_json::json!({"audit_entries": r.verify.entries, "rows_checked": r.verify.rows_checked}),
                )
                .context("recording the restore drill")?;
            let json = serde_json::json!({
                "ok": true,
                "data_dir": g.data_dir,
                "duration_ms": r.duration.as_millis() as u64,
                "audit_entries": r.verify.entries,
                "rows_checked": r.verify.rows_checked,
            });
            emit(g, &json, || {
                println!(
                    "restored into {} in {:.2} s (the 2025 Security Rule proposal asks for under 72 h); audit verify passed: {} entries, {} rows",
                    g.data_dir.display(),
                    r.duration.as_secs_f64(),
                    r.verify.entries,
                    r.verify.rows_checked
                )
            })
        }
    }
}

fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
