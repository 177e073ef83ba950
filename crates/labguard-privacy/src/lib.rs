//! Privacy monitoring from the audit log: catch staff snooping on patient records.
//!
//! Pure logic, no I/O and no clock: the store fills the input model ([`Access`] from audit
//! entries, [`StaffProfile`] and [`PatientProfile`] from its tables with surnames and
//! addresses as blind keys, care links through [`CareRelationships`]), runs [`scan`] over
//! new entries with the saved [`ScanState`], files the alerts into [`Case`]s with a
//! [`CaseBook`], and renders the [`PatientAccessReport`] and the [`Dashboard`].
//! docs/privacy.md describes each detector, the statistic and the tuning.

mod alert;
pub mod baseline;
mod cases;
mod config;
mod dashboard;
mod detect;
mod memory;
mod model;
mod normalize;
mod report;
mod scan;
mod serde_maps;
mod tuning;
mod volume;

pub use alert::{Alert, AlertId, Bucket, Detector, Facts};
pub use cases::{Case, CaseBook, CaseError, CaseEvent, CaseId, CaseStatus, Outcome, Period};
pub use config::{Config, RoleTuning, VolumeConfig};
pub use dashboard::{BacklogAge, Dashboard, DashboardUser, DetectorSeries, Names};
pub use memory::{CareEvent, MemoryContext};
pub use model::{
    Access, BlindKey, CareKind, CareLink, CareRelationships, Directory, LinkVia, PatientProfile,
    PatientRef, Reason, ScanContext, Seen, Shift, StaffProfile,
};
pub use normalize::{normalize_address, normalize_name};
pub use report::{AccessRow, PatientAccessReport, StaffShown};
pub use scan::{rescan, scan, ScanState};
pub use tuning::{
    propose_tunings, FalsePositive, Tuning, TuningChange, TuningError, TuningProposal,
};
