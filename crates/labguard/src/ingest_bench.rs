//! `labguard mllp bench`: end-to-end ingest measured by a load generator in its own
//! process (`labguard mllp bench-client`, this binary again). Each connection behaves like
//! an instrument (one message in flight, waits for the ACK); every AA (HL7) or ACK of an
//! L frame (ASTM) counted was sent after its message and results were committed. In the
//! same run it measures HL7 over mutual TLS, ASTM over mutual TLS (the same six results
//! as one transmission of ten records, each frame waiting for its ACK), and a peer
//! receiver (the Python `hl7` package's asyncio MLLP server, which only parses and ACKs).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::Args;
use labguard_core::{Id, Patient, Sex};
use labguard_mllp::astm_client::{AstmClient, Sent};
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
    /// The peer receiver script to compare with ("off" to skip). By default the one in
    /// `shared/bench/` beside this repository's checkout, skipped when it is not there.
    #[arg(long, default_value = PEER_BESIDE_REPO)]
    peer: String,
    /// Port for the peer receiver.
    #[arg(long, default_value_t = 2599)]
    peer_port: u16,
}

/// `../shared/bench/hl7_peer_server.py` from the repository root (found from this crate's
/// manifest, not from any one machine's layout).
const PEER_BESIDE_REPO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/bench/hl7_peer_server.py"
);

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
            // OBX-8 flag, OBX-11 status, OBX-14 time: one field off and the mapper drops
            // every result (the ACK still says AA, with warnings), so nothing is filed.
            "OBX|{}|NM|{code}^{name}^LN||{v}|{units}||N|||F|||20261102090000\r",
            i + 1
        ));
    }
    m.into_bytes()
}

/// The same six results as one ASTM transmission (H, P, O, six R, L).
fn astm(control: &str, n: usize) -> Vec<String> {
    let mut r = vec![
        "H|\\^&|||BENCH^1.0|||||||P|1394-97|20261102093000\r".to_string(),
        format!("P|1|BENCH-{n:04}\r"),
        format!("O|1|FI{control}||^^^24323-8|R\r"),
    ];
    for (i, (code, _, units, v)) in PANEL.iter().enumerate() {
        r.push(format!(
            "R|{}|^^^{code}|{v}|{units}||N||F||||20261102090000\r",
            i + 1
        ));
    }
    // The comment carries the control id, so each transmission hashes to its own id.
    r.push(format!("C|1|I|{control}|G\r"));
    r.push("L|1|N\r".into());
    r
}

