//! The device network map (edges between inventory devices) and exposure scans of the
//! devices' configured addresses. Not patient data; every change is audited.

use chrono::{DateTime, Utc};
use labguard_audit::Outcome;
use labguard_core::{Id, Permission};
use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::actor::Actor;
use crate::assets::{record_change, require_device};
use crate::backend::Value;
use crate::codec::{int, parse_time_text, text, to_json};
use crate::store::{rfc3339, Store};
use crate::StoreError;

/// A network-map edge: `from` talks to `to` over `protocol`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkLink {
    pub from: String,
    pub to: String,
    pub protocol: String,
    pub carries_phi: bool,
}

impl Store {
    /// Adds a network-map edge between two inventory devices.
    pub fn add_network_link(&self, actor: &Actor, link: &NetworkLink) -> Result<(), StoreError> {
        self.authorize(
            actor,
            Permission::DevicesManage,
            Action::DeviceLinkAdd,
            "device",
            "",
        )?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let from = require_device(tx, &link.from)?.id.map(|i| i.to_string()).unwrap_or_default();
            let to = require_device(tx, &link.to)?.id.map(|i| i.to_string()).unwrap_or_default();
            tx.execute(
                "INSERT INTO network_links (id, from_device, to_device, protocol, carries_phi, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                &[
                    Id::new_v4().to_string().into(),
                    from.clone().into(),
                    to.clone().into(),
                    link.protocol.clone().into(),
                    Value::Int(i64::from(link.carries_phi)),
                    now.clone().into(),
                ],
            )?;
            record_change(tx, &from, actor, &now, Action::DeviceLinkAdd, None, Some(to_json(link)?))?;
            pending.push(self.entry(actor, Action::DeviceLinkAdd, "device", &from, None, Outcome::Success)?);
            Ok(())
        })
    }

    /// The network map, by source device name.
    pub fn network_links(&self, actor: &Actor) -> Result<Vec<NetworkLink>, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesRead,
            Action::DeviceRead,
            "device",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        tx.query(
            "SELECT a.name, b.name, l.protocol, l.carries_phi FROM network_links l JOIN devices a ON a.id = l.from_device JOIN devices b ON b.id = l.to_device ORDER BY a.name, b.name, l.protocol",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok(NetworkLink {
                from: text(r, 0)?.unwrap_or_default(),
                to: text(r, 1)?.unwrap_or_default(),
                protocol: text(r, 2)?.unwrap_or_default(),
                carries_phi: int(r, 3)? != 0,
            })
        })
        .collect()
    }

    /// Stores an exposure-check result (JSON) for a device; audited like any change.
    pub fn record_exposure_scan(
        &self,
        actor: &Actor,
        device: &str,
        address: &str,
        result: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.authorize(
            actor,
            Permission::DevicesManage,
            Action::DeviceScan,
            "device",
            "",
        )?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let d = require_device(tx, device)?;
            let ids = d.id.map(|i| i.to_string()).unwrap_or_default();
            tx.execute(
                "INSERT INTO exposure_scans (id, device_id, address, scanned_at, result) VALUES (?, ?, ?, ?, ?)",
                &[Id::new_v4().to_string().into(), ids.clone().into(), address.into(), now.clone().into(), to_json(result)?.into()],
            )?;
            pending.push(self.entry(actor, Action::DeviceScan, "device", &ids, None, Outcome::Success)?);
            Ok(())
        })
    }

    /// The newest exposure-check result of each device that has one, by device name.
    /// When the newest exposure check of any device ran (compliance evidence).
    pub fn last_exposure_scan(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut tx = self.backend.begin()?;
        let rows = tx.query("SELECT MAX(scanned_at) FROM exposure_scans", &[])?;
        match rows.first().and_then(|r| r.first()) {
            Some(Value::Text(t)) => parse_time_text(t).map(Some),
            _ => Ok(None),
        }
    }

    pub fn latest_exposure_scans(
        &self,
        actor: &Actor,
    ) -> Result<std::collections::HashMap<String, serde_json::Value>, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesRead,
            Action::DeviceRead,
            "device",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        let rows = tx.query(
            "SELECT d.name, s.result FROM exposure_scans s JOIN devices d ON d.id = s.device_id ORDER BY d.name, s.scanned_at, s.id",
            &[],
        )?;
        let mut out = std::collections::HashMap::new();
        for r in &rows {
            let result = text(r, 1)?.unwrap_or_default();
            let v = serde_json::from_str(&result)
                .map_err(|_| StoreError::Corrupt("exposure scan JSON".into()))?;
            // Later rows are newer and replace earlier ones.
            out.insert(text(r, 0)?.unwrap_or_default(), v);
        }
        Ok(out)
    }
}
