//! `labguard devices enroll|revoke|list`: instruments allowed to deliver results over MLLP.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use labguard_mllp::{enroll, DeviceCa, EnrollRequest};
use labguard_store::{Actor, Transport};

use crate::opts::{emit, Global};

#[derive(Subcommand)]
pub enum DevicesCmd {
    /// Enroll an instrument: issue its client certificate (mutual TLS), or with
    /// --legacy-tcp allow it on the plain-TCP port from the given addresses.
    Enroll {
        /// A unique name, e.g. chem-1.
        #[arg(long)]
        name: String,
        /// MSH-3 its messages carry (defaults to the name).
        #[arg(long)]
        sending_app: Option<String>,
        /// MSH-4 its messages carry.
        #[arg(long, alias = "facility")]
        sending_facility: String,
        /// LOINC codes it is registered to report, comma-separated (none: any).
        #[arg(long, value_delimiter = ',')]
        analytes: Vec<String>,
        /// Plain TCP instead of TLS, for instruments that cannot do TLS (a weaker control).
        #[arg(long, requires = "allow")]
        legacy_tcp: bool,
        /// Source address allowed on the plain-TCP port (repeatable).
        #[arg(long, alias = "allow-from", value_delimiter = ',')]
        allow: Vec<IpAddr>,
        /// Where to write the certificate, key and CA certificate (default ./<name>).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Revoke an instrument (by name or id); listeners drop its connections.
    Revoke { name: String },
    /// Enrolled instruments, with their transport and status.
    List,
}

pub fn run(g: &Global, cmd: DevicesCmd) -> Result<()> {
    let store = g.open()?;
    let actor = Actor::operator();
    match cmd {
        DevicesCmd::Enroll {
            name,
            sending_app,
            sending_facility,
            analytes,
            legacy_tcp,
            allow,
            out,
        } => {
            let req = EnrollRequest {
                sending_app: sending_app.unwrap_or_else(|| name.clone()),
                name: name.clone(),
                sending_facility,
                analytes,
                legacy_allow: legacy_tcp.then_some(allow),
            };
            let (e, issued) = enroll(&store, &actor, &g.data_dir, &req)?;
            store.checkpoint()?;
            match issued {
                Some(i) => {
                    let dir = out.unwrap_or_else(|| PathBuf::from(&name));
                    std::fs::create_dir_all(&dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                    let ca = DeviceCa::open_or_create(&g.data_dir)?;
                    std::fs::write(dir.join("ca.crt"), ca.cert_pem())?;
                    std::fs::write(dir.join(format!("{name}.crt")), &i.cert_pem)?;
                    write_key(&dir.join(format!("{name}.key")), i.key_pem.as_bytes())?;
                    println!(
                        "enrolled {name} for mutual TLS (certificate serial {}, SHA-256 {})",
                        i.serial, i.fingerprint
                    );
                    println!(
                        "wrote {0}/{name}.crt, {0}/{name}.key (mode 0600) and {0}/ca.crt: install them on the instrument",
                        dir.display()
                    );
                }
                None => println!(
                    "enrolled {name} for legacy plain TCP from {} (a weaker control: no device identity, no encryption in transit)",
                    e.allow_from
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
            Ok(())
        }
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
                    println!(
                        "{}\t{status}\t{transport}\tMSH-3 {} MSH-4 {}\tanalytes {}",
                        e.name,
                        e.sending_app,
                        e.sending_facility,
                        if e.analytes.is_empty() {
                            "any".to_string()
                        } else {
                            e.analytes.join(",")
                        }
                    );
                }
            })
        }
    }
}

fn write_key(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
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
