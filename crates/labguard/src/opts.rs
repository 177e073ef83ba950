use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use labguard_store::{DataDir, Store, StoreOptions};

/// Options every command shares; they may come before or after the subcommand.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Data dir: the SQLite database and the key file (kek.key, mode 0600).
    #[arg(
        long,
        global = true,
        env = "LABGUARD_DATA_DIR",
        default_value = "labguard-data"
    )]
    pub data_dir: PathBuf,
    /// Use PostgreSQL instead of the embedded SQLite file (postgres://user@host/db).
    #[arg(long, global = true, env = "LABGUARD_DATABASE_URL")]
    pub database: Option<String>,
    /// PostgreSQL schema to use inside that database (several labs or test runs).
    #[arg(long, global = true, env = "LABGUARD_PG_SCHEMA")]
    pub pg_schema: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// `compliance report` only.
    Html,
    /// `compliance report` only.
    Pdf,
    /// `compliance report` only: OSCAL 1.1 assessment-results JSON.
    Oscal,
}

impl Global {
    pub fn data(&self) -> DataDir {
        match &self.database {
            Some(url) => DataDir::postgres(&self.data_dir, url, self.pg_schema.as_deref()),
            None => DataDir::sqlite(&self.data_dir),
        }
    }

    pub fn open(&self) -> Result<Store> {
        self.data()
            .open(StoreOptions::default())
            .with_context(|| format!("opening the labguard data in {}", self.data_dir.display()))
    }
}

pub fn init(g: &Global) -> Result<()> {
    let data = g.data();
    let store = data
        .init(StoreOptions::default())
        .with_context(|| format!("initialising {}", g.data_dir.display()))?;
    store.checkpoint()?;
    println!("initialised labguard data in {}", g.data_dir.display());
    if std::env::var(labguard_crypto::KEK_ENV).is_err() {
        println!(
            "key-encryption key: {} (mode 0600) - keep a copy offline; without it the data cannot be read",
            data.kek_path().display()
        );
    }
    println!("audit checkpoint key: {}", store.verifier_key()?);
    Ok(())
}

/// Prints `value` as JSON, or runs `text` for humans.
pub fn emit<T: serde::Serialize>(g: &Global, value: &T, text: impl FnOnce()) -> Result<()> {
    match g.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(value)?),
        Format::Text | Format::Html | Format::Pdf | Format::Oscal => text(),
    }
    Ok(())
}
