//! `labguard mllp bench`: a Rust load generator measuring end-to-end ingest. Each
//! connection behaves like an instrument (one message in flight, waits for the ACK); every
//! AA counted was sent after its message and results were committed. In the same run the
//! same client measures a peer receiver (the Python `hl7` package's asyncio MLLP server,
//! which only parses and ACKs) so the two can be compared.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::Args;
use labguard_core::{Id, Patient, Sex};
use labguard_mllp::client::{ack_code, tls_client_config, Client};
use labguard_mllp::{enroll, DeviceCa, EnrollRequest};
use labguard_store::{Actor, StoreOptions};

use crate::opts::Global;

#[derive(Args)]
pub struct BenchArgs {
    /// Connection counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    conns: Vec<usize>,
    /// Messages per measurement.
    #[arg(long, default_value_t = 5000)]
    messages: usize,
    /// The peer receiver script to compare with ("off" to skip).
    #[arg(long, default_value = "/work/shared/bench/hl7_peer_server.py")]
    peer: String,
    /// Port for the peer receiver.
    #[arg(long, default_value_t = 2599)]
    peer_port: u16,
}

const PANEL: &[(&str, &str, &str, f64)] = &[
    ("2345-7", "Glucose", "mg/dL", 95.0),
    ("2823-3", "Potassium", "mmol/L", 4.2),
    ("2951-2", "Sodium", "mmol/L", 140.0),
    ("2160-0", "Creatinine", "mg/dL", 0.9),
    ("718-7", "Hemoglobin", "g/dL", 14.1),
    ("6690-2", "Leukocytes", "10*3/uL", 7.2),
];

/// A realistic ORU^R01 (six chemistry/haematology results) for patient `n`.
fn oru(control: &str, n: usize) -> Vec<u8> {
    let mut m = format!(
        "MSH|^~\\&|BENCH|CORELAB|LABGUARD|LAB|20261102093000||ORU^R01^ORU_R01|{control}|P|2.5.1\r\
         PID|1||BENCH-{n:04}^^^LAB^MR||Loadtest^Pat||19800102|F\r\
         OBR|1|PL{control}|FI{control}|24323-8^Metabolic panel^LN|||20261102083000|||||||||^Ordwell^Requisition\r"
    );
    for (i, (code, name, units, v)) in PANEL.iter().enumerate() {
        m.push_str(&format!(
            "OBX|{}|NM|{code}^{name}^LN||{v}|{units}|||N|||F|||20261102090000\r",
            i + 1
        ));
    }
    m.into_bytes()
}

/// Sends `total` messages over `conns` connections made by `connect`; returns msg/s.
async fn drive<C, F, S>(conns: usize, total: usize, tag: &str, connect: C) -> Result<f64>
where
    C: Fn() -> F,
    F: std::future::Future<Output = Result<Client<S>, labguard_mllp::MllpError>> + Send + 'static,
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let per = total.div_ceil(conns);
    let mut clients = Vec::with_capacity(conns);
    for _ in 0..conns {
        clients.push(connect().await?);
    }
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (c, mut client) in clients.into_iter().enumerate() {
        let tag = tag.to_string();
        tasks.spawn(async move {
            for i in 0..per {
                let control = format!("{tag}-{c}-{i}");
                let ack = client.send(&oru(&control, (c * per + i) % 100)).await?;
                if ack_code(&ack).as_deref() != Some("AA") {
                    bail!("message {control} was not accepted");
                }
            }
            Ok(per)
        });
    }
    let mut sent = 0;
    while let Some(r) = tasks.join_next().await {
        sent += r??;
    }
    Ok(sent as f64 / start.elapsed().as_secs_f64())
}

pub fn run(g: &Global, a: BenchArgs) -> Result<()> {
    let tmp;
    let data = if g.database.is_some() {
        g.data()
    } else {
        tmp = tempfile_dir()?;
        labguard_store::DataDir::sqlite(&tmp)
    };
    let store = Arc::new(
        data.init(StoreOptions::default())
            .context("a fresh database for the benchmark")?,
    );
    let op = Actor::operator();
    for n in 0..100 {
        store.add_patient(
            &op,
            &Patient {
                id: Id::new_v4(),
                mrn: format!("BENCH-{n:04}"),
                family: "Loadtest".into(),
                given: "Pat".into(),
                birth_date: NaiveDate::from_ymd_opt(1980, 1, 2).context("date")?,
                sex: Sex::Female,
                phone: None,
                email: None,
                address: None,
            },
        )?;
    }
    let req = EnrollRequest {
        name: "bench-analyzer".into(),
        sending_app: "BENCH".into(),
        sending_facility: "CORELAB".into(),
        analytes: PANEL.iter().map(|p| p.0.to_string()).collect(),
        legacy_allow: None,
        protocol: labguard_store::Protocol::Hl7,
    };
    let (_, issued) = enroll(&store, &op, &data.path, &req)?;
    let issued = issued.context("a TLS enrollment issues a certificate")?;
    let ca = DeviceCa::open_or_create(&store, &data.path)?;
    let tls = tls_client_config(ca.cert_pem(), Some((&issued.cert_pem, &issued.key_pem)))?;
    let backend = if g.database.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };

    let rt = tokio::runtime::Runtime::new()?;
    let mut peer = None;
    if a.peer != "off" {
        peer = Some(
            std::process::Command::new("python3")
                .arg(&a.peer)
                .args(["--port", &a.peer_port.to_string()])
                .spawn()
                .context("starting the peer receiver (python3, pip package hl7)")?,
        );
    }
    let result = rt.block_on(async {
        let mut cfg = labguard_mllp::Config::new(&data.path);
        cfg.tls_listen = Some("127.0.0.1:0".parse()?);
        let server = labguard_mllp::Server::bind(store.clone(), cfg).await?;
        let addr = server.tls_addr().context("TLS address")?;
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.run(async {
            let _ = rx.await;
        }));
        let peer_addr: SocketAddr = format!("127.0.0.1:{}", a.peer_port).parse()?;
        if peer.is_some() {
            // Wait for the peer to listen (Python start-up), bounded.
            for _ in 0..100 {
                if tokio::net::TcpStream::connect(peer_addr).await.is_ok() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        println!("end-to-end ingest, {} messages per run, 6 results each, {backend}", a.messages);
        println!("conns\tlabguard mTLS+commit msg/s\tpeer (python hl7, parse+ACK, plain TCP) msg/s\tratio");
        for &c in &a.conns {
            let tls = tls.clone();
            let ours = drive(c, a.messages, &format!("r{c}"), move || {
                let tls = tls.clone();
                async move { Client::tls(addr, "localhost", tls).await }
            })
            .await?;
            let theirs = if peer.is_some() {
                Some(drive(c, a.messages, &format!("p{c}"), move || Client::tcp(peer_addr)).await?)
            } else {
                None
            };
            match theirs {
                Some(t) => println!("{c}\t{ours:.0}\t{t:.0}\t{:.2}", ours / t),
                None => println!("{c}\t{ours:.0}\t-\t-"),
            }
        }
        let _ = stop.send(());
        anyhow::Ok(())
    });
    if let Some(mut p) = peer {
        let _ = p.kill();
        let _ = p.wait();
    }
    result?;
    let (messages, held) = store.instrument_counts()?;
    println!("stored {messages} originals, {held} held results");
    store.checkpoint()?;
    drop(store);
    // The benchmark's data is synthetic and throwaway: remove it.
    let _ = data.discard();
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("labguard-bench-{}", Id::new_v4().simple()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
