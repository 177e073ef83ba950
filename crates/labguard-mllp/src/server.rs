//! The listeners: MLLP (HL7 v2) and ASTM E1381/E1394, each over mutual TLS and, for
//! legacy instruments, over plain TCP. What they share (admission permits, the enrollment
//! registry and its refresh, refusal aggregation, the TLS configuration, the accept loops)
//! is in [`crate::listen`]; the ASTM connection in [`crate::astm`]. An MLLP connection
//! decodes frames with `labguard_hl7::mllp`, answers every message in order, and is closed
//! on a framing error, a refused message, a frame not complete within the frame deadline,
//! an idle timeout, shutdown, or (TLS) revocation of its device. Nothing here panics on
//! input and nothing logged carries message content.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use labguard_core::admission::Admission;

use labguard_hl7::mllp::{frame, MllpDecoder, DEFAULT_MAX_MESSAGE_SIZE};
use labguard_store::Store;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::ca::DeviceCa;
use crate::handler::{handle, Decision, Peer};
use crate::listen::{
    self, accept_tcp, accept_tls, lock, peer_ip, refuse, still_enrolled, write_refusal, Door,
    Shared,
};
pub use crate::metrics::ListenerMetrics;
use crate::refusals::{self, Refusals};
use crate::registry::Registry;
use crate::writer::Writer;
use crate::MllpError;

/// Default deadline for one frame, first byte to end block.
pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(30);
/// Default deadline for one ASTM transmission, ENQ to EOT.
pub const DEFAULT_TRANSMISSION_TIMEOUT: Duration = Duration::from_secs(120);
/// Default cap on connections over all instrument listeners.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Default cap on connections from one source address.
pub const DEFAULT_MAX_CONNECTIONS_PER_SOURCE: usize = 16;
/// Default largest frame: [`DEFAULT_MAX_MESSAGE_SIZE`] (1 MiB).
pub const DEFAULT_MAX_FRAME_BYTES: usize = DEFAULT_MAX_MESSAGE_SIZE;

/// Listener settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The data dir holding the device CA (`device-ca/`).
    pub data_dir: PathBuf,
    /// Mutual-TLS MLLP listener (e.g. 0.0.0.0:2575); `None` disables it.
    pub tls_listen: Option<SocketAddr>,
    /// Legacy plain-TCP MLLP listener (e.g. 0.0.0.0:2576); `None` disables it.
    pub tcp_listen: Option<SocketAddr>,
    /// Mutual-TLS ASTM listener; `None` disables it.
    pub astm_tls_listen: Option<SocketAddr>,
    /// Legacy plain-TCP ASTM listener; `None` disables it.
    pub astm_tcp_listen: Option<SocketAddr>,
    /// Mutual-TLS POCT1-A2 listener (meters, docking stations); `None` disables it.
    pub poct_tls_listen: Option<SocketAddr>,
    /// Legacy plain-TCP POCT1-A2 listener; `None` disables it.
    pub poct_tcp_listen: Option<SocketAddr>,
    /// Names and addresses put in the server certificate when it is first issued.
    pub server_names: Vec<String>,
    /// Largest MLLP frame (message), and largest ASTM transmission, in bytes; a longer one
    /// closes the connection.
    pub max_message_size: usize,
    /// A connection silent this long (between frames or transmissions) is closed.
    pub idle_timeout: Duration,
    /// From a frame's first byte to its end block: a frame still incomplete then closes
    /// the connection, however steadily its bytes trickle in.
    pub frame_timeout: Duration,
    /// ASTM: from ENQ to EOT; a transmission still open then closes the connection.
    pub transmission_timeout: Duration,
    /// POCT1-A2: one docking conversation, HEL to END; one still open then is closed.
    pub poct_conversation_timeout: Duration,
    /// POCT1-A2: a meter not docked for this long raises a `not-docked` alert (checked
    /// while a POCT listener runs); `None` never alerts.
    pub poct_dock_alert_after: Option<chrono::TimeDelta>,
    /// ASTM: the LIS1-A link timers (receiver idle 30 s, frame 15 s).
    pub astm_timeouts: labguard_astm::Timeouts,
    /// Connections held at once over all listeners.
    pub max_connections: usize,
    /// Connections held at once from one source address, over all listeners.
    pub max_connections_per_source: usize,
    /// Refusals of one peer within this interval make one audit entry.
    pub refusal_interval: Duration,
    /// How often enrollments are re-read (revocations by another process).
    pub refresh: Duration,
    /// Most messages filed in one transaction.
    pub max_batch: usize,
    /// Counters the server's `/metrics` shows (register them there).
    pub metrics: ListenerMetrics,
}

