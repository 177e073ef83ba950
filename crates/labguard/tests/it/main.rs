//! labguard's integration tests, one binary: each file below was its own test binary;
//! one link instead of one per file.

mod common;

mod adversarial_identity;
mod adversarial_listeners;
mod adversarial_mllp;
mod astm_faults;
mod cli;
mod cluster;
mod compliance;
mod config_file;
mod devices;
mod faults;
mod logs_phi;
mod metrics;
mod mllp;
mod operator;
mod phishing;
mod privacy;
mod qc_poct;
mod siem;
mod training;
mod users;
