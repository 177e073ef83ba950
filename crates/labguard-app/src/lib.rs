//! labguard's application services: what the HTTPS server and the CLI both do, written
//! once over labguard-store. The edges parse their input (HTTP, arguments), build the
//! `Actor`, call in here and render the result; permission checks and audit entries stay
//! in the store. This crate knows no HTTP: its result types are plain serde values (with
//! OpenAPI schemas under the `openapi` feature, for the server's documentation).

pub mod accounts;
pub mod compliance;
pub mod compliance_facts;
pub mod devices;
pub mod error;
pub mod privacy;
pub mod siem;
pub mod signin;
pub mod training;
pub mod vex_export;
