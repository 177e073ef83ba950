//! Privacy monitoring (labguard-privacy) over the store's own audit log: the scan reads the
//! record accesses past its cursor, builds the directory and care links from the staff,
//! patient and specimen tables, runs the pure scanner, and keeps the alerts, the case book
//! and the state, all in one transaction under the state row's lock (so two nodes scanning
//! at once examine each entry once).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use labguard_audit::{AuditEntry, Outcome};
use labguard_core::{Id, LabResult, Patient, Permission as P, Role, Specimen};
use labguard_privacy::{
    normalize_name, Access, BlindKey, CareEvent, CareKind, Case, MemoryContext, PatientProfile,
    PatientRef, Reason, ScanState, Seen, Shift, StaffProfile,
};

use crate::action::Action;
use crate::backend::{Tx, Value};
use crate::codec::{from_json, to_json};
use crate::rows::decode;
use crate::store::{rfc3339, Store};
use crate::table::{PATIENTS, RESULTS, SPECIMENS};
use crate::{Actor, StoreError};

/// Blind-index domains for the privacy keys (distinct from the lookup indexes).
const SURNAME_DOMAIN: &str = "privacy.surname";
const ADDRESS_DOMAIN: &str = "privacy.address";

/// Audit entries read per page by the scan.
const SCAN_PAGE: i64 = 50_000;
/// New alerts listed in a scan's summary (all are saved and counted).
const NEW_ALERTS_SHOWN: usize = 10_000;

struct Page {
    accesses: Vec<Access>,
    next: Option<u64>,
}

/// Patients looked up per query (an `IN` list of this many parameters).
const IN_CHUNK: usize = 400;

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Saves alerts with the case each was filed into (`Filing` looks up only the cases these
/// alerts fall into, so the cost does not grow with the number of cases).
fn save_alerts(
    tx: &mut dyn Tx,
    filing: &mut crate::privacy_cases::Filing,
    alerts: &[labguard_privacy::Alert],
    touched: &mut BTreeSet<u64>,
) -> Result<(), StoreError> {
    for a in alerts {
        let case = filing.case_for(tx, a)?;
        touched.extend(case);
        tx.execute(
            "INSERT INTO privacy_alerts (alert_id, seq, detector, staff_id, patient_ref, alert_at, case_id, alert, counted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING",
            &[
                a.id.to_string().into(),
                Value::Int(i64::try_from(a.seq).unwrap_or(i64::MAX)),
                a.detector.code().into(),
                a.staff.to_string().into(),
                a.patient.as_ref().map(|p| Value::from(p.0.clone())).unwrap_or(Value::Null),
                rfc3339(a.at).into(),
                case.map(|c| Value::Int(i64::try_from(c).unwrap_or(i64::MAX))).unwrap_or(Value::Null),
                to_json(a)?.into(),
                Value::Int(a.counts().into()),
            ],
        )?;
    }
    Ok(())
}

/// What one scan did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct PrivacyScanSummary {
    pub examined: u64,
    pub alerts: u64,
    pub cases_touched: Vec<u64>,
    pub cursor: Option<u64>,
    /// The alerts this scan raised (pseudonymous: staff ids and patient references).
    pub new_alerts: Vec<labguard_privacy::Alert>,
}

/// A staff member's HR data for the detectors, in the clear only on the way in.
#[derive(Debug, Clone, Default)]
pub struct StaffPrivacyProfile {
    pub staff_id: Id,
    pub surname: Option<String>,
    pub address: Option<String>,
    pub department: Option<String>,
    pub shift: Option<Shift>,
    /// The staff member's own patient record, if any.
    pub own_patient: Option<Id>,
}

/// How an audit entry's action maps to what the access showed.
pub(crate) fn seen(action: &str) -> Option<Seen> {
    Some(match action {
        "patient.read" => Seen::Demographics,
        "result.read" => Seen::Results,
        "specimen.read" => Seen::Specimen,
        "break-glass.read" => Seen::Results,
        "patient.search" | "specimen.search" => Seen::SearchResult,
        _ => return None,
    })
}

