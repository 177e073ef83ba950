//! TLS private keys (the device CA, the MLLP and HTTPS server keys) sealed in the database
//! with the active data key, the same envelope as every other secret: the KEK wraps the
//! data key, the data key seals the PEM (AES-256-GCM bound to `sealed_keys/<name>/key_pem`).
//! So they are in every backup, `keys rotate` re-seals them, and no key file sits in the
//! data dir in clear. The store only keeps and returns bytes; the edges parse them.

use labguard_audit::Outcome;
use labguard_crypto::FieldRef;
use zeroize::Zeroizing;

use crate::action::Action;
use crate::actor::Actor;
use crate::backend::{query_one, Tx, Value};
use crate::store::{rfc3339, Store};
use crate::StoreError;

const TABLE: &str = "sealed_keys";
const COLUMN: &str = "key_pem";

/// A certificate (public, PEM) and its private key (PEM, wiped on drop).
pub struct SealedKey {
    pub cert_pem: String,
    pub key_pem: Zeroizing<String>,
}

impl Store {
    /// The key stored under `name`, unsealed; None if there is none yet.
    pub fn sealed_key(&self, name: &str) -> Result<Option<SealedKey>, StoreError> {
        match self.read_sealed(name) {
            Err(StoreError::Crypto(labguard_crypto::CryptoError::UnknownKeyVersion(_))) => {
                // Another node rotated since our key ring was loaded.
                self.reload_keys()?;
                self.read_sealed(name)
            }
            other => other,
        }
    }

    fn read_sealed(&self, name: &str) -> Result<Option<SealedKey>, StoreError> {
        let mut tx = self.backend.begin()?;
        self.sealed_in(tx.as_mut(), name)
    }

    fn sealed_in(&self, tx: &mut dyn Tx, name: &str) -> Result<Option<SealedKey>, StoreError> {
        let Some(row) = query_one(
            tx,
            "SELECT cert_pem, key_sealed FROM sealed_keys WHERE name = ?",
            &[name.into()],
        )?
        else {
            return Ok(None);
        };
        let [cert, sealed] = row.as_slice() else {
            return Err(StoreError::Corrupt("sealed_keys row shape".into()));
        };
        let mut pt = self
            .ring()?
            .open(&FieldRef::new(TABLE, name, COLUMN), sealed.as_blob()?)
            .map_err(|e| match e {
                labguard_crypto::CryptoError::Authentication => StoreError::Corrupt(format!(
                    "sealed_keys row {name}: ciphertext failed authentication"
                )),
                other => StoreError::Crypto(other),
            })?;
        // Move the bytes into the String without a copy; the Zeroizing wrappers wipe them.
        let key_pem = match String::from_utf8(std::mem::take(&mut *pt)) {
            Ok(s) => Zeroizing::new(s),
            Err(e) => {
                drop(Zeroizing::new(e.into_bytes()));
                return Err(StoreError::Corrupt(format!(
                    "sealed_keys row {name}: not PEM text"
                )));
            }
        };
        Ok(Some(SealedKey {
            cert_pem: cert.as_text()?.to_string(),
            key_pem,
        }))
    }

    /// Seals and stores a key under `name` unless one is already there, and returns the
    /// stored one: when two nodes create the same key at once, both end up using the
    /// winner's. The first store is audited (`keys.seal`).
    pub fn seal_key_once(
        &self,
        actor: &Actor,
        name: &str,
        cert_pem: &str,
        key_pem: &str,
    ) -> Result<SealedKey, StoreError> {
        self.write(|tx, pending| {
            let (sealed, version) = {
                let ring = self.ring()?;
                (
                    ring.seal(&FieldRef::new(TABLE, name, COLUMN), key_pem.as_bytes())?,
                    ring.active_version(),
                )
            };
            let n = tx.execute(
                "INSERT INTO sealed_keys (name, cert_pem, key_sealed, key_version, created_at) \
                 VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING",
                &[
                    name.into(),
                    cert_pem.into(),
                    Value::Blob(sealed),
                    Value::Int(version.into()),
                    rfc3339(self.now()).into(),
                ],
            )?;
            if n > 0 {
                pending.push(self.entry(
                    actor,
                    Action::KeysSeal,
                    "key",
                    name,
                    None,
                    Outcome::Success,
                )?);
            }
            self.sealed_in(tx, name)?
                .ok_or_else(|| StoreError::Corrupt("sealed_keys row vanished".into()))
        })
    }

    /// Re-seals every stored key under data-key version `to` (part of `keys rotate`).
    pub(crate) fn reseal_sealed_keys(&self, to: u32) -> Result<u64, StoreError> {
        self.write(|tx, _pending| {
            let ring = self.ring()?;
            crate::accounts::reseal_column(
                tx,
                &ring,
                i64::from(to),
                "SELECT name, key_sealed FROM sealed_keys WHERE key_version < ?",
                (TABLE, COLUMN),
                "UPDATE sealed_keys SET key_sealed = ?, key_version = ? WHERE name = ?",
            )
        })
    }
}
