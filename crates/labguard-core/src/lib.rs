//! The labguard domain model: what a medical lab and its blood-draw clinic deal in.
//!
//! Pure values and rules only. Nothing here touches a disk, a socket or the clock; callers
//! pass time in. Identifiers are UUIDs so several labguard nodes can create records on one
//! database without coordinating.

pub mod admission;
mod error;
mod lab;
mod patient;
mod staff;

pub use error::DomainError;
pub use lab::{
    AbnormalFlag, ContainerType, LabOrder, LabResult, LoincCode, ReferenceRange, ResultStatus,
    Specimen,
};
pub use patient::{Address, Patient, Sex};
pub use staff::{Permission, Role, Staff};

/// Short alias used across crates for record identifiers.
pub type Id = uuid::Uuid;