/// The record access in one audit entry, if it is one (successful, by a staff member, naming
/// a patient).
pub(crate) fn access(seq: u64, e: &AuditEntry) -> Option<Access> {
    if e.outcome != Outcome::Success {
        return None;
    }
    let what = seen(&e.action)?;
    let patient = PatientRef::new(e.patient_ref.clone()?);
    let staff = e.actor.parse::<Id>().ok()?;
    let role = Role::from_code(&e.role).ok()?;
    let at = DateTime::parse_from_rfc3339(&e.time)
        .ok()?
        .with_timezone(&Utc);
    let reason = match (e.action.as_str(), &e.reason) {
        ("break-glass.read", r) => Reason::BreakGlass {
            reason: r.clone().unwrap_or_default(),
        },
        (_, Some(r)) if r == "worklist" => Reason::Worklist,
        _ => Reason::Unstated,
    };
    Some(Access {
        seq,
        at,
        staff,
        role,
        patient,
        what,
        reason,
    })
}

fn blind(v: &Value) -> Result<Option<BlindKey>, StoreError> {
    match v {
        Value::Null => Ok(None),
        v => Ok(<[u8; 32]>::try_from(v.as_blob()?).ok().map(BlindKey)),
    }
}

fn text_or_none(v: &Value) -> Result<Option<String>, StoreError> {
    match v {
        Value::Null => Ok(None),
        v => Ok(Some(v.as_text()?.to_string())),
    }
}

