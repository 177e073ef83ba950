//! Patient-data operations. Each checks the actor's permission, encrypts or decrypts through
//! the key ring, and appends its audit entry in the same transaction.

use chrono::NaiveDate;
use labguard_audit::Outcome;
use labguard_core::{Id, LabOrder, LabResult, Patient, Permission as P, ResultStatus, Specimen};

use crate::action::Action;
use crate::actor::Actor;
use crate::backend::{Tx, Value};
use crate::codec::parse_id;
use crate::rows::{decode, PhiRow};
use crate::store::{rfc3339, Pending, Store};
use crate::table::{Encoder, TableSpec, PATIENTS, RESULTS, SPECIMENS};
use crate::StoreError;

pub(crate) fn mrn_key(mrn: &str) -> String {
    mrn.trim().to_uppercase()
}

pub(crate) fn name_dob_key(family: &str, given: &str, dob: NaiveDate) -> String {
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    format!("{}\u{0}{}\u{0}{dob}", norm(family), norm(given))
}

impl Store {
    /// A row's column values as written now (sealed under the active key).
    pub(crate) fn encode_row<R: PhiRow>(&self, row: &R) -> Result<Vec<Value>, StoreError> {
        let ring = self.ring()?;
        let id = row.row_id();
        let mut e = Encoder::new(R::SPEC, &ring, &id);
        row.encode(&mut e, &rfc3339(self.now()))?;
        e.finish()
    }

    /// Inserts a row and queues its audit entry carrying the row hash.
    pub(crate) fn insert_row<R: PhiRow>(
        &self,
        tx: &mut dyn Tx,
        pending: &mut Pending,
        actor: &Actor,
        action: Action,
        row: &R,
        patient: Option<&str>,
    ) -> Result<(), StoreError> {
        let spec = R::SPEC;
        let id = row.row_id();
        let values = self.encode_row(row)?;
        let hash = spec.row_hash(&values);
        let mut params = Vec::with_capacity(values.len() + 1);
        params.push(Value::Text(id.clone()));
        params.extend(values);
        // Deferred: on PostgreSQL a group commit's rows of one table go out as one
        // multi-row INSERT instead of a round trip each (the row index follows its row).
        tx.insert_deferred(&spec.insert_sql(), &params)?;
        let index = row.index_rows(&*self.ring()?, &rfc3339(self.now()));
        for (sql, p) in index {
            tx.insert_deferred(sql, &p)?;
        }
        let mut e = self.entry(actor, action, spec.resource, &id, patient, Outcome::Success)?;
        e.content_hash = Some(hash);
        pending.push(e);
        Ok(())
    }

    fn read_entry(
        &self,
        pending: &mut Pending,
        actor: &Actor,
        action: Action,
        spec: &TableSpec,
        id: &str,
        patient: Option<&str>,
    ) -> Result<(), StoreError> {
        pending.push(self.entry(actor, action, spec.resource, id, patient, Outcome::Success)?);
        Ok(())
    }

    pub fn add_patient(&self, actor: &Actor, p: &Patient) -> Result<(), StoreError> {
        let id = p.id.to_string();
        self.authorize(
            actor,
            P::DemographicsWrite,
            Action::PatientCreate,
            "patient",
            &id,
        )?;
        p.validate()?;
        self.write(|tx, pending| {
            self.insert_row(tx, pending, actor, Action::PatientCreate, p, Some(&id))
        })
    }

    /// Looks a patient up by MRN (through the blind index). The search is audited whether
    /// or not it finds someone.
    pub fn find_patient_by_mrn(
        &self,
        actor: &Actor,
        mrn: &str,
    ) -> Result<Option<Patient>, StoreError> {
        self.authorize(
            actor,
            P::DemographicsRead,
            Action::PatientSearch,
            "patient",
            "",
        )?;
        self.read(|tx, pending| {
            let ring = self.ring()?;
            let bidx = ring.blind_index("mrn", &mrn_key(mrn));
            let sql = format!("{} WHERE mrn_bidx = ?", PATIENTS.select_sql());
            let rows = tx.query(&sql, &[bidx.to_vec().into()])?;
            let found = rows
                .into_iter()
                .next()
                .map(|r| decode::<Patient>(&ring, r))
                .transpose()?;
            drop(ring);
            let id = found.as_ref().map(|p| p.id.to_string()).unwrap_or_default();
            self.read_entry(
                pending,
                actor,
                Action::PatientSearch,
                &PATIENTS,
                &id,
                found.as_ref().map(|_| id.as_str()),
            )?;
            Ok(found)
        })
    }

