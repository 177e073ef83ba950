//! Read-only gathering of the facts the evidence collectors judge (see
//! `labguard_compliance::collect`). Counts and dates only, never PHI.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use labguard_compliance::collect::{
    AccountFacts, BreakGlassFacts, Facts, IncidentFacts, KeyFacts, Leaver, Run, ServerFacts,
};
use labguard_compliance::incident::{Incident, IncidentStatus};
use labguard_core::Permission;

use crate::accounts::{account_select, decode_account};
use crate::action::Action;
use crate::actor::Actor;
use crate::backend::{Tx, Value};
use crate::codec::{opt_time, parse_time};
use crate::compliance::{from_json, last_run_in, run_kind, RunKind};
use crate::store::Store;
use crate::StoreError;

/// Account names that belong to no one person.
const GENERIC_NAMES: &[&str] = &[
    "admin",
    "administrator",
    "lab",
    "labuser",
    "shared",
    "frontdesk",
    "front-desk",
    "test",
    "user",
    "temp",
    "guest",
    "reception",
    "nurse",
    "tech",
    "phlebotomy",
];

fn last_run(tx: &mut dyn Tx, kind: RunKind, ok_only: bool) -> Result<Option<Run>, StoreError> {
    Ok(last_run_in(tx, kind, ok_only)?.map(|run| Run {
        at: run.at,
        ok: run.ok,
        duration_ms: run.duration_ms,
    }))
}

impl Store {
    /// Gathers every fact the built-in collectors need, in one read transaction. Needs
    /// `reports-read`; the collection itself is audited when its evidence is saved.
    pub fn compliance_facts(&self, actor: &Actor) -> Result<Facts, StoreError> {
        self.authorize(
            actor,
            Permission::ReportsRead,
            Action::EvidenceRead,
            "compliance_evidence",
            "",
        )?;
        let now = self.now();
        let mut tx = self.backend.begin()?;
        let tx = tx.as_mut();
        Ok(Facts {
            keys: key_facts(tx)?,
            last_verify: last_run(tx, run_kind::AUDIT_VERIFY, false)?,
            // A backup counts once it has been verified (create also verifies it).
            last_good_backup: newest(
                last_run(tx, run_kind::BACKUP_CREATE, true)?,
                last_run(tx, run_kind::BACKUP_VERIFY, true)?,
            ),
            last_restore_drill: last_run(tx, run_kind::BACKUP_RESTORE, false)?,
            accounts: account_facts(tx)?,
            server: server_facts(tx)?,
            last_access_review: last_run(tx, run_kind::ACCESS_REVIEW, true)?,
            leavers: leavers(tx)?,
            break_glass: break_glass(tx)?,
            incidents: incident_facts(tx, now)?,
            privacy: privacy_facts(tx, now)?,
        })
    }
}

fn newest(a: Option<Run>, b: Option<Run>) -> Option<Run> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if a.at >= b.at { a } else { b }),
        (a, b) => a.or(b),
    }
}

fn key_facts(tx: &mut dyn Tx) -> Result<KeyFacts, StoreError> {
    let mut k = KeyFacts::default();
    if let Some(r) = tx
        .query("SELECT version, created_at FROM keys WHERE purpose = 'data' AND state = 'active' ORDER BY version DESC LIMIT 1", &[])?
        .first()
    {
        let [v, at] = r.as_slice() else {
            return Err(StoreError::Corrupt("keys row shape".into()));
        };
        k.active_data_key_version = Some(v.as_int()?);
        k.active_data_key_created = Some(parse_time(at)?);
    }
    if let Some(r) = tx
        .query("SELECT started_at FROM key_rotation WHERE finished_at IS NULL ORDER BY started_at LIMIT 1", &[])?
        .first()
    {
        k.rotation_started = Some(parse_time(r.first().unwrap_or(&Value::Null))?);
    }
    Ok(k)
}

