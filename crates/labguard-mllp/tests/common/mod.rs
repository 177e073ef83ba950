//! Harness: a real store (SQLite file, and PostgreSQL in its own schema unless
//! LABGUARD_SKIP_PG is set) and an in-process listener on ephemeral ports.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use labguard_core::{Id, Patient, Sex};
use labguard_mllp::{Config, Server};
use labguard_store::testing::PgBackend;
use labguard_store::{Actor, DataDir, Store, StoreOptions};

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

pub fn envs(test: &str) -> Vec<Env> {
    let mut v = vec![];
    let dir = tempfile::tempdir().unwrap();
    v.push(Env {
        name: "sqlite",
        data: DataDir::sqlite(dir.path().join("data")),
        dir,
    });
    if std::env::var("LABGUARD_SKIP_PG").is_err() {
        let url = std::env::var("LABGUARD_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let dir = tempfile::tempdir().unwrap();
        let schema = format!(
            "m_{}_{}_{}",
            test,
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        );
        v.push(Env {
            name: "postgres",
            data: DataDir::postgres(dir.path().join("data"), &url, Some(&schema)),
            dir,
        });
    }
    v
}

pub fn store(env: &Env) -> Arc<Store> {
    let opts = StoreOptions {
        node: "test-node".into(),
        ..StoreOptions::default()
    };
    Arc::new(env.data.init(opts).unwrap())
}

pub fn op() -> Actor {
    Actor::operator()
}

pub fn add_patient(store: &Store, mrn: &str) -> Patient {
    let p = Patient {
        id: Id::new_v4(),
        mrn: mrn.into(),
        family: "Brightwater".into(),
        given: "Tamsin".into(),
        birth_date: NaiveDate::from_ymd_opt(1980, 1, 2).unwrap(),
        sex: Sex::Female,
        phone: None,
        email: None,
        address: None,
    };
    store.add_patient(&op(), &p).unwrap();
    p
}

/// A listener on ephemeral loopback ports; dropped with the runtime's shutdown sender.
pub struct Running {
    pub tls: std::net::SocketAddr,
    pub tcp: std::net::SocketAddr,
    pub stop: tokio::sync::oneshot::Sender<()>,
}

pub async fn start(env: &Env, store: Arc<Store>) -> Running {
    let mut cfg = Config::new(&env.data.path);
    cfg.tls_listen = Some("127.0.0.1:0".parse().unwrap());
    cfg.tcp_listen = Some("127.0.0.1:0".parse().unwrap());
    cfg.refresh = Duration::from_millis(100);
    let server = Server::bind(store, cfg).await.unwrap();
    let (tls, tcp) = (server.tls_addr().unwrap(), server.tcp_addr().unwrap());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = rx.await;
    }));
    Running { tls, tcp, stop }
}

/// An ORU^R01 from CHEM/CORELAB with one glucose result for `mrn`.
pub fn oru(control: &str, mrn: &str, value: &str) -> String {
    oru_from(
        "CHEM",
        "CORELAB",
        control,
        mrn,
        "2345-7^Glucose^LN",
        value,
        "mg/dL",
    )
}

pub fn oru_from(
    app: &str,
    fac: &str,
    control: &str,
    mrn: &str,
    code: &str,
    value: &str,
    units: &str,
) -> String {
    format!(
        "MSH|^~\\&|{app}|{fac}|LABGUARD|LAB|20261102093000||ORU^R01^ORU_R01|{control}|P|2.5.1\r\
         PID|1||{mrn}^^^LAB^MR||Brightwater^Tamsin||19800102|F\r\
         OBR|1|PL{control}|FI{control}|2345-7^Glucose^LN|||20261102083000|||||||||^Ordwell^Requisition\r\
         OBX|1|NM|{code}||{value}|{units}|70-99|N|||F|||20261102090000\r"
    )
}
