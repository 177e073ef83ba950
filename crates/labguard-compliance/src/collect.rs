//! Evidence collectors as pure functions: the store gathers [`Facts`] read-only, and each
//! collector here turns its part into one [`Evidence`] record. Training and device facts
//! come from other subsystems through [`ExternalFacts`]; without them the collectors say a
//! person must look.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::evidence::{Evidence, Status};

/// A recorded run of an operation (audit verify, backup, restore drill, access review).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub duration_ms: Option<i64>,
}

/// Key-management facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeyFacts {
    /// When the active data key was created (None: no active key).
    pub active_data_key_created: Option<DateTime<Utc>>,
    pub active_data_key_version: Option<i64>,
    /// A rotation started and not finished, with its start time.
    pub rotation_started: Option<DateTime<Utc>>,
}

/// Account facts (counts only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountFacts {
    pub enabled: u32,
    pub enabled_with_mfa: u32,
    /// Enabled accounts whose role sees patient data.
    pub phi_enabled: u32,
    pub phi_enabled_with_mfa: u32,
    /// Enabled accounts with a generic name (admin, lab, shared, …).
    pub generic_names: Vec<String>,
    /// Enabled accounts sharing one e-mail address with another enabled account.
    pub shared_email_accounts: u32,
}

/// A recorded departure and when the account was disabled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leaver {
    pub user: String,
    pub left_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// Break-glass alerts and their reviews.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BreakGlassFacts {
    pub total: u32,
    /// Creation times of alerts not yet reviewed.
    pub unreviewed: Vec<DateTime<Utc>>,
}

/// Web server settings as last started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerFacts {
    pub started_at: DateTime<Utc>,
    pub idle_timeout_secs: i64,
    pub tls: bool,
    pub min_tls: String,
}

/// Incident register facts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IncidentFacts {
    pub total: u32,
    pub open: u32,
    /// Open incidents older than 30 days without a breach assessment.
    pub unassessed_over_30_days: u32,
    /// Notification deadlines passed without the notice being recorded.
    pub overdue_notifications: u32,
}

/// Training and phishing numbers (issue 6's store fills this in).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingFacts {
    pub as_of: DateTime<Utc>,
    pub assigned: u32,
    pub completed: u32,
    /// (role code, assignments overdue)
    pub overdue_by_role: Vec<(String, u32)>,
    /// Phishing simulations in the last 12 months.
    pub phishing_sent: u32,
    pub phishing_clicked: u32,
    pub phishing_reported: u32,
    /// Last security reminder sent to staff.
    pub last_reminder: Option<DateTime<Utc>>,
}

/// Device security numbers (issue 5's store fills this in).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceFacts {
    pub as_of: DateTime<Utc>,
    pub devices: u32,
    /// Devices with owner, location, network and software recorded.
    pub devices_complete: u32,
    /// Last time a person reviewed the whole inventory and network map.
    pub inventory_reviewed_at: Option<DateTime<Utc>>,
    /// Devices whose last security assessment is within its interval.
    pub assessments_current: u32,
    /// Open KEV-listed or critical vulnerabilities past their remediation deadline.
    pub kev_or_critical_past_deadline: u32,
    pub last_vulnerability_scan: Option<DateTime<Utc>>,
    pub last_penetration_test: Option<DateTime<Utc>>,
}

/// Where training and device facts come from; the lead wires these to their stores.
pub trait ExternalFacts {
    fn training(&self) -> Option<TrainingFacts>;
    fn devices(&self) -> Option<DeviceFacts>;
}

/// No training or device subsystem connected.
pub struct NoExternalFacts;

impl ExternalFacts for NoExternalFacts {
    fn training(&self) -> Option<TrainingFacts> {
        None
    }
    fn devices(&self) -> Option<DeviceFacts> {
        None
    }
}

/// Everything the store-backed collectors need, gathered in one read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub keys: KeyFacts,
    pub last_verify: Option<Run>,
    pub last_good_backup: Option<Run>,
    pub last_restore_drill: Option<Run>,
    pub accounts: AccountFacts,
    pub server: Option<ServerFacts>,
    pub last_access_review: Option<Run>,
    pub leavers: Vec<Leaver>,
    pub break_glass: BreakGlassFacts,
    pub incidents: IncidentFacts,
}

