//! Appending to the Merkle audit log inside the caller's transaction, checkpointing it,
//! and producing proofs.

use chrono::DateTime;
use labguard_audit::{
    consistency_proof, inclusion_proof, leaf_hash, root_of, AuditEntry, Checkpoint,
    ConsistencyProofJson, Frontier, Hash, InclusionProofJson,
};

use crate::backend::{query_one, Tx, Value};
use crate::store::{rfc3339, Store};
use crate::StoreError;

/// Extension line of a signed checkpoint carrying the time it was recorded. Checkpoints
/// signed before labguard bound the time have none; their `created_at` is not evidence.
pub(crate) const TIME_EXTENSION: &str = "labguard-time ";

/// The recorded time a checkpoint's signed body carries, if any.
pub(crate) fn signed_time(cp: &Checkpoint) -> Option<&str> {
    cp.extensions
        .iter()
        .find_map(|e| e.strip_prefix(TIME_EXTENSION))
}

/// One stored checkpoint row: (size, note, created_at).
pub(crate) type CheckpointRow = (u64, String, String);

/// The audit head's checkpoint columns and every checkpoint row, read under the head lock
/// so no writer lands between the two reads.
pub(crate) fn head_and_checkpoints(
    tx: &mut dyn Tx,
) -> Result<((u64, String), Vec<CheckpointRow>), StoreError> {
    tx.lock_audit_head()?;
    let head = read_head(tx)?;
    let rows = tx
        .query(
            "SELECT size, note, created_at FROM audit_checkpoints ORDER BY size",
            &[],
        )?
        .into_iter()
        .map(|r| {
            let [size, note, at] = r.as_slice() else {
                return Err(StoreError::Corrupt("checkpoint row shape".into()));
            };
            let size = u64::try_from(size.as_int()?)
                .map_err(|_| StoreError::Corrupt("checkpoint size".into()))?;
            Ok((size, note.as_text()?.to_string(), at.as_text()?.to_string()))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(((head.last_checkpoint_size, head.last_checkpoint_at), rows))
}

struct Head {
    size: u64,
    frontier: Frontier,
    last_checkpoint_size: u64,
    last_checkpoint_at: String,
}

fn read_head(tx: &mut dyn Tx) -> Result<Head, StoreError> {
    let row = query_one(
        tx,
        "SELECT size, frontier, last_checkpoint_size, last_checkpoint_at FROM audit_head WHERE id = 1",
        &[],
    )?
    .ok_or_else(|| StoreError::Corrupt("the audit head row is missing".into()))?;
    let [size, frontier, cps, cpa] = row.as_slice() else {
        return Err(StoreError::Corrupt("audit head shape".into()));
    };
    let frontier = Frontier::from_bytes(frontier.as_blob()?)
        .map_err(|e| StoreError::Corrupt(format!("audit head frontier: {e}")))?;
    let size =
        u64::try_from(size.as_int()?).map_err(|_| StoreError::Corrupt("audit head size".into()))?;
    if frontier.size() != size {
        return Err(StoreError::Corrupt(
            "audit head size disagrees with its frontier".into(),
        ));
    }
    Ok(Head {
        size,
        frontier,
        last_checkpoint_size: u64::try_from(cps.as_int()?)
            .map_err(|_| StoreError::Corrupt("audit head checkpoint size".into()))?,
        last_checkpoint_at: cpa.as_text()?.to_string(),
    })
}

/// Entries per INSERT statement (3 parameters each; well under both backends' limits).
const INSERT_CHUNK: usize = 256;

fn insert_sql(rows: usize) -> String {
    let mut sql = String::from("INSERT INTO audit_log (seq, entry, leaf_hash) VALUES ");
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str("(?, ?, ?)");
    }
    sql
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Audit("log size overflow".into()))
}

