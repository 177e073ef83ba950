use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::{hkdf, hmac};
use zeroize::Zeroizing;

use crate::{random_bytes, CryptoError};

/// Format byte of field ciphertexts, so the layout can change later without guessing.
const FORMAT_V1: u8 = 1;
const HEADER: usize = 1 + 4 + NONCE_LEN;
const TAG: usize = 16;

/// Where a ciphertext lives. All four parts go into the AEAD's associated data.
#[derive(Debug, Clone, Copy)]
pub struct FieldRef<'a> {
    pub table: &'a str,
    pub row: &'a str,
    pub column: &'a str,
}

impl<'a> FieldRef<'a> {
    pub fn new(table: &'a str, row: &'a str, column: &'a str) -> Self {
        FieldRef { table, row, column }
    }

    /// Writes the associated data into `buf` (on the caller's stack in the common case)
    /// and returns its length, or `None` if it does not fit.
    fn aad_into(&self, version: u32, buf: &mut [u8]) -> Option<usize> {
        const PREFIX: &[u8] = b"labguard/field/v1\0";
        let mut n = 0;
        let mut put = |bytes: &[u8]| -> Option<()> {
            buf.get_mut(n..n + bytes.len())?.copy_from_slice(bytes);
            n += bytes.len();
            Some(())
        };
        put(PREFIX)?;
        for part in [self.table, self.row, self.column] {
            // Length-prefixed so ("ab","c") and ("a","bc") differ.
            put(&u32::try_from(part.len()).ok()?.to_be_bytes())?;
            put(part.as_bytes())?;
        }
        put(&version.to_be_bytes())?;
        Some(n)
    }

    /// Runs `f` with the associated data, avoiding a heap allocation for usual names.
    fn with_aad<T>(&self, version: u32, f: impl FnOnce(&[u8]) -> T) -> T {
        let mut stack = [0u8; 192];
        match self.aad_into(version, &mut stack) {
            Some(n) => f(&stack[..n]),
            None => {
                let need = 18 + 12 + self.table.len() + self.row.len() + self.column.len() + 4;
                let mut heap = vec![0u8; need];
                let n = self.aad_into(version, &mut heap).unwrap_or(0);
                f(&heap[..n])
            }
        }
    }
}

/// Random 96-bit nonces under one key stay safe to about 2^32 encryptions (NIST SP
/// 800-38D, 8.3); labguard warns at 2^30 and refuses to seal at 2^31, far below.
pub const SEAL_WARN: u64 = 1 << 30;
pub const SEAL_LIMIT: u64 = 1 << 31;

struct DataKey {
    aead: LessSafeKey,
    /// Seals recorded durably (as last read from the store).
    recorded: AtomicU64,
    /// Seals made by this process and not yet recorded.
    pending: AtomicU64,
}

/// The unwrapped keys a node holds while it runs: every data-key version still in use,
/// which one new writes use, and the stable blind-index, pseudonym and signing keys.
pub struct KeyRing {
    data: BTreeMap<u32, DataKey>,
    active: u32,
    blind: hmac::Key,
    pseudonym: hmac::Key,
    signing_seed: Zeroizing<[u8; 32]>,
}

