//! labguard-poct's integration tests, one binary (see docs/testing.md).

mod conversation;
mod mapping;
