//! `labguard serve`: the HTTPS API and web UI over this data dir's store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::TimeDelta;
use clap::Args;
use labguard_server::{AppState, Settings};
use labguard_store::Store;

use crate::opts::Global;

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on (HTTPS).
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Sign a session out after this long without activity (e.g. 15m, 90s, 1h).
    #[arg(long, default_value = "15m", value_parser = parse_duration)]
    pub idle_timeout: TimeDelta,
    /// Sign a session out this long after sign-in, active or not.
    #[arg(long, default_value = "12h", value_parser = parse_duration)]
    pub session_lifetime: TimeDelta,
    /// Longest an API token may live (e.g. 90d, 12h); requests for longer, or for a token
    /// that never expires, are refused.
    #[arg(long, default_value = "90d", value_parser = parse_duration)]
    pub token_max_lifetime: TimeDelta,
    /// PEM certificate chain; without it a self-signed certificate is made in the data dir.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The lab's name (shown in the UI, and refused inside passwords).
    #[arg(long, default_value = "labguard")]
    pub lab_name: String,
    /// HL7 over MLLP with mutual TLS for enrolled instruments ("off" to disable).
    #[arg(long, default_value = "127.0.0.1:2575")]
    pub mllp_tls_listen: String,
    /// Plain-TCP MLLP for legacy instruments enrolled with an address allow-list ("off" to
    /// disable). Only enrolled legacy devices' addresses get past the first message.
    #[arg(long, default_value = "127.0.0.1:2576")]
    pub mllp_tcp_listen: String,
    /// ASTM E1381/E1394 over mutual TLS for instruments enrolled with `--protocol astm`
    /// (an address, or "off"; off unless given, `labguard demo` picks a free port).
    #[arg(long)]
    pub astm_listen: Option<String>,
    /// Plain-TCP ASTM for legacy instruments enrolled with an address allow-list (a weaker
    /// control; "off" unless given). Unlisted sources are closed before a byte is read.
    #[arg(long, default_value = "off")]
    pub astm_legacy_listen: String,
    /// Close an ASTM connection whose transmission (ENQ to EOT) is not over within this.
    #[arg(long, default_value = "120s", value_parser = parse_std_duration)]
    pub astm_transmission_timeout: std::time::Duration,
    /// POCT1-A2 over mutual TLS for meters and docking stations enrolled with
    /// `--protocol poct` (an address, or "off"; off unless given).
    #[arg(long)]
    pub poct_listen: Option<String>,
    /// Plain-TCP POCT1-A2 for legacy docking stations enrolled with an address allow-list
    /// (a weaker control; "off" unless given).
    #[arg(long, default_value = "off")]
    pub poct_legacy_listen: String,
    /// Close a POCT1-A2 connection whose conversation (HEL to END) is not over within this.
    #[arg(long, default_value = "300s", value_parser = parse_std_duration)]
    pub poct_conversation_timeout: std::time::Duration,
    /// Alert when a POCT1-A2 meter has not docked for this long ("off" never alerts).
    #[arg(long, default_value = "24h")]
    pub poct_dock_alert_after: String,
    /// Most HTTPS connections held at once; past it new ones are closed unread.
    #[arg(long, default_value_t = 4096)]
    pub max_connections: usize,
    /// Most HTTPS connections held at once from one source address.
    #[arg(long, default_value_t = 256)]
    pub max_connections_per_source: usize,
    /// Close an HTTPS connection whose TLS handshake is not done within this (e.g. 10s).
    #[arg(long, default_value = "10s", value_parser = parse_std_duration)]
    pub tls_handshake_timeout: std::time::Duration,
    /// Close a connection whose request headers are not complete within this, counted from
    /// when the server starts waiting for a request.
    #[arg(long, default_value = "10s", value_parser = parse_std_duration)]
    pub header_timeout: std::time::Duration,
    /// Fail a request whose body is not complete this long after its headers.
    #[arg(long, default_value = "30s", value_parser = parse_std_duration)]
    pub body_timeout: std::time::Duration,
    /// MLLP limits (both instrument listeners).
    #[command(flatten)]
    pub mllp: crate::mllp_cmd::MllpLimits,
    /// File holding the bearer token `/metrics` requires (owner-only, at most 4 KiB); the
    /// environment variable LABGUARD_METRICS_TOKEN works too. Without either, `/metrics`
    /// answers 404.
    #[arg(long)]
    pub metrics_token_file: Option<PathBuf>,
    /// Forwarding to the lab's SIEM.
    #[command(flatten)]
    pub siem: crate::siem_cmd::SiemArgs,
    /// Single sign-on with the lab's directory (OpenID Connect).
    #[command(flatten)]
    pub oidc: crate::oidc_args::OidcArgs,
}

