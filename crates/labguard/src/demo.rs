//! `labguard demo`: a synthetic lab that is clearly fictional (invented names, MRNs starting
//! DEMO-, example.invalid addresses, 555-01xx phone numbers), and a simulated analyzer that
//! sends HL7 ORU^R01 results through the real parser into the encrypted store, and a
//! simulated haematology analyzer sending ASTM (with a QC run that breaks 1-3s).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{Duration as Span, NaiveDate, Utc};
use clap::Args;
use labguard_core::{ContainerType, Id, LabOrder, LoincCode, Patient, Role, Sex, Specimen, Staff};
use labguard_store::{Actor, DeviceRecord, Store, StoreError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::opts::Global;

#[derive(Args)]
pub struct DemoArgs {
    /// Seed the demo lab and exit.
    #[arg(long)]
    seed_only: bool,
    /// How many fictional patients to create.
    #[arg(long, default_value_t = 240)]
    patients: u32,
    /// Stop the simulated analyzer after this many messages (default: run until Ctrl-C).
    #[arg(long)]
    messages: Option<u32>,
    /// Seconds between analyzer messages.
    #[arg(long, default_value_t = 2.0)]
    interval: f64,
    /// Web server settings (without --seed-only the demo serves the web UI).
    #[command(flatten)]
    serve: crate::serve_cmd::ServeArgs,
}

const GIVEN: &[&str] = &[
    "Ottoline",
    "Barnaby",
    "Imogen",
    "Peregrine",
    "Winifred",
    "Ambrose",
    "Clementine",
    "Evander",
    "Marisol",
    "Tobias",
    "Isadora",
    "Lucius",
    "Philippa",
    "Caspian",
    "Rosalind",
    "Thaddeus",
    "Seraphina",
    "Alaric",
    "Juniper",
    "Cornelius",
];
const FAMILY_A: &[&str] = &[
    "Quill", "Bramble", "Copper", "Hollow", "Lark", "Thistle", "Ash", "Fair", "Marigold", "Wren",
    "Gale", "Moss", "Pebble", "Sorrel", "Tansy",
];
const FAMILY_B: &[&str] = &[
    "feather", "ton", "field", "well", "spur", "waite", "grove", "weather", "wick", "brook",
];

/// The analytes the simulated analyzers report: LOINC, name, units, low, high.
pub const PANEL: &[(&str, &str, &str, f64, f64)] = &[
    ("2345-7", "Glucose", "mg/dL", 70.0, 99.0),
    ("2823-3", "Potassium", "mmol/L", 3.5, 5.1),
    ("2951-2", "Sodium", "mmol/L", 136.0, 145.0),
    ("2160-0", "Creatinine", "mg/dL", 0.6, 1.3),
    ("718-7", "Hemoglobin", "g/dL", 12.0, 17.5),
    ("6690-2", "Leukocytes", "10*3/uL", 4.5, 11.0),
    ("777-3", "Platelets", "10*3/uL", 150.0, 400.0),
    ("4548-4", "Hemoglobin A1c", "%", 4.0, 5.6),
];

fn mrn(i: u32) -> String {
    format!("DEMO-{i:06}")
}

fn fictional_patient(rng: &mut StdRng, i: u32) -> Patient {
    let family = format!(
        "{}{}",
        FAMILY_A[rng.random_range(0..FAMILY_A.len())],
        FAMILY_B[rng.random_range(0..FAMILY_B.len())]
    );
    let given = GIVEN[rng.random_range(0..GIVEN.len())].to_string();
    let birth_date = NaiveDate::from_ymd_opt(
        rng.random_range(1935..2020),
        rng.random_range(1..13),
        rng.random_range(1..29),
    )
    .unwrap_or_default();
    Patient {
        id: Id::new_v4(),
        mrn: mrn(i),
        email: Some(format!(
            "{}.{}@example.invalid",
            given.to_lowercase(),
            family.to_lowercase()
        )),
        phone: Some(format!("+1-202-555-01{:02}", i % 100)),
        family,
        given,
        birth_date,
        sex: [Sex::Female, Sex::Male][rng.random_range(0..2)],
        address: None,
    }
}

fn value_for(rng: &mut StdRng, low: f64, high: f64) -> (String, &'static str) {
    let span = high - low;
    // Mostly normal, some high or low, so the demo has flags to look at.
    let v = match rng.random_range(0..10) {
        0 => low - span * rng.random_range(0.05..0.4),
        1 => high + span * rng.random_range(0.05..0.8),
        _ => low + span * rng.random_range(0.0..1.0),
    };
    let flag = if v < low {
        "L"
    } else if v > high {
        "H"
    } else {
        "N"
    };
    let text = if high >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    };
    (text, flag)
}

