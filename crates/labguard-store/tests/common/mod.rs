//! Shared harness: every store test runs on a real SQLite file and on the real PostgreSQL
//! (its own schema per test, dropped afterwards).

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{NaiveDate, TimeZone, Utc};
use labguard_core::{
    AbnormalFlag, ContainerType, Id, LabResult, LoincCode, Patient, ReferenceRange, ResultStatus,
    Sex, Specimen,
};
use labguard_store::testing::PgBackend;
use labguard_store::{Actor, DataDir, Store, StoreOptions};

pub const PG_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn pg_url() -> String {
    std::env::var("LABGUARD_TEST_PG").unwrap_or_else(|_| PG_DEFAULT.into())
}

pub struct Env {
    pub name: &'static str,
    pub dir: tempfile::TempDir,
    pub data: DataDir,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let labguard_store::Location::Postgres { url, schema } = &self.data.location {
            if let Ok(pg) = PgBackend::connect(url, schema.as_deref()) {
                let _ = pg.drop_schema();
            }
        }
    }
}

static N: AtomicU32 = AtomicU32::new(0);

/// One SQLite and one PostgreSQL environment, each with a fresh data dir.
pub fn envs(test: &str) -> Vec<Env> {
    let mut v = vec![];
    let dir = tempfile::tempdir().unwrap();
    v.push(Env {
        name: "sqlite",
        data: DataDir::sqlite(dir.path().join("data")),
        dir,
    });
    if std::env::var("LABGUARD_SKIP_PG").is_err() {
        let dir = tempfile::tempdir().unwrap();
        let schema = format!(
            "t_{}_{}_{}",
            test,
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        v.push(Env {
            name: "postgres",
            data: DataDir::postgres(dir.path().join("data"), &pg_url(), Some(&schema)),
            dir,
        });
    }
    v
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
    use labguard_store::testing::{Backend, SqliteBackend};
    use labguard_store::Location;
    let backend: Box<dyn Backend> = match &env.data.location {
        Location::Sqlite => Box::new(SqliteBackend::open(&env.data.db_path(), false).unwrap()),
        Location::Postgres { url, schema } => {
            Box::new(PgBackend::connect(url, schema.as_deref()).unwrap())
        }
    };
    let mut tx = backend.begin().unwrap();
    let rows = if sql.trim_start().to_uppercase().starts_with("SELECT") {
        tx.query(sql, params).unwrap()
    } else {
        tx.execute(sql, params).unwrap();
        vec![]
    };
    tx.commit().unwrap();
    rows
}
