//! `devices export-vex`: renders labguard-app's VEX document to a file or stdout.

use std::path::Path;

use anyhow::{Context, Result};
use chrono::Utc;
use labguard_store::{Actor, Store};

pub fn export_vex(store: &Store, actor: &Actor, device: &str, out: Option<&Path>) -> Result<()> {
    let doc = labguard_app::vex_export::vex_document(store, actor, device, Utc::now())
        .with_context(|| format!("exporting VEX for {device}"))?;
    let text = serde_json::to_string_pretty(&doc)?;
    store.checkpoint()?;
    match out {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?;
            eprintln!("wrote {}", p.display());
        }
        None => println!("{text}"),
    }
    Ok(())
}