fn staff() -> Vec<Staff> {
    let people = [
        ("pia.phleb", "Pia Venipuncta", Role::Phlebotomist),
        ("pat.phleb", "Pat Tourniquet", Role::Phlebotomist),
        ("fran.desk", "Fran Frontdesk", Role::FrontDesk),
        ("theo.tech", "Theo Centrifuge", Role::LabTechnologist),
        ("tess.tech", "Tess Pipette", Role::LabTechnologist),
        ("paula.path", "Dr Paula Slide", Role::Pathologist),
        ("sam.secure", "Sam Firewall", Role::SecurityOfficer),
        ("ada.audit", "Ada Ledger", Role::Auditor),
        ("al.admin", "Al Sysop", Role::Administrator),
    ];
    people
        .iter()
        .map(|(u, d, r)| Staff {
            id: Id::new_v4(),
            username: u.to_string(),
            display_name: d.to_string(),
            role: *r,
            email: format!("{u}@demo-lab.example.invalid"),
            active: true,
        })
        .collect()
}

fn devices() -> Vec<DeviceRecord> {
    let d = |name: &str, kind: &str, man: &str, model: &str, fw: &str, loc: &str| DeviceRecord {
        id: Id::new_v4(),
        name: name.into(),
        kind: kind.into(),
        manufacturer: man.into(),
        model: model.into(),
        serial: format!("SN-{}", name.to_uppercase()),
        firmware: fw.into(),
        location: loc.into(),
    };
    vec![
        d(
            "chem-1",
            "analyzer",
            "Fictive Diagnostics",
            "ChemStar 500",
            "4.2.1",
            "Core lab",
        ),
        d(
            "heme-1",
            "analyzer",
            "Imaginary Instruments",
            "HemaCount 3",
            "2.8.0",
            "Core lab",
        ),
        d(
            "cent-1",
            "centrifuge",
            "Spinwell",
            "SW-24",
            "1.1.5",
            "Draw room",
        ),
        d(
            "gluc-1",
            "glucose-meter",
            "Pointcare",
            "GlucoCheck",
            "3.0.2",
            "Draw room",
        ),
        d(
            "ws-desk",
            "workstation",
            "Generic PC",
            "Desk 7",
            "Windows 11 23H2",
            "Front desk",
        ),
    ]
}