/// Runs every collector.
pub fn collect_all(facts: &Facts, ext: &dyn ExternalFacts, now: DateTime<Utc>) -> Vec<Evidence> {
    let training = ext.training();
    let devices = ext.devices();
    vec![
        encryption_at_rest(&facts.keys, now),
        audit_verified(facts.last_verify.as_ref(), now),
        backups(facts.last_good_backup.as_ref(), now),
        restore_drill(facts.last_restore_drill.as_ref(), now),
        mfa_coverage(&facts.accounts, now),
        unique_ids(&facts.accounts, now),
        automatic_logoff(facts.server.as_ref(), now),
        sessions_tls(facts.server.as_ref(), now),
        access_review(facts.last_access_review.as_ref(), now),
        leavers(&facts.leavers, now),
        break_glass(&facts.break_glass, now),
        incidents(&facts.incidents, now),
        training_completion(training.as_ref(), now),
        phishing(training.as_ref(), now),
        device_inventory(devices.as_ref(), now),
        device_assessments(devices.as_ref(), now),
        vulnerabilities(devices.as_ref(), now),
    ]
}

fn days(d: Duration) -> i64 {
    d.num_days()
}

pub fn encryption_at_rest(k: &KeyFacts, now: DateTime<Utc>) -> Evidence {
    let specs = ["164.312(a)(2)(iv)", "164.312(c)(2)", "proposed-encryption"];
    let obs = json!({
        "active_data_key_version": k.active_data_key_version,
        "active_data_key_age_days": k.active_data_key_created.map(|t| days(now - t)),
        "rotation_in_progress": k.rotation_started.is_some(),
    });
    let (status, summary) = match k.active_data_key_created {
        None => (Status::NotMet, "no active data-encryption key".to_string()),
        Some(t) => {
            let age = days(now - t);
            let stuck = k
                .rotation_started
                .is_some_and(|s| now - s > Duration::days(1));
            if stuck {
                (Status::PartlyMet, "fields are encrypted, but a key rotation started over a day ago has not finished".into())
            } else if age > 365 {
                (Status::PartlyMet, format!("fields are encrypted with AES-256-GCM; the data key is {age} days old (rotate yearly)"))
            } else {
                (
                    Status::Met,
                    format!(
                        "fields are encrypted with AES-256-GCM; the data key is {age} days old"
                    ),
                )
            }
        }
    };
    Evidence::new(
        "encryption-at-rest",
        "Encryption at rest and key age",
        &specs,
        status,
        summary,
        obs,
        now,
    )
}

pub fn audit_verified(last: Option<&Run>, now: DateTime<Utc>) -> Evidence {
    let specs = ["164.312(b)", "164.312(c)(1)", "164.308(a)(1)(ii)(D)"];
    let obs = json!({"last_run": last});
    let (status, summary) = match last {
        None => (
            Status::NotMet,
            "the audit log has never been verified".to_string(),
        ),
        Some(r) if !r.ok => (
            Status::NotMet,
            "the last audit log verification FAILED".into(),
        ),
        Some(r) if now - r.at > Duration::days(31) => (
            Status::PartlyMet,
            format!(
                "the audit log verified, but {} days ago (verify at least monthly)",
                days(now - r.at)
            ),
        ),
        Some(r) => (
            Status::Met,
            format!("the audit log verified {} days ago", days(now - r.at)),
        ),
    };
    Evidence::new(
        "audit-verified",
        "Audit log verified",
        &specs,
        status,
        summary,
        obs,
        now,
    )
}

pub fn backups(last: Option<&Run>, now: DateTime<Utc>) -> Evidence {
    let specs = [
        "164.308(a)(7)(ii)(A)",
        "164.310(d)(2)(iv)",
        "proposed-backup-48h",
    ];
    let obs = json!({"last_good_backup": last});
    let (status, summary) = match last {
        None => (Status::NotMet, "no verified backup is recorded".to_string()),
        Some(r) => {
            let h = (now - r.at).num_hours();
            if h <= 48 {
                (
                    Status::Met,
                    format!("last good backup {h} hours ago (48 hours allowed)"),
                )
            } else if h <= 24 * 7 {
                (
                    Status::PartlyMet,
                    format!("last good backup {h} hours ago: older than 48 hours"),
                )
            } else {
                (
                    Status::NotMet,
                    format!("last good backup {} days ago", h / 24),
                )
            }
        }
    };
    Evidence::new(
        "backups",
        "Last good backup",
        &specs,
        status,
        summary,
        obs,
        now,
    )
}

