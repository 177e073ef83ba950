//! Instruments that deliver results over MLLP: their enrollment (which certificate or
//! source address speaks for them, which MSH-3/MSH-4 and analytes they are bound to),
//! revocation, alerts and the review queue of held results. Enrollments and alerts are
//! not patient data; every change to them is still audited.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use labguard_audit::Outcome;
use labguard_core::{Id, LabResult, Permission};
use labguard_crypto::{FieldRef, KeyRing};

use crate::action::Action;
use crate::actor::Actor;
use crate::backend::{query_one, Row, Value};
use crate::codec::opt_time;
use crate::rows::HeldRow;
use crate::store::{rfc3339, Store};
use crate::table::{TableSpec, HELD_RESULTS, INBOUND_MESSAGES, RESULTS};
use crate::StoreError;

/// How an instrument connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// Mutual TLS with a client certificate from labguard's device CA.
    Tls,
    /// Plain TCP from an allow-listed source address: for instruments that cannot do TLS.
    /// A weaker control (addresses can be spoofed on the LAN, traffic is readable).
    LegacyTcp,
}

impl Transport {
    pub fn code(self) -> &'static str {
        match self {
            Transport::Tls => "tls",
            Transport::LegacyTcp => "legacy-tcp",
        }
    }

    fn from_code(s: &str) -> Result<Transport, StoreError> {
        match s {
            "tls" => Ok(Transport::Tls),
            "legacy-tcp" => Ok(Transport::LegacyTcp),
            _ => Err(StoreError::Corrupt("unknown instrument transport".into())),
        }
    }
}

/// Which protocol an instrument speaks; each listener admits only its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// HL7 v2 over MLLP.
    #[default]
    Hl7,
    /// ASTM E1381/E1394 (LIS1-A/LIS2-A2).
    Astm,
    /// POCT1-A2 device messaging.
    Poct,
}

impl Protocol {
    pub fn code(self) -> &'static str {
        match self {
            Protocol::Hl7 => "hl7",
            Protocol::Astm => "astm",
            Protocol::Poct => "poct",
        }
    }

    pub fn from_code(s: &str) -> Option<Protocol> {
        match s {
            "hl7" => Some(Protocol::Hl7),
            "astm" => Some(Protocol::Astm),
            "poct" => Some(Protocol::Poct),
            _ => None,
        }
    }
}

/// One enrolled instrument.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Enrollment {
    pub id: Id,
    pub name: String,
    /// MSH-3 (namespace id) every message must carry.
    pub sending_app: String,
    /// MSH-4 (namespace id) every message must carry.
    pub sending_facility: String,
    /// LOINC codes the instrument is registered to report.
    pub analytes: Vec<String>,
    pub transport: Transport,
    pub cert_serial: Option<String>,
    /// Lowercase hex SHA-256 of the client certificate's DER.
    pub cert_fingerprint: Option<String>,
    pub allow_from: Vec<IpAddr>,
    pub enrolled_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// What it speaks (enrollments before v14 are HL7).
    #[serde(default)]
    pub protocol: Protocol,
}

impl Enrollment {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }

    /// True for plain-TCP enrollments: the device risk view marks them as a weaker control.
    pub fn weaker_control(&self) -> bool {
        self.transport == Transport::LegacyTcp
    }

    /// The audit actor for what this instrument delivers.
    pub fn actor(&self) -> Actor {
        Actor::device(format!("device:{}", self.name))
    }
}

/// A held result awaiting review, decrypted for a reviewer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HeldResult {
    pub id: Id,
    pub message_id: Id,
    pub device_id: Id,
    pub reasons: Vec<String>,
    pub state: String,
    pub result: LabResult,
    /// For a delta-check hold: the previous result it was compared with, so the reviewer
    /// sees both values.
    pub previous: Option<LabResult>,
}

/// An alert raised for the lab. Reason codes only, never values.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InstrumentAlert {
    pub id: Id,
    pub kind: String,
    pub device_id: Option<String>,
    pub message_id: Option<String>,
    pub held_result_id: Option<String>,
    pub detail: String,
    pub created_at: String,
}

