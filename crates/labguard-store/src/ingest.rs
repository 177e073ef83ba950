//! Filing what an instrument delivered: the encrypted original, the specimens, orders and
//! results it carries, held results and alerts, and every audit entry, in one transaction
//! per batch of messages (group commit), so an acknowledgment sent after `ingest_batch`
//! returns never names a message that could be lost.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use labguard_audit::Outcome;
use labguard_core::{Id, LabOrder, LabResult, Permission, Specimen};

use crate::action::Action;
use crate::actor::Actor;
use crate::backend::{query_one, Tx, Value};
use crate::codec::parse_id;
use crate::rows::{HeldRow, InboundRow};
use crate::store::{rfc3339, Pending, Store};
use crate::table::{open, SPECIMENS};
use crate::StoreError;

/// One message as delivered by an authenticated instrument, already parsed and mapped.
///
/// Record ids are the ones the mapper's resolver handed out; `patient_mrns` and
/// `specimen_accessions` say which natural key each resolver id stood for, so the store
/// can swap in the ids of patients and specimens it already knows.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub device_id: Id,
    pub actor: Actor,
    /// MSH-10.
    pub control_id: String,
    /// The bytes exactly as received (without MLLP framing).
    pub raw: Vec<u8>,
    pub specimens: Vec<Specimen>,
    pub orders: Vec<LabOrder>,
    pub results: Vec<LabResult>,
    /// Per result (same index), reason codes from the plausibility checks; a result with
    /// any reason is held for review instead of filed.
    pub holds: Vec<Vec<String>>,
    pub patient_mrns: Vec<(Id, String)>,
    pub specimen_accessions: Vec<(Id, String)>,
    /// Control measurements the delivery carries (ASTM/POCT QC records, HL7 QC results);
    /// filed and judged before the patient results, which a rejected run holds.
    pub qc: Vec<crate::qc::QcReading>,
}

/// What happened to a message; a duplicate reports the first delivery's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOutcome {
    pub message_id: Id,
    pub ack_code: String,
    pub filed: u64,
    pub held: u64,
    pub duplicate: bool,
    /// Analytes whose QC run in this delivery was rejected.
    pub qc_rejected: Vec<String>,
}

/// Reason code for a result whose patient the lab does not know.
pub const UNKNOWN_PATIENT: &str = "unknown-patient";
/// Reason code for a result observed before its specimen was drawn.
pub const BEFORE_DRAW: &str = "observed-before-draw";

impl Store {
    /// Files one message in its own transaction.
    pub fn ingest(&self, item: &Inbound) -> Result<IngestOutcome, StoreError> {
        self.ingest_batch(std::slice::from_ref(item))?
            .pop()
            .ok_or_else(|| StoreError::Backend("empty ingest batch".into()))?
    }

