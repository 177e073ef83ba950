//! The automated exposure check: connects to one device address a person configured (and
//! nothing else), sees which ports of a list accept TCP, and on TLS ports which of TLS 1.2
//! and TLS 1.3 complete a handshake. Judging the result is labguard-devices' job.
//!
//! rustls cannot speak TLS 1.0/1.1, so a port that only takes those shows as "no TLS 1.2+".

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use labguard_devices::exposure::{PortObservation, PortSpec, TlsVersions};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::MllpError;

/// How the check runs.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Ports to probe (see [`labguard_devices::exposure::default_ports`]).
    pub ports: Vec<PortSpec>,
    /// Per connection attempt and per handshake.
    pub timeout: Duration,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            ports: labguard_devices::exposure::default_ports(),
            timeout: Duration::from_secs(2),
        }
    }
}

/// Accepts any certificate: the check asks which protocol versions a port speaks, not
/// whom to trust (devices mostly carry self-signed certificates). Signatures are still
/// checked so a handshake only counts when it really completed.
#[derive(Debug)]
struct AnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn client(
    version: &'static rustls::SupportedProtocolVersion,
) -> Result<Arc<ClientConfig>, MllpError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[version])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

async fn connect(addr: SocketAddr, timeout: Duration) -> Option<TcpStream> {
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => Some(s),
        _ => None,
    }
}

async fn handshake(
    addr: SocketAddr,
    name: &ServerName<'static>,
    cfg: Arc<ClientConfig>,
    timeout: Duration,
) -> bool {
    let Some(tcp) = connect(addr, timeout).await else {
        return false;
    };
    let connector = TlsConnector::from(cfg);
    matches!(
        tokio::time::timeout(timeout, connector.connect(name.clone(), tcp)).await,
        Ok(Ok(_))
    )
}

/// Probes `host` (an IP address or a name resolved once) on every listed port.
pub async fn scan(host: &str, opts: &ScanOptions) -> Result<Vec<PortObservation>, MllpError> {
    let ip = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip,
        Err(_) => tokio::net::lookup_host((host, 0))
            .await?
            .next()
            .map(|a| a.ip())
            .ok_or_else(|| {
                MllpError::Io(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("{host} does not resolve"),
                ))
            })?,
    };
    let name: ServerName<'static> = match ServerName::try_from(host.to_string()) {
        Ok(n) => n,
        Err(_) => ServerName::IpAddress(ip.into()),
    };
    let tls12 = client(&rustls::version::TLS12)?;
    let tls13 = client(&rustls::version::TLS13)?;
    let mut out = Vec::with_capacity(opts.ports.len());
    for spec in &opts.ports {
        let addr = SocketAddr::new(ip, spec.port);
        let open = connect(addr, opts.timeout).await.is_some();
        let tls = if open && spec.service.tls_expected() {
            Some(TlsVersions {
                tls12: handshake(addr, &name, tls12.clone(), opts.timeout).await,
                tls13: handshake(addr, &name, tls13.clone(), opts.timeout).await,
            })
        } else {
            None
        };
        out.push(PortObservation {
            spec: *spec,
            open,
            tls,
        });
    }
    Ok(out)
}