/// `audit verify`'s extra check for a stored original: it must still hash to the SHA-256
/// its audited row recorded (the row hash covers `raw_sha256`, the AEAD covers `raw`).
pub(crate) fn verify_extra(
    spec: &TableSpec,
    ring: &KeyRing,
    id: &str,
    values: &[Value],
) -> Option<String> {
    if spec.name != INBOUND_MESSAGES.name {
        return None;
    }
    let get = |c: &str| spec.index_of(c).ok().and_then(|i| values.get(i));
    let (Some(Value::Blob(ct)), Some(Value::Text(want))) = (get("raw"), get("raw_sha256")) else {
        return Some("original message columns are malformed".into());
    };
    match ring.open(&FieldRef::new(spec.name, id, "raw"), ct) {
        Ok(pt) if hex::encode(labguard_crypto::sha256(&pt)) == *want => None,
        Ok(_) => Some("the original message no longer matches its recorded SHA-256".into()),
        Err(e) => Some(format!("column raw: {e}")),
    }
}

const ENROLLMENT_COLUMNS: &str = "id, name, sending_app, sending_facility, analytes, transport, cert_serial, cert_fingerprint, allow_from, enrolled_at, revoked_at, protocol";

pub(crate) fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn decode_enrollment(r: &Row) -> Result<Enrollment, StoreError> {
    let [id, name, app, fac, analytes, transport, serial, fp, allow, enrolled, revoked, protocol] =
        r.as_slice()
    else {
        return Err(StoreError::Corrupt("enrollment row shape".into()));
    };
    Ok(Enrollment {
        id: Id::parse_str(id.as_text()?)
            .map_err(|_| StoreError::Corrupt("enrollment id".into()))?,
        name: name.as_text()?.into(),
        sending_app: app.as_text()?.into(),
        sending_facility: fac.as_text()?.into(),
        analytes: split_list(analytes.as_text()?),
        transport: Transport::from_code(transport.as_text()?)?,
        cert_serial: serial.opt_text()?.map(str::to_string),
        cert_fingerprint: fp.opt_text()?.map(str::to_string),
        allow_from: split_list(allow.as_text()?)
            .iter()
            .map(|a| a.parse())
            .collect::<Result<_, _>>()
            .map_err(|_| StoreError::Corrupt("enrollment address".into()))?,
        enrolled_at: opt_time(enrolled)?
            .ok_or_else(|| StoreError::Corrupt("enrollment time".into()))?,
        revoked_at: opt_time(revoked)?,
        protocol: Protocol::from_code(protocol.as_text()?)
            .ok_or_else(|| StoreError::Corrupt("unknown instrument protocol".into()))?,
    })
}

/// What a listener last learned of a device: when it was heard from and what it said of
/// itself (no results, no patient data).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeviceStatus {
    pub device_id: Id,
    pub name: String,
    pub last_seen_at: Option<DateTime<Utc>>,
    /// JSON the listener recorded (POCT1-A2: HEL identity, last DST, docked).
    pub status: Option<serde_json::Value>,
}

impl Store {
    /// Records an instrument's enrollment (its certificate was issued by the caller).
    pub fn enroll_instrument(&self, actor: &Actor, e: &Enrollment) -> Result<(), StoreError> {
        let id = e.id.to_string();
        self.authorize(
            actor,
            Permission::DevicesManage,
            Action::InstrumentEnroll,
            "instrument",
            &id,
        )?;
        let allow: Vec<String> = e.allow_from.iter().map(ToString::to_string).collect();
        self.write(|tx, pending| {
            tx.execute(
                &format!("INSERT INTO instrument_enrollments ({ENROLLMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                &[
                    id.clone().into(),
                    e.name.clone().into(),
                    e.sending_app.clone().into(),
                    e.sending_facility.clone().into(),
                    e.analytes.join(",").into(),
                    e.transport.code().into(),
                    e.cert_serial.clone().into(),
                    e.cert_fingerprint.clone().into(),
                    allow.join(",").into(),
                    rfc3339(e.enrolled_at).into(),
                    e.revoked_at.map(rfc3339).into(),
                    e.protocol.code().into(),
                ],
            )?;
            pending.push(self.entry(actor, Action::InstrumentEnroll, "instrument", &id, None, Outcome::Success)?);
            Ok(())
        })
    }

