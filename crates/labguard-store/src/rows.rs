//! The PHI tables, one row type each: its column list (the order rows are selected, hashed
//! and re-sealed in) and, next to it, how a record becomes those columns and back. Every
//! write path (records, ingest, held review) and read path goes through these, so a column
//! is sealed the same way wherever its row is written.

use chrono::{DateTime, NaiveDate, Utc};
use labguard_core::{
    AbnormalFlag, Address, ContainerType, Id, LabOrder, LabResult, LoincCode, Patient,
    ReferenceRange, ResultStatus, Sex, Specimen,
};

use labguard_crypto::KeyRing;

use crate::backend::{Row, Value};
use crate::codec::id_from_text;
use crate::records::{mrn_key, name_dob_key};
use crate::table::{Decoder, Encoder, TableSpec};
use crate::StoreError;

/// A row type of one audited table.
pub(crate) trait PhiRow {
    const SPEC: &'static TableSpec;
    fn row_id(&self) -> String;
    /// Pushes every column after `id`, in `SPEC.columns` order; `now` is the write time.
    fn encode(&self, e: &mut Encoder<'_>, now: &str) -> Result<(), StoreError>;
    /// Lookup rows derived from this one, written beside it in the same transaction by the
    /// one insert path, so no write path can forget them.
    fn index_rows(&self, _ring: &KeyRing, _now: &str) -> Vec<(&'static str, Vec<Value>)> {
        Vec::new()
    }
}

/// A row type that reads back from a row selected with `SPEC.select_sql()`.
pub(crate) trait DecodeRow: Sized {
    const SPEC: &'static TableSpec;
    fn decode(d: &Decoder<'_>) -> Result<Self, StoreError>;
}

/// Decodes a row selected with `R::SPEC.select_sql()`.
pub(crate) fn decode<R: DecodeRow>(ring: &KeyRing, row: Row) -> Result<R, StoreError> {
    R::decode(&Decoder::new(R::SPEC, ring, row)?)
}

fn opt_id(v: &Value) -> Result<Option<Id>, StoreError> {
    v.opt_text()?.map(id_from_text).transpose()
}

pub(crate) const PATIENTS: TableSpec = TableSpec {
    name: "patients",
    resource: "patient",
    columns: &[
        "key_version",
        "mrn_bidx",
        "name_dob_bidx",
        "mrn",
        "family",
        "given",
        "birth_date",
        "sex",
        "phone",
        "email",
        "address",
        "created_at",
    ],
    encrypted: &[
        "mrn",
        "family",
        "given",
        "birth_date",
        "sex",
        "phone",
        "email",
        "address",
    ],
    patient_column: Some("id"),
};

impl PhiRow for Patient {
    const SPEC: &'static TableSpec = &PATIENTS;
    fn row_id(&self) -> String {
        self.id.to_string()
    }
    fn encode(&self, e: &mut Encoder<'_>, now: &str) -> Result<(), StoreError> {
        e.key_version()?;
        let mrn = e.ring().blind_index("mrn", &mrn_key(&self.mrn)).to_vec();
        e.plain("mrn_bidx", mrn)?;
        let key = name_dob_key(&self.family, &self.given, self.birth_date);
        let name_dob = e.ring().blind_index("name-dob", &key).to_vec();
        e.plain("name_dob_bidx", name_dob)?;
        e.sealed("mrn", &self.mrn)?;
        e.sealed("family", &self.family)?;
        e.sealed("given", &self.given)?;
        e.sealed("birth_date", &self.birth_date)?;
        e.sealed("sex", &self.sex)?;
        e.sealed("phone", &self.phone)?;
        e.sealed("email", &self.email)?;
        e.sealed("address", &self.address)?;
        e.plain("created_at", now)
    }
}

impl DecodeRow for Patient {
    const SPEC: &'static TableSpec = &PATIENTS;
    fn decode(d: &Decoder<'_>) -> Result<Self, StoreError> {
        Ok(Patient {
            id: id_from_text(&d.id)?,
            mrn: d.sealed("mrn")?,
            family: d.sealed("family")?,
            given: d.sealed("given")?,
            birth_date: d.sealed::<NaiveDate>("birth_date")?,
            sex: d.sealed::<Sex>("sex")?,
            phone: d.sealed("phone")?,
            email: d.sealed("email")?,
            address: d.sealed::<Option<Address>>("address")?,
        })
    }
}

pub(crate) const SPECIMENS: TableSpec = TableSpec {
    name: "specimens",
    resource: "specimen",
    columns: &[
        "patient_id",
        "key_version",
        "accession_bidx",
        "accession",
        "collector",
        "collected_at",
        "container",
        "body_site",
        "created_at",
    ],
    encrypted: &[
        "accession",
        "collector",
        "collected_at",
        "container",
        "body_site",
    ],
    patient_column: Some("patient_id"),
};

impl PhiRow for Specimen {
    const SPEC: &'static TableSpec = &SPECIMENS;
    fn row_id(&self) -> String {
        self.id.to_string()
    }
    fn encode(&self, e: &mut Encoder<'_>, now: &str) -> Result<(), StoreError> {
        e.plain("patient_id", self.patient_id.to_string())?;
        e.key_version()?;
        let bidx = e
            .ring()
            .blind_index("accession", self.accession.trim())
            .to_vec();
        e.plain("accession_bidx", bidx)?;
        e.sealed("accession", &self.accession)?;
        e.sealed("collector", &self.collector)?;
        e.sealed("collected_at", &self.collected_at)?;
        e.sealed("container", &self.container)?;
        e.sealed("body_site", &self.body_site)?;
        e.plain("created_at", now)
    }
}

impl DecodeRow for Specimen {
    const SPEC: &'static TableSpec = &SPECIMENS;
    fn decode(d: &Decoder<'_>) -> Result<Self, StoreError> {
        Ok(Specimen {
            id: id_from_text(&d.id)?,
            patient_id: id_from_text(d.text("patient_id")?)?,
            accession: d.sealed("accession")?,
            collector: d.sealed("collector")?,
            collected_at: d.sealed::<DateTime<Utc>>("collected_at")?,
            container: d.sealed::<ContainerType>("container")?,
            body_site: d.sealed("body_site")?,
        })
    }
}

pub(crate) const ORDERS: TableSpec = TableSpec {
    name: "orders",
    resource: "order",
    columns: &[
        "patient_id",
        "specimen_id",
        "key_version",
        "ordering_provider",
        "tests",
        "placed_at",
        "created_at",
    ],
    encrypted: &["ordering_provider", "tests", "placed_at"],
    patient_column: Some("patient_id"),
};

impl PhiRow for LabOrder {
    const SPEC: &'static TableSpec = &ORDERS;
    fn row_id(&self) -> String {
        self.id.to_string()
    }
    fn encode(&self, e: &mut Encoder<'_>, now: &str) -> Result<(), StoreError> {
        e.plain("patient_id", self.patient_id.to_string())?;
        e.plain("specimen_id", self.specimen_id.map(|s| s.to_string()))?;
        e.key_version()?;
        e.sealed("ordering_provider", &self.ordering_provider)?;
        e.sealed("tests", &self.tests)?;
        e.sealed("placed_at", &self.placed_at)?;
        e.plain("created_at", now)
    }
}

pub(crate) const RESULTS: TableSpec = TableSpec {
    name: "results",
    resource: "result",
    columns: &[
        "patient_id",
        "specimen_id",
        "order_id",
        "key_version",
        "status",
        "performing_device",
        "verified_by",
        "analyte",
        "analyte_name",
        "value",
        "units",
        "reference_range",
        "abnormal_flag",
        "observed_at",
        "created_at",
    ],
    encrypted: &[
        "analyte",
        "analyte_name",
        "value",
        "units",
        "reference_range",
        "abnormal_flag",
        "observed_at",
    ],
    patient_column: Some("patient_id"),
};

impl PhiRow for LabResult {
    const SPEC: &'static TableSpec = &RESULTS;
    fn row_id(&self) -> String {
        self.id.to_string()
    }
    fn encode(&self, e: &mut Encoder<'_>, now: &str) -> Result<(), StoreError> {
        e.plain("patient_id", self.patient_id.to_string())?;
        e.plain("specimen_id", self.specimen_id.map(|s| s.to_string()))?;
        e.plain("order_id", self.order_id.map(|s| s.to_string()))?;
        e.key_version()?;
        e.plain("status", self.status.code())?;
        e.plain("performing_device", self.performing_device.clone())?;
        e.plain("verified_by", self.verified_by.clone())?;
        e.sealed("analyte", &self.analyte)?;
        e.sealed("analyte_name", &self.analyte_name)?;
        e.sealed("value", &self.value)?;
        e.sealed("units", &self.units)?;
        e.sealed("reference_range", &self.reference_range)?;
        e.sealed("abnormal_flag", &self.abnormal_flag)?;
        e.sealed("observed_at", &self.observed_at)?;
        e.plain("created_at", now)
    }
    fn index_rows(&self, ring: &KeyRing, now: &str) -> Vec<(&'static str, Vec<Value>)> {
        vec![(
            "INSERT INTO result_series (result_id, patient_id, series_bidx, created_at) VALUES (?, ?, ?, ?)",
            vec![
                self.id.to_string().into(),
                self.patient_id.to_string().into(),
                series_key(ring, self.patient_id, &self.analyte).into(),
                now.into(),
            ],
        )]
    }
}

/// The blind key of a patient's series of one analyte (see `result_series`, migration 12).
pub(crate) fn series_key(ring: &KeyRing, patient: Id, analyte: &LoincCode) -> Vec<u8> {
    ring.blind_index(
        "result-series",
        &format!("{patient}\u{0}{}", analyte.as_str().trim()),
    )
    .to_vec()
}

impl DecodeRow for LabResult {
    const SPEC: &'static TableSpec = &RESULTS;
    fn decode(d: &Decoder<'_>) -> Result<Self, StoreError> {
        Ok(LabResult {
            id: id_from_text(&d.id)?,
            patient_id: id_from_text(d.text("patient_id")?)?,
            specimen_id: opt_id(d.raw("specimen_id")?)?,
            order_id: opt_id(d.raw("order_id")?)?,
            analyte: d.sealed::<LoincCode>("analyte")?,
            analyte_name: d.sealed("analyte_name")?,
            value: d.sealed("value")?,
            units: d.sealed("units")?,
            reference_range: d.sealed::<ReferenceRange>("reference_range")?,
            abnormal_flag: d.sealed::<AbnormalFlag>("abnormal_flag")?,
            status: ResultStatus::from_code(d.text("status")?)?,
            performing_device: d.opt_text("performing_device")?,
            verified_by: d.opt_text("verified_by")?,
            observed_at: d.sealed::<DateTime<Utc>>("observed_at")?,
        })
    }
}

pub(crate) const INBOUND_MESSAGES: TableSpec = TableSpec {
    name: "inbound_messages",
    resource: "message",
    columns: &[
        "device_id",
        "control_id",
        "key_version",
        "raw",
        "raw_sha256",
        "ack_code",
        "results_filed",
        "results_held",
        "received_at",
    ],
    encrypted: &["raw"],
    patient_column: None,
};

/// One instrument message as stored: the original bytes sealed, with their SHA-256.
pub(crate) struct InboundRow<'a> {
    pub id: Id,
    pub device_id: Id,
    pub control_id: &'a str,
    pub raw: &'a [u8],
    pub ack_code: &'a str,
    pub filed: i64,
    pub held: i64,
    pub received_at: &'a str,
}

impl PhiRow for InboundRow<'_> {
    const SPEC: &'static TableSpec = &INBOUND_MESSAGES;
    fn row_id(&self) -> String {
        self.id.to_string()
    }
    fn encode(&self, e: &mut Encoder<'_>, _now: &str) -> Result<(), StoreError> {
        e.plain("device_id", self.device_id.to_string())?;
        e.plain("control_id", self.control_id)?;
        e.key_version()?;
        e.sealed_bytes("raw", self.raw)?;
        e.plain("raw_sha256", hex::encode(labguard_crypto::sha256(self.raw)))?;
        e.plain("ack_code", self.ack_code)?;
        e.plain("results_filed", self.filed)?;
        e.plain("results_held", self.held)?;
        e.plain("received_at", self.received_at)
    }
}

