//! TLS to PostgreSQL: the libpq `sslmode` / `sslrootcert` parameters, the policy that
//! decides TLS by default for any host that is not this machine, and a rustls connector
//! (ring provider, TLS 1.2+) for the `postgres` crate.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use postgres::config::Host;
use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use postgres::Socket;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::StoreError;

/// libpq's `sslmode` values. `allow` is not offered: it starts in the clear.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// TLS if the server offers it, else plain; no certificate check. Local hosts only,
    /// because an attacker in the path can make it fall back to plain.
    Prefer,
    /// Encrypt, do not check the certificate.
    Require,
    /// Encrypt, the certificate must chain to the CA; the host name is not checked.
    VerifyCa,
    /// Encrypt, chain to the CA and the certificate must name the host.
    VerifyFull,
}

impl SslMode {
    fn parse(s: &str) -> Result<SslMode, StoreError> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => {
                return Err(StoreError::Unavailable(
                    "sslmode must be disable, prefer, require, verify-ca or verify-full".into(),
                ))
            }
        })
    }
}

/// Where trusted CAs for verify-ca / verify-full come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RootCerts {
    /// `sslrootcert=PATH`: a PEM bundle.
    File(PathBuf),
    /// No `sslrootcert`, or `sslrootcert=system`: the Mozilla bundle compiled in (webpki-roots).
    Bundled,
}

/// A parsed connection string: what the `postgres` crate gets, and the TLS decision.
pub struct PgTarget {
    pub config: postgres::Config,
    pub mode: SslMode,
    pub roots: RootCerts,
}

impl std::fmt::Debug for PgTarget {
    // Never the config: it holds the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgTarget")
            .field("mode", &self.mode)
            .field("roots", &self.roots)
            .finish_non_exhaustive()
    }
}

fn is_local_name(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h == "127.0.0.1" || h == "::1"
}

/// True when every host is this machine (loopback name or address, or a Unix socket).
fn all_local(config: &postgres::Config) -> bool {
    config.get_hosts().iter().all(|h| match h {
        Host::Tcp(name) => is_local_name(name),
        Host::Unix(_) => true,
    }) && config.get_hostaddrs().iter().all(|a| a.is_loopback())
}

fn only_unix_sockets(config: &postgres::Config) -> bool {
    config.get_hostaddrs().is_empty()
        && config
            .get_hosts()
            .iter()
            .all(|h| matches!(h, Host::Unix(_)))
}

/// Parses a libpq URL (`postgres://…?sslmode=…&sslrootcert=…`) or key/value string and
/// applies the policy: verify-full unless every host is local (then no TLS, as before);
/// a non-local host without TLS only with an explicit `sslmode=disable`.
pub fn parse_target(url: &str) -> Result<PgTarget, StoreError> {
    let split = split_ssl_params(url);
    let mut config: postgres::Config = split
        .rest
        .parse()
        // The parser's message can quote the URL (and so the password): say only what is wrong.
        .map_err(|_| StoreError::Unavailable("the PostgreSQL URL is not valid".into()))?;
    let explicit = split.sslmode.as_deref().map(SslMode::parse).transpose()?;
    let local = all_local(&config);
    let mut mode = match explicit {
        Some(m) => m,
        None if local => SslMode::Disable,
        None => SslMode::VerifyFull,
    };
    let roots = match split.sslrootcert.as_deref() {
        None | Some("system") => RootCerts::Bundled,
        Some(p) => RootCerts::File(PathBuf::from(p)),
    };
    // libpq: `require` with a root certificate given checks the chain like verify-ca.
    if mode == SslMode::Require && matches!(roots, RootCerts::File(_)) {
        mode = SslMode::VerifyCa;
    }
    if !local && mode == SslMode::Prefer {
        return Err(StoreError::Unavailable(
            "sslmode=prefer can fall back to no TLS and is refused for a PostgreSQL host that is \
             not this machine: use sslmode=verify-full (with sslrootcert=PATH), or write \
             sslmode=disable explicitly to connect without TLS"
                .into(),
        ));
    }
    // libpq never uses TLS on a Unix socket; the postgres crate would fail without a host name.
    if only_unix_sockets(&config) {
        mode = SslMode::Disable;
    }
    config.ssl_mode(match mode {
        SslMode::Disable => postgres::config::SslMode::Disable,
        SslMode::Prefer => postgres::config::SslMode::Prefer,
        _ => postgres::config::SslMode::Require,
    });
    Ok(PgTarget {
        config,
        mode,
        roots,
    })
}

struct Split {
    rest: String,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
}

