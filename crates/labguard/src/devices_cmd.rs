//! `labguard devices …`: MLLP instruments (enroll, revoke, list) and device security: the
//! inventory (add, update, control, link, history), SBOM and advisory imports
//! (`devices_import.rs`), the report, VEX export and exposure scan (`devices_report.rs`),
//! and assessments.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use clap::{Subcommand, ValueEnum};
use labguard_devices::device::{Asset, CompensatingControl, Connectivity, DeviceKind};
use labguard_mllp::{enroll, DeviceCa, EnrollRequest};
use labguard_store::{
    Actor, CheckResult, ChecklistItem, NetworkLink, NewAssessment, Protocol, Transport,
    DEFAULT_CHECKLIST,
};

use crate::opts::{emit, Global};

/// Device kinds as typed on the command line.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Analyzer,
    Centrifuge,
    GlucoseMeter,
    Workstation,
    Server,
    #[value(alias = "network-gear")]
    Network,
    Mobile,
    Other,
}

impl From<KindArg> for DeviceKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Analyzer => DeviceKind::Analyzer,
            KindArg::Centrifuge => DeviceKind::Centrifuge,
            KindArg::GlucoseMeter => DeviceKind::GlucoseMeter,
            KindArg::Workstation => DeviceKind::Workstation,
            KindArg::Server => DeviceKind::Server,
            KindArg::Network => DeviceKind::Network,
            KindArg::Mobile => DeviceKind::Mobile,
            KindArg::Other => DeviceKind::Other,
        }
    }
}

/// How a device talks to the LIS. `hl7-mllp` means MLLP inside TLS; a device linked to an
/// instrument enrolled for legacy plain TCP is treated as `hl7-mllp-plain` regardless.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ConnArg {
    #[value(alias = "hl7", alias = "hl7-mllp-tls")]
    Hl7Mllp,
    Hl7MllpPlain,
    Other,
    None,
}

impl From<ConnArg> for Connectivity {
    fn from(c: ConnArg) -> Self {
        match c {
            ConnArg::Hl7Mllp => Connectivity::Hl7MllpTls,
            ConnArg::Hl7MllpPlain => Connectivity::Hl7MllpPlain,
            ConnArg::Other => Connectivity::Other,
            ConnArg::None => Connectivity::None,
        }
    }
}

/// Inventory fields shared by `add` and `update`.
#[derive(clap::Args, Debug, Clone)]
pub struct AssetArgs {
    /// Serial number.
    #[arg(long)]
    pub serial: Option<String>,
    /// Room or bench.
    #[arg(long)]
    pub location: Option<String>,
    /// IP address or host name (the exposure check connects here and nowhere else).
    #[arg(long)]
    pub address: Option<String>,
    /// Person or team responsible.
    #[arg(long)]
    pub owner: Option<String>,
    /// How it talks to the LIS (default: other when it has an address, else none).
    #[arg(long, value_enum)]
    pub connectivity: Option<ConnArg>,
    /// It keeps patient data at rest.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub stores_phi: Option<bool>,
    /// Date the vendor stops shipping fixes (YYYY-MM-DD).
    #[arg(long)]
    pub support_ends: Option<NaiveDate>,
    /// CPE 2.3 name of the firmware, when the vendor publishes advisories by CPE.
    #[arg(long)]
    pub cpe: Option<String>,
}

#[derive(clap::Args)]
pub struct EnrollArgs {
    /// A unique name, e.g. chem-1.
    #[arg(long)]
    pub name: String,
    /// MSH-3 its messages carry (defaults to the name).
    #[arg(long)]
    pub sending_app: Option<String>,
    /// MSH-4 its messages carry (HL7; empty for ASTM and POCT).
    #[arg(long, alias = "facility", default_value = "")]
    pub sending_facility: String,
    /// LOINC codes it is registered to report, comma-separated (none: any).
    #[arg(long, value_delimiter = ',')]
    pub analytes: Vec<String>,
    /// Plain TCP instead of TLS, for instruments that cannot do TLS (a weaker control).
    #[arg(long, requires = "allow")]
    pub legacy_tcp: bool,
    /// Source address allowed on the plain-TCP port (repeatable).
    #[arg(long, alias = "allow-from", value_delimiter = ',')]
    pub allow: Vec<IpAddr>,
    /// Where to write the certificate, key and CA certificate (default ./<name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// What it speaks: hl7 (MLLP), astm (E1381/E1394; --sending-app is then the H-5
    /// sender name) or poct (POCT1-A2). Another protocol's listener refuses it.
    #[arg(long, value_enum, default_value = "hl7")]
    pub protocol: ProtocolArg,
}

/// Instrument protocols as typed on the command line.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    Hl7,
    Astm,
    Poct,
}

