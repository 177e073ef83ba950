//! labguard-hl7's integration tests, one binary: each file below was its own test binary;
//! one link instead of one per file.

mod ack;
mod corpus;
mod mapping;
mod parse;
