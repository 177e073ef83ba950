//! One inbound message: decode, parse, check the sender against its enrollment, map to
//! records, run the plausibility checks, and prepare both possible ACKs (the one to send
//! is chosen after the store answers). Pure apart from the id generator: no sockets here.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Utc;
use labguard_core::Id;
use labguard_hl7::{
    Ack, AckCode, AckError, AckMode, ErrorCode, IdFor, LabReport, MappingOptions, Message, Severity,
};
use labguard_store::{Enrollment, Inbound, Protocol, QcReading, Transport};

use crate::plausibility;
use crate::registry::Registry;

/// Who is on the other end of a connection.
#[derive(Debug, Clone)]
pub enum Peer {
    /// Mutual TLS: the certificate fingerprint the handshake verified.
    Tls { addr: IpAddr, fingerprint: String },
    /// Plain TCP: only the source address.
    Tcp { addr: IpAddr },
}

/// What to do with a message.
pub enum Decision {
    /// Answer at once (reject); `audit` is the reason code to record, if any, with the
    /// device it concerned.
    Reply {
        /// Zero or one acknowledgment (none when an enhanced-mode sender asked for none).
        ack: Vec<Vec<u8>>,
        audit: Option<(Option<Enrollment>, &'static str)>,
    },
    /// Store, then answer `accept` (AA), `error` (AE: storage failed, resend) or
    /// `reject` (AR: the device was revoked meanwhile) depending on the commit.
    Store {
        inbound: Box<Inbound>,
        accept: Vec<Vec<u8>>,
        error: Vec<Vec<u8>>,
        reject: Vec<Vec<u8>>,
    },
}

static ACK_SEQ: AtomicU64 = AtomicU64::new(0);

fn ack_id() -> String {
    format!("LG{}", ACK_SEQ.fetch_add(1, Ordering::Relaxed))
}

/// Encodes a reply the way the message came: UTF-8, or ISO-8859-1 when it was decoded so.
fn encode(ack: String, latin1: bool) -> Vec<u8> {
    if latin1 {
        labguard_hl7::encode_latin1(&ack).unwrap_or_else(|| ack.into_bytes())
    } else {
        ack.into_bytes()
    }
}

/// The original-mode code, or its enhanced-mode (commit) counterpart.
fn code_for(mode: AckMode, original: AckCode) -> AckCode {
    match (mode, original) {
        (AckMode::Original, c) => c,
        (AckMode::Enhanced { .. }, AckCode::ApplicationAccept) => AckCode::CommitAccept,
        (AckMode::Enhanced { .. }, AckCode::ApplicationError) => AckCode::CommitError,
        (AckMode::Enhanced { .. }, _) => AckCode::CommitReject,
    }
}

/// Whether the sender wants an acknowledgment of this outcome: always in original mode;
/// in enhanced mode as MSH-15 (accept acknowledgment type) says.
fn wanted(mode: AckMode, success: bool) -> bool {
    match mode {
        AckMode::Original => true,
        AckMode::Enhanced { accept, .. } => accept.wants(success),
    }
}

fn reject(msg: &Message<'_>, code: ErrorCode, why: &str, latin1: bool) -> Vec<Vec<u8>> {
    let mode = AckMode::of(msg);
    if !wanted(mode, false) {
        return Vec::new();
    }
    let id = ack_id();
    let ack = Ack::new(
        code_for(mode, AckCode::ApplicationReject),
        &id,
        Utc::now().fixed_offset(),
    )
    .with_error(AckError {
        code,
        severity: Severity::Error,
        location: None,
        diagnostic: Some(why.to_string()),
    });
    vec![encode(ack.build(msg), latin1)]
}

/// The enrollment a message speaks for, or the reason code it is refused with.
fn identify(
    reg: &Registry,
    peer: &Peer,
    app: &str,
    facility: &str,
) -> Result<Enrollment, Box<(Option<Enrollment>, &'static str)>> {
    let matches = |e: &Enrollment| {
        e.sending_app.eq_ignore_ascii_case(app.trim())
            && e.sending_facility.eq_ignore_ascii_case(facility.trim())
    };
    match peer {
        Peer::Tls { fingerprint, .. } => {
            let Some(e) = reg.by_fingerprint(fingerprint) else {
                return Err(Box::new((None, "certificate-not-enrolled")));
            };
            if !e.is_active() {
                return Err(Box::new((Some(e.clone()), "device-revoked")));
            }
            if e.protocol != Protocol::Hl7 {
                return Err(Box::new((Some(e.clone()), "wrong-protocol")));
            }
            if !matches(e) {
                return Err(Box::new((Some(e.clone()), "sender-mismatch")));
            }
            Ok(e.clone())
        }
        Peer::Tcp { addr } => {
            let any: Vec<&Enrollment> = reg.legacy_from(*addr).collect();
            if any.is_empty() {
                return Err(Box::new((None, "source-not-allowed")));
            }
            let allowed: Vec<&Enrollment> = any
                .iter()
                .copied()
                .filter(|e| e.protocol == Protocol::Hl7)
                .collect();
            if allowed.is_empty() {
                let first = any.first().map(|e| (*e).clone());
                return Err(Box::new((first, "wrong-protocol")));
            }
            match allowed.into_iter().find(|e| matches(e)) {
                Some(e) => Ok(e.clone()),
                None => Err(Box::new((None, "sender-mismatch"))),
            }
        }
    }
}

/// Decides what to do with one framed message from `peer`.
pub fn handle(raw: &[u8], peer: &Peer, reg: &Registry) -> Decision {
    let text = match labguard_hl7::decode(raw) {
        Ok(t) => t,
        Err(_) => return unparsable(),
    };
    let latin1 = matches!(text, Cow::Owned(_));
    let Ok(msg) = Message::parse(&text) else {
        return unparsable();
    };
    let report = match LabReport::read(&msg) {
        Ok(r) => r,
        Err(p) => {
            return Decision::Reply {
                ack: reject(
                    &msg,
                    p.kind.error_code(),
                    "only ORU^R01 and OUL^R22 are accepted",
                    latin1,
                ),
                audit: None,
            }
        }
    };
    let h = &report.value.header;
    let device = match identify(
        reg,
        peer,
        h.sending_application.name(),
        h.sending_facility.name(),
    ) {
        Ok(d) => d,
        Err(refused) => {
            let (dev, why) = *refused;
            return Decision::Reply {
                ack: reject(
                    &msg,
                    ErrorCode::ApplicationInternalError,
                    "sender not authorised",
                    latin1,
                ),
                audit: Some((dev, why)),
            };
        }
    };
    if device.transport == Transport::Tls && matches!(peer, Peer::Tcp { .. }) {
        return Decision::Reply {
            ack: reject(
                &msg,
                ErrorCode::ApplicationInternalError,
                "sender not authorised",
                latin1,
            ),
            audit: Some((Some(device), "tls-device-on-plain-tcp")),
        };
    }
    let mut patient_mrns = Vec::new();
    let mut specimen_accessions = Vec::new();
    let mapped = report
        .value
        .to_records(&MappingOptions::default(), &mut |what| {
            let id = Id::new_v4();
            match what {
                IdFor::Patient { mrn } => patient_mrns.push((id, mrn.to_string())),
                IdFor::Specimen { accession } => {
                    specimen_accessions.push((id, accession.to_string()))
                }
                IdFor::Order { .. } | IdFor::Result => {}
            }
            id
        });
    let holds = mapped
        .value
        .results
        .iter()
        .map(|r| plausibility::check(r, &device.analytes))
        .collect();
    let control_id = h.control_id.to_string();
    let warnings: Vec<AckError> = mapped.problems.iter().map(AckError::from).collect();
    let now = Utc::now().fixed_offset();
    let mode = AckMode::of(&msg);
    // Original mode: one AA once committed. Enhanced mode: a commit accept (CA) once
    // committed, then the application accept (AA) if MSH-16 asks for it, since filing is
    // the application's processing and is done by then.
    let mut accept = Vec::new();
    if wanted(mode, true) {
        let id = ack_id();
        let mut a = Ack::new(code_for(mode, AckCode::ApplicationAccept), &id, now);
        a.errors = warnings.clone();
        accept.push(encode(a.build(&msg), latin1));
    }
    if let AckMode::Enhanced { application, .. } = mode {
        if application.wants(true) {
            let id = ack_id();
            let mut a = Ack::new(AckCode::ApplicationAccept, &id, now);
            a.errors = warnings;
            accept.push(encode(a.build(&msg), latin1));
        }
    }
    let mut error = Vec::new();
    if wanted(mode, false) {
        let id = ack_id();
        let e =
            Ack::new(code_for(mode, AckCode::ApplicationError), &id, now).with_error(AckError {
                code: ErrorCode::ApplicationInternalError,
                severity: Severity::Error,
                location: None,
                diagnostic: Some("storage unavailable; resend later".into()),
            });
        error.push(encode(e.build(&msg), latin1));
    }
    let reject = reject(
        &msg,
        ErrorCode::ApplicationInternalError,
        "sender not authorised",
        latin1,
    );
    let records = mapped.value;
    let qc = records
        .qc
        .iter()
        .filter_map(|c| {
            Some(QcReading {
                lot: c.lot.clone(),
                level: "1".into(),
                analyte: c.analyte.clone(),
                units: c.units.clone(),
                value: c
                    .value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite())?,
                observed_at: c.observed_at,
            })
        })
        .collect();
    Decision::Store {
        inbound: Box::new(Inbound {
            device_id: device.id,
            actor: device.actor(),
            control_id,
            raw: raw.to_vec(),
            specimens: records.specimens,
            orders: records.orders,
            results: records.results,
            holds,
            patient_mrns,
            specimen_accessions,
            qc,
        }),
        accept,
        error,
        reject,
    }
}

fn unparsable() -> Decision {
    let id = ack_id();
    let ack =
        Ack::new(AckCode::ApplicationReject, &id, Utc::now().fixed_offset()).with_error(AckError {
            code: ErrorCode::SegmentSequence,
            severity: Severity::Error,
            location: None,
            diagnostic: Some("message could not be parsed".into()),
        });
    Decision::Reply {
        ack: vec![ack.build_without_message("2.5").into_bytes()],
        audit: None,
    }
}
