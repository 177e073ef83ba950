//! The device inventory for device security: assets with their connectivity, PHI and
//! support dates, the link to an enrolled MLLP instrument, compensating controls, the
//! network map and a change history. Not patient data (stored in the clear); every change
//! is audited and also kept, before and after, in `device_changes`.

use chrono::NaiveDate;
use labguard_audit::Outcome;
use labguard_core::{Id, Permission};
use labguard_devices::cpe::Cpe;
use labguard_devices::device::{Asset, CompensatingControl, Connectivity, DeviceKind};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::action::Action;
use crate::actor::Actor;
use crate::backend::{query_one, Row, Tx, Value};
use crate::codec::{int, text, to_json};
use crate::instruments::Transport;
use crate::store::{rfc3339, Pending, Store};
use crate::StoreError;

/// The enrolled MLLP instrument a device is (or an inventory entry made from one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentLink {
    pub id: Id,
    pub name: String,
    pub transport: Transport,
    pub active: bool,
    /// What it speaks (HL7, ASTM, POCT1-A2).
    #[serde(default)]
    pub protocol: crate::instruments::Protocol,
}

/// One entry of the inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryDevice {
    /// Row id in `devices`; `None` for an enrolled instrument with no inventory record yet.
    pub id: Option<Id>,
    /// The asset (its `id` is the device name). For a linked instrument on legacy plain
    /// TCP the connectivity is `hl7-mllp-plain`, whatever was recorded, so risk scoring
    /// sees the weaker device authentication.
    pub asset: Asset,
    pub instrument: Option<InstrumentLink>,
    /// Months between scheduled assessments.
    pub assess_every_months: u32,
}

impl InventoryDevice {
    /// True when the device authenticates weakly: a legacy plain-TCP instrument link.
    pub fn weak_authentication(&self) -> bool {
        self.asset.connectivity.has_weak_authentication()
            || self
                .instrument
                .as_ref()
                .is_some_and(|i| i.transport == Transport::LegacyTcp)
    }
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceChange {
    pub seq: i64,
    pub changed_at: String,
    pub actor: String,
    pub action: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// The serde code of a unit enum (`"glucose-meter"`).
pub(crate) fn code<T: Serialize>(v: &T) -> Result<String, StoreError> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(StoreError::Corrupt("enum code".into())),
    }
}

pub(crate) fn from_code<T: DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

fn opt(s: &Option<String>) -> Value {
    s.clone().into()
}

const DEVICE_COLUMNS: &str = "d.id, d.name, d.kind, d.manufacturer, d.model, d.serial, d.firmware, d.location, d.connectivity, d.network_address, d.owner, d.stores_phi, d.support_ends, d.cpe, d.assess_every_months, e.id, e.name, e.transport, e.revoked_at, e.protocol";
const DEVICE_FROM: &str = "devices d LEFT JOIN instrument_enrollments e ON e.id = d.instrument_id";

