//! Privacy monitoring use cases (the CLI's `privacy` commands, later the web UI): patients
//! are named by MRN at the edge and resolved here; the store checks and audits each call.

use chrono::{DateTime, Utc};
use labguard_core::Id;
use labguard_privacy::{Case, PatientAccessReport};
use labguard_store::{Actor, StaffPrivacyProfile, Store};
use serde::Serialize;

use crate::error::AppError;

/// One line of `privacy cases`: the case without its alerts' details.
#[derive(Debug, Clone, Serialize)]
pub struct CaseRow {
    pub id: u64,
    pub staff: String,
    pub role: String,
    pub status: String,
    pub alerts: usize,
    pub unexplained: usize,
    pub opened_at: DateTime<Utc>,
}

fn status(c: &Case) -> String {
    serde_json::to_value(c.status)
        .ok()
        .and_then(|v| {
            let s = v.get("status")?.as_str()?.to_string();
            Some(match v.get("outcome").and_then(|o| o.as_str()) {
                Some(o) => format!("{s} ({o})"),
                None => s,
            })
        })
        .unwrap_or_default()
}

/// Display names by staff id (the CLI's operator and the officer may list staff).
fn names(store: &Store, actor: &Actor) -> Result<Vec<(Id, String)>, AppError> {
    Ok(store
        .list_staff(actor)?
        .into_iter()
        .map(|s| (s.id, s.username))
        .collect())
}

/// One alert a scan raised, as `privacy scan --format json` and the API print it: the
/// patient only by pseudonym, the member of staff by username.
#[derive(Debug, Clone, Serialize)]
pub struct NewAlert {
    pub detector: &'static str,
    pub patient: Option<String>,
    pub staff: String,
    pub role: String,
    pub at: DateTime<Utc>,
    pub explanation: String,
    pub counted: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScanReport {
    pub examined: u64,
    pub alerts: u64,
    pub cases_touched: Vec<u64>,
    pub cursor: Option<u64>,
    pub new_alerts: Vec<NewAlert>,
}

/// Runs an incremental scan; `since` keeps only the new alerts at or after that time in
/// the listing (the scan itself always starts at its cursor: each entry is examined once).
pub fn scan(
    store: &Store,
    actor: &Actor,
    now: DateTime<Utc>,
    since: Option<DateTime<Utc>>,
) -> Result<ScanReport, AppError> {
    let s = store.privacy_scan(actor, now)?;
    let names = names(store, actor).unwrap_or_default();
    let new_alerts = s
        .new_alerts
        .iter()
        .filter(|a| since.is_none_or(|t| a.at >= t))
        .map(|a| {
            let staff = names
                .iter()
                .find(|(i, _)| *i == a.staff)
                .map_or_else(|| a.staff.to_string(), |(_, n)| n.clone());
            let patient = a.patient.as_ref().map(|p| p.0.clone());
            NewAlert {
                detector: a.detector.code(),
                explanation: a.explain(&staff, patient.as_deref().unwrap_or("a patient")),
                patient,
                staff,
                role: a.role.code().to_string(),
                at: a.at,
                counted: a.counts(),
            }
        })
        .collect();
    Ok(ScanReport {
        examined: s.examined,
        alerts: s.alerts,
        cases_touched: s.cases_touched,
        cursor: s.cursor,
        new_alerts,
    })
}

/// A case with its subject's and assignee's usernames (the case itself names ids).
#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    pub staff_name: String,
    pub assignee_name: Option<String>,
    pub status_text: String,
    #[serde(flatten)]
    pub case: Case,
}

pub fn case_view(store: &Store, actor: &Actor, id: u64) -> Result<CaseView, AppError> {
    let c = case(store, actor, id)?;
    let names = names(store, actor).unwrap_or_default();
    let name = |id: &Id| {
        names
            .iter()
            .find(|(i, _)| i == id)
            .map_or_else(|| id.to_string(), |(_, n)| n.clone())
    };
    Ok(CaseView {
        staff_name: name(&c.staff),
        assignee_name: c.assignee.as_ref().map(name),
        status_text: status(&c),
        case: c,
    })
}