pub fn restore_drill(last: Option<&Run>, now: DateTime<Utc>) -> Evidence {
    let specs = [
        "164.308(a)(7)(ii)(B)",
        "164.308(a)(7)(ii)(D)",
        "proposed-restore-72h",
    ];
    let obs = json!({"last_restore_drill": last});
    let limit_ms = 72 * 3600 * 1000;
    let (status, summary) = match last {
        None => (Status::NotMet, "no restore drill is recorded".to_string()),
        Some(r) if !r.ok => (Status::NotMet, "the last restore drill failed".into()),
        Some(r) if now - r.at > Duration::days(365) => (
            Status::PartlyMet,
            format!(
                "last restore drill {} days ago (drill at least yearly)",
                days(now - r.at)
            ),
        ),
        Some(r) if r.duration_ms.is_some_and(|d| d > limit_ms) => (
            Status::PartlyMet,
            "the last restore drill took longer than 72 hours".into(),
        ),
        Some(r) => (
            Status::Met,
            format!(
                "restore drill {} days ago took {} s",
                days(now - r.at),
                r.duration_ms.unwrap_or(0) / 1000
            ),
        ),
    };
    Evidence::new(
        "restore-drill",
        "Restore drill and its duration",
        &specs,
        status,
        summary,
        obs,
        now,
    )
}

pub fn mfa_coverage(a: &AccountFacts, now: DateTime<Utc>) -> Evidence {
    let specs = ["164.312(d)", "proposed-mfa"];
    let obs = json!({
        "enabled": a.enabled, "enabled_with_mfa": a.enabled_with_mfa,
        "phi_enabled": a.phi_enabled, "phi_enabled_with_mfa": a.phi_enabled_with_mfa,
    });
    let (status, summary) = if a.enabled == 0 {
        (Status::NeedsPerson, "no enabled accounts".to_string())
    } else if a.enabled_with_mfa == a.enabled {
        (
            Status::Met,
            format!("all {} enabled accounts use MFA", a.enabled),
        )
    } else if a.phi_enabled_with_mfa == a.phi_enabled {
        (
            Status::PartlyMet,
            format!(
                "every account that sees patient data uses MFA; {} of {} others do not",
                a.enabled - a.enabled_with_mfa,
                a.enabled - a.phi_enabled
            ),
        )
    } else {
        (
            Status::NotMet,
            format!(
                "{} of {} accounts that see patient data have no MFA",
                a.phi_enabled - a.phi_enabled_with_mfa,
                a.phi_enabled
            ),
        )
    };
    Evidence::new(
        "mfa-coverage",
        "MFA coverage",
        &specs,
        status,
        summary,
        obs,
        now,
    )
}

pub fn unique_ids(a: &AccountFacts, now: DateTime<Utc>) -> Evidence {
    let specs = ["164.312(a)(2)(i)"];
    let obs = json!({
        "enabled": a.enabled, "generic_names": a.generic_names,
        "shared_email_accounts": a.shared_email_accounts,
    });
    let (status, summary) = if a.generic_names.is_empty() && a.shared_email_accounts == 0 {
        (
            Status::Met,
            format!("{} enabled accounts, each a named person", a.enabled),
        )
    } else {
        (
            Status::NotMet,
            format!(
                "{} generic account names and {} accounts sharing an e-mail address",
                a.generic_names.len(),
                a.shared_email_accounts
            ),
        )
    };
    Evidence::new(
        "unique-user-ids",
        "Unique user identification",
        &specs,
        status,
        summary,
        obs,
        now,
    )
}