impl Config {
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            tls_listen: None,
            tcp_listen: None,
            astm_tls_listen: None,
            astm_tcp_listen: None,
            poct_tls_listen: None,
            poct_tcp_listen: None,
            server_names: vec!["localhost".into(), "127.0.0.1".into()],
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            idle_timeout: Duration::from_secs(300),
            frame_timeout: DEFAULT_FRAME_TIMEOUT,
            transmission_timeout: DEFAULT_TRANSMISSION_TIMEOUT,
            poct_conversation_timeout: Duration::from_secs(300),
            poct_dock_alert_after: chrono::TimeDelta::try_hours(24),
            astm_timeouts: labguard_astm::Timeouts::default(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_source: DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
            refusal_interval: refusals::DEFAULT_INTERVAL,
            refresh: Duration::from_secs(1),
            max_batch: 512,
            metrics: ListenerMetrics::default(),
        }
    }
}

/// Bound listeners, ready to [`run`](Server::run).
pub struct Server {
    shared: Arc<Shared>,
    acceptor: Option<TlsAcceptor>,
    /// (door, TLS?, listener)
    listeners: Vec<(Door, bool, TcpListener)>,
    refresh: Duration,
    dock_alert_after: Option<chrono::TimeDelta>,
    generation_tx: watch::Sender<u64>,
    shutdown_tx: watch::Sender<bool>,
}

async fn bind_opt(addr: Option<SocketAddr>) -> Result<Option<TcpListener>, MllpError> {
    Ok(match addr {
        Some(a) => Some(TcpListener::bind(a).await?),
        None => None,
    })
}

impl Server {
    /// Opens the device CA, loads enrollments, starts the writer and binds the listeners.
    pub async fn bind(store: Arc<Store>, cfg: Config) -> Result<Server, MllpError> {
        let s = store.clone();
        let all = tokio::task::spawn_blocking(move || s.instruments())
            .await
            .map_err(|e| MllpError::Tls(e.to_string()))??;
        let registry = Arc::new(RwLock::new(Registry::new(all)));
        let acceptor = if cfg.tls_listen.is_some()
            || cfg.astm_tls_listen.is_some()
            || cfg.poct_tls_listen.is_some()
        {
            // The keys are unsealed from the store: blocking database calls.
            let (s, dir, names, reg) = (
                store.clone(),
                cfg.data_dir.clone(),
                cfg.server_names.clone(),
                registry.clone(),
            );
            let config = tokio::task::spawn_blocking(move || {
                let ca = DeviceCa::open_or_create(&s, &dir)?;
                listen::tls_config(&ca, &s, &names, reg)
            })
            .await
            .map_err(|e| MllpError::Tls(e.to_string()))??;
            Some(TlsAcceptor::from(config))
        } else {
            None
        };
        let mut listeners = Vec::new();
        for (door, tls, addr) in [
            (Door::Mllp, true, cfg.tls_listen),
            (Door::Mllp, false, cfg.tcp_listen),
            (Door::Astm, true, cfg.astm_tls_listen),
            (Door::Astm, false, cfg.astm_tcp_listen),
            (Door::Poct, true, cfg.poct_tls_listen),
            (Door::Poct, false, cfg.poct_tcp_listen),
        ] {
            if let Some(l) = bind_opt(addr).await? {
                listeners.push((door, tls, l));
            }
        }
        let (generation_tx, generation) = watch::channel(0);
        let (shutdown_tx, shutdown) = watch::channel(false);
        Ok(Server {
            shared: Arc::new(Shared {
                writer: Writer::start(store.clone(), cfg.max_batch)?,
                store,
                registry,
                generation,
                shutdown,
                max: cfg.max_message_size,
                idle: cfg.idle_timeout,
                frame: cfg.frame_timeout,
                transmission: cfg.transmission_timeout,
                poct_conversation: cfg.poct_conversation_timeout,
                astm_timeouts: cfg.astm_timeouts,
                admission: Admission::new(cfg.max_connections, cfg.max_connections_per_source),
                refusals: Mutex::new(Refusals::new(cfg.refusal_interval)),
                metrics: cfg.metrics,
            }),
            acceptor,
            listeners,
            refresh: cfg.refresh,
            dock_alert_after: cfg.poct_dock_alert_after,
            generation_tx,
            shutdown_tx,
        })
    }