fn protocol_of(code: Option<String>) -> crate::instruments::Protocol {
    code.as_deref()
        .and_then(crate::instruments::Protocol::from_code)
        .unwrap_or_default()
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn decode_device(r: &Row) -> Result<InventoryDevice, StoreError> {
    let t = |i| text(r, i);
    let need = |i| t(i)?.ok_or_else(|| StoreError::Corrupt("device row".into()));
    let id = Id::parse_str(&need(0)?).map_err(|_| StoreError::Corrupt("device id".into()))?;
    let kind = from_code(&need(2)?).unwrap_or(DeviceKind::Other);
    let mut a = Asset::new(need(1)?, kind, need(3)?, need(4)?);
    a.serial = non_empty(t(5)?);
    a.firmware_version = non_empty(t(6)?);
    a.location = non_empty(t(7)?);
    a.connectivity = from_code(&need(8)?).unwrap_or(Connectivity::Other);
    a.network_address = t(9)?;
    a.owner = t(10)?;
    a.stores_phi = int(r, 11)? != 0;
    a.vendor_support_end = t(12)?.and_then(|d| d.parse::<NaiveDate>().ok());
    a.cpe = t(13)?.and_then(|c| Cpe::parse(&c).ok());
    let every = u32::try_from(int(r, 14)?).unwrap_or(6);
    let instrument = match (t(15)?, t(16)?, t(17)?) {
        (Some(iid), Some(name), Some(tr)) => Some(InstrumentLink {
            id: Id::parse_str(&iid).map_err(|_| StoreError::Corrupt("instrument id".into()))?,
            name,
            transport: from_code(&tr).unwrap_or(Transport::LegacyTcp),
            active: t(18)?.is_none(),
            protocol: protocol_of(t(19)?),
        }),
        _ => None,
    };
    if instrument
        .as_ref()
        .is_some_and(|i| i.transport == Transport::LegacyTcp)
    {
        a.connectivity = Connectivity::Hl7MllpPlain;
    }
    Ok(InventoryDevice {
        id: Some(id),
        asset: a,
        instrument,
        assess_every_months: every,
    })
}

/// Finds a device row by name (or id) inside a transaction.
pub(crate) fn find_device(
    tx: &mut dyn Tx,
    which: &str,
) -> Result<Option<InventoryDevice>, StoreError> {
    let row = query_one(
        tx,
        &format!("SELECT {DEVICE_COLUMNS} FROM {DEVICE_FROM} WHERE d.name = ? OR d.id = ?"),
        &[which.into(), which.into()],
    )?;
    let Some(row) = row else { return Ok(None) };
    let mut d = decode_device(&row)?;
    let id = d.id.map(|i| i.to_string()).unwrap_or_default();
    d.asset.compensating_controls = controls(tx, &id)?;
    Ok(Some(d))
}

pub(crate) fn require_device(tx: &mut dyn Tx, which: &str) -> Result<InventoryDevice, StoreError> {
    find_device(tx, which)?.ok_or_else(|| StoreError::NotFound(format!("no device named {which}")))
}

fn controls(tx: &mut dyn Tx, device_id: &str) -> Result<Vec<CompensatingControl>, StoreError> {
    tx.query(
        "SELECT description, verified_on FROM compensating_controls WHERE device_id = ? ORDER BY created_at, id",
        &[device_id.into()],
    )?
    .iter()
    .map(|r| {
        Ok(CompensatingControl {
            description: text(r, 0)?.unwrap_or_default(),
            verified_on: text(r, 1)?.and_then(|d| d.parse().ok()),
        })
    })
    .collect()
}

/// Appends a row to `device_changes` (the per-device history).
pub(crate) fn record_change(
    tx: &mut dyn Tx,
    device_id: &str,
    actor: &Actor,
    at: &str,
    action: Action,
    before: Option<String>,
    after: Option<String>,
) -> Result<(), StoreError> {
    let seq = query_one(
        tx,
        "SELECT COALESCE(MAX(seq), 0) FROM device_changes WHERE device_id = ?",
        &[device_id.into()],
    )?
    .and_then(|r| r.first().cloned())
    .map(|v| v.as_int())
    .transpose()?
    .unwrap_or(0)
        + 1;
    tx.execute(
        "INSERT INTO device_changes (id, device_id, seq, changed_at, actor, action, before_json, after_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            Id::new_v4().to_string().into(),
            device_id.into(),
            Value::Int(seq),
            at.into(),
            actor.id.clone().into(),
            action.code().into(),
            before.into(),
            after.into(),
        ],
    )?;
    Ok(())
}

fn instrument_id(tx: &mut dyn Tx, name: &str) -> Result<String, StoreError> {
    query_one(
        tx,
        "SELECT id FROM instrument_enrollments WHERE name = ? OR id = ?",
        &[name.into(), name.into()],
    )?
    .and_then(|r| r.first().cloned())
    .ok_or_else(|| StoreError::NotFound(format!("no enrolled instrument named {name}")))?
    .as_text()
    .map(str::to_string)
}

