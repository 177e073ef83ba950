//! The SIEM sinks `labguard serve` forwards to, and `labguard siem export`. The forwarder
//! is labguard-app's `siem`; this file parses flags and renders.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use labguard_app::siem::{
    self, ForwardOptions, Forwarder, JsonLines, SiemError, TlsSyslog, TlsSyslogConfig,
};
use labguard_siem::{frame, Syslog};
use labguard_store::{Actor, Store};

use crate::opts::{Format, Global};

/// `labguard serve`'s SIEM flags.
#[derive(Args, Debug, Clone, Default)]
pub struct SiemArgs {
    /// Stream every audit entry and security alert as RFC 5424 syslog over TLS
    /// (RFC 5425) to this collector, HOST:PORT (the host names its certificate).
    #[arg(long, requires = "siem_ca")]
    pub siem_syslog: Option<String>,
    /// PEM file of the CA that issued the collector's certificate.
    #[arg(long)]
    pub siem_ca: Option<PathBuf>,
    /// Client certificate (PEM) for collectors that require mutual TLS.
    #[arg(long, requires = "siem_client_key")]
    pub siem_client_cert: Option<PathBuf>,
    /// Private key (PEM) of --siem-client-cert.
    #[arg(long, requires = "siem_client_cert")]
    pub siem_client_key: Option<PathBuf>,
    /// Also write every event as a JSON line to this file (appended), or `-` for stdout.
    #[arg(long)]
    pub siem_jsonl: Option<PathBuf>,
    /// Most bytes of events queued while a collector is unreachable; past it forwarding
    /// pauses (events wait in the audit log, a siem-backlog alert is open).
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    pub siem_spool_cap: u64,
}

/// Running forwarders: set the flag and join them to stop cleanly.
pub struct Running {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<Result<(), SiemError>>>,
}

impl Running {
    /// Lets each forwarder finish the step in progress (so nothing is sent twice).
    pub fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "labguard".to_string())
}

/// Starts the configured forwarders (none when no flag is given).
pub fn start(store: &Arc<Store>, a: &SiemArgs) -> Result<Running> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = vec![];
    let host = hostname();
    let opts = ForwardOptions {
        spool_cap: a.siem_spool_cap,
        ..ForwardOptions::default()
    };
    let mut transports: Vec<Box<dyn siem::Transport>> = vec![];
    if let (Some(addr), Some(ca)) = (&a.siem_syslog, &a.siem_ca) {
        let read =
            |p: &PathBuf| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
        let client = match (&a.siem_client_cert, &a.siem_client_key) {
            (Some(c), Some(k)) => Some((read(c)?, read(k)?)),
            _ => None,
        };
        transports.push(Box::new(TlsSyslog::new(TlsSyslogConfig {
            addr: addr.clone(),
            ca_pem: read(ca)?,
            client,
            hostname: host.clone(),
            connect_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
        })?));
        eprintln!("siem: syslog over TLS to {addr}");
    }
    if let Some(p) = &a.siem_jsonl {
        transports.push(Box::new(JsonLines::open(p, &host)?));
        if p.as_os_str() != "-" {
            eprintln!("siem: JSON lines to {}", p.display());
        }
    }
    for t in transports {
        let sink = t.sink().to_string();
        let f = Forwarder::new(Arc::clone(store), t, opts.clone());
        threads.push(siem::spawn(f, Actor::operator(), stop.clone(), move |e| {
            eprintln!("siem {sink}: {e}")
        }));
    }
    Ok(Running { stop, threads })
}

#[derive(Subcommand)]
pub enum SiemCmd {
    /// Print audit entries from --since on, then every alert, as SIEM events (audited):
    /// `--format jsonl` (the default) or `--format syslog`.
    Export(ExportArgs),
}

#[derive(Args)]
pub struct ExportArgs {
    /// First audit sequence number.
    #[arg(long, default_value_t = 0)]
    since: u64,
    /// Most audit entries.
    #[arg(long, default_value_t = 100_000)]
    limit: u32,
}

pub fn run(g: &Global, cmd: SiemCmd) -> Result<()> {
    let SiemCmd::Export(a) = cmd;
    let store = g.open()?;
    let events = store.siem_export(&Actor::operator(), a.since, a.limit)?;
    let host = hostname();
    let syslog = Syslog::new(&host, &std::process::id().to_string());
    let mut out = std::io::stdout().lock();
    for e in &events {
        match g.format {
            // Octet-counted, as a TLS collector would receive it.
            Format::Syslog => out.write_all(&frame(syslog.render(e).as_bytes()))?,
            _ => out.write_all(e.json_line(&host).as_bytes())?,
        }
    }
    out.flush()?;
    store.checkpoint()?;
    Ok(())
}