/// Seeds the demo lab, its first draws at `base`. Returns the staff (id and role by
/// username) and the patients' ids in MRN order.
fn seed(
    store: &Store,
    n: u32,
    base: chrono::DateTime<Utc>,
) -> Result<(crate::demo_privacy::StaffIds, Vec<Id>)> {
    let sys = Actor::system();
    let mut people = HashMap::new();
    for s in staff() {
        store.add_staff(&sys, &s)?;
        people.insert(s.username.clone(), (s.id, s.role));
    }
    for d in devices() {
        store.add_device(&sys, &d)?;
    }
    // Staff act under their staff ids, as signed-in users do, so the privacy scan knows them.
    let member = |u: &str| {
        people
            .get(u)
            .map(|(id, role)| Actor::staff(id.to_string(), *role))
            .ok_or_else(|| anyhow::anyhow!("demo staff member {u} missing"))
    };
    let (phleb, desk) = (member("pia.phleb")?, member("fran.desk")?);
    let mut rng = StdRng::seed_from_u64(20261125);
    let pb = crate::progress::bar("seeding");
    pb.set_length(u64::from(n));
    let mut ids = Vec::new();
    for i in 0..n {
        let p = fictional_patient(&mut rng, i);
        store.add_patient(&desk, &p)?;
        let draws = rng.random_range(1..3);
        for k in 0..draws {
            let collected = base + Span::minutes(i64::from(i * 7 + k * 1440));
            let s = Specimen {
                id: Id::new_v4(),
                patient_id: p.id,
                accession: format!("A{:08}", i * 10 + k),
                collector: phleb.id.clone(),
                collected_at: collected,
                container: [
                    ContainerType::Fluoride,
                    ContainerType::Edta,
                    ContainerType::Heparin,
                ][rng.random_range(0..3)],
                body_site: "left antecubital vein".into(),
            };
            store.add_specimen(&phleb, &s)?;
            let tests: Vec<_> = PANEL
                .iter()
                .filter_map(|t| LoincCode::parse(t.0).ok())
                .collect();
            let order = LabOrder {
                id: Id::new_v4(),
                patient_id: p.id,
                specimen_id: Some(s.id),
                ordering_provider: "Dr Ordwell Requisition".into(),
                tests,
                placed_at: collected - Span::minutes(30),
            };
            store.add_order(&phleb, &order)?;
            let mut results = Vec::new();
            for &(code, name, units, low, high) in PANEL {
                if rng.random_range(0..3) == 0 {
                    continue;
                }
                let (value, flag) = value_for(&mut rng, low, high);
                results.push(sim_result(
                    p.id, s.id, order.id, code, name, &value, units, low, high, flag, collected,
                )?);
            }
            store.add_results(&Actor::device("chem-1"), &results)?;
        }
        ids.push(p.id);
        pb.inc(1);
    }
    pb.finish_and_clear();
    store.checkpoint()?;
    Ok((people, ids))
}

#[allow(clippy::too_many_arguments)]
fn sim_result(
    patient: Id,
    specimen: Id,
    order: Id,
    code: &str,
    name: &str,
    value: &str,
    units: &str,
    low: f64,
    high: f64,
    flag: &str,
    drawn: chrono::DateTime<Utc>,
) -> Result<labguard_core::LabResult> {
    Ok(labguard_core::LabResult {
        id: Id::new_v4(),
        patient_id: patient,
        specimen_id: Some(specimen),
        order_id: Some(order),
        analyte: LoincCode::parse(code)?,
        analyte_name: name.into(),
        value: value.into(),
        units: units.into(),
        reference_range: labguard_core::ReferenceRange::parse(&format!("{low}-{high}")),
        abnormal_flag: labguard_core::AbnormalFlag::from_code(flag),
        status: labguard_core::ResultStatus::Preliminary,
        performing_device: Some("chem-1".into()),
        verified_by: None,
        observed_at: drawn + Span::minutes(45),
    })
}

