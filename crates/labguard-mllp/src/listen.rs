//! What every instrument listener shares, whatever it speaks (HL7/MLLP, ASTM): the
//! admission budget (global and per-source caps, a permit taken before a byte is read),
//! the enrollment registry with its refresh and generation watch (a revocation ends live
//! connections), refused deliveries aggregated into audit entries, the mutual-TLS server
//! configuration (device CA + [`EnrolledClientVerifier`]) and the accept loops, which
//! hand each connection to its protocol's handler.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use labguard_core::admission::Admission;
use labguard_store::{Actor, Protocol, Store};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::ca::{fingerprint, DeviceCa};
use crate::handler::Peer;
use crate::refusals::{self, Refusals};
use crate::registry::Registry;
use crate::verifier::EnrolledClientVerifier;
use crate::writer::Writer;
use crate::MllpError;

/// One connection's span: every event it causes carries the conversation id, protocol
/// and peer address (and, once known, the device), never anything a message carried.
fn conversation(door: Door, addr: std::net::SocketAddr) -> tracing::Span {
    let mut id = [0u8; 8];
    let id = match getrandom::fill(&mut id) {
        Ok(()) => hex::encode(id),
        Err(_) => "-".into(),
    };
    tracing::info_span!(
        target: "labguard::instrument",
        "conversation",
        id = %id,
        protocol = door.name(),
        peer = %addr,
        device = tracing::field::Empty,
    )
}

/// Which protocol a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Door {
    Mllp,
    Astm,
    Poct,
}

impl Door {
    /// The `protocol` label in logs and metrics.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Door::Mllp => "hl7",
            Door::Astm => "astm",
            Door::Poct => "poct",
        }
    }

    pub(crate) fn protocol(self) -> Protocol {
        match self {
            Door::Mllp => Protocol::Hl7,
            Door::Astm => Protocol::Astm,
            Door::Poct => Protocol::Poct,
        }
    }
}

/// State every connection of every listener sees.
pub(crate) struct Shared {
    pub store: Arc<Store>,
    pub writer: Writer,
    pub registry: Arc<RwLock<Registry>>,
    /// Bumped whenever the registry changes, so TLS connections re-check their device.
    pub generation: watch::Receiver<u64>,
    pub shutdown: watch::Receiver<bool>,
    /// Largest MLLP frame, and largest ASTM transmission, in bytes.
    pub max: usize,
    pub idle: Duration,
    /// MLLP: one frame, first byte to end block.
    pub frame: Duration,
    /// ASTM: one transmission, ENQ to EOT.
    pub transmission: Duration,
    /// POCT: one docking conversation, HEL to END.
    pub poct_conversation: Duration,
    pub astm_timeouts: labguard_astm::Timeouts,
    pub admission: Admission,
    pub refusals: Mutex<Refusals>,
    pub metrics: crate::metrics::ListenerMetrics,
}

pub(crate) fn tls_config(
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

pub(crate) async fn refresh_loop(sh: Arc<Shared>, generation: watch::Sender<u64>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let store = sh.store.clone();
        let Ok(Ok(all)) = tokio::task::spawn_blocking(move || store.instruments()).await else {
            tracing::warn!(
                target: "labguard::instrument",
                "could not re-read enrollments; keeping the last ones"
            );
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

pub(crate) fn lock(r: &Mutex<Refusals>) -> std::sync::MutexGuard<'_, Refusals> {
    r.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One (aggregated) refusal entry; a failure to write is logged, never fatal.
pub(crate) fn write_refusal(store: &Store, k: &refusals::Key, count: u64) {
    let actor = Actor::device(k.actor.clone());
    if store
        .refuse_deliveries(&actor, k.device, k.why, count)
        .is_err()
    {
        tracing::error!(target: "labguard::instrument", peer = %k.addr, "could not record a refused delivery");
    }
}

fn log_refusal(k: &refusals::Key, count: u64) {
    tracing::warn!(
        target: "labguard::instrument",
        peer = %k.addr,
        reason = k.why,
        count,
        "delivery refused"
    );
}

/// Counts a refusal; writes its entry (off the async threads) when one is due.
pub(crate) fn refused(sh: &Shared, key: refusals::Key) {
    let due = lock(&sh.refusals).note(key, Instant::now());
    if let Some((k, n)) = due {
        log_refusal(&k, n);
        let store = sh.store.clone();
        tokio::task::spawn_blocking(move || write_refusal(&store, &k, n));
    }
}

/// [`refused`] for a peer and the enrollment it concerned (if any).
pub(crate) fn refuse(
    sh: &Shared,
    addr: IpAddr,
    device: Option<&labguard_store::Enrollment>,
    why: &'static str,
) {
    let actor = device.map_or_else(|| Actor::device(unknown_actor(addr)), |d| d.actor());
    refused(
        sh,
        refusals::Key {
            addr,
            device: device.map(|d| d.id),
            actor: actor.id,
            why,
        },
    );
}

/// Writes the refusals held when their interval ends.
pub(crate) async fn refusal_loop(sh: Arc<Shared>) {
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
                log_refusal(&k, n);
                write_refusal(&store, &k, n);
            }
        })
        .await;
    }
}

/// Records the device's contact (the fleet view's "last seen"), off the async threads.
fn seen(sh: &Shared, device: labguard_core::Id) {
    let store = sh.store.clone();
    tokio::task::spawn_blocking(move || {
        if store.record_device_seen(device, None).is_err() {
            tracing::warn!(target: "labguard::instrument", "could not record the device's contact");
        }
    });
}