pub fn automatic_logoff(s: Option<&ServerFacts>, now: DateTime<Utc>) -> Evidence {
    let specs = ["164.312(a)(2)(iii)"];
    let obs = json!({"server": s});
    let (status, summary) = match s {
        None => (
            Status::NeedsPerson,
            "the web server has not recorded its settings yet".to_string(),
        ),
        Some(s) if s.idle_timeout_secs <= 15 * 60 => (
            Status::Met,
            format!(
                "idle sessions end after {} minutes",
                s.idle_timeout_secs / 60
            ),
        ),
        Some(s) if s.idle_timeout_secs <= 60 * 60 => (
            Status::PartlyMet,
            format!(
                "idle sessions end after {} minutes (15 recommended)",
                s.idle_timeout_secs / 60
            ),
        ),
        Some(s) => (
            Status::NotMet,
            format!("idle sessions last {} minutes", s.idle_timeout_secs / 60),
        ),
    };
    Evidence::new(
        "automatic-logoff",
        "Automatic logoff",
        &specs,
        status,
        summary,
        obs,
        now,
    )
}

pub fn sessions_tls(s: Option<&ServerFacts>, now: DateTime<Utc>) -> Evidence {
    let specs = [
        "164.312(e)(1)",
        "164.312(e)(2)(i)",
        "164.312(e)(2)(ii)",
        "proposed-encryption",
    ];
    let obs = json!({"server": s});
    let (status, summary) = match s {
        None => (
            Status::NeedsPerson,
            "the web server has not recorded its settings yet".to_string(),
        ),
        Some(s) if s.tls => (
            Status::Met,
            format!("web sessions use TLS (minimum {})", s.min_tls),
        ),
        Some(_) => (Status::NotMet, "web sessions are served without TLS".into()),
    };
    Evidence::new(
        "sessions-tls",
        "Sessions over TLS",
        &specs,
        status,
        summary,
        obs,
        now,
    )
}

pub fn access_review(last: Option<&Run>, now: DateTime<Utc>) -> Evidence {
    let specs = [
        "164.308(a)(4)(ii)(C)",
        "164.308(a)(3)(ii)(B)",
        "164.308(a)(1)(ii)(D)",
    ];
    let obs = json!({"last_review": last});
    let (status, summary) = match last {
        None => (Status::NotMet, "no access review is recorded".to_string()),
        Some(r) if now - r.at <= Duration::days(92) => (
            Status::Met,
            format!("access reviewed {} days ago (quarterly)", days(now - r.at)),
        ),
        Some(r) => (
            Status::NotMet,
            format!(
                "last access review {} days ago: over a quarter",
                days(now - r.at)
            ),
        ),
    };
    Evidence::new(
        "access-review",
        "Access review within the quarter",
        &specs,
        status,
        summary,
        obs,
        now,
    )
}

pub fn leavers(ls: &[Leaver], now: DateTime<Utc>) -> Evidence {
    let specs = ["164.308(a)(3)(ii)(C)", "proposed-leaver-1h"];
    let late: Vec<&Leaver> = ls
        .iter()
        .filter(|l| match l.disabled_at {
            Some(d) => d - l.left_at > Duration::hours(1),
            None => true,
        })
        .collect();
    let obs = json!({
        "leavers": ls.len(),
        "late_or_still_enabled": late.len(),
        "late_users": late.iter().map(|l| l.user.clone()).collect::<Vec<_>>(),
    });
    let (status, summary) = if ls.is_empty() {
        (Status::Met, "no leavers recorded".to_string())
    } else if late.is_empty() {
        (
            Status::Met,
            format!("all {} leavers disabled within 1 hour", ls.len()),
        )
    } else {
        (
            Status::NotMet,
            format!(
                "{} of {} leavers kept access for over 1 hour",
                late.len(),
                ls.len()
            ),
        )
    };
    Evidence::new(
        "leavers-disabled",
        "Leavers disabled on time",
        &specs,
        status,
        summary,
        obs,
        now,
    )
}

pub fn break_glass(b: &BreakGlassFacts, now: DateTime<Utc>) -> Evidence {
    let specs = ["164.312(a)(2)(ii)", "164.308(a)(1)(ii)(D)"];
    let stale = b
        .unreviewed
        .iter()
        .filter(|t| now - **t > Duration::days(7))
        .count();
    let obs = json!({"alerts": b.total, "unreviewed": b.unreviewed.len(), "unreviewed_over_7_days": stale});
    let (status, summary) = if b.unreviewed.is_empty() {
        (
            Status::Met,
            format!("all {} break-glass and security alerts reviewed", b.total),
        )
    } else if stale == 0 {
        (
            Status::PartlyMet,
            format!(
                "{} alerts await review (under 7 days old)",
                b.unreviewed.len()
            ),
        )
    } else {
        (
            Status::NotMet,
            format!("{stale} alerts unreviewed for over 7 days"),
        )
    };
    Evidence::new(
        "break-glass-reviewed",
        "Break-glass events reviewed",
        &specs,
        status,
        summary,
        obs,
        now,
    )
}

