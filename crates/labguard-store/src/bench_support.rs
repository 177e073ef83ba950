//! Store-owned workloads for `labguard bench`: the store builds the synthetic audit entries
//! itself, so no caller hands it entries or touches the backend, and it refuses to put them
//! into a store that holds lab data.

use labguard_audit::{AuditEntry, Outcome};

use crate::store::Store;
use crate::StoreError;

impl Store {
    /// Appends `entries` synthetic audit entries (reads of results that do not exist, by a
    /// made-up technologist, on node `bench`) in transactions of `batch`, calling `progress`
    /// with the count so far. Returns the bytes of the encoded entries, which is what a
    /// verification hashes. Refused on a store with any patient-data row: benchmark entries
    /// would be indistinguishable noise in a real lab's log.
    pub fn bench_append_audit(
        &self,
        entries: u64,
        batch: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, StoreError> {
        if self.counts()?.iter().any(|(_, n)| *n > 0) {
            return Err(StoreError::Denied(
                "benchmark entries only go into a store without lab data".into(),
            ));
        }
        let batch = batch.max(1);
        let (mut i, mut bytes) = (0u64, 0u64);
        while i < entries {
            let n = batch.min(entries - i);
            let chunk: Vec<AuditEntry> = (i..i + n).map(synthetic_entry).collect();
            bytes += chunk.iter().map(|e| e.encode().len() as u64).sum::<u64>();
            self.append_entries(&chunk)?;
            i += n;
            progress(i);
        }
        Ok(bytes)
    }
}

impl Store {
    /// Appends `entries` synthetic record accesses for the privacy scan benchmark, entry
    /// `first + i` for i in 0..entries: 200 made-up staff ids, 50,000 patient pseudonyms,
    /// patient and result reads spread one every 3 seconds from 2026-01-01. Refused on a
    /// store with lab data, like [`Store::bench_append_audit`].
    pub fn bench_append_accesses(
        &self,
        first: u64,
        entries: u64,
        batch: u64,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), StoreError> {
        if self.counts()?.iter().any(|(_, n)| *n > 0) {
            return Err(StoreError::Denied(
                "benchmark entries only go into a store without lab data".into(),
            ));
        }
        let batch = batch.max(1);
        let mut i = 0u64;
        while i < entries {
            let n = batch.min(entries - i);
            let chunk: Vec<AuditEntry> = (first + i..first + i + n).map(synthetic_access).collect();
            self.append_entries(&chunk)?;
            i += n;
            progress(i);
        }
        Ok(())
    }
}

/// Access `i`: a technologist's patient or result read; a cheap mixing step spreads users
/// and patients without a random generator, so runs are comparable.
fn synthetic_access(i: u64) -> AuditEntry {
    let mix = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let staff = (mix >> 7) % 200;
    let patient = (mix >> 23) % 50_000;
    let at = chrono::DateTime::<chrono::Utc>::from_timestamp(1_767_225_600 + (i * 3) as i64, 0)
        .unwrap_or_default();
    let read = if i % 3 == 0 {
        crate::action::Action::PatientRead
    } else {
        crate::action::Action::ResultRead
    };
    AuditEntry {
        time: at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        actor: format!("0b7c6f7e-0000-4000-8000-{staff:012}"),
        role: "lab-technologist".into(),
        action: read.code().into(),
        resource: "patient".into(),
        resource_id: String::new(),
        patient_ref: Some(format!("pt-{patient:020x}")),
        reason: (i % 4 != 0).then(|| "worklist".to_string()),
        outcome: Outcome::Success,
        content_hash: None,
        node: Some("bench".into()),
    }
}

/// A result read of the typical size: fixed time and actor so runs are comparable.
fn synthetic_entry(i: u64) -> AuditEntry {
    AuditEntry {
        time: "2026-11-25T12:00:00.000000Z".into(),
        actor: "tess.tech".into(),
        role: "lab-technologist".into(),
        action: crate::action::Action::ResultRead.code().into(),
        resource: "result".into(),
        resource_id: format!("0b7c6f7e-0000-4000-8000-{i:012}"),
        patient_ref: Some("pt-6c1f0a9b2d4e8f7a1c3b".into()),
        reason: None,
        outcome: Outcome::Success,
        content_hash: None,
        node: Some("bench".into()),
    }
}
