//! The listeners: MLLP over mutual TLS and, for legacy instruments, over plain TCP. Each
//! connection decodes frames with `labguard_hl7::mllp`, answers every message in order, and
//! is closed on a framing error, an idle timeout, shutdown, or (TLS) revocation of its
//! device. Nothing here panics on input and nothing logged carries message content.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use labguard_hl7::mllp::{frame, MllpDecoder, DEFAULT_MAX_MESSAGE_SIZE};
use labguard_store::{Actor, Store};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::ca::{fingerprint, DeviceCa};
use crate::handler::{handle, Decision, Peer};
use crate::registry::Registry;
use crate::verifier::EnrolledClientVerifier;
use crate::writer::Writer;
use crate::MllpError;

/// Listener settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// The data dir holding the device CA (`device-ca/`).
    pub data_dir: PathBuf,
    /// Mutual-TLS listener (e.g. 0.0.0.0:2575); `None` disables it.
    pub tls_listen: Option<SocketAddr>,
    /// Legacy plain-TCP listener (e.g. 0.0.0.0:2576); `None` disables it.
    pub tcp_listen: Option<SocketAddr>,
    /// Names and addresses put in the server certificate when it is first issued.
    pub server_names: Vec<String>,
    pub max_message_size: usize,
    /// A connection silent this long is closed.
    pub idle_timeout: Duration,
    /// How often enrollments are re-read (revocations by another process).
    pub refresh: Duration,
    /// Most messages filed in one transaction.
    pub max_batch: usize,
}

impl Config {
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            tls_listen: None,
            tcp_listen: None,
            server_names: vec!["localhost".into(), "127.0.0.1".into()],
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            idle_timeout: Duration::from_secs(300),
            refresh: Duration::from_secs(1),
            max_batch: 512,
        }
    }
}

/// Why a connection ended, for the log.
fn log(event: std::fmt::Arguments<'_>) {
    eprintln!("labguard-mllp: {event}");
}

struct Shared {
    store: Arc<Store>,
    writer: Writer,
    registry: Arc<RwLock<Registry>>,
    /// Bumped whenever the registry changes, so TLS connections re-check their device.
    generation: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
    max: usize,
    idle: Duration,
}

/// Bound listeners, ready to [`run`](Server::run).
pub struct Server {
    shared: Arc<Shared>,
    tls: Option<(TcpListener, TlsAcceptor)>,
    tcp: Option<TcpListener>,
    refresh: Duration,
    generation_tx: watch::Sender<u64>,
    shutdown_tx: watch::Sender<bool>,
}

