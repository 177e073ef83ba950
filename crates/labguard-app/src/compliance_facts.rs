//! The training and device-security numbers the compliance collectors need, read from the
//! live store through the same code the training and fleet reports use, so the evidence an
//! auditor sees agrees with those pages.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use labguard_compliance::facts::{DeviceFacts, ExternalFacts, TrainingFacts};
use labguard_devices::risk::RemediationPolicy;
use labguard_store::{Actor, Store, StoreError};

use crate::devices::{fleet_report, Recording};

/// Facts gathered once, then handed to the collectors.
pub struct LiveFacts {
    training: Option<TrainingFacts>,
    devices: Option<DeviceFacts>,
}

impl ExternalFacts for LiveFacts {
    fn training(&self) -> Option<TrainingFacts> {
        self.training.clone()
    }
    fn devices(&self) -> Option<DeviceFacts> {
        self.devices.clone()
    }
}

impl LiveFacts {
    /// Reads both subsystems; one that cannot be read is left out (its collectors then ask
    /// for a person) rather than failing the whole collection.
    pub fn gather(store: &Store, actor: &Actor, now: DateTime<Utc>) -> LiveFacts {
        LiveFacts {
            training: training_facts(store, actor, now).ok(),
            devices: device_facts(store, actor, now).ok(),
        }
    }
}

/// Assignments and completions, overdue by role, and the last year's phishing results.
pub fn training_facts(
    store: &Store,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<TrainingFacts, StoreError> {
    let year_ago = now - Duration::days(365);
    let open = crate::training::open_assignments(store, actor, None, now)?;
    let completed = store
        .completions(actor, None)?
        .iter()
        .filter(|c| c.completed_at >= year_ago)
        .count();
    let roles: BTreeMap<_, _> = store
        .list_staff(actor)?
        .into_iter()
        .map(|s| (s.id, s.role.code().to_string()))
        .collect();
    let mut overdue: BTreeMap<String, u32> = BTreeMap::new();
    for a in open.iter().filter(|a| a.overdue_days > 0) {
        let role = roles.get(&a.staff_id).cloned().unwrap_or_default();
        *overdue.entry(role).or_default() += 1;
    }
    let (mut sent, mut clicked, mut reported) = (0, 0, 0);
    for r in crate::training::all_reports(store, actor)?
        .iter()
        .filter(|r| r.launched_at >= year_ago)
    {
        sent += r.totals.sent;
        clicked += r.totals.clicked.max(r.totals.submitted);
        reported += r.totals.reported;
    }
    let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
    Ok(TrainingFacts {
        as_of: now,
        assigned: n(open.len() + completed),
        completed: n(completed),
        overdue_by_role: overdue.into_iter().collect(),
        phishing_sent: n(sent),
        phishing_clicked: n(clicked),
        phishing_reported: n(reported),
        last_reminder: None,
    })
}

/// Inventory completeness, assessments, and KEV/critical findings past their deadline,
/// from the fleet report under the default remediation policy.
pub fn device_facts(
    store: &Store,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<DeviceFacts, StoreError> {
    // Collection is the daily, audited run: it also records what the fleet report saw.
    let fleet = fleet_report(
        store,
        actor,
        None,
        &RemediationPolicy::default(),
        now,
        Recording::Record,
    )?;
    let n = |x: usize| u32::try_from(x).unwrap_or(u32::MAX);
    let complete = fleet
        .devices
        .iter()
        .filter(|d| d.address.is_some() && d.firmware.is_some())
        .count();
    let assessed = fleet
        .devices
        .iter()
        .filter(|d| {
            d.assessment
                .as_ref()
                .is_some_and(|a| a.last_assessed.is_some() && !a.overdue)
        })
        .count();
    let past_deadline = fleet
        .devices
        .iter()
        .flat_map(|d| &d.findings)
        .filter(|f| f.overdue && (f.kev || f.severity.eq_ignore_ascii_case("critical")))
        .count();
    Ok(DeviceFacts {
        as_of: now,
        devices: n(fleet.devices.len()),
        devices_complete: n(complete),
        // A review of the whole inventory and map is a person's act: attested, not inferred.
        inventory_reviewed_at: None,
        assessments_current: n(assessed),
        kev_or_critical_past_deadline: n(past_deadline),
        last_vulnerability_scan: store.last_exposure_scan()?,
        last_penetration_test: None,
    })
}
