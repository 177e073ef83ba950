//! labguard-privacy's integration tests, one binary (see docs/testing.md).

mod common;

mod cases;
mod detectors;
mod report;
mod report_prop;
mod scan_split;
mod volume;
