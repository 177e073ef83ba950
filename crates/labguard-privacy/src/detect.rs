//! The per-access detectors (everything but volume, which needs history: `volume.rs`).
//!
//! Rules, in one place so docs/privacy.md can state them exactly:
//! - A *care link* is an order, specimen, draw, result or worklist entry naming the user
//!   (or their department) for the patient within the relationship window.
//! - An access is *explained* when it came from the worklist or has a care link.
//! - Self-record fires on every open of one's own record.
//! - Same surname, same address and co-worker fire unless the access came from the worklist
//!   *and* has a care link (assigned work on a relative's draw is expected in a small lab).
//! - Unexplained accesses raise the most specific of restricted, dormant (reason unstated
//!   only), no-relationship: one of the three, never two for one access.
//! - After hours fires outside the shift (with grace) unless the access came from the worklist.

use chrono::{DateTime, Utc};
use labguard_core::Id;

use crate::alert::{Detector, Facts};
use crate::config::Config;
use crate::model::{Access, CareLink, PatientProfile, Reason, ScanContext, StaffProfile};

/// One detector's verdict on one access, before repeat-linking.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub detector: Detector,
    pub facts: Facts,
}

fn finding(detector: Detector) -> Finding {
    Finding {
        detector,
        facts: Facts::default(),
    }
}

/// The user's profile, or a bare one (role from the entry) for someone not in the directory
/// (a departed account): patient-side detectors still run.
pub(crate) fn profile_or_bare<'a>(
    ctx: &'a impl ScanContext,
    a: &Access,
    bare: &'a mut Option<StaffProfile>,
) -> &'a StaffProfile {
    if let Some(p) = ctx.staff(&a.staff) {
        return p;
    }
    bare.insert(StaffProfile {
        id: a.staff,
        role: a.role,
        department: None,
        surname_key: None,
        address_key: None,
        is_also_patient: None,
        shift: None,
    })
}

pub(crate) fn care_link(
    ctx: &impl ScanContext,
    staff: &StaffProfile,
    a: &Access,
    cfg: &Config,
) -> Option<CareLink> {
    let before = chrono::Duration::hours(i64::from(cfg.relationship_before(a.role)));
    let after = chrono::Duration::hours(i64::from(cfg.relationship_after_hours));
    ctx.care_link(staff, &a.patient, a.at - before, a.at + after)
}

/// Every finding for `a`, in [`Detector`] order (volume excluded).
pub(crate) fn findings(ctx: &impl ScanContext, a: &Access, cfg: &Config) -> Vec<Finding> {
    let mut bare = None;
    let staff = profile_or_bare(ctx, a, &mut bare);
    let patient = ctx.patient(&a.patient);
    let link = care_link(ctx, staff, a, cfg);
    let worklist = matches!(a.reason, Reason::Worklist);
    let mut out = vec![];

    let own = staff.is_also_patient.as_ref() == Some(&a.patient);
    if own {
        out.push(finding(Detector::SelfRecord));
    } else if !(worklist && link.is_some()) {
        out.extend(identity(ctx, staff, patient, a, staff.id));
    }
    if !worklist && link.is_none() {
        out.push(unexplained(patient, a, cfg));
    }
    if !worklist {
        let grace = cfg.after_hours_grace(a.role);
        if staff.shift.as_ref().is_some_and(|s| !s.covers(a.at, grace)) {
            out.push(finding(Detector::AfterHours));
        }
    }
    out.retain(|f| cfg.enabled(a.role, f.detector));
    out
}

fn identity(
    ctx: &impl ScanContext,
    staff: &StaffProfile,
    patient: Option<&PatientProfile>,
    a: &Access,
    me: Id,
) -> Vec<Finding> {
    let same = |x: Option<crate::BlindKey>, y: Option<crate::BlindKey>| match (x, y) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    };
    let mut out = vec![];
    if let Some(p) = patient {
        if same(staff.surname_key, p.surname_key) {
            out.push(finding(Detector::SameSurname));
        }
        if same(staff.address_key, p.address_key) {
            out.push(finding(Detector::SameAddress));
        }
    }
    if ctx
        .staff_member_for(&a.patient)
        .is_some_and(|other| other != me)
    {
        out.push(finding(Detector::CoWorker));
    }
    out
}

fn unexplained(patient: Option<&PatientProfile>, a: &Access, cfg: &Config) -> Finding {
    let window = Facts {
        window_hours: Some(cfg.relationship_before(a.role)),
        ..Facts::default()
    };
    let Some(p) = patient else {
        return Finding {
            detector: Detector::NoRelationship,
            facts: window,
        };
    };
    if p.restricted {
        return Finding {
            detector: Detector::Restricted,
            facts: window,
        };
    }
    if matches!(a.reason, Reason::Unstated) {
        if let Some(days) = dormant_days(p, a.at, cfg.dormant_after(a.role)) {
            return Finding {
                detector: Detector::Dormant,
                facts: Facts {
                    inactive_days: Some(days),
                    ..Facts::default()
                },
            };
        }
    }
    Finding {
        detector: Detector::NoRelationship,
        facts: window,
    }
}

/// `Some(days inactive)` for a deceased patient (days since last activity, 0 if unknown)
/// or one whose last activity is at least `after` days before the access.
fn dormant_days(p: &PatientProfile, at: DateTime<Utc>, after: u32) -> Option<u32> {
    let days = p
        .last_activity
        .map(|t| u32::try_from((at - t).num_days().max(0)).unwrap_or(u32::MAX));
    if p.deceased {
        return Some(days.unwrap_or(0));
    }
    days.filter(|d| *d >= after)
}