pub fn incidents(i: &IncidentFacts, now: DateTime<Utc>) -> Evidence {
    let specs = ["164.308(a)(6)(ii)"];
    let obs = serde_json::to_value(i).unwrap_or_default();
    let (status, summary) = if i.overdue_notifications > 0 {
        (
            Status::NotMet,
            format!(
                "{} breach notifications are overdue",
                i.overdue_notifications
            ),
        )
    } else if i.unassessed_over_30_days > 0 {
        (
            Status::PartlyMet,
            format!(
                "{} incidents over 30 days old lack a breach assessment",
                i.unassessed_over_30_days
            ),
        )
    } else {
        (
            Status::Met,
            format!(
                "{} incidents recorded, {} open, none overdue",
                i.total, i.open
            ),
        )
    };
    Evidence::new(
        "incidents-handled",
        "Incidents handled",
        &specs,
        status,
        summary,
        obs,
        now,
    )
}

fn no_facts(
    collector: &str,
    title: &str,
    specs: &[&str],
    what: &str,
    now: DateTime<Utc>,
) -> Evidence {
    Evidence::new(
        collector,
        title,
        specs,
        Status::NeedsPerson,
        format!("no {what} data is connected: a person must provide the evidence"),
        json!({"connected": false}),
        now,
    )
}

pub fn training_completion(t: Option<&TrainingFacts>, now: DateTime<Utc>) -> Evidence {
    let specs = ["164.308(a)(5)(i)", "164.308(a)(5)(ii)(A)"];
    let (c, title) = (
        "training-completion",
        "Training completion and overdue by role",
    );
    let Some(t) = t else {
        return no_facts(c, title, &specs, "training", now);
    };
    let overdue: u32 = t.overdue_by_role.iter().map(|(_, n)| n).sum();
    let rate = if t.assigned == 0 {
        0.0
    } else {
        f64::from(t.completed) / f64::from(t.assigned)
    };
    let obs = json!({"as_of": t.as_of, "assigned": t.assigned, "completed": t.completed,
        "completion_rate": (rate * 1000.0).round() / 1000.0, "overdue_by_role": t.overdue_by_role,
        "last_reminder": t.last_reminder});
    let (status, summary) = if t.assigned == 0 {
        (Status::NotMet, "no training is assigned".to_string())
    } else if overdue == 0 && rate >= 0.95 {
        (
            Status::Met,
            format!(
                "{:.0}% of assigned training completed, none overdue",
                rate * 100.0
            ),
        )
    } else if rate >= 0.8 {
        (
            Status::PartlyMet,
            format!("{:.0}% completed, {overdue} overdue", rate * 100.0),
        )
    } else {
        (
            Status::NotMet,
            format!("only {:.0}% completed, {overdue} overdue", rate * 100.0),
        )
    };
    Evidence::new(c, title, &specs, status, summary, obs, now)
}

pub fn phishing(t: Option<&TrainingFacts>, now: DateTime<Utc>) -> Evidence {
    let specs = ["164.308(a)(5)(ii)(A)", "164.308(a)(5)(ii)(B)"];
    let (c, title) = ("phishing-rates", "Phishing click and report rates");
    let Some(t) = t else {
        return no_facts(c, title, &specs, "phishing", now);
    };
    let pct = |n: u32| {
        if t.phishing_sent == 0 {
            0.0
        } else {
            100.0 * f64::from(n) / f64::from(t.phishing_sent)
        }
    };
    let (click, report) = (pct(t.phishing_clicked), pct(t.phishing_reported));
    let obs = json!({"sent": t.phishing_sent, "clicked": t.phishing_clicked, "reported": t.phishing_reported});
    let (status, summary) = if t.phishing_sent == 0 {
        (
            Status::NotMet,
            "no phishing simulation in the last 12 months".to_string(),
        )
    } else if click <= 5.0 && report >= 50.0 {
        (
            Status::Met,
            format!("click rate {click:.1}%, report rate {report:.1}%"),
        )
    } else if click <= 15.0 {
        (
            Status::PartlyMet,
            format!("click rate {click:.1}%, report rate {report:.1}%"),
        )
    } else {
        (Status::NotMet, format!("click rate {click:.1}% is high"))
    };
    Evidence::new(c, title, &specs, status, summary, obs, now)
}