/// Sends `total` ASTM transmissions over `conns` connections made by `connect`.
async fn drive_astm<C, F, S>(conns: usize, total: usize, tag: &str, connect: C) -> Result<f64>
where
    C: Fn() -> F,
    F: std::future::Future<Output = Result<AstmClient<S>, labguard_mllp::MllpError>>
        + Send
        + 'static,
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
                if client.send(&astm(&control, (c * per + i) % 100)).await? != Sent::Delivered {
                    bail!("transmission {control} was not accepted");
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

/// `labguard mllp bench-client`: the load generator, run by `mllp bench` as a child
/// process so its work is not counted against the listener's.
#[derive(Args)]
pub struct ClientArgs {
    /// hl7 (MLLP over mutual TLS), astm (over mutual TLS) or peer (MLLP, plain TCP).
    #[arg(long)]
    protocol: String,
    #[arg(long)]
    addr: SocketAddr,
    /// Directory holding ca.crt, client.crt and client.key.
    #[arg(long)]
    dir: std::path::PathBuf,
    #[arg(long)]
    conns: usize,
    #[arg(long)]
    messages: usize,
    /// Prefix of the control ids (unique per run).
    #[arg(long)]
    tag: String,
}

/// Runs the load and prints `rate <messages per second>`.
pub fn client(a: ClientArgs) -> Result<()> {
    let read = |f: &str| std::fs::read_to_string(a.dir.join(f)).with_context(|| f.to_string());
    let tls = tls_client_config(
        &read("ca.crt")?,
        Some((&read("client.crt")?, &read("client.key")?)),
    )?;
    let rt = tokio::runtime::Runtime::new()?;
    let addr = a.addr;
    let rate = rt.block_on(async {
        match a.protocol.as_str() {
            "hl7" => {
                drive(a.conns, a.messages, &a.tag, move || {
                    let tls = tls.clone();
                    async move { Client::tls(addr, "localhost", tls).await }
                })
                .await
            }
            "astm" => {
                drive_astm(a.conns, a.messages, &a.tag, move || {
                    let tls = tls.clone();
                    async move { AstmClient::tls(addr, "localhost", tls).await }
                })
                .await
            }
            _ => drive(a.conns, a.messages, &a.tag, move || Client::tcp(addr)).await,
        }
    })?;
    println!("rate {rate:.1}");
    Ok(())
}

/// Runs `labguard mllp bench-client` and returns its rate.
fn measure(
    dir: &std::path::Path,
    protocol: &str,
    addr: SocketAddr,
    conns: usize,
    messages: usize,
    tag: &str,
) -> Result<f64> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .args(["mllp", "bench-client", "--protocol", protocol, "--addr"])
        .arg(addr.to_string())
        .arg("--dir")
        .arg(dir)
        .args([
            "--conns",
            &conns.to_string(),
            "--messages",
            &messages.to_string(),
            "--tag",
            tag,
        ])
        .output()
        .context("running the load generator")?;
    if !out.status.success() {
        bail!(
            "the load generator failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("rate ").and_then(|r| r.trim().parse().ok()))
        .context("no rate from the load generator")
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
    let ca = DeviceCa::open_or_create(&store, &data.path)?;
    let keys = data.path.join("bench-keys");
    for (name, protocol) in [
        ("hl7", labguard_store::Protocol::Hl7),
        ("astm", labguard_store::Protocol::Astm),
    ] {
        let req = EnrollRequest {
            name: format!("bench-{name}"),
            sending_app: "BENCH".into(),
            sending_facility: "CORELAB".into(),
            analytes: PANEL.iter().map(|p| p.0.to_string()).collect(),
            legacy_allow: None,
            protocol,
        };
        let (_, issued) = enroll(&store, &op, &data.path, &req)?;
        let issued = issued.context("a TLS enrollment issues a certificate")?;
        let dir = keys.join(name);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("ca.crt"), ca.cert_pem())?;
        std::fs::write(dir.join("client.crt"), &issued.cert_pem)?;
        crate::devices_cmd::write_key(&dir.join("client.key"), issued.key_pem.as_bytes())?;
    }
    let backend = if g.database.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };

    let rt = tokio::runtime::Runtime::new()?;
    let mut peer = None;
    let default_missing = a.peer == PEER_BESIDE_REPO && !std::path::Path::new(&a.peer).exists();
    if default_missing {
        eprintln!(
            "no peer receiver beside the repository ({}); pass --peer FILE to compare",
            a.peer
        );
    }
    if a.peer != "off" && !default_missing {
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
        cfg.astm_tls_listen = Some("127.0.0.1:0".parse()?);
        // Every load connection comes from 127.0.0.1: lift the per-source cap (16) so
        // the 64-connection run measures ingest, not admission.
        cfg.max_connections_per_source = cfg.max_connections;
        let server = labguard_mllp::Server::bind(store.clone(), cfg).await?;
        let addr = server.tls_addr().context("TLS address")?;
        let astm_addr = server.astm_tls_addr().context("ASTM address")?;
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
        println!("end-to-end ingest, {} messages per run, 6 results each, {backend}; load generator in its own process", a.messages);
        println!("conns\tHL7 mTLS+commit msg/s\tASTM mTLS+commit transmissions/s\tASTM/HL7\tpeer (python hl7, parse+ACK, plain TCP) msg/s\tHL7/peer");
        for &c in &a.conns {
            let (k1, k2) = (keys.join("hl7"), keys.join("astm"));
            let m = a.messages;
            let hl7 = tokio::task::spawn_blocking(move || measure(&k1, "hl7", addr, c, m, &format!("r{c}"))).await??;
            let astm = tokio::task::spawn_blocking(move || measure(&k2, "astm", astm_addr, c, m, &format!("a{c}"))).await??;
            let theirs = if peer.is_some() {
                let k = keys.join("hl7");
                Some(tokio::task::spawn_blocking(move || measure(&k, "peer", peer_addr, c, m, &format!("p{c}"))).await??)
            } else {
                None
            };
            match theirs {
                Some(t) => println!("{c}\t{hl7:.0}\t{astm:.0}\t{:.2}\t{t:.0}\t{:.2}", astm / hl7, hl7 / t),
                None => println!("{c}\t{hl7:.0}\t{astm:.0}\t{:.2}\t-\t-", astm / hl7),
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

#[cfg(test)]
mod tests {
    use labguard_hl7::{LabReport, MappingOptions, Message};

    /// The bench's message must map to six results with no problem, or the benchmark
    /// measures messages that file nothing (they are still acknowledged AA).
    #[test]
    fn the_bench_message_maps_to_six_results() {
        let raw = super::oru("C-1", 7);
        let text = labguard_hl7::decode(&raw).unwrap();
        let msg = Message::parse(&text).unwrap();
        let report = LabReport::read(&msg).unwrap();
        let mapped = report
            .value
            .to_records(&MappingOptions::default(), &mut |_| {
                labguard_core::Id::new_v4()
            });
        assert!(mapped.problems.is_empty(), "{:?}", mapped.problems);
        assert_eq!(mapped.value.results.len(), 6);
    }
}
