//! Findings over time: when each was first seen (the start of its remediation clock),
//! security alerts for overdue remediations and assessments, and the per-severity trend.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use labguard_audit::Outcome;
use labguard_core::{Id, Permission};

use crate::action::Action;
use crate::actor::Actor;
use crate::backend::{query_one, Value};
use crate::codec::{parse_time_text, text};
use crate::store::{rfc3339, Store};
use crate::vulns::{insert_many, SeverityCounts, Sighting};
use crate::StoreError;

impl Store {
    /// The first-seen time of every finding key recorded so far, recording nothing (a
    /// finding not in it is new: the report counts it as first seen now).
    pub fn finding_first_seen(
        &self,
        actor: &Actor,
    ) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesRead,
            Action::FindingRead,
            "device",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        first_sightings(tx.as_mut())
    }

    /// Records findings not seen before (first sight starts their remediation clock) and
    /// returns the first-seen time of every finding key ever recorded.
    pub fn record_findings(
        &self,
        actor: &Actor,
        seen: &[Sighting],
    ) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesRead,
            Action::FindingRecord,
            "device",
            "",
        )?;
        let now_s = rfc3339(self.now());
        // Round-tripped through the stored form, so a later read returns the same instant.
        let now = parse_time_text(&now_s)?;
        self.write(|tx, pending| {
            let mut first = first_sightings(tx)?;
            let mut rows = Vec::new();
            let mut per_device: BTreeMap<&str, usize> = BTreeMap::new();
            for (key, device, vuln) in seen {
                if first.contains_key(key) {
                    continue;
                }
                first.insert(key.clone(), now);
                *per_device.entry(device.as_str()).or_default() += 1;
                rows.push(vec![
                    key.clone().into(),
                    device.clone().into(),
                    vuln.clone().into(),
                    now_s.clone().into(),
                    now_s.clone().into(),
                ]);
            }
            insert_many(
                tx,
                "device_findings",
                &[
                    "finding_key",
                    "device_id",
                    "vulnerability",
                    "first_seen",
                    "last_seen",
                ],
                rows,
            )?;
            for (device, n) in per_device {
                let mut e = self.entry(
                    actor,
                    Action::FindingRecord,
                    "device",
                    device,
                    None,
                    Outcome::Success,
                )?;
                e.reason = Some(format!("{n} new finding(s)"));
                pending.push(e);
            }
            Ok(first)
        })
    }

    /// Raises a security alert (the security officer's review queue) for each overdue
    /// remediation or assessment given as (kind, subject), unless one for the same kind
    /// and subject is still open. Returns how many were raised.
    pub fn raise_device_alerts(
        &self,
        actor: &Actor,
        overdue: &[(String, String)],
    ) -> Result<usize, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesRead,
            Action::AlertRaise,
            "alert",
            "",
        )?;
        if overdue.is_empty() {
            return Ok(0);
        }
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            let mut raised = 0;
            for (kind, subject) in overdue {
                if query_one(
                    tx,
                    "SELECT 1 FROM alerts WHERE kind = ? AND subject_id = ? AND reviewed_at IS NULL",
                    &[kind.clone().into(), subject.clone().into()],
                )?
                .is_some()
                {
                    continue;
                }
                let id = Id::new_v4().to_string();
                tx.execute(
                    "INSERT INTO alerts (id, kind, user_id, subject_id, created_at) VALUES (?, ?, NULL, ?, ?)",
                    &[id.clone().into(), kind.clone().into(), subject.clone().into(), now.clone().into()],
                )?;
                let mut e = self.entry(actor, Action::AlertRaise, "alert", &id, None, Outcome::Success)?;
                e.reason = Some(kind.clone());
                pending.push(e);
                raised += 1;
            }
            Ok(raised)
        })
    }

    /// Records today's open findings per severity for the trend chart (replacing an
    /// earlier report of the same day); writes and audits only when the counts changed.
    pub fn record_severity_counts(
        &self,
        actor: &Actor,
        day: chrono::NaiveDate,
        counts: &[(String, u64)],
    ) -> Result<(), StoreError> {
        self.authorize(
            actor,
            Permission::DevicesRead,
            Action::FindingRecord,
            "device",
            "",
        )?;
        let day = day.to_string();
        self.write(|tx, pending| {
            let mut stored: Vec<(String, u64)> = tx
                .query(
                    "SELECT severity, count FROM device_finding_counts WHERE day = ? ORDER BY severity",
                    &[day.clone().into()],
                )?
                .iter()
                .map(|r| {
                    let n = r.get(1).ok_or_else(|| StoreError::Corrupt("count row".into()))?.as_int()?;
                    Ok((text(r, 0)?.unwrap_or_default(), u64::try_from(n).unwrap_or(0)))
                })
                .collect::<Result<_, StoreError>>()?;
            let mut new: Vec<(String, u64)> = counts.to_vec();
            new.sort();
            stored.sort();
            if stored == new {
                return Ok(());
            }
            tx.execute("DELETE FROM device_finding_counts WHERE day = ?", &[day.clone().into()])?;
            for (sev, n) in &new {
                tx.execute(
                    "INSERT INTO device_finding_counts (day, severity, count) VALUES (?, ?, ?)",
                    &[day.clone().into(), sev.clone().into(), Value::Int(i64::try_from(*n).unwrap_or(i64::MAX))],
                )?;
            }
            pending.push(self.entry(actor, Action::FindingSnapshot, "device", &day, None, Outcome::Success)?);
            Ok(())
        })
    }

    /// Open findings per severity on the last `days` report days, oldest first.
    pub fn severity_history(
        &self,
        actor: &Actor,
        days: u32,
    ) -> Result<Vec<(String, SeverityCounts)>, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesRead,
            Action::FindingRead,
            "device",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        let rows = tx.query(
            "SELECT day, severity, count FROM device_finding_counts WHERE day IN (SELECT DISTINCT day FROM device_finding_counts ORDER BY day DESC LIMIT ?) ORDER BY day, severity",
            &[Value::Int(i64::from(days))],
        )?;
        let mut out: Vec<(String, SeverityCounts)> = Vec::new();
        for r in &rows {
            let day = text(r, 0)?.unwrap_or_default();
            let sev = text(r, 1)?.unwrap_or_default();
            let n = r
                .get(2)
                .ok_or_else(|| StoreError::Corrupt("count row".into()))?
                .as_int()?;
            let n = u64::try_from(n).unwrap_or(0);
            match out.last_mut() {
                Some((d, list)) if *d == day => list.push((sev, n)),
                _ => out.push((day, vec![(sev, n)])),
            }
        }
        Ok(out)
    }
}

fn first_sightings(
    tx: &mut dyn crate::backend::Tx,
) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
    let mut first = HashMap::new();
    tx.for_each(
        "SELECT finding_key, first_seen FROM device_findings",
        &[],
        &mut |r| {
            first.insert(
                text(&r, 0)?.unwrap_or_default(),
                parse_time_text(&text(&r, 1)?.unwrap_or_default())?,
            );
            Ok(())
        },
    )?;
    Ok(first)
}
