//! `labguard mllp serve|bench`: the instrument listeners on their own, and the end-to-end
//! ingest benchmark.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use crate::opts::Global;

#[derive(Subcommand)]
pub enum MllpCmd {
    /// Listen for HL7 v2 over MLLP: mutual TLS, and plain TCP for legacy instruments.
    Serve(ServeArgs),
    /// Measure end-to-end ingest (mutual TLS, ACK after commit) and a peer receiver.
    Bench(crate::ingest_bench::BenchArgs),
    /// The benchmark's load generator (run by `mllp bench` in its own process).
    #[command(hide = true)]
    BenchClient(crate::ingest_bench::ClientArgs),
}

#[derive(Args)]
pub struct ServeArgs {
    /// Mutual-TLS listener address ("off" to disable).
    #[arg(long, default_value = "0.0.0.0:2575")]
    tls_listen: String,
    /// Legacy plain-TCP listener address ("off" to disable).
    #[arg(long, default_value = "0.0.0.0:2576")]
    tcp_listen: String,
    /// Names and addresses for the server certificate (first start only).
    #[arg(long, value_delimiter = ',', default_value = "localhost,127.0.0.1")]
    server_name: Vec<String>,
    /// Close connections silent for this many seconds.
    #[arg(long, default_value_t = 300)]
    idle_timeout: u64,
    #[command(flatten)]
    limits: MllpLimits,
}

/// Caps and deadlines of the MLLP listeners (`labguard serve`, `demo`, `mllp serve`).
#[derive(Args, Debug, Clone)]
pub struct MllpLimits {
    /// Most MLLP connections held at once, both listeners together; past it new ones are
    /// closed unread.
    #[arg(long, default_value_t = labguard_mllp::server::DEFAULT_MAX_CONNECTIONS)]
    pub mllp_max_connections: usize,
    /// Most MLLP connections held at once from one source address.
    #[arg(long, default_value_t = labguard_mllp::server::DEFAULT_MAX_CONNECTIONS_PER_SOURCE)]
    pub mllp_max_connections_per_source: usize,
    /// Close a connection whose frame is not complete this long after its first byte
    /// (e.g. 30s), however steadily it trickles.
    #[arg(long, default_value = "30s", value_parser = crate::serve_cmd::parse_std_duration)]
    pub mllp_frame_timeout: Duration,
    /// Largest MLLP frame (one HL7 message) accepted, in bytes; a longer one closes the
    /// connection.
    #[arg(long, default_value_t = labguard_mllp::server::DEFAULT_MAX_FRAME_BYTES)]
    pub mllp_max_frame_bytes: usize,
}

impl MllpLimits {
    pub fn apply(&self, cfg: &mut labguard_mllp::Config) {
        cfg.max_connections = self.mllp_max_connections;
        cfg.max_connections_per_source = self.mllp_max_connections_per_source;
        cfg.frame_timeout = self.mllp_frame_timeout;
        cfg.max_message_size = self.mllp_max_frame_bytes;
    }
}

pub fn addr(s: &str) -> Result<Option<SocketAddr>> {
    if s == "off" {
        return Ok(None);
    }
    Ok(Some(s.parse().with_context(|| format!("bad address {s}"))?))
}

pub fn run(g: &Global, cmd: MllpCmd) -> Result<()> {
    match cmd {
        MllpCmd::Serve(a) => serve(g, a),
        MllpCmd::Bench(a) => crate::ingest_bench::run(g, a),
        MllpCmd::BenchClient(a) => crate::ingest_bench::client(a),
    }
}

fn serve(g: &Global, a: ServeArgs) -> Result<()> {
    let store = Arc::new(g.open()?);
    let mut cfg = labguard_mllp::Config::new(&g.data_dir);
    cfg.tls_listen = addr(&a.tls_listen)?;
    cfg.tcp_listen = addr(&a.tcp_listen)?;
    cfg.server_names = a.server_name;
    a.limits.apply(&mut cfg);
    cfg.idle_timeout = Duration::from_secs(a.idle_timeout);
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        let server = labguard_mllp::Server::bind(store.clone(), cfg).await?;
        // Printed on stdout so scripts (and tests binding port 0) learn the addresses.
        if let Some(a) = server.tls_addr() {
            println!("mllp mutual-TLS listening on {a}");
        }
        if let Some(a) = server.tcp_addr() {
            println!("mllp legacy plain-TCP listening on {a} (weaker control)");
        }
        server
            .run(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        anyhow::Ok(())
    })?;
    store.checkpoint()?;
    Ok(())
}
