use anyhow::Result;
use clap::Subcommand;
use labguard_store::{Actor, RotateOptions};

use crate::opts::{emit, Global};

#[derive(Subcommand)]
pub enum KeysCmd {
    /// Make a new data-key version and re-encrypt every row with it, online. Resumes an
    /// interrupted rotation.
    Rotate {
        #[arg(long, default_value_t = 256)]
        batch_size: u32,
    },
    /// Show key versions and any rotation in progress.
    Status,
}

pub fn run(g: &Global, cmd: KeysCmd) -> Result<()> {
    let store = g.open()?;
    let actor = Actor::operator();
    match cmd {
        KeysCmd::Rotate { batch_size } => {
            let pb = crate::progress::bar("re-encrypting");
            let opts = RotateOptions {
                batch_size: batch_size.max(1),
                max_batches: None,
            };
            let report = store.rotate_keys(&actor, &opts, &mut crate::progress::callback(&pb))?;
            pb.finish_and_clear();
            store.checkpoint()?;
            let json = serde_json::json!({
                "to_version": report.to_version,
                "resumed": report.resumed,
                "rows_reencrypted": report.rows_reencrypted,
                "finished": report.finished,
            });
            emit(g, &json, || {
                println!(
                    "{} rotation to data key v{}: {} rows re-encrypted; old key versions destroyed",
                    if report.resumed {
                        "resumed"
                    } else {
                        "finished"
                    },
                    report.to_version,
                    report.rows_reencrypted
                )
            })
        }
        KeysCmd::Status => {
            let rotating = store.rotation_in_progress()?;
            let usage = store.key_usage()?;
            let versions: Vec<_> = usage
                .iter()
                .map(|u| {
                    serde_json::json!({
                        "version": u.version,
                        "state": u.state,
                        "created_at": u.created_at,
                        "seals": u.seals,
                        "fraction_of_limit": u.fraction_of_limit,
                    })
                })
                .collect();
            let json = serde_json::json!({
                "rotation_in_progress_to": rotating,
                "seal_limit": labguard_crypto::SEAL_LIMIT,
                "seal_warn": labguard_crypto::SEAL_WARN,
                "data_keys": versions,
            });
            emit(g, &json, || {
                println!("data key versions (AES-GCM seals; refused at 2^31, warned at 2^30):");
                for u in &usage {
                    println!(
                        "  v{:<4} {:<9} created {}  {} seals  {:.6}% of the limit",
                        u.version,
                        u.state,
                        u.created_at,
                        u.seals,
                        u.fraction_of_limit * 100.0
                    );
                }
                match rotating {
                    Some(v) => println!("a rotation to data key v{v} is in progress: run `labguard keys rotate` to finish it"),
                    None => println!("no rotation in progress"),
                }
            })
        }
    }
}
