//! Vulnerability data for device security: SBOMs per device and firmware version,
//! advisories (OSV/NVD records, the CISA KEV catalog, VEX documents) with idempotent
//! re-import keyed by (id, modified), and when each finding was first seen. One import is
//! one transaction with one audit entry, so a bad file leaves nothing half-imported.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use labguard_audit::Outcome;
use labguard_core::{Id, Permission};
use labguard_devices::advisory::{Advisory, AdvisoryDb, KevCatalog, KevEntry, MergeStats};
use labguard_devices::sbom::{Sbom, SbomFormat};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::assets::{json, parse_time};
use crate::backend::{query_one, Row, Tx, Value};
use crate::store::{rfc3339, Store};
use crate::StoreError;

/// What an SBOM import stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SbomImport {
    pub id: Id,
    pub device: String,
    pub firmware_version: String,
    pub components: usize,
    /// True when an SBOM for the same device and firmware version was replaced.
    pub replaced: bool,
}

/// Open findings per severity (severity, count) on one day.
pub type SeverityCounts = Vec<(String, u64)>;

/// A first sighting to record: (finding key, device row id or name, vulnerability id).
pub type Sighting = (String, String, String);

/// Rows per multi-row INSERT: keeps statements well inside both backends' parameter limits.
const BATCH: usize = 200;

fn cell(r: &Row, i: usize) -> Result<Option<String>, StoreError> {
    Ok(r.get(i)
        .ok_or_else(|| StoreError::Corrupt("row shape".into()))?
        .opt_text()?
        .map(str::to_string))
}

fn decode_json<T: for<'de> Deserialize<'de>>(s: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|_| StoreError::Corrupt(format!("stored {what} JSON")))
}

/// Inserts `rows` (each `cols.len()` values) with multi-row statements.
fn insert_many(
    tx: &mut dyn Tx,
    table: &str,
    cols: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<(), StoreError> {
    let one = format!("({})", vec!["?"; cols.len()].join(", "));
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Value>> = rows.by_ref().take(BATCH).collect();
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES {}",
            cols.join(", "),
            vec![one.as_str(); chunk.len()].join(", ")
        );
        let params: Vec<Value> = chunk.into_iter().flatten().collect();
        tx.execute(&sql, &params)?;
    }
    Ok(())
}

