//! The SIEM forwarder's cursor and spool (migration v14).
//!
//! Events move in two committed steps per sink: `siem_spool` reads audit entries past the
//! cursor and alerts not yet sent, renders them to labguard-siem's pseudonymous events,
//! inserts them into `siem_spool` and moves the cursor, in one transaction, so each event
//! is spooled exactly once; `siem_delivered` moves the delivered mark after the forwarder
//! flushed them to the collector. These calls append no audit entry: they run every
//! second, and an entry per batch would itself be forwarded, forever. Starting a sink,
//! a backlog, its recovery and exports are audited.

use labguard_audit::{AuditEntry, Outcome};
use labguard_core::Permission;
use labguard_siem::{AlertRecord, AlertSource, SiemEvent};

use crate::action::Action;
use crate::backend::{query_one, Tx, Value};
use crate::store::{rfc3339, Store};
use crate::{Actor, StoreError};

/// Where a sink stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiemStatus {
    /// Next audit seq to spool.
    pub audit_next: u64,
    /// Next spool seq to assign.
    pub spool_next: u64,
    /// First spool seq not yet delivered.
    pub delivered: u64,
    /// Bytes of spooled, undelivered events.
    pub spool_bytes: u64,
    /// Whether a `siem-backlog` alert is open for the sink.
    pub backlog: bool,
    /// Audit log size now.
    pub audit_size: u64,
}

/// What one spool step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spooled {
    /// Events moved into the spool.
    pub moved: usize,
    /// The cap stopped it with events left behind the cursor.
    pub full: bool,
}

fn u(v: &Value, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v.as_int()?).map_err(|_| StoreError::Corrupt(format!("siem {what}")))
}

fn i(v: u64) -> Result<Value, StoreError> {
    i64::try_from(v)
        .map(Value::Int)
        .map_err(|_| StoreError::Corrupt("siem counter overflow".into()))
}

fn opt(v: &Value) -> Result<Option<String>, StoreError> {
    Ok(v.opt_text()?.map(str::to_string))
}

const ALERT_QUERIES: [(AlertSource, &str); 3] = [
    (
        AlertSource::Security,
        "SELECT a.id, a.kind, a.user_id, a.subject_id, a.created_at, NULL, NULL FROM alerts a \
         WHERE NOT EXISTS (SELECT 1 FROM siem_sent_alerts s WHERE s.sink = ? AND s.source = 'security' AND s.alert_id = a.id) \
         ORDER BY a.created_at, a.id LIMIT ?",
    ),
    (
        AlertSource::Instrument,
        "SELECT a.id, a.kind, NULL, a.device_id, a.created_at, NULL, a.detail FROM instrument_alerts a \
         WHERE NOT EXISTS (SELECT 1 FROM siem_sent_alerts s WHERE s.sink = ? AND s.source = 'instrument' AND s.alert_id = a.id) \
         ORDER BY a.created_at, a.id LIMIT ?",
    ),
    (
        AlertSource::Privacy,
        "SELECT a.alert_id, a.detector, a.staff_id, NULL, a.alert_at, a.patient_ref, NULL FROM privacy_alerts a \
         WHERE NOT EXISTS (SELECT 1 FROM siem_sent_alerts s WHERE s.sink = ? AND s.source = 'privacy' AND s.alert_id = a.alert_id) \
         ORDER BY a.alert_at, a.alert_id LIMIT ?",
    ),
];

/// Alerts of every table not yet spooled for `sink` (or all, for `None`), oldest first.
fn unsent_alerts(
    tx: &mut dyn Tx,
    sink: Option<&str>,
    limit: u32,
) -> Result<Vec<AlertRecord>, StoreError> {
    let mut out = Vec::new();
    for (source, sql) in ALERT_QUERIES {
        let rows = tx.query(sql, &[sink.unwrap_or("").into(), Value::Int(limit.into())])?;
        for r in rows {
            let [id, kind, user, subject, at, pref, detail] = r.as_slice() else {
                return Err(StoreError::Corrupt("siem alert row shape".into()));
            };
            out.push(AlertRecord {
                source,
                id: id.as_text()?.to_string(),
                kind: kind.as_text()?.to_string(),
                created_at: at.as_text()?.to_string(),
                user_id: opt(user)?,
                subject_id: opt(subject)?,
                patient_ref: opt(pref)?,
                detail: opt(detail)?,
            });
        }
    }
    out.sort_by(|a, b| (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id)));
    Ok(out)
}

fn audit_events(tx: &mut dyn Tx, from: u64, limit: u32) -> Result<Vec<SiemEvent>, StoreError> {
    tx.query(
        "SELECT seq, entry FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?",
        &[i(from)?, Value::Int(limit.into())],
    )?
    .into_iter()
    .map(|r| {
        let [seq, entry] = r.as_slice() else {
            return Err(StoreError::Corrupt("audit row shape".into()));
        };
        let seq = u(seq, "audit seq")?;
        let e = AuditEntry::decode(entry.as_blob()?)
            .map_err(|e| StoreError::Corrupt(format!("audit entry {seq}: {e}")))?;
        Ok(SiemEvent::from_audit(seq, &e))
    })
    .collect()
}

