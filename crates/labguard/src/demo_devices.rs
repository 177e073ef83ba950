//! The demo lab's device security, part-way done: the chemistry analyzer's firmware SBOM,
//! a small offline advisory feed and KEV extract (fictional ids `DEMO-OSV-…`,
//! `CVE-2000-99xxx`, labelled as such), a network map, one assessment signed off and the
//! rest due, and training assigned (some of it overdue), so the fleet dashboard, the
//! training pages and the compliance evidence have findings to show.

use anyhow::{Context, Result};
use labguard_devices::advisory::{parse_kev_json, parse_osv_json};
use labguard_devices::sbom::parse_sbom;
use labguard_store::{Actor, NetworkLink, NewAssessment, Store};

const SBOM: &str = include_str!("demo_data/chem-1-sbom.cdx.json");
const OSV: &str = include_str!("demo_data/advisories.osv.json");
const KEV: &str = include_str!("demo_data/kev.json");

pub fn seed(store: &Store) -> Result<()> {
    let op = Actor::operator();
    let sbom = parse_sbom(SBOM.as_bytes()).context("demo SBOM")?;
    let digest = hex::encode(labguard_crypto::sha256(SBOM.as_bytes()));
    store.import_sbom(&op, "chem-1", Some("4.2.1"), &sbom, &digest)?;
    let osv = parse_osv_json(OSV.as_bytes()).context("demo advisories")?;
    store.import_advisories(&op, "demo-feed", "osv", &osv.advisories)?;
    let kev = parse_kev_json(KEV.as_bytes()).context("demo KEV extract")?;
    store.import_kev(&op, "demo-kev", &kev)?;
    for (from, to, protocol, phi) in [
        (
            "chem-1",
            "ws-desk",
            "HL7 v2 / MLLP over mutual TLS (results)",
            true,
        ),
        (
            "heme-1",
            "ws-desk",
            "HL7 v2 / MLLP over mutual TLS (results)",
            true,
        ),
        ("gluc-1", "ws-desk", "USB docking station", true),
        (
            "cent-1",
            "ws-desk",
            "serial status line (no patient data)",
            false,
        ),
    ] {
        store.add_network_link(
            &op,
            &NetworkLink {
                from: from.into(),
                to: to.into(),
                protocol: protocol.into(),
                carries_phi: phi,
            },
        )?;
    }
    store.record_assessment(
        &op,
        "heme-1",
        &NewAssessment {
            findings: vec!["service account password was the vendor default: changed".into()],
            evidence: vec!["ticket DEMO-114".into()],
            sign_off: true,
            ..NewAssessment::default()
        },
    )?;
    training(store)?;
    Ok(())
}

/// Annual HIPAA basics for everyone (started 45 days ago, due in 30: overdue for all who
/// have not taken it) and phishing awareness for the front desk, due next month.
fn training(store: &Store) -> Result<()> {
    use chrono::{Duration, Utc};
    use labguard_training::{AssignmentRule, Recurrence, RuleKind, Target, VersionPolicy};
    let op = Actor::operator();
    let now = Utc::now();
    for (course, target, started, due) in [
        (
            "hipaa-security-basics",
            Target::AllStaff,
            now - Duration::days(45),
            30,
        ),
        (
            labguard_training::PHISHING_COURSE_ID,
            Target::Role(labguard_core::Role::FrontDesk),
            now,
            30,
        ),
    ] {
        store.add_training_rule(
            &op,
            &AssignmentRule {
                id: labguard_core::Id::new_v4(),
                course_id: course.into(),
                target,
                recurrence: Recurrence::Annual,
                due_within_days: due,
                starts_at: started,
                version_policy: VersionPolicy::KeepOld,
                min_completed_at: None,
                kind: RuleKind::Standard,
            },
        )?;
    }
    Ok(())
}
