//! An in-memory [`ScanContext`]: for tests, benches, and a store that preloads a batch's
//! staff, patients and care events.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use labguard_core::Id;

use crate::model::{
    CareKind, CareLink, CareRelationships, Directory, LinkVia, PatientProfile, PatientRef,
    StaffProfile,
};

/// One order, specimen, draw, result or worklist entry for a patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CareEvent {
    pub at: DateTime<Utc>,
    pub patient: PatientRef,
    pub kind: CareKind,
    /// The member of staff the event names (who ordered, drew, entered, or is assigned).
    pub staff: Option<Id>,
    /// The department it was routed to.
    pub department: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct MemoryContext {
    staff: HashMap<Id, StaffProfile>,
    patients: HashMap<PatientRef, PatientProfile>,
    staff_patients: HashMap<PatientRef, Id>,
    /// Per patient, sorted by time.
    events: HashMap<PatientRef, Vec<CareEvent>>,
}

impl MemoryContext {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_staff(&mut self, s: StaffProfile) {
        if let Some(p) = &s.is_also_patient {
            self.staff_patients.insert(p.clone(), s.id);
        }
        self.staff.insert(s.id, s);
    }

    pub fn add_patient(&mut self, p: PatientProfile) {
        self.patients.insert(p.patient.clone(), p);
    }

    pub fn add_event(&mut self, e: CareEvent) {
        let list = self.events.entry(e.patient.clone()).or_default();
        let at = list.partition_point(|x| x.at <= e.at);
        list.insert(at, e);
    }
}

impl Directory for MemoryContext {
    fn staff(&self, id: &Id) -> Option<&StaffProfile> {
        self.staff.get(id)
    }

    fn patient(&self, patient: &PatientRef) -> Option<&PatientProfile> {
        self.patients.get(patient)
    }

    fn staff_member_for(&self, patient: &PatientRef) -> Option<Id> {
        self.staff_patients.get(patient).copied()
    }
}

impl CareRelationships for MemoryContext {
    fn care_link(
        &self,
        staff: &StaffProfile,
        patient: &PatientRef,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Option<CareLink> {
        let list = self.events.get(patient)?;
        let start = list.partition_point(|e| e.at < from);
        let in_window = list.get(start..)?.iter().take_while(|e| e.at <= to);
        let mut department = None;
        for e in in_window {
            if e.staff == Some(staff.id) {
                // The strongest link: the user themselves.
                return Some(CareLink {
                    kind: e.kind,
                    via: LinkVia::Staff,
                });
            }
            if department.is_none()
                && e.department.is_some()
                && e.department.as_deref() == staff.department.as_deref()
            {
                department = Some(CareLink {
                    kind: e.kind,
                    via: LinkVia::Department,
                });
            }
        }
        department
    }
}