pub(crate) const HELD_RESULTS: TableSpec = TableSpec {
    name: "held_results",
    resource: "held-result",
    columns: &[
        "patient_id",
        "message_id",
        "device_id",
        "key_version",
        "state",
        "reasons",
        "result",
        "created_at",
    ],
    encrypted: &["result"],
    patient_column: Some("patient_id"),
};

/// A result held back for review (ingest gives it the result's id).
pub(crate) struct HeldRow {
    pub id: Id,
    /// Empty when the MRN matched no patient.
    pub patient_id: String,
    pub message_id: Id,
    pub device_id: Id,
    pub state: String,
    pub reasons: Vec<String>,
    pub result: LabResult,
    pub created_at: String,
}

impl PhiRow for HeldRow {
    const SPEC: &'static TableSpec = &HELD_RESULTS;
    fn row_id(&self) -> String {
        self.id.to_string()
    }
    fn encode(&self, e: &mut Encoder<'_>, _now: &str) -> Result<(), StoreError> {
        e.plain("patient_id", self.patient_id.as_str())?;
        e.plain("message_id", self.message_id.to_string())?;
        e.plain("device_id", self.device_id.to_string())?;
        e.key_version()?;
        e.plain("state", self.state.as_str())?;
        e.plain("reasons", self.reasons.join(","))?;
        e.sealed("result", &self.result)?;
        e.plain("created_at", self.created_at.as_str())
    }
}