    pub fn find_patients_by_name_dob(
        &self,
        actor: &Actor,
        family: &str,
        given: &str,
        birth_date: NaiveDate,
    ) -> Result<Vec<Patient>, StoreError> {
        self.authorize(
            actor,
            P::DemographicsRead,
            Action::PatientSearch,
            "patient",
            "",
        )?;
        self.read(|tx, pending| {
            let ring = self.ring()?;
            let bidx = ring.blind_index("name-dob", &name_dob_key(family, given, birth_date));
            let sql = format!("{} WHERE name_dob_bidx = ?", PATIENTS.select_sql());
            let found = tx
                .query(&sql, &[bidx.to_vec().into()])?
                .into_iter()
                .map(|r| decode::<Patient>(&ring, r))
                .collect::<Result<Vec<_>, _>>()?;
            drop(ring);
            if found.is_empty() {
                self.read_entry(pending, actor, Action::PatientSearch, &PATIENTS, "", None)?;
            }
            for p in &found {
                let id = p.id.to_string();
                self.read_entry(
                    pending,
                    actor,
                    Action::PatientSearch,
                    &PATIENTS,
                    &id,
                    Some(&id),
                )?;
            }
            Ok(found)
        })
    }

    pub fn get_patient(&self, actor: &Actor, id: Id) -> Result<Patient, StoreError> {
        let ids = id.to_string();
        self.authorize(
            actor,
            P::DemographicsRead,
            Action::PatientRead,
            "patient",
            &ids,
        )?;
        self.read(|tx, pending| {
            let ring = self.ring()?;
            let sql = format!("{} WHERE id = ?", PATIENTS.select_sql());
            let row = tx
                .query(&sql, &[ids.clone().into()])?
                .into_iter()
                .next()
                .ok_or_else(|| StoreError::NotFound(format!("patient {ids}")))?;
            let p = decode::<Patient>(&ring, row)?;
            drop(ring);
            self.read_entry(
                pending,
                actor,
                Action::PatientRead,
                &PATIENTS,
                &ids,
                Some(&ids),
            )?;
            Ok(p)
        })
    }

    /// Patient ids, oldest first (ids are not patient data; reading a record is audited).
    pub fn patient_ids(
        &self,
        actor: &Actor,
        limit: u32,
        offset: u32,
    ) -> Result<Vec<Id>, StoreError> {
        self.authorize(
            actor,
            P::DemographicsRead,
            Action::PatientList,
            "patient",
            "",
        )?;
        self.read(|tx, pending| {
            let rows = tx.query(
                "SELECT id FROM patients ORDER BY created_at, id LIMIT ? OFFSET ?",
                &[Value::Int(limit.into()), Value::Int(offset.into())],
            )?;
            self.read_entry(pending, actor, Action::PatientList, &PATIENTS, "", None)?;
            rows.into_iter()
                .map(|r| parse_id(r.first().ok_or_else(|| StoreError::Corrupt("id".into()))?))
                .collect()
        })
    }

    pub fn add_specimen(&self, actor: &Actor, s: &Specimen) -> Result<(), StoreError> {
        let id = s.id.to_string();
        self.authorize(
            actor,
            P::SpecimenRecord,
            Action::SpecimenCreate,
            "specimen",
            &id,
        )?;
        s.validate()?;
        let pid = s.patient_id.to_string();
        self.write(|tx, pending| {
            self.insert_row(tx, pending, actor, Action::SpecimenCreate, s, Some(&pid))
        })
    }