/// [`parse_duration`] as a `std::time::Duration`, for socket deadlines.
pub fn parse_std_duration(s: &str) -> Result<std::time::Duration, String> {
    let d = parse_duration(s)?;
    d.to_std().map_err(|e| e.to_string())
}

impl ServeArgs {
    pub fn http_limits(&self) -> labguard_server::listener::Limits {
        labguard_server::listener::Limits {
            max_connections: self.max_connections,
            max_connections_per_source: self.max_connections_per_source,
            tls_handshake_timeout: self.tls_handshake_timeout,
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
        }
    }
}

/// `15m`, `90s`, `1h`, `2d` (or `2days`), or plain seconds; at most 100 years.
pub fn parse_duration(s: &str) -> Result<TimeDelta, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().map_err(|_| format!("not a duration: {s}"))?;
    let per = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return Err(format!("unknown unit in {s}: use s, m, h or d")),
    };
    let secs = n
        .checked_mul(per)
        .filter(|s| *s <= 100 * 365 * 86_400)
        .ok_or_else(|| format!("the duration {s} is too long"))?;
    if secs <= 0 {
        return Err("the duration must be positive".into());
    }
    Ok(TimeDelta::seconds(secs))
}

pub fn run(g: &Global, args: ServeArgs) -> Result<()> {
    let store = Arc::new(g.open()?);
    serve(g, store, &args, None)
}

/// The instrument listeners' mutual-TLS addresses, once bound (None for one that is off).
#[derive(Debug, Clone, Copy, Default)]
pub struct Bound {
    pub mllp_tls: Option<SocketAddr>,
    pub astm_tls: Option<SocketAddr>,
    pub poct_tls: Option<SocketAddr>,
}

/// Told the bound instrument addresses once the listeners are up.
pub type Ready = std::sync::mpsc::Sender<Bound>;

