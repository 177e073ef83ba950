//! The input model: plain values the store fills from the audit log, the staff directory
//! and the patient tables. Nothing here holds a name or an address in the clear: surnames
//! and addresses arrive as blind keys (HMAC blind indexes the store computes), patients as
//! the audit log's pseudonymous reference.

use chrono::{DateTime, Datelike, Timelike, Utc};
use labguard_core::{Id, Role};
use serde::{Deserialize, Serialize};

/// The audit log's pseudonymous patient reference (`KeyRing::pseudonym`, e.g. `pt-…`):
/// linkable across entries, meaningless without the key. Opaque here.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PatientRef(pub String);

impl PatientRef {
    pub fn new(s: impl Into<String>) -> Self {
        PatientRef(s.into())
    }

    /// A stable 64-bit fingerprint (FNV-1a) used in the scanner's state instead of the
    /// reference itself: smaller state, and the same value on every node and every run
    /// (std's hasher is seeded per process, which would make saved state meaningless).
    pub fn fingerprint(&self) -> u64 {
        fnv1a(self.0.as_bytes())
    }
}

impl std::fmt::Debug for PatientRef {
    // Pseudonyms are not PHI, but they link entries: keep them out of stray debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PatientRef(..)")
    }
}

pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A blind key: the store's HMAC of a normalized surname or address
/// ([`crate::normalize_name`], [`crate::normalize_address`]). Only compared for equality.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BlindKey(pub [u8; 32]);

impl std::fmt::Debug for BlindKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlindKey(..)")
    }
}

/// What part of the record the access showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Seen {
    Demographics,
    Results,
    Specimen,
    Orders,
    /// A search hit or list row naming the patient.
    SearchResult,
}

impl Seen {
    pub fn label(self) -> &'static str {
        match self {
            Seen::Demographics => "demographics",
            Seen::Results => "results",
            Seen::Specimen => "specimen",
            Seen::Orders => "orders",
            Seen::SearchResult => "search result",
        }
    }
}

/// Why the access happened, as the audit entry records it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Reason {
    /// Opened from the user's worklist (a draw, order or result assigned to them).
    Worklist,
    /// Opened under a break-glass grant; `reason` is the user's justification (PHI-free
    /// by the grant policy, shown to the reviewer and in the patient's accounting).
    BreakGlass { reason: String },
    /// No reason recorded (search, direct link).
    Unstated,
}

/// One read of patient data, from one audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// The audit log sequence number: the scanner's order and cursor.
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub staff: Id,
    pub role: Role,
    pub patient: PatientRef,
    pub what: Seen,
    pub reason: Reason,
}

/// The hours a member of staff usually works, in the lab's local time given as a fixed
/// offset (the store passes the offset in force; a shift straddling a DST change is off by
/// the change for that night).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    /// Monday first.
    pub days: [bool; 7],
    /// Minutes after local midnight; `end < start` means the shift runs past midnight
    /// (the part after midnight belongs to the day it started).
    pub start_minute: u16,
    pub end_minute: u16,
    pub utc_offset_minutes: i16,
}

impl Shift {
    /// Whether `at` falls in the shift widened by `grace` minutes on both sides.
    pub fn covers(&self, at: DateTime<Utc>, grace: u16) -> bool {
        let local = at + chrono::Duration::minutes(i64::from(self.utc_offset_minutes));
        let minute = i64::from(local.hour() * 60 + local.minute());
        let weekday = local.weekday().num_days_from_monday() as usize;
        let (start, end, g) = (
            i64::from(self.start_minute),
            i64::from(self.end_minute),
            i64::from(grace),
        );
        let works = |day: usize| self.days.get(day % 7).copied().unwrap_or(false);
        let yesterday = (weekday + 6) % 7;
        // Each shift instance as [from, to) in minutes relative to today's midnight.
        let mut spans = vec![];
        if end > start {
            if works(weekday) {
                spans.push((start, end));
            }
            // A late shift's grace can reach past midnight, an early one's before it.
            if works(yesterday) {
                spans.push((start - 1440, end - 1440));
            }
            if works((weekday + 1) % 7) {
                spans.push((start + 1440, end + 1440));
            }
        } else {
            if works(weekday) {
                spans.push((start, end + 1440));
            }
            if works(yesterday) {
                spans.push((start - 1440, end));
            }
        }
        spans
            .iter()
            .any(|(from, to)| minute >= from - g && minute < to + g)
    }
}

pub(crate) fn local_day(at: DateTime<Utc>, offset_minutes: i16) -> i64 {
    (at.timestamp() + i64::from(offset_minutes) * 60).div_euclid(86_400)
}

/// A member of staff as the detectors see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffProfile {
    pub id: Id,
    pub role: Role,
    /// Opaque department key; care links through the department count (see
    /// [`CareRelationships`]).
    pub department: Option<String>,
    pub surname_key: Option<BlindKey>,
    pub address_key: Option<BlindKey>,
    /// The staff member's own patient record, if they are also a patient of the lab.
    pub is_also_patient: Option<PatientRef>,
    pub shift: Option<Shift>,
}

/// A patient as the detectors see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientProfile {
    pub patient: PatientRef,
    pub surname_key: Option<BlindKey>,
    pub address_key: Option<BlindKey>,
    /// VIP, employee-restricted or otherwise flagged record.
    pub restricted: bool,
    pub deceased: bool,
    /// The last order, specimen, draw or result for the patient, if any.
    pub last_activity: Option<DateTime<Utc>>,
}

/// What links a member of staff to a patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CareKind {
    Order,
    Specimen,
    Draw,
    Result,
    Worklist,
}

/// Whom the care event names: the user, their department, or their shift's worklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkVia {
    Staff,
    Department,
    Shift,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CareLink {
    pub kind: CareKind,
    pub via: LinkVia,
}

/// Lookups the store implements over its own tables (orders, specimens, draws, results,
/// worklists). `from..=to` is the relationship window around the access.
pub trait CareRelationships {
    fn care_link(
        &self,
        staff: &StaffProfile,
        patient: &PatientRef,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Option<CareLink>;
}

/// The directory lookups the scanner needs (the store preloads staff and the patients a
/// batch names).
pub trait Directory {
    fn staff(&self, id: &Id) -> Option<&StaffProfile>;
    fn patient(&self, patient: &PatientRef) -> Option<&PatientProfile>;
    /// The member of staff whose own patient record this is, if any.
    fn staff_member_for(&self, patient: &PatientRef) -> Option<Id>;
}

/// Everything [`crate::scan`] reads besides the accesses.
pub trait ScanContext: Directory + CareRelationships {}
impl<T: Directory + CareRelationships> ScanContext for T {}
