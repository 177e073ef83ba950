//! A simulated chemistry analyzer: it draws a fresh specimen for a random demo patient, then
//! sends the results as an HL7 v2.5.1 ORU^R01, which goes through the real parser and
//! mapping before being filed, as the device, in the encrypted store.

use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use labguard_core::{ContainerType, Id, Role, Specimen};
use labguard_hl7::{Ack, AckCode, IdFor, LabReport, MappingOptions, Message};
use labguard_store::{Actor, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::demo::PANEL;

/// Builds one ORU^R01 with a few results for the given patient and accession.
fn oru(rng: &mut StdRng, control: &str, p: &labguard_core::Patient, accession: &str) -> String {
    let (mrn, family, given, sex) = (&p.mrn, &p.family, &p.given, p.sex.code());
    let dob = p.birth_date.format("%Y%m%d");
    let now = Utc::now().format("%Y%m%d%H%M%S");
    let mut msg = format!(
        "MSH|^~\\&|CHEMSTAR|CORELAB|LABGUARD|DEMOLAB|{now}||ORU^R01^ORU_R01|{control}|P|2.5.1\r\
         PID|1||{mrn}^^^DEMOLAB^MR||{family}^{given}||{dob}|{sex}\r\
         OBR|1|{accession}|{accession}|24323-8^Comprehensive metabolic panel^LN|||{now}|||||||||^Requisition^Ordwell\r"
    );
    let mut set = 0;
    for &(code, name, units, low, high) in PANEL {
        if rng.random_range(0..2) == 0 {
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

pub fn run(store: &Store, patients: u32, messages: Option<u32>, interval: Duration) -> Result<()> {
    println!("simulated analyzer chem-1 sending ORU^R01 results (Ctrl-C to stop)");
    let mut rng = StdRng::from_os_rng();
    let phleb = Actor::staff("pat.phleb", Role::Phlebotomist);
    let device = Actor::device("chem-1");
    let lookup = Actor::system();
    let mut sent = 0u32;
    while messages.is_none_or(|m| sent < m) {
        sent += 1;
        let i = rng.random_range(0..patients);
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
        let control = format!("SIM{:08}", sent);
        let text = oru(&mut rng, &control, &patient, &accession);
        let msg = Message::parse(&text)
            .map_err(|e| anyhow::anyhow!("simulator built a bad message: {e}"))?;
        let report = LabReport::read(&msg).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let mapped = report
            .value
            .to_records(&MappingOptions::default(), &mut |what| match what {
                IdFor::Patient { .. } => patient.id,
                IdFor::Specimen { .. } => specimen.id,
                _ => Id::new_v4(),
            });
        for p in &mapped.problems {
            eprintln!("chem-1: {p:?}");
        }
        for o in &mapped.value.orders {
            store.add_order(&phleb, o)?;
        }
        let results = mapped.value.results;
        let (code, filed) = match store.add_results(&device, &results) {
            Ok(()) => (AckCode::ApplicationAccept, results.len()),
            Err(e) => {
                eprintln!("chem-1: filing failed: {e}");
                (AckCode::ApplicationError, 0)
            }
        };
        let ack = Ack::new(code, &control, Utc::now().fixed_offset()).build(&msg);
        store.checkpoint()?;
        let msa = ack
            .split('\r')
            .find(|s| s.starts_with("MSA"))
            .unwrap_or("MSA");
        println!("chem-1 -> ORU^R01 {control}: {filed} results filed for one patient; ACK {msa}");
        if messages.is_none_or(|m| sent < m) {
            std::thread::sleep(interval);
        }
    }
    store.checkpoint().context("final checkpoint")?;
    Ok(())
}