impl Store {
    /// Appends `entries` in order under the head lock, so concurrent writers (threads or
    /// nodes) get consecutive, gap-free sequence numbers.
    pub(crate) fn append(&self, tx: &mut dyn Tx, entries: &[AuditEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        tx.lock_audit_head()?;
        let mut head = read_head(tx)?;
        // Multi-row inserts: one statement per chunk instead of one round trip per entry
        // (PostgreSQL is otherwise bound by network round trips).
        for chunk in entries.chunks(INSERT_CHUNK) {
            let mut params = Vec::with_capacity(chunk.len() * 3);
            for e in chunk {
                let bytes = e.encode();
                let leaf = leaf_hash(&bytes);
                let seq = head
                    .frontier
                    .append(leaf)
                    .map_err(|e| StoreError::Audit(e.to_string()))?;
                params.push(Value::Int(to_i64(seq)?));
                params.push(bytes.into());
                params.push(leaf.to_vec().into());
            }
            tx.execute(&insert_sql(chunk.len()), &params)?;
        }
        head.size = head.frontier.size();
        let now = self.now();
        let age = DateTime::parse_from_rfc3339(&head.last_checkpoint_at)
            .map(|t| (now - t.to_utc()).num_seconds())
            .unwrap_or(i64::MAX);
        let due = head.size - head.last_checkpoint_size >= self.opts.checkpoint_every
            || age >= self.opts.checkpoint_max_age_secs;
        self.write_head(tx, &head, due)
    }

    fn write_head(&self, tx: &mut dyn Tx, head: &Head, checkpoint: bool) -> Result<(), StoreError> {
        let (cp_size, cp_at) = if checkpoint && head.size > head.last_checkpoint_size {
            let now = rfc3339(self.now());
            let note = self.sign(head.size, &head.frontier.root(), &now)?;
            tx.execute(
                "INSERT INTO audit_checkpoints (size, note, created_at) VALUES (?, ?, ?)",
                &[
                    Value::Int(to_i64(head.size)?),
                    note.into(),
                    now.clone().into(),
                ],
            )?;
            (head.size, now)
        } else {
            (head.last_checkpoint_size, head.last_checkpoint_at.clone())
        };
        tx.execute(
            "UPDATE audit_head SET size = ?, frontier = ?, last_checkpoint_size = ?, last_checkpoint_at = ? WHERE id = 1",
            &[
                Value::Int(to_i64(head.size)?),
                head.frontier.to_bytes().into(),
                Value::Int(to_i64(cp_size)?),
                cp_at.into(),
            ],
        )?;
        Ok(())
    }

    /// Signs the tree head with the time it is recorded under (`audit_checkpoints.created_at`)
    /// as an extension line, so that column is evidence too.
    fn sign(&self, size: u64, root: &Hash, at: &str) -> Result<String, StoreError> {
        let mut cp = Checkpoint::new(self.origin.clone(), size, *root);
        cp.extensions.push(format!("{TIME_EXTENSION}{at}"));
        labguard_audit::sign_checkpoint(&cp, &self.origin, self.ring()?.signing_seed())
            .map_err(|e| StoreError::Audit(e.to_string()))
    }

    /// The verifier key for this lab's checkpoints, in signed-note `vkey` form.
    pub fn verifier_key(&self) -> Result<String, StoreError> {
        labguard_audit::VerifierKey::from_seed(&self.origin, self.ring()?.signing_seed())
            .map(|k| k.to_string())
            .map_err(|e| StoreError::Audit(e.to_string()))
    }

    /// Signs a checkpoint now if any entry is not yet covered by one. Commands call this
    /// before they exit so the log has no unsigned tail.
    pub fn checkpoint(&self) -> Result<u64, StoreError> {
        let mut tx = self.backend.begin()?;
        tx.lock_audit_head()?;
        let head = read_head(tx.as_mut())?;
        self.write_head(tx.as_mut(), &head, true)?;
        tx.commit()?;
        Ok(head.size)
    }

    /// Current tree size and root (from the head row).
    pub fn audit_head(&self) -> Result<(u64, Hash), StoreError> {
        let mut tx = self.backend.begin()?;
        let h = read_head(tx.as_mut())?;
        Ok((h.size, h.frontier.root()))
    }

    /// Leaf hashes `[0, size)` as stored.
    fn leaves(&self, size: u64) -> Result<Vec<Hash>, StoreError> {
        let mut tx = self.backend.begin()?;
        let mut out = Vec::with_capacity(size as usize);
        tx.for_each(
            "SELECT leaf_hash FROM audit_log WHERE seq < ? ORDER BY seq",
            &[Value::Int(to_i64(size)?)],
            &mut |r| {
                let b = r
                    .first()
                    .ok_or_else(|| StoreError::Corrupt("audit row".into()))?
                    .as_blob()?;
                out.push(
                    b.try_into()
                        .map_err(|_| StoreError::Corrupt("leaf hash length".into()))?,
                );
                Ok(())
            },
        )?;
        if out.len() as u64 != size {
            return Err(StoreError::Audit(format!(
                "the log has {} entries, fewer than the tree size {size}",
                out.len()
            )));
        }
        Ok(out)
    }

    /// Signed checkpoints, oldest first: (size, note).
    pub fn checkpoints(&self) -> Result<Vec<(u64, String)>, StoreError> {
        let mut tx = self.backend.begin()?;
        tx.query(
            "SELECT size, note FROM audit_checkpoints ORDER BY size",
            &[],
        )?
        .into_iter()
        .map(|r| {
            let size = u64::try_from(r.first().map(Value::as_int).transpose()?.unwrap_or(-1))
                .map_err(|_| StoreError::Corrupt("checkpoint size".into()))?;
            let note = r
                .get(1)
                .ok_or_else(|| StoreError::Corrupt("checkpoint row".into()))?
                .as_text()?
                .to_string();
            Ok((size, note))
        })
        .collect()
    }

    /// Inclusion proof of entry `index` in the tree of `tree_size` (default: the latest
    /// signed checkpoint), in the JSON form `labguard audit verify-proof` reads.
    pub fn inclusion_proof(
        &self,
        index: u64,
        tree_size: Option<u64>,
    ) -> Result<InclusionProofJson, StoreError> {
        let size = match tree_size {
            Some(s) => s,
            None => self.latest_checkpoint_size()?,
        };
        if index >= size {
            return Err(StoreError::NotFound(format!(
                "entry {index} is not in a tree of size {size}"
            )));
        }
        let leaves = self.leaves(size)?;
        let proof =
            inclusion_proof(&leaves, index, size).map_err(|e| StoreError::Audit(e.to_string()))?;
        let root = root_of(&leaves);
        Ok(InclusionProofJson::new(
            index,
            size,
            &leaves[index as usize],
            &proof,
            &root,
        ))
    }

    /// Consistency proof between two tree sizes.
    pub fn consistency_proof(
        &self,
        size1: u64,
        size2: Option<u64>,
    ) -> Result<ConsistencyProofJson, StoreError> {
        let size2 = match size2 {
            Some(s) => s,
            None => self.latest_checkpoint_size()?,
        };
        if size1 == 0 || size1 > size2 {
            return Err(StoreError::NotFound(format!(
                "no consistency proof from size {size1} to {size2}"
            )));
        }
        let leaves = self.leaves(size2)?;
        let proof = consistency_proof(&leaves, size1, size2)
            .map_err(|e| StoreError::Audit(e.to_string()))?;
        Ok(ConsistencyProofJson::new(
            size1,
            size2,
            &proof,
            &root_of(&leaves[..size1 as usize]),
            &root_of(&leaves),
        ))
    }

    fn latest_checkpoint_size(&self) -> Result<u64, StoreError> {
        self.checkpoints()?
            .last()
            .map(|(s, _)| *s)
            .ok_or_else(|| StoreError::NotFound("no signed checkpoint yet".into()))
    }
}