fn account_facts(tx: &mut dyn Tx) -> Result<AccountFacts, StoreError> {
    let mut f = AccountFacts::default();
    let mut emails: HashMap<String, u32> = HashMap::new();
    for r in tx.query(&account_select(), &[])? {
        let a = decode_account(&r)?;
        if a.is_disabled() {
            continue;
        }
        f.enabled += 1;
        f.enabled_with_mfa += u32::from(a.mfa_enrolled);
        if a.staff.role.sees_phi() {
            f.phi_enabled += 1;
            f.phi_enabled_with_mfa += u32::from(a.mfa_enrolled);
        }
        let name = a.staff.username.to_ascii_lowercase();
        if GENERIC_NAMES.contains(&name.as_str()) {
            f.generic_names.push(a.staff.username.clone());
        }
        // No address at all is not a shared one.
        let email = a.staff.email.trim().to_ascii_lowercase();
        if !email.is_empty() {
            *emails.entry(email).or_default() += 1;
        }
    }
    f.shared_email_accounts = emails.values().filter(|n| **n > 1).sum();
    Ok(f)
}

fn server_facts(tx: &mut dyn Tx) -> Result<Option<ServerFacts>, StoreError> {
    let Some(run) = last_run_in(tx, RunKind::ServerStart, false)? else {
        return Ok(None);
    };
    let d = &run.detail;
    Ok(Some(ServerFacts {
        started_at: run.at,
        idle_timeout_secs: d
            .get("idle_timeout_secs")
            .and_then(|v| v.as_i64())
            .unwrap_or(i64::MAX),
        tls: d.get("tls").and_then(|v| v.as_bool()).unwrap_or(false),
        min_tls: d
            .get("min_tls")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string(),
    }))
}

fn leavers(tx: &mut dyn Tx) -> Result<Vec<Leaver>, StoreError> {
    let mut out = vec![];
    for r in tx.query(
        "SELECT s.username, d.left_at, a.disabled_at FROM staff_departures d JOIN staff s ON s.id = d.user_id \
         LEFT JOIN accounts a ON a.user_id = d.user_id ORDER BY d.left_at",
        &[],
    )? {
        let [u, left, dis] = r.as_slice() else {
            return Err(StoreError::Corrupt("departure row shape".into()));
        };
        out.push(Leaver { user: u.as_text()?.into(), left_at: parse_time(left)?, disabled_at: opt_time(dis)? });
    }
    Ok(out)
}

fn break_glass(tx: &mut dyn Tx) -> Result<BreakGlassFacts, StoreError> {
    let mut f = BreakGlassFacts::default();
    for r in tx.query("SELECT created_at, reviewed_at FROM alerts", &[])? {
        let [c, rv] = r.as_slice() else {
            return Err(StoreError::Corrupt("alert row shape".into()));
        };
        f.total += 1;
        if matches!(rv, Value::Null) {
            f.unreviewed.push(parse_time(c)?);
        }
    }
    Ok(f)
}

fn privacy_facts(
    tx: &mut dyn Tx,
    now: DateTime<Utc>,
) -> Result<labguard_compliance::collect::PrivacyFacts, StoreError> {
    use labguard_privacy::{CaseStatus, Outcome};
    let state = crate::privacy::load_scan_state(tx)?;
    let mut f = labguard_compliance::collect::PrivacyFacts {
        scanned: state.cursor.is_some(),
        ..Default::default()
    };
    // Read-only here: a book not yet moved into rows (v18) is read where it is.
    let mut cases: Vec<_> = crate::privacy_cases::list_cases(tx, false, false)?
        .into_iter()
        .map(|c| c.case)
        .collect();
    if let Some(book) = crate::privacy_cases::legacy_book(tx)? {
        cases.extend(book.cases);
    }
    for c in &cases {
        f.cases += 1;
        match &c.status {
            CaseStatus::Closed(o) => {
                f.closed += 1;
                match o {
                    Outcome::Sanction => f.sanctions += 1,
                    Outcome::Referred => f.referred += 1,
                    Outcome::Appropriate => {}
                }
            }
            _ if now - c.opened_at > Duration::days(30) => f.open_over_30_days += 1,
            _ => {}
        }
    }
    Ok(f)
}

fn incident_facts(tx: &mut dyn Tx, now: DateTime<Utc>) -> Result<IncidentFacts, StoreError> {
    let mut f = IncidentFacts::default();
    let today = now.date_naive();
    for r in tx.query("SELECT record FROM incidents", &[])? {
        let i: Incident = from_json(r.first().unwrap_or(&Value::Null), "incident")?;
        f.total += 1;
        if i.status != IncidentStatus::Closed {
            f.open += 1;
            if i.assessment.is_none() && today - i.discovered_on > Duration::days(30) {
                f.unassessed_over_30_days += 1;
            }
        }
        f.overdue_notifications += u32::try_from(i.overdue(today).len()).unwrap_or(u32::MAX);
    }
    Ok(f)
}
