//! TLS: rustls with the ring provider, TLS 1.2 and 1.3 only. Without a configured
//! certificate, a self-signed one for localhost is made once and sealed in the store.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS certificate or key file {0}: {1}")]
    File(PathBuf, String),
    #[error("generating the self-signed certificate: {0}")]
    Generate(String),
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// Files of the old layout: the self-signed pair used to be kept here in clear.
pub const CERT_FILE: &str = "tls-cert.pem";
pub const KEY_FILE: &str = "tls-key.pem";
/// Name of the self-signed HTTPS key in the store's `sealed_keys` table.
pub const SEALED_NAME: &str = "https-server";

/// The self-signed certificate for localhost, made once and sealed in `store` (the KEK's
/// envelope, so it is in backups and never in clear on disk). A pair from the old layout
/// in `dir` is sealed instead of a new one, then its key file is wiped and removed.
pub fn sealed_self_signed(
    store: &labguard_store::Store,
    dir: &Path,
) -> Result<labguard_store::SealedKey, TlsError> {
    let store_err = |e: labguard_store::StoreError| TlsError::Config(e.to_string());
    let (cert, key) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
    let stored = match store.sealed_key(SEALED_NAME).map_err(store_err)? {
        Some(k) => k,
        None => {
            let (cert_pem, key_pem) = if cert.exists() && key.exists() {
                let read = |p: &Path| {
                    fs::read_to_string(p)
                        .map_err(|e| TlsError::File(p.to_path_buf(), e.to_string()))
                };
                (read(&cert)?, Zeroizing::new(read(&key)?))
            } else {
                let names = vec![
                    "localhost".to_string(),
                    "127.0.0.1".to_string(),
                    "::1".to_string(),
                ];
                let c = rcgen::generate_simple_self_signed(names)
                    .map_err(|e| TlsError::Generate(e.to_string()))?;
                (c.cert.pem(), Zeroizing::new(c.signing_key.serialize_pem()))
            };
            store
                .seal_key_once(
                    &labguard_store::Actor::system(),
                    SEALED_NAME,
                    &cert_pem,
                    &key_pem,
                )
                .map_err(store_err)?
        }
    };
    retire_plain(&key, &stored.key_pem)?;
    Ok(stored)
}

/// Overwrites a plain key file of the old layout with zeros, syncs it and removes it, once
/// its key is sealed; a file holding some other key is refused, not destroyed.
fn retire_plain(p: &Path, sealed_pem: &str) -> Result<(), TlsError> {
    let err = |e: std::io::Error| TlsError::File(p.to_path_buf(), e.to_string());
    if !p.exists() {
        return Ok(());
    }
    let on_disk = Zeroizing::new(fs::read(p).map_err(err)?);
    if !labguard_crypto::ct_eq(on_disk.trim_ascii(), sealed_pem.as_bytes().trim_ascii()) {
        return Err(TlsError::File(
            p.to_path_buf(),
            "not the key sealed in the database; move it out of the data dir".into(),
        ));
    }
    let mut f = fs::OpenOptions::new().write(true).open(p).map_err(err)?;
    f.write_all(&vec![0u8; on_disk.len()]).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    fs::remove_file(p).map_err(err)?;
    if let Some(d) = p.parent() {
        fs::File::open(d).and_then(|d| d.sync_all()).map_err(err)?;
    }
    Ok(())
}

/// A rustls server config for a certificate chain and key given as PEM text.
pub fn server_config_pem(
    cert_pem: &str,
    key_pem: &str,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Config(format!("certificate: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| TlsError::Config(format!("private key: {e}")))?;
    build(certs, key)
}

/// A rustls server config for the given PEM files: TLS 1.2+ with the ring provider, and
/// HTTP/1.1 via ALPN.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| TlsError::File(cert.to_path_buf(), e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::File(cert.to_path_buf(), e.to_string()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsError::File(key.to_path_buf(), e.to_string()))?;
    build(certs, key)
}

fn build(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}