impl Store {
    /// Keeps a staff member's privacy profile (HR import): surname and address only as
    /// blind keys. Needs `PrivacyReview`; audited.
    pub fn set_staff_privacy_profile(
        &self,
        actor: &Actor,
        p: &StaffPrivacyProfile,
    ) -> Result<(), StoreError> {
        let id = p.staff_id.to_string();
        self.authorize(
            actor,
            P::PrivacyReview,
            Action::PrivacyProfile,
            "staff",
            &id,
        )?;
        let (surname, address) = {
            let ring = self.ring()?;
            let key = |domain: &str, v: &Option<String>, norm: fn(&str) -> String| {
                v.as_deref()
                    .map(norm)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::from(ring.blind_index(domain, &s).to_vec()))
                    .unwrap_or(Value::Null)
            };
            (
                key(SURNAME_DOMAIN, &p.surname, normalize_name),
                key(
                    ADDRESS_DOMAIN,
                    &p.address,
                    labguard_privacy::normalize_address,
                ),
            )
        };
        let shift = match &p.shift {
            Some(s) => Value::from(to_json(s)?),
            None => Value::Null,
        };
        let opt = |v: &Option<String>| v.clone().map(Value::from).unwrap_or(Value::Null);
        let own = p.own_patient.map(|i| i.to_string());
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            tx.execute("DELETE FROM privacy_staff_profiles WHERE staff_id = ?", &[id.clone().into()])?;
            tx.execute(
                "INSERT INTO privacy_staff_profiles (staff_id, surname_key, address_key, department, shift, own_patient_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                &[id.clone().into(), surname.clone(), address.clone(), opt(&p.department), shift.clone(), opt(&own), now.clone().into()],
            )?;
            pending.push(self.entry(actor, Action::PrivacyProfile, "staff", &id, None, Outcome::Success)?);
            Ok(())
        })
    }

    /// Flags a patient's record restricted (VIP, employee) and/or deceased. Needs
    /// `PrivacyReview`; audited with the patient's pseudonym.
    pub fn flag_patient(
        &self,
        actor: &Actor,
        patient: Id,
        restricted: bool,
        deceased: bool,
    ) -> Result<(), StoreError> {
        let pid = patient.to_string();
        self.authorize(
            actor,
            P::PrivacyReview,
            Action::PrivacyFlag,
            "patient",
            &pid,
        )?;
        let now = rfc3339(self.now());
        self.write(|tx, pending| {
            if tx.query("SELECT id FROM patients WHERE id = ?", &[pid.clone().into()])?.is_empty() {
                return Err(StoreError::NotFound(format!("patient {pid}")));
            }
            tx.execute("DELETE FROM privacy_patient_flags WHERE patient_id = ?", &[pid.clone().into()])?;
            tx.execute(
                "INSERT INTO privacy_patient_flags (patient_id, restricted, deceased, updated_at) VALUES (?, ?, ?, ?)",
                &[pid.clone().into(), Value::Int(restricted.into()), Value::Int(deceased.into()), now.clone().into()],
            )?;
            pending.push(self.entry(actor, Action::PrivacyFlag, "patient", &pid, Some(&pid), Outcome::Success)?);
            Ok(())
        })
    }

    /// Scans the audit log past the saved cursor (entries older than the relationship
    /// window's far edge only), files the alerts into cases and saves everything in one
    /// transaction. Needs `PrivacyReview`; audited (each case it opens too, with the
    /// case row's hash).
    pub fn privacy_scan(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<PrivacyScanSummary, StoreError> {
        self.authorize(actor, P::PrivacyReview, Action::PrivacyScan, "privacy", "")?;
        self.write(|tx, pending| {
            // The row lock first: a second node waits here, then reads our cursor.
            tx.execute(
                "UPDATE privacy_scan_state SET updated_at = ? WHERE id = 1",
                &[rfc3339(now).into()],
            )?;
            self.upgrade_book(tx, actor, pending)?;
            let cfg = crate::privacy_tuning::config(tx)?;
            let settled = cfg.settled_before(now);
            let state = load_scan_state(tx)?;
            let mut from = state.cursor.map_or(0, |c| c.saturating_add(1));
            self.refresh_patient_refs(tx)?;
            let staff = self.scan_staff(tx)?;
            let depts = device_departments(tx)?;
            let mut filing = crate::privacy_cases::Filing::new(tx)?;
            let before = state.examined;
            let (mut state, mut alerts, mut touched) = (state, 0u64, BTreeSet::new());
            let mut new_alerts = vec![];
            // The log is read a page at a time, and the directory and care links are read
            // for the patients a page names only: scanning in batches gives the same alerts
            // and state as one pass, and memory stays at one page plus the scan state.
            loop {
                let page = self.read_accesses(tx, from, settled, SCAN_PAGE)?;
                let ctx = self.page_context(tx, (&staff, &depts), &page.accesses)?;
                let (next, found) = labguard_privacy::scan(state, &page.accesses, &ctx, &cfg);
                state = next;
                save_alerts(tx, &mut filing, &found, &mut touched)?;
                alerts += found.len() as u64;
                let room = NEW_ALERTS_SHOWN.saturating_sub(new_alerts.len());
                new_alerts.extend(found.into_iter().take(room));
                match page.next {
                    Some(n) => from = n,
                    None => break,
                }
            }
            for c in &filing.opened {
                pending.push(self.case_entry(actor, Action::PrivacyCaseOpen, c)?);
            }
            let cursor = state.cursor.map_or(-1, |c| i64::try_from(c).unwrap_or(i64::MAX));
            tx.execute(
                "UPDATE privacy_scan_state SET scan_cursor = ?, examined = ?, state = ? WHERE id = 1",
                &[
                    Value::Int(cursor),
                    Value::Int(i64::try_from(state.examined).unwrap_or(i64::MAX)),
                    to_json(&state)?.into(),
                ],
            )?;
            pending.push(self.entry(actor, Action::PrivacyScan, "privacy", &cursor.to_string(), None, Outcome::Success)?);
            Ok(PrivacyScanSummary {
                examined: state.examined - before,
                alerts,
                cases_touched: touched.into_iter().collect(),
                cursor: state.cursor,
                new_alerts,
            })
        })
    }

    /// The lab's privacy cases without their alerts, with counts (pseudonymous: staff ids).
    /// Needs `PrivacyReview`; audited.
    pub fn privacy_cases(
        &self,
        actor: &Actor,
        open_only: bool,
    ) -> Result<Vec<crate::CaseSummary>, StoreError> {
        self.authorize(
            actor,
            P::PrivacyReview,
            Action::PrivacyCaseRead,
            "privacy-case",
            "",
        )?;
        self.write(|tx, pending| {
            self.upgrade_book(tx, actor, pending)?;
            pending.push(self.entry(
                actor,
                Action::PrivacyCaseRead,
                "privacy-case",
                "",
                None,
                Outcome::Success,
            )?);
            crate::privacy_cases::list_cases(tx, open_only, true)
        })
    }

    /// One case with its alerts (pseudonymous). Needs `PrivacyReview`; audited.
    pub fn privacy_case(&self, actor: &Actor, id: u64) -> Result<Case, StoreError> {
        let rid = id.to_string();
        self.authorize(
            actor,
            P::PrivacyReview,
            Action::PrivacyCaseRead,
            "privacy-case",
            &rid,
        )?;
        self.write(|tx, pending| {
            self.upgrade_book(tx, actor, pending)?;
            let case = crate::privacy_cases::load_case(tx, id)?
                .ok_or_else(|| StoreError::NotFound(format!("privacy case {id}")))?;
            pending.push(self.entry(
                actor,
                Action::PrivacyCaseRead,
                "privacy-case",
                &rid,
                None,
                Outcome::Success,
            )?);
            Ok(case)
        })
    }

    /// Up to `limit` audit entries from `from` on, as record accesses, stopping at the
    /// first access at or after `settled`; `next` is where the following page starts (None:
    /// the end, or the settled edge, was reached).
    fn read_accesses(
        &self,
        tx: &mut dyn Tx,
        from: u64,
        settled: DateTime<Utc>,
        limit: i64,
    ) -> Result<Page, StoreError> {
        let start =
            i64::try_from(from).map_err(|_| StoreError::Corrupt("privacy cursor".into()))?;
        let rows = tx.query(
            "SELECT seq, entry FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?",
            &[Value::Int(start), Value::Int(limit)],
        )?;
        let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= limit;
        let mut page = Page {
            accesses: vec![],
            next: None,
        };
        let mut last = None;
        for r in rows {
            let [seq, entry] = r.as_slice() else {
                return Err(StoreError::Corrupt("audit row shape".into()));
            };
            let seq = u64::try_from(seq.as_int()?)
                .map_err(|_| StoreError::Corrupt("audit seq".into()))?;
            let e = AuditEntry::decode(entry.as_blob()?)
                .map_err(|e| StoreError::Corrupt(format!("audit entry {seq}: {e}")))?;
            if let Some(a) = access(seq, &e) {
                if a.at >= settled {
                    return Ok(page);
                }
                page.accesses.push(a);
            }
            last = Some(seq);
        }
        if full {
            page.next = last.map(|l| l.saturating_add(1));
        }
        Ok(page)
    }

    /// Records the pseudonym of every patient row that has none yet (new patients since
    /// the last scan; an index lookup per row, so cheap when there are none).
    fn refresh_patient_refs(&self, tx: &mut dyn Tx) -> Result<(), StoreError> {
        let ids = tx.query(
            "SELECT id FROM patients p WHERE NOT EXISTS (SELECT 1 FROM privacy_patient_refs r WHERE r.patient_id = p.id)",
            &[],
        )?;
        let ring = self.ring()?;
        for r in ids {
            let id = r
                .first()
                .ok_or_else(|| StoreError::Corrupt("patient id".into()))?
                .as_text()?
                .to_string();
            tx.execute(
                "INSERT INTO privacy_patient_refs (patient_ref, patient_id) VALUES (?, ?)",
                &[ring.pseudonym(&id).into(), id.into()],
            )?;
        }
        Ok(())
    }

    /// Every member of staff with their privacy profile (a lab's staff list is small).
    fn scan_staff(&self, tx: &mut dyn Tx) -> Result<Vec<StaffProfile>, StoreError> {
        let ring = self.ring()?;
        let staff = tx.query(
            "SELECT s.id, s.role, p.surname_key, p.address_key, p.department, p.shift, p.own_patient_id \
             FROM staff s LEFT JOIN privacy_staff_profiles p ON p.staff_id = s.id",
            &[],
        )?;
        let mut out = vec![];
        for r in staff {
            let [id, role, surname, address, department, shift, own] = r.as_slice() else {
                return Err(StoreError::Corrupt("staff profile row shape".into()));
            };
            let (Ok(id), Ok(role)) = (
                id.as_text()?.parse::<Id>(),
                Role::from_code(role.as_text()?),
            ) else {
                continue;
            };
            let shift: Option<Shift> = match shift {
                Value::Null => None,
                v => Some(from_json(v, "privacy_staff_profiles.shift")?),
            };
            out.push(StaffProfile {
                id,
                role,
                department: text_or_none(department)?,
                surname_key: blind(surname)?,
                address_key: blind(address)?,
                is_also_patient: text_or_none(own)?.map(|p| PatientRef::new(ring.pseudonym(&p))),
                shift,
            });
        }
        Ok(out)
    }

    /// The directory and care events for the patients `accesses` name: their profiles
    /// (surname and address keys from the decrypted fields, flags), specimens by collector
    /// and results by verifier and by department (the performing instrument's location).
    /// Read `IN_CHUNK` patients at a time.
    fn page_context(
        &self,
        tx: &mut dyn Tx,
        (staff, depts): (&[StaffProfile], &Departments),
        accesses: &[Access],
    ) -> Result<MemoryContext, StoreError> {
        let mut ctx = MemoryContext::new();
        for s in staff {
            ctx.add_staff(s.clone());
        }
        let refs: BTreeSet<&str> = accesses.iter().map(|a| a.patient.0.as_str()).collect();
        let refs: Vec<&str> = refs.into_iter().collect();
        for chunk in refs.chunks(IN_CHUNK) {
            let params: Vec<Value> = chunk.iter().map(|r| Value::from(*r)).collect();
            let ids: Vec<Value> = tx
                .query(
                    &format!(
                        "SELECT patient_id FROM privacy_patient_refs WHERE patient_ref IN ({})",
                        marks(params.len())
                    ),
                    &params,
                )?
                .into_iter()
                .filter_map(|r| r.into_iter().next())
                .collect();
            if !ids.is_empty() {
                self.add_patients(tx, &mut ctx, depts, &ids)?;
            }
        }
        Ok(ctx)
    }

    fn add_patients(
        &self,
        tx: &mut dyn Tx,
        ctx: &mut MemoryContext,
        depts: &Departments,
        ids: &[Value],
    ) -> Result<(), StoreError> {
        let ring = self.ring()?;
        let list = marks(ids.len());
        let mut flags = std::collections::HashMap::new();
        for r in tx.query(
            &format!("SELECT patient_id, restricted, deceased FROM privacy_patient_flags WHERE patient_id IN ({list})"),
            ids,
        )? {
            if let [p, restricted, deceased] = r.as_slice() {
                flags.insert(
                    p.as_text()?.to_string(),
                    (restricted.as_int()? != 0, deceased.as_int()? != 0),
                );
            }
        }
        let mut last: std::collections::HashMap<PatientRef, DateTime<Utc>> = Default::default();
        let specimens = format!("{} WHERE patient_id IN ({list})", SPECIMENS.select_sql());
        for r in tx.query(&specimens, ids)? {
            let s = decode::<Specimen>(&ring, r)?;
            let patient = PatientRef::new(ring.pseudonym(&s.patient_id.to_string()));
            let e = last.entry(patient.clone()).or_insert(s.collected_at);
            *e = (*e).max(s.collected_at);
            ctx.add_event(CareEvent {
                at: s.collected_at,
                patient,
                kind: CareKind::Draw,
                staff: s.collector.parse().ok(),
                department: None,
            });
        }
        let results = format!("{} WHERE patient_id IN ({list})", RESULTS.select_sql());
        for r in tx.query(&results, ids)? {
            let res = decode::<LabResult>(&ring, r)?;
            let patient = PatientRef::new(ring.pseudonym(&res.patient_id.to_string()));
            ctx.add_event(CareEvent {
                at: res.observed_at,
                patient,
                kind: CareKind::Result,
                staff: res.verified_by.as_deref().and_then(|v| v.parse().ok()),
                department: res
                    .performing_device
                    .as_deref()
                    .and_then(|d| depts.get(d))
                    .cloned(),
            });
        }
        let patients = format!("{} WHERE id IN ({list})", PATIENTS.select_sql());
        for r in tx.query(&patients, ids)? {
            let p = decode::<Patient>(&ring, r)?;
            let pid = p.id.to_string();
            let patient = PatientRef::new(ring.pseudonym(&pid));
            let surname = normalize_name(&p.family);
            let (restricted, deceased) = flags.get(&pid).copied().unwrap_or((false, false));
            ctx.add_patient(PatientProfile {
                last_activity: last.get(&patient).copied(),
                patient,
                surname_key: (!surname.is_empty())
                    .then(|| BlindKey(ring.blind_index(SURNAME_DOMAIN, &surname))),
                address_key: p
                    .address
                    .as_ref()
                    .map(|a| labguard_privacy::normalize_address(&a.line))
                    .filter(|a| !a.is_empty())
                    .map(|a| BlindKey(ring.blind_index(ADDRESS_DOMAIN, &a))),
                restricted,
                deceased,
            });
        }
        Ok(())
    }
}

