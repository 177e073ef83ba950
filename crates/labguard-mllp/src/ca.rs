//! labguard's own device CA: it issues each enrolled instrument a client certificate and
//! the MLLP listener its server certificate, so both ends of mutual TLS chain to one root
//! the lab controls. The private keys are sealed in the store (`Store::sealed_key`); only
//! the public CA certificate is written to `<data dir>/device-ca/ca.pem`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use chrono::{Datelike, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};
use rustls_pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use zeroize::Zeroizing;

use labguard_store::{Actor, Store};

use crate::MllpError;

pub const CA_DIR: &str = "device-ca";
const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca.key";
const SERVER_CERT: &str = "server.pem";
const SERVER_KEY: &str = "server.key";
/// Names of the keys in the store's `sealed_keys` table.
pub const CA_SEALED: &str = "device-ca";
pub const SERVER_SEALED: &str = "mllp-server";

/// A certificate and key issued to a device, as PEM.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: Zeroizing<String>,
    /// Hex of the certificate serial number.
    pub serial: String,
    /// Lowercase hex SHA-256 of the certificate DER: what enrollment binds to.
    pub fingerprint: String,
}

pub struct DeviceCa {
    dir: PathBuf,
    cert_pem: String,
    key: KeyPair,
}

/// Lowercase hex SHA-256 of a DER certificate.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(labguard_crypto::sha256(der))
}

/// The fingerprint of the first certificate in a PEM text (None if there is none).
pub fn pem_fingerprint(pem: &str) -> Option<String> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).ok()?;
    Some(fingerprint(&der))
}

fn serial() -> Result<(SerialNumber, String), MllpError> {
    let mut b = [0u8; 16];
    getrandom(&mut b)?;
    // Positive INTEGER: clear the top bit.
    b[0] &= 0x7f;
    Ok((SerialNumber::from_slice(&b), hex::encode(b)))
}

fn getrandom(buf: &mut [u8]) -> Result<(), MllpError> {
    let k = labguard_crypto::random_key().map_err(|e| MllpError::Ca(e.to_string()))?;
    for (d, s) in buf.iter_mut().zip(k.iter()) {
        *d = *s;
    }
    Ok(())
}

/// Validity from yesterday (clock skew between instruments) for `years`.
fn validity(p: &mut CertificateParams, years: i32) {
    let now = Utc::now() - chrono::Duration::days(1);
    let (m, d) = (now.month() as u8, now.day().min(28) as u8);
    p.not_before = rcgen::date_time_ymd(now.year(), m, d);
    p.not_after = rcgen::date_time_ymd(now.year() + years, m, d);
}

/// A new self-signed CA: (certificate PEM, key PEM).
fn new_ca() -> Result<(String, Zeroizing<String>), MllpError> {
    let key = KeyPair::generate()?;
    let mut p = CertificateParams::default();
    p.distinguished_name = name("labguard device CA");
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.serial_number = Some(serial()?.0);
    validity(&mut p, 20);
    let cert = p.self_signed(&key)?;
    Ok((cert.pem(), Zeroizing::new(key.serialize_pem())))
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "labguard");
    dn.push(DnType::CommonName, cn);
    dn
}

/// Where a key from the old layout (a plain PEM file) is, once it is sealed in the store:
/// its bytes are overwritten with zeros and synced before the name is removed, so the
/// plain key does not linger in the file's blocks or the directory. A file that is not the
/// sealed key is left alone and refused: destroying a key we do not hold is not ours to do.
fn retire_plain(path: &Path, sealed_pem: &str) -> Result<(), MllpError> {
    use std::io::{Seek, Write};
    if !path.exists() {
        return Ok(());
    }
    let on_disk = Zeroizing::new(fs::read(path)?);
    if !labguard_crypto::ct_eq(on_disk.trim_ascii(), sealed_pem.as_bytes().trim_ascii()) {
        return Err(MllpError::Ca(format!(
            "{} is not the key sealed in the database; move it out of the data dir",
            path.display()
        )));
    }
    let mut f = fs::OpenOptions::new().write(true).open(path)?;
    f.seek(std::io::SeekFrom::Start(0))?;
    f.write_all(&vec![0u8; on_disk.len()])?;
    f.sync_all()?;
    drop(f);
    fs::remove_file(path)?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// A key file of the old layout, if present (same permission check as before).
fn read_legacy(path: &Path) -> Result<Option<Zeroizing<String>>, MllpError> {
    if !path.exists() {
        return Ok(None);
    }
    let meta = fs::metadata(path)?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(MllpError::Ca(format!(
            "{} is readable by other users; run `chmod 600` on it",
            path.display()
        )));
    }
    Ok(Some(Zeroizing::new(fs::read_to_string(path)?)))
}