impl Store {
    /// Adds a device to the inventory, optionally linked to an enrolled instrument (by
    /// name or id). Returns its row id.
    pub fn add_asset(
        &self,
        actor: &Actor,
        asset: &Asset,
        instrument: Option<&str>,
    ) -> Result<Id, StoreError> {
        let id = Id::new_v4();
        let ids = id.to_string();
        self.authorize(
            actor,
            Permission::DevicesManage,
            Action::DeviceCreate,
            "device",
            &ids,
        )?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            if find_device(tx, &asset.id)?.is_some() {
                return Err(StoreError::Conflict);
            }
            // An instrument enrolled under the same name is the same device.
            let link = match instrument {
                Some(n) => Some(instrument_id(tx, n)?),
                None => instrument_id(tx, &asset.id).ok(),
            };
            tx.execute(
                "INSERT INTO devices (id, name, kind, manufacturer, model, serial, firmware, location, created_at, connectivity, network_address, owner, stores_phi, support_ends, cpe, instrument_id, assess_every_months, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 6, ?)",
                &[
                    ids.clone().into(),
                    asset.id.clone().into(),
                    code(&asset.kind)?.into(),
                    asset.manufacturer.clone().into(),
                    asset.model.clone().into(),
                    asset.serial.clone().unwrap_or_default().into(),
                    asset.firmware_version.clone().unwrap_or_default().into(),
                    asset.location.clone().unwrap_or_default().into(),
                    now.clone().into(),
                    code(&asset.connectivity)?.into(),
                    opt(&asset.network_address),
                    opt(&asset.owner),
                    Value::Int(i64::from(asset.stores_phi)),
                    asset.vendor_support_end.map(|d| d.to_string()).into(),
                    asset.cpe.as_ref().map(ToString::to_string).into(),
                    link.into(),
                    now.clone().into(),
                ],
            )?;
            for c in &asset.compensating_controls {
                insert_control(tx, &ids, c, &now)?;
            }
            let after = find_device(tx, &ids)?;
            record_change(tx, &ids, actor, &now, Action::DeviceCreate, None, Some(to_json(&after)?))?;
            pending.push(self.entry(actor, Action::DeviceCreate, "device", &ids, None, Outcome::Success)?);
            Ok(id)
        })
    }

    /// Replaces a device's recorded details (matched by `asset.id`, its name); controls
    /// are managed separately. Returns the device as it was before.
    pub fn update_asset(
        &self,
        actor: &Actor,
        asset: &Asset,
    ) -> Result<InventoryDevice, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesManage,
            Action::DeviceUpdate,
            "device",
            "",
        )?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let before = require_device(tx, &asset.id)?;
            let ids = before.id.map(|i| i.to_string()).unwrap_or_default();
            tx.execute(
                "UPDATE devices SET kind = ?, manufacturer = ?, model = ?, serial = ?, firmware = ?, location = ?, connectivity = ?, network_address = ?, owner = ?, stores_phi = ?, support_ends = ?, cpe = ?, updated_at = ? WHERE id = ?",
                &[
                    code(&asset.kind)?.into(),
                    asset.manufacturer.clone().into(),
                    asset.model.clone().into(),
                    asset.serial.clone().unwrap_or_default().into(),
                    asset.firmware_version.clone().unwrap_or_default().into(),
                    asset.location.clone().unwrap_or_default().into(),
                    code(&asset.connectivity)?.into(),
                    opt(&asset.network_address),
                    opt(&asset.owner),
                    Value::Int(i64::from(asset.stores_phi)),
                    asset.vendor_support_end.map(|d| d.to_string()).into(),
                    asset.cpe.as_ref().map(ToString::to_string).into(),
                    now.clone().into(),
                    ids.clone().into(),
                ],
            )?;
            let after = find_device(tx, &ids)?;
            record_change(tx, &ids, actor, &now, Action::DeviceUpdate, Some(to_json(&before)?), Some(to_json(&after)?))?;
            pending.push(self.entry(actor, Action::DeviceUpdate, "device", &ids, None, Outcome::Success)?);
            Ok(before)
        })
    }

    /// Records a compensating control (segmentation, firewall rule…) for a device.
    pub fn add_compensating_control(
        &self,
        actor: &Actor,
        device: &str,
        control: &CompensatingControl,
    ) -> Result<(), StoreError> {
        self.authorize(
            actor,
            Permission::DevicesManage,
            Action::DeviceControlAdd,
            "device",
            "",
        )?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let d = require_device(tx, device)?;
            let ids = d.id.map(|i| i.to_string()).unwrap_or_default();
            insert_control(tx, &ids, control, &now)?;
            record_change(
                tx,
                &ids,
                actor,
                &now,
                Action::DeviceControlAdd,
                None,
                Some(to_json(control)?),
            )?;
            pending.push(self.entry(
                actor,
                Action::DeviceControlAdd,
                "device",
                &ids,
                None,
                Outcome::Success,
            )?);
            Ok(())
        })
    }

    /// One device by name or id (with its controls), or an enrolled instrument of that
    /// name not yet in the inventory.
    pub fn asset(&self, actor: &Actor, which: &str) -> Result<Option<InventoryDevice>, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesRead,
            Action::DeviceRead,
            "device",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        if let Some(d) = find_device(tx.as_mut(), which)? {
            return Ok(Some(d));
        }
        Ok(unlinked_instruments(tx.as_mut())?.into_iter().find(|d| {
            d.asset.id == which
                || d.instrument
                    .as_ref()
                    .is_some_and(|i| i.id.to_string() == which)
        }))
    }

    /// The whole inventory, by name: recorded devices plus every enrolled instrument no
    /// device is linked to (so nothing that delivers results is missing from it).
    pub fn inventory(&self, actor: &Actor) -> Result<Vec<InventoryDevice>, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesRead,
            Action::DeviceRead,
            "device",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        let rows = tx.query(
            &format!("SELECT {DEVICE_COLUMNS} FROM {DEVICE_FROM} ORDER BY d.name"),
            &[],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut d = decode_device(r)?;
            let id = d.id.map(|i| i.to_string()).unwrap_or_default();
            d.asset.compensating_controls = controls(tx.as_mut(), &id)?;
            out.push(d);
        }
        out.extend(unlinked_instruments(tx.as_mut())?);
        out.sort_by(|a, b| a.asset.id.cmp(&b.asset.id));
        Ok(out)
    }

    /// The device's change history, oldest first.
    pub fn device_history(
        &self,
        actor: &Actor,
        which: &str,
    ) -> Result<Vec<DeviceChange>, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesRead,
            Action::DeviceRead,
            "device",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        let d = require_device(tx.as_mut(), which)?;
        let id = d.id.map(|i| i.to_string()).unwrap_or_default();
        tx.query(
            "SELECT seq, changed_at, actor, action, before_json, after_json FROM device_changes WHERE device_id = ? ORDER BY seq",
            &[id.into()],
        )?
        .iter()
        .map(|r| {
            let parse = |i| -> Result<Option<serde_json::Value>, StoreError> {
                text(r, i)?
                    .map(|s| serde_json::from_str(&s).map_err(|_| StoreError::Corrupt("device change JSON".into())))
                    .transpose()
            };
            Ok(DeviceChange {
                seq: int(r, 0)?,
                changed_at: text(r, 1)?.unwrap_or_default(),
                actor: text(r, 2)?.unwrap_or_default(),
                action: text(r, 3)?.unwrap_or_default(),
                before: parse(4)?,
                after: parse(5)?,
            })
        })
        .collect()
    }

    /// Creates the inventory record for an enrolled instrument that has none yet (so an
    /// SBOM or assessment can be attached to it), inside the caller's write.
    pub(crate) fn materialize_instrument(
        &self,
        tx: &mut dyn Tx,
        pending: &mut Pending,
        actor: &Actor,
        which: &str,
        now: &str,
    ) -> Result<InventoryDevice, StoreError> {
        if let Some(d) = find_device(tx, which)? {
            return Ok(d);
        }
        let Some(inst) = unlinked_instruments(tx)?
            .into_iter()
            .find(|d| d.asset.id == which)
        else {
            return Err(StoreError::NotFound(format!("no device named {which}")));
        };
        let link = inst.instrument.as_ref().map(|i| i.id.to_string());
        let ids = Id::new_v4().to_string();
        tx.execute(
            "INSERT INTO devices (id, name, kind, manufacturer, model, serial, firmware, location, created_at, connectivity, stores_phi, instrument_id, assess_every_months, updated_at) VALUES (?, ?, 'analyzer', '', '', '', '', '', ?, ?, 0, ?, 6, ?)",
            &[
                ids.clone().into(),
                inst.asset.id.clone().into(),
                now.into(),
                code(&inst.asset.connectivity)?.into(),
                link.into(),
                now.into(),
            ],
        )?;
        let after = find_device(tx, &ids)?;
        record_change(
            tx,
            &ids,
            actor,
            now,
            Action::DeviceCreate,
            None,
            Some(to_json(&after)?),
        )?;
        pending.push(self.entry(
            actor,
            Action::DeviceCreate,
            "device",
            &ids,
            None,
            Outcome::Success,
        )?);
        require_device(tx, &ids)
    }
}