/// Takes `sslmode` and `sslrootcert` out of the string (the `postgres` crate knows only
/// disable/prefer/require and no `sslrootcert`) and leaves everything else as it was.
fn split_ssl_params(url: &str) -> Split {
    let mut out = Split {
        rest: url.to_string(),
        sslmode: None,
        sslrootcert: None,
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some((base, query)) = url.split_once('?') else {
            return out;
        };
        let mut kept = vec![];
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("sslmode", v)) => out.sslmode = Some(percent_decode(v)),
                Some(("sslrootcert", v)) => out.sslrootcert = Some(percent_decode(v)),
                _ => kept.push(pair),
            }
        }
        out.rest = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return out;
    }
    // Key/value form: `host=… sslmode=verify-full sslrootcert='/a b/ca.pem'`.
    let mut rest = String::with_capacity(url.len());
    for (key, value, raw) in key_values(url) {
        match key.as_str() {
            "sslmode" => out.sslmode = Some(value),
            "sslrootcert" => out.sslrootcert = Some(value),
            _ => {
                rest.push_str(raw);
                rest.push(' ');
            }
        }
    }
    out.rest = rest.trim_end().to_string();
    out
}

/// `key = value` pairs of a libpq key/value string with the unquoted value and the raw text.
/// On a syntax error the remainder is passed on as it is, for the `postgres` parser to refuse.
fn key_values(s: &str) -> Vec<(String, String, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = vec![];
    let skip_ws = |i: &mut usize| {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= b.len() {
            return out;
        }
        let start = i;
        while i < b.len() && b[i] != b'=' && !b[i].is_ascii_whitespace() {
            i += 1;
        }
        let key = s[start..i].to_string();
        skip_ws(&mut i);
        if i >= b.len() || b[i] != b'=' {
            out.push((String::new(), String::new(), &s[start..]));
            return out;
        }
        i += 1;
        skip_ws(&mut i);
        let mut value = Vec::new();
        if i < b.len() && b[i] == b'\'' {
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                value.push(b[i]);
                i += 1;
            }
            i = (i + 1).min(b.len());
        } else {
            while i < b.len() && !b[i].is_ascii_whitespace() {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                value.push(b[i]);
                i += 1;
            }
        }
        let value = String::from_utf8_lossy(&value).into_owned();
        out.push((key, value, &s[start..i]));
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The rustls client configuration for a target that uses TLS.
pub(crate) fn client_config(target: &PgTarget) -> Result<Arc<ClientConfig>, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    let checks = matches!(target.mode, SslMode::VerifyCa | SslMode::VerifyFull);
    if checks {
        match &target.roots {
            RootCerts::Bundled => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            RootCerts::File(path) => {
                let bad = |why: &str| {
                    StoreError::Unavailable(format!("sslrootcert {}: {why}", path.display()))
                };
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|_| bad("cannot read it as a PEM file"))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| bad("is not a valid PEM certificate bundle"))?;
                let (added, _) = roots.add_parsable_certificates(certs);
                if added == 0 {
                    return Err(bad("holds no usable CA certificate"));
                }
            }
        }
    }
    let webpki = if checks {
        Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| StoreError::Unavailable(format!("TLS roots: {e}")))?,
        )
    } else {
        None
    };
    let verifier = Arc::new(Verifier {
        mode: target.mode,
        webpki,
        provider: provider.clone(),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| StoreError::Unavailable(format!("TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// libpq's three levels of checking on top of rustls' WebPKI verifier. Handshake signatures
/// are always verified, so even `require` talks to whoever holds the certificate's key.
#[derive(Debug)]
struct Verifier {
    mode: SslMode,
    webpki: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        let r =
            webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        match (self.mode, r) {
            // The chain is checked before the name, so a name error means the chain was good.
            (
                SslMode::VerifyCa,
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                )),
            ) => Ok(ServerCertVerified::assertion()),
            (_, r) => r,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `MakeTlsConnect` for the `postgres` crate over tokio-rustls.
#[derive(Clone)]
pub(crate) struct RustlsConnect {
    pub(crate) config: Arc<ClientConfig>,
}

/// A TLS failure said in the operator's terms (the host name, never the URL).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(String);

impl MakeTlsConnect<Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnectOne;
    type Error = TlsError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnectOne, TlsError> {
        let name = ServerName::try_from(domain.trim_start_matches('[').trim_end_matches(']'))
            .map_err(|_| TlsError(format!("{domain:?} is not a host name TLS can check")))?
            .to_owned();
        Ok(RustlsConnectOne {
            connector: tokio_rustls::TlsConnector::from(self.config.clone()),
            name,
            host: domain.to_string(),
        })
    }
}

pub(crate) struct RustlsConnectOne {
    connector: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
    host: String,
}

type ConnectFuture = Pin<Box<dyn Future<Output = Result<RustlsStream, TlsError>> + Send>>;

impl TlsConnect<Socket> for RustlsConnectOne {
    type Stream = RustlsStream;
    type Error = TlsError;
    type Future = ConnectFuture;

    fn connect(self, stream: Socket) -> ConnectFuture {
        Box::pin(async move {
            self.connector
                .connect(self.name, stream)
                .await
                .map(|s| RustlsStream(Box::new(s)))
                .map_err(|e| describe(&e, &self.host))
        })
    }
}

fn describe(e: &io::Error, host: &str) -> TlsError {
    let tls = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    TlsError(match tls {
        Some(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature,
        )) => format!(
            "the certificate of PostgreSQL server {host} is not signed by a trusted CA \
             (sslrootcert names the CA that signed it)"
        ),
        Some(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        )) => format!(
            "the certificate of PostgreSQL server {host} is not valid for the name {host} \
             (sslmode=verify-full checks the host name)"
        ),
        Some(other) => format!("TLS with PostgreSQL server {host} failed: {other}"),
        None => format!("TLS with PostgreSQL server {host} failed: {e}"),
    })
}

/// The TLS stream handed to the `postgres` crate.
pub struct RustlsStream(Box<tokio_rustls::client::TlsStream<Socket>>);

impl AsyncRead for RustlsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.0).poll_shutdown(cx)
    }
}

