//! labguard-store's integration tests, one binary: each file below was its own test binary;
//! one link instead of one per file.

mod common;

mod compliance;
mod deferred;
mod delta;
mod devices;
mod group_audit;
mod instruments;
mod key_usage;
mod nodes;
mod pg_tls;
mod privacy;
mod privacy_scale;
mod qc;
mod sso;
mod store;
mod tamper;
mod training;