    fn addr_of(&self, door: Door, tls: bool) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|(d, t, _)| *d == door && *t == tls)
            .and_then(|(_, _, l)| l.local_addr().ok())
    }

    /// The MLLP mutual-TLS address.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.addr_of(Door::Mllp, true)
    }

    /// The MLLP plain-TCP address.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.addr_of(Door::Mllp, false)
    }

    /// The ASTM mutual-TLS address.
    pub fn astm_tls_addr(&self) -> Option<SocketAddr> {
        self.addr_of(Door::Astm, true)
    }

    /// The ASTM plain-TCP address.
    pub fn astm_tcp_addr(&self) -> Option<SocketAddr> {
        self.addr_of(Door::Astm, false)
    }

    /// The POCT1-A2 mutual-TLS address.
    pub fn poct_tls_addr(&self) -> Option<SocketAddr> {
        self.addr_of(Door::Poct, true)
    }

    /// The POCT1-A2 plain-TCP address.
    pub fn poct_tcp_addr(&self) -> Option<SocketAddr> {
        self.addr_of(Door::Poct, false)
    }

    /// Serves until `shutdown` resolves; open connections are then closed.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), MllpError> {
        let Server {
            shared,
            acceptor,
            listeners,
            refresh,
            dock_alert_after,
            generation_tx,
            shutdown_tx,
        } = self;
        let poct = listeners.iter().any(|(d, _, _)| *d == Door::Poct);
        let mut tasks = tokio::task::JoinSet::new();
        for (door, tls, l) in listeners {
            let sh = shared.clone();
            match (tls, &acceptor) {
                (true, Some(a)) => {
                    tasks.spawn(accept_tls(l, a.clone(), sh, door));
                }
                (true, None) => {}
                (false, _) => {
                    tasks.spawn(accept_tcp(l, sh, door));
                }
            }
        }
        tasks.spawn(listen::refresh_loop(shared.clone(), generation_tx, refresh));
        tasks.spawn(listen::refusal_loop(shared.clone()));
        if let (true, Some(after)) = (poct, dock_alert_after) {
            let every = (refresh * 10).max(Duration::from_secs(1));
            tasks.spawn(crate::poct::undocked_loop(shared.clone(), after, every));
        }
        shutdown.await;
        let _ = shutdown_tx.send(true);
        tasks.abort_all();
        // Refusals still held are written before the listeners go.
        let held = lock(&shared.refusals).drain();
        let store = shared.store.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for (k, n) in held {
                write_refusal(&store, &k, n);
            }
        })
        .await;
        Ok(())
    }
}

/// Binds and serves in one call (what `labguard serve` and `demo` use).
pub async fn serve(
    store: Arc<Store>,
    cfg: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), MllpError> {
    let server = Server::bind(store, cfg).await?;
    for (door, tls, addr) in [
        (Door::Mllp, true, server.tls_addr()),
        (Door::Mllp, false, server.tcp_addr()),
        (Door::Astm, true, server.astm_tls_addr()),
        (Door::Astm, false, server.astm_tcp_addr()),
        (Door::Poct, true, server.poct_tls_addr()),
        (Door::Poct, false, server.poct_tcp_addr()),
    ] {
        let Some(addr) = addr else { continue };
        if tls {
            tracing::info!(protocol = door.name(), %addr, transport = "mutual-tls", "listening");
        } else {
            tracing::warn!(
                protocol = door.name(),
                %addr,
                transport = "plain-tcp",
                "listening (weaker control: allow-listed addresses only)"
            );
        }
    }
    server.run(shutdown).await
}