/// The staff id of `username` (assignment names the reviewer by username).
pub fn staff_id(store: &Store, actor: &Actor, username: &str) -> Result<Id, AppError> {
    names(store, actor)?
        .into_iter()
        .find(|(_, n)| n == username)
        .map(|(i, _)| i)
        .ok_or(AppError::Invalid("no member of staff with that username"))
}

pub fn case_rows(store: &Store, actor: &Actor, open_only: bool) -> Result<Vec<CaseRow>, AppError> {
    let cases = store.privacy_cases(actor, open_only)?;
    let names = names(store, actor).unwrap_or_default();
    Ok(cases
        .iter()
        .map(|s| (&s.case, s))
        .map(|(c, s)| CaseRow {
            id: c.id.0,
            staff: names
                .iter()
                .find(|(i, _)| *i == c.staff)
                .map_or_else(|| c.staff.to_string(), |(_, n)| n.clone()),
            role: c.role.code().to_string(),
            status: status(c),
            alerts: usize::try_from(s.alerts).unwrap_or(usize::MAX),
            unexplained: usize::try_from(s.counted).unwrap_or(usize::MAX),
            opened_at: c.opened_at,
        })
        .collect())
}

pub fn case(store: &Store, actor: &Actor, id: u64) -> Result<Case, AppError> {
    match store.privacy_case(actor, id) {
        Err(labguard_store::StoreError::NotFound(_)) => {
            Err(AppError::Invalid("no privacy case with that number"))
        }
        other => Ok(other?),
    }
}

fn patient_id(store: &Store, actor: &Actor, mrn: &str) -> Result<Id, AppError> {
    store
        .find_patient_by_mrn(actor, mrn)?
        .map(|p| p.id)
        .ok_or(AppError::Invalid("no patient with that MRN"))
}

pub fn flag(
    store: &Store,
    actor: &Actor,
    mrn: &str,
    restricted: bool,
    deceased: bool,
) -> Result<(), AppError> {
    let id = patient_id(store, actor, mrn)?;
    Ok(store.flag_patient(actor, id, restricted, deceased)?)
}

pub fn access_report(
    store: &Store,
    actor: &Actor,
    mrn: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<PatientAccessReport, AppError> {
    if to <= from {
        return Err(AppError::Invalid("--to must be after --from"));
    }
    let id = patient_id(store, actor, mrn)?;
    Ok(store.patient_access_report(actor, id, from, to)?)
}

/// A problem with one line of an HR profile import (the line number only: no values).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportProblem {
    pub line: usize,
    pub why: &'static str,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportSummary {
    pub imported: usize,
    pub problems: Vec<ImportProblem>,
}

/// Imports `username,surname,address,department` lines (a header line starting with
/// `username` is skipped; empty fields are left unset). Never panics on the input: a bad
/// line is reported by number and skipped.
pub fn import_profiles(store: &Store, actor: &Actor, csv: &str) -> Result<ImportSummary, AppError> {
    let staff = names(store, actor)?;
    let mut out = ImportSummary::default();
    for (i, line) in csv.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (i == 0 && line.starts_with("username")) {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [user, surname, address, department] = fields.as_slice() else {
            out.problems.push(ImportProblem {
                line: i + 1,
                why: "expected 4 fields: username,surname,address,department",
            });
            continue;
        };
        let Some((id, _)) = staff.iter().find(|(_, n)| n == user) else {
            out.problems.push(ImportProblem {
                line: i + 1,
                why: "no member of staff with that username",
            });
            continue;
        };
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        store.set_staff_privacy_profile(
            actor,
            &StaffPrivacyProfile {
                staff_id: *id,
                surname: opt(surname),
                address: opt(address),
                department: opt(department),
                shift: None,
                own_patient: None,
            },
        )?;
        out.imported += 1;
    }
    Ok(out)
}
