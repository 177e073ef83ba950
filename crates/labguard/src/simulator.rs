//! A simulated chemistry analyzer, enrolled like a real one: a phlebotomist draws a specimen
//! for a random demo patient, then the analyzer sends its results as an HL7 v2.5.1 ORU^R01
//! over MLLP with mutual TLS to labguard's own listener, which authenticates it, checks the
//! results and files them before it acknowledges.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use labguard_core::{ContainerType, Id, Role, Specimen};
use labguard_mllp::client::{ack_code, tls_client_config, Client, TlsClientConfig};
use labguard_mllp::{enroll, DeviceCa, EnrollRequest};
use labguard_store::{Actor, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::demo::PANEL;

/// A potassium result the simulator sends on purpose: its value and how long before now it
/// was measured (so a pair of them makes a real delta-check hold).
type ForcedPotassium = Option<(f64, chrono::Duration)>;

/// Builds one ORU^R01 with a few results for the given patient and accession.
fn oru(
    rng: &mut StdRng,
    control: &str,
    p: &labguard_core::Patient,
    accession: &str,
    forced: ForcedPotassium,
) -> String {
    let (mrn, family, given, sex) = (&p.mrn, &p.family, &p.given, p.sex.code());
    let dob = p.birth_date.format("%Y%m%d");
    let now = Utc::now().format("%Y%m%d%H%M%S");
    let mut msg = format!(
        "MSH|^~\\&|CHEMSTAR|CORELAB|LABGUARD|DEMOLAB|{now}||ORU^R01^ORU_R01|{control}|P|2.5.1\r\
         PID|1||{mrn}^^^DEMOLAB^MR||{family}^{given}||{dob}|{sex}\r\
         OBR|1|{accession}|{accession}|24323-8^Comprehensive metabolic panel^LN|||{now}|||||||||^Requisition^Ordwell\r"
    );
    let mut set = 0;
    if let Some((k, ago)) = forced {
        set += 1;
        let at = (Utc::now() - ago).format("%Y%m%d%H%M%S");
        msg.push_str(&format!(
            "OBX|{set}|NM|2823-3^Potassium^LN||{k:.1}|mmol/L|3.5-5.1|N|||P|||{at}||||chem-1\r"
        ));
    }
    for &(code, name, units, low, high) in PANEL {
        if rng.random_range(0..2) == 0 || (forced.is_some() && code == "2823-3") {
            continue;
        }
        set += 1;
        let span = high - low;
        let v = low - span * 0.2 + span * 1.4 * rng.random_range(0.0..1.0);
        let flag = if v < low {
            "L"
        } else if v > high {
            "H"
        } else {
            "N"
        };
        msg.push_str(&format!(
            "OBX|{set}|NM|{code}^{name}^LN||{v:.1}|{units}|{low}-{high}|{flag}|||P|||{now}||||chem-1\r"
        ));
    }
    if set == 0 {
        msg.push_str(&format!(
            "OBX|1|NM|2345-7^Glucose^LN||{:.0}|mg/dL|70-99|N|||P|||{now}||||chem-1\r",
            rng.random_range(70.0..99.0)
        ));
    }
    msg
}

/// Where and as whom the simulated analyzer connects.
pub struct Link {
    pub addr: SocketAddr,
    pub tls: Arc<TlsClientConfig>,
}

/// The demo analyzer's enrollment: a client certificate from labguard's device CA, kept in
/// `D/demo-analyzer/` so restarts of the demo reuse it (a real instrument keeps its own).
pub fn demo_link_config(store: &Store, data_dir: &Path) -> Result<Arc<TlsClientConfig>> {
    let dir = data_dir.join("demo-analyzer");
    let (cert, key) = (dir.join("chem-1.crt"), dir.join("chem-1.key"));
    let active = store
        .instruments()?
        .into_iter()
        .filter(|e| e.is_active() && e.sending_app == "CHEMSTAR")
        .collect::<Vec<_>>();
    let have_files = cert.exists() && key.exists();
    let enrolled_for_files = have_files
        && active.iter().any(|e| {
            std::fs::read_to_string(&cert)
                .ok()
                .and_then(|pem| labguard_mllp::ca::pem_fingerprint(&pem))
                .is_some_and(|fp| e.cert_fingerprint.as_deref() == Some(fp.as_str()))
        });
    if !enrolled_for_files {
        // A name not taken yet: earlier demo certificates may be enrolled (or revoked).
        let taken: Vec<String> = store.instruments()?.into_iter().map(|e| e.name).collect();
        let name = (1..)
            .map(|n| {
                if n == 1 {
                    "chem-1".to_string()
                } else {
                    format!("chem-1-{n}")
                }
            })
            .find(|n| !taken.contains(n))
            .context("no free analyzer name")?;
        let req = EnrollRequest {
            name,
            sending_app: "CHEMSTAR".into(),
            sending_facility: "CORELAB".into(),
            analytes: PANEL.iter().map(|p| p.0.to_string()).collect(),
            legacy_allow: None,
            protocol: labguard_store::Protocol::Hl7,
        };
        let (_, issued) = enroll(store, &Actor::operator(), data_dir, &req)?;
        let issued = issued.context("a TLS enrollment issues a certificate")?;
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(&cert, &issued.cert_pem)?;
        // The old key belonged to a certificate no longer enrolled.
        if key.exists() {
            std::fs::remove_file(&key).with_context(|| format!("removing {}", key.display()))?;
        }
        crate::devices_cmd::write_key(&key, issued.key_pem.as_bytes())?;
        store.checkpoint()?;
        println!(
            "enrolled the simulated analyzer {} for mutual TLS",
            req.name
        );
    }
    let ca = DeviceCa::open_or_create(store, data_dir)?;
    let (c, k) = (
        std::fs::read_to_string(&cert)?,
        std::fs::read_to_string(&key)?,
    );
    Ok(tls_client_config(ca.cert_pem(), Some((&c, &k)))?)
}

/// Draws a specimen for a random demo patient (as the phlebotomist, in the store), then
/// sends the analyzer's ORU^R01 for it over mutual TLS and waits for the ACK, which the
/// listener sends only after the results are committed.
pub fn run(
    store: &Store,
    link: Link,
    patients: u32,
    messages: Option<u32>,
    interval: Duration,
) -> Result<()> {
    println!(
        "simulated analyzer chem-1 sending ORU^R01 results over mutual TLS to {} (Ctrl-C to stop)",
        link.addr
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the analyzer's runtime")?;
    let mut rng = StdRng::from_os_rng();
    let phleb = Actor::staff("pat.phleb", Role::Phlebotomist);
    let lookup = Actor::system();
    let mut client = None;
    let mut sent = 0u32;
    let mut last = 0u32;
    while messages.is_none_or(|m| sent < m) {
        sent += 1;
        // Every tenth message repeats the previous one's patient with a potassium that
        // jumped 2.8 mmol/L in ten minutes: a delta-check hold for the review queue.
        let (i, forced) = match sent % 10 {
            2 => (
                rng.random_range(0..patients),
                Some((4.1, chrono::Duration::minutes(10))),
            ),
            3 => (last, Some((6.9, chrono::Duration::zero()))),
            _ => (rng.random_range(0..patients), None),
        };
        last = i;
        let mrn = format!("DEMO-{i:06}");
        let Some(patient) = store.find_patient_by_mrn(&lookup, &mrn)? else {
            continue;
        };
        let accession = format!(
            "S{}",
            &Id::new_v4().simple().to_string()[..10].to_uppercase()
        );
        let specimen = Specimen {
            id: Id::new_v4(),
            patient_id: patient.id,
            accession: accession.clone(),
            collector: "pat.phleb".into(),
            collected_at: Utc::now() - chrono::Duration::minutes(20),
            container: ContainerType::Heparin,
            body_site: "right antecubital vein".into(),
        };
        store.add_specimen(&phleb, &specimen)?;
        let control = format!("SIM{}{:06}", Utc::now().format("%H%M%S"), sent);
        let text = oru(&mut rng, &control, &patient, &accession, forced);
        let ack = rt.block_on(async {
            // Reconnect as a real instrument would when the listener restarts.
            for attempt in 0..50 {
                if client.is_none() {
                    match Client::tls(link.addr, "localhost", link.tls.clone()).await {
                        Ok(c) => client = Some(c),
                        Err(e) if attempt < 49 => {
                            if attempt == 0 {
                                eprintln!("chem-1: connecting: {e}; retrying");
                            }
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            continue;
                        }
                        Err(e) => return Err(anyhow::anyhow!("chem-1: cannot connect: {e}")),
                    }
                }
                if let Some(c) = client.as_mut() {
                    match c.send(text.as_bytes()).await {
                        Ok(a) => return Ok(a),
                        Err(e) => {
                            eprintln!("chem-1: connection lost ({e}); reconnecting");
                            client = None;
                        }
                    }
                }
            }
            Err(anyhow::anyhow!("chem-1: gave up sending {control}"))
        })?;
        let code = ack_code(&ack).unwrap_or_else(|| "??".into());
        println!("chem-1 -> ORU^R01 {control} for accession {accession}: ACK {code}");
        if messages.is_none_or(|m| sent < m) {
            std::thread::sleep(interval);
        }
    }
    Ok(())
}