    pub fn find_specimen_by_accession(
        &self,
        actor: &Actor,
        accession: &str,
    ) -> Result<Option<Specimen>, StoreError> {
        self.authorize(
            actor,
            P::CollectionListRead,
            Action::SpecimenSearch,
            "specimen",
            "",
        )?;
        self.read(|tx, pending| {
            let ring = self.ring()?;
            let bidx = ring.blind_index("accession", accession.trim());
            let sql = format!("{} WHERE accession_bidx = ?", SPECIMENS.select_sql());
            let found = tx
                .query(&sql, &[bidx.to_vec().into()])?
                .into_iter()
                .next()
                .map(|r| decode::<Specimen>(&ring, r))
                .transpose()?;
            drop(ring);
            let id = found.as_ref().map(|s| s.id.to_string()).unwrap_or_default();
            let pid = found.as_ref().map(|s| s.patient_id.to_string());
            self.read_entry(
                pending,
                actor,
                Action::SpecimenSearch,
                &SPECIMENS,
                &id,
                pid.as_deref(),
            )?;
            Ok(found)
        })
    }

    pub fn add_order(&self, actor: &Actor, o: &LabOrder) -> Result<(), StoreError> {
        let id = o.id.to_string();
        self.authorize(actor, P::SpecimenRecord, Action::OrderCreate, "order", &id)?;
        o.validate()?;
        let pid = o.patient_id.to_string();
        self.write(|tx, pending| {
            self.insert_row(tx, pending, actor, Action::OrderCreate, o, Some(&pid))
        })
    }

    pub fn add_result(&self, actor: &Actor, r: &LabResult) -> Result<(), StoreError> {
        self.add_results(actor, std::slice::from_ref(r))
    }

    /// Files several results in one transaction (one analyzer message is one unit).
    pub fn add_results(&self, actor: &Actor, results: &[LabResult]) -> Result<(), StoreError> {
        self.authorize(actor, P::ResultEnter, Action::ResultCreate, "result", "")?;
        for r in results {
            r.validate()?;
        }
        self.write(|tx, pending| {
            for r in results {
                let pid = r.patient_id.to_string();
                self.insert_row(tx, pending, actor, Action::ResultCreate, r, Some(&pid))?;
            }
            Ok(())
        })
    }

    pub fn results_for_patient(
        &self,
        actor: &Actor,
        patient: Id,
    ) -> Result<Vec<LabResult>, StoreError> {
        let pid = patient.to_string();
        self.authorize(actor, P::ResultRead, Action::ResultRead, "result", &pid)?;
        self.read(|tx, pending| {
            let ring = self.ring()?;
            let sql = format!(
                "{} WHERE patient_id = ? ORDER BY created_at, id",
                RESULTS.select_sql()
            );
            let out = tx
                .query(&sql, &[pid.clone().into()])?
                .into_iter()
                .map(|r| decode::<LabResult>(&ring, r))
                .collect::<Result<Vec<_>, _>>()?;
            drop(ring);
            for r in &out {
                self.read_entry(
                    pending,
                    actor,
                    Action::ResultRead,
                    &RESULTS,
                    &r.id.to_string(),
                    Some(&pid),
                )?;
            }
            Ok(out)
        })
    }

    /// A pathologist's sign-off: the result becomes final (or stays corrected) and names them.
    pub fn verify_result(&self, actor: &Actor, id: Id) -> Result<LabResult, StoreError> {
        let ids = id.to_string();
        self.authorize(actor, P::ResultVerify, Action::ResultVerify, "result", &ids)?;
        self.write(|tx, pending| {
            self.check_not_recalled(tx, &ids)?;
            let ring = self.ring()?;
            let sql = format!("{} WHERE id = ?", RESULTS.select_sql());
            let row = tx
                .query(&sql, &[ids.clone().into()])?
                .into_iter()
                .next()
                .ok_or_else(|| StoreError::NotFound(format!("result {ids}")))?;
            let mut r = decode::<LabResult>(&ring, row)?;
            drop(ring);
            if r.status == ResultStatus::Preliminary {
                r.status = ResultStatus::Final;
            }
            r.verified_by = Some(actor.id.clone());
            let values = self.encode_row(&r)?;
            let hash = RESULTS.row_hash(&values);
            let mut params = values;
            params.push(ids.clone().into());
            tx.execute(&RESULTS.update_sql(), &params)?;
            let mut e = self.entry(
                actor,
                Action::ResultVerify,
                "result",
                &ids,
                Some(&r.patient_id.to_string()),
                Outcome::Success,
            )?;
            e.content_hash = Some(hash);
            pending.push(e);
            Ok(r)
        })
    }
}