fn read_status(tx: &mut dyn Tx, sink: &str) -> Result<SiemStatus, StoreError> {
    let row = query_one(
        tx,
        "SELECT audit_next, spool_next, delivered, spool_bytes, backlog_alert FROM siem_cursor WHERE sink = ?",
        &[sink.into()],
    )?
    .ok_or_else(|| StoreError::NotFound("siem sink".into()))?;
    let [an, sn, d, b, bl] = row.as_slice() else {
        return Err(StoreError::Corrupt("siem cursor shape".into()));
    };
    let size = query_one(tx, "SELECT size FROM audit_head WHERE id = 1", &[])?
        .and_then(|r| r.first().cloned())
        .ok_or_else(|| StoreError::Corrupt("audit head".into()))?;
    Ok(SiemStatus {
        audit_next: u(an, "audit_next")?,
        spool_next: u(sn, "spool_next")?,
        delivered: u(d, "delivered")?,
        spool_bytes: u(b, "spool_bytes")?,
        backlog: !matches!(bl, Value::Null),
        audit_size: u(&size, "audit size")?,
    })
}

impl Store {
    /// Registers `sink` (a new one starts at the first audit entry) and records that
    /// forwarding started, as `actor` (the operator who ran `serve`).
    pub fn siem_start(&self, actor: &Actor, sink: &str) -> Result<SiemStatus, StoreError> {
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            tx.execute(
                "INSERT INTO siem_cursor (sink, audit_next, spool_next, delivered, spool_bytes, backlog_alert, updated_at) \
                 VALUES (?, 0, 0, 0, 0, NULL, ?) ON CONFLICT (sink) DO NOTHING",
                &[sink.into(), now.clone().into()],
            )?;
            pending.push(self.entry(actor, Action::SiemForward, "siem-sink", sink, None, Outcome::Success)?);
            read_status(tx, sink)
        })
    }

    /// Where `sink` stands.
    pub fn siem_status(&self, sink: &str) -> Result<SiemStatus, StoreError> {
        let mut tx = self.backend.begin()?;
        read_status(tx.as_mut(), sink)
    }

    /// Moves up to `limit` audit entries past the cursor, and alerts not yet sent, into the
    /// spool while it holds under `cap` bytes (one event always fits an empty spool), and
    /// moves the cursor past them, in one transaction. The cursor row is updated first, so
    /// two nodes spooling at once run one after the other.
    pub fn siem_spool(&self, sink: &str, limit: u32, cap: u64) -> Result<Spooled, StoreError> {
        let now = rfc3339(self.now());
        self.write(|tx, _| {
            tx.execute(
                "UPDATE siem_cursor SET updated_at = ? WHERE sink = ?",
                &[now.clone().into(), sink.into()],
            )?;
            let st = read_status(tx, sink)?;
            let audit = audit_events(tx, st.audit_next, limit)?;
            let alerts = unsent_alerts(tx, Some(sink), limit)?;
            let mut bytes = st.spool_bytes;
            let mut seq = st.spool_next;
            let mut audit_next = st.audit_next;
            let mut moved = 0;
            let mut full = false;
            let alert_events = alerts.iter().map(|a| (SiemEvent::from_alert(a), Some(a)));
            for (ev, alert) in audit.into_iter().map(|e| (e, None)).chain(alert_events) {
                let json = serde_json::to_string(&ev)
                    .map_err(|e| StoreError::Corrupt(format!("siem event: {e}")))?;
                let len = json.len() as u64;
                if bytes > 0 && bytes + len > cap {
                    full = true;
                    break;
                }
                tx.execute(
                    "INSERT INTO siem_spool (sink, seq, bytes, event) VALUES (?, ?, ?, ?)",
                    &[sink.into(), i(seq)?, i(len)?, json.into()],
                )?;
                match alert {
                    None => audit_next += 1,
                    Some(a) => {
                        tx.execute(
                            "INSERT INTO siem_sent_alerts (sink, source, alert_id) VALUES (?, ?, ?)",
                            &[sink.into(), a.source.code().into(), a.id.clone().into()],
                        )?;
                    }
                }
                bytes += len;
                seq += 1;
                moved += 1;
            }
            tx.execute(
                "UPDATE siem_cursor SET audit_next = ?, spool_next = ?, spool_bytes = ? WHERE sink = ?",
                &[i(audit_next)?, i(seq)?, i(bytes)?, sink.into()],
            )?;
            Ok(Spooled { moved, full })
        })
    }

    /// Spooled events not yet delivered, oldest first: (spool seq, event).
    pub fn siem_pending(
        &self,
        sink: &str,
        limit: u32,
    ) -> Result<Vec<(u64, SiemEvent)>, StoreError> {
        let mut tx = self.backend.begin()?;
        let delivered = read_status(tx.as_mut(), sink)?.delivered;
        tx.query(
            "SELECT seq, event FROM siem_spool WHERE sink = ? AND seq >= ? ORDER BY seq LIMIT ?",
            &[sink.into(), i(delivered)?, Value::Int(limit.into())],
        )?
        .into_iter()
        .map(|r| {
            let [seq, ev] = r.as_slice() else {
                return Err(StoreError::Corrupt("siem spool shape".into()));
            };
            let ev: SiemEvent = serde_json::from_str(ev.as_text()?)
                .map_err(|e| StoreError::Corrupt(format!("siem spool event: {e}")))?;
            Ok((u(seq, "spool seq")?, ev))
        })
        .collect()
    }

    /// Records that spooled events below `next` reached the collector, and drops them.
    /// Never moves the mark back.
    pub fn siem_delivered(&self, sink: &str, next: u64) -> Result<(), StoreError> {
        self.write(|tx, _| {
            let st = read_status(tx, sink)?;
            if next <= st.delivered {
                return Ok(());
            }
            if next > st.spool_next {
                return Err(StoreError::Corrupt("siem delivered past the spool".into()));
            }
            let freed = query_one(
                tx,
                "SELECT CAST(COALESCE(SUM(bytes), 0) AS BIGINT) FROM siem_spool WHERE sink = ? AND seq < ?",
                &[sink.into(), i(next)?],
            )?
            .and_then(|r| r.first().cloned())
            .map_or(Ok(0), |v| u(&v, "spool bytes"))?;
            tx.execute(
                "DELETE FROM siem_spool WHERE sink = ? AND seq < ?",
                &[sink.into(), i(next)?],
            )?;
            tx.execute(
                "UPDATE siem_cursor SET delivered = ?, spool_bytes = ? WHERE sink = ?",
                &[i(next)?, i(st.spool_bytes.saturating_sub(freed))?, sink.into()],
            )?;
            Ok(())
        })
    }

    /// Raises the sink's `siem-backlog` security alert unless one is open; true when this
    /// call raised it.
    pub fn siem_backlog(&self, sink: &str) -> Result<bool, StoreError> {
        let now = rfc3339(self.now());
        let id = uuid::Uuid::new_v4().to_string();
        self.write(|tx, pending| {
            let n = tx.execute(
                "UPDATE siem_cursor SET backlog_alert = ? WHERE sink = ? AND backlog_alert IS NULL",
                &[id.clone().into(), sink.into()],
            )?;
            if n == 0 {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO alerts (id, kind, user_id, subject_id, created_at) VALUES (?, 'siem-backlog', NULL, ?, ?)",
                &[id.clone().into(), sink.into(), now.clone().into()],
            )?;
            pending.push(self.entry(&Actor::system(), Action::SiemBacklog, "siem-sink", sink, None, Outcome::Error)?);
            Ok(true)
        })
    }

    /// After a backlog, once everything spooled is delivered and the cursor has caught up
    /// with the log: closes the backlog and records a `siem-recovered` note (an alert row
    /// already marked reviewed). True when this call did.
    pub fn siem_recovered(&self, sink: &str) -> Result<bool, StoreError> {
        let now = rfc3339(self.now());
        let id = uuid::Uuid::new_v4().to_string();
        self.write(|tx, pending| {
            let st = read_status(tx, sink)?;
            if !st.backlog || st.delivered < st.spool_next || st.audit_next < st.audit_size {
                return Ok(false);
            }
            tx.execute(
                "UPDATE siem_cursor SET backlog_alert = NULL WHERE sink = ?",
                &[sink.into()],
            )?;
            tx.execute(
                "INSERT INTO alerts (id, kind, user_id, subject_id, created_at, reviewed_by, reviewed_at) \
                 VALUES (?, 'siem-recovered', NULL, ?, ?, 'labguard', ?)",
                &[id.clone().into(), sink.into(), now.clone().into(), now.clone().into()],
            )?;
            pending.push(self.entry(&Actor::system(), Action::SiemRecovered, "siem-sink", sink, None, Outcome::Success)?);
            Ok(true)
        })
    }

    /// Audit entries from `since` (at most `limit`) and then every alert, as SIEM events,
    /// for `labguard siem export`. Needs `AuditRead`; audited.
    pub fn siem_export(
        &self,
        actor: &Actor,
        since: u64,
        limit: u32,
    ) -> Result<Vec<SiemEvent>, StoreError> {
        self.authorize(
            actor,
            Permission::AuditRead,
            Action::SiemExport,
            "audit-log",
            "",
        )?;
        self.write(|tx, pending| {
            let mut out = audit_events(tx, since, limit)?;
            out.extend(
                unsent_alerts(tx, None, limit)?
                    .iter()
                    .map(SiemEvent::from_alert),
            );
            pending.push(self.entry(
                actor,
                Action::SiemExport,
                "audit-log",
                &since.to_string(),
                None,
                Outcome::Success,
            )?);
            Ok(out)
        })
    }
}
