//! RFC 5425 syslog over TLS: rustls (TLS 1.2 and 1.3 only), the collector checked against
//! the lab's CA file, an optional client certificate for mutual TLS, deadlines on
//! connect, handshake and every write, octet-counting frames.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use labguard_siem::{frame, SiemEvent, Syslog};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use super::{SiemError, Transport};

/// How long a new connection listens for the collector refusing it after the handshake.
const CONFIRM: Duration = Duration::from_millis(250);

/// How to reach the collector.
#[derive(Clone)]
pub struct TlsSyslogConfig {
    /// `host:port`; the host is also the name the collector's certificate must carry.
    pub addr: String,
    /// PEM of the CA(s) that issued the collector's certificate.
    pub ca_pem: Vec<u8>,
    /// PEM certificate chain and private key, for collectors that require client auth.
    pub client: Option<(Vec<u8>, Vec<u8>)>,
    /// The HOSTNAME header field.
    pub hostname: String,
    /// Deadline for the TCP connect and, separately, for the TLS handshake.
    pub connect_timeout: Duration,
    /// Deadline for each write.
    pub write_timeout: Duration,
}

/// The syslog-over-TLS sink; connects lazily and reconnects after a failure.
pub struct TlsSyslog {
    cfg: TlsSyslogConfig,
    tls: Arc<ClientConfig>,
    name: ServerName<'static>,
    syslog: Syslog,
    conn: Option<StreamOwned<ClientConnection, TcpStream>>,
}

fn client_config(cfg: &TlsSyslogConfig) -> Result<ClientConfig, SiemError> {
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&cfg.ca_pem) {
        let c = c.map_err(|e| SiemError::Config(format!("CA file: {e}")))?;
        roots
            .add(c)
            .map_err(|e| SiemError::Config(format!("CA file: {e}")))?;
    }
    if roots.is_empty() {
        return Err(SiemError::Config("CA file holds no certificate".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| SiemError::Config(e.to_string()))?
        .with_root_certificates(roots);
    match &cfg.client {
        None => Ok(builder.with_no_client_auth()),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| SiemError::Config(format!("client certificate: {e}")))?;
            let key = PrivateKeyDer::from_pem_slice(key)
                .map_err(|e| SiemError::Config(format!("client key: {e}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| SiemError::Config(format!("client certificate: {e}")))
        }
    }
}

impl TlsSyslog {
    /// Checks the configuration (CA, client certificate, server name); no connection yet.
    pub fn new(cfg: TlsSyslogConfig) -> Result<TlsSyslog, SiemError> {
        let tls = Arc::new(client_config(&cfg)?);
        let host = cfg
            .addr
            .rsplit_once(':')
            .map(|(h, _)| h.trim_start_matches('[').trim_end_matches(']'))
            .ok_or_else(|| SiemError::Config("collector address is not HOST:PORT".into()))?;
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| SiemError::Config("collector host is not a DNS name or IP".into()))?;
        let syslog = Syslog::new(&cfg.hostname, &std::process::id().to_string());
        Ok(TlsSyslog {
            cfg,
            tls,
            name,
            syslog,
            conn: None,
        })
    }

    /// Connects and completes the handshake now (so a wrong certificate fails here).
    pub fn connect(&mut self) -> Result<(), SiemError> {
        let mut last = std::io::Error::other("collector address resolves to nothing");
        for addr in self.cfg.addr.to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, self.cfg.connect_timeout) {
                Ok(sock) => return self.handshake(sock),
                Err(e) => last = e,
            }
        }
        Err(last.into())
    }

    fn handshake(&mut self, mut sock: TcpStream) -> Result<(), SiemError> {
        sock.set_nodelay(true)?;
        sock.set_read_timeout(Some(self.cfg.connect_timeout))?;
        sock.set_write_timeout(Some(self.cfg.write_timeout))?;
        let mut conn = ClientConnection::new(self.tls.clone(), self.name.clone())
            .map_err(|e| SiemError::Config(e.to_string()))?;
        while conn.is_handshaking() {
            conn.complete_io(&mut sock)?;
        }
        let mut s = StreamOwned::new(conn, sock);
        // In TLS 1.3 the client finishes first: a collector that refuses our certificate
        // says so only after, and a batch written at once would be lost. Listen briefly.
        s.sock.set_read_timeout(Some(CONFIRM))?;
        let mut buf = [0u8; 512];
        match s.read(&mut buf) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(e.into()),
            Ok(0) => return Err(std::io::Error::from(ErrorKind::UnexpectedEof).into()),
            Ok(_) => return Err(std::io::Error::other("collector sent data").into()),
        }
        s.sock.set_read_timeout(Some(self.cfg.connect_timeout))?;
        self.conn = Some(s);
        Ok(())
    }

    /// Whether the open connection still looks usable: a collector that went away has
    /// sent FIN or close_notify, which a non-blocking read sees before we write into a
    /// dead socket's buffer.
    fn alive(s: &mut StreamOwned<ClientConnection, TcpStream>) -> bool {
        if s.sock.set_nonblocking(true).is_err() {
            return false;
        }
        let mut buf = [0u8; 512];
        let ok = match s.read(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
            // Collectors send nothing on RFC 5425; EOF, data or an error all end it.
            _ => false,
        };
        ok && s.sock.set_nonblocking(false).is_ok()
    }
}

impl Transport for TlsSyslog {
    fn sink(&self) -> &str {
        "syslog"
    }

    fn send(&mut self, events: &[SiemEvent]) -> Result<(), SiemError> {
        if !self.conn.as_mut().is_some_and(Self::alive) {
            self.conn = None;
            self.connect()?;
        }
        let mut bytes = Vec::new();
        for e in events {
            bytes.extend(frame(self.syslog.render(e).as_bytes()));
        }
        let Some(s) = self.conn.as_mut() else {
            return Err(std::io::Error::other("not connected").into());
        };
        let r = s.write_all(&bytes).and_then(|()| s.flush());
        if let Err(e) = r {
            self.conn = None;
            return Err(e.into());
        }
        Ok(())
    }
}

impl Drop for TlsSyslog {
    /// Ends the session with close_notify, so the collector sees a clean end of stream.
    fn drop(&mut self) {
        if let Some(s) = self.conn.as_mut() {
            s.conn.send_close_notify();
            let _ = s.flush();
        }
    }
}
