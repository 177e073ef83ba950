//! labguard-app's integration tests, one binary: each file below was its own test binary;
//! one link instead of one per file.

mod common;

mod scheduler;
mod siem;
mod siem_recv;