    /// Files several messages in one transaction (group commit). Each message gets its
    /// own result: stored (or a duplicate's earlier outcome) once this returns, or the
    /// reason it was not. The outer error is only for a refused actor.
    pub fn ingest_batch(
        &self,
        items: &[Inbound],
    ) -> Result<Vec<Result<IngestOutcome, StoreError>>, StoreError> {
        for item in items {
            if !item.actor.may(Permission::ResultEnter) {
                self.authorize(
                    &item.actor,
                    Permission::ResultEnter,
                    Action::MessageReceive,
                    "message",
                    "",
                )?;
            }
        }
        // The common case runs without savepoints (SQLite would journal every page a
        // savepoint touches): refusals and duplicates are found before anything is
        // written, so only an unexpected failure mid-write aborts the batch, and then each
        // message is retried in its own transaction to isolate it.
        let batch = self.write(|tx, pending| {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(match self.precheck(tx, item)? {
                    Some(done) => done,
                    None => Ok(self.ingest_one(tx, pending, item)?),
                });
            }
            Ok(out)
        });
        match batch {
            Ok(out) => Ok(out),
            Err(e) if items.len() == 1 => Ok(vec![Err(e)]),
            Err(_) => Ok(items
                .iter()
                .map(|item| {
                    self.write(|tx, pending| match self.precheck(tx, item)? {
                        Some(done) => Ok(done),
                        None => Ok(Ok(self.ingest_one(tx, pending, item)?)),
                    })
                    .and_then(|r| r)
                })
                .collect()),
        }
    }

    /// What to answer without writing: a refusal (device revoked since the listener
    /// looked) or the earlier outcome of a duplicate. `None`: go ahead and file it.
    fn precheck(
        &self,
        tx: &mut dyn Tx,
        item: &Inbound,
    ) -> Result<Option<Result<IngestOutcome, StoreError>>, StoreError> {
        // Checked inside the transaction, so nothing commits for a device after its
        // revocation commits, whatever a listener's cached view says.
        let active = query_one(
            tx,
            "SELECT revoked_at FROM instrument_enrollments WHERE id = ?",
            &[item.device_id.to_string().into()],
        )?
        .and_then(|r| r.into_iter().next())
        .is_some_and(|v| matches!(v, Value::Null));
        if !active {
            return Ok(Some(Err(StoreError::Denied(
                "the instrument is not enrolled or was revoked".into(),
            ))));
        }
        Ok(self.earlier(tx, item)?.map(Ok))
    }

    fn earlier(
        &self,
        tx: &mut dyn Tx,
        item: &Inbound,
    ) -> Result<Option<IngestOutcome>, StoreError> {
        let Some(r) = query_one(
            tx,
            "SELECT id, ack_code, results_filed, results_held FROM inbound_messages WHERE device_id = ? AND control_id = ?",
            &[item.device_id.to_string().into(), item.control_id.clone().into()],
        )?
        else {
            return Ok(None);
        };
        let [id, ack, filed, held] = r.as_slice() else {
            return Err(StoreError::Corrupt("inbound message row shape".into()));
        };
        Ok(Some(IngestOutcome {
            message_id: Id::parse_str(id.as_text()?)
                .map_err(|_| StoreError::Corrupt("message id".into()))?,
            ack_code: ack.as_text()?.into(),
            filed: u64::try_from(filed.as_int()?).unwrap_or(0),
            held: u64::try_from(held.as_int()?).unwrap_or(0),
            duplicate: true,
            qc_rejected: Vec::new(),
        }))
    }

    fn ingest_one(
        &self,
        tx: &mut dyn Tx,
        pending: &mut Pending,
        item: &Inbound,
    ) -> Result<IngestOutcome, StoreError> {
        let mut known = self.known_records(tx, item)?;
        let new = new_records(item, &mut known);
        let qc = self.file_qc(tx, pending, &item.actor, item.device_id, &item.qc)?;
        let (filed, held) = self.classify_results(tx, item, &known, &new.orders)?;

        let message_id = Id::new_v4();
        let now = rfc3339(self.now());
        let first_patient = known.patients.values().next().map(ToString::to_string);
        let message = InboundRow {
            id: message_id,
            device_id: item.device_id,
            control_id: &item.control_id,
            raw: &item.raw,
            ack_code: "AA",
            filed: filed.len() as i64,
            held: held.len() as i64,
            received_at: &now,
        };
        self.insert_row(
            tx,
            pending,
            &item.actor,
            Action::MessageReceive,
            &message,
            first_patient.as_deref(),
        )?;
        self.write_records(tx, pending, &item.actor, &new, &filed)?;
        let codes = self.write_held(tx, pending, item, message_id, &now, &held)?;
        if !held.is_empty() {
            self.raise_held_alert(tx, pending, item, message_id, codes, &now)?;
        }
        Ok(IngestOutcome {
            message_id,
            ack_code: "AA".into(),
            filed: filed.len() as u64,
            held: held.len() as u64,
            duplicate: false,
            qc_rejected: qc.rejected,
        })
    }

    /// Looks up, by blind index, the patients and specimens the delivery names that are
    /// already on file.
    fn known_records(&self, tx: &mut dyn Tx, item: &Inbound) -> Result<Known, StoreError> {
        let ring = self.ring()?;
        let mut patients: HashMap<Id, Id> = HashMap::new();
        for (rid, mrn) in &item.patient_mrns {
            let bidx = ring.blind_index("mrn", &crate::records::mrn_key(mrn));
            if let Some(r) = query_one(
                tx,
                "SELECT id FROM patients WHERE mrn_bidx = ?",
                &[bidx.to_vec().into()],
            )? {
                patients.insert(*rid, parse_id(r.first().unwrap_or(&Value::Null))?);
            }
        }
        let mut specimens: HashMap<Id, (Id, DateTime<Utc>)> = HashMap::new();
        for (rid, acc) in &item.specimen_accessions {
            let bidx = ring.blind_index("accession", acc.trim());
            if let Some(r) = query_one(
                tx,
                "SELECT id, collected_at FROM specimens WHERE accession_bidx = ?",
                &[bidx.to_vec().into()],
            )? {
                let id = parse_id(r.first().unwrap_or(&Value::Null))?;
                let drawn: DateTime<Utc> = open(
                    &ring,
                    SPECIMENS.name,
                    &id.to_string(),
                    "collected_at",
                    r.get(1).unwrap_or(&Value::Null),
                )?;
                specimens.insert(*rid, (id, drawn));
            }
        }
        Ok(Known {
            patients,
            specimens,
        })
    }

    /// Maps each result onto known records and decides filed or held. Reasons to hold:
    /// the mapper's plausibility checks, an unknown patient, an observation before the
    /// draw, a delta check (known patients only) and a QC lock on the analyte.
    fn classify_results(
        &self,
        tx: &mut dyn Tx,
        item: &Inbound,
        known: &Known,
        orders: &[LabOrder],
    ) -> Result<(Vec<LabResult>, Vec<Held>), StoreError> {
        let known_orders: Vec<Id> = orders.iter().map(|o| o.id).collect();
        let qc_locked = self.qc_locked_analytes(tx, item.device_id)?;
        let mut filed = Vec::new();
        let mut held = Vec::new();
        for (i, r) in item.results.iter().enumerate() {
            let mut reasons = item.holds.get(i).cloned().unwrap_or_default();
            let patient = known.patients.get(&r.patient_id).copied();
            let spec = r.specimen_id.and_then(|s| known.specimens.get(&s)).copied();
            if patient.is_none() {
                reasons.push(UNKNOWN_PATIENT.into());
            }
            if spec.is_some_and(|(_, drawn)| r.observed_at < drawn) {
                reasons.push(BEFORE_DRAW.into());
            }
            let mapped = LabResult {
                patient_id: patient.unwrap_or(r.patient_id),
                specimen_id: spec.map(|s| s.0),
                order_id: r.order_id.filter(|o| known_orders.contains(o)),
                performing_device: Some(item.actor.id.clone()),
                ..r.clone()
            };
            // Results of this delivery filed so far count as earlier values.
            if patient.is_some() {
                reasons.extend(self.delta_reasons(tx, &mapped, &filed)?);
            }
            if qc_locked.contains(mapped.analyte.as_str()) {
                reasons.push(crate::qc::QC_REJECTED.into());
            }
            if reasons.is_empty() {
                filed.push(mapped);
            } else {
                held.push((mapped, patient.is_some(), reasons));
            }
        }
        Ok((filed, held))
    }

    /// Writes the new specimens and orders and the filed results, each validated first.
    fn write_records(
        &self,
        tx: &mut dyn Tx,
        pending: &mut Pending,
        actor: &Actor,
        new: &NewRecords,
        filed: &[LabResult],
    ) -> Result<(), StoreError> {
        for s in &new.specimens {
            s.validate()?;
            let pid = s.patient_id.to_string();
            self.insert_row(tx, pending, actor, Action::SpecimenCreate, s, Some(&pid))?;
        }
        for o in &new.orders {
            o.validate()?;
            let pid = o.patient_id.to_string();
            self.insert_row(tx, pending, actor, Action::OrderCreate, o, Some(&pid))?;
        }
        for r in filed {
            r.validate()?;
            let pid = r.patient_id.to_string();
            self.insert_row(tx, pending, actor, Action::ResultCreate, r, Some(&pid))?;
        }
        Ok(())
    }

    /// Writes the held results; returns every reason code they carry (with repeats).
    fn write_held<'h>(
        &self,
        tx: &mut dyn Tx,
        pending: &mut Pending,
        item: &Inbound,
        message_id: Id,
        now: &str,
        held: &'h [Held],
    ) -> Result<Vec<&'h str>, StoreError> {
        let mut codes: Vec<&str> = Vec::new();
        for (r, known, reasons) in held {
            // An unknown patient's resolver id names no stored patient: leave it blank.
            let row = HeldRow {
                id: r.id,
                patient_id: if *known {
                    r.patient_id.to_string()
                } else {
                    String::new()
                },
                message_id,
                device_id: item.device_id,
                state: "held".into(),
                reasons: reasons.clone(),
                result: r.clone(),
                created_at: now.to_string(),
            };
            let patient = known.then(|| r.patient_id.to_string());
            self.insert_row(
                tx,
                pending,
                &item.actor,
                Action::HeldResultCreate,
                &row,
                patient.as_deref(),
            )?;
            codes.extend(reasons.iter().map(String::as_str));
        }
        Ok(codes)
    }

    /// One results-held alert per message, naming each distinct reason code once.
    fn raise_held_alert(
        &self,
        tx: &mut dyn Tx,
        pending: &mut Pending,
        item: &Inbound,
        message_id: Id,
        mut codes: Vec<&str>,
        now: &str,
    ) -> Result<(), StoreError> {
        codes.sort_unstable();
        codes.dedup();
        let alert = Id::new_v4().to_string();
        tx.execute(
            "INSERT INTO instrument_alerts (id, kind, device_id, message_id, held_result_id, detail, created_at) VALUES (?, 'results-held', ?, ?, NULL, ?, ?)",
            &[alert.clone().into(), item.device_id.to_string().into(), message_id.to_string().into(), codes.join(",").into(), now.to_string().into()],
        )?;
        pending.push(self.entry(
            &item.actor,
            Action::AlertCreate,
            "alert",
            &alert,
            None,
            Outcome::Success,
        )?);
        Ok(())
    }

    /// Whether a message from `device` with this control id is already stored (tests and
    /// operators checking a delivery).
    pub fn has_message(&self, device: Id, control_id: &str) -> Result<bool, StoreError> {
        let mut tx = self.backend.begin()?;
        Ok(query_one(
            tx.as_mut(),
            "SELECT 1 FROM inbound_messages WHERE device_id = ? AND control_id = ?",
            &[device.to_string().into(), control_id.into()],
        )?
        .is_some())
    }

    /// Control ids stored for `device`, with how many rows each has (always 1: the UNIQUE
    /// constraint); for durability checks.
    pub fn message_control_ids(&self, device: Id) -> Result<Vec<String>, StoreError> {
        let mut tx = self.backend.begin()?;
        tx.query(
            "SELECT control_id FROM inbound_messages WHERE device_id = ? ORDER BY control_id",
            &[device.to_string().into()],
        )?
        .iter()
        .map(|r| {
            Ok(r.first()
                .ok_or_else(|| StoreError::Corrupt("row".into()))?
                .as_text()?
                .to_string())
        })
        .collect()
    }
}

