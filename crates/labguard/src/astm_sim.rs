//! A simulated haematology analyzer that speaks ASTM E1381/E1394 (as analyzers older than
//! HL7 do) over mutual TLS to labguard's ASTM listener, enrolled like a real one with
//! `--protocol astm`. It first runs its haemoglobin control, which breaks the 1-3s
//! Westgard rule against the lab's target (a `qc-rejected` alert, and the analyzer's
//! haemoglobin results held until a run passes), then sends a blood count per draw.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use labguard_core::LoincCode;
use labguard_mllp::astm_client::{AstmClient, Sent, TlsStream};
use labguard_mllp::client::{tls_client_config, TlsClientConfig};
use labguard_mllp::{enroll, DeviceCa, EnrollRequest};
use labguard_qc::ControlMaterial;
use labguard_store::{Actor, Protocol, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The blood count it reports: LOINC, units, low, high.
const CBC: &[(&str, &str, f64, f64)] = &[
    ("718-7", "g/dL", 12.0, 17.5),
    ("6690-2", "10*3/uL", 4.5, 11.0),
    ("777-3", "10*3/uL", 150.0, 400.0),
];

/// The haemoglobin control: lot, level, target mean and SD (g/dL).
const CONTROL: (&str, &str, f64, f64) = ("HB-LOT-2291", "1", 13.0, 0.2);

/// Enrolls `heme-1` for ASTM over mutual TLS (certificate kept in `D/demo-analyzer/`),
/// records the control's target, and returns the client configuration.
pub fn link_config(store: &Store, data_dir: &Path) -> Result<Arc<TlsClientConfig>> {
    let dir = data_dir.join("demo-analyzer");
    let (cert, key) = (dir.join("heme-1.crt"), dir.join("heme-1.key"));
    let enrolled = store
        .instruments()?
        .into_iter()
        .any(|e| e.is_active() && e.name == "heme-1" && e.protocol == Protocol::Astm);
    if !(enrolled && cert.exists() && key.exists()) {
        let taken: Vec<String> = store.instruments()?.into_iter().map(|e| e.name).collect();
        let name = (1..)
            .map(|n| match n {
                1 => "heme-1".to_string(),
                n => format!("heme-1-{n}"),
            })
            .find(|n| !taken.contains(n))
            .context("no free analyzer name")?;
        let req = EnrollRequest {
            name,
            sending_app: "HEMACOUNT".into(),
            sending_facility: String::new(),
            analytes: CBC.iter().map(|c| c.0.to_string()).collect(),
            legacy_allow: None,
            protocol: Protocol::Astm,
        };
        let (_, issued) = enroll(store, &Actor::operator(), data_dir, &req)?;
        let issued = issued.context("a TLS enrollment issues a certificate")?;
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(&cert, &issued.cert_pem)?;
        if key.exists() {
            std::fs::remove_file(&key)?;
        }
        crate::devices_cmd::write_key(&key, issued.key_pem.as_bytes())?;
        println!(
            "enrolled the simulated haematology analyzer {} for ASTM over mutual TLS",
            req.name
        );
    }
    let (lot, level, mean, sd) = CONTROL;
    store.set_qc_material(
        &Actor::operator(),
        &ControlMaterial {
            lot: lot.into(),
            level: level.into(),
            analyte: LoincCode::parse("718-7")?,
            units: "g/dL".into(),
            mean,
            sd,
        },
    )?;
    store.checkpoint()?;
    let ca = DeviceCa::open_or_create(store, data_dir)?;
    let (c, k) = (
        std::fs::read_to_string(&cert)?,
        std::fs::read_to_string(&key)?,
    );
    Ok(tls_client_config(ca.cert_pem(), Some((&c, &k)))?)
}

fn header(now: &str, processing: &str) -> String {
    format!("H|\\^&|||HEMACOUNT^3.1|||||||{processing}|1394-97|{now}\r")
}

/// The control run: 14.1 g/dL against 13.0 ± 0.2, five SDs out (1-3s rejects the run).
fn qc_run() -> Vec<String> {
    let now = Utc::now().format("%Y%m%d%H%M%S").to_string();
    let (lot, level, _, _) = CONTROL;
    vec![
        header(&now, "Q"),
        "P|1\r".into(),
        format!("O|1|HBCTL^{lot}^{level}||^^^718-7|R|{now}|||||Q\r"),
        format!("R|1|^^^718-7|14.1|g/dL|12.6 to 13.4|H||F||||{now}\r"),
        "L|1|N\r".into(),
    ]
}

/// A blood count for the patient `mrn`.
fn cbc(rng: &mut StdRng, mrn: &str) -> Vec<String> {
    let now = Utc::now().format("%Y%m%d%H%M%S").to_string();
    let mut out = vec![
        header(&now, "P"),
        format!("P|1|{mrn}\r"),
        format!(
            "O|1|H{}||^^^58410-2|R|{now}\r",
            rng.random_range(100_000..999_999)
        ),
    ];
    for (i, (code, units, low, high)) in CBC.iter().enumerate() {
        let v = low + (high - low) * rng.random_range(0.0..1.0);
        out.push(format!(
            "R|{}|^^^{code}|{v:.1}|{units}|{low} to {high}|N||F||||{now}\r",
            i + 1
        ));
    }
    out.push("L|1|N\r".into());
    out
}

async fn deliver(
    addr: SocketAddr,
    tls: &Arc<TlsClientConfig>,
    client: &mut Option<AstmClient<TlsStream>>,
    records: &[String],
) -> Result<Sent> {
    for attempt in 0..50 {
        if client.is_none() {
            match AstmClient::tls(addr, "localhost", tls.clone()).await {
                Ok(c) => *client = Some(c),
                Err(e) if attempt < 49 => {
                    if attempt == 0 {
                        eprintln!("heme-1: connecting: {e}; retrying");
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                Err(e) => anyhow::bail!("heme-1: cannot connect: {e}"),
            }
        }
        if let Some(c) = client.as_mut() {
            match c.send(records).await {
                Ok(s) => return Ok(s),
                Err(_) => *client = None,
            }
        }
    }
    anyhow::bail!("heme-1: gave up")
}

/// Sends the control run, then (on a thread of its own) a blood count for a random demo
/// patient every `interval`, `messages` times (or until the process ends).
pub fn run(
    addr: SocketAddr,
    tls: Arc<TlsClientConfig>,
    patients: u32,
    messages: Option<u32>,
    interval: Duration,
) -> Result<std::thread::JoinHandle<()>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the haematology analyzer's runtime")?;
    let mut client = None;
    let sent = rt.block_on(deliver(addr, &tls, &mut client, &qc_run()))?;
    println!("heme-1 -> ASTM QC run (haemoglobin control, 1-3s): {sent:?}");
    Ok(std::thread::spawn(move || {
        let mut rng = StdRng::from_os_rng();
        let mut n = 0u32;
        while messages.is_none_or(|m| n < m) {
            n += 1;
            let mrn = format!("DEMO-{:06}", rng.random_range(0..patients.max(1)));
            let recs = cbc(&mut rng, &mrn);
            match rt.block_on(deliver(addr, &tls, &mut client, &recs)) {
                Ok(s) => println!("heme-1 -> ASTM blood count for a demo patient: {s:?}"),
                Err(e) => {
                    eprintln!("{e}");
                    return;
                }
            }
            std::thread::sleep(interval);
        }
    }))
}