impl DecodeRow for HeldRow {
    const SPEC: &'static TableSpec = &HELD_RESULTS;
    fn decode(d: &Decoder<'_>) -> Result<Self, StoreError> {
        Ok(HeldRow {
            id: id_from_text(&d.id)?,
            patient_id: d.text("patient_id")?.to_string(),
            message_id: id_from_text(d.text("message_id")?)?,
            device_id: id_from_text(d.text("device_id")?)?,
            state: d.text("state")?.to_string(),
            reasons: crate::instruments::split_list(d.text("reasons")?),
            result: d.sealed("result")?,
            created_at: d.text("created_at")?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> KeyRing {
        let mut ring = KeyRing::new(&[1; 32], &[2; 32], &[3; 32]);
        ring.add_data_key(1, &[4; 32]).unwrap();
        ring.set_active(1).unwrap();
        ring
    }

    fn encode<R: PhiRow>(ring: &KeyRing, row: &R) -> Vec<Value> {
        let id = row.row_id();
        let mut e = Encoder::new(R::SPEC, ring, &id);
        row.encode(&mut e, "2026-01-01T00:00:00.000000Z").unwrap();
        e.finish().unwrap()
    }

    fn round_trip<R: PhiRow + DecodeRow>(ring: &KeyRing, row: &R) -> R {
        let mut full = vec![Value::Text(row.row_id())];
        full.extend(encode(ring, row));
        decode(ring, full).unwrap()
    }

    fn result() -> LabResult {
        LabResult {
            id: Id::new_v4(),
            patient_id: Id::new_v4(),
            specimen_id: Some(Id::new_v4()),
            order_id: None,
            analyte: LoincCode::parse("2345-7").unwrap(),
            analyte_name: "Glucose".into(),
            value: "95".into(),
            units: "mg/dL".into(),
            reference_range: ReferenceRange::parse("70-99"),
            abnormal_flag: AbnormalFlag::Normal,
            status: ResultStatus::Final,
            performing_device: Some("device:a".into()),
            verified_by: None,
            observed_at: DateTime::UNIX_EPOCH,
        }
    }

    // Each row type writes exactly its spec's columns, in order, sealed where listed, and
    // reads back what it wrote.
    #[test]
    fn row_types_match_their_column_lists() {
        let ring = ring();
        let p = Patient {
            id: Id::new_v4(),
            mrn: "MRN-1".into(),
            family: "Testperson".into(),
            given: "Fictional".into(),
            birth_date: NaiveDate::MIN,
            sex: Sex::Other,
            phone: None,
            email: Some("x@example.invalid".into()),
            address: None,
        };
        assert_eq!(round_trip(&ring, &p), p);
        let s = Specimen {
            id: Id::new_v4(),
            patient_id: p.id,
            accession: "A1".into(),
            collector: "c".into(),
            collected_at: DateTime::UNIX_EPOCH,
            container: ContainerType::Edta,
            body_site: "arm".into(),
        };
        assert_eq!(round_trip(&ring, &s), s);
        let o = LabOrder {
            id: Id::new_v4(),
            patient_id: p.id,
            specimen_id: None,
            ordering_provider: "dr".into(),
            tests: vec![],
            placed_at: DateTime::UNIX_EPOCH,
        };
        assert_eq!(encode(&ring, &o).len(), ORDERS.columns.len());
        let r = result();
        assert_eq!(round_trip(&ring, &r), r);
        let raw = b"MSH|";
        let m = InboundRow {
            id: Id::new_v4(),
            device_id: Id::new_v4(),
            control_id: "1",
            raw,
            ack_code: "AA",
            filed: 1,
            held: 0,
            received_at: "t",
        };
        assert_eq!(encode(&ring, &m).len(), INBOUND_MESSAGES.columns.len());
        let h = HeldRow {
            id: r.id,
            patient_id: String::new(),
            message_id: m.id,
            device_id: m.device_id,
            state: "held".into(),
            reasons: vec!["a".into(), "b".into()],
            result: r,
            created_at: "t".into(),
        };
        let back = round_trip(&ring, &h);
        assert_eq!(
            (back.reasons, back.result),
            (h.reasons.clone(), h.result.clone())
        );
    }

    #[test]
    fn out_of_order_or_unsealed_columns_are_refused() {
        let ring = ring();
        let mut e = Encoder::new(&ORDERS, &ring, "x");
        assert!(e.plain("specimen_id", Value::Null).is_err());
        e.plain("patient_id", "p").unwrap();
        e.plain("specimen_id", Value::Null).unwrap();
        e.key_version().unwrap();
        assert!(e.plain("ordering_provider", "dr").is_err());
        assert!(e.finish().is_err());
    }
}