    /// Revokes an instrument by name or id; listeners drop its connections.
    pub fn revoke_instrument(&self, actor: &Actor, which: &str) -> Result<Enrollment, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesManage,
            Action::InstrumentRevoke,
            "instrument",
            "",
        )?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let row = query_one(
                tx,
                &format!("SELECT {ENROLLMENT_COLUMNS} FROM instrument_enrollments WHERE name = ? OR id = ?"),
                &[which.into(), which.into()],
            )?
            .ok_or_else(|| StoreError::NotFound("no such instrument".into()))?;
            let mut e = decode_enrollment(&row)?;
            if e.revoked_at.is_none() {
                tx.execute(
                    "UPDATE instrument_enrollments SET revoked_at = ? WHERE id = ?",
                    &[now.clone().into(), e.id.to_string().into()],
                )?;
                e.revoked_at = opt_time(&Value::Text(now.clone()))?;
            }
            pending.push(self.entry(actor, Action::InstrumentRevoke, "instrument", &e.id.to_string(), None, Outcome::Success)?);
            Ok(e)
        })
    }

    /// Every enrollment, revoked ones included (not patient data: read without an entry,
    /// since listeners poll it).
    pub fn instruments(&self) -> Result<Vec<Enrollment>, StoreError> {
        let mut tx = self.backend.begin()?;
        tx.query(
            &format!("SELECT {ENROLLMENT_COLUMNS} FROM instrument_enrollments ORDER BY name"),
            &[],
        )?
        .iter()
        .map(decode_enrollment)
        .collect()
    }

    /// Records that a device was heard from now, and optionally what it reported of itself.
    /// Not audited (overwritten on every contact; no patient data).
    pub fn record_device_seen(
        &self,
        device: Id,
        status: Option<&serde_json::Value>,
    ) -> Result<(), StoreError> {
        let now = rfc3339(self.now());
        let status = status.map(ToString::to_string);
        let mut tx = self.backend.begin()?;
        match status {
            Some(s) => tx.execute(
                "UPDATE instrument_enrollments SET last_seen_at = ?, device_status = ? WHERE id = ?",
                &[now.into(), s.into(), device.to_string().into()],
            )?,
            None => tx.execute(
                "UPDATE instrument_enrollments SET last_seen_at = ? WHERE id = ?",
                &[now.into(), device.to_string().into()],
            )?,
        };
        tx.commit()
    }

    /// Every enrolled device's last contact and reported status.
    pub fn device_statuses(&self) -> Result<Vec<DeviceStatus>, StoreError> {
        let mut tx = self.backend.begin()?;
        tx.query(
            "SELECT id, name, last_seen_at, device_status FROM instrument_enrollments ORDER BY name",
            &[],
        )?
        .iter()
        .map(|r| {
            let [id, name, seen, status] = r.as_slice() else {
                return Err(StoreError::Corrupt("device status row shape".into()));
            };
            Ok(DeviceStatus {
                device_id: Id::parse_str(id.as_text()?)
                    .map_err(|_| StoreError::Corrupt("enrollment id".into()))?,
                name: name.as_text()?.to_string(),
                last_seen_at: opt_time(seen)?,
                status: status
                    .opt_text()?
                    .and_then(|s| serde_json::from_str(s).ok()),
            })
        })
        .collect()
    }

    /// Records a refused delivery (unknown, revoked or mismatched sender): an audit event
    /// and an alert, nothing of the message itself.
    pub fn refuse_delivery(
        &self,
        actor: &Actor,
        device: Option<Id>,
        why: &str,
    ) -> Result<(), StoreError> {
        self.refuse_deliveries(actor, device, why, 1)
    }

    /// [`refuse_delivery`](Self::refuse_delivery) standing for `count` refusals of one
    /// peer (the listener aggregates a peer's refusals per interval, so a peer retrying in
    /// a loop writes one entry a minute, not one per attempt).
    pub fn refuse_deliveries(
        &self,
        actor: &Actor,
        device: Option<Id>,
        why: &str,
        count: u64,
    ) -> Result<(), StoreError> {
        let why = if count > 1 {
            format!("{why} (x{count})")
        } else {
            why.to_string()
        };
        let why = why.as_str();
        let now = rfc3339(self.now());
        let alert = Id::new_v4().to_string();
        self.write(|tx, pending| {
            tx.execute(
                "INSERT INTO instrument_alerts (id, kind, device_id, message_id, held_result_id, detail, created_at) VALUES (?, 'delivery-refused', ?, NULL, NULL, ?, ?)",
                &[alert.clone().into(), device.map(|d| d.to_string()).into(), why.into(), now.clone().into()],
            )?;
            let mut e = self.entry(actor, Action::MessageRefuse, "message", "", None, Outcome::Denied)?;
            e.reason = Some(why.to_string());
            pending.push(e);
            Ok(())
        })
    }

    /// Raises a `not-docked` alert for every active POCT1-A2 meter not heard from (or,
    /// never heard from, not since enrolment) within `after`, unless one is already open
    /// for it: a meter that stays off its dock keeps its readings, and may be lost or
    /// tampered with. Returns the meters' names. Each alert is audited.
    pub fn alert_undocked_meters(
        &self,
        after: chrono::TimeDelta,
    ) -> Result<Vec<String>, StoreError> {
        let now = self.now();
        let cutoff = rfc3339(now - after);
        let stamp = rfc3339(now);
        let actor = Actor::system();
        self.write(|tx, pending| {
            let stale = tx.query(
                "SELECT e.id, e.name FROM instrument_enrollments e \
                 WHERE e.protocol = 'poct' AND e.revoked_at IS NULL \
                 AND COALESCE(e.last_seen_at, e.enrolled_at) < ? \
                 AND NOT EXISTS (SELECT 1 FROM instrument_alerts a WHERE a.device_id = e.id \
                   AND a.kind = 'not-docked' AND a.acknowledged_at IS NULL) \
                 ORDER BY e.name",
                &[cutoff.clone().into()],
            )?;
            let mut names = Vec::new();
            for r in stale {
                let [id, name] = r.as_slice() else {
                    return Err(StoreError::Corrupt("enrollment row shape".into()));
                };
                let alert = Id::new_v4().to_string();
                let hours = after.num_hours();
                tx.execute(
                    "INSERT INTO instrument_alerts (id, kind, device_id, message_id, held_result_id, detail, created_at) VALUES (?, 'not-docked', ?, NULL, NULL, ?, ?)",
                    &[alert.clone().into(), id.as_text()?.into(), format!("not docked for over {hours} h").into(), stamp.clone().into()],
                )?;
                pending.push(self.entry(&actor, Action::AlertCreate, "alert", &alert, None, Outcome::Success)?);
                names.push(name.as_text()?.to_string());
            }
            Ok(names)
        })
    }

    /// Closes a meter's open `not-docked` alert once it docks again (audited as a review
    /// by the system). True when one was open.
    pub fn resolve_not_docked(&self, device: Id) -> Result<bool, StoreError> {
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let n = tx.execute(
                "UPDATE instrument_alerts SET acknowledged_at = ? WHERE device_id = ? AND kind = 'not-docked' AND acknowledged_at IS NULL",
                &[now.clone().into(), device.to_string().into()],
            )?;
            if n > 0 {
                let mut e = self.entry(&Actor::system(), Action::AlertReview, "alert", "", None, Outcome::Success)?;
                e.reason = Some("meter docked".into());
                pending.push(e);
            }
            Ok(n > 0)
        })
    }

    /// Open alerts, newest first.
    pub fn open_alerts(&self, limit: u32) -> Result<Vec<InstrumentAlert>, StoreError> {
        let mut tx = self.backend.begin()?;
        tx.query(
            "SELECT id, kind, device_id, message_id, held_result_id, detail, created_at FROM instrument_alerts WHERE acknowledged_at IS NULL ORDER BY created_at DESC LIMIT ?",
            &[Value::Int(limit.into())],
        )?
        .iter()
        .map(|r| {
            let t = |i: usize| -> Result<Option<String>, StoreError> {
                Ok(r.get(i)
                    .ok_or_else(|| StoreError::Corrupt("alert row shape".into()))?
                    .opt_text()?
                    .map(str::to_string))
            };
            Ok(InstrumentAlert {
                id: Id::parse_str(&t(0)?.unwrap_or_default())
                    .map_err(|_| StoreError::Corrupt("alert id".into()))?,
                kind: t(1)?.unwrap_or_default(),
                device_id: t(2)?,
                message_id: t(3)?,
                held_result_id: t(4)?,
                detail: t(5)?.unwrap_or_default(),
                created_at: t(6)?.unwrap_or_default(),
            })
        })
        .collect()
    }

    /// Results awaiting review, decrypted for a reviewer (each read audited).
    pub fn held_results(&self, actor: &Actor) -> Result<Vec<HeldResult>, StoreError> {
        self.authorize(
            actor,
            Permission::ResultVerify,
            Action::HeldResultRead,
            "held-result",
            "",
        )?;
        self.write(|tx, pending| {
            let ring = self.ring()?;
            let sql = format!(
                "{} WHERE state = 'held' ORDER BY created_at, id",
                HELD_RESULTS.select_sql()
            );
            let rows: Vec<HeldRow> = tx
                .query(&sql, &[])?
                .into_iter()
                .map(|r| crate::rows::decode(&ring, r))
                .collect::<Result<_, _>>()?;
            drop(ring);
            let mut out = Vec::with_capacity(rows.len());
            for h in rows {
                let patient = h.patient_id.as_str();
                pending.push(self.entry(
                    actor,
                    Action::HeldResultRead,
                    HELD_RESULTS.resource,
                    &h.id.to_string(),
                    (!patient.is_empty()).then_some(patient),
                    Outcome::Success,
                )?);
                let previous = if !patient.is_empty()
                    && h.reasons.iter().any(|c| crate::delta::is_delta_reason(c))
                {
                    self.previous_result(
                        tx,
                        h.result.patient_id,
                        &h.result.analyte,
                        h.result.observed_at,
                    )?
                } else {
                    None
                };
                if let Some(p) = &previous {
                    pending.push(self.entry(
                        actor,
                        Action::ResultRead,
                        RESULTS.resource,
                        &p.id.to_string(),
                        Some(patient),
                        Outcome::Success,
                    )?);
                }
                out.push(HeldResult {
                    id: h.id,
                    message_id: h.message_id,
                    device_id: h.device_id,
                    reasons: h.reasons,
                    state: h.state,
                    result: h.result,
                    previous,
                });
            }
            Ok(out)
        })
    }

    /// Specimens by id, decrypted (each read audited); unknown ids are skipped.
    pub fn specimens_by_id(
        &self,
        actor: &Actor,
        ids: &[Id],
    ) -> Result<Vec<labguard_core::Specimen>, StoreError> {
        self.authorize(
            actor,
            Permission::ResultRead,
            Action::SpecimenRead,
            "specimen",
            "",
        )?;
        self.write(|tx, pending| {
            let ring = self.ring()?;
            let sql = format!("{} WHERE id = ?", crate::table::SPECIMENS.select_sql());
            let mut out = Vec::new();
            for id in ids {
                if let Some(row) = query_one(tx, &sql, &[id.to_string().into()])? {
                    let s = crate::rows::decode::<labguard_core::Specimen>(&ring, row)?;
                    let pid = s.patient_id.to_string();
                    pending.push(self.entry(
                        actor,
                        Action::SpecimenRead,
                        "specimen",
                        &id.to_string(),
                        Some(&pid),
                        Outcome::Success,
                    )?);
                    out.push(s);
                }
            }
            Ok(out)
        })
    }

    /// Number of stored originals and held results (counts are not patient data).
    pub fn instrument_counts(&self) -> Result<(u64, u64), StoreError> {
        let mut tx = self.backend.begin()?;
        let mut n = |sql: &str| -> Result<u64, StoreError> {
            Ok(tx
                .query(sql, &[])?
                .first()
                .and_then(|r| r.first())
                .map(Value::as_int)
                .transpose()?
                .map_or(0, |v| u64::try_from(v).unwrap_or(0)))
        };
        Ok((
            n("SELECT COUNT(*) FROM inbound_messages")?,
            n("SELECT COUNT(*) FROM held_results")?,
        ))
    }
}
