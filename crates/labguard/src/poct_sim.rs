//! A simulated glucose meter that docks over POCT1-A2 (mutual TLS) to labguard's POCT
//! listener, enrolled like a real one with `--protocol poct`. Its memory holds a passing
//! glucose control run and bedside readings for demo patients, one of them taken under an
//! operator ID that is no one on the staff list: that reading is held for review
//! (`unknown-operator`), the others are filed.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{SecondsFormat, Utc};
use labguard_core::LoincCode;
use labguard_mllp::client::{tls_client_config, TlsClientConfig};
use labguard_mllp::poct_client::{connect_tls, dock};
use labguard_mllp::{enroll, DeviceCa, EnrollRequest};
use labguard_poct::{Body, DeviceSim, Hello, Limits, Message, Observations};
use labguard_qc::ControlMaterial;
use labguard_store::{Actor, Protocol, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const NAME: &str = "gluco-1";
/// Glucose in capillary blood by glucometer.
const GLUCOSE: &str = "41653-7";
/// The glucose control: lot, level, target mean and SD (mg/dL).
const CONTROL: (&str, &str, f64, f64) = ("GLU-CTL-88", "1", 100.0, 4.0);
/// The demo's phlebotomist, who runs the bedside tests.
const OPERATOR: &str = "pia.phleb";

/// Enrolls the meter for POCT1-A2 over mutual TLS (certificate kept in
/// `D/demo-analyzer/`), records the control's target, and returns the client configuration.
pub fn link_config(store: &Store, data_dir: &Path) -> Result<(Arc<TlsClientConfig>, String)> {
    let dir = data_dir.join("demo-analyzer");
    let (cert, key) = (dir.join("gluco-1.crt"), dir.join("gluco-1.key"));
    let enrolled = store
        .instruments()?
        .into_iter()
        .any(|e| e.is_active() && e.name == NAME && e.protocol == Protocol::Poct);
    let mut name = NAME.to_string();
    if !(enrolled && cert.exists() && key.exists()) {
        let taken: Vec<String> = store.instruments()?.into_iter().map(|e| e.name).collect();
        name = (1..)
            .map(|n| match n {
                1 => NAME.to_string(),
                n => format!("{NAME}-{n}"),
            })
            .find(|n| !taken.contains(n))
            .context("no free meter name")?;
        let req = EnrollRequest {
            name: name.clone(),
            sending_app: "GM-200".into(),
            sending_facility: String::new(),
            analytes: vec![GLUCOSE.into()],
            legacy_allow: None,
            protocol: Protocol::Poct,
        };
        let (_, issued) = enroll(store, &Actor::operator(), data_dir, &req)?;
        let issued = issued.context("a TLS enrollment issues a certificate")?;
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(&cert, &issued.cert_pem)?;
        if key.exists() {
            std::fs::remove_file(&key)?;
        }
        crate::devices_cmd::write_key(&key, issued.key_pem.as_bytes())?;
        println!("enrolled the simulated glucose meter {name} for POCT1-A2 over mutual TLS");
    }
    let (lot, level, mean, sd) = CONTROL;
    store.set_qc_material(
        &Actor::operator(),
        &ControlMaterial {
            lot: lot.into(),
            level: level.into(),
            analyte: LoincCode::parse(GLUCOSE)?,
            units: "mg/dL".into(),
            mean,
            sd,
        },
    )?;
    let ca = DeviceCa::open_or_create(store, data_dir)?;
    let (c, k) = (
        std::fs::read_to_string(&cert)?,
        std::fs::read_to_string(&key)?,
    );
    Ok((tls_client_config(ca.cert_pem(), Some((&c, &k)))?, name))
}

fn parse(xml: &str) -> Result<Observations> {
    match Message::parse(xml.as_bytes(), &Limits::default())?.body {
        Body::Observations(o) => Ok(o),
        _ => anyhow::bail!("the simulated meter built something other than observations"),
    }
}

/// The meter's memory: the control run, then one reading per patient.
fn memory(rng: &mut StdRng, patients: u32, readings: u32) -> Result<Vec<Observations>> {
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let (lot, level, mean, _) = CONTROL;
    let mut out = vec![parse(&format!(
        "<OBS.R02><HDR><HDR.control_id V=\"1\"/><HDR.version_id V=\"POCT1\"/>\
         <HDR.creation_dttm V=\"{now}\"/></HDR><SVC><SVC.role_cd V=\"LQC\"/>\
         <SVC.observation_dttm V=\"{now}\"/><CTC><CTC.name V=\"Glucose control\"/>\
         <CTC.lot_number V=\"{lot}\"/><CTC.level_cd V=\"{level}\"/><OBS>\
         <OBS.observation_id V=\"GLU\"/><OBS.value V=\"{:.0}\" U=\"mg/dL\"/></OBS></CTC>\
         <OPR><OPR.operator_id V=\"{OPERATOR}\"/></OPR></SVC></OBS.R02>",
        mean + 1.0
    ))?];
    for i in 0..readings {
        let mrn = format!("DEMO-{:06}", rng.random_range(0..patients.max(1)));
        // The last reading is taken under a badge no one on the staff list wears.
        let operator = if i + 1 == readings {
            "RN-9999"
        } else {
            OPERATOR
        };
        let value = rng.random_range(72..160);
        out.push(parse(&format!(
            "<OBS.R01><HDR><HDR.control_id V=\"{}\"/><HDR.version_id V=\"POCT1\"/>\
             <HDR.creation_dttm V=\"{now}\"/></HDR><SVC><SVC.role_cd V=\"OBS\"/>\
             <SVC.observation_dttm V=\"{now}\"/><PT><PT.patient_id V=\"{mrn}\"/><OBS>\
             <OBS.observation_id V=\"GLU\" DN=\"Glucose\"/><OBS.value V=\"{value}\" U=\"mg/dL\"/>\
             <OBS.normal_lo-hi_limit V=\"70-140\"/></OBS></PT>\
             <OPR><OPR.operator_id V=\"{operator}\"/></OPR></SVC></OBS.R01>",
            i + 2
        ))?);
    }
    Ok(out)
}

/// Docks once: the control run and `readings` bedside readings. Prints what the host
/// accepted.
pub fn run(
    addr: SocketAddr,
    (tls, name): (Arc<TlsClientConfig>, String),
    patients: u32,
    readings: u32,
) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the glucose meter's runtime")?;
    let mut rng = StdRng::from_os_rng();
    let hello = Hello {
        device_id: name.clone(),
        model_id: Some("GM-200".into()),
        serial_id: Some("GM200-00417".into()),
        sw_version: Some("3.1.4".into()),
        ..Hello::default()
    };
    let mut sim = DeviceSim::new(hello, memory(&mut rng, patients, readings.max(1))?);
    rt.block_on(async {
        let s = connect_tls(addr, "localhost", tls).await?;
        dock(s, &mut sim).await;
        anyhow::Ok(())
    })
    .with_context(|| format!("{name}: docking"))?;
    let accepted = sim.accepted().iter().filter(|a| **a).count();
    println!(
        "{name} -> POCT1-A2 docking: {accepted} of {} observation messages accepted",
        sim.accepted().len()
    );
    Ok(())
}