pub(crate) async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    peer: Peer,
    sh: Arc<Shared>,
) {
    let mut dec = MllpDecoder::with_max_message_size(sh.max).allow_newlines_between_frames(true);
    let mut buf = vec![0u8; 64 * 1024];
    let mut generation = sh.generation.clone();
    let mut shutdown = sh.shutdown.clone();
    // When the frame being received must be complete (None between frames).
    let mut frame_deadline: Option<tokio::time::Instant> = None;
    loop {
        let mut completed = false;
        while let Some(f) = dec.next_frame() {
            completed = true;
            let raw = match f {
                Ok(raw) => raw,
                Err(e) => {
                    tracing::info!(reason = %e, "closing: malformed MLLP framing");
                    return;
                }
            };
            let (acks, refused) = answer(&raw, &peer, &sh).await;
            for ack in acks {
                if s.write_all(&frame(&ack)).await.is_err() {
                    return;
                }
            }
            if s.flush().await.is_err() {
                return;
            }
            if refused {
                // A refused sender gets its AR and no second try on this connection.
                let _ = s.shutdown().await;
                return;
            }
        }
        frame_deadline = match (dec.in_frame(), frame_deadline) {
            (false, _) => None,
            // Still the same frame as before this read: its deadline stands.
            (true, Some(d)) if !completed => Some(d),
            // A new frame began (its first bytes came with this read).
            (true, _) => Some(tokio::time::Instant::now() + sh.frame),
        };
        let (until, what) = match frame_deadline {
            Some(d) => (d, "frame not complete within the frame deadline"),
            None => (tokio::time::Instant::now() + sh.idle, "idle"),
        };
        tokio::select! {
            r = tokio::time::timeout_at(until, s.read(&mut buf)) => match r {
                Err(_) => {
                    tracing::info!(reason = what, "closing");
                    return;
                }
                Ok(Ok(0)) => {
                    if dec.in_frame() {
                        tracing::info!("connection closed in the middle of a message");
                    }
                    return;
                }
                Ok(Ok(n)) => dec.push(buf.get(..n).unwrap_or_default()),
                Ok(Err(_)) => return,
            },
            _ = generation.changed() => {
                if !still_enrolled(&sh, &peer) {
                    tracing::info!(reason = "device certificate revoked", "closing");
                    return;
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// The ACKs for one message (none, one, or in enhanced mode commit + application):
/// rejected at once, or sent after the commit; and whether the sender was refused (the
/// connection is then closed).
async fn answer(raw: &[u8], peer: &Peer, sh: &Shared) -> (Vec<Vec<u8>>, bool) {
    let decision = match sh.registry.read() {
        Ok(reg) => handle(raw, peer, &reg),
        Err(_) => return (Vec::new(), true),
    };
    let acks = match decision {
        Decision::Reply { ack, audit } => {
            let Some((device, why)) = audit else {
                sh.metrics.message(Door::Mllp, "rejected");
                tracing::debug!("message rejected (AR/AE answered)");
                return (ack, false);
            };
            sh.metrics.message(Door::Mllp, "refused");
            refuse(sh, peer_ip(peer), device.as_ref(), why);
            return (ack, true);
        }
        Decision::Store {
            inbound,
            accept,
            error,
            reject,
        } => match sh.writer.submit(inbound).await {
            Ok(Ok(_)) => {
                sh.metrics.message(Door::Mllp, "filed");
                tracing::debug!("message filed");
                accept
            }
            Ok(Err(f)) if f.denied => {
                sh.metrics.message(Door::Mllp, "refused");
                tracing::info!(reason = "device-revoked", "message refused");
                return (reject, true);
            }
            Ok(Err(f)) => {
                sh.metrics.message(Door::Mllp, "store-failed");
                tracing::error!(reason = %f.why, "storing failed, answered AE");
                error
            }
            Err(e) => {
                sh.metrics.message(Door::Mllp, "store-failed");
                tracing::error!(reason = %e, "storing failed, answered AE");
                error
            }
        },
    };
    (acks, false)
}