/// Writes the public certificate beside the (former) key location, for operators who hand
/// it to instruments; the database is the source of truth.
fn write_public(path: &Path, pem: &str) -> Result<(), MllpError> {
    if fs::read_to_string(path).ok().as_deref() != Some(pem) {
        fs::write(path, pem)?;
    }
    Ok(())
}

impl DeviceCa {
    /// Opens the CA sealed in `store`, creating it on first use. A CA from the old layout
    /// (plain `device-ca/ca.key`) is sealed into the store and its file wiped.
    pub fn open_or_create(store: &Store, data_dir: &Path) -> Result<DeviceCa, MllpError> {
        let dir = data_dir.join(CA_DIR);
        fs::create_dir_all(&dir)?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        let stored = match store.sealed_key(CA_SEALED)? {
            Some(k) => k,
            None => {
                let (cert_pem, key_pem) = match read_legacy(&dir.join(CA_KEY))? {
                    Some(key) => (fs::read_to_string(dir.join(CA_CERT))?, key),
                    None => new_ca()?,
                };
                store.seal_key_once(&Actor::system(), CA_SEALED, &cert_pem, &key_pem)?
            }
        };
        retire_plain(&dir.join(CA_KEY), &stored.key_pem)?;
        write_public(&dir.join(CA_CERT), &stored.cert_pem)?;
        let key = KeyPair::from_pem(&stored.key_pem)?;
        Ok(DeviceCa {
            dir,
            cert_pem: stored.cert_pem,
            key,
        })
    }

    /// A CA that is never stored (tests: a rogue CA the listener must not trust).
    pub fn unsaved() -> Result<DeviceCa, MllpError> {
        let (cert_pem, key_pem) = new_ca()?;
        Ok(DeviceCa {
            dir: PathBuf::new(),
            key: KeyPair::from_pem(&key_pem)?,
            cert_pem,
        })
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn cert_path(&self) -> PathBuf {
        self.dir.join(CA_CERT)
    }

    pub fn root_der(&self) -> Result<CertificateDer<'static>, MllpError> {
        CertificateDer::from_pem_slice(self.cert_pem.as_bytes())
            .map_err(|e| MllpError::Ca(format!("CA certificate: {e}")))
    }

    fn issue(&self, mut p: CertificateParams) -> Result<Issued, MllpError> {
        let key = KeyPair::generate()?;
        let (sn, serial) = serial()?;
        p.serial_number = Some(sn);
        p.use_authority_key_identifier_extension = true;
        let issuer = Issuer::from_ca_cert_pem(&self.cert_pem, &self.key)?;
        let cert = p.signed_by(&key, &issuer)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: Zeroizing::new(key.serialize_pem()),
            serial,
            fingerprint: fingerprint(cert.der()),
        })
    }

    /// A client certificate for an instrument (CN = its enrolled name), valid 5 years.
    pub fn issue_device(&self, device_name: &str) -> Result<Issued, MllpError> {
        let mut p = CertificateParams::default();
        p.distinguished_name = name(device_name);
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        validity(&mut p, 5);
        self.issue(p)
    }

    /// The listener's certificate chain and key, issued on first use for `names` (DNS
    /// names or IP addresses instruments connect to) and sealed in `store`.
    pub fn server_identity(
        &self,
        store: &Store,
        names: &[String],
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), MllpError> {
        let (cp, kp) = (self.dir.join(SERVER_CERT), self.dir.join(SERVER_KEY));
        let stored = match store.sealed_key(SERVER_SEALED)? {
            Some(k) => k,
            None => {
                let (cert_pem, key_pem) = match read_legacy(&kp)? {
                    Some(key) => (fs::read_to_string(&cp)?, key),
                    None => {
                        let mut p = CertificateParams::new(names.to_vec())?;
                        p.distinguished_name = name("labguard MLLP listener");
                        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
                        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
                        validity(&mut p, 2);
                        let issued = self.issue(p)?;
                        (issued.cert_pem, issued.key_pem)
                    }
                };
                store.seal_key_once(&Actor::system(), SERVER_SEALED, &cert_pem, &key_pem)?
            }
        };
        retire_plain(&kp, &stored.key_pem)?;
        let certs = CertificateDer::pem_slice_iter(stored.cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| MllpError::Tls(format!("sealed MLLP server certificate: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(stored.key_pem.as_bytes())
            .map_err(|e| MllpError::Tls(format!("sealed MLLP server key: {e}")))?;
        Ok((certs, key))
    }
}
