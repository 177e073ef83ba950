//! labguard-devices's integration tests, one binary: each file below was its own test binary;
//! one link instead of one per file.

mod advisories;
mod fleet;
mod sbom_import;
