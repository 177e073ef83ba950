//! labguard-astm's integration tests, one binary (see docs/testing.md).

mod interop;
mod link;
mod mapping;
mod records;
