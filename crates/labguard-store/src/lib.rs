//! labguard's storage: the only code that sees ciphertext, unwraps keys, and appends audit
//! entries. A patient-data write and its audit entry commit in one transaction or not at all.
//!
//! - [`Backend`] is the one storage trait (SQL in transactions), implemented for SQLite
//!   ([`SqliteBackend`]) and PostgreSQL ([`PgBackend`]).
//! - [`Store`] sits above it: envelope encryption, blind indexes, the role check, the
//!   Merkle audit log with signed checkpoints, key rotation, and verification.
//! - [`DataDir`] knows the on-disk layout (database file and 0600 key file).

mod accounts;
mod action;
mod actor;
mod assessments;
mod assets;
mod audit_log;
mod backend;
mod bench_support;
mod breakglass;
mod codec;
mod compliance;
mod compliance_facts;
mod coverage;
mod credentials;
mod datadir;
mod delta;
mod directory;
mod error;
mod findings;
mod group;
mod held_review;
mod ingest;
mod instruments;
mod key_usage;
mod leases;
mod migrate;
mod network;
mod oidc;
mod pg_batch;
mod pg_pool;
mod pg_tls;
mod phishing;
mod phishing_delivery;
mod phishing_events;
mod postgres;
mod privacy;
mod privacy_cases;
mod privacy_review;
mod privacy_tuning;
mod qc;
mod qc_recall;
mod records;
mod rotation;
mod rows;
mod sealed_keys;
mod sessions;
mod siem;
mod sqlite;
mod store;
mod table;
mod training;
mod verify;
mod vulns;
mod worklists;

pub use accounts::{Account, SignInEvent};
pub use action::Action;
pub use actor::{Actor, ActorKind, STAFF_READERS};
pub use assessments::{
    Assessment, CheckResult, ChecklistItem, NewAssessment, ScheduleEntry, DEFAULT_CHECKLIST,
};
pub use assets::{DeviceChange, InstrumentLink, InventoryDevice};
pub use backend::BackendKind;
pub use breakglass::{Alert, NewGrant};
pub use compliance::{run_kind, RunKind, RunRecord};
pub use coverage::{audited, Cover, Coverage};
pub use credentials::{CredentialChange, MfaConfirmed};
pub use datadir::{DataDir, Location};
pub use delta::{is_delta_reason, DELTA_EXCEEDED, DELTA_UNITS_DIFFER, DELTA_UNITS_UNKNOWN};
pub use directory::{DeviceRecord, OperatorStanding};
pub use error::StoreError;
pub use held_review::HeldDecision;
pub use ingest::{Inbound, IngestOutcome, BEFORE_DRAW, UNKNOWN_PATIENT};
pub use instruments::{DeviceStatus, Enrollment, HeldResult, InstrumentAlert, Protocol, Transport};
pub use key_usage::KeyVersionUsage;
pub use network::NetworkLink;
pub use oidc::{SsoCheck, SsoEvent, SSO_ONLY_PASSWORD};
pub use pg_tls::{parse_target, PgTarget, RootCerts, SslMode};
pub use phishing::{
    event_code, Campaign, DeliveryStatus, NewRecipient, RecipientRecord, TrackedEvent,
};
pub use phishing_delivery::{Delivery, MailTransport};
pub use privacy::{CasePatient, PrivacyScanSummary, StaffPrivacyProfile};
pub use privacy_cases::CaseSummary;
pub use privacy_review::CaseStep;
pub use qc::{chart_series as qc_chart_series, QcOutcome, QcReading, QcRecord, QC_REJECTED};
pub use qc_recall::{QcRecall, Recalled, LOOKBACK_WITHOUT_GOOD_RUN, MAX_RECALLED};
pub use rotation::{RotateOptions, RotationReport};
pub use sealed_keys::SealedKey;
pub use sessions::{ApiTokenInfo, ApiTokenRecord, SessionRecord, SessionStage};
pub use siem::{SiemStatus, Spooled};
pub use store::{Clock, CrossNodeLocks, SharedSecret, Store, StoreOptions};
pub use training::{Attempt, StoredCourse};
pub use verify::{VerifyProblem, VerifyReport};
pub use vulns::{SbomImport, SeverityCounts, Sighting};

/// What the store's own tests and the test kit need of its insides: the raw backends (to
/// tamper with rows behind the store's back, or drop a test schema). Never enabled by a
/// production build: only dev-dependencies turn it on.
#[cfg(feature = "testing")]
pub mod testing {
    pub use crate::backend::{Backend, Row, Tx, Value};
    pub use crate::postgres::PgBackend;
    pub use crate::sqlite::SqliteBackend;
}