fn insert_control(
    tx: &mut dyn Tx,
    device_id: &str,
    c: &CompensatingControl,
    now: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO compensating_controls (id, device_id, description, verified_on, created_at) VALUES (?, ?, ?, ?, ?)",
        &[
            Id::new_v4().to_string().into(),
            device_id.into(),
            c.description.clone().into(),
            c.verified_on.map(|d| d.to_string()).into(),
            now.into(),
        ],
    )?;
    Ok(())
}

/// Enrolled instruments no inventory record links to, as inventory entries.
fn unlinked_instruments(tx: &mut dyn Tx) -> Result<Vec<InventoryDevice>, StoreError> {
    let rows = tx.query(
        "SELECT e.id, e.name, e.transport, e.revoked_at, e.protocol FROM instrument_enrollments e WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.instrument_id = e.id OR d.name = e.name) ORDER BY e.name",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            let id = text(r, 0)?.unwrap_or_default();
            let name = text(r, 1)?.unwrap_or_default();
            let transport =
                from_code(&text(r, 2)?.unwrap_or_default()).unwrap_or(Transport::LegacyTcp);
            let mut a = Asset::new(name.clone(), DeviceKind::Analyzer, "", "");
            a.connectivity = match transport {
                Transport::Tls => Connectivity::Hl7MllpTls,
                Transport::LegacyTcp => Connectivity::Hl7MllpPlain,
            };
            Ok(InventoryDevice {
                id: None,
                asset: a,
                instrument: Some(InstrumentLink {
                    id: Id::parse_str(&id)
                        .map_err(|_| StoreError::Corrupt("instrument id".into()))?,
                    name,
                    transport,
                    active: text(r, 3)?.is_none(),
                    protocol: protocol_of(text(r, 4)?),
                }),
                assess_every_months: 6,
            })
        })
        .collect()
}
