//! `audit verify`: recompute the Merkle tree, check every checkpoint signature, then check
//! every encrypted row: each field must authenticate, and each row must be exactly what its
//! last audited write recorded (so a row swapped for an older copy of itself is caught too).

use std::collections::HashMap;

use labguard_audit::{AuditEntry, Hash, LogVerifier, VerifierKey, VerifyError};
use labguard_crypto::FieldRef;
use thiserror::Error;

use crate::backend::Value;
use crate::store::Store;
use crate::table::{split_row, PHI_TABLES};
use crate::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub entries: u64,
    pub checkpoints: usize,
    /// Entries after the last signed checkpoint (protected by leaf hashes only).
    pub unsigned_tail: u64,
    pub rows_checked: u64,
    pub root: Hash,
}

/// The first thing found wrong. Names entries and rows by index and id, never content.
#[derive(Debug, Error)]
pub enum VerifyProblem {
    #[error("audit log: {0}")]
    Log(#[from] VerifyError),
    #[error("audit head: {0}")]
    Head(String),
    #[error("{table} row {id}: {why}")]
    Row {
        table: &'static str,
        id: String,
        why: String,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl Store {
    /// Verifies everything; `progress(done, total)` over entries then rows.
    pub fn verify(
        &self,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<VerifyReport, VerifyProblem> {
        let (head_size, head_root) = self.audit_head()?;
        let rows_total = self.row_count()?;
        let total = head_size + rows_total;
        let cps = self.checkpoints()?;
        let notes: Vec<&str> = cps.iter().map(|(_, n)| n.as_str()).collect();
        let vkey = VerifierKey::from_seed(&self.origin, self.ring()?.signing_seed())
            .map_err(|e| VerifyProblem::Head(e.to_string()))?;
        let mut verifier = LogVerifier::new(&vkey, &self.origin, &notes)?;
        // Last recorded content hash per (resource, id): what each row must still be.
        let mut expected: HashMap<(String, String), String> = HashMap::new();
        let mut tx = self.backend.begin().map_err(VerifyProblem::Store)?;
        let mut log_err: Option<VerifyProblem> = None;
        let mut n = 0u64;
        tx.for_each(
            "SELECT seq, entry, leaf_hash FROM audit_log ORDER BY seq",
            &[],
            &mut |r| {
                let [seq, entry, leaf] = r.as_slice() else {
                    return Err(StoreError::Corrupt("audit row shape".into()));
                };
                let seq = u64::try_from(seq.as_int()?).unwrap_or(u64::MAX);
                let leaf: Hash = leaf.as_blob()?.try_into().unwrap_or([0; 32]);
                let bytes = entry.as_blob()?;
                if let Err(e) = verifier.push(seq, bytes, &leaf) {
                    log_err = Some(e.into());
                    return Err(StoreError::Audit("stop".into()));
                }
                if let Some((res, id, h)) = AuditEntry::content_ref(bytes) {
                    expected.insert((res.to_string(), id.to_string()), h.to_string());
                }
                n += 1;
                if n % 65536 == 0 {
                    progress(n, total);
                }
                Ok(())
            },
        )
        .or_else(|e| if log_err.is_some() { Ok(()) } else { Err(e) })?;
        if let Some(e) = log_err {
            return Err(e);
        }
        drop(tx);
        let summary = verifier.finish()?;
        if summary.entries != head_size || summary.root != head_root {
            return Err(VerifyProblem::Head(format!(
                "the head says {head_size} entries, the log holds {} with a different root",
                summary.entries
            )));
        }
        progress(head_size, total);
        let rows = self.verify_rows(&mut expected, &mut |d| progress(head_size + d, total))?;
        Ok(VerifyReport {
            entries: summary.entries,
            checkpoints: summary.checkpoints_checked,
            unsigned_tail: summary.entries - summary.last_checkpoint_size,
            rows_checked: rows,
            root: summary.root,
        })
    }

    fn row_count(&self) -> Result<u64, StoreError> {
        let mut tx = self.backend.begin()?;
        let mut total = 0;
        for spec in PHI_TABLES {
            let r = tx.query(&format!("SELECT COUNT(*) FROM {}", spec.name), &[])?;
            total += r
                .first()
                .and_then(|r| r.first())
                .map(Value::as_int)
                .transpose()?
                .unwrap_or(0);
        }
        Ok(u64::try_from(total).unwrap_or(0))
    }

    fn verify_rows(
        &self,
        expected: &mut HashMap<(String, String), String>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, VerifyProblem> {
        let ring = self.ring()?;
        let mut tx = self.backend.begin()?;
        let mut checked = 0u64;
        let mut problem: Option<VerifyProblem> = None;
        for spec in PHI_TABLES {
            let sql = format!("{} ORDER BY id", spec.select_sql());
            let res = tx.for_each(&sql, &[], &mut |row| {
                let (id, values) = split_row(row)?;
                let fail = |why: String| VerifyProblem::Row {
                    table: spec.name,
                    id: id.clone(),
                    why,
                };
                for col in spec.encrypted {
                    let v = values.get(spec.index_of(col)?).unwrap_or(&Value::Null);
                    let ok = v
                        .as_blob()
                        .ok()
                        .map(|b| ring.open(&FieldRef::new(spec.name, &id, col), b));
                    match ok {
                        Some(Ok(_)) => {}
                        Some(Err(e)) => {
                            problem = Some(fail(format!("column {col}: {e}")));
                            return Err(StoreError::Audit("stop".into()));
                        }
                        None => {
                            problem = Some(fail(format!("column {col} is not ciphertext")));
                            return Err(StoreError::Audit("stop".into()));
                        }
                    }
                }
                if let Some(why) = crate::instruments::verify_extra(spec, &ring, &id, &values) {
                    problem = Some(fail(why));
                    return Err(StoreError::Audit("stop".into()));
                }
                let key = (spec.resource.to_string(), id.clone());
                match expected.remove(&key) {
                    Some(h) if h == spec.row_hash(&values) => {}
                    Some(_) => {
                        problem = Some(fail(
                            "differs from what its last audited write recorded (changed outside labguard)".into(),
                        ));
                        return Err(StoreError::Audit("stop".into()));
                    }
                    None => {
                        problem = Some(fail("has no audited write (inserted outside labguard)".into()));
                        return Err(StoreError::Audit("stop".into()));
                    }
                }
                checked += 1;
                if checked % 4096 == 0 {
                    progress(checked);
                }
                Ok(())
            });
            if let Some(p) = problem.take() {
                return Err(p);
            }
            res?;
        }
        let phi: Vec<&str> = PHI_TABLES.iter().map(|s| s.resource).collect();
        if let Some(((res, id), _)) = expected
            .iter()
            .find(|((r, _), _)| phi.contains(&r.as_str()))
        {
            let table = PHI_TABLES
                .iter()
                .find(|s| s.resource == res)
                .map_or("unknown", |s| s.name);
            return Err(VerifyProblem::Row {
                table,
                id: id.clone(),
                why: "was written through labguard but is missing (deleted outside labguard)"
                    .into(),
            });
        }
        progress(checked);
        Ok(checked)
    }
}
