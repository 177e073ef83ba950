//! Enrolling an instrument: issue its client certificate (TLS) or record its allowed source
//! addresses (legacy plain TCP), and bind it to its protocol, its sender ids (MSH-3/MSH-4;
//! for ASTM the H-5 sender name) and the analytes it may report.

use std::net::IpAddr;
use std::path::Path;

use chrono::Utc;
use labguard_core::{Id, LoincCode};
use labguard_store::{Actor, Enrollment, Protocol, Store, Transport};

use crate::ca::{DeviceCa, Issued};
use crate::MllpError;

/// What the operator asks for.
#[derive(Debug, Clone)]
pub struct EnrollRequest {
    pub name: String,
    pub sending_app: String,
    pub sending_facility: String,
    pub analytes: Vec<String>,
    /// Plain TCP from these addresses instead of mutual TLS.
    pub legacy_allow: Option<Vec<IpAddr>>,
    /// What it speaks; the listener of another protocol refuses it.
    pub protocol: Protocol,
}

/// Enrolls the instrument; for TLS also returns its new certificate and key (shown once:
/// labguard keeps only the fingerprint).
pub fn enroll(
    store: &Store,
    actor: &Actor,
    data_dir: &Path,
    req: &EnrollRequest,
) -> Result<(Enrollment, Option<Issued>), MllpError> {
    let bad = |w: &str| Err(MllpError::Enrollment(w.to_string()));
    if req.name.trim().is_empty() || req.name.len() > 128 {
        return bad("the name must be 1-128 characters");
    }
    // MSH-4 may legitimately be empty (some instruments leave it out); MSH-3 may not.
    if req.sending_app.trim().is_empty() {
        return bad("the sending application (MSH-3, or the ASTM H-5 sender name) is required");
    }
    for a in &req.analytes {
        if LoincCode::parse(a).is_err() {
            return bad("an analyte is not a valid LOINC code");
        }
    }
    let (transport, issued, allow) = match &req.legacy_allow {
        Some(addrs) if addrs.is_empty() => {
            return bad("a legacy plain-TCP device needs at least one allowed address")
        }
        Some(addrs) => (Transport::LegacyTcp, None, addrs.clone()),
        None => {
            let ca = DeviceCa::open_or_create(store, data_dir)?;
            (
                Transport::Tls,
                Some(ca.issue_device(req.name.trim())?),
                vec![],
            )
        }
    };
    let e = Enrollment {
        id: Id::new_v4(),
        name: req.name.trim().to_string(),
        sending_app: req.sending_app.trim().to_string(),
        sending_facility: req.sending_facility.trim().to_string(),
        analytes: req.analytes.clone(),
        transport,
        cert_serial: issued.as_ref().map(|i| i.serial.clone()),
        cert_fingerprint: issued.as_ref().map(|i| i.fingerprint.clone()),
        allow_from: allow,
        enrolled_at: Utc::now(),
        revoked_at: None,
        protocol: req.protocol,
    };
    store.enroll_instrument(actor, &e)?;
    Ok((e, issued))
}
