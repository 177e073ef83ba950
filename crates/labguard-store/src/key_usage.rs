//! AES-GCM usage per data-key version. The key ring counts seals in memory; each write
//! transaction adds them to `key_usage` just before it commits (one upsert per version
//! per transaction, so group-committed ingest pays one statement per batch). A crash loses
//! only the seals of transactions that had not committed; a transaction that fails gives
//! its seals back to the ring, so they are recorded by the next commit. At 2^30 seals a
//! warning is logged and a security alert raised once; at 2^31 the ring refuses to seal
//! (`CryptoError::KeyExhausted`) until `labguard keys rotate` starts a new version.

use labguard_crypto::{SEAL_LIMIT, SEAL_WARN};

use crate::backend::{query_one, Tx, Value};
use crate::store::{rfc3339, Store};
use crate::StoreError;

/// Seal counts per data-key version: (version, seals).
pub(crate) type Counts = Vec<(u32, u64)>;

/// One data-key version as `keys status` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyVersionUsage {
    pub version: u32,
    pub state: String,
    pub created_at: String,
    /// AES-GCM encryptions recorded under this version.
    pub seals: u64,
    /// `seals` as a fraction of the refusal limit (2^31).
    pub fraction_of_limit: f64,
}

impl Store {
    /// Adds the ring's unrecorded seals to `key_usage` inside `tx`. Returns what was taken
    /// (to give back if the transaction does not commit) and the new totals.
    pub(crate) fn record_usage(&self, tx: &mut dyn Tx) -> Result<(Counts, Counts), StoreError> {
        let taken = self.ring()?.take_pending();
        match self.record_taken(tx, &taken) {
            Ok(totals) => Ok((taken, totals)),
            Err(e) => {
                self.ring()?.restore_pending(&taken);
                Err(e)
            }
        }
    }

    fn record_taken(&self, tx: &mut dyn Tx, taken: &[(u32, u64)]) -> Result<Counts, StoreError> {
        let mut totals = Vec::with_capacity(taken.len());
        for (version, n) in taken {
            let n =
                i64::try_from(*n).map_err(|_| StoreError::Keys("seal count overflow".into()))?;
            tx.execute(
                "INSERT INTO key_usage (version, seals) VALUES (?, ?) \
                 ON CONFLICT (version) DO UPDATE SET seals = key_usage.seals + excluded.seals",
                &[Value::Int((*version).into()), Value::Int(n)],
            )?;
            let row = query_one(
                tx,
                "SELECT seals, warned_at FROM key_usage WHERE version = ?",
                &[Value::Int((*version).into())],
            )?
            .ok_or_else(|| StoreError::Corrupt("key_usage row vanished".into()))?;
            let [seals, warned] = row.as_slice() else {
                return Err(StoreError::Corrupt("key_usage row shape".into()));
            };
            let total = u64::try_from(seals.as_int()?).unwrap_or(0);
            if total >= SEAL_WARN && matches!(warned, Value::Null) {
                self.warn_usage(tx, *version, total)?;
            }
            totals.push((*version, total));
        }
        Ok(totals)
    }

    /// Raises the 2^30 warning once per version: a log line (no PHI: a version and counts)
    /// and a security alert for the officer's queue, in the committing transaction.
    fn warn_usage(&self, tx: &mut dyn Tx, version: u32, total: u64) -> Result<(), StoreError> {
        let now = rfc3339(self.now());
        let n = tx.execute(
            "UPDATE key_usage SET warned_at = ? WHERE version = ? AND warned_at IS NULL",
            &[now.clone().into(), Value::Int(version.into())],
        )?;
        if n == 0 {
            return Ok(());
        }
        tx.execute(
            "INSERT INTO alerts (id, kind, user_id, subject_id, created_at) VALUES (?, 'key-usage', NULL, ?, ?)",
            &[
                uuid::Uuid::new_v4().to_string().into(),
                format!("data-v{version}").into(),
                now.into(),
            ],
        )?;
        eprintln!(
            "labguard: warning: data key v{version} has sealed {total} values ({:.1}% of the limit of 2^31); run `labguard keys rotate`",
            total as f64 * 100.0 / SEAL_LIMIT as f64
        );
        Ok(())
    }

    /// Every data-key version with its creation time, state and recorded seals.
    pub fn key_usage(&self) -> Result<Vec<KeyVersionUsage>, StoreError> {
        let mut tx = self.backend.begin()?;
        let rows = tx.query(
            "SELECT k.version, k.state, k.created_at, COALESCE(u.seals, 0) FROM keys k \
             LEFT JOIN key_usage u ON u.version = k.version \
             WHERE k.purpose = 'data' ORDER BY k.version",
            &[],
        )?;
        rows.into_iter()
            .map(|r| {
                let [v, state, created, seals] = r.as_slice() else {
                    return Err(StoreError::Corrupt("keys row shape".into()));
                };
                let seals = u64::try_from(seals.as_int()?).unwrap_or(0);
                Ok(KeyVersionUsage {
                    version: u32::try_from(v.as_int()?)
                        .map_err(|_| StoreError::Corrupt("key version out of range".into()))?,
                    state: state.as_text()?.to_string(),
                    created_at: created.as_text()?.to_string(),
                    seals,
                    fraction_of_limit: seals as f64 / SEAL_LIMIT as f64,
                })
            })
            .collect()
    }
}

/// Sets each data key's recorded count from `key_usage` (on open and reload).
pub(crate) fn load_usage(
    tx: &mut dyn Tx,
    ring: &labguard_crypto::KeyRing,
) -> Result<(), StoreError> {
    for r in tx.query("SELECT version, seals FROM key_usage", &[])? {
        let [v, n] = r.as_slice() else {
            return Err(StoreError::Corrupt("key_usage row shape".into()));
        };
        if let (Ok(v), Ok(n)) = (u32::try_from(v.as_int()?), u64::try_from(n.as_int()?)) {
            ring.set_recorded(v, n);
        }
    }
    Ok(())
}
