//! Structured logs through `tracing`: the binary installs the subscriber (JSON lines or
//! text, levels per module from `RUST_LOG`). Callers pass route templates and error kinds,
//! never request paths, bodies or store values, so no PHI reaches the log. Each request
//! runs in a `request` span carrying its id, so every event it causes carries it too.

pub fn request(method: &str, route: &str, status: u16, micros: u128) {
    tracing::info!(
        target: "labguard::http",
        method,
        route,
        status,
        us = u64::try_from(micros).unwrap_or(u64::MAX),
        "request"
    );
}

pub fn error(component: &str, message: &str) {
    tracing::error!(target: "labguard::server", component, "{message}");
}

pub fn info(message: &str) {
    tracing::info!(target: "labguard::server", "{message}");
}

/// A fresh request id: 64 random bits as hex, for the span and the `x-request-id` header
/// (a correlation id, not a secret: without the OS generator it is "-").
pub fn request_id() -> String {
    crate::state::random::<8>().map_or_else(|_| "-".into(), hex::encode)
}
