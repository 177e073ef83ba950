//! The `Store`: opens a backend, holds the unwrapped key ring, and runs every patient-data
//! read and write in a transaction that also appends its audit entries.

use std::sync::{Arc, RwLock, RwLockReadGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use labguard_audit::{AuditEntry, Outcome};
use labguard_core::Permission;
use labguard_crypto::{Kek, KeyPurpose, KeyRing};
use zeroize::Zeroizing;

use crate::action::Action;
use crate::actor::Actor;
use crate::backend::{query_one, Backend, BackendKind, Tx};
use crate::StoreError;

pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What a [`Store::shared_secret`] is for; each purpose gets an unrelated secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedSecret {
    /// The HMAC key of CSRF tokens: any node accepts a form any node served.
    CsrfTokens,
}

impl SharedSecret {
    fn label(self) -> &'static str {
        match self {
            SharedSecret::CsrfTokens => "csrf-tokens",
        }
    }
}

/// Options that tune a store; the defaults suit production.
#[derive(Clone)]
pub struct StoreOptions {
    /// Name of this labguard node, recorded in each audit entry it writes.
    pub node: String,
    pub clock: Clock,
    /// Sign a checkpoint once this many entries are unsigned…
    pub checkpoint_every: u64,
    /// …or once the last checkpoint is this old (seconds).
    pub checkpoint_max_age_secs: i64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            node: std::env::var("HOSTNAME").unwrap_or_else(|_| "labguard".into()),
            clock: Arc::new(Utc::now),
            checkpoint_every: 4096,
            checkpoint_max_age_secs: 60,
        }
    }
}

pub struct Store {
    pub(crate) backend: Box<dyn Backend>,
    pub(crate) kek: Kek,
    pub(crate) keys: RwLock<KeyRing>,
    pub(crate) opts: StoreOptions,
    /// Origin line of this lab's checkpoints (`labguard/<lab id>`), also the key name.
    pub(crate) origin: String,
    /// Shared commits for the audit entries of reads.
    pub(crate) read_audit: crate::group::AuditGroup,
}

/// Locks from [`Store::cross_node_locks`]; dropping it ends the holding transaction.
pub struct CrossNodeLocks<'a>(#[allow(dead_code)] Option<Box<dyn Tx + 'a>>);

/// Entries a transaction will append when it commits.
pub(crate) type Pending = Vec<AuditEntry>;