/// Stored records the delivery refers to, keyed by the mapper's resolver ids.
struct Known {
    /// Resolver id -> stored id, for patients the lab knows.
    patients: HashMap<Id, Id>,
    /// Resolver id -> (stored id, draw time), for specimens on file or new in this delivery.
    specimens: HashMap<Id, (Id, DateTime<Utc>)>,
}

/// Specimens and orders the delivery adds, for known patients only.
struct NewRecords {
    specimens: Vec<Specimen>,
    orders: Vec<LabOrder>,
}

/// A result held for review: the mapped result, whether its patient is known, the reasons.
type Held = (LabResult, bool, Vec<String>);

/// Picks the delivery's specimens not yet on file and its orders, moved onto known
/// patients (others are dropped); new specimens become known for the results.
fn new_records(item: &Inbound, known: &mut Known) -> NewRecords {
    let specimens: Vec<Specimen> = item
        .specimens
        .iter()
        .filter(|s| !known.specimens.contains_key(&s.id))
        .filter_map(|s| {
            let patient_id = *known.patients.get(&s.patient_id)?;
            Some(Specimen {
                patient_id,
                ..s.clone()
            })
        })
        .collect();
    for s in &specimens {
        known.specimens.insert(s.id, (s.id, s.collected_at));
    }
    let orders: Vec<LabOrder> = item
        .orders
        .iter()
        .filter_map(|o| {
            Some(LabOrder {
                patient_id: *known.patients.get(&o.patient_id)?,
                specimen_id: o
                    .specimen_id
                    .and_then(|s| known.specimens.get(&s))
                    .map(|s| s.0),
                ..o.clone()
            })
        })
        .collect();
    NewRecords { specimens, orders }
}
