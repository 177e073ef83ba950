//! labguard-training's integration tests, one binary: each file below was its own test binary;
//! one link instead of one per file.

mod assign;
mod courses;
mod hygiene_charts;
mod phishing;
mod quiz;
