//! Privacy cases as rows (migration v18): one `privacy_cases` row per case, row-hashed and
//! audited on every write like patient data (verify checks each row against its last
//! audited write), its alerts the `privacy_alerts` rows naming it. Nothing here grows with
//! the log as a single value: a scan looks up only the cases its alerts fall into, a case
//! page reads one case's alerts, a list reads counts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use labguard_audit::Outcome as AuditOutcome;
use labguard_core::{Id, Role};
use labguard_privacy::{Alert, Case, CaseBook, CaseId, CaseStatus, Outcome, Period};

use crate::action::Action;
use crate::backend::{Row, Tx, Value};
use crate::codec::{from_json, parse_time, to_json};
use crate::store::{rfc3339, Pending, Store};
use crate::table::TableSpec;
use crate::{Actor, StoreError};

pub(crate) const CASES: TableSpec = TableSpec {
    name: "privacy_cases",
    resource: "privacy-case",
    columns: &[
        "number",
        "staff_id",
        "role",
        "period_start",
        "period_end",
        "opened_at",
        "status",
        "assignee",
        "history",
        "false_positives",
    ],
    encrypted: &[],
    patient_column: None,
};

/// A case in a list: the case without its alerts, and their counts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CaseSummary {
    pub case: Case,
    pub alerts: u64,
    /// Alerts that count as unexplained accesses ([`Alert::counts`]).
    pub counted: u64,
}

fn status_code(s: &CaseStatus) -> &'static str {
    match s {
        CaseStatus::Open => "open",
        CaseStatus::Assigned => "assigned",
        CaseStatus::Noted => "noted",
        CaseStatus::Closed(Outcome::Appropriate) => "closed-appropriate",
        CaseStatus::Closed(Outcome::Sanction) => "closed-sanction",
        CaseStatus::Closed(Outcome::Referred) => "closed-referred",
    }
}

fn status_of(code: &str) -> Result<CaseStatus, StoreError> {
    Ok(match code {
        "open" => CaseStatus::Open,
        "assigned" => CaseStatus::Assigned,
        "noted" => CaseStatus::Noted,
        "closed-appropriate" => CaseStatus::Closed(Outcome::Appropriate),
        "closed-sanction" => CaseStatus::Closed(Outcome::Sanction),
        "closed-referred" => CaseStatus::Closed(Outcome::Referred),
        _ => return Err(StoreError::Corrupt("privacy case status".into())),
    })
}

