//! Device vulnerability management for labguard: what runs on a lab's instruments and
//! workstations, which published vulnerabilities touch it, and what to fix first.
//!
//! The crate is pure: parsers take bytes or strings (zip archives as bytes), the clock is
//! passed in, and nothing touches a disk or a socket.

pub mod advisory;
pub mod cpe;
pub mod device;
pub mod ecosystem;
mod error;
pub mod matching;
pub mod purl;
pub mod risk;
pub mod sbom;
pub mod version;

pub use error::{Error, Result};
