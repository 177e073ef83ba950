//! The listeners: MLLP over mutual TLS and, for legacy instruments, over plain TCP. Each
//! connection takes an admission permit (global and per-source caps, shared by both
//! listeners) before a byte is read; the plain-TCP listener also closes peers on no
//! allow-list at accept. A connection decodes frames with `labguard_hl7::mllp`, answers
//! every message in order, and is closed on a framing error, a refused message, a frame not
//! complete within the frame deadline, an idle timeout, shutdown, or (TLS) revocation of its
//! device. Refusals are audited aggregated per peer and interval. Nothing here panics on
//! input and nothing logged carries message content.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use labguard_core::admission::Admission;

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
use crate::refusals::{self, Refusals};
use crate::registry::Registry;
use crate::verifier::EnrolledClientVerifier;
use crate::writer::Writer;
use crate::MllpError;

/// Default deadline for one frame, first byte to end block.
pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(30);
/// Default cap on connections over both MLLP listeners.
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
    /// Mutual-TLS listener (e.g. 0.0.0.0:2575); `None` disables it.
    pub tls_listen: Option<SocketAddr>,
    /// Legacy plain-TCP listener (e.g. 0.0.0.0:2576); `None` disables it.
    pub tcp_listen: Option<SocketAddr>,
    /// Names and addresses put in the server certificate when it is first issued.
    pub server_names: Vec<String>,
    /// Largest frame (message) accepted, in bytes; a longer one closes the connection.
    pub max_message_size: usize,
    /// A connection silent this long (between frames) is closed.
    pub idle_timeout: Duration,
    /// From a frame's first byte to its end block: a frame still incomplete then closes
    /// the connection, however steadily its bytes trickle in.
    pub frame_timeout: Duration,
    /// Connections held at once over both listeners.
    pub max_connections: usize,
    /// Connections held at once from one source address, over both listeners.
    pub max_connections_per_source: usize,
    /// Refusals of one peer within this interval make one audit entry.
    pub refusal_interval: Duration,
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
            frame_timeout: DEFAULT_FRAME_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_source: DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
            refusal_interval: refusals::DEFAULT_INTERVAL,
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
    frame: Duration,
    admission: Admission,
    refusals: Mutex<Refusals>,
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
                // The keys are unsealed from the store: blocking database calls.
                let (s, dir, names, reg) = (
                    store.clone(),
                    cfg.data_dir.clone(),
                    cfg.server_names.clone(),
                    registry.clone(),
                );
                let config = tokio::task::spawn_blocking(move || {
                    let ca = DeviceCa::open_or_create(&s, &dir)?;
                    tls_config(&ca, &s, &names, reg)
                })
                .await
                .map_err(|e| MllpError::Tls(e.to_string()))??;
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
                frame: cfg.frame_timeout,
                admission: Admission::new(cfg.max_connections, cfg.max_connections_per_source),
                refusals: Mutex::new(Refusals::new(cfg.refusal_interval)),
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
        tasks.spawn(refusal_loop(shared.clone()));
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
    store: &Store,
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
    let (certs, key) = ca.server_identity(store, names)?;
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

fn lock(r: &Mutex<Refusals>) -> std::sync::MutexGuard<'_, Refusals> {
    r.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One (aggregated) refusal entry; a failure to write is logged, never fatal.
fn write_refusal(store: &Store, k: &refusals::Key, count: u64) {
    let actor = Actor::device(k.actor.clone());
    if store
        .refuse_deliveries(&actor, k.device, k.why, count)
        .is_err()
    {
        log(format_args!(
            "{}: could not record a refused delivery",
            k.addr
        ));
    }
}

/// Counts a refusal; writes its entry (off the async threads) when one is due.
fn refused(sh: &Shared, key: refusals::Key) {
    let due = lock(&sh.refusals).note(key, Instant::now());
    if let Some((k, n)) = due {
        log(format_args!(
            "{}: delivery refused: {} (x{n})",
            k.addr, k.why
        ));
        let store = sh.store.clone();
        tokio::task::spawn_blocking(move || write_refusal(&store, &k, n));
    }
}

/// Writes the refusals held when their interval ends.
async fn refusal_loop(sh: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let due = lock(&sh.refusals).due(Instant::now());
        if due.is_empty() {
            continue;
        }
        let store = sh.store.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for (k, n) in due {
                log(format_args!(
                    "{}: delivery refused: {} (x{n})",
                    k.addr, k.why
                ));
                write_refusal(&store, &k, n);
            }
        })
        .await;
    }
}

fn unknown_actor(addr: IpAddr) -> String {
    format!("unknown:{addr}")
}

async fn accept_tls(l: TcpListener, acceptor: TlsAcceptor, sh: Arc<Shared>) {
    loop {
        let Ok((sock, addr)) = l.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        // Past a cap: closed before the handshake, unread.
        let Ok(permit) = sh.admission.try_admit(addr.ip()) else {
            drop(sock);
            continue;
        };
        let _ = sock.set_nodelay(true);
        let (acceptor, sh) = (acceptor.clone(), sh.clone());
        tokio::spawn(async move {
            let _permit = permit;
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
        let ip = addr.ip();
        // A source on no active legacy allow-list is closed before a byte is read; its
        // attempts are audited aggregated.
        let listed = sh
            .registry
            .read()
            .map(|r| r.legacy_from(ip).next().is_some())
            .unwrap_or(false);
        if !listed {
            drop(sock);
            refused(
                &sh,
                refusals::Key {
                    addr: ip,
                    device: None,
                    actor: Actor::device(unknown_actor(ip)).id,
                    why: "source-not-allowed",
                },
            );
            continue;
        }
        let Ok(permit) = sh.admission.try_admit(ip) else {
            drop(sock);
            continue;
        };
        let _ = sock.set_nodelay(true);
        let sh = sh.clone();
        tokio::spawn(async move {
            let _permit = permit;
            connection::<TcpStream>(sock, Peer::Tcp { addr: ip }, sh).await;
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
    // When the frame being received must be complete (None between frames).
    let mut frame_deadline: Option<tokio::time::Instant> = None;
    loop {
        let mut completed = false;
        while let Some(f) = dec.next_frame() {
            completed = true;
            let raw = match f {
                Ok(raw) => raw,
                Err(e) => {
                    log(format_args!("{addr}: closing: malformed MLLP framing: {e}"));
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
                    log(format_args!("{addr}: closing: {what}"));
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
                return (ack, false);
            };
            let addr = peer_ip(peer);
            let actor = device
                .as_ref()
                .map_or_else(|| Actor::device(unknown_actor(addr)), |d| d.actor());
            refused(
                sh,
                refusals::Key {
                    addr,
                    device: device.map(|d| d.id),
                    actor: actor.id,
                    why,
                },
            );
            return (ack, true);
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
                return (reject, true);
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
    };
    (acks, false)
}
