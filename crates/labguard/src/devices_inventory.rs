//! Helpers for the inventory commands: applying options to an asset, listing the
//! inventory, and field-level diffs for `devices history`.

use anyhow::{Context, Result};
use labguard_devices::cpe::Cpe;
use labguard_devices::device::Asset;
use labguard_store::{Actor, Store};

use crate::devices_cmd::AssetArgs;
use crate::opts::{emit, Global};

pub fn apply(a: &mut Asset, m: &AssetArgs) -> Result<()> {
    if m.serial.is_some() {
        a.serial.clone_from(&m.serial);
    }
    if m.location.is_some() {
        a.location.clone_from(&m.location);
    }
    if m.address.is_some() {
        a.network_address.clone_from(&m.address);
    }
    if m.owner.is_some() {
        a.owner.clone_from(&m.owner);
    }
    if let Some(c) = m.connectivity {
        a.connectivity = c.into();
    }
    if let Some(p) = m.stores_phi {
        a.stores_phi = p;
    }
    if m.support_ends.is_some() {
        a.vendor_support_end = m.support_ends;
    }
    if let Some(c) = &m.cpe {
        a.cpe = Some(Cpe::parse(c).with_context(|| format!("--cpe {c:?}"))?);
    }
    Ok(())
}

pub fn inventory(g: &Global, store: &Store, actor: &Actor) -> Result<()> {
    let inv = store.inventory(actor)?;
    emit(g, &inv, || {
        for d in &inv {
            let a = &d.asset;
            let kind = serde_json::to_value(a.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let mut notes = Vec::new();
            if d.id.is_none() {
                notes.push("enrolled instrument, no inventory record".to_string());
            }
            if let Some(i) = &d.instrument {
                notes.push(format!("speaks {}", i.protocol.code()));
            }
            if d.weak_authentication() {
                notes.push("legacy plain TCP: weak device authentication".into());
            }
            if a.stores_phi {
                notes.push("stores PHI".into());
            }
            println!(
                "{}\t{kind}\t{} {}\t{}\t{}\t{}",
                a.id,
                a.manufacturer,
                a.model,
                a.firmware_version.as_deref().unwrap_or("-"),
                a.network_address.as_deref().unwrap_or("-"),
                notes.join("; ")
            );
        }
    })
}

/// Leaf fields that differ between two JSON values, as (path, before, after).
pub fn diff(
    path: &str,
    b: &serde_json::Value,
    a: &serde_json::Value,
) -> Vec<(String, String, String)> {
    use serde_json::Value as V;
    match (b, a) {
        (V::Object(bo), V::Object(ao)) => {
            let mut keys: Vec<&String> = bo.keys().chain(ao.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .flat_map(|k| {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    diff(
                        &p,
                        bo.get(k).unwrap_or(&V::Null),
                        ao.get(k).unwrap_or(&V::Null),
                    )
                })
                .collect()
        }
        _ if b == a => vec![],
        _ => vec![(path.to_string(), b.to_string(), a.to_string())],
    }
}