impl Store {
    /// Stores `sbom` for a device (by name; an enrolled instrument gets an inventory record)
    /// and firmware version (default: the device's recorded firmware). A second SBOM for
    /// the same pair replaces the first.
    pub fn import_sbom(
        &self,
        actor: &Actor,
        device: &str,
        firmware_version: Option<&str>,
        sbom: &Sbom,
        sha256: &str,
    ) -> Result<SbomImport, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesManage,
            "sbom.import",
            "device",
            "",
        )?;
        let now = rfc3339(self.now());
        let document = json(sbom)?;
        self.write(|tx, pending| {
            let d = self.materialize_instrument(tx, pending, actor, device, &now)?;
            let device_id = d.id.map(|i| i.to_string()).unwrap_or_default();
            let fw = firmware_version
                .map(str::to_string)
                .or_else(|| d.asset.firmware_version.clone())
                .unwrap_or_default();
            let old = query_one(
                tx,
                "SELECT id FROM device_sboms WHERE device_id = ? AND firmware_version = ?",
                &[device_id.clone().into(), fw.clone().into()],
            )?;
            if let Some(old) = &old {
                let oid = cell(old, 0)?.unwrap_or_default();
                tx.execute("DELETE FROM sbom_components WHERE sbom_id = ?", &[oid.clone().into()])?;
                tx.execute("DELETE FROM device_sboms WHERE id = ?", &[oid.into()])?;
            }
            let id = Id::new_v4();
            let ids = id.to_string();
            let format = match sbom.format {
                SbomFormat::CycloneDx => "cyclonedx",
                SbomFormat::Spdx => "spdx",
            };
            tx.execute(
                "INSERT INTO device_sboms (id, device_id, firmware_version, format, spec_version, serial_number, sha256, document, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &[
                    ids.clone().into(),
                    device_id.clone().into(),
                    fw.clone().into(),
                    format.into(),
                    sbom.spec_version.clone().into(),
                    sbom.serial_number.clone().into(),
                    sha256.into(),
                    document.clone().into(),
                    now.clone().into(),
                ],
            )?;
            let rows = sbom
                .all_components()
                .enumerate()
                .map(|(i, c)| {
                    vec![
                        ids.clone().into(),
                        Value::Int(i64::try_from(i).unwrap_or(i64::MAX)),
                        c.name.clone().into(),
                        c.effective_version().map(str::to_string).into(),
                        c.purl.as_ref().map(ToString::to_string).into(),
                        c.cpe.as_ref().map(ToString::to_string).into(),
                    ]
                })
                .collect();
            insert_many(tx, "sbom_components", &["sbom_id", "idx", "name", "version", "purl", "cpe"], rows)?;
            let summary = SbomImport {
                id,
                device: d.asset.id.clone(),
                firmware_version: fw.clone(),
                components: sbom.all_components().count(),
                replaced: old.is_some(),
            };
            crate::assets::record_change(tx, &device_id, actor, &now, "sbom.import", None, Some(json(&summary)?))?;
            let mut e = self.entry(actor, "sbom.import", "device", &device_id, None, Outcome::Success)?;
            e.reason = Some(format!("sha256 {sha256}"));
            pending.push(e);
            Ok(summary)
        })
    }

    /// Each inventory device's SBOM for its recorded firmware version (falling back to
    /// the newest SBOM imported for it), by device name.
    pub fn device_sboms(&self, actor: &Actor) -> Result<HashMap<String, Sbom>, StoreError> {
        self.authorize(actor, Permission::DevicesRead, "sbom.read", "device", "")?;
        let mut tx = self.backend.begin()?;
        let rows = tx.query(
            "SELECT d.name, s.document, CASE WHEN s.firmware_version = d.firmware THEN 1 ELSE 0 END AS cur, s.imported_at FROM device_sboms s JOIN devices d ON d.id = s.device_id ORDER BY d.name, cur, s.imported_at",
            &[],
        )?;
        let mut out = HashMap::new();
        // Ordered so that the preferred SBOM of each device comes last and wins.
        for r in &rows {
            let name = cell(r, 0)?.unwrap_or_default();
            let doc = cell(r, 1)?.unwrap_or_default();
            out.insert(name, decode_json(&doc, "SBOM")?);
        }
        Ok(out)
    }

    /// Imports advisories from one source (a file or archive) in one transaction: a new
    /// id is inserted, a newer `modified` replaces the stored record, anything else is
    /// left alone, so re-importing the same feed changes nothing.
    pub fn import_advisories(
        &self,
        actor: &Actor,
        source: &str,
        kind: &str,
        advisories: &[Advisory],
    ) -> Result<MergeStats, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesManage,
            "advisory.import",
            "advisories",
            source,
        )?;
        let now = rfc3339(self.now());
        // The newest revision of each id in this input.
        let mut newest: BTreeMap<&str, &Advisory> = BTreeMap::new();
        let mut stats = MergeStats::default();
        for a in advisories {
            match newest.get(a.id.as_str()) {
                Some(old) if old.modified >= a.modified => stats.unchanged += 1,
                Some(_) => {
                    stats.unchanged += 1;
                    newest.insert(&a.id, a);
                }
                None => {
                    newest.insert(&a.id, a);
                }
            }
        }
        let mut bodies = Vec::with_capacity(newest.len());
        for a in newest.values() {
            bodies.push(json(a)?);
        }
        self.write(|tx, pending| {
            let mut stored: HashMap<String, Option<DateTime<Utc>>> = HashMap::new();
            tx.for_each("SELECT id, modified FROM advisories", &[], &mut |r| {
                let id = cell(&r, 0)?.unwrap_or_default();
                let m = cell(&r, 1)?.map(|t| parse_time(&t)).transpose()?;
                stored.insert(id, m);
                Ok(())
            })?;
            let mut s = stats;
            let mut new_rows = Vec::new();
            for (a, body) in newest.values().zip(&bodies) {
                let aliases = a.aliases.join(" ");
                match stored.get(&a.id) {
                    None => {
                        s.inserted += 1;
                        new_rows.push(vec![
                            a.id.clone().into(),
                            a.modified.map(rfc3339).into(),
                            kind.into(),
                            aliases.into(),
                            body.clone().into(),
                            now.clone().into(),
                        ]);
                    }
                    Some(m) if a.modified > *m => {
                        s.updated += 1;
                        tx.execute(
                            "UPDATE advisories SET modified = ?, source = ?, aliases = ?, body = ?, imported_at = ? WHERE id = ?",
                            &[a.modified.map(rfc3339).into(), kind.into(), aliases.into(), body.clone().into(), now.clone().into(), a.id.clone().into()],
                        )?;
                    }
                    Some(_) => s.unchanged += 1,
                }
            }
            insert_many(tx, "advisories", &["id", "modified", "source", "aliases", "body", "imported_at"], new_rows)?;
            if s.inserted + s.updated > 0 {
                let mut e = self.entry(actor, "advisory.import", "advisories", source, None, Outcome::Success)?;
                e.reason = Some(format!("{kind}: {} new, {} updated, {} unchanged", s.inserted, s.updated, s.unchanged));
                pending.push(e);
            }
            Ok(s)
        })
    }

    /// Every stored advisory.
    pub fn advisory_db(&self, actor: &Actor) -> Result<AdvisoryDb, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesRead,
            "advisory.read",
            "advisories",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        let mut db = AdvisoryDb::new();
        tx.for_each("SELECT body FROM advisories", &[], &mut |r| {
            let body = cell(&r, 0)?.unwrap_or_default();
            db.upsert(decode_json(&body, "advisory")?);
            Ok(())
        })?;
        Ok(db)
    }

    /// Imports a KEV catalog: entries new to the store are inserted, entries whose content
    /// changed are replaced, the rest are unchanged.
    pub fn import_kev(
        &self,
        actor: &Actor,
        source: &str,
        kev: &KevCatalog,
    ) -> Result<MergeStats, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesManage,
            "kev.import",
            "advisories",
            source,
        )?;
        let mut bodies = Vec::with_capacity(kev.entries.len());
        for e in kev.entries.values() {
            bodies.push(json(e)?);
        }
        self.write(|tx, pending| {
            let mut stored: HashMap<String, String> = HashMap::new();
            tx.for_each("SELECT cve_id, body FROM kev_entries", &[], &mut |r| {
                stored.insert(cell(&r, 0)?.unwrap_or_default(), cell(&r, 1)?.unwrap_or_default());
                Ok(())
            })?;
            let mut s = MergeStats::default();
            let mut new_rows = Vec::new();
            for (e, body) in kev.entries.values().zip(&bodies) {
                match stored.get(&e.cve_id) {
                    None => {
                        s.inserted += 1;
                        new_rows.push(vec![
                            e.cve_id.clone().into(),
                            kev.catalog_version.clone().into(),
                            e.date_added.map(|d| d.to_string()).into(),
                            body.clone().into(),
                        ]);
                    }
                    Some(old) if old != body => {
                        s.updated += 1;
                        tx.execute(
                            "UPDATE kev_entries SET catalog_version = ?, date_added = ?, body = ? WHERE cve_id = ?",
                            &[kev.catalog_version.clone().into(), e.date_added.map(|d| d.to_string()).into(), body.clone().into(), e.cve_id.clone().into()],
                        )?;
                    }
                    Some(_) => s.unchanged += 1,
                }
            }
            insert_many(tx, "kev_entries", &["cve_id", "catalog_version", "date_added", "body"], new_rows)?;
            if s.inserted + s.updated > 0 {
                let mut e = self.entry(actor, "kev.import", "advisories", source, None, Outcome::Success)?;
                e.reason = Some(format!("KEV {}: {} new, {} updated, {} unchanged", kev.catalog_version, s.inserted, s.updated, s.unchanged));
                pending.push(e);
            }
            Ok(s)
        })
    }

    /// The stored KEV catalog (empty when none was imported).
    pub fn kev_catalog(&self, actor: &Actor) -> Result<KevCatalog, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesRead,
            "advisory.read",
            "advisories",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        let mut kev = KevCatalog::default();
        tx.for_each(
            "SELECT cve_id, catalog_version, body FROM kev_entries",
            &[],
            &mut |r| {
                let e: KevEntry = decode_json(&cell(&r, 2)?.unwrap_or_default(), "KEV entry")?;
                let v = cell(&r, 1)?.unwrap_or_default();
                if v > kev.catalog_version {
                    kev.catalog_version = v;
                }
                kev.entries.insert(cell(&r, 0)?.unwrap_or_default(), e);
                Ok(())
            },
        )?;
        Ok(kev)
    }

    /// Stores a VEX document (already parsed by the caller, `statements` of them) unless
    /// the same bytes were imported before. Returns true when it was new.
    pub fn import_vex_document(
        &self,
        actor: &Actor,
        source: &str,
        format: &str,
        statements: usize,
        body: &str,
    ) -> Result<bool, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesManage,
            "vex.import",
            "advisories",
            source,
        )?;
        let id = hex::encode(labguard_crypto::sha256(body.as_bytes()));
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            if query_one(tx, "SELECT 1 FROM vex_documents WHERE id = ?", &[id.clone().into()])?.is_some() {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO vex_documents (id, format, statements, source_file, body, imported_at) VALUES (?, ?, ?, ?, ?, ?)",
                &[
                    id.clone().into(),
                    format.into(),
                    Value::Int(i64::try_from(statements).unwrap_or(i64::MAX)),
                    source.into(),
                    body.into(),
                    now.clone().into(),
                ],
            )?;
            let mut e = self.entry(actor, "vex.import", "advisories", &id, None, Outcome::Success)?;
            e.reason = Some(format!("{format}: {statements} statement(s) from {source}"));
            pending.push(e);
            Ok(true)
        })
    }

    /// Every stored VEX document as (format, body), oldest first.
    pub fn vex_documents(&self, actor: &Actor) -> Result<Vec<(String, String)>, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesRead,
            "advisory.read",
            "advisories",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        tx.query(
            "SELECT format, body FROM vex_documents ORDER BY imported_at, id",
            &[],
        )?
        .iter()
        .map(|r| {
            Ok((
                cell(r, 0)?.unwrap_or_default(),
                cell(r, 1)?.unwrap_or_default(),
            ))
        })
        .collect()
    }

    /// The first-seen time of every finding key recorded so far, recording nothing (a
    /// finding not in it is new: the report counts it as first seen now).
    pub fn finding_first_seen(
        &self,
        actor: &Actor,
    ) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
        self.authorize(actor, Permission::DevicesRead, "finding.read", "device", "")?;
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
            "finding.record",
            "device",
            "",
        )?;
        let now_s = rfc3339(self.now());
        // Round-tripped through the stored form, so a later read returns the same instant.
        let now = parse_time(&now_s)?;
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
                    "finding.record",
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
        self.authorize(actor, Permission::DevicesRead, "alert.raise", "alert", "")?;
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
                let mut e = self.entry(actor, "alert.raise", "alert", &id, None, Outcome::Success)?;
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
            "finding.record",
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
                    Ok((cell(r, 0)?.unwrap_or_default(), u64::try_from(n).unwrap_or(0)))
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
            pending.push(self.entry(actor, "finding.snapshot", "device", &day, None, Outcome::Success)?);
            Ok(())
        })
    }

    /// Open findings per severity on the last `days` report days, oldest first.
    pub fn severity_history(
        &self,
        actor: &Actor,
        days: u32,
    ) -> Result<Vec<(String, SeverityCounts)>, StoreError> {
        self.authorize(actor, Permission::DevicesRead, "finding.read", "device", "")?;
        let mut tx = self.backend.begin()?;
        let rows = tx.query(
            "SELECT day, severity, count FROM device_finding_counts WHERE day IN (SELECT DISTINCT day FROM device_finding_counts ORDER BY day DESC LIMIT ?) ORDER BY day, severity",
            &[Value::Int(i64::from(days))],
        )?;
        let mut out: Vec<(String, SeverityCounts)> = Vec::new();
        for r in &rows {
            let day = cell(r, 0)?.unwrap_or_default();
            let sev = cell(r, 1)?.unwrap_or_default();
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

fn first_sightings(tx: &mut dyn Tx) -> Result<HashMap<String, DateTime<Utc>>, StoreError> {
    let mut first = HashMap::new();
    tx.for_each(
        "SELECT finding_key, first_seen FROM device_findings",
        &[],
        &mut |r| {
            first.insert(
                cell(&r, 0)?.unwrap_or_default(),
                parse_time(&cell(&r, 1)?.unwrap_or_default())?,
            );
            Ok(())
        },
    )?;
    Ok(first)
}
