//! Completion certificates with a verifiable id.
//!
//! The id is an HMAC-SHA-256 over the certificate's fields under a lab secret key, so anyone
//! holding a printed certificate can ask labguard "is this genuine?" and a forged or edited
//! certificate (different name, date or score) fails. The key is passed in; the crypto crate
//! or the server owns where it lives.

use chrono::{DateTime, SecondsFormat, Utc};
use labguard_core::Id;
use ring::hmac;
use serde::{Deserialize, Serialize};

/// Bytes of the HMAC tag kept in the id (160 bits: far beyond guessing, short enough to type).
const ID_BYTES: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub staff_id: Id,
    pub staff_name: String,
    pub course_id: String,
    pub course_title: String,
    pub course_version: u32,
    pub score_percent: u8,
    pub completed_at: DateTime<Utc>,
    /// 40 lowercase hex characters.
    pub certificate_id: String,
}

/// Unambiguous encoding: a version tag, then each field length-prefixed, so that moving
/// characters between fields ("Ann", "Lee" vs "AnnL", "ee") changes the MAC input.
fn mac_input(c: &Certificate) -> Vec<u8> {
    let completed = c.completed_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let version = c.course_version.to_string();
    let score = c.score_percent.to_string();
    let staff = c.staff_id.to_string();
    let fields: [&str; 7] = [
        &staff,
        &c.staff_name,
        &c.course_id,
        &c.course_title,
        &version,
        &score,
        &completed,
    ];
    let mut out = b"labguard-training-certificate-v1".to_vec();
    for f in fields {
        out.extend_from_slice(&(f.len() as u64).to_be_bytes());
        out.extend_from_slice(f.as_bytes());
    }
    out
}

fn tag(key: &[u8], c: &Certificate) -> Vec<u8> {
    let k = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&k, &mac_input(c)).as_ref()[..ID_BYTES].to_vec()
}

/// The facts a certificate attests, before its id is computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateFields {
    pub staff_id: Id,
    pub staff_name: String,
    pub course_id: String,
    pub course_title: String,
    pub course_version: u32,
    pub score_percent: u8,
    pub completed_at: DateTime<Utc>,
}

/// Build a certificate and compute its id. `completed_at` is truncated to whole seconds so
/// the printed time and the signed time are the same.
pub fn issue_certificate(key: &[u8], f: CertificateFields) -> Certificate {
    let completed_at =
        DateTime::from_timestamp(f.completed_at.timestamp(), 0).unwrap_or(f.completed_at);
    let mut c = Certificate {
        staff_id: f.staff_id,
        staff_name: f.staff_name,
        course_id: f.course_id,
        course_title: f.course_title,
        course_version: f.course_version,
        score_percent: f.score_percent,
        completed_at,
        certificate_id: String::new(),
    };
    c.certificate_id = hex::encode(tag(key, &c));
    c
}

/// True when `c.certificate_id` matches its fields under `key`. Compared in constant time so
/// a verification endpoint does not leak how many leading characters were right.
pub fn verify_certificate(key: &[u8], c: &Certificate) -> bool {
    let Ok(given) = hex::decode(&c.certificate_id) else {
        return false;
    };
    if given.len() != ID_BYTES || c.completed_at.timestamp_subsec_nanos() != 0 {
        return false;
    }
    let want = tag(key, c);
    let diff = given
        .iter()
        .zip(want.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    diff == 0
}