/// Instrument name → its location, the department a result it performed is routed to.
type Departments = std::collections::HashMap<String, String>;

fn device_departments(tx: &mut dyn Tx) -> Result<Departments, StoreError> {
    let mut out = Departments::new();
    for r in tx.query("SELECT name, location FROM devices", &[])? {
        if let [name, location] = r.as_slice() {
            out.insert(name.as_text()?.to_string(), location.as_text()?.to_string());
        }
    }
    Ok(out)
}

/// The scanner's saved state (cursor, baselines, repeat links: bounded by staff and the
/// repeat window, not by the log).
pub(crate) fn load_scan_state(tx: &mut dyn Tx) -> Result<ScanState, StoreError> {
    let rows = tx.query("SELECT state FROM privacy_scan_state WHERE id = 1", &[])?;
    let Some(state) = rows.first().and_then(|r| r.first()) else {
        return Err(StoreError::Corrupt("privacy_scan_state row missing".into()));
    };
    match state.as_text()? {
        "" => Ok(ScanState::default()),
        _ => from_json(state, "privacy_scan_state.state"),
    }
}

/// A patient a privacy case concerns, as the security officer reviewing it sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasePatient {
    /// The pseudonymous reference the alerts carry.
    pub reference: String,
    pub family: String,
    pub given: String,
    pub mrn: String,
}

