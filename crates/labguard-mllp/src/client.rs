//! An MLLP sender, as an instrument would be: one message in flight, wait for its ACK.
//! Used by the simulated analyzer, the load generator and the tests.

use std::sync::Arc;

use labguard_hl7::mllp::{frame, MllpDecoder};
use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::MllpError;

/// Callers build clients without depending on rustls themselves.
pub use rustls::ClientConfig as TlsClientConfig;

/// A client TLS configuration trusting `ca_pem`, optionally presenting a certificate.
pub fn tls_client_config(
    ca_pem: &str,
    identity: Option<(&str, &str)>,
) -> Result<Arc<ClientConfig>, MllpError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.map_err(|e| MllpError::Tls(e.to_string()))?)?;
    }
    let b = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_root_certificates(roots);
    let cfg = match identity {
        Some((cert_pem, key_pem)) => {
            let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| MllpError::Tls(e.to_string()))?;
            let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
                .map_err(|e| MllpError::Tls(e.to_string()))?;
            b.with_client_auth_cert(certs, key)?
        }
        None => b.with_no_client_auth(),
    };
    Ok(Arc::new(cfg))
}

/// A connection carrying MLLP frames.
pub struct Client<S> {
    stream: S,
    dec: MllpDecoder,
    buf: Vec<u8>,
}

impl Client<TcpStream> {
    pub async fn tcp(addr: std::net::SocketAddr) -> Result<Self, MllpError> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Client::new(s))
    }
}

impl Client<tokio_rustls::client::TlsStream<TcpStream>> {
    pub async fn tls(
        addr: std::net::SocketAddr,
        server_name: &str,
        config: Arc<ClientConfig>,
    ) -> Result<Self, MllpError> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        let name = ServerName::try_from(server_name.to_string())
            .map_err(|e| MllpError::Tls(e.to_string()))?;
        let tls = TlsConnector::from(config).connect(name, s).await?;
        Ok(Client::new(tls))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    pub fn new(stream: S) -> Self {
        Client {
            stream,
            dec: MllpDecoder::new(),
            buf: vec![0; 16 * 1024],
        }
    }

    /// Sends one message and waits for the reply frame.
    pub async fn send(&mut self, msg: &[u8]) -> Result<Vec<u8>, MllpError> {
        self.stream.write_all(&frame(msg)).await?;
        self.stream.flush().await?;
        self.recv().await
    }

    /// Waits for the next frame (e.g. the application ACK after an enhanced-mode CA).
    pub async fn recv(&mut self) -> Result<Vec<u8>, MllpError> {
        loop {
            if let Some(f) = self.dec.next_frame() {
                return f.map_err(|e| MllpError::Io(std::io::Error::other(e.to_string())));
            }
            let n = self.stream.read(&mut self.buf).await?;
            if n == 0 {
                return Err(MllpError::Io(std::io::ErrorKind::UnexpectedEof.into()));
            }
            self.dec.push(self.buf.get(..n).unwrap_or_default());
        }
    }
}

/// MSA-1 of an ACK (`AA`, `AE`, `AR`…), if it has one.
pub fn ack_code(ack: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(ack);
    let msa = text
        .split(['\r', '\n'])
        .find(|s| s.starts_with("MSA"))?
        .to_string();
    let sep = msa.chars().nth(3)?;
    msa.split(sep).nth(1).map(str::to_string)
}