impl Store {
    /// Creates the schema and a fresh key set. Fails if the database already holds keys.
    pub(crate) fn init(
        backend: Box<dyn Backend>,
        kek: Kek,
        opts: StoreOptions,
    ) -> Result<Store, StoreError> {
        backend.migrate()?;
        let now = rfc3339((opts.clock)());
        {
            let mut tx = backend.begin()?;
            if query_one(tx.as_mut(), "SELECT COUNT(*) FROM keys", &[])?
                .and_then(|r| r.first().cloned())
                .map(|v| v.as_int())
                .transpose()?
                .unwrap_or(0)
                > 0
            {
                return Err(StoreError::Keys(
                    "this database is already initialised".into(),
                ));
            }
            for purpose in [
                KeyPurpose::Data,
                KeyPurpose::BlindIndex,
                KeyPurpose::Pseudonym,
                KeyPurpose::Signing,
            ] {
                let k = labguard_crypto::random_key()?;
                let wrapped = kek.wrap(purpose, 1, &k)?;
                tx.execute(
                    "INSERT INTO keys (purpose, version, wrapped, state, created_at) VALUES (?, 1, ?, 'active', ?)",
                    &[purpose.code().into(), wrapped.into(), now.clone().into()],
                )?;
            }
            let lab_id = uuid::Uuid::new_v4().to_string();
            for (k, v) in [
                ("lab_id", lab_id.as_str()),
                ("kek_fingerprint", kek.fingerprint()),
                ("created_at", now.as_str()),
            ] {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)",
                    &[k.into(), v.into()],
                )?;
            }
            let empty = labguard_audit::Frontier::new().to_bytes();
            tx.execute(
                "INSERT INTO audit_head (id, size, frontier, last_checkpoint_size, last_checkpoint_at) VALUES (1, 0, ?, 0, ?)",
                &[empty.into(), now.into()],
            )?;
            tx.commit()?;
        }
        Store::open(backend, kek, opts)
    }

    /// Opens an initialised database: checks the KEK matches and unwraps the keys.
    pub(crate) fn open(
        backend: Box<dyn Backend>,
        kek: Kek,
        opts: StoreOptions,
    ) -> Result<Store, StoreError> {
        backend.migrate()?;
        let (ring, origin) = {
            let mut tx = backend.begin()?;
            let fp = meta(tx.as_mut(), "kek_fingerprint")?.ok_or_else(|| {
                StoreError::Keys(
                    "this database has not been initialised (run `labguard init`)".into(),
                )
            })?;
            if fp != kek.fingerprint() {
                return Err(StoreError::Keys(format!(
                    "wrong key-encryption key: the database expects key {fp}, this one is {}",
                    kek.fingerprint()
                )));
            }
            let lab = meta(tx.as_mut(), "lab_id")?
                .ok_or_else(|| StoreError::Corrupt("meta.lab_id is missing".into()))?;
            (load_ring(tx.as_mut(), &kek)?, format!("labguard/{lab}"))
        };
        Ok(Store {
            backend,
            kek,
            keys: RwLock::new(ring),
            opts,
            origin,
            read_audit: Default::default(),
        })
    }

    pub fn backend_kind(&self) -> BackendKind {
        self.backend.kind()
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        (self.opts.clock)()
    }

    pub(crate) fn ring(&self) -> Result<RwLockReadGuard<'_, KeyRing>, StoreError> {
        self.keys
            .read()
            .map_err(|_| StoreError::Keys("key ring lock poisoned".into()))
    }

    /// A secret every node of this lab derives alike (see [`SharedSecret`]), so what one
    /// node signs another accepts. Only these named purposes exist: the store hands out no
    /// raw key material.
    pub fn shared_secret(
        &self,
        purpose: SharedSecret,
    ) -> Result<zeroize::Zeroizing<[u8; 32]>, StoreError> {
        Ok(self.ring()?.shared_secret(purpose.label())?)
    }

    /// Re-reads the key table: another node may have started or finished a rotation.
    pub(crate) fn reload_keys(&self) -> Result<(), StoreError> {
        let mut tx = self.backend.begin()?;
        let ring = load_ring(tx.as_mut(), &self.kek)?;
        drop(tx);
        let mut guard = self
            .keys
            .write()
            .map_err(|_| StoreError::Keys("key ring lock poisoned".into()))?;
        // Seals not yet recorded move to the new ring, or they would never be counted.
        ring.restore_pending(&guard.take_pending());
        *guard = ring;
        Ok(())
    }

    /// Builds an audit entry for `actor`. `patient` is a record id; only its pseudonym is kept.
    pub(crate) fn entry(
        &self,
        actor: &Actor,
        action: Action,
        resource: &str,
        resource_id: &str,
        patient: Option<&str>,
        outcome: Outcome,
    ) -> Result<AuditEntry, StoreError> {
        let patient_ref = match patient {
            Some(p) => Some(self.ring()?.pseudonym(p)),
            None => None,
        };
        Ok(AuditEntry {
            time: rfc3339(self.now()),
            actor: actor.id.clone(),
            role: actor.role_code().to_string(),
            action: action.code().to_string(),
            resource: resource.to_string(),
            resource_id: resource_id.to_string(),
            patient_ref,
            reason: None,
            outcome,
            content_hash: None,
            node: Some(self.opts.node.clone()),
        })
    }

    /// Runs `f` in one transaction and appends the audit entries it pushed, committing both
    /// together or neither. Retries once after reloading keys if a row was sealed under a
    /// key version this node has not seen (another node rotated).
    pub(crate) fn write<T>(
        &self,
        f: impl Fn(&mut dyn Tx, &mut Pending) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match self.write_once(&f) {
            Err(StoreError::Crypto(labguard_crypto::CryptoError::UnknownKeyVersion(_))) => {
                self.reload_keys()?;
                self.write_once(&f)
            }
            other => other,
        }
    }

    /// Takes the named locks across every labguard node that shares this database and
    /// holds them until the guard is dropped: PostgreSQL advisory locks held by an open,
    /// empty transaction (taken in one fixed order, so two callers cannot deadlock; a crash
    /// releases them with the connection). On SQLite one process owns the file, and
    /// in-process locking is the caller's, so the guard holds nothing.
    pub fn cross_node_locks(&self, names: &[&str]) -> Result<CrossNodeLocks<'_>, StoreError> {
        if self.backend.kind() != crate::BackendKind::Postgres {
            return Ok(CrossNodeLocks(None));
        }
        let mut keys: Vec<i64> = names
            .iter()
            .map(|n| {
                let h = labguard_crypto::sha256(n.as_bytes());
                let mut b = [0u8; 8];
                b.copy_from_slice(&h[..8]);
                i64::from_be_bytes(b)
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut tx = self.backend.begin_locks()?;
        for k in keys {
            tx.execute(
                "SELECT pg_advisory_xact_lock(?)",
                &[crate::backend::Value::Int(k)],
            )?;
        }
        Ok(CrossNodeLocks(Some(tx)))
    }

    /// Runs a read: `f` queries in a transaction that writes nothing and records its audit
    /// entries in `pending`; they are committed (shared with concurrent reads) before the
    /// data is returned, so no read escapes the log.
    pub(crate) fn read<T>(
        &self,
        f: impl Fn(&mut dyn Tx, &mut Pending) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let once = |f: &dyn Fn(&mut dyn Tx, &mut Pending) -> Result<T, StoreError>| {
            let mut tx = self.backend.begin()?;
            let mut pending = Vec::new();
            let out = f(tx.as_mut(), &mut pending)?;
            tx.commit()?;
            Ok::<_, StoreError>((out, pending))
        };
        let (out, pending) = match once(&f) {
            Err(StoreError::Crypto(labguard_crypto::CryptoError::UnknownKeyVersion(_))) => {
                self.reload_keys()?;
                once(&f)?
            }
            other => other?,
        };
        self.read_audit.append(self, pending)?;
        Ok(out)
    }

    fn write_once<T>(
        &self,
        f: &impl Fn(&mut dyn Tx, &mut Pending) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut tx = self.backend.begin()?;
        let mut pending = Vec::new();
        let out = f(tx.as_mut(), &mut pending)?;
        self.append(tx.as_mut(), &pending)?;
        // The seals this process made are counted in the same commit (see key_usage.rs).
        let (taken, totals) = self.record_usage(tx.as_mut())?;
        if let Err(e) = tx.commit() {
            self.ring()?.restore_pending(&taken);
            return Err(e);
        }
        let ring = self.ring()?;
        for (v, n) in totals {
            ring.set_recorded(v, n);
        }
        Ok(out)
    }

    /// Checks a permission; a refusal is itself audited (in its own transaction, since the
    /// caller's work will not commit).
    pub(crate) fn authorize(
        &self,
        actor: &Actor,
        p: Permission,
        action: Action,
        resource: &str,
        resource_id: &str,
    ) -> Result<(), StoreError> {
        if actor.may(p) {
            return Ok(());
        }
        let e = self.entry(actor, action, resource, resource_id, None, Outcome::Denied)?;
        self.append_entries(&[e])?;
        Err(StoreError::Denied(format!(
            "the {} role may not {action}",
            actor.role_code()
        )))
    }

    /// Appends entries that go with no data change (sign-ins, denials, exports).
    pub(crate) fn append_entries(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        let mut tx = self.backend.begin()?;
        self.append(tx.as_mut(), entries)?;
        tx.commit()
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let mut tx = self.backend.begin()?;
        meta(tx.as_mut(), key)
    }

    /// A consistent snapshot of the whole database (ciphertext as stored) in a new SQLite
    /// file. The snapshot itself is recorded in the audit log.
    pub fn export_sqlite(&self, actor: &Actor, dest: &std::path::Path) -> Result<(), StoreError> {
        self.authorize(
            actor,
            Permission::BackupManage,
            Action::BackupCreate,
            "database",
            "",
        )?;
        self.append_entries(&[self.entry(
            actor,
            Action::BackupCreate,
            "database",
            "",
            None,
            Outcome::Success,
        )?])?;
        self.checkpoint()?;
        self.backend.export_sqlite(dest)
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }
}

pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn meta(tx: &mut dyn Tx, key: &str) -> Result<Option<String>, StoreError> {
    Ok(
        match query_one(tx, "SELECT value FROM meta WHERE key = ?", &[key.into()])? {
            Some(r) => Some(
                r.first()
                    .ok_or_else(|| StoreError::Corrupt("meta row".into()))?
                    .as_text()?
                    .to_string(),
            ),
            None => None,
        },
    )
}

/// Unwraps every live key. A key that fails to unwrap means a wrong KEK or a tampered key
/// table; either way nothing can be trusted, so opening fails.
pub(crate) fn load_ring(tx: &mut dyn Tx, kek: &Kek) -> Result<KeyRing, StoreError> {
    let rows = tx.query(
        "SELECT purpose, version, wrapped, state FROM keys WHERE state <> 'retired' ORDER BY version",
        &[],
    )?;
    let mut single: [Option<Zeroizing<[u8; 32]>>; 3] = [None, None, None];
    let mut data = Vec::new();
    let mut active = None;
    for r in rows {
        let [purpose, version, wrapped, state] = r.as_slice() else {
            return Err(StoreError::Corrupt("keys row shape".into()));
        };
        let purpose = KeyPurpose::from_code(purpose.as_text()?)
            .ok_or_else(|| StoreError::Corrupt("unknown key purpose".into()))?;
        let version = u32::try_from(version.as_int()?)
            .map_err(|_| StoreError::Corrupt("key version out of range".into()))?;
        let key = kek.unwrap(purpose, version, wrapped.as_blob()?)?;
        match purpose {
            KeyPurpose::Data => {
                if state.as_text()? == "active" {
                    active = Some(version);
                }
                data.push((version, key));
            }
            KeyPurpose::BlindIndex => single[0] = Some(key),
            KeyPurpose::Pseudonym => single[1] = Some(key),
            KeyPurpose::Signing => single[2] = Some(key),
        }
    }
    let [Some(b), Some(p), Some(s)] = &single else {
        return Err(StoreError::Keys(
            "the key table is incomplete (blind-index, pseudonym or signing key missing)".into(),
        ));
    };
    let mut ring = KeyRing::new(b, p, s);
    for (v, k) in &data {
        ring.add_data_key(*v, k)?;
    }
    let active = active.ok_or_else(|| StoreError::Keys("no active data key".into()))?;
    ring.set_active(active)?;
    crate::key_usage::load_usage(tx, &ring)?;
    Ok(ring)
}
