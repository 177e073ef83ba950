//! labguard-mllp's integration tests, one binary: each file below was its own test binary;
//! one link instead of one per file.

mod common;

mod astm_listener;
mod exposure;
mod fhir;
mod hl7_qc;
mod listener;
mod poct_listener;
mod sealed_keys;
