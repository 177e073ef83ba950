//! Evidence from privacy monitoring: reviewed snooping cases show information system
//! activity review (164.308(a)(1)(ii)(D)); cases closed with a sanction show the sanction
//! policy applied (164.308(a)(1)(ii)(C)).

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::evidence::{Evidence, Status};
use crate::facts::PrivacyFacts;

pub fn privacy_reviews(p: &PrivacyFacts, now: DateTime<Utc>) -> Evidence {
    let obs = serde_json::to_value(p).unwrap_or_default();
    let (status, summary) = if !p.scanned {
        (
            Status::NeedsPerson,
            "privacy monitoring has not scanned the audit log yet".to_string(),
        )
    } else if p.open_over_30_days > 0 {
        (
            Status::PartlyMet,
            format!(
                "{} privacy cases open for over 30 days ({} of {} reviewed and closed)",
                p.open_over_30_days, p.closed, p.cases
            ),
        )
    } else {
        (
            Status::Met,
            format!(
                "record accesses are scanned for snooping; {} of {} cases reviewed and closed, none open over 30 days",
                p.closed, p.cases
            ),
        )
    };
    Evidence::new(
        "privacy-cases-reviewed",
        "Record-access monitoring cases reviewed",
        &["164.308(a)(1)(ii)(D)"],
        status,
        summary,
        obs,
        now,
    )
}

pub fn privacy_sanctions(p: &PrivacyFacts, now: DateTime<Utc>) -> Evidence {
    let obs = json!({"sanctions": p.sanctions, "referred": p.referred, "closed": p.closed});
    let (status, summary) = if p.sanctions > 0 {
        (
            Status::Met,
            format!(
                "{} privacy cases closed with a sanction ({} referred): the sanction policy is applied",
                p.sanctions, p.referred
            ),
        )
    } else {
        // No sanction may simply mean no misuse: a person judges the policy.
        (
            Status::NeedsPerson,
            "no privacy case has been closed with a sanction".to_string(),
        )
    };
    Evidence::new(
        "privacy-sanctions",
        "Sanctions applied in privacy cases",
        &["164.308(a)(1)(ii)(C)"],
        status,
        summary,
        obs,
        now,
    )
}