pub fn device_inventory(d: Option<&DeviceFacts>, now: DateTime<Utc>) -> Evidence {
    let specs = [
        "164.310(d)(2)(iii)",
        "164.308(a)(1)(ii)(A)",
        "proposed-asset-inventory",
    ];
    let (c, title) = ("device-inventory", "Device inventory complete and reviewed");
    let Some(d) = d else {
        return no_facts(c, title, &specs, "device inventory", now);
    };
    let reviewed = d
        .inventory_reviewed_at
        .is_some_and(|t| now - t <= Duration::days(365));
    let obs = json!({"devices": d.devices, "complete": d.devices_complete, "reviewed_at": d.inventory_reviewed_at});
    let (status, summary) = if d.devices == 0 {
        (Status::NotMet, "the device inventory is empty".to_string())
    } else if d.devices_complete == d.devices && reviewed {
        (
            Status::Met,
            format!(
                "{} devices, all complete, reviewed within 12 months",
                d.devices
            ),
        )
    } else if reviewed || d.devices_complete == d.devices {
        (
            Status::PartlyMet,
            format!(
                "{} of {} devices complete; reviewed within 12 months: {reviewed}",
                d.devices_complete, d.devices
            ),
        )
    } else {
        (
            Status::NotMet,
            "inventory incomplete and not reviewed within 12 months".into(),
        )
    };
    Evidence::new(c, title, &specs, status, summary, obs, now)
}

pub fn device_assessments(d: Option<&DeviceFacts>, now: DateTime<Utc>) -> Evidence {
    let specs = [
        "164.308(a)(8)",
        "164.308(a)(1)(ii)(A)",
        "proposed-vuln-scan",
        "proposed-pen-test",
    ];
    let (c, title) = (
        "device-assessments",
        "Device assessments, scans and pen tests current",
    );
    let Some(d) = d else {
        return no_facts(c, title, &specs, "device assessment", now);
    };
    let scan = d
        .last_vulnerability_scan
        .is_some_and(|t| now - t <= Duration::days(183));
    let pen = d
        .last_penetration_test
        .is_some_and(|t| now - t <= Duration::days(365));
    let obs = json!({"devices": d.devices, "assessments_current": d.assessments_current,
        "last_vulnerability_scan": d.last_vulnerability_scan, "last_penetration_test": d.last_penetration_test});
    let all = d.devices > 0 && d.assessments_current == d.devices;
    let (status, summary) = match (all, scan, pen) {
        (true, true, true) => (
            Status::Met,
            "every device assessed; scan within 6 months; pen test within 12".to_string(),
        ),
        (false, false, false) => (
            Status::NotMet,
            "assessments, scans and pen tests are out of date".into(),
        ),
        _ => (
            Status::PartlyMet,
            format!(
                "{} of {} devices assessed; scan current: {scan}; pen test current: {pen}",
                d.assessments_current, d.devices
            ),
        ),
    };
    Evidence::new(c, title, &specs, status, summary, obs, now)
}

pub fn vulnerabilities(d: Option<&DeviceFacts>, now: DateTime<Utc>) -> Evidence {
    let specs = ["164.308(a)(1)(ii)(B)", "164.308(a)(5)(ii)(B)"];
    let (c, title) = (
        "kev-critical-overdue",
        "Open KEV or critical vulnerabilities past deadline",
    );
    let Some(d) = d else {
        return no_facts(c, title, &specs, "vulnerability", now);
    };
    let obs = json!({"past_deadline": d.kev_or_critical_past_deadline});
    let (status, summary) = if d.kev_or_critical_past_deadline == 0 {
        (
            Status::Met,
            "no KEV or critical vulnerability is past its deadline".to_string(),
        )
    } else {
        (
            Status::NotMet,
            format!(
                "{} KEV or critical vulnerabilities are past their deadline",
                d.kev_or_critical_past_deadline
            ),
        )
    };
    Evidence::new(c, title, &specs, status, summary, obs, now)
}
