//! Placeholder, replaced by the matching benchmark.
fn main() {}