/// Serves `store` until Ctrl-C (also used by `labguard demo`).
pub fn serve(g: &Global, store: Arc<Store>, args: &ServeArgs, ready: Option<Ready>) -> Result<()> {
    // An operator's own certificate stays in the files they name; the self-signed default
    // is sealed in the store.
    let (tls, cert_desc) = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => (
            labguard_server::tls::server_config(c, k)?,
            c.display().to_string(),
        ),
        _ => {
            let k = labguard_server::tls::sealed_self_signed(&store, &g.data_dir)
                .context("making the self-signed TLS certificate")?;
            (
                labguard_server::tls::server_config_pem(&k.cert_pem, &k.key_pem)?,
                "self-signed, sealed in the store".to_string(),
            )
        }
    };
    let mut settings = Settings {
        lab_name: args.lab_name.clone(),
        ..Settings::default()
    };
    settings.session.idle_timeout = args.idle_timeout;
    settings.metrics_token = match &args.metrics_token_file {
        Some(p) => Some(labguard_server::metrics::MetricsToken::from_file(p)?),
        None => labguard_server::metrics::MetricsToken::from_env()?,
    }
    .map(Arc::new);
    settings.session.absolute_lifetime = args.session_lifetime;
    settings.token_max_lifetime = args.token_max_lifetime;
    settings.oidc = args.oidc.build()?;
    // The settings the web edge runs with are evidence (automatic logoff, TLS): record them.
    store.record_run(
        &labguard_store::Actor::system(),
        labguard_store::run_kind::SERVER_START,
        true,
        None,
        &serde_json::json!({
            "idle_timeout_secs": settings.session.idle_timeout.num_seconds(),
            "token_max_lifetime_secs": settings.token_max_lifetime.num_seconds(),
            "tls": true,
            "min_tls": "1.2",
            "max_connections": args.max_connections,
            "max_connections_per_source": args.max_connections_per_source,
            "tls_handshake_timeout_secs": args.tls_handshake_timeout.as_secs(),
            "header_timeout_secs": args.header_timeout.as_secs(),
            "body_timeout_secs": args.body_timeout.as_secs(),
            "mllp_max_connections": args.mllp.mllp_max_connections,
            "mllp_max_connections_per_source": args.mllp.mllp_max_connections_per_source,
            "mllp_frame_timeout_secs": args.mllp.mllp_frame_timeout.as_secs(),
            "mllp_max_frame_bytes": args.mllp.mllp_max_frame_bytes,
            "astm_tls": args.astm_listen.as_deref().is_some_and(|a| a != "off"),
            "astm_legacy_tcp": args.astm_legacy_listen != "off",
            "astm_transmission_timeout_secs": args.astm_transmission_timeout.as_secs(),
            "metrics_token": settings.metrics_token.is_some(),
            "sso_issuer": settings.oidc.as_ref().map(|o| o.cfg.issuer.clone()),
        }),
    )?;
    // Collect compliance evidence once a day for the whole lab (one node of those sharing
    // the database), so the score has a history without anyone running `compliance collect`.
    labguard_app::compliance::spawn_daily(
        Arc::clone(&store),
        labguard_app::compliance::WAKE_EVERY,
        |e| tracing::error!(error = %e, "compliance collection failed"),
    );
    // Every audit entry and alert to the lab's SIEM, when configured (one node forwards).
    let siem = crate::siem_cmd::start(&store, &args.siem)?;
    let store_for_mllp = Arc::clone(&store);
    let state = AppState::new(store, settings).map_err(|e| anyhow::anyhow!(e.message))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut mllp = labguard_mllp::Config::new(&g.data_dir);
    mllp.tls_listen = crate::mllp_cmd::addr(&args.mllp_tls_listen)?;
    mllp.tcp_listen = crate::mllp_cmd::addr(&args.mllp_tcp_listen)?;
    mllp.astm_tls_listen = crate::mllp_cmd::addr(args.astm_listen.as_deref().unwrap_or("off"))?;
    mllp.astm_tcp_listen = crate::mllp_cmd::addr(&args.astm_legacy_listen)?;
    mllp.transmission_timeout = args.astm_transmission_timeout;
    mllp.poct_tls_listen = crate::mllp_cmd::addr(args.poct_listen.as_deref().unwrap_or("off"))?;
    mllp.poct_tcp_listen = crate::mllp_cmd::addr(&args.poct_legacy_listen)?;
    mllp.poct_conversation_timeout = args.poct_conversation_timeout;
    mllp.poct_dock_alert_after = match args.poct_dock_alert_after.as_str() {
        "off" => None,
        d => Some(parse_duration(d).map_err(anyhow::Error::msg)?),
    };
    args.mllp.apply(&mut mllp);
    // The listeners' counters show on this server's /metrics.
    state.metrics.register(|r| mllp.metrics.register(r));
    println!(
        "labguard is serving https://{} (certificate {})",
        args.listen, cert_desc
    );
    let served = rt.block_on(async {
        // One process serves people (HTTPS) and instruments (MLLP); either stopping ends both.
        let instruments = if mllp.tls_listen.is_some()
            || mllp.tcp_listen.is_some()
            || mllp.astm_tls_listen.is_some()
            || mllp.astm_tcp_listen.is_some()
            || mllp.poct_tls_listen.is_some()
            || mllp.poct_tcp_listen.is_some()
        {
            let server = labguard_mllp::Server::bind(store_for_mllp, mllp)
                .await
                .context("starting the MLLP listeners")?;
            if let Some(a) = server.tls_addr() {
                println!("instruments: HL7/MLLP over mutual TLS on {a}");
            }
            if let Some(a) = server.tcp_addr() {
                println!("instruments: legacy plain-TCP MLLP on {a} (weaker control)");
            }
            if let Some(a) = server.astm_tls_addr() {
                println!("instruments: ASTM E1381/E1394 over mutual TLS on {a}");
            }
            if let Some(a) = server.astm_tcp_addr() {
                println!("instruments: legacy plain-TCP ASTM on {a} (weaker control)");
            }
            if let Some(a) = server.poct_tls_addr() {
                println!("instruments: POCT1-A2 over mutual TLS on {a}");
            }
            if let Some(a) = server.poct_tcp_addr() {
                println!("instruments: legacy plain-TCP POCT1-A2 on {a} (weaker control)");
            }
            if let Some(r) = &ready {
                let _ = r.send(Bound {
                    mllp_tls: server.tls_addr(),
                    astm_tls: server.astm_tls_addr(),
                    poct_tls: server.poct_tls_addr(),
                });
            }
            Some(server)
        } else {
            if let Some(r) = &ready {
                let _ = r.send(Bound::default());
            }
            None
        };
        // Ctrl-C, or either side ending, stops both; each then finishes its own shutdown
        // (open requests, refusals still to be audited) before the process exits.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stop_tx = std::sync::Arc::new(stop_tx);
        let on_signal = stop_tx.clone();
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            let _ = on_signal.send(true);
        });
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let web = async {
            let r = labguard_server::serve_until(
                state,
                args.listen,
                tls,
                args.http_limits(),
                stopped(stop_rx.clone()),
            )
            .await;
            let _ = stop_tx.send(true);
            r.with_context(|| format!("serving on {}", args.listen))
        };
        let mllp = async {
            let Some(server) = instruments else {
                return Ok(());
            };
            let r = server.run(stopped(stop_rx.clone())).await;
            let _ = stop_tx.send(true);
            r.context("MLLP listener")
        };
        let (w, m) = tokio::join!(web, mllp);
        w.and(m)
    });
    siem.stop();
    served
}
