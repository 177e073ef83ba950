//! Reads the web app needs beyond single-record lookups: the phlebotomy collection list,
//! results by accession number, and the audit log for auditors. Each checks its permission
//! and audits what it returned, like every other patient-data read.

use labguard_audit::{AuditEntry, Outcome};
use labguard_core::{LabResult, Permission as P, Specimen};

use crate::action::Action;
use crate::backend::Value;
use crate::rows::decode;
use crate::store::Store;
use crate::table::{RESULTS, SPECIMENS};
use crate::{Actor, StoreError};

impl Store {
    /// The most recent draws, newest first.
    pub fn collection_list(&self, actor: &Actor, limit: u32) -> Result<Vec<Specimen>, StoreError> {
        self.authorize(
            actor,
            P::CollectionListRead,
            Action::SpecimenList,
            "specimen",
            "",
        )?;
        self.read(|tx, pending| {
            let ring = self.ring()?;
            let out = tx
                .query(
                    &format!(
                        "{} ORDER BY created_at DESC, id LIMIT ?",
                        SPECIMENS.select_sql()
                    ),
                    &[Value::Int(limit.into())],
                )?
                .into_iter()
                .map(|r| decode::<Specimen>(&ring, r))
                .collect::<Result<Vec<_>, _>>()?;
            drop(ring);
            for s in &out {
                let pid = s.patient_id.to_string();
                pending.push(self.entry(
                    actor,
                    Action::SpecimenList,
                    "specimen",
                    &s.id.to_string(),
                    Some(&pid),
                    Outcome::Success,
                )?);
            }
            if out.is_empty() {
                pending.push(self.entry(
                    actor,
                    Action::SpecimenList,
                    "specimen",
                    "",
                    None,
                    Outcome::Success,
                )?);
            }
            Ok(out)
        })
    }

    /// The results filed against the specimen with this accession number (a pathologist's
    /// usual lookup). `None` when no specimen has that accession.
    pub fn results_by_accession(
        &self,
        actor: &Actor,
        accession: &str,
    ) -> Result<Option<Vec<LabResult>>, StoreError> {
        self.authorize(actor, P::ResultRead, Action::ResultRead, "result", "")?;
        self.read(|tx, pending| {
            let ring = self.ring()?;
            let bidx = ring.blind_index("accession", accession.trim());
            let specimen = tx.query(
                "SELECT id, patient_id FROM specimens WHERE accession_bidx = ?",
                &[bidx.to_vec().into()],
            )?;
            let Some([sid, pid]) = specimen.first().map(|r| r.as_slice()) else {
                drop(ring);
                pending.push(self.entry(
                    actor,
                    Action::ResultRead,
                    "result",
                    "",
                    None,
                    Outcome::Success,
                )?);
                return Ok(None);
            };
            let pid = pid.as_text()?.to_string();
            let out = tx
                .query(
                    &format!(
                        "{} WHERE specimen_id = ? ORDER BY created_at, id",
                        RESULTS.select_sql()
                    ),
                    std::slice::from_ref(sid),
                )?
                .into_iter()
                .map(|r| decode::<LabResult>(&ring, r))
                .collect::<Result<Vec<_>, _>>()?;
            drop(ring);
            for r in &out {
                pending.push(self.entry(
                    actor,
                    Action::ResultRead,
                    "result",
                    &r.id.to_string(),
                    Some(&pid),
                    Outcome::Success,
                )?);
            }
            if out.is_empty() {
                pending.push(self.entry(
                    actor,
                    Action::ResultRead,
                    "result",
                    "",
                    Some(&pid),
                    Outcome::Success,
                )?);
            }
            Ok(Some(out))
        })
    }

    /// Audit entries from sequence number `from` on, oldest first. Entries carry
    /// pseudonymous patient references only, so auditors see no PHI here. Reading the log
    /// is itself audited.
    pub fn audit_entries(
        &self,
        actor: &Actor,
        from: u64,
        limit: u32,
    ) -> Result<Vec<(u64, AuditEntry)>, StoreError> {
        self.authorize(actor, P::AuditRead, Action::AuditRead, "audit-log", "")?;
        let from = i64::try_from(from).map_err(|_| StoreError::NotFound("entry".into()))?;
        let rows = {
            let mut tx = self.backend.begin()?;
            tx.query(
                "SELECT seq, entry FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?",
                &[Value::Int(from), Value::Int(limit.into())],
            )?
        };
        let out = rows
            .into_iter()
            .map(|r| {
                let [seq, entry] = r.as_slice() else {
                    return Err(StoreError::Corrupt("audit row shape".into()));
                };
                let seq = u64::try_from(seq.as_int()?)
                    .map_err(|_| StoreError::Corrupt("audit seq".into()))?;
                let e = AuditEntry::decode(entry.as_blob()?)
                    .map_err(|e| StoreError::Corrupt(format!("audit entry {seq}: {e}")))?;
                Ok((seq, e))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.append_entries(&[self.entry(
            actor,
            Action::AuditRead,
            "audit-log",
            &from.to_string(),
            None,
            Outcome::Success,
        )?])?;
        Ok(out)
    }
}
