//! Structured logs: one JSON object per line on stderr. Callers pass route templates and
//! error kinds, never request paths, bodies or store values, so no PHI reaches the log.

use serde_json::json;

pub fn request(method: &str, route: &str, status: u16, micros: u128) {
    eprintln!(
        "{}",
        json!({"t": chrono::Utc::now().to_rfc3339(), "kind": "request", "method": method, "route": route, "status": status, "us": micros as u64})
    );
}

pub fn error(component: &str, message: &str) {
    eprintln!(
        "{}",
        json!({"t": chrono::Utc::now().to_rfc3339(), "kind": "error", "component": component, "message": message})
    );
}

pub fn info(message: &str) {
    eprintln!(
        "{}",
        json!({"t": chrono::Utc::now().to_rfc3339(), "kind": "info", "message": message})
    );
}
