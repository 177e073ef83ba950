//! labguard-privacy's integration tests, one binary (see docs/testing.md).

mod common;

mod cases;
mod detectors;
mod report;
mod scan_split;
mod volume;