impl Store {
    /// The patients behind a case's pseudonymous references, for its reviewer: names are
    /// what the review needs (is this her neighbour?), and only `PrivacyReview` gets them.
    /// Each patient shown is a demographics read in the audit log, so it appears in that
    /// patient's access report.
    pub fn privacy_case_patients(
        &self,
        actor: &Actor,
        id: u64,
    ) -> Result<Vec<CasePatient>, StoreError> {
        self.authorize(
            actor,
            P::PrivacyReview,
            Action::PrivacyCaseRead,
            "privacy-case",
            &id.to_string(),
        )?;
        let case = self.privacy_case(actor, id)?;
        let refs: BTreeSet<String> = case
            .alerts
            .iter()
            .filter_map(|a| a.patient.as_ref().map(|p| p.0.clone()))
            .collect();
        self.read(|tx, pending| {
            let ring = self.ring()?;
            let mut out = Vec::new();
            for r in &refs {
                let Some(pid) = tx
                    .query(
                        "SELECT patient_id FROM privacy_patient_refs WHERE patient_ref = ?",
                        &[r.as_str().into()],
                    )?
                    .into_iter()
                    .next()
                    .and_then(|row| row.into_iter().next())
                else {
                    continue;
                };
                let sql = format!("{} WHERE id = ?", PATIENTS.select_sql());
                let Some(row) = tx.query(&sql, &[pid])?.into_iter().next() else {
                    continue;
                };
                let p = decode::<Patient>(&ring, row)?;
                let pid = p.id.to_string();
                pending.push(self.entry(
                    actor,
                    Action::PatientRead,
                    PATIENTS.resource,
                    &pid,
                    Some(&pid),
                    Outcome::Success,
                )?);
                out.push(CasePatient {
                    reference: r.clone(),
                    family: p.family,
                    given: p.given,
                    mrn: p.mrn,
                });
            }
            Ok(out)
        })
    }
}