fn int(n: u64) -> Value {
    Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The row's columns after `id`, in [`CASES`] order.
fn values(c: &Case) -> Result<Vec<Value>, StoreError> {
    Ok(vec![
        int(c.id.0),
        c.staff.to_string().into(),
        c.role.code().into(),
        rfc3339(c.period_start).into(),
        rfc3339(c.period_end).into(),
        rfc3339(c.opened_at).into(),
        status_code(&c.status).into(),
        c.assignee
            .map(|a| Value::from(a.to_string()))
            .unwrap_or(Value::Null),
        to_json(&c.history)?.into(),
        to_json(&c.false_positives)?.into(),
    ])
}

const SELECT: &str = "SELECT number, staff_id, role, period_start, period_end, opened_at, status, assignee, history, false_positives FROM privacy_cases";

fn decode(r: &Row) -> Result<Case, StoreError> {
    let [number, staff, role, start, end, opened, status, assignee, history, fps] = r.as_slice()
    else {
        return Err(StoreError::Corrupt("privacy case row shape".into()));
    };
    let id = |v: &Value| {
        v.as_text()?
            .parse::<Id>()
            .map_err(|_| StoreError::Corrupt("privacy case id".into()))
    };
    Ok(Case {
        id: CaseId(
            u64::try_from(number.as_int()?)
                .map_err(|_| StoreError::Corrupt("privacy case number".into()))?,
        ),
        staff: id(staff)?,
        role: Role::from_code(role.as_text()?)
            .map_err(|_| StoreError::Corrupt("privacy case role".into()))?,
        period_start: parse_time(start)?,
        period_end: parse_time(end)?,
        opened_at: parse_time(opened)?,
        status: status_of(status.as_text()?)?,
        assignee: match assignee {
            Value::Null => None,
            v => Some(id(v)?),
        },
        alerts: vec![],
        history: from_json(history, "privacy case history")?,
        false_positives: from_json(fps, "privacy case labels")?,
    })
}

/// Finds the not-yet-closed case of one user and period, for filing. Lookups are cached
/// for the scan (it holds the state row's lock, so no case changes under it).
pub(crate) struct Filing {
    grouping: CaseBook,
    open: HashMap<(Id, DateTime<Utc>), Option<u64>>,
    next: u64,
    /// Cases this scan opened, to audit with their row hashes.
    pub opened: Vec<Case>,
}

impl Filing {
    pub fn new(tx: &mut dyn Tx) -> Result<Filing, StoreError> {
        let max = tx.query("SELECT MAX(number) FROM privacy_cases", &[])?;
        let max = match max.first().and_then(|r| r.first()) {
            Some(Value::Null) | None => 0,
            Some(v) => u64::try_from(v.as_int()?).unwrap_or(0),
        };
        Ok(Filing {
            grouping: CaseBook::new(Period::Week, 0),
            open: HashMap::new(),
            next: max + 1,
            opened: vec![],
        })
    }

    /// The case `a` is filed into, opening one when the alert counts and the user has no
    /// open case for its period ([`CaseBook::file`]'s rule, over rows).
    pub fn case_for(&mut self, tx: &mut dyn Tx, a: &Alert) -> Result<Option<u64>, StoreError> {
        let (start, end) = self.grouping.period_of(a.at);
        let key = (a.staff, start);
        let found = match self.open.get(&key) {
            Some(c) => *c,
            None => {
                let rows = tx.query(
                    "SELECT number, status FROM privacy_cases WHERE staff_id = ? AND period_start = ? ORDER BY number",
                    &[a.staff.to_string().into(), rfc3339(start).into()],
                )?;
                let mut open = None;
                for r in rows {
                    if let [n, s] = r.as_slice() {
                        if !s.as_text()?.starts_with("closed") {
                            open = Some(u64::try_from(n.as_int()?).unwrap_or(0));
                        }
                    }
                }
                self.open.insert(key, open);
                open
            }
        };
        if found.is_some() || !a.counts() {
            return Ok(found);
        }
        let n = self.next;
        self.next += 1;
        let case = Case {
            id: CaseId(n),
            staff: a.staff,
            role: a.role,
            period_start: start,
            period_end: end,
            opened_at: a.at,
            status: CaseStatus::Open,
            assignee: None,
            alerts: vec![],
            history: vec![],
            false_positives: vec![],
        };
        insert(tx, &case)?;
        self.opened.push(case);
        self.open.insert(key, Some(n));
        Ok(Some(n))
    }
}

fn insert(tx: &mut dyn Tx, c: &Case) -> Result<(), StoreError> {
    let mut params = vec![Value::from(c.id.0.to_string())];
    params.extend(values(c)?);
    tx.execute(&CASES.insert_sql(), &params)?;
    Ok(())
}

/// The case book as kept before v18, if it has not been moved into rows yet.
pub(crate) fn legacy_book(tx: &mut dyn Tx) -> Result<Option<CaseBook>, StoreError> {
    let rows = tx.query("SELECT cases FROM privacy_scan_state WHERE id = 1", &[])?;
    let Some(v) = rows.first().and_then(|r| r.first()) else {
        return Err(StoreError::Corrupt("privacy_scan_state row missing".into()));
    };
    if v.as_text()?.is_empty() {
        return Ok(None);
    }
    Ok(Some(from_json(v, "privacy_scan_state.cases")?))
}

impl Store {
    /// The audit entry for a write of case `c`, carrying the row's hash.
    pub(crate) fn case_entry(
        &self,
        actor: &Actor,
        action: Action,
        c: &Case,
    ) -> Result<labguard_audit::AuditEntry, StoreError> {
        let mut e = self.entry(
            actor,
            action,
            CASES.resource,
            &c.id.0.to_string(),
            None,
            AuditOutcome::Success,
        )?;
        e.content_hash = Some(CASES.row_hash(&values(c)?));
        Ok(e)
    }

    /// Rewrites case `c`'s row (a review step) and returns its audit entry.
    pub(crate) fn update_case(
        &self,
        tx: &mut dyn Tx,
        actor: &Actor,
        action: Action,
        c: &Case,
    ) -> Result<labguard_audit::AuditEntry, StoreError> {
        let mut params = values(c)?;
        params.push(c.id.0.to_string().into());
        if tx.execute(&CASES.update_sql(), &params)? != 1 {
            return Err(StoreError::NotFound(format!("privacy case {}", c.id.0)));
        }
        self.case_entry(actor, action, c)
    }

    /// Moves a case book kept as JSON before v18 into rows (each audited with its hash),
    /// and empties the old column. A no-op once done.
    pub(crate) fn upgrade_book(
        &self,
        tx: &mut dyn Tx,
        actor: &Actor,
        pending: &mut Pending,
    ) -> Result<(), StoreError> {
        let Some(book) = legacy_book(tx)? else {
            return Ok(());
        };
        for c in &book.cases {
            insert(tx, c)?;
            pending.push(self.case_entry(actor, Action::PrivacyCaseOpen, c)?);
        }
        tx.execute("UPDATE privacy_scan_state SET cases = '' WHERE id = 1", &[])?;
        Ok(())
    }
}

/// Case `n` with its alerts in filing order, if it exists.
pub(crate) fn load_case(tx: &mut dyn Tx, n: u64) -> Result<Option<Case>, StoreError> {
    let rows = tx.query(&format!("{SELECT} WHERE number = ?"), &[int(n)])?;
    let Some(r) = rows.first() else {
        return Ok(None);
    };
    let mut case = decode(r)?;
    case.alerts = tx
        .query(
            "SELECT alert FROM privacy_alerts WHERE case_id = ? ORDER BY seq",
            &[int(n)],
        )?
        .iter()
        .map(|r| match r.first() {
            Some(v) => from_json::<Alert>(v, "privacy_alerts.alert"),
            None => Err(StoreError::Corrupt("privacy alert row shape".into())),
        })
        .collect::<Result<_, _>>()?;
    case.alerts.sort_by_key(|a| a.id);
    Ok(Some(case))
}

/// Every case (or the open ones) without alerts, by number; with `counts`, each case's
/// alert counts (an indexed count per listed case, so listing open cases does not read the
/// closed ones' alerts).
pub(crate) fn list_cases(
    tx: &mut dyn Tx,
    open_only: bool,
    counts: bool,
) -> Result<Vec<CaseSummary>, StoreError> {
    let mut out = vec![];
    for r in tx.query(&format!("{SELECT} ORDER BY number"), &[])? {
        let case = decode(&r)?;
        if open_only && case.is_closed() {
            continue;
        }
        let (mut alerts, mut counted) = (0, 0);
        if counts {
            let rows = tx.query(
                "SELECT COUNT(*), SUM(CASE WHEN counted = 1 THEN 1 ELSE 0 END) FROM privacy_alerts WHERE case_id = ?",
                &[int(case.id.0)],
            )?;
            if let Some([n, k]) = rows.first().map(|r| r.as_slice()) {
                let u = |v: &Value| match v {
                    Value::Null => Ok(0),
                    v => v.as_int().map(|i| u64::try_from(i).unwrap_or(0)),
                };
                (alerts, counted) = (u(n)?, u(k)?);
            }
        }
        out.push(CaseSummary {
            case,
            alerts,
            counted,
        });
    }
    Ok(out)
}
