//! Patient-data operations. Each checks the actor's permission, encrypts or decrypts through
//! the key ring, and appends its audit entry in the same transaction.

use chrono::{DateTime, NaiveDate, Utc};
use labguard_audit::Outcome;
use labguard_core::{
    AbnormalFlag, Address, ContainerType, Id, LabOrder, LabResult, LoincCode, Patient,
    Permission as P, ReferenceRange, ResultStatus, Sex, Specimen,
};
use labguard_crypto::KeyRing;

use crate::actor::Actor;
use crate::backend::{Tx, Value};
use crate::store::{rfc3339, Pending, Store};
use crate::table::{open, seal, split_row, TableSpec, ORDERS, PATIENTS, RESULTS, SPECIMENS};
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
    /// Inserts a row of `spec` and records its write (with the row hash) for `pending`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insert(
        &self,
        tx: &mut dyn Tx,
        pending: &mut Pending,
        actor: &Actor,
        spec: &TableSpec,
        id: &str,
        patient: &str,
        values: Vec<Value>,
    ) -> Result<(), StoreError> {
        let hash = spec.row_hash(&values);
        let mut params = Vec::with_capacity(values.len() + 1);
        params.push(Value::Text(id.to_string()));
        params.extend(values);
        tx.execute(&spec.insert_sql(), &params)?;
        let mut e = self.entry(
            actor,
            &format!("{}.create", spec.resource),
            spec.resource,
            id,
            Some(patient),
            Outcome::Success,
        )?;
        e.content_hash = Some(hash);
        pending.push(e);
        Ok(())
    }

    fn read_entry(
        &self,
        pending: &mut Pending,
        actor: &Actor,
        action: &str,
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
            "patient.create",
            "patient",
            &id,
        )?;
        p.validate()?;
        self.write(|tx, pending| {
            let ring = self.ring()?;
            let t = PATIENTS.name;
            let values = vec![
                Value::Int(i64::from(ring.active_version())),
                ring.blind_index("mrn", &mrn_key(&p.mrn)).to_vec().into(),
                ring.blind_index("name-dob", &name_dob_key(&p.family, &p.given, p.birth_date))
                    .to_vec()
                    .into(),
                seal(&ring, t, &id, "mrn", &p.mrn)?,
                seal(&ring, t, &id, "family", &p.family)?,
                seal(&ring, t, &id, "given", &p.given)?,
                seal(&ring, t, &id, "birth_date", &p.birth_date)?,
                seal(&ring, t, &id, "sex", &p.sex)?,
                seal(&ring, t, &id, "phone", &p.phone)?,
                seal(&ring, t, &id, "email", &p.email)?,
                seal(&ring, t, &id, "address", &p.address)?,
                rfc3339(self.now()).into(),
            ];
            drop(ring);
            self.insert(tx, pending, actor, &PATIENTS, &id, &id, values)
        })
    }

    /// Looks a patient up by MRN (through the blind index). The search is audited whether
    /// or not it finds someone.
    pub fn find_patient_by_mrn(
        &self,
        actor: &Actor,
        mrn: &str,
    ) -> Result<Option<Patient>, StoreError> {
        self.authorize(actor, P::DemographicsRead, "patient.search", "patient", "")?;
        self.read(|tx, pending| {
            let ring = self.ring()?;
            let bidx = ring.blind_index("mrn", &mrn_key(mrn));
            let sql = format!("{} WHERE mrn_bidx = ?", PATIENTS.select_sql());
            let rows = tx.query(&sql, &[bidx.to_vec().into()])?;
            let found = rows
                .into_iter()
                .next()
                .map(|r| decode_patient(&ring, r))
                .transpose()?;
            drop(ring);
            let id = found.as_ref().map(|p| p.id.to_string()).unwrap_or_default();
            self.read_entry(
                pending,
                actor,
                "patient.search",
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
        self.authorize(actor, P::DemographicsRead, "patient.search", "patient", "")?;
        self.read(|tx, pending| {
            let ring = self.ring()?;
            let bidx = ring.blind_index("name-dob", &name_dob_key(family, given, birth_date));
            let sql = format!("{} WHERE name_dob_bidx = ?", PATIENTS.select_sql());
            let found = tx
                .query(&sql, &[bidx.to_vec().into()])?
                .into_iter()
                .map(|r| decode_patient(&ring, r))
                .collect::<Result<Vec<_>, _>>()?;
            drop(ring);
            if found.is_empty() {
                self.read_entry(pending, actor, "patient.search", &PATIENTS, "", None)?;
            }
            for p in &found {
                let id = p.id.to_string();
                self.read_entry(pending, actor, "patient.search", &PATIENTS, &id, Some(&id))?;
            }
            Ok(found)
        })
    }

    pub fn get_patient(&self, actor: &Actor, id: Id) -> Result<Patient, StoreError> {
        let ids = id.to_string();
        self.authorize(actor, P::DemographicsRead, "patient.read", "patient", &ids)?;
        self.read(|tx, pending| {
            let ring = self.ring()?;
            let sql = format!("{} WHERE id = ?", PATIENTS.select_sql());
            let row = tx
                .query(&sql, &[ids.clone().into()])?
                .into_iter()
                .next()
                .ok_or_else(|| StoreError::NotFound(format!("patient {ids}")))?;
            let p = decode_patient(&ring, row)?;
            drop(ring);
            self.read_entry(pending, actor, "patient.read", &PATIENTS, &ids, Some(&ids))?;
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
        self.authorize(actor, P::DemographicsRead, "patient.list", "patient", "")?;
        self.read(|tx, pending| {
            let rows = tx.query(
                "SELECT id FROM patients ORDER BY created_at, id LIMIT ? OFFSET ?",
                &[Value::Int(limit.into()), Value::Int(offset.into())],
            )?;
            self.read_entry(pending, actor, "patient.list", &PATIENTS, "", None)?;
            rows.into_iter()
                .map(|r| parse_id(r.first().ok_or_else(|| StoreError::Corrupt("id".into()))?))
                .collect()
        })
    }

    pub fn add_specimen(&self, actor: &Actor, s: &Specimen) -> Result<(), StoreError> {
        let id = s.id.to_string();
        self.authorize(actor, P::SpecimenRecord, "specimen.create", "specimen", &id)?;
        s.validate()?;
        let pid = s.patient_id.to_string();
        self.write(|tx, pending| {
            let ring = self.ring()?;
            let t = SPECIMENS.name;
            let values = vec![
                pid.clone().into(),
                Value::Int(i64::from(ring.active_version())),
                ring.blind_index("accession", s.accession.trim())
                    .to_vec()
                    .into(),
                seal(&ring, t, &id, "accession", &s.accession)?,
                seal(&ring, t, &id, "collector", &s.collector)?,
                seal(&ring, t, &id, "collected_at", &s.collected_at)?,
                seal(&ring, t, &id, "container", &s.container)?,
                seal(&ring, t, &id, "body_site", &s.body_site)?,
                rfc3339(self.now()).into(),
            ];
            drop(ring);
            self.insert(tx, pending, actor, &SPECIMENS, &id, &pid, values)
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
            "specimen.search",
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
                .map(|r| decode_specimen(&ring, r))
                .transpose()?;
            drop(ring);
            let id = found.as_ref().map(|s| s.id.to_string()).unwrap_or_default();
            let pid = found.as_ref().map(|s| s.patient_id.to_string());
            self.read_entry(
                pending,
                actor,
                "specimen.search",
                &SPECIMENS,
                &id,
                pid.as_deref(),
            )?;
            Ok(found)
        })
    }

    pub fn add_order(&self, actor: &Actor, o: &LabOrder) -> Result<(), StoreError> {
        let id = o.id.to_string();
        self.authorize(actor, P::SpecimenRecord, "order.create", "order", &id)?;
        o.validate()?;
        let pid = o.patient_id.to_string();
        self.write(|tx, pending| {
            let ring = self.ring()?;
            let t = ORDERS.name;
            let values = vec![
                pid.clone().into(),
                o.specimen_id.map(|s| s.to_string()).into(),
                Value::Int(i64::from(ring.active_version())),
                seal(&ring, t, &id, "ordering_provider", &o.ordering_provider)?,
                seal(&ring, t, &id, "tests", &o.tests)?,
                seal(&ring, t, &id, "placed_at", &o.placed_at)?,
                rfc3339(self.now()).into(),
            ];
            drop(ring);
            self.insert(tx, pending, actor, &ORDERS, &id, &pid, values)
        })
    }

    pub fn add_result(&self, actor: &Actor, r: &LabResult) -> Result<(), StoreError> {
        self.add_results(actor, std::slice::from_ref(r))
    }

    /// Files several results in one transaction (one analyzer message is one unit).
    pub fn add_results(&self, actor: &Actor, results: &[LabResult]) -> Result<(), StoreError> {
        self.authorize(actor, P::ResultEnter, "result.create", "result", "")?;
        for r in results {
            r.validate()?;
        }
        self.write(|tx, pending| {
            for r in results {
                let values = self.result_values(r)?;
                let id = r.id.to_string();
                self.insert(
                    tx,
                    pending,
                    actor,
                    &RESULTS,
                    &id,
                    &r.patient_id.to_string(),
                    values,
                )?;
            }
            Ok(())
        })
    }

    pub(crate) fn result_values(&self, r: &LabResult) -> Result<Vec<Value>, StoreError> {
        let ring = self.ring()?;
        let (t, id) = (RESULTS.name, r.id.to_string());
        Ok(vec![
            r.patient_id.to_string().into(),
            r.specimen_id.map(|s| s.to_string()).into(),
            r.order_id.map(|s| s.to_string()).into(),
            Value::Int(i64::from(ring.active_version())),
            r.status.code().into(),
            r.performing_device.clone().into(),
            r.verified_by.clone().into(),
            seal(&ring, t, &id, "analyte", &r.analyte)?,
            seal(&ring, t, &id, "analyte_name", &r.analyte_name)?,
            seal(&ring, t, &id, "value", &r.value)?,
            seal(&ring, t, &id, "units", &r.units)?,
            seal(&ring, t, &id, "reference_range", &r.reference_range)?,
            seal(&ring, t, &id, "abnormal_flag", &r.abnormal_flag)?,
            seal(&ring, t, &id, "observed_at", &r.observed_at)?,
            rfc3339(self.now()).into(),
        ])
    }

    pub fn results_for_patient(
        &self,
        actor: &Actor,
        patient: Id,
    ) -> Result<Vec<LabResult>, StoreError> {
        let pid = patient.to_string();
        self.authorize(actor, P::ResultRead, "result.read", "result", &pid)?;
        self.read(|tx, pending| {
            let ring = self.ring()?;
            let sql = format!(
                "{} WHERE patient_id = ? ORDER BY created_at, id",
                RESULTS.select_sql()
            );
            let out = tx
                .query(&sql, &[pid.clone().into()])?
                .into_iter()
                .map(|r| decode_result(&ring, r))
                .collect::<Result<Vec<_>, _>>()?;
            drop(ring);
            for r in &out {
                self.read_entry(
                    pending,
                    actor,
                    "result.read",
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
        self.authorize(actor, P::ResultVerify, "result.verify", "result", &ids)?;
        self.write(|tx, pending| {
            let ring = self.ring()?;
            let sql = format!("{} WHERE id = ?", RESULTS.select_sql());
            let row = tx
                .query(&sql, &[ids.clone().into()])?
                .into_iter()
                .next()
                .ok_or_else(|| StoreError::NotFound(format!("result {ids}")))?;
            let mut r = decode_result(&ring, row)?;
            drop(ring);
            if r.status == ResultStatus::Preliminary {
                r.status = ResultStatus::Final;
            }
            r.verified_by = Some(actor.id.clone());
            let values = self.result_values(&r)?;
            let hash = RESULTS.row_hash(&values);
            tx.execute(
                "UPDATE results SET status = ?, verified_by = ?, key_version = ?, analyte = ?, analyte_name = ?, value = ?, units = ?, reference_range = ?, abnormal_flag = ?, observed_at = ?, created_at = ? WHERE id = ?",
                &[
                    values[4].clone(), values[6].clone(), values[3].clone(), values[7].clone(),
                    values[8].clone(), values[9].clone(), values[10].clone(), values[11].clone(),
                    values[12].clone(), values[13].clone(), values[14].clone(), ids.clone().into(),
                ],
            )?;
            let mut e = self.entry(actor, "result.verify", "result", &ids, Some(&r.patient_id.to_string()), Outcome::Success)?;
            e.content_hash = Some(hash);
            pending.push(e);
            Ok(r)
        })
    }
}

fn parse_id(v: &Value) -> Result<Id, StoreError> {
    Id::parse_str(v.as_text()?).map_err(|_| StoreError::Corrupt("malformed id".into()))
}

fn opt_id(v: &Value) -> Result<Option<Id>, StoreError> {
    match v {
        Value::Null => Ok(None),
        other => parse_id(other).map(Some),
    }
}

/// Reads column `name` of a row selected with the spec's column order.
struct Cols<'a> {
    spec: &'a TableSpec,
    id: String,
    values: Vec<Value>,
    ring: &'a KeyRing,
}

impl Cols<'_> {
    fn raw(&self, name: &str) -> Result<&Value, StoreError> {
        let i = self.spec.index_of(name)?;
        self.values
            .get(i)
            .ok_or_else(|| StoreError::Corrupt(format!("{} row too short", self.spec.name)))
    }

    fn dec<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, StoreError> {
        open(self.ring, self.spec.name, &self.id, name, self.raw(name)?)
    }
}

fn cols<'a>(
    spec: &'a TableSpec,
    ring: &'a KeyRing,
    row: Vec<Value>,
) -> Result<Cols<'a>, StoreError> {
    let (id, values) = split_row(row)?;
    Ok(Cols {
        spec,
        id,
        values,
        ring,
    })
}

pub(crate) fn decode_patient(ring: &KeyRing, row: Vec<Value>) -> Result<Patient, StoreError> {
    let c = cols(&PATIENTS, ring, row)?;
    Ok(Patient {
        id: parse_id(&Value::Text(c.id.clone()))?,
        mrn: c.dec("mrn")?,
        family: c.dec("family")?,
        given: c.dec("given")?,
        birth_date: c.dec::<NaiveDate>("birth_date")?,
        sex: c.dec::<Sex>("sex")?,
        phone: c.dec("phone")?,
        email: c.dec("email")?,
        address: c.dec::<Option<Address>>("address")?,
    })
}

pub(crate) fn decode_specimen(ring: &KeyRing, row: Vec<Value>) -> Result<Specimen, StoreError> {
    let c = cols(&SPECIMENS, ring, row)?;
    Ok(Specimen {
        id: parse_id(&Value::Text(c.id.clone()))?,
        patient_id: parse_id(c.raw("patient_id")?)?,
        accession: c.dec("accession")?,
        collector: c.dec("collector")?,
        collected_at: c.dec::<DateTime<Utc>>("collected_at")?,
        container: c.dec::<ContainerType>("container")?,
        body_site: c.dec("body_site")?,
    })
}

pub(crate) fn decode_result(ring: &KeyRing, row: Vec<Value>) -> Result<LabResult, StoreError> {
    let c = cols(&RESULTS, ring, row)?;
    Ok(LabResult {
        id: parse_id(&Value::Text(c.id.clone()))?,
        patient_id: parse_id(c.raw("patient_id")?)?,
        specimen_id: opt_id(c.raw("specimen_id")?)?,
        order_id: opt_id(c.raw("order_id")?)?,
        analyte: c.dec::<LoincCode>("analyte")?,
        analyte_name: c.dec("analyte_name")?,
        value: c.dec("value")?,
        units: c.dec("units")?,
        reference_range: c.dec::<ReferenceRange>("reference_range")?,
        abnormal_flag: c.dec::<AbnormalFlag>("abnormal_flag")?,
        status: ResultStatus::from_code(c.raw("status")?.as_text()?)?,
        performing_device: c.raw("performing_device")?.opt_text()?.map(str::to_string),
        verified_by: c.raw("verified_by")?.opt_text()?.map(str::to_string),
        observed_at: c.dec::<DateTime<Utc>>("observed_at")?,
    })
}