impl Server {
    /// Opens the device CA, loads enrollments, starts the writer and binds the listeners.
    pub async fn bind(store: Arc<Store>, cfg: Config) -> Result<Server, MllpError> {
        let s = store.clone();
        let all = tokio::task::spawn_blocking(move || s.instruments())
            .await
            .map_err(|e| MllpError::Tls(e.to_string()))??;
        let registry = Arc::new(RwLock::new(Registry::new(all)));
        let tls = match cfg.tls_listen {
            Some(addr) => {
                let ca = DeviceCa::open_or_create(&cfg.data_dir)?;
                let config = tls_config(&ca, &cfg.server_names, registry.clone())?;
                Some((TcpListener::bind(addr).await?, TlsAcceptor::from(config)))
            }
            None => None,
        };
        let tcp = match cfg.tcp_listen {
            Some(addr) => Some(TcpListener::bind(addr).await?),
            None => None,
        };
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
            }),
            tls,
            tcp,
            refresh: cfg.refresh,
            generation_tx,
            shutdown_tx,
        })
    }

    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` resolves; open connections are then closed.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), MllpError> {
        let Server {
            shared,
            tls,
            tcp,
            refresh,
            generation_tx,
            shutdown_tx,
        } = self;
        let mut tasks = tokio::task::JoinSet::new();
        if let Some((l, acceptor)) = tls {
            let sh = shared.clone();
            tasks.spawn(accept_tls(l, acceptor, sh));
        }
        if let Some(l) = tcp {
            let sh = shared.clone();
            tasks.spawn(accept_tcp(l, sh));
        }
        tasks.spawn(refresh_loop(shared.clone(), generation_tx, refresh));
        shutdown.await;
        let _ = shutdown_tx.send(true);
        tasks.abort_all();
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
    if let Some(a) = server.tls_addr() {
        log(format_args!("mutual-TLS MLLP listening on {a}"));
    }
    if let Some(a) = server.tcp_addr() {
        log(format_args!(
            "legacy plain-TCP MLLP listening on {a} (weaker control: allow-listed addresses only)"
        ));
    }
    server.run(shutdown).await
}

fn tls_config(
    ca: &DeviceCa,
    names: &[String],
    registry: Arc<RwLock<Registry>>,
) -> Result<Arc<ServerConfig>, MllpError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(ca.root_der()?)?;
    let inner = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| MllpError::Tls(e.to_string()))?;
    let verifier = Arc::new(EnrolledClientVerifier { inner, registry });
    let (certs, key) = ca.server_identity(names)?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)?;
    Ok(Arc::new(config))
}

async fn refresh_loop(sh: Arc<Shared>, generation: watch::Sender<u64>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let store = sh.store.clone();
        let Ok(Ok(all)) = tokio::task::spawn_blocking(move || store.instruments()).await else {
            log(format_args!(
                "could not re-read enrollments; keeping the last ones"
            ));
            continue;
        };
        let next = Registry::new(all);
        let changed = match sh.registry.write() {
            Ok(mut r) if *r != next => {
                *r = next;
                true
            }
            _ => false,
        };
        if changed {
            generation.send_modify(|g| *g += 1);
        }
    }
}

async fn accept_tls(l: TcpListener, acceptor: TlsAcceptor, sh: Arc<Shared>) {
    loop {
        let Ok((sock, addr)) = l.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = sock.set_nodelay(true);
        let (acceptor, sh) = (acceptor.clone(), sh.clone());
        tokio::spawn(async move {
            let hs =
                tokio::time::timeout(sh.idle.min(Duration::from_secs(30)), acceptor.accept(sock))
                    .await;
            let stream = match hs {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    log(format_args!("{addr}: TLS handshake refused: {e}"));
                    return;
                }
                Err(_) => {
                    log(format_args!("{addr}: TLS handshake timed out"));
                    return;
                }
            };
            let fp = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| fingerprint(c.as_ref()));
            let Some(fp) = fp else {
                log(format_args!("{addr}: no client certificate"));
                return;
            };
            let peer = Peer::Tls {
                addr: addr.ip(),
                fingerprint: fp,
            };
            connection(stream, peer, sh).await;
        });
    }
}

async fn accept_tcp(l: TcpListener, sh: Arc<Shared>) {
    loop {
        let Ok((sock, addr)) = l.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = sock.set_nodelay(true);
        let sh = sh.clone();
        tokio::spawn(async move {
            connection::<TcpStream>(sock, Peer::Tcp { addr: addr.ip() }, sh).await;
        });
    }
}

fn peer_ip(p: &Peer) -> IpAddr {
    match p {
        Peer::Tls { addr, .. } | Peer::Tcp { addr } => *addr,
    }
}

/// True while a TLS peer's certificate still belongs to an active enrollment.
fn still_enrolled(sh: &Shared, p: &Peer) -> bool {
    match p {
        Peer::Tls { fingerprint, .. } => sh
            .registry
            .read()
            .map(|r| r.certificate_active(fingerprint))
            .unwrap_or(false),
        Peer::Tcp { .. } => true,
    }
}

async fn connection<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, peer: Peer, sh: Arc<Shared>) {
    let addr = peer_ip(&peer);
    let mut dec = MllpDecoder::with_max_message_size(sh.max).allow_newlines_between_frames(true);
    let mut buf = vec![0u8; 64 * 1024];
    let mut generation = sh.generation.clone();
    let mut shutdown = sh.shutdown.clone();
    loop {
        while let Some(f) = dec.next_frame() {
            let raw = match f {
                Ok(raw) => raw,
                Err(e) => {
                    log(format_args!("{addr}: closing: malformed MLLP framing: {e}"));
                    return;
                }
            };
            for ack in answer(&raw, &peer, &sh).await {
                if s.write_all(&frame(&ack)).await.is_err() {
                    return;
                }
            }
            if s.flush().await.is_err() {
                return;
            }
        }
        tokio::select! {
            r = tokio::time::timeout(sh.idle, s.read(&mut buf)) => match r {
                Err(_) => {
                    log(format_args!("{addr}: closing: idle for {:?}", sh.idle));
                    return;
                }
                Ok(Ok(0)) => {
                    if dec.in_frame() {
                        log(format_args!("{addr}: connection closed in the middle of a message"));
                    }
                    return;
                }
                Ok(Ok(n)) => dec.push(buf.get(..n).unwrap_or_default()),
                Ok(Err(_)) => return,
            },
            _ = generation.changed() => {
                if !still_enrolled(&sh, &peer) {
                    log(format_args!("{addr}: closing: device certificate revoked"));
                    return;
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// The ACKs for one message (none, one, or in enhanced mode commit + application):
/// rejected at once, or sent after the commit.
async fn answer(raw: &[u8], peer: &Peer, sh: &Shared) -> Vec<Vec<u8>> {
    let decision = match sh.registry.read() {
        Ok(reg) => handle(raw, peer, &reg),
        Err(_) => return Vec::new(),
    };
    match decision {
        Decision::Reply { ack, audit } => {
            if let Some((device, why)) = audit {
                let addr = peer_ip(peer);
                log(format_args!("{addr}: message refused: {why}"));
                let store = sh.store.clone();
                let actor = device
                    .as_ref()
                    .map_or_else(|| Actor::device(format!("unknown:{addr}")), |d| d.actor());
                let id = device.map(|d| d.id);
                let _ = tokio::task::spawn_blocking(move || store.refuse_delivery(&actor, id, why))
                    .await;
            }
            ack
        }
        Decision::Store {
            inbound,
            accept,
            error,
            reject,
        } => match sh.writer.submit(inbound).await {
            Ok(Ok(_)) => accept,
            Ok(Err(f)) if f.denied => {
                log(format_args!(
                    "{}: message refused: device-revoked",
                    peer_ip(peer)
                ));
                reject
            }
            Ok(Err(f)) => {
                log(format_args!(
                    "{}: storing failed, answered AE: {}",
                    peer_ip(peer),
                    f.why
                ));
                error
            }
            Err(e) => {
                log(format_args!("{}: {e}, answered AE", peer_ip(peer)));
                error
            }
        },
    }
}
