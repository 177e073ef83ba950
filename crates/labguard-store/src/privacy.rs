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
    normalize_name, Access, BlindKey, CareEvent, CareKind, Case, CaseBook, MemoryContext,
    PatientProfile, PatientRef, Period, Reason, ScanState, Seen, Shift, StaffProfile,
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

/// Saves alerts with the case each was filed into (looked up only in the cases this page
/// touched, so the cost does not grow with the whole case book).
fn save_alerts(
    tx: &mut dyn Tx,
    book: &CaseBook,
    touched: &[labguard_privacy::CaseId],
    alerts: &[labguard_privacy::Alert],
) -> Result<(), StoreError> {
    let ids: std::collections::HashSet<_> = alerts.iter().map(|a| a.id).collect();
    let mut case_of = std::collections::HashMap::new();
    for c in book.cases.iter().filter(|c| touched.contains(&c.id)) {
        for x in c.alerts.iter().filter(|x| ids.contains(&x.id)) {
            case_of.insert(x.id, c.id.0);
        }
    }
    for a in alerts {
        let case = case_of
            .get(&a.id)
            .map(|c| Value::Int(i64::try_from(*c).unwrap_or(i64::MAX)))
            .unwrap_or(Value::Null);
        tx.execute(
            "INSERT INTO privacy_alerts (alert_id, seq, detector, staff_id, patient_ref, alert_at, case_id, alert) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (alert_id) DO NOTHING",
            &[
                a.id.to_string().into(),
                Value::Int(i64::try_from(a.seq).unwrap_or(i64::MAX)),
                a.detector.code().into(),
                a.staff.to_string().into(),
                a.patient.as_ref().map(|p| Value::from(p.0.clone())).unwrap_or(Value::Null),
                rfc3339(a.at).into(),
                case,
                to_json(a)?.into(),
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
    /// transaction. Needs `PrivacyReview`; audited.
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
            let cfg = crate::privacy_tuning::config(tx)?;
            let settled = cfg.settled_before(now);
            let (state, mut book) = load_state(tx)?;
            let mut from = state.cursor.map_or(0, |c| c.saturating_add(1));
            let ctx = self.scan_context(tx)?;
            let before = state.examined;
            let (mut state, mut alerts, mut touched) = (state, 0u64, BTreeSet::new());
            let mut new_alerts = vec![];
            // The log is read a page at a time: scanning in batches gives the same alerts
            // and state as one pass, and memory stays at one page plus the scan state.
            loop {
                let page = self.read_accesses(tx, from, settled, SCAN_PAGE)?;
                let (next, found) = labguard_privacy::scan(state, &page.accesses, &ctx, &cfg);
                state = next;
                let filed = book.file(&found);
                save_alerts(tx, &book, &filed, &found)?;
                touched.extend(filed.iter().map(|c| c.0));
                alerts += found.len() as u64;
                let room = NEW_ALERTS_SHOWN.saturating_sub(new_alerts.len());
                new_alerts.extend(found.into_iter().take(room));
                match page.next {
                    Some(n) => from = n,
                    None => break,
                }
            }
            let cursor = state.cursor.map_or(-1, |c| i64::try_from(c).unwrap_or(i64::MAX));
            tx.execute(
                "UPDATE privacy_scan_state SET scan_cursor = ?, examined = ?, state = ?, cases = ? WHERE id = 1",
                &[
                    Value::Int(cursor),
                    Value::Int(i64::try_from(state.examined).unwrap_or(i64::MAX)),
                    to_json(&state)?.into(),
                    to_json(&book)?.into(),
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

    /// The lab's privacy cases (pseudonymous: staff ids and patient references). Needs
    /// `PrivacyReview`; audited.
    pub fn privacy_cases(&self, actor: &Actor, open_only: bool) -> Result<Vec<Case>, StoreError> {
        self.authorize(
            actor,
            P::PrivacyReview,
            Action::PrivacyCaseRead,
            "privacy-case",
            "",
        )?;
        self.write(|tx, pending| {
            let (_, book) = load_state(tx)?;
            pending.push(self.entry(
                actor,
                Action::PrivacyCaseRead,
                "privacy-case",
                "",
                None,
                Outcome::Success,
            )?);
            Ok(book
                .cases
                .into_iter()
                .filter(|c| !open_only || !c.is_closed())
                .collect())
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

    /// The directory and care events: every staff member, every patient (surname keys from
    /// the decrypted family name), specimens by collector and results by verifier.
    fn scan_context(&self, tx: &mut dyn Tx) -> Result<MemoryContext, StoreError> {
        let ring = self.ring()?;
        let mut ctx = MemoryContext::new();
        let flags = tx.query(
            "SELECT patient_id, restricted, deceased FROM privacy_patient_flags",
            &[],
        )?;
        let flag = |pid: &str| {
            flags.iter().find_map(|r| match r.as_slice() {
                [p, restricted, deceased] if p.as_text().ok() == Some(pid) => Some((
                    restricted.as_int().unwrap_or(0) != 0,
                    deceased.as_int().unwrap_or(0) != 0,
                )),
                _ => None,
            })
        };
        let mut last: std::collections::HashMap<PatientRef, DateTime<Utc>> = Default::default();
        for r in tx.query(&SPECIMENS.select_sql(), &[])? {
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
        for r in tx.query(&RESULTS.select_sql(), &[])? {
            let res = decode::<LabResult>(&ring, r)?;
            let patient = PatientRef::new(ring.pseudonym(&res.patient_id.to_string()));
            ctx.add_event(CareEvent {
                at: res.observed_at,
                patient,
                kind: CareKind::Result,
                staff: res.verified_by.as_deref().and_then(|v| v.parse().ok()),
                department: None,
            });
        }
        for r in tx.query(&PATIENTS.select_sql(), &[])? {
            let p = decode::<Patient>(&ring, r)?;
            let pid = p.id.to_string();
            let patient = PatientRef::new(ring.pseudonym(&pid));
            let surname = normalize_name(&p.family);
            let (restricted, deceased) = flag(&pid).unwrap_or((false, false));
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
        let staff = tx.query(
            "SELECT s.id, s.role, p.surname_key, p.address_key, p.department, p.shift, p.own_patient_id \
             FROM staff s LEFT JOIN privacy_staff_profiles p ON p.staff_id = s.id",
            &[],
        )?;
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
            ctx.add_staff(StaffProfile {
                id,
                role,
                department: text_or_none(department)?,
                surname_key: blind(surname)?,
                address_key: blind(address)?,
                is_also_patient: text_or_none(own)?.map(|p| PatientRef::new(ring.pseudonym(&p))),
                shift,
            });
        }
        Ok(ctx)
    }
}

pub(crate) fn load_state(tx: &mut dyn Tx) -> Result<(ScanState, CaseBook), StoreError> {
    let rows = tx.query(
        "SELECT state, cases FROM privacy_scan_state WHERE id = 1",
        &[],
    )?;
    let Some([state, cases]) = rows.first().map(|r| r.as_slice()) else {
        return Err(StoreError::Corrupt("privacy_scan_state row missing".into()));
    };
    let state = match state.as_text()? {
        "" => ScanState::default(),
        _ => from_json(state, "privacy_scan_state.state")?,
    };
    let book = match cases.as_text()? {
        "" => CaseBook::new(Period::Week, 0),
        _ => from_json(cases, "privacy_scan_state.cases")?,
    };
    Ok((state, book))
}