/// The key version a ciphertext was sealed under, read from its header.
pub fn ciphertext_version(ct: &[u8]) -> Result<u32, CryptoError> {
    if ct.len() < HEADER + TAG {
        return Err(CryptoError::Malformed("too short"));
    }
    if ct[0] != FORMAT_V1 {
        return Err(CryptoError::Malformed("unknown format"));
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(&ct[1..5]);
    Ok(u32::from_be_bytes(v))
}

impl KeyRing {
    pub fn new(blind_key: &[u8; 32], pseudonym_key: &[u8; 32], signing_seed: &[u8; 32]) -> KeyRing {
        KeyRing {
            data: BTreeMap::new(),
            active: 0,
            blind: hmac::Key::new(hmac::HMAC_SHA256, blind_key),
            pseudonym: hmac::Key::new(hmac::HMAC_SHA256, pseudonym_key),
            signing_seed: Zeroizing::new(*signing_seed),
        }
    }

    /// Adds a data key; the highest version added becomes the active one unless
    /// [`KeyRing::set_active`] says otherwise.
    pub fn add_data_key(&mut self, version: u32, key: &[u8; 32]) -> Result<(), CryptoError> {
        let unbound = UnboundKey::new(&AES_256_GCM, key)
            .map_err(|_| CryptoError::Malformed("data key rejected"))?;
        self.data.insert(
            version,
            DataKey {
                aead: LessSafeKey::new(unbound),
                recorded: AtomicU64::new(0),
                pending: AtomicU64::new(0),
            },
        );
        self.active = self.active.max(version);
        Ok(())
    }

    pub fn set_active(&mut self, version: u32) -> Result<(), CryptoError> {
        if !self.data.contains_key(&version) {
            return Err(CryptoError::UnknownKeyVersion(version));
        }
        self.active = version;
        Ok(())
    }

    pub fn remove_data_key(&mut self, version: u32) {
        self.data.remove(&version);
    }

    /// Raises the recorded seal count of `version` to `seals` (the store's total).
    pub fn set_recorded(&self, version: u32, seals: u64) {
        if let Some(k) = self.data.get(&version) {
            // Never backwards: a slower commit may report an older total.
            k.recorded.fetch_max(seals, Ordering::SeqCst);
        }
    }

    /// Seals made under `version` (recorded plus not yet recorded).
    pub fn seals(&self, version: u32) -> Option<u64> {
        self.data.get(&version).map(|k| {
            k.recorded
                .load(Ordering::SeqCst)
                .saturating_add(k.pending.load(Ordering::SeqCst))
        })
    }

    /// Takes the seals not yet recorded, per version, leaving zero: the store adds them to
    /// its counters in the committing transaction.
    pub fn take_pending(&self) -> Vec<(u32, u64)> {
        self.data
            .iter()
            .filter_map(|(v, k)| {
                let n = k.pending.swap(0, Ordering::SeqCst);
                (n > 0).then_some((*v, n))
            })
            .collect()
    }

    /// Gives back seals taken by [`KeyRing::take_pending`] whose transaction did not commit.
    pub fn restore_pending(&self, taken: &[(u32, u64)]) {
        for (v, n) in taken {
            if let Some(k) = self.data.get(v) {
                k.pending.fetch_add(*n, Ordering::SeqCst);
            }
        }
    }

    pub fn active_version(&self) -> u32 {
        self.active
    }

    pub fn versions(&self) -> Vec<u32> {
        self.data.keys().copied().collect()
    }

    /// Encrypts under the active data key.
    pub fn seal(&self, field: &FieldRef<'_>, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.seal_with(self.active, field, plaintext)
    }

    pub fn seal_with(
        &self,
        version: u32,
        field: &FieldRef<'_>,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let key = self
            .data
            .get(&version)
            .ok_or(CryptoError::UnknownKeyVersion(version))?;
        // Counted before sealing, so parallel sealers cannot together pass the limit.
        let used = key
            .recorded
            .load(Ordering::SeqCst)
            .saturating_add(key.pending.fetch_add(1, Ordering::SeqCst));
        if used >= SEAL_LIMIT {
            key.pending.fetch_sub(1, Ordering::SeqCst);
            return Err(CryptoError::KeyExhausted { version, used });
        }
        let mut nonce = [0u8; NONCE_LEN];
        random_bytes(&mut nonce)?;
        let mut out = Vec::with_capacity(HEADER + plaintext.len() + TAG);
        out.push(FORMAT_V1);
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let tag = field
            .with_aad(version, |aad| {
                key.aead.seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(aad),
                    &mut out[HEADER..],
                )
            })
            .map_err(|_| CryptoError::Malformed("plaintext too long"))?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Decrypts and authenticates; fails if the ciphertext was altered or moved.
    pub fn open(
        &self,
        field: &FieldRef<'_>,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let version = ciphertext_version(ciphertext)?;
        let key = self
            .data
            .get(&version)
            .ok_or(CryptoError::UnknownKeyVersion(version))?;
        let nonce = Nonce::try_assume_unique_for_key(&ciphertext[5..HEADER])
            .map_err(|_| CryptoError::Malformed("nonce"))?;
        let mut buf = Zeroizing::new(ciphertext[HEADER..].to_vec());
        let len = field
            .with_aad(version, |aad| {
                key.aead
                    .open_in_place(nonce, Aad::from(aad), &mut buf)
                    .map(|pt| pt.len())
            })
            .map_err(|_| CryptoError::Authentication)?;
        buf.truncate(len);
        Ok(buf)
    }

    /// Keyed index for exact-match lookup of an encrypted value. `domain` separates uses
    /// (an MRN never collides with an accession number). Callers normalize the value.
    pub fn blind_index(&self, domain: &str, value: &str) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.blind);
        ctx.update(&(domain.len() as u32).to_be_bytes());
        ctx.update(domain.as_bytes());
        ctx.update(value.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    /// A stable pseudonym for a patient (or other subject) that audit entries may carry:
    /// linkable across entries, meaningless without the key.
    pub fn pseudonym(&self, subject: &str) -> String {
        let tag = hmac::sign(&self.pseudonym, subject.as_bytes());
        format!("pt-{}", hex::encode(&tag.as_ref()[..10]))
    }

    pub fn signing_seed(&self) -> &[u8; 32] {
        &self.signing_seed
    }

    /// A 32-byte secret for `purpose`, the same on every node of the lab (HKDF-SHA-256 over
    /// the signing seed, which every node unwraps from the store) and unrelated to the seed
    /// and to every other purpose's secret. Nodes behind one load balancer use it for what
    /// they must agree on without storing a further key, such as CSRF tokens.
    pub fn shared_secret(&self, purpose: &str) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"labguard shared secret v1");
        let prk = salt.extract(self.signing_seed.as_slice());
        let mut out = Zeroizing::new([0u8; 32]);
        let info = [purpose.as_bytes()];
        // HKDF_SHA256 as the output type: one hash length, 32 bytes.
        prk.expand(&info, hkdf::HKDF_SHA256)
            .and_then(|okm| okm.fill(out.as_mut_slice()))
            .map_err(|_| CryptoError::Malformed("key derivation failed"))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_secrets_agree_across_rings_and_differ_by_purpose_and_lab() {
        let s = |r: &KeyRing, p: &str| *r.shared_secret(p).unwrap();
        let a = KeyRing::new(&[1; 32], &[2; 32], &[3; 32]);
        let b = KeyRing::new(&[7; 32], &[8; 32], &[3; 32]);
        let other_lab = KeyRing::new(&[1; 32], &[2; 32], &[4; 32]);
        assert_eq!(s(&a, "csrf"), s(&b, "csrf"));
        assert_ne!(s(&a, "csrf"), s(&a, "other"));
        assert_ne!(s(&a, "csrf"), s(&other_lab, "csrf"));
        assert_ne!(s(&a, "csrf"), [3; 32]);
        assert_ne!(s(&a, "csrf"), [0; 32]);
    }

    fn ring() -> KeyRing {
        let mut r = KeyRing::new(&[1; 32], &[2; 32], &[3; 32]);
        r.add_data_key(1, &[9; 32]).unwrap();
        r
    }

    #[test]
    fn seal_open_round_trip() {
        let r = ring();
        let f = FieldRef::new("patients", "row-1", "family");
        for len in [0usize, 1, 64, 1024, 16384] {
            let pt = vec![0xabu8; len];
            let ct = r.seal(&f, &pt).unwrap();
            assert_eq!(ct.len(), len + HEADER + TAG);
            assert_eq!(r.open(&f, &ct).unwrap().as_slice(), pt.as_slice());
        }
    }

    #[test]
    fn ciphertext_is_bound_to_table_row_column() {
        let r = ring();
        let ct = r
            .seal(&FieldRef::new("patients", "row-1", "family"), b"Doe")
            .unwrap();
        for other in [
            FieldRef::new("patients", "row-2", "family"),
            FieldRef::new("patients", "row-1", "given"),
            FieldRef::new("specimens", "row-1", "family"),
        ] {
            assert_eq!(r.open(&other, &ct), Err(CryptoError::Authentication));
        }
    }

    #[test]
    fn tampering_and_version_swaps_fail() {
        let mut r = ring();
        r.add_data_key(2, &[8; 32]).unwrap();
        let f = FieldRef::new("t", "r", "c");
        let ct = r.seal(&f, b"value").unwrap();
        assert_eq!(ciphertext_version(&ct).unwrap(), 2);
        for i in 0..ct.len() {
            let mut bad = ct.clone();
            bad[i] ^= 0x01;
            assert!(r.open(&f, &bad).is_err(), "flip at {i} not detected");
        }
        assert!(r.open(&f, &ct[..ct.len() - 1]).is_err());
        // Old versions stay readable until removed.
        let old = r.seal_with(1, &f, b"old").unwrap();
        assert_eq!(r.open(&f, &old).unwrap().as_slice(), b"old");
        r.remove_data_key(1);
        assert_eq!(r.open(&f, &old), Err(CryptoError::UnknownKeyVersion(1)));
    }

    #[test]
    fn blind_index_and_pseudonym_are_keyed_and_separated() {
        let a = ring();
        let b = KeyRing::new(&[5; 32], &[2; 32], &[3; 32]);
        assert_eq!(a.blind_index("mrn", "X1"), a.blind_index("mrn", "X1"));
        assert_ne!(a.blind_index("mrn", "X1"), a.blind_index("accession", "X1"));
        assert_ne!(a.blind_index("mrn", "X1"), b.blind_index("mrn", "X1"));
        assert_eq!(a.pseudonym("p1"), b.pseudonym("p1"));
        assert_ne!(a.pseudonym("p1"), a.pseudonym("p2"));
        assert!(!a.pseudonym("p1").contains("p1"));
    }
}

