//! Device vulnerability management for labguard: what runs on a lab's instruments and
//! workstations, which published vulnerabilities touch it, and what to fix first.
//!
//! The crate is pure: parsers take bytes or strings (zip archives as bytes), the clock is
//! passed in, and nothing touches a disk or a socket.

mod error;
pub mod version;

pub use error::{Error, Result};
