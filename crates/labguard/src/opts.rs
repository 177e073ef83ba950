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
    /// Read settings from this TOML file: top-level keys are these global flags, a table
    /// per subcommand its flags (`[serve]`, `[devices.enroll]`); the command line and
    /// environment variables win over it. See docs/deploy.md.
    #[arg(long, global = true, env = "LABGUARD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
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
    /// `siem export` only: JSON lines (also what `text` and `json` give there).
    Jsonl,
    /// `siem export` only: RFC 5424 messages, RFC 5425 octet-counted.
    Syslog,
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

/// `labguard init`: the data dir, its keys, and the first administrator.
#[derive(Args, Debug, Clone)]
pub struct InitArgs {
    /// Username of the first administrator, best a person's own name ("none" to create no
    /// account). A generic name such as `admin` works but fails unique user identification
    /// (164.312(a)(2)(i)) in the compliance evidence until it is replaced.
    #[arg(long, default_value = "admin")]
    pub admin: String,
    /// The first administrator's email address.
    #[arg(long, default_value = "")]
    pub admin_email: String,
    /// Do nothing when the data is already initialised (a service's start-up step).
    #[arg(long)]
    pub if_absent: bool,
}

pub fn init(g: &Global, args: &InitArgs) -> Result<()> {
    let data = g.data();
    if args.if_absent && data.open(StoreOptions::default()).is_ok() {
        println!(
            "labguard data in {} already initialised",
            g.data_dir.display()
        );
        return Ok(());
    }
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
    if args.admin != "none" {
        let c = crate::users_cmd::create(
            &store,
            &args.admin,
            "First administrator",
            labguard_core::Role::Administrator,
            &args.admin_email,
            true,
        )?;
        store.checkpoint()?;
        println!(
            "first administrator: {} (shown once; hand over in person)",
            c.username
        );
        println!(
            "  one-time password:   {} (must be changed at first sign-in)",
            c.password
        );
        println!("  enrollment secret:   {}", c.totp_secret);
        println!("  enrollment URI:      {}", c.otpauth_uri);
        println!("  recovery codes:      {}", c.recovery_codes.join(" "));
        println!(
            "sign in at https://127.0.0.1:8443 after `labguard serve`, then set a new password"
        );
    }
    Ok(())
}

/// Prints `value` as JSON, or runs `text` for humans.
pub fn emit<T: serde::Serialize>(g: &Global, value: &T, text: impl FnOnce()) -> Result<()> {
    match g.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(value)?),
        Format::Text
        | Format::Html
        | Format::Pdf
        | Format::Oscal
        | Format::Jsonl
        | Format::Syslog => text(),
    }
    Ok(())
}
