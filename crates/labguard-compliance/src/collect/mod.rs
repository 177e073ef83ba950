//! Evidence collectors as pure functions: the store gathers [`Facts`] read-only, and each
//! collector here turns its part into one [`Evidence`] record. Training and device facts
//! come from other subsystems through [`ExternalFacts`]; without them the collectors say a
//! person must look.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use crate::evidence::{Evidence, Status};

pub use crate::facts::*;

mod external;
mod privacy;
pub use external::{
    device_assessments, device_inventory, phishing, training_completion, vulnerabilities,
};
pub use privacy::{privacy_reviews, privacy_sanctions};

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
        privacy_reviews(&facts.privacy, now),
        privacy_sanctions(&facts.privacy, now),
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
