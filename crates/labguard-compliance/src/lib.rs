//! labguard's HIPAA Security Rule compliance logic, with no I/O: no SQL, disk, network or
//! clock (the time is always passed in).
//!
//! - [`catalog`]: every standard and implementation specification of 45 CFR 164.308–164.316,
//!   the NIST SP 800-66r2 key activities (embedded OSCAL), and the 2025 proposal's items.
//! - [`evidence`] and [`collect`]: dated, hashed evidence records and the collectors that
//!   turn store facts (and training/device facts through [`collect::ExternalFacts`]) into them.
//! - [`risk`]: the risk register (threat × vulnerability, 5×5, inherent and residual).
//! - [`incident`]: the breach risk assessment and notification clocks.
//! - [`attest`]: policies, BAAs and signed attestations.
//! - [`report`] and [`render`]: the audit report and its HTML, PDF and OSCAL forms.

pub mod attest;
pub mod catalog;
pub mod collect;
pub mod evidence;
pub mod facts;
pub mod incident;
pub mod render;
pub mod report;
pub mod risk;

pub use evidence::{Evidence, Status};

#[derive(Debug, thiserror::Error)]
pub enum ComplianceError {
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("rendering failed: {0}")]
    Render(String),
}
