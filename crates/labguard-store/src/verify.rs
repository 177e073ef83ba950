//! `audit verify`: recompute the Merkle tree, check every checkpoint signature, then check
//! every encrypted row: each field must authenticate, and each row must be exactly what its
//! last audited write recorded (so a row swapped for an older copy of itself is caught too).

use std::collections::HashMap;

use labguard_audit::{AuditEntry, Hash, LogVerifier, VerifierKey, VerifyError};
use labguard_crypto::FieldRef;
use thiserror::Error;

use crate::action::Action;
use crate::backend::Value;
use crate::store::Store;
use crate::table::{split_row, ROW_HASHED};
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
    /// A column of an audited table that neither a row hash nor a signature covers (a
    /// migration added it without extending `coverage.rs`).
    #[error("{table}.{column} is covered by no row hash or checkpoint signature")]
    Uncovered { table: &'static str, column: String },
    #[error("audit_checkpoints row of size {size}, column {column}: {why}")]
    Checkpoint {
        size: u64,
        column: &'static str,
        why: String,
    },
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// One audit row as read: (seq, entry bytes, stored leaf hash).
type LogRow = (u64, Vec<u8>, Hash);

/// Last recorded content hash per (resource, id): what each row must still be.
type Expected = HashMap<(String, String), String>;

/// The checking stage: every entry through the log verifier, collecting content hashes.
fn check_log(
    mut verifier: LogVerifier,
    rows: std::sync::mpsc::Receiver<Vec<LogRow>>,
) -> Result<(LogVerifier, Expected), VerifyError> {
    let mut expected = Expected::new();
    for batch in rows {
        for (seq, bytes, leaf) in batch {
            verifier.push(seq, &bytes, &leaf)?;
            if let Some((res, id, h)) = AuditEntry::content_ref(&bytes) {
                expected.insert((res.to_string(), id.to_string()), h.to_string());
            }
        }
    }
    Ok((verifier, expected))
}

impl Store {
    /// [`Store::verify`] on behalf of a person: it needs the audit-read permission, and the
    /// run and its outcome are themselves logged (compliance evidence: when it last passed).
    pub fn verify_as(
        &self,
        actor: &crate::Actor,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Result<VerifyReport, VerifyProblem>, StoreError> {
        self.authorize(
            actor,
            labguard_core::Permission::AuditRead,
            Action::AuditVerify,
            "audit_log",
            "",
        )?;
        let r = self.verify(progress);
        let outcome = if r.is_ok() {
            labguard_audit::Outcome::Success
        } else {
            labguard_audit::Outcome::Error
        };
        let e = self.entry(actor, Action::AuditVerify, "audit_log", "", None, outcome)?;
        self.append_entries(&[e])?;
        Ok(r)
    }

    /// Verifies everything; `progress(done, total)` over entries then rows.
    pub fn verify(
        &self,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<VerifyReport, VerifyProblem> {
        {
            let mut tx = self.backend.begin()?;
            if let Some((table, column)) =
                crate::coverage::first_uncovered(tx.as_mut(), self.backend.kind())?
            {
                return Err(VerifyProblem::Uncovered { table, column });
            }
        }
        let vkey = VerifierKey::from_seed(&self.origin, self.ring()?.signing_seed())
            .map_err(|e| VerifyProblem::Head(e.to_string()))?;
        self.verify_checkpoint_rows(&vkey)?;
        let (head_size, head_root) = self.audit_head()?;
        let rows_total = self.row_count()?;
        let total = head_size + rows_total;
        let cps = self.checkpoints()?;
        let notes: Vec<&str> = cps.iter().map(|(_, n)| n.as_str()).collect();
        let verifier = LogVerifier::new(&vkey, &self.origin, &notes)?;
        // Last recorded content hash per (resource, id): what each row must still be.
        // Two stages on two threads: this one reads rows out of the database while a
        // worker hashes and checks them, so verification runs at hashing speed.
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<LogRow>>(4);
        let (read, worked) = std::thread::scope(|scope| {
            let worker = scope.spawn(move || check_log(verifier, receiver));
            let read = self.read_log(sender, total, progress);
            (read, worker.join())
        });
        let (verifier, mut expected) = match worked {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Err(VerifyProblem::Head("the verifier thread failed".into())),
        };
        read?;
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

    /// Every checkpoint row must be what was signed: the note opens under the lab's key, its
    /// size column is the signed size, and its time is the signed `labguard-time`; the head's
    /// checkpoint columns must name the latest of them.
    fn verify_checkpoint_rows(&self, vkey: &VerifierKey) -> Result<(), VerifyProblem> {
        let mut tx = self.backend.begin()?;
        let ((head_size, head_at), rows) = crate::audit_log::head_and_checkpoints(tx.as_mut())?;
        drop(tx);
        let bad = |size, column, why: &str| VerifyProblem::Checkpoint {
            size,
            column,
            why: why.into(),
        };
        for (size, note, at) in &rows {
            let cp = labguard_audit::open_checkpoint(note, vkey)
                .map_err(|e| bad(*size, "note", &e.to_string()))?;
            if cp.size != *size {
                return Err(bad(*size, "size", "differs from the signed tree size"));
            }
            match crate::audit_log::signed_time(&cp) {
                Some(t) if t != at => {
                    return Err(bad(*size, "created_at", "differs from the signed time"))
                }
                // Signed before checkpoints carried their time: nothing to compare with.
                _ => {}
            }
        }
        match rows.last() {
            Some((size, _, at)) => {
                if head_size != *size {
                    return Err(VerifyProblem::Head(format!(
                        "audit_head.last_checkpoint_size is {head_size}, the latest signed checkpoint has size {size}"
                    )));
                }
                if head_at != *at {
                    return Err(VerifyProblem::Head(
                        "audit_head.last_checkpoint_at differs from the latest signed checkpoint's time".into(),
                    ));
                }
            }
            None if head_size != 0 => {
                return Err(VerifyProblem::Head(format!(
                    "audit_head.last_checkpoint_size is {head_size} but no checkpoint is stored"
                )));
            }
            // Before the first checkpoint the time is the data dir's creation: not evidence.
            None => {}
        }
        Ok(())
    }

    /// Streams the log in batches to the checking thread; stops early if it hung up.
    fn read_log(
        &self,
        sender: std::sync::mpsc::SyncSender<Vec<LogRow>>,
        total: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<(), StoreError> {
        const BATCH: usize = 4096;
        let mut tx = self.backend.begin()?;
        let mut batch = Vec::with_capacity(BATCH);
        let mut n = 0u64;
        let res = tx.for_each(
            "SELECT seq, entry, leaf_hash FROM audit_log ORDER BY seq",
            &[],
            &mut |r| {
                let mut it = r.into_iter();
                let (Some(seq), Some(Value::Blob(entry)), Some(leaf)) =
                    (it.next(), it.next(), it.next())
                else {
                    return Err(StoreError::Corrupt("audit row shape".into()));
                };
                let seq = u64::try_from(seq.as_int()?).unwrap_or(u64::MAX);
                let leaf: Hash = leaf.as_blob()?.try_into().unwrap_or([0; 32]);
                batch.push((seq, entry, leaf));
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    // A send fails only when the checker stopped at a problem it will report.
                    sender
                        .send(full)
                        .map_err(|_| StoreError::Audit("stopped".into()))?;
                }
                n += 1;
                if n % 65536 == 0 {
                    progress(n, total);
                }
                Ok(())
            },
        );
        if !batch.is_empty() {
            let _ = sender.send(batch);
        }
        match res {
            Err(StoreError::Audit(_)) => Ok(()),
            other => other,
        }
    }

    fn row_count(&self) -> Result<u64, StoreError> {
        let mut tx = self.backend.begin()?;
        let mut total = 0;
        for spec in ROW_HASHED {
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
        for spec in ROW_HASHED {
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
        let phi: Vec<&str> = ROW_HASHED.iter().map(|s| s.resource).collect();
        if let Some(((res, id), _)) = expected
            .iter()
            .find(|((r, _), _)| phi.contains(&r.as_str()))
        {
            let table = ROW_HASHED
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
        // The privacy scan's pseudonym table is derived: each row must be its patient's.
        let res = tx.for_each(
            "SELECT patient_ref, patient_id FROM privacy_patient_refs ORDER BY patient_id",
            &[],
            &mut |r| {
                let [pref, pid] = r.as_slice() else {
                    return Err(StoreError::Corrupt("privacy_patient_refs row shape".into()));
                };
                let pid = pid.as_text()?;
                if ring.pseudonym(pid) != pref.as_text()? {
                    problem = Some(VerifyProblem::Row {
                        table: "privacy_patient_refs",
                        id: pid.to_string(),
                        why: "names another patient's pseudonym (changed outside labguard)".into(),
                    });
                    return Err(StoreError::Audit("stop".into()));
                }
                Ok(())
            },
        );
        if let Some(p) = problem.take() {
            return Err(p);
        }
        res?;
        progress(checked);
        Ok(checked)
    }
}
