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

use crate::action::Action;
use crate::actor::Actor;
use crate::backend::{query_one, Tx, Value};
use crate::codec::{parse_time_text, text, to_json};
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

fn decode_json<T: for<'de> Deserialize<'de>>(s: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|_| StoreError::Corrupt(format!("stored {what} JSON")))
}

/// Inserts `rows` (each `cols.len()` values) with multi-row statements.
pub(crate) fn insert_many(
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
            Action::SbomImport,
            "device",
            "",
        )?;
        let now = rfc3339(self.now());
        let document = to_json(sbom)?;
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
                let oid = text(old, 0)?.unwrap_or_default();
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
            crate::assets::record_change(tx, &device_id, actor, &now, Action::SbomImport, None, Some(to_json(&summary)?))?;
            let mut e = self.entry(actor, Action::SbomImport, "device", &device_id, None, Outcome::Success)?;
            e.reason = Some(format!("sha256 {sha256}"));
            pending.push(e);
            Ok(summary)
        })
    }

    /// Each inventory device's SBOM for its recorded firmware version (falling back to
    /// the newest SBOM imported for it), by device name.
    pub fn device_sboms(&self, actor: &Actor) -> Result<HashMap<String, Sbom>, StoreError> {
        self.authorize(
            actor,
            Permission::DevicesRead,
            Action::SbomRead,
            "device",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        let rows = tx.query(
            "SELECT d.name, s.document, CASE WHEN s.firmware_version = d.firmware THEN 1 ELSE 0 END AS cur, s.imported_at FROM device_sboms s JOIN devices d ON d.id = s.device_id ORDER BY d.name, cur, s.imported_at",
            &[],
        )?;
        let mut out = HashMap::new();
        // Ordered so that the preferred SBOM of each device comes last and wins.
        for r in &rows {
            let name = text(r, 0)?.unwrap_or_default();
            let doc = text(r, 1)?.unwrap_or_default();
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
            Action::AdvisoryImport,
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
            bodies.push(to_json(a)?);
        }
        self.write(|tx, pending| {
            let mut stored: HashMap<String, Option<DateTime<Utc>>> = HashMap::new();
            tx.for_each("SELECT id, modified FROM advisories", &[], &mut |r| {
                let id = text(&r, 0)?.unwrap_or_default();
                let m = text(&r, 1)?.map(|t| parse_time_text(&t)).transpose()?;
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
                let mut e = self.entry(actor, Action::AdvisoryImport, "advisories", source, None, Outcome::Success)?;
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
            Action::AdvisoryRead,
            "advisories",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        let mut db = AdvisoryDb::new();
        tx.for_each("SELECT body FROM advisories", &[], &mut |r| {
            let body = text(&r, 0)?.unwrap_or_default();
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
            Action::KevImport,
            "advisories",
            source,
        )?;
        let mut bodies = Vec::with_capacity(kev.entries.len());
        for e in kev.entries.values() {
            bodies.push(to_json(e)?);
        }
        self.write(|tx, pending| {
            let mut stored: HashMap<String, String> = HashMap::new();
            tx.for_each("SELECT cve_id, body FROM kev_entries", &[], &mut |r| {
                stored.insert(text(&r, 0)?.unwrap_or_default(), text(&r, 1)?.unwrap_or_default());
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
                let mut e = self.entry(actor, Action::KevImport, "advisories", source, None, Outcome::Success)?;
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
            Action::AdvisoryRead,
            "advisories",
            "",
        )?;
        let mut tx = self.backend.begin()?;
        let mut kev = KevCatalog::default();
        tx.for_each(
            "SELECT cve_id, catalog_version, body FROM kev_entries",
            &[],
            &mut |r| {
                let e: KevEntry = decode_json(&text(&r, 2)?.unwrap_or_default(), "KEV entry")?;
                let v = text(&r, 1)?.unwrap_or_default();
                if v > kev.catalog_version {
                    kev.catalog_version = v;
                }
                kev.entries.insert(text(&r, 0)?.unwrap_or_default(), e);
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
            Action::VexImport,
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
            let mut e = self.entry(actor, Action::VexImport, "advisories", &id, None, Outcome::Success)?;
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
            Action::AdvisoryRead,
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
                text(r, 0)?.unwrap_or_default(),
                text(r, 1)?.unwrap_or_default(),
            ))
        })
        .collect()
    }
}
