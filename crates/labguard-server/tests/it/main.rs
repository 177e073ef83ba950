//! labguard-server's integration tests, one binary: each file below was its own test binary;
//! one link instead of one per file.

mod api;
mod browser;
mod browser_privacy;
mod compliance;
mod credentials;
mod devices;
mod escaping;
mod health;
mod identity;
mod no_html_in_handlers;
mod one_time_password;
mod permissions_doc;
mod privacy_api;
mod qc_recall;
mod sealed_tls;
mod sso;
mod throttle_race;
mod training;
mod webdriver;
