//! labguard's own device CA: it issues each enrolled instrument a client certificate and
//! the MLLP listener its server certificate, so both ends of mutual TLS chain to one root
//! the lab controls. Kept under `<data dir>/device-ca/`, private keys mode 0600.

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

use crate::MllpError;

pub const CA_DIR: &str = "device-ca";
const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca.key";
const SERVER_CERT: &str = "server.pem";
const SERVER_KEY: &str = "server.key";

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

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "labguard");
    dn.push(DnType::CommonName, cn);
    dn
}

/// Writes a new file only its owner can read; never overwrites.
fn write_private(path: &Path, text: &str) -> Result<(), MllpError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

fn read_private(path: &Path) -> Result<Zeroizing<String>, MllpError> {
    let meta = fs::metadata(path)?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(MllpError::Ca(format!(
            "{} is readable by other users; run `chmod 600` on it",
            path.display()
        )));
    }
    Ok(Zeroizing::new(fs::read_to_string(path)?))
}

impl DeviceCa {
    /// Opens the CA in `data_dir`, creating it on first use.
    pub fn open_or_create(data_dir: &Path) -> Result<DeviceCa, MllpError> {
        let dir = data_dir.join(CA_DIR);
        if dir.join(CA_CERT).exists() {
            let cert_pem = fs::read_to_string(dir.join(CA_CERT))?;
            let key = KeyPair::from_pem(&read_private(&dir.join(CA_KEY))?)?;
            return Ok(DeviceCa { dir, cert_pem, key });
        }
        fs::create_dir_all(&dir)?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::default();
        p.distinguished_name = name("labguard device CA");
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        p.serial_number = Some(serial()?.0);
        validity(&mut p, 20);
        let cert = p.self_signed(&key)?;
        write_private(&dir.join(CA_KEY), &Zeroizing::new(key.serialize_pem()))?;
        fs::write(dir.join(CA_CERT), cert.pem())?;
        Ok(DeviceCa {
            dir,
            cert_pem: cert.pem(),
            key,
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
    /// names or IP addresses instruments connect to).
    pub fn server_identity(
        &self,
        names: &[String],
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), MllpError> {
        let (cp, kp) = (self.dir.join(SERVER_CERT), self.dir.join(SERVER_KEY));
        if !cp.exists() {
            let mut p = CertificateParams::new(names.to_vec())?;
            p.distinguished_name = name("labguard MLLP listener");
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            validity(&mut p, 2);
            let issued = self.issue(p)?;
            write_private(&kp, &issued.key_pem)?;
            fs::write(&cp, &issued.cert_pem)?;
        }
        let certs = CertificateDer::pem_file_iter(&cp)
            .and_then(|i| i.collect::<Result<Vec<_>, _>>())
            .map_err(|e| MllpError::Tls(format!("{}: {e}", cp.display())))?;
        let key = PrivateKeyDer::from_pem_slice(read_private(&kp)?.as_bytes())
            .map_err(|e| MllpError::Tls(format!("{}: {e}", kp.display())))?;
        Ok((certs, key))
    }
}