impl TlsStream for RustlsStream {
    // No tls-server-end-point binding: SCRAM runs without channel binding (the server
    // certificate is already checked under verify-ca/verify-full).
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(url: &str) -> Result<SslMode, String> {
        parse_target(url).map(|t| t.mode).map_err(|e| e.to_string())
    }

    #[test]
    fn local_hosts_default_to_no_tls_and_others_to_verify_full() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/test",
            "postgres://postgres@localhost/test",
            "postgres://postgres@[::1]:5432/test",
            "host=/var/run/postgresql user=postgres dbname=test",
        ] {
            assert_eq!(mode(url), Ok(SslMode::Disable), "{url}");
        }
        for url in [
            "postgres://u:secret@db.lab.example:5432/lab",
            "postgres://u@10.0.0.7/lab",
            "host=db.lab.example user=u dbname=lab",
            "postgres://u@localhost,db2.lab.example/lab",
        ] {
            assert_eq!(mode(url), Ok(SslMode::VerifyFull), "{url}");
        }
    }

    #[test]
    fn a_remote_host_without_tls_needs_an_explicit_disable() {
        let err = mode("postgres://u:hunter2secret@db.lab.example/lab?sslmode=prefer").unwrap_err();
        assert!(err.contains("sslmode=disable"), "{err}");
        assert!(!err.contains("hunter2secret"), "{err}");
        assert_eq!(
            mode("postgres://u@db.lab.example/lab?sslmode=disable"),
            Ok(SslMode::Disable)
        );
        // prefer stays available on this machine.
        assert_eq!(
            mode("postgres://u@localhost/lab?sslmode=prefer"),
            Ok(SslMode::Prefer)
        );
    }

    #[test]
    fn ssl_params_are_taken_out_and_the_rest_is_kept() {
        let t = parse_target(
            "postgres://u:pw@db.lab.example:6543/lab?connect_timeout=3&sslmode=verify-ca&sslrootcert=%2Fetc%2Flab%20ca.pem&application_name=lg",
        )
        .unwrap();
        assert_eq!(t.mode, SslMode::VerifyCa);
        assert_eq!(t.roots, RootCerts::File("/etc/lab ca.pem".into()));
        assert_eq!(t.config.get_ports(), &[6543]);
        assert_eq!(t.config.get_application_name(), Some("lg"));
        assert_eq!(
            t.config.get_connect_timeout(),
            Some(&std::time::Duration::from_secs(3))
        );
        let t = parse_target(
            "host=db.lab.example user=u sslmode = verify-full sslrootcert='/a b/c\\'a.pem' dbname=lab",
        )
        .unwrap();
        assert_eq!(t.mode, SslMode::VerifyFull);
        assert_eq!(t.roots, RootCerts::File("/a b/c'a.pem".into()));
        assert_eq!(t.config.get_dbname(), Some("lab"));
    }

    #[test]
    fn require_with_a_root_certificate_checks_the_chain_as_libpq_does() {
        assert_eq!(
            mode("postgres://u@db.lab.example/lab?sslmode=require"),
            Ok(SslMode::Require)
        );
        assert_eq!(
            mode("postgres://u@db.lab.example/lab?sslmode=require&sslrootcert=/ca.pem"),
            Ok(SslMode::VerifyCa)
        );
        assert_eq!(
            parse_target("postgres://u@db.lab.example/lab?sslrootcert=system")
                .unwrap()
                .roots,
            RootCerts::Bundled
        );
    }

    #[test]
    fn bad_values_are_refused_without_echoing_the_url() {
        let err = mode("postgres://u:s3cretpw@db.lab.example/lab?sslmode=allow").unwrap_err();
        assert!(err.contains("sslmode must be"), "{err}");
        let err = mode("postgres://u:s3cretpw@db.lab.example/lab?bogus=1").unwrap_err();
        assert!(!err.contains("s3cretpw"), "{err}");
    }
}
