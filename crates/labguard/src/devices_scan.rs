//! `devices scan`: the exposure check (labguard-mllp probes, labguard-devices judges) of
//! the one address configured for a device.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use labguard_devices::exposure::{classify, default_ports, PortSpec, Service};
use labguard_store::{Actor, Store};
use serde_json::json;

use crate::opts::{emit, Global};

fn parse_port(s: &str) -> Result<PortSpec> {
    let (port, service) = s
        .split_once(':')
        .ok_or_else(|| anyhow!("--ports {s:?}: expected PORT:SERVICE, e.g. 2323:telnet"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| anyhow!("--ports {s:?}: bad port number"))?;
    let service: Service = serde_json::from_value(json!(service))
        .map_err(|_| anyhow!("--ports {s:?}: unknown service (telnet, ftp, http, https, smb, netbios, vnc, rdp, hl7-mllp, ssh)"))?;
    Ok(PortSpec { port, service })
}

pub fn scan(
    g: &Global,
    store: &Store,
    actor: &Actor,
    device: &str,
    ports: &[String],
    timeout_ms: u64,
) -> Result<()> {
    let d = store
        .asset(actor, device)?
        .filter(|d| d.id.is_some())
        .ok_or_else(|| anyhow!("no device named {device} in the inventory"))?;
    // Only the address a person configured is ever contacted.
    let Some(addr) = d.asset.network_address.clone() else {
        bail!("{device} has no network address configured (set one with `devices update --name {device} --address …`)");
    };
    let ports = if ports.is_empty() {
        default_ports()
    } else {
        ports.iter().map(|p| parse_port(p)).collect::<Result<_>>()?
    };
    let opts = labguard_mllp::exposure::ScanOptions {
        ports,
        timeout: Duration::from_millis(timeout_ms),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let obs = rt
        .block_on(labguard_mllp::exposure::scan(&addr, &opts))
        .with_context(|| format!("scanning {device} at {addr}"))?;
    let findings = classify(&obs);
    let result = json!({
        "device": device,
        "address": addr,
        "open_ports": obs.iter().filter(|o| o.open).map(|o| o.spec.port).collect::<Vec<_>>(),
        "observations": obs,
        "findings": findings,
    });
    store.record_exposure_scan(actor, device, &addr, &result)?;
    store.checkpoint()?;
    emit(g, &result, || {
        println!(
            "{device} at {addr}: {} of {} port(s) open",
            obs.iter().filter(|o| o.open).count(),
            obs.len()
        );
        for f in &findings {
            let level = serde_json::to_value(f.level)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            println!(
                "{level:<6} {}/{}\t{}",
                f.port,
                serde_json::to_value(f.service)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                f.issue
            );
        }
    })
}
