//! The store tests' fixtures; the harness is the testkit's: every store test runs on a real
//! SQLite file and on the real PostgreSQL (its own schema per test, dropped afterwards).

#![allow(dead_code)]

use chrono::{NaiveDate, TimeZone, Utc};
use labguard_core::{
    AbnormalFlag, ContainerType, Id, LabResult, LoincCode, Patient, ReferenceRange, ResultStatus,
    Sex, Specimen,
};
use labguard_store::{Actor, Store, StoreOptions};
pub use labguard_testkit::TestData as Env;

/// A fresh SQLite data dir and (unless LABGUARD_SKIP_PG) a fresh PostgreSQL schema.
pub fn envs(test: &str) -> Vec<Env> {
    labguard_testkit::data_dirs("t", test)
}

pub fn opts() -> StoreOptions {
    StoreOptions {
        node: "test-node".into(),
        ..StoreOptions::default()
    }
}

pub fn init(env: &Env) -> Store {
    env.data
        .init(opts())
        .unwrap_or_else(|e| panic!("{}: init: {e}", env.name))
}

pub fn op() -> Actor {
    Actor::operator()
}

pub fn patient(mrn: &str, family: &str, given: &str) -> Patient {
    Patient {
        id: Id::new_v4(),
        mrn: mrn.into(),
        family: family.into(),
        given: given.into(),
        birth_date: NaiveDate::from_ymd_opt(1971, 3, 14).unwrap(),
        sex: Sex::Female,
        phone: Some("+1 555 0100".into()),
        email: Some("someone@example.org".into()),
        address: None,
    }
}

pub fn specimen(p: &Patient, accession: &str) -> Specimen {
    Specimen {
        id: Id::new_v4(),
        patient_id: p.id,
        accession: accession.into(),
        collector: "phleb-1".into(),
        collected_at: Utc.with_ymd_and_hms(2026, 11, 2, 8, 30, 0).unwrap(),
        container: ContainerType::Fluoride,
        body_site: "left antecubital vein".into(),
    }
}

pub fn glucose(p: &Patient, s: &Specimen, value: &str) -> LabResult {
    LabResult {
        id: Id::new_v4(),
        patient_id: p.id,
        specimen_id: Some(s.id),
        order_id: None,
        analyte: LoincCode::parse("2345-7").unwrap(),
        analyte_name: "Glucose".into(),
        value: value.into(),
        units: "mg/dL".into(),
        reference_range: ReferenceRange::parse("70-99"),
        abnormal_flag: AbnormalFlag::Normal,
        status: ResultStatus::Preliminary,
        performing_device: Some("analyzer-1".into()),
        verified_by: None,
        observed_at: Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
    }
}

/// Runs SQL directly against the database, as an attacker with file or DB access would.
pub fn raw(
    env: &Env,
    sql: &str,
    params: &[labguard_store::testing::Value],
) -> Vec<labguard_store::testing::Row> {
    labguard_testkit::raw(&env.data, sql, params)
}