pub fn run(g: &Global, args: DemoArgs) -> Result<()> {
    let data = g.data();
    // The store's clock is the demo's: seeding plays weeks of history at their own times.
    let clock = crate::demo_privacy::DemoClock::new();
    let opts = || labguard_store::StoreOptions {
        clock: clock.clock(),
        ..labguard_store::StoreOptions::default()
    };
    let store = match data.open(opts()) {
        Ok(s) => s,
        Err(StoreError::Unavailable(_)) | Err(StoreError::Keys(_))
            if !data.db_path().exists() || g.database.is_some() =>
        {
            data.init(opts()).context("creating the demo data dir")?
        }
        Err(e) => return Err(e).context("opening the demo data dir"),
    };
    let already = store
        .counts()?
        .iter()
        .any(|(t, n)| *t == "patients" && *n > 0);
    if already {
        println!("demo lab already seeded in {}", g.data_dir.display());
    } else {
        let now = Utc::now();
        let start = crate::demo_privacy::history_start(now);
        clock.set(start);
        let (people, patients) = seed(&store, args.patients.max(1), start + Span::hours(7))?;
        let lab = crate::demo_privacy::Lab {
            store: &store,
            clock: &clock,
            staff: &people,
            patients,
        };
        let played = crate::demo_privacy::play(&lab, start, now);
        clock.real();
        let (alerts, cases) = played?;
        println!(
            "privacy: {} days of record work and a snooping technologist; the scan raised {alerts} alerts in {cases} case(s) (see /privacy)",
            crate::demo_privacy::HISTORY_DAYS
        );
        let counts = store.counts()?;
        println!(
            "seeded demo lab in {}: {}",
            g.data_dir.display(),
            counts
                .iter()
                .map(|(t, n)| format!("{n} {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "staff of every role and {} instruments; all names are fictional",
            devices().len()
        );
        crate::demo_devices::seed(&store)?;
        crate::demo_compliance::seed(&store)?;
    }
    if args.seed_only {
        return Ok(());
    }
    let store = std::sync::Arc::new(store);
    demo_accounts(&store)?;
    let tls = crate::simulator::demo_link_config(&store, &g.data_dir)?;
    let heme_tls = crate::astm_sim::link_config(&store, &g.data_dir)?;
    let meter = crate::poct_sim::link_config(&store, &g.data_dir)?;
    store.checkpoint()?;
    let mut serve = args.serve.clone();
    // The ASTM and POCT doors are off by default for `serve`; the demo opens them on free
    // ports.
    if serve.astm_listen.is_none() {
        serve.astm_listen = Some("127.0.0.1:0".into());
    }
    if serve.poct_listen.is_none() {
        serve.poct_listen = Some("127.0.0.1:0".into());
    }
    let (g2, s2) = (g.clone(), store.clone());
    let (ready, bound) = std::sync::mpsc::channel();
    // The web server and the instrument listeners run beside the simulated analyzer.
    std::thread::spawn(move || {
        if let Err(e) = crate::serve_cmd::serve(&g2, s2, &serve, Some(ready)) {
            eprintln!("server stopped: {e:#}");
        }
    });
    let bound = match bound.recv() {
        Ok(b) => b,
        Err(_) => anyhow::bail!("the server did not start (see the error above)"),
    };
    let Some(addr) = bound.mllp_tls else {
        anyhow::bail!(
            "the simulated analyzer needs the MLLP mutual-TLS listener: do not set --mllp-tls-listen off"
        );
    };
    let interval = Duration::from_secs_f64(args.interval.max(0.0));
    // The haematology analyzer (ASTM) beside the chemistry one (HL7), when its door is open.
    let heme = match bound.astm_tls {
        Some(a) => Some(crate::astm_sim::run(
            a,
            heme_tls,
            args.patients.max(1),
            args.messages,
            interval,
        )?),
        None => None,
    };
    // The bedside glucose meter docks once (its control run and a few readings).
    if let Some(a) = bound.poct_tls {
        crate::poct_sim::run(a, meter, args.patients.max(1), 3)?;
    }
    crate::simulator::run(
        &store,
        crate::simulator::Link { addr, tls },
        args.patients.max(1),
        args.messages,
        interval,
    )?;
    if let Some(h) = heme {
        let _ = h.join();
    }
    store.checkpoint().context("final checkpoint")?;
    Ok(())
}

/// One sign-in account per role for trying the web UI. Their secrets are printed once, at
/// the start that creates them; they are for this fictional lab only.
fn demo_accounts(store: &Store) -> Result<()> {
    let mut made = Vec::new();
    for role in Role::ALL {
        let username = format!("demo-{}", role.code());
        if store.account_by_username(&username)?.is_some() {
            continue;
        }
        made.push(crate::users_cmd::create(
            store,
            &username,
            &format!("Demo {}", role.code()),
            role,
            &format!("{username}@demo-lab.example.invalid"),
            false,
        )?);
    }
    if made.is_empty() {
        println!("demo sign-in accounts exist already (their passwords were printed when they were made)");
        return Ok(());
    }
    println!("demo sign-in accounts (DEMO ONLY - shown once):");
    println!(
        "{:<26} {:<22} TOTP secret (add to an authenticator app)",
        "username", "password"
    );
    for c in &made {
        println!("{:<26} {:<22} {}", c.username, c.password, c.totp_secret);
    }
    Ok(())
}