#[cfg(test)]
mod usage {
    use super::*;

    #[test]
    fn seals_are_counted_and_refused_at_the_limit() {
        let mut r = KeyRing::new(&[1; 32], &[2; 32], &[3; 32]);
        r.add_data_key(1, &[9; 32]).unwrap();
        let f = FieldRef::new("t", "r", "c");
        for _ in 0..3 {
            r.seal(&f, b"v").unwrap();
        }
        assert_eq!(r.seals(1), Some(3));
        let taken = r.take_pending();
        assert_eq!(taken, vec![(1, 3)]);
        assert!(r.take_pending().is_empty());
        r.restore_pending(&taken);
        assert_eq!(r.take_pending(), vec![(1, 3)]);
        r.set_recorded(1, SEAL_LIMIT - 1);
        r.seal(&f, b"v").unwrap();
        assert_eq!(
            r.seal(&f, b"v"),
            Err(CryptoError::KeyExhausted {
                version: 1,
                used: SEAL_LIMIT
            })
        );
        // The refused seal is not counted; opening is never limited.
        assert_eq!(r.seals(1), Some(SEAL_LIMIT));
    }
}

#[cfg(test)]
mod long_names {
    use super::*;

    #[test]
    fn associated_data_longer_than_the_stack_buffer_still_binds() {
        let mut r = KeyRing::new(&[1; 32], &[2; 32], &[3; 32]);
        r.add_data_key(1, &[9; 32]).unwrap();
        let long = "x".repeat(500);
        let f = FieldRef::new("t", &long, "c");
        let ct = r.seal(&f, b"v").unwrap();
        assert_eq!(r.open(&f, &ct).unwrap().as_slice(), b"v");
        let other = "x".repeat(499) + "y";
        assert!(r.open(&FieldRef::new("t", &other, "c"), &ct).is_err());
    }
}
