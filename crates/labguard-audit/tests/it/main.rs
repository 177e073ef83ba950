//! labguard-audit's integration tests, one binary: each file below was its own test binary;
//! one link instead of one per file.

mod checkpoint;
mod known_answers;
mod log_verifier;
mod proof_props;
mod vectors;