impl From<ProtocolArg> for Protocol {
    fn from(p: ProtocolArg) -> Self {
        match p {
            ProtocolArg::Hl7 => Protocol::Hl7,
            ProtocolArg::Astm => Protocol::Astm,
            ProtocolArg::Poct => Protocol::Poct,
        }
    }
}

#[derive(clap::Args)]
pub struct AssessArgs {
    #[arg(long)]
    pub device: String,
    /// Checklist items that passed (comma-separated; see `devices schedule`).
    #[arg(long, value_delimiter = ',')]
    pub pass: Vec<String>,
    /// Checklist items that failed.
    #[arg(long, value_delimiter = ',')]
    pub fail: Vec<String>,
    /// Checklist items that do not apply.
    #[arg(long = "na", value_delimiter = ',')]
    pub not_applicable: Vec<String>,
    /// A finding (repeatable).
    #[arg(long)]
    pub finding: Vec<String>,
    /// Evidence: a file (recorded with its SHA-256) or a reference (repeatable).
    #[arg(long)]
    pub evidence: Vec<String>,
    /// Sign off as the security officer.
    #[arg(long)]
    pub sign_off: bool,
}

#[derive(Subcommand)]
pub enum DevicesCmd {
    /// Enroll an instrument: issue its client certificate (mutual TLS), or with
    /// --legacy-tcp allow it on the plain-TCP port from the given addresses.
    Enroll(EnrollArgs),
    /// Revoke an instrument (by name or id); listeners drop its connections.
    Revoke { name: String },
    /// Enrolled instruments, with their transport and status.
    List,
    /// Add a device to the inventory.
    Add {
        /// A unique name (the lab's inventory tag).
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        kind: KindArg,
        #[arg(long)]
        manufacturer: String,
        #[arg(long)]
        model: String,
        /// Firmware or software version.
        #[arg(long)]
        firmware: Option<String>,
        /// Link to an instrument enrolled with `devices enroll` (by default one of the
        /// same name is linked).
        #[arg(long)]
        instrument: Option<String>,
        #[command(flatten)]
        more: AssetArgs,
    },
    /// Change a device's recorded details (kept in its history).
    Update {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
        #[arg(long)]
        manufacturer: Option<String>,
        #[arg(long)]
        model: Option<String>,
        #[arg(long)]
        firmware: Option<String>,
        #[command(flatten)]
        more: AssetArgs,
    },
    /// The inventory: recorded devices and enrolled instruments.
    Inventory,
    /// A device's change history: who changed what, when, before and after.
    History { name: String },
    /// Record a compensating control (lowers the risk of the device's findings).
    Control {
        #[arg(long)]
        device: String,
        #[arg(long)]
        description: String,
        #[arg(long)]
        verified_on: Option<NaiveDate>,
    },
    /// Record that one device talks to another (the network map).
    Link {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        protocol: String,
        /// The link carries patient data.
        #[arg(long)]
        phi: bool,
    },
    /// The network map: who talks to whom, and where patient data flows.
    Map,
    /// Import a device's SBOM (CycloneDX JSON 1.2–1.6 or XML, SPDX 2.3 JSON).
    ImportSbom {
        #[arg(long)]
        device: String,
        /// Firmware version the SBOM describes (default: the device's recorded one).
        #[arg(long)]
        firmware_version: Option<String>,
        file: PathBuf,
    },
    /// Import advisories: OSV JSON files, directories and zip archives, the CISA KEV
    /// catalog, NVD CVE JSON, CycloneDX and CSAF VEX documents. Re-imports are idempotent.
    ImportAdvisories {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Every device's findings and the fleet's prioritized remediation list.
    Report {
        /// Only this device.
        #[arg(long)]
        device: Option<String>,
        #[command(flatten)]
        policy: crate::devices_report::PolicyArgs,
    },
    /// Export a device's findings as CycloneDX VEX (JSON) for the manufacturer or an ISAC.
    ExportVex {
        #[arg(long)]
        device: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Exposure check: probe the device's configured address for risky open services and
    /// the TLS versions it accepts.
    Scan {
        #[arg(long)]
        device: String,
        /// Ports to probe instead of the default list, as PORT:SERVICE (e.g. 2323:telnet).
        #[arg(long, value_delimiter = ',')]
        ports: Vec<String>,
        /// Timeout per connection attempt, milliseconds.
        #[arg(long, default_value_t = 1500)]
        timeout_ms: u64,
    },
    /// Record a security assessment: checklist results, findings, evidence, sign-off.
    Assess(AssessArgs),
    /// Assessment schedule: when each device was last assessed and which are overdue.
    Schedule,
}

pub fn run(g: &Global, cmd: DevicesCmd) -> Result<()> {
    let store = g.open()?;
    let actor = Actor::operator();
    match cmd {
        DevicesCmd::Enroll(a) => enroll_cmd(g, &store, &actor, a),
        DevicesCmd::Revoke { name } => {
            let e = store.revoke_instrument(&actor, &name)?;
            store.checkpoint()?;
            println!("revoked {}", e.name);
            Ok(())
        }
        DevicesCmd::List => {
            let all = store.instruments()?;
            emit(g, &all, || {
                for e in &all {
                    let transport = match e.transport {
                        Transport::Tls => "mutual TLS".to_string(),
                        Transport::LegacyTcp => "legacy plain TCP (weaker control)".to_string(),
                    };
                    let status = if e.is_active() { "active" } else { "revoked" };
                    let ids = match e.protocol {
                        Protocol::Hl7 => {
                            format!("MSH-3 {} MSH-4 {}", e.sending_app, e.sending_facility)
                        }
                        Protocol::Astm => format!("H-5 {}", e.sending_app),
                        Protocol::Poct => format!("device {}", e.sending_app),
                    };
                    println!(
                        "{}\t{status}\t{transport}\t{}\t{ids}\tanalytes {}",
                        e.name,
                        e.protocol.code(),
                        if e.analytes.is_empty() {
                            "any".to_string()
                        } else {
                            e.analytes.join(",")
                        }
                    );
                }
            })
        }
        DevicesCmd::Add {
            name,
            kind,
            manufacturer,
            model,
            firmware,
            instrument,
            more,
        } => {
            let mut a = Asset::new(name.clone(), kind.into(), manufacturer, model);
            a.firmware_version = firmware;
            crate::devices_inventory::apply(&mut a, &more)?;
            if more.connectivity.is_none() && a.network_address.is_some() {
                a.connectivity = Connectivity::Other;
            }
            store
                .add_asset(&actor, &a, instrument.as_deref())
                .with_context(|| format!("adding device {name}"))?;
            store.checkpoint()?;
            println!("added device {name}");
            Ok(())
        }
        DevicesCmd::Update {
            name,
            kind,
            manufacturer,
            model,
            firmware,
            more,
        } => {
            let Some(cur) = store.asset(&actor, &name)?.filter(|d| d.id.is_some()) else {
                bail!("no device named {name} in the inventory");
            };
            let mut a = cur.asset;
            if let Some(k) = kind {
                a.kind = k.into();
            }
            if let Some(m) = manufacturer {
                a.manufacturer = m;
            }
            if let Some(m) = model {
                a.model = m;
            }
            if firmware.is_some() {
                a.firmware_version = firmware;
            }
            crate::devices_inventory::apply(&mut a, &more)?;
            store.update_asset(&actor, &a)?;
            store.checkpoint()?;
            println!("updated device {name}");
            Ok(())
        }
        DevicesCmd::Inventory => crate::devices_inventory::inventory(g, &store, &actor),
        DevicesCmd::History { name } => {
            let h = store.device_history(&actor, &name)?;
            emit(g, &h, || {
                for c in &h {
                    println!("{}\t{}\t{}\t{}", c.seq, c.changed_at, c.actor, c.action);
                    if let (Some(b), Some(a)) = (&c.before, &c.after) {
                        for (field, before, after) in crate::devices_inventory::diff("", b, a) {
                            println!("\t{field}: {before} -> {after}");
                        }
                    }
                }
            })
        }
        DevicesCmd::Control {
            device,
            description,
            verified_on,
        } => {
            let c = CompensatingControl {
                description,
                verified_on,
            };
            store.add_compensating_control(&actor, &device, &c)?;
            store.checkpoint()?;
            println!("recorded a compensating control for {device}");
            Ok(())
        }
        DevicesCmd::Link {
            from,
            to,
            protocol,
            phi,
        } => {
            let l = NetworkLink {
                from,
                to,
                protocol,
                carries_phi: phi,
            };
            store.add_network_link(&actor, &l)?;
            store.checkpoint()?;
            println!("recorded {} -> {} over {}", l.from, l.to, l.protocol);
            Ok(())
        }
        DevicesCmd::Map => {
            let links = store.network_links(&actor)?;
            emit(g, &links, || {
                for l in &links {
                    let phi = if l.carries_phi { "\tPHI" } else { "" };
                    println!("{} -> {}\t{}{phi}", l.from, l.to, l.protocol);
                }
            })
        }
        DevicesCmd::ImportSbom {
            device,
            firmware_version,
            file,
        } => crate::devices_import::import_sbom(
            g,
            &store,
            &actor,
            &device,
            firmware_version.as_deref(),
            &file,
        ),
        DevicesCmd::ImportAdvisories { paths } => {
            crate::devices_import::import_advisories(g, &store, &actor, &paths)
        }
        DevicesCmd::Report { device, policy } => {
            crate::devices_report::report(g, &store, &actor, device.as_deref(), &policy)
        }
        DevicesCmd::ExportVex { device, out } => {
            crate::devices_vex::export_vex(&store, &actor, &device, out.as_deref())
        }
        DevicesCmd::Scan {
            device,
            ports,
            timeout_ms,
        } => crate::devices_scan::scan(g, &store, &actor, &device, &ports, timeout_ms),
        DevicesCmd::Assess(a) => assess_cmd(g, &store, &actor, a),
        DevicesCmd::Schedule => {
            let today = chrono::Utc::now().date_naive();
            let s = store.assessment_schedule(&actor, today)?;
            emit(g, &s, || {
                for e in &s {
                    println!(
                        "{}\tlast {}\tnext due {}{}",
                        e.device,
                        e.last_assessed
                            .map_or("never".to_string(), |t| t.date_naive().to_string()),
                        e.next_due,
                        if e.overdue { "\tOVERDUE" } else { "" }
                    );
                }
            })
        }
    }
}

/// Writes a private key readable by its owner only (0600); never replaces a file.
pub(crate) fn write_key(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}

fn enroll_cmd(
    g: &Global,
    store: &labguard_store::Store,
    actor: &Actor,
    a: EnrollArgs,
) -> Result<()> {
    let EnrollArgs {
        name,
        sending_app,
        sending_facility,
        analytes,
        legacy_tcp,
        allow,
        out,
        protocol,
    } = a;
    let req = EnrollRequest {
        sending_app: sending_app.unwrap_or_else(|| name.clone()),
        name: name.clone(),
        sending_facility,
        analytes,
        legacy_allow: legacy_tcp.then_some(allow),
        protocol: protocol.into(),
    };
    let (e, issued) = enroll(store, actor, &g.data_dir, &req)?;
    store.checkpoint()?;
    match issued {
        Some(i) => {
            let dir = out.unwrap_or_else(|| PathBuf::from(&name));
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("creating {}", dir.display()))?;
            let ca = DeviceCa::open_or_create(store, &g.data_dir)?;
            std::fs::write(dir.join("ca.crt"), ca.cert_pem())?;
            std::fs::write(dir.join(format!("{name}.crt")), &i.cert_pem)?;
            write_key(&dir.join(format!("{name}.key")), i.key_pem.as_bytes())?;
            println!(
                "enrolled {name} ({}) for mutual TLS (certificate serial {}, SHA-256 {})",
                e.protocol.code(),
                i.serial,
                i.fingerprint
            );
            println!(
                "wrote {0}/{name}.crt, {0}/{name}.key (mode 0600) and {0}/ca.crt: install them on the instrument",
                dir.display()
            );
        }
        None => println!(
            "enrolled {name} ({}) for legacy plain TCP from {} (a weaker control: no device identity, no encryption in transit)",
            e.protocol.code(),
            e.allow_from
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    Ok(())
}

fn assess_cmd(
    g: &Global,
    store: &labguard_store::Store,
    actor: &Actor,
    a: AssessArgs,
) -> Result<()> {
    let AssessArgs {
        device,
        pass,
        fail,
        not_applicable,
        finding,
        evidence,
        sign_off,
    } = a;
    let mut checklist = Vec::new();
    for (items, result) in [
        (pass, CheckResult::Pass),
        (fail, CheckResult::Fail),
        (not_applicable, CheckResult::NotApplicable),
    ] {
        for item in items {
            if !DEFAULT_CHECKLIST.contains(&item.as_str()) {
                bail!(
                    "unknown checklist item {item:?}; the items are {}",
                    DEFAULT_CHECKLIST.join(", ")
                );
            }
            checklist.push(ChecklistItem {
                item,
                result,
                note: None,
            });
        }
    }
    let evidence = evidence
        .into_iter()
        .map(|e| {
            let p = std::path::Path::new(&e);
            if p.is_file() {
                let bytes = std::fs::read(p).with_context(|| format!("reading evidence {e}"))?;
                Ok(format!(
                    "{e} sha256:{}",
                    hex::encode(labguard_crypto::sha256(&bytes))
                ))
            } else {
                Ok(e)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let new = NewAssessment {
        checklist,
        findings: finding,
        evidence,
        sign_off,
    };
    let a = store.record_assessment(actor, &device, &new)?;
    store.checkpoint()?;
    emit(g, &a, || {
        println!(
            "recorded assessment of {} ({}); next due {}",
            a.device,
            if a.signed_off_by.is_some() {
                "signed off"
            } else {
                "not signed off"
            },
            a.next_due
        );
    })
}