pub(crate) fn unknown_actor(addr: IpAddr) -> String {
    format!("unknown:{addr}")
}

pub(crate) fn peer_ip(p: &Peer) -> IpAddr {
    match p {
        Peer::Tls { addr, .. } | Peer::Tcp { addr } => *addr,
    }
}

/// True while a TLS peer's certificate still belongs to an active enrollment.
pub(crate) fn still_enrolled(sh: &Shared, p: &Peer) -> bool {
    match p {
        Peer::Tls { fingerprint, .. } => sh
            .registry
            .read()
            .map(|r| r.certificate_active(fingerprint))
            .unwrap_or(false),
        Peer::Tcp { .. } => true,
    }
}

/// Mutual TLS: admission permit, then the handshake (the verifier refuses certificates of
/// no active enrollment), then the door's protocol must be the device's.
pub(crate) async fn accept_tls(l: TcpListener, acceptor: TlsAcceptor, sh: Arc<Shared>, door: Door) {
    loop {
        let Ok((sock, addr)) = l.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        // Past a cap: closed before the handshake, unread.
        let Ok(permit) = sh.admission.try_admit(addr.ip()) else {
            drop(sock);
            sh.metrics.connection(door, "over-capacity");
            continue;
        };
        let _ = sock.set_nodelay(true);
        let (acceptor, sh) = (acceptor.clone(), sh.clone());
        let span = conversation(door, addr);
        let task = async move {
            let _permit = permit;
            let _open = sh.metrics.opened(door);
            let hs =
                tokio::time::timeout(sh.idle.min(Duration::from_secs(30)), acceptor.accept(sock))
                    .await;
            let stream = match hs {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    sh.metrics.connection(door, "tls-refused");
                    tracing::info!(reason = %e, "TLS handshake refused");
                    return;
                }
                Err(_) => {
                    sh.metrics.connection(door, "tls-timeout");
                    tracing::info!("TLS handshake timed out");
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
                sh.metrics.connection(door, "tls-refused");
                tracing::info!("no client certificate");
                return;
            };
            let device = sh
                .registry
                .read()
                .ok()
                .and_then(|r| r.by_fingerprint(&fp).cloned());
            if let Some(d) = &device {
                tracing::Span::current().record("device", d.name.as_str());
                seen(&sh, d.id);
            }
            sh.metrics.connection(door, "accepted");
            let peer = Peer::Tls {
                addr: addr.ip(),
                fingerprint: fp,
            };
            match door {
                // HL7 checks the protocol per message (the refusal is answered with AR).
                Door::Mllp => crate::server::connection(stream, peer, sh).await,
                Door::Astm | Door::Poct => match device {
                    Some(d) if d.protocol == door.protocol() => match door {
                        Door::Poct => crate::poct::connection(stream, peer, vec![d], sh).await,
                        _ => crate::astm::connection(stream, peer, vec![d], sh).await,
                    },
                    other => {
                        // Another protocol's device: closed before a byte is read.
                        refuse(&sh, addr.ip(), other.as_ref(), "wrong-protocol");
                    }
                },
            }
        };
        tokio::spawn(tracing::Instrument::instrument(task, span));
    }
}

/// Plain TCP for legacy instruments: a source on no active allow-list is closed before a
/// byte is read (and the attempt audited, aggregated).
pub(crate) async fn accept_tcp(l: TcpListener, sh: Arc<Shared>, door: Door) {
    loop {
        let Ok((sock, addr)) = l.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let ip = addr.ip();
        let listed: Vec<labguard_store::Enrollment> = sh
            .registry
            .read()
            .map(|r| r.legacy_from(ip).cloned().collect())
            .unwrap_or_default();
        let mine: Vec<labguard_store::Enrollment> = listed
            .iter()
            .filter(|e| e.protocol == door.protocol())
            .cloned()
            .collect();
        // MLLP sorts out the protocol per message (answered with AR); ASTM and POCT
        // refuse at accept.
        let admitted = match door {
            Door::Mllp => !listed.is_empty(),
            Door::Astm | Door::Poct => !mine.is_empty(),
        };
        if !admitted {
            drop(sock);
            sh.metrics.connection(door, "not-allowed");
            let why = if listed.is_empty() {
                "source-not-allowed"
            } else {
                "wrong-protocol"
            };
            refuse(&sh, ip, listed.first(), why);
            continue;
        }
        let Ok(permit) = sh.admission.try_admit(ip) else {
            drop(sock);
            sh.metrics.connection(door, "over-capacity");
            continue;
        };
        let _ = sock.set_nodelay(true);
        let sh = sh.clone();
        sh.metrics.connection(door, "accepted");
        let span = conversation(door, addr);
        if let [only] = listed.as_slice() {
            span.record("device", only.name.as_str());
            seen(&sh, only.id);
        }
        let task = async move {
            let _permit = permit;
            let _open = sh.metrics.opened(door);
            let peer = Peer::Tcp { addr: ip };
            match door {
                Door::Mllp => crate::server::connection::<TcpStream>(sock, peer, sh).await,
                Door::Astm => crate::astm::connection::<TcpStream>(sock, peer, mine, sh).await,
                Door::Poct => crate::poct::connection::<TcpStream>(sock, peer, mine, sh).await,
            }
        };
        tokio::spawn(tracing::Instrument::instrument(task, span));
    }
}
