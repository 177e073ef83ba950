//! labguard-identity's integration tests, one binary: each file below was its own test binary;
//! one link instead of one per file.

mod breakglass;
mod password_hash;
mod password_policy;
mod recovery;
mod review;
mod session;
mod throttle;
mod totp;
